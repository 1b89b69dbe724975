/*
 * gs_once_do (Go's sync.Once):
 *
 * 1. 1,000 goroutines and 4 foreign threads call gs_once_do on one static once at
 *    the same moment (nprocs 1, 2 and 4): the function runs exactly once, and every
 *    caller, when its call returns, sees the function's effects (it writes a plain
 *    variable after sleeping 20 ms, so that the others really wait).
 * 2. After the first call, gs_once_do does not call the function again, from a
 *    goroutine or a thread, and gs_once_done reports it.
 * 3. NULL once or fn: GS_EINVAL; a once works without a runtime.
 */
#include "common.h"

#define MS 1000000LL

static gs_once once = GS_ONCE_INIT;
static atomic_int runs;
static long effect; /* plain: written by the function only */
static atomic_int go_flag;
static atomic_int saw_bad;

static void init_fn(void *arg)
{
    atomic_fetch_add(&runs, 1);
    gs_sleep(20 * MS); /* the other callers pile up meanwhile */
    effect = (long)(intptr_t)arg;
}

static void caller(void)
{
    while (!atomic_load(&go_flag))
        ;
    CHECK_RC(gs_once_do(&once, init_fn, (void *)(intptr_t)4242), 0);
    if (effect != 4242)
        atomic_fetch_add(&saw_bad, 1);
    CHECK(gs_once_done(&once));
}

static void caller_g(void *arg)
{
    (void)arg;
    while (!atomic_load(&go_flag))
        gs_gosched();
    caller();
}

static void *caller_t(void *arg)
{
    (void)arg;
    caller();
    return NULL;
}

static void test_concurrent(uint32_t nprocs)
{
    init_procs(nprocs);
    memset(&once, 0, sizeof once); /* = GS_ONCE_INIT again, before anyone uses it */
    atomic_store(&runs, 0);
    atomic_store(&go_flag, 0);
    atomic_store(&saw_bad, 0);
    effect = 0;
    CHECK(!gs_once_done(&once));
    for (int i = 0; i < 1000; i++)
        CHECK(gs_go(caller_g, NULL) > 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, caller_t, NULL) == 0);
    sleep_ms(5);
    atomic_store(&go_flag, 1);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&runs), 1);
    CHECK_EQ(atomic_load(&saw_bad), 0);
    CHECK_EQ(effect, 4242);
    /* Later calls never run it again. */
    CHECK_RC(gs_once_do(&once, init_fn, (void *)(intptr_t)1), 0);
    CHECK_EQ(atomic_load(&runs), 1);
    CHECK_EQ(effect, 4242);
    CHECK(gs_shutdown() >= 0);
    printf("nprocs=%u: 1000 goroutines + 4 threads, fn ran once, all saw it: ok\n", nprocs);
}

static int plain_runs;
static void plain_fn(void *arg)
{
    (void)arg;
    plain_runs++;
}

int main(void)
{
    static gs_once o2 = GS_ONCE_INIT;
    CHECK_RC(gs_once_do(NULL, plain_fn, NULL), GS_EINVAL);
    CHECK_RC(gs_once_do(&o2, NULL, NULL), GS_EINVAL);
    CHECK(!gs_once_done(NULL));
    CHECK(!gs_once_done(&o2));
    CHECK_RC(gs_once_do(&o2, plain_fn, NULL), 0); /* no runtime */
    CHECK_RC(gs_once_do(&o2, plain_fn, NULL), 0);
    CHECK_EQ(plain_runs, 1);
    CHECK(gs_once_done(&o2));
    printf("without a runtime, NULL arguments: ok\n");
    test_concurrent(1);
    test_concurrent(2);
    test_concurrent(4);
    printf("sync_once: all ok\n");
    return 0;
}
