/*
 * Every call before gs_init, and again after gs_shutdown: the runtime answers
 * GS_ENOTINIT (or, for the calls that are about the calling goroutine, the
 * off-goroutine answer) and never crashes or starts anything.
 */
#include "common.h"

static atomic_int ran;

static void should_not_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void check_uninitialized(const char *when)
{
    printf("checking the API %s\n", when);
    gs_go_opts opts = {0, "x", 0};
    gs_stats st;
    CHECK_RC(gs_go(should_not_run, NULL), GS_ENOTINIT);
    CHECK_RC(gs_go_with(should_not_run, NULL, &opts), GS_ENOTINIT);
    CHECK_RC(gs_go_with(should_not_run, NULL, NULL), GS_ENOTINIT);
    CHECK_RC(gs_go_copy(should_not_run, &opts, sizeof opts), GS_ENOTINIT);
    CHECK_RC(gs_go_copy_with(should_not_run, NULL, 0, &opts), GS_ENOTINIT);
    CHECK_RC(gs_run_for(0), GS_ENOTINIT);
    /* A handle that was never given out, and one that looks plausible. */
    CHECK_RC(gs_ready((gs_g *)(uintptr_t)0x12345678), GS_ENOTINIT);
    CHECK_RC(gs_ready((gs_g *)(uintptr_t)1), GS_ENOTINIT);
    CHECK_RC(gs_wait(-1), GS_ENOTINIT);
    CHECK_RC(gs_wait(0), GS_ENOTINIT);
    CHECK_RC(gs_wait(1000000), GS_ENOTINIT);
    CHECK_RC(gs_shutdown(), GS_ENOTINIT);
    CHECK_RC(gs_stats_get(&st), GS_ENOTINIT);
    CHECK_RC(gs_dump(2), GS_ENOTINIT);
    /* About the calling goroutine: this thread runs none. */
    CHECK(gs_self() == NULL);
    CHECK_EQ(gs_goid(), 0);
    CHECK(!gs_should_yield());
    int rc = gs_park(NULL, NULL, "x");
    if (rc != GS_EPERM && rc != GS_ENOTINIT)
        FAIL("gs_park off-goroutine before init returned %d (%s)", rc, gs_strerror(rc));
    CHECK_RC(gs_gosched(), GS_EPERM);
    CHECK_RC(gs_lock_os_thread(), GS_EPERM);
    CHECK_RC(gs_unlock_os_thread(), GS_EPERM);
    gs_goexit(); /* off-goroutine: returns */
    CHECK(gs_version() != NULL && gs_version()[0] != 0);
    CHECK_EQ(atomic_load(&ran), 0);
}

static void *from_thread(void *arg)
{
    check_uninitialized(arg);
    return NULL;
}

int main(void)
{
    check_uninitialized("before gs_init");
    pthread_t th;
    CHECK(pthread_create(&th, NULL, from_thread, "before gs_init, from another thread") == 0);
    CHECK(pthread_join(th, NULL) == 0);

    init_procs(2);
    CHECK_OK(gs_go(should_not_run, NULL)); /* this one may run */
    WAIT_ALL();
    CHECK_EQ(atomic_load(&ran), 1);
    atomic_store(&ran, 0);
    CHECK_RC(gs_shutdown(), 0);

    check_uninitialized("after gs_shutdown");
    CHECK_RC(gs_shutdown(), GS_ENOTINIT);
    CHECK(pthread_create(&th, NULL, from_thread, "after gs_shutdown, from another thread") == 0);
    CHECK(pthread_join(th, NULL) == 0);
    return 0;
}
