/*
 * gs_waitgroup_wait_timeout and gs_mutex_lock_timeout:
 *
 * 1. Timeouts: a foreign thread and goroutines get GS_ETIMEDOUT after the timeout
 *    (not before), with the counter / the lock unchanged; 0 polls; < 0 waits forever
 *    (released by a goroutine).
 * 2. Contention: 32 goroutines and 2 threads lock with 100 us timeouts a mutex that each
 *    holder keeps for 50 us: at most one holder at a time, every attempt either took it
 *    or timed out, some of each; afterwards the mutex is free and the wait queue empty
 *    (a plain lock, a trylock and a free succeed).
 * 3. Misuse: NULL gives GS_EINVAL; without a runtime a zero counter and a free mutex
 *    still succeed at once.
 */
#include "common.h"

#define G 32
#define ROUNDS 50

static gs_mutex *mu;
static gs_waitgroup *wg, *all;
static atomic_int inside, max_inside, taken, timedout, goroutine_timeouts;

static void attempt_loop(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        int rc = gs_mutex_lock_timeout(mu, 100000);
        if (rc == GS_ETIMEDOUT) {
            atomic_fetch_add(&timedout, 1);
            continue;
        }
        CHECK_RC(rc, 0);
        int n = atomic_fetch_add(&inside, 1) + 1;
        int m = atomic_load(&max_inside);
        while (n > m && !atomic_compare_exchange_weak(&max_inside, &m, n)) {
        }
        gs_sleep(50000);
        atomic_fetch_sub(&inside, 1);
        atomic_fetch_add(&taken, 1);
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
}

static void contender(void *arg)
{
    (void)arg;
    attempt_loop();
    CHECK_RC(gs_waitgroup_done(all), 0);
}

static void *thread_contender(void *arg)
{
    contender(arg);
    return NULL;
}

static void timed_waiter(void *arg)
{
    (void)arg;
    int64_t t = mono_ns();
    CHECK_RC(gs_waitgroup_wait_timeout(wg, 10 * 1000000), GS_ETIMEDOUT);
    CHECK(mono_ns() - t >= 10 * 1000000);
    t = mono_ns();
    CHECK_RC(gs_mutex_lock_timeout(mu, 10 * 1000000), GS_ETIMEDOUT);
    CHECK(mono_ns() - t >= 10 * 1000000);
    atomic_fetch_add(&goroutine_timeouts, 1);
    CHECK_RC(gs_waitgroup_done(all), 0);
}

static void releaser(void *arg)
{
    (void)arg;
    gs_sleep(20 * 1000000);
    CHECK_RC(gs_waitgroup_done(wg), 0);
}

int main(void)
{
    /* 3. Without a runtime. */
    CHECK_RC(gs_waitgroup_wait_timeout(NULL, 0), GS_EINVAL);
    CHECK_RC(gs_mutex_lock_timeout(NULL, 0), GS_EINVAL);
    mu = gs_mutex_new();
    wg = gs_waitgroup_new();
    all = gs_waitgroup_new();
    CHECK(mu && wg && all);
    CHECK_RC(gs_waitgroup_wait_timeout(wg, 0), 0);
    CHECK_RC(gs_mutex_lock_timeout(mu, 0), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);

    init_procs(2);
    /* 1. Timeouts from a foreign thread. */
    CHECK_RC(gs_waitgroup_add(wg, 1), 0);
    int64_t t = mono_ns();
    CHECK_RC(gs_waitgroup_wait_timeout(wg, 20 * 1000000), GS_ETIMEDOUT);
    CHECK(mono_ns() - t >= 20 * 1000000);
    CHECK_RC(gs_waitgroup_wait_timeout(wg, 0), GS_ETIMEDOUT);
    CHECK_RC(gs_mutex_lock(mu), 0);
    t = mono_ns();
    CHECK_RC(gs_mutex_lock_timeout(mu, 20 * 1000000), GS_ETIMEDOUT);
    CHECK(mono_ns() - t >= 20 * 1000000);
    CHECK_RC(gs_mutex_lock_timeout(mu, 0), GS_ETIMEDOUT);
    CHECK_RC(gs_mutex_trylock(mu), GS_EAGAIN); /* still held, by us */
    /* ... and from goroutines. */
    CHECK_RC(gs_waitgroup_add(all, 4), 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(timed_waiter, NULL) > 0);
    CHECK_RC(gs_waitgroup_wait(all), 0);
    CHECK_EQ(atomic_load(&goroutine_timeouts), 4);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    /* < 0: forever, until a goroutine releases it. */
    CHECK(gs_go(releaser, NULL) > 0);
    CHECK_RC(gs_waitgroup_wait_timeout(wg, -1), 0);
    printf("timeouts: threads and goroutines get GS_ETIMEDOUT after the timeout\n");

    /* 2. Contention. */
    CHECK_RC(gs_waitgroup_add(all, G + 2), 0);
    for (int i = 0; i < G; i++)
        CHECK(gs_go(contender, NULL) > 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, thread_contender, NULL) == 0);
    CHECK_RC(gs_waitgroup_wait(all), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(atomic_load(&max_inside), 1);
    CHECK_EQ(atomic_load(&taken) + atomic_load(&timedout), (G + 2) * ROUNDS);
    CHECK(atomic_load(&taken) > 0);
    CHECK(atomic_load(&timedout) > 0);
    CHECK_RC(gs_mutex_trylock(mu), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    CHECK_RC(gs_mutex_lock(mu), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    printf("contention: %d taken, %d timed out, never two holders\n", atomic_load(&taken),
           atomic_load(&timedout));
    WAIT_ALL();
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK_RC(gs_waitgroup_free(wg), 0);
    CHECK_RC(gs_waitgroup_free(all), 0);
    CHECK(gs_shutdown() >= 0);
    printf("sync_timed: OK\n");
    return 0;
}
