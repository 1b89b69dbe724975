/*
 * The long-running detector's backtrace (tests/trace.rs, longrun_backtrace_*):
 * built with -fno-omit-frame-pointer and -rdynamic, started with gs_config's
 * longrun_ms = 50. A goroutine "bt-spinner" runs bt_spin_outer, which calls
 * bt_spin_inner, which spins 100 ms of CPU without a scheduling point (both
 * noinline, so that they are frames of their own; a plain thread stops the spin,
 * which calls no function). tests/trace.rs checks that the
 * report names bt_spin_inner (the interrupted PC) and bt_spin_outer (found through
 * the frame pointers).
 *
 * With the argument "own-handler" the program installs a SIGURG handler of its own
 * before gs_init: the runtime must keep it (checked here, after the run) and take
 * no backtrace (the report says why); the handler must never have run, since the
 * runtime sends SIGURG only to its own handler. With "late-handler" it installs it
 * after gs_init, over the runtime's: the same must hold. Prints "did spinner=ID".
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "../c/common.h"

static atomic_int own_calls;

static void own_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&own_calls, 1);
}

static int64_t cpu_ns(clockid_t c)
{
    struct timespec ts;
    CHECK_EQ(clock_gettime(c, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

volatile uint64_t sink;
static atomic_bool spun;
/* The spinning thread's CPU clock, and the CPU time it wants; set by the spinner. */
static clockid_t spin_clock;
static atomic_llong spin_until;

/* Stops the spinner once its thread has had its CPU time: a plain thread that reads
 * the spinner's CPU clock, so that the spinner calls no function while it spins (a
 * thread's CPU clock is a system call: the signal would often land in it). */
static void *watch(void *arg)
{
    (void)arg;
    while (atomic_load(&spin_until) == 0)
        usleep(1000);
    while (cpu_ns(spin_clock) < atomic_load(&spin_until))
        usleep(1000);
    atomic_store(&spun, true);
    return NULL;
}

/* Spins `ns` of this thread's CPU in this function's own loop. */
__attribute__((noinline)) void bt_spin_inner(int64_t ns)
{
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &spin_clock), 0);
    atomic_store(&spin_until, cpu_ns(spin_clock) + ns);
    uint64_t i = 0;
    while (!atomic_load_explicit(&spun, memory_order_relaxed))
        sink = sink * 31 + i++;
}

__attribute__((noinline)) void bt_spin_outer(int64_t ns)
{
    bt_spin_inner(ns);
    sink++; /* not a tail call: this frame stays */
}

static void spinner(void *arg)
{
    (void)arg;
    bt_spin_outer(100000000);
}

int main(int argc, char **argv)
{
    bool early = argc > 1 && strcmp(argv[1], "own-handler") == 0;
    bool late = argc > 1 && strcmp(argv[1], "late-handler") == 0;
    bool own = early || late;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    if (early)
        CHECK_EQ(sigaction(SIGURG, &sa, NULL), 0);
    gs_config cfg = {0};
    cfg.longrun_ms = 50;
    CHECK_RC(gs_init_sized(&cfg, sizeof cfg), 0);
    if (late)
        CHECK_EQ(sigaction(SIGURG, &sa, NULL), 0);
    pthread_t w;
    CHECK_EQ(pthread_create(&w, NULL, watch, NULL), 0);
    gs_go_opts s = {0, "bt-spinner", 0};
    int64_t sid = gs_go_with(spinner, NULL, &s);
    CHECK(sid > 0);
    CHECK_RC(gs_wait(-1), 0);
    CHECK_EQ(pthread_join(w, NULL), 0);
    printf("did spinner=%lld\n", (long long)sid);
    fflush(stdout);
    CHECK_RC(gs_shutdown(), 0);
    if (own) {
        struct sigaction now;
        CHECK_EQ(sigaction(SIGURG, NULL, &now), 0);
        CHECK(now.sa_handler == own_handler);
        CHECK_EQ(atomic_load(&own_calls), 0);
        printf("own SIGURG handler kept, never called\n");
    }
    return 0;
}
