/*
 * After fork() the child sees an uninitialized runtime (GS_ENOTINIT), may gs_init
 * its own and run goroutines with it, and nothing in it hangs; the parent's runtime
 * is unaffected. Forked from the main thread while goroutines run on 2 Ps, and from
 * a goroutine.
 */
#include "common.h"

#define CHILD_GOROUTINES 1000

static atomic_int child_ran;
static atomic_bool stop_busy;
static atomic_long busy_spins;

static void count_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&child_ran, 1);
    CHECK_RC(gs_gosched(), 0);
}

static void busy(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_busy)) {
        atomic_fetch_add(&busy_spins, 1);
        CHECK_RC(gs_gosched(), 0);
    }
}

/* The child's life: the parent's runtime is gone, a new one works. */
static void child_body(void *arg)
{
    (void)arg;
    gs_stats st;
    CHECK(gs_self() == NULL);
    CHECK_EQ(gs_goid(), 0);
    CHECK_RC(gs_go(count_run, NULL), GS_ENOTINIT);
    CHECK_RC(gs_stats_get(&st), GS_ENOTINIT);
    CHECK_RC(gs_wait(-1), GS_ENOTINIT);
    CHECK_RC(gs_shutdown(), GS_ENOTINIT);
    init_procs(2);
    atomic_store(&child_ran, 0);
    for (int i = 0; i < CHILD_GOROUTINES; i++)
        CHECK_OK(gs_go(count_run, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&child_ran), CHILD_GOROUTINES);
    CHECK_RC(gs_shutdown(), 0);
    printf("child ok\n");
}

static void expect_child_ok(const char *where)
{
    char st[128];
    child_result *r = run_child(child_body, NULL, 60);
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0 ||
        strstr(r->out, "child ok") == NULL)
        FAIL("child forked from %s: %s\nstdout:\n%s\nstderr:\n%s", where,
             describe_status(r->status, st, sizeof st), r->out, r->err);
    printf("child forked from %s: ok\n", where);
    free(r);
}

static void forker(void *arg)
{
    (void)arg;
    expect_child_ok("a goroutine");
}

int main(void)
{
    init_procs(2);
    for (int i = 0; i < 4; i++)
        CHECK_OK(gs_go(busy, NULL));
    while (atomic_load(&busy_spins) < 1000)
        sched_yield();
    expect_child_ok("the main thread");
    CHECK_OK(gs_go(forker, NULL));
    /* The parent's runtime still runs its goroutines. */
    long spins = atomic_load(&busy_spins);
    int64_t deadline = mono_ns() + TEST_WAIT_NS;
    while (atomic_load(&busy_spins) < spins + 1000) {
        if (mono_ns() > deadline)
            FAIL("the parent's goroutines stopped running after fork");
        sleep_ms(1);
    }
    atomic_store(&stop_busy, true);
    WAIT_ALL();
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
