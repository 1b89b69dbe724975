/*
 * gs_waitgroup (Go's sync.WaitGroup):
 *
 * 1. A foreign thread waits on a wait group that 100 goroutines complete (each
 *    writes its own plain slot first: done happens before wait returns), and 50
 *    goroutines plus 2 foreign threads wait on one that a foreign thread completes.
 * 2. Reuse: the same wait group through 1,000 rounds of add(8) / 8 done / wait.
 * 3. Misuse: a negative counter gives GS_EINVAL and leaves the counter unchanged
 *    (also with a large negative delta, and on overflow); free while waited on gives
 *    GS_EBUSY; NULL gives GS_EINVAL; wait on a zero counter returns at once, also
 *    without a runtime.
 */
#include "common.h"

#define WORKERS 100

static gs_waitgroup *wg, *gate;
static int slots[WORKERS]; /* plain */
static atomic_int released;

static void worker(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    gs_sleep((int64_t)(i % 7) * 100000);
    slots[i] = (int)i + 1;
    CHECK_RC(gs_waitgroup_done(wg), 0);
}

static void gate_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_waitgroup_wait(gate), 0);
    atomic_fetch_add(&released, 1);
}

static void *thread_gate_waiter(void *arg)
{
    gate_waiter(arg);
    return NULL;
}

static void test_foreign_and_goroutines(void)
{
    init_procs(2);
    wg = gs_waitgroup_new();
    gate = gs_waitgroup_new();
    CHECK(wg && gate);
    memset(slots, 0, sizeof slots);
    CHECK_RC(gs_waitgroup_add(wg, WORKERS), 0);
    for (int i = 0; i < WORKERS; i++)
        CHECK(gs_go(worker, (void *)(uintptr_t)i) > 0);
    CHECK_RC(gs_waitgroup_wait(wg), 0);
    for (int i = 0; i < WORKERS; i++)
        CHECK_EQ(slots[i], i + 1);
    WAIT_ALL();

    /* Goroutines and threads wait; a foreign thread releases them. */
    atomic_store(&released, 0);
    CHECK_RC(gs_waitgroup_add(gate, 1), 0);
    for (int i = 0; i < 50; i++)
        CHECK(gs_go(gate_waiter, NULL) > 0);
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&th[t], NULL, thread_gate_waiter, NULL) == 0);
    WAIT_PARKED(50, 10000);
    sleep_ms(20);
    CHECK_EQ(atomic_load(&released), 0);
    CHECK_RC(gs_waitgroup_free(gate), GS_EBUSY);
    CHECK_RC(gs_waitgroup_done(gate), 0);
    for (int t = 0; t < 2; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&released), 52);
    CHECK_RC(gs_waitgroup_free(gate), 0);
    CHECK_RC(gs_waitgroup_free(wg), 0);
    CHECK(gs_shutdown() >= 0);
}

/* 2. Reuse across rounds; the waiter is a goroutine. */
static atomic_long round_done;

static void quick(void *arg)
{
    (void)arg;
    atomic_fetch_add(&round_done, 1);
    CHECK_RC(gs_waitgroup_done(wg), 0);
}

static void rounds(void *arg)
{
    (void)arg;
    for (int r = 0; r < 1000; r++) {
        CHECK_RC(gs_waitgroup_add(wg, 8), 0);
        for (int i = 0; i < 8; i++)
            CHECK(gs_go(quick, NULL) > 0);
        CHECK_RC(gs_waitgroup_wait(wg), 0);
        CHECK_EQ(atomic_load(&round_done), (long)(r + 1) * 8);
    }
}

static void test_reuse(void)
{
    init_procs(2);
    wg = gs_waitgroup_new();
    CHECK(wg);
    atomic_store(&round_done, 0);
    CHECK(gs_go(rounds, NULL) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&round_done), 8000);
    CHECK_RC(gs_waitgroup_free(wg), 0);
    CHECK(gs_shutdown() >= 0);
}

/* 3. Misuse. */
static void test_misuse(void)
{
    CHECK_RC(gs_waitgroup_add(NULL, 1), GS_EINVAL);
    CHECK_RC(gs_waitgroup_done(NULL), GS_EINVAL);
    CHECK_RC(gs_waitgroup_wait(NULL), GS_EINVAL);
    CHECK_RC(gs_waitgroup_free(NULL), GS_EINVAL);
    /* Without a runtime. */
    gs_waitgroup *w = gs_waitgroup_new();
    CHECK(w);
    CHECK_RC(gs_waitgroup_wait(w), 0);
    CHECK_RC(gs_waitgroup_done(w), GS_EINVAL);
    CHECK_RC(gs_waitgroup_add(w, 2), 0);
    CHECK_RC(gs_waitgroup_add(w, -3), GS_EINVAL);
    CHECK_RC(gs_waitgroup_add(w, INT64_MIN), GS_EINVAL);
    CHECK_RC(gs_waitgroup_add(w, INT64_MAX), GS_EINVAL); /* overflow */
    CHECK_RC(gs_waitgroup_done(w), 0);                  /* still 2: now 1 */
    CHECK_RC(gs_waitgroup_add(w, 0), 0);
    CHECK_RC(gs_waitgroup_done(w), 0); /* 0 */
    CHECK_RC(gs_waitgroup_done(w), GS_EINVAL);
    CHECK_RC(gs_waitgroup_wait(w), 0);
    CHECK_RC(gs_waitgroup_free(w), 0);
}

int main(void)
{
    test_misuse();
    printf("misuse: ok\n");
    test_foreign_and_goroutines();
    printf("foreign thread waits for goroutines and the other way round: ok\n");
    test_reuse();
    printf("1,000 rounds of reuse: ok\n");
    return 0;
}
