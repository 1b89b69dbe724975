/*
 * Signals: a program with its own handlers (installed without SA_RESTART, so that
 * every blocking system call they interrupt fails with EINTR) fires them every
 * ~100 us at the process (setitimer) and at every one of its threads (tgkill), while
 * goroutines and foreign threads use every blocking call of the API. Each call must
 * return one of its documented codes (never -EINTR), no timed call may return before
 * its time, no wakeup may be lost (each exchange completes, every count is exact),
 * and nothing may crash.
 *
 * Also: what a handler finds on a goroutine's stack. The runtime gives handlers
 * installed before gs_init SA_ONSTACK (as Go does), so they run on the thread's
 * alternate signal stack even from a goroutine whose stack is nearly full; a handler
 * installed later without SA_ONSTACK whose frame does not fit on the goroutine's
 * stack is reported as a stack overflow, not a silent death.
 *
 * $HOSTILE_MS sets how long the storm lasts (default 300 ms).
 */
#include "hostile.h"
#include "storm.h"

static int storm_ms = 300;

static void storm_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    storm_start();
    storm_wait((int64_t)storm_ms * 1000000);
    storm_stop();
    CHECK_RC(gs_shutdown(), 0);
}

/* ---- Handlers on nearly full goroutine stacks --------------------------------------- */

static atomic_int deep_handled;

static void on_deep(int sig)
{
    (void)sig;
    /* Uses a little stack of its own, as any handler does. */
    volatile char buf[512];
    buf[0] = 1;
    buf[511] = buf[0];
    atomic_fetch_add(&deep_handled, 1);
}

/* Recurses until fewer than `left` bytes of the goroutine's stack remain, then
 * raises SIGUSR2. */
static char *stack_lo;

static __attribute__((noinline)) void dive(size_t left)
{
    volatile char pad[256];
    pad[0] = 0;
    if ((size_t)((char *)&pad[0] - stack_lo) > left) {
        dive(left);
    } else {
        raise(SIGUSR2);
    }
    pad[255] = pad[0];
}

static void g_deep(void *arg)
{
    /* The goroutine's stack is 16 KiB, page-aligned, and this frame is in its top
     * page. */
    char here;
    uintptr_t hi = ((uintptr_t)&here + 4095) & ~(uintptr_t)4095;
    stack_lo = (char *)(hi - 16 * 1024);
    /* Bind raise's PLT entry now: the dynamic linker's lazy binding would save the
     * vector registers on what is left of the stack. */
    raise(0);
    dive((size_t)(uintptr_t)arg);
    atomic_fetch_add(&deep_handled, 100);
}

static void run_deep(void)
{
    gs_go_opts o;
    memset(&o, 0, sizeof o);
    o.stack_size = 16 * 1024;
    CHECK_OK(gs_go_with(g_deep, (void *)(uintptr_t)700, &o));
    WAIT_ALL();
}

/* A handler installed before gs_init gets SA_ONSTACK: it runs on the alternate
 * signal stack even when 700 bytes of the goroutine's stack are left. */
static void deep_onstack_case(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deep;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    CHECK_RC(gs_init(NULL), 0);
    struct sigaction now;
    CHECK(sigaction(SIGUSR2, NULL, &now) == 0);
    CHECK(now.sa_flags & SA_ONSTACK);
    CHECK(now.sa_handler == on_deep);
    run_deep();
    CHECK_EQ(atomic_load(&deep_handled), 101);
    CHECK_RC(gs_shutdown(), 0);
}

/* A handler installed after gs_init without SA_ONSTACK, raised with 700 bytes of
 * the goroutine's stack left: its frame cannot fit; the process dies reporting a stack
 * overflow of that goroutine. */
static void deep_overflow_child(void *arg)
{
    (void)arg;
    CHECK_RC(gs_init(NULL), 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deep;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    run_deep();
    printf("survived\n");
}

static void deep_overflow_case(void)
{
    child_result *r = run_child(deep_overflow_child, NULL, 30);
    char st[128];
    if (!WIFSIGNALED(r->status) || strstr(r->err, "stack overflow") == NULL ||
        strstr(r->err, "signal") == NULL)
        FAIL("a handler frame that overflows a goroutine stack: child %s, stderr:\n%s",
             describe_status(r->status, st, sizeof st), r->err);
    free(r);
}

static const hostile_case cases[] = {
    {"signal_storm", storm_case, 60},
    {"signal_handler_onstack", deep_onstack_case, 30},
    {"signal_handler_overflow", deep_overflow_case, 40},
};

int main(int argc, char **argv)
{
    const char *ms = getenv("HOSTILE_MS");
    if (ms != NULL && atoi(ms) > 0)
        storm_ms = atoi(ms);
    return hostile_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
