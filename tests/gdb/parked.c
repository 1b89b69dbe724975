/*
 * The program that tests/gdb.rs looks at with gdb: 100 goroutines parked in six
 * ways (channel receive, mutex, sleep, gs_park with a reason of its own, wait group,
 * select) and one in a blocking call, each started by a function whose name says how
 * it parks. It prints one line per goroutine ("goroutine <id> <name> <function>"),
 * then "READY", and waits for its stdin to close, then exits at once.
 *
 * Compiled with -O2 -g like the other C tests; every parking function uses the
 * result of its call after it returns, so that the call is not a tail call and the
 * function keeps a frame of its own.
 */
#include "common.h"

#include <sys/prctl.h>

#define N_RECV 20
#define N_LOCK 20
#define N_SLEEP 20
#define N_PARK 20
#define N_WG 10
#define N_SELECT 10
#define N_PARKED (N_RECV + N_LOCK + N_SLEEP + N_PARK + N_WG + N_SELECT)

/* The wait reason of the gs_park goroutines, looked for by the test. */
static const char PARK_REASON[] = "gdb test: parked by hand";

static gs_chan *never;      /* unbuffered, nobody sends */
static gs_chan *never2;     /* the second case of the selects */
static gs_mutex *held;      /* locked by main for good */
static gs_waitgroup *wg;    /* its counter never reaches zero */
static int syscall_pipe[2]; /* nobody writes */

__attribute__((noinline)) static void park_in_chan_recv(void *arg)
{
    (void)arg;
    int v = 0;
    int rc = gs_chan_recv(never, &v);
    FAIL("gs_chan_recv on a channel nobody sends on returned %d", rc);
}

__attribute__((noinline)) static void park_in_mutex_lock(void *arg)
{
    (void)arg;
    int rc = gs_mutex_lock(held);
    FAIL("gs_mutex_lock of a mutex held for good returned %d", rc);
}

__attribute__((noinline)) static void park_in_sleep(void *arg)
{
    (void)arg;
    int rc = gs_sleep(3600LL * 1000 * 1000 * 1000);
    FAIL("an hour's gs_sleep returned %d", rc);
}

static bool stay_parked(gs_g *g, void *lock)
{
    (void)g;
    (void)lock;
    return true;
}

/* Three frames of its own above gs_park, to show that unwinding goes through them. */
__attribute__((noinline)) static int nested_park(int depth)
{
    volatile int here = depth;
    int r = depth == 0 ? gs_park(stay_parked, NULL, PARK_REASON) : nested_park(depth - 1);
    CHECK(here == depth);
    return r + 1;
}

__attribute__((noinline)) static void park_in_gs_park(void *arg)
{
    (void)arg;
    int r = nested_park(3);
    FAIL("a gs_park nobody readies returned (nested_park gave %d)", r);
}

__attribute__((noinline)) static void park_in_waitgroup(void *arg)
{
    (void)arg;
    int rc = gs_waitgroup_wait(wg);
    FAIL("gs_waitgroup_wait of a group that never reaches zero returned %d", rc);
}

__attribute__((noinline)) static void park_in_select(void *arg)
{
    (void)arg;
    int a = 0, b = 0;
    gs_select_case cases[2] = {
        {.chan = never, .op = GS_RECV, .elem = &a},
        {.chan = never2, .op = GS_RECV, .elem = &b},
    };
    int rc = gs_select(cases, 2, -1);
    FAIL("a select on channels nobody sends on returned %d", rc);
}

__attribute__((noinline)) static void block_in_syscall(void *arg)
{
    (void)arg;
    char c;
    gs_entersyscall();
    ssize_t n = read(syscall_pipe[0], &c, 1);
    gs_exitsyscall();
    FAIL("read of a pipe nobody writes returned %zd", n);
}

static void start(const char *kind, int i, gs_fn fn, const char *fn_name)
{
    char name[32];
    snprintf(name, sizeof name, "%s-%d", kind, i);
    gs_go_opts opts = {.stack_size = 0, .name = name, .flags = 0};
    int64_t id = gs_go_with(fn, NULL, &opts);
    CHECK_OK(id);
    printf("goroutine %lld %s %s\n", (long long)id, name, fn_name);
}

#define START(kind, n, fn)                                                               \
    do {                                                                                 \
        for (int i_ = 0; i_ < (n); i_++)                                                 \
            start(kind, i_, fn, #fn);                                                    \
    } while (0)

int main(void)
{
    /* Let a debugger that is not our parent attach (Yama's ptrace_scope 1); EINVAL
     * without Yama is fine. */
    (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    CHECK_RC(gs_init(NULL), 0);
    never = gs_chan_new(sizeof(int), 0);
    never2 = gs_chan_new(sizeof(int), 0);
    held = gs_mutex_new();
    wg = gs_waitgroup_new();
    CHECK(never && never2 && held && wg);
    CHECK_RC(gs_mutex_lock(held), 0);
    CHECK_RC(gs_waitgroup_add(wg, 1), 0);
    CHECK_RC(pipe(syscall_pipe), 0);

    START("recv", N_RECV, park_in_chan_recv);
    START("lock", N_LOCK, park_in_mutex_lock);
    START("sleep", N_SLEEP, park_in_sleep);
    START("park", N_PARK, park_in_gs_park);
    START("wg", N_WG, park_in_waitgroup);
    START("select", N_SELECT, park_in_select);
    START("syscall", 1, block_in_syscall);

    WAIT_PARKED(N_PARKED, 60000);
    int64_t end = mono_ns() + 60LL * 1000 * 1000 * 1000;
    for (;;) {
        gs_stats st = stats_now();
        CHECK_EQ(st.waiting, N_PARKED);
        if (st.in_syscall == 1)
            break;
        if (mono_ns() > end)
            FAIL("the goroutine of block_in_syscall is not in its blocking call");
        sleep_ms(5);
    }
    printf("READY\n");
    fflush(stdout);

    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    _exit(0);
}
