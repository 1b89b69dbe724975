/*
 * gs_mutex (Go's sync.Mutex):
 *
 * 1. 1,000 goroutines x 1,000 increments of a plain counter under the mutex give
 *    exactly 1,000,000 (nprocs 1, 2 and 4): mutual exclusion, and unlock happens
 *    before the next lock (the plain counter would lose updates otherwise).
 * 2. A goroutine holds the mutex across gs_gosched, gs_sleep and channel receives
 *    (a foreign thread readies it through the global queue) until it runs on another
 *    OS thread, then unlocks it there; a goroutine and a foreign thread that were
 *    waiting get it in turn.
 * 3. Handed between goroutines and foreign threads: 2 threads and 8 goroutines
 *    increment one counter; a mutex locked by a goroutine is unlocked by a foreign
 *    thread and the other way round (Go allows it).
 * 4. Starvation mode (Go's TestMutexFairness): a goroutine that re-locks at once
 *    after every unlock, holding the lock 100 us each time, cannot keep another
 *    goroutine out: that one gets the mutex 10 times, each wait well under 1 s.
 * 5. Misuse: unlock of an unlocked mutex gives GS_EPERM and changes nothing;
 *    trylock of a held mutex GS_EAGAIN; free of a locked or waited-on mutex
 *    GS_EBUSY; NULL gives GS_EINVAL.
 */
#include "common.h"

#define MS 1000000LL

static gs_mutex *mu;
static long counter; /* plain: only touched under mu */

/* ----------------------------------------------------------- 1. 1000 x 1000 */
#define G_COUNT 1000
#define INCS 1000

static void incrementer(void *arg)
{
    long n = (long)(uintptr_t)arg;
    for (long i = 0; i < n; i++) {
        CHECK_RC(gs_mutex_lock(mu), 0);
        long c = counter;
        if ((i & 63) == 0)
            gs_gosched(); /* be preempted inside the critical section now and then */
        counter = c + 1;
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
}

static void test_counter(uint32_t nprocs)
{
    init_procs(nprocs);
    mu = gs_mutex_new();
    CHECK(mu);
    counter = 0;
    int64_t t0 = mono_ns();
    for (int i = 0; i < G_COUNT; i++)
        CHECK(gs_go(incrementer, (void *)(uintptr_t)INCS) > 0);
    WAIT_ALL();
    CHECK_EQ(counter, (long)G_COUNT * INCS);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
    printf("nprocs=%u: %d x %d increments in %.1f ms: ok\n", nprocs, G_COUNT, INCS, (mono_ns() - t0) / 1e6);
}

/* ---------------------------------------------- 2. held across a migration */
static atomic_int phase;
static atomic_int stop_busy;

static void busy(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_busy))
        gs_gosched();
}

/* A foreign thread that readies the holder again and again: each time through the
 * global run queue, from which any M may take it. */
static gs_chan *ping;

static void *pinger(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_busy)) {
        int rc = gs_chan_send_timeout(ping, NULL, 10 * MS);
        CHECK(rc == 0 || rc == GS_ETIMEDOUT);
    }
    return NULL;
}

static void migrating_holder(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 2) /* until main checked trylock and goes to wait */
        gs_gosched();
    pid_t tid0 = os_tid();
    int tries = 0;
    while (os_tid() == tid0) {
        if (++tries > 100000)
            FAIL("the goroutine never moved to another thread");
        if (tries % 3 == 0)
            gs_gosched();
        else if (tries % 3 == 1)
            gs_sleep(50000);
        else
            CHECK_RC(gs_chan_recv(ping, NULL), 0);
    }
    counter += 100;
    CHECK_RC(gs_mutex_unlock(mu), 0); /* on another M than the lock */
}

static void waiter_goroutine(void *arg)
{
    (void)arg;
    while (atomic_load(&phase) != 2)
        gs_gosched();
    CHECK_RC(gs_mutex_lock(mu), 0);
    CHECK(counter >= 100);
    counter += 1;
    CHECK_RC(gs_mutex_unlock(mu), 0);
}

static void test_migration(void)
{
    init_procs(4);
    mu = gs_mutex_new();
    CHECK(mu);
    counter = 0;
    atomic_store(&phase, 0);
    atomic_store(&stop_busy, 0);
    ping = gs_chan_new(0, 0);
    CHECK(ping);
    pthread_t pt;
    CHECK(pthread_create(&pt, NULL, pinger, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(busy, NULL) > 0);
    CHECK(gs_go(migrating_holder, NULL) > 0);
    CHECK(gs_go(waiter_goroutine, NULL) > 0);
    while (atomic_load(&phase) == 0)
        sleep_ms(1);
    CHECK_RC(gs_mutex_trylock(mu), GS_EAGAIN);
    atomic_store(&phase, 2);
    CHECK_RC(gs_mutex_lock(mu), 0); /* this foreign thread waits too */
    CHECK(counter >= 100);
    counter += 1;
    CHECK_RC(gs_mutex_unlock(mu), 0);
    atomic_store(&stop_busy, 1);
    CHECK(pthread_join(pt, NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(counter, 102);
    CHECK_RC(gs_chan_free(ping), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
}

/* ------------------------------------------- 3. goroutines and foreign threads */
#define MIXED_INCS 20000

static void *thread_incrementer(void *arg)
{
    (void)arg;
    for (int i = 0; i < MIXED_INCS; i++) {
        CHECK_RC(gs_mutex_lock(mu), 0);
        counter++;
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
    return NULL;
}

static gs_chan *locked_sig;

static void lock_and_signal(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    counter = 5;
    CHECK_RC(gs_chan_send(locked_sig, NULL), 0);
}

static void unlock_for_thread(void *arg)
{
    (void)arg;
    CHECK_RC(gs_chan_recv(locked_sig, NULL), 0);
    CHECK_EQ(counter, 6);
    counter = 7;
    CHECK_RC(gs_mutex_unlock(mu), 0); /* locked by the foreign thread */
}

static void test_mixed(void)
{
    init_procs(2);
    mu = gs_mutex_new();
    CHECK(mu);
    counter = 0;
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&th[t], NULL, thread_incrementer, NULL) == 0);
    for (int i = 0; i < 8; i++)
        CHECK(gs_go(incrementer, (void *)(uintptr_t)MIXED_INCS) > 0);
    for (int t = 0; t < 2; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(counter, 10L * MIXED_INCS);

    /* Locked by a goroutine, unlocked by this thread. */
    locked_sig = gs_chan_new(0, 0);
    CHECK(locked_sig);
    CHECK(gs_go(lock_and_signal, NULL) > 0);
    CHECK_RC(gs_chan_recv(locked_sig, NULL), 0);
    CHECK_EQ(counter, 5);
    CHECK_RC(gs_mutex_trylock(mu), GS_EAGAIN);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    WAIT_ALL();
    /* Locked by this thread, unlocked by a goroutine. */
    CHECK_RC(gs_mutex_lock(mu), 0);
    counter = 6;
    CHECK(gs_go(unlock_for_thread, NULL) > 0);
    CHECK_RC(gs_chan_send(locked_sig, NULL), 0);
    CHECK_RC(gs_mutex_lock(mu), 0); /* blocks until the goroutine unlocked */
    CHECK_EQ(counter, 7);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    WAIT_ALL();
    CHECK_RC(gs_chan_free(locked_sig), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
}

/* --------------------------------------------------------- 4. starvation mode */
static atomic_int hog_stop;
static int64_t max_wait;

static void hog(void *arg)
{
    (void)arg;
    while (!atomic_load(&hog_stop)) {
        CHECK_RC(gs_mutex_lock(mu), 0);
        gs_sleep(100000);
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
}

static void polite(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        gs_sleep(100000);
        int64_t t0 = gs_nanotime();
        CHECK_RC(gs_mutex_lock(mu), 0);
        int64_t w = gs_nanotime() - t0;
        if (w > max_wait)
            max_wait = w;
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
    atomic_store(&hog_stop, 1);
}

static void test_starvation(uint32_t nprocs)
{
    init_procs(nprocs);
    mu = gs_mutex_new();
    CHECK(mu);
    atomic_store(&hog_stop, 0);
    max_wait = 0;
    int64_t t0 = mono_ns();
    CHECK(gs_go(hog, NULL) > 0);
    CHECK(gs_go(polite, NULL) > 0);
    WAIT_ALL();
    int64_t total = mono_ns() - t0;
    printf("nprocs=%u: starvation: 10 locks in %.1f ms, longest wait %.2f ms\n", nprocs, total / 1e6,
           max_wait / 1e6);
    CHECK(max_wait < 1000 * MS);
    CHECK(total < 5000 * MS);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
}

/* ------------------------------------------------------------------ 5. misuse */
static void waits_for_lock(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
}

static void test_misuse(void)
{
    CHECK(gs_mutex_lock(NULL) == GS_EINVAL);
    CHECK(gs_mutex_trylock(NULL) == GS_EINVAL);
    CHECK(gs_mutex_unlock(NULL) == GS_EINVAL);
    CHECK(gs_mutex_free(NULL) == GS_EINVAL);
    /* Without a runtime: a mutex is plain memory. */
    gs_mutex *m = gs_mutex_new();
    CHECK(m);
    CHECK_RC(gs_mutex_unlock(m), GS_EPERM);
    CHECK_RC(gs_mutex_lock(m), 0);
    CHECK_RC(gs_mutex_trylock(m), GS_EAGAIN);
    CHECK_RC(gs_mutex_free(m), GS_EBUSY);
    CHECK_RC(gs_mutex_unlock(m), 0);
    CHECK_RC(gs_mutex_unlock(m), GS_EPERM);
    CHECK_RC(gs_mutex_trylock(m), 0); /* still works after the refused unlock */
    CHECK_RC(gs_mutex_unlock(m), 0);
    CHECK_RC(gs_mutex_free(m), 0);
    /* Free while a goroutine waits. */
    init_procs(2);
    mu = gs_mutex_new();
    CHECK(mu);
    CHECK_RC(gs_mutex_lock(mu), 0);
    CHECK(gs_go(waits_for_lock, NULL) > 0);
    WAIT_PARKED(1, 10000);
    CHECK_RC(gs_mutex_free(mu), GS_EBUSY);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    WAIT_ALL();
    CHECK_RC(gs_mutex_unlock(mu), GS_EPERM);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    test_misuse();
    printf("misuse: ok\n");
    test_counter(1);
    test_counter(2);
    test_counter(4);
    test_migration();
    printf("held across a migration: ok\n");
    test_mixed();
    printf("goroutines and foreign threads: ok\n");
    test_starvation(1);
    test_starvation(2);
    return 0;
}
