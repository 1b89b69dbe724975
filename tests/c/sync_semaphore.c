/*
 * gs_semaphore (Go's golang.org/x/sync/semaphore):
 *
 * 1. Limit: 16 goroutines and 2 threads acquire random weights 1..5 of a semaphore
 *    of 10, 5,000 times each, and add their weight to a shared total while they hold
 *    it: the total never exceeds 10, and at the end nothing is held.
 * 2. FIFO: with the whole capacity held, waiters queue one after the other (weights
 *    6, 1, 1, 3, 1); releases then grant them strictly in arrival order: the 1s
 *    behind the 6 wait for it even when they would fit.
 * 3. A large request is not starved: small acquirers keep the semaphore busy, a
 *    request for the whole capacity still gets it within 1 s.
 * 4. Timeouts: an acquire that cannot fit gives GS_ETIMEDOUT after the timeout and
 *    holds nothing; a waiter that gives up lets the ones behind it in; tryacquire
 *    GS_EAGAIN; weight above capacity or negative GS_EINVAL; release of more than
 *    held GS_EPERM; free while held GS_EBUSY.
 */
#include "common.h"

#define MS 1000000LL
#define SIZE 10

static gs_semaphore *sem;
static atomic_long total;
static atomic_long max_total;

static void limited(int seed, int iters)
{
    unsigned r = (unsigned)seed * 2654435761u + 1;
    for (int i = 0; i < iters; i++) {
        r = r * 1103515245u + 12345u;
        long w = 1 + (long)((r >> 16) % 5);
        CHECK_RC(gs_semaphore_acquire(sem, w), 0);
        long t = atomic_fetch_add(&total, w) + w;
        if (t > SIZE)
            FAIL("held weights sum to %ld > %d", t, SIZE);
        long m = atomic_load(&max_total);
        while (t > m && !atomic_compare_exchange_weak(&max_total, &m, t))
            ;
        if ((i & 7) == 0)
            gs_gosched();
        atomic_fetch_sub(&total, w);
        CHECK_RC(gs_semaphore_release(sem, w), 0);
    }
}

static void limited_g(void *arg)
{
    limited((int)(intptr_t)arg, 5000);
}

static void *limited_t(void *arg)
{
    limited((int)(intptr_t)arg, 5000);
    return NULL;
}

static void test_limit(uint32_t nprocs)
{
    init_procs(nprocs);
    sem = gs_semaphore_new(SIZE);
    CHECK(sem);
    atomic_store(&total, 0);
    atomic_store(&max_total, 0);
    pthread_t t[2];
    for (int i = 0; i < 16; i++)
        CHECK(gs_go(limited_g, (void *)(intptr_t)i) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, limited_t, (void *)(intptr_t)(100 + i)) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(gs_semaphore_held(sem), 0);
    CHECK(atomic_load(&max_total) <= SIZE);
    CHECK_RC(gs_semaphore_free(sem), 0);
    CHECK(gs_shutdown() >= 0);
    printf("nprocs=%u: limit %d never exceeded (max held %ld): ok\n", nprocs, SIZE, (long)atomic_load(&max_total));
}

/* --------------------------------------------------------------- 2. FIFO */
static const long fifo_w[] = {6, 1, 1, 3, 1};
#define NFIFO 5
static atomic_int returned[NFIFO];
static atomic_int queued;

static void fifo_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&queued, 1);
    CHECK_RC(gs_semaphore_acquire(sem, fifo_w[i]), 0);
    atomic_store(&returned[i], 1);
}

/* Waits until exactly the waiters in `want` (a bit set) have returned, and checks the
 * others stay waiting for 20 ms more. */
static void expect_returned(unsigned want)
{
    int64_t t0 = mono_ns();
    for (;;) {
        unsigned got = 0;
        for (int i = 0; i < NFIFO; i++)
            got |= (unsigned)atomic_load(&returned[i]) << i;
        if (got & ~want)
            FAIL("waiters 0x%x returned, only 0x%x may have", got, want);
        if (got == want)
            break;
        if (mono_ns() - t0 > 10000 * MS)
            FAIL("waiters 0x%x returned, 0x%x should have", got, want);
        sleep_ms(1);
    }
    sleep_ms(20);
    for (int i = 0; i < NFIFO; i++)
        if (atomic_load(&returned[i]) && !(want & (1u << i)))
            FAIL("waiter %d returned out of turn", i);
}

static void test_fifo(void)
{
    init_procs(2);
    sem = gs_semaphore_new(SIZE);
    CHECK(sem);
    for (int i = 0; i < NFIFO; i++)
        atomic_store(&returned[i], 0);
    atomic_store(&queued, 0);
    CHECK_RC(gs_semaphore_acquire(sem, SIZE), 0); /* all of it */
    for (int i = 0; i < NFIFO; i++) {
        int before = atomic_load(&queued);
        CHECK(gs_go(fifo_waiter, (void *)(intptr_t)i) > 0);
        while (atomic_load(&queued) == before)
            sleep_ms(1);
        sleep_ms(10); /* it is queued now, before the next one */
    }
    CHECK_RC(gs_semaphore_tryacquire(sem, 1), GS_EAGAIN);
    /* Free 5: the head wants 6, so nobody may pass it (the 1s behind would fit). */
    CHECK_RC(gs_semaphore_release(sem, 5), 0);
    expect_returned(0);
    CHECK_RC(gs_semaphore_tryacquire(sem, 1), GS_EAGAIN); /* others wait: no barging */
    /* Free 6: the head's 6 fits, and nothing more. */
    CHECK_RC(gs_semaphore_release(sem, 1), 0);
    expect_returned(0x1);
    CHECK_EQ(gs_semaphore_held(sem), 10);
    /* Free 4: the two 1s fit, then the 3 does not (2 free), so the last 1 must wait
     * behind it although it would fit. */
    CHECK_RC(gs_semaphore_release(sem, 4), 0);
    expect_returned(0x7);
    CHECK_EQ(gs_semaphore_held(sem), 8);
    /* Free 2 more (4 free): the 3, then the 1. */
    CHECK_RC(gs_semaphore_release(sem, 2), 0);
    expect_returned(0x1f);
    WAIT_ALL();
    CHECK_EQ(gs_semaphore_held(sem), 10);
    CHECK_RC(gs_semaphore_free(sem), GS_EBUSY);
    CHECK_RC(gs_semaphore_release(sem, 10), 0);
    CHECK_RC(gs_semaphore_free(sem), 0);
    CHECK(gs_shutdown() >= 0);
    printf("FIFO: granted in arrival order, no passing the head: ok\n");
}

/* ------------------------------------------------------- 3. no starvation */
static atomic_int stop_small;
static void small_user(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_small)) {
        CHECK_RC(gs_semaphore_acquire(sem, 3), 0);
        gs_sleep(100000);
        CHECK_RC(gs_semaphore_release(sem, 3), 0);
    }
}

static void test_big_not_starved(void)
{
    init_procs(2);
    sem = gs_semaphore_new(SIZE);
    CHECK(sem);
    atomic_store(&stop_small, 0);
    for (int i = 0; i < 6; i++)
        CHECK(gs_go(small_user, NULL) > 0);
    sleep_ms(20);
    int64_t worst = 0;
    for (int i = 0; i < 10; i++) {
        int64_t t0 = mono_ns();
        CHECK_RC(gs_semaphore_acquire(sem, SIZE), 0);
        int64_t dt = mono_ns() - t0;
        if (dt > worst)
            worst = dt;
        CHECK_EQ(gs_semaphore_held(sem), SIZE);
        CHECK_RC(gs_semaphore_release(sem, SIZE), 0);
        sleep_ms(2);
    }
    atomic_store(&stop_small, 1);
    WAIT_ALL();
    if (worst > 1000 * MS)
        FAIL("the full-size request waited %.1f ms", worst / 1e6);
    CHECK_RC(gs_semaphore_free(sem), 0);
    CHECK(gs_shutdown() >= 0);
    printf("a full-size request behind small ones: worst wait %.2f ms: ok\n", worst / 1e6);
}

/* ------------------------------------------------------------ 4. timeouts */
static atomic_int late_done;

static void late_small(void *arg)
{
    (void)arg;
    CHECK_RC(gs_semaphore_acquire(sem, 1), 0);
    atomic_store(&late_done, 1);
}

static void big_giving_up(void *arg)
{
    (void)arg;
    atomic_store(&queued, 1);
    CHECK_RC(gs_semaphore_acquire_timeout(sem, SIZE, 300 * MS), GS_ETIMEDOUT);
}

static void test_timeouts(void)
{
    init_procs(2);
    sem = gs_semaphore_new(SIZE);
    CHECK(sem);
    CHECK_RC(gs_semaphore_acquire(sem, 5), 0);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_semaphore_acquire_timeout(sem, 6, 20 * MS), GS_ETIMEDOUT);
    CHECK(mono_ns() - t0 >= 20 * MS);
    CHECK_EQ(gs_semaphore_held(sem), 5);
    CHECK_RC(gs_semaphore_acquire_timeout(sem, 6, 0), GS_ETIMEDOUT);
    /* A big waiter at the head blocks a small one behind it until it gives up. */
    atomic_store(&queued, 0);
    atomic_store(&late_done, 0);
    CHECK(gs_go(big_giving_up, NULL) > 0);
    while (!atomic_load(&queued))
        sleep_ms(1);
    sleep_ms(5);
    CHECK(gs_go(late_small, NULL) > 0);
    sleep_ms(20);
    CHECK_EQ(atomic_load(&late_done), 0); /* behind the big one */
    WAIT_ALL(); /* the big one timed out; the small one got in then */
    CHECK_EQ(atomic_load(&late_done), 1);
    CHECK_EQ(gs_semaphore_held(sem), 6);
    CHECK_RC(gs_semaphore_acquire(sem, SIZE + 1), GS_EINVAL);
    CHECK_RC(gs_semaphore_acquire(sem, -1), GS_EINVAL);
    CHECK_RC(gs_semaphore_tryacquire(sem, SIZE + 1), GS_EINVAL);
    CHECK_RC(gs_semaphore_release(sem, 7), GS_EPERM);
    CHECK_RC(gs_semaphore_release(sem, -1), GS_EINVAL);
    CHECK_EQ(gs_semaphore_held(sem), 6);
    CHECK_RC(gs_semaphore_release(sem, 6), 0);
    CHECK_RC(gs_semaphore_tryacquire(sem, SIZE), 0);
    CHECK_RC(gs_semaphore_release(sem, SIZE), 0);
    CHECK_RC(gs_semaphore_free(sem), 0);
    CHECK_RC(gs_semaphore_free(sem), GS_EINVAL);
    CHECK(gs_shutdown() >= 0);
    printf("timeouts and misuse: ok\n");
}

int main(void)
{
    CHECK(gs_semaphore_new(0) == NULL);
    CHECK(gs_semaphore_new(-3) == NULL);
    CHECK_RC(gs_semaphore_acquire(NULL, 1), GS_EINVAL);
    CHECK_RC(gs_semaphore_release(NULL, 1), GS_EINVAL);
    CHECK_RC(gs_semaphore_free(NULL), GS_EINVAL);
    test_timeouts();
    test_fifo();
    test_big_not_starved();
    test_limit(1);
    test_limit(2);
    test_limit(4);
    printf("sync_semaphore: all ok\n");
    return 0;
}
