/*
 * gs_cond (Go's sync.Cond over a gs_mutex):
 *
 * 1. Ping-pong with signal, 1,000,000 rounds between two goroutines (nprocs 2) and
 *    100,000 between a goroutine and a foreign thread: each side waits for its turn
 *    in a loop and signals after passing the turn. A lost wake-up leaves both
 *    waiting: the run would hang (a watchdog fails it after 60 s).
 * 2. Broadcast: 8 goroutines and 2 threads wait for each new generation; the
 *    broadcaster waits until all 10 have seen generation n before it starts n+1,
 *    2,000 generations: every waiter wakes on every broadcast.
 * 3. Timed wait: with no signal, gs_cond_wait_timeout returns GS_ETIMEDOUT after
 *    at least the timeout, with the mutex held again (trylock by another party
 *    fails); a signal before the timeout returns 0.
 * 4. Misuse: wait without holding the mutex gives GS_EPERM; free with a waiter
 *    GS_EBUSY; NULL GS_EINVAL; gs_cond_new(NULL) is NULL.
 */
#include "common.h"

#define MS 1000000LL

static gs_mutex *mu;
static gs_cond *cv;
static long turn; /* under mu */
static long rounds;

static void player(long me)
{
    for (long i = 0; i < rounds; i++) {
        CHECK_RC(gs_mutex_lock(mu), 0);
        while (turn % 2 != me)
            CHECK_RC(gs_cond_wait(cv), 0);
        turn++;
        CHECK_RC(gs_cond_signal(cv), 0);
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
}

static void player_g(void *arg)
{
    player((long)(intptr_t)arg);
}

static void *player_t(void *arg)
{
    player((long)(intptr_t)arg);
    return NULL;
}

static atomic_int finished;
static void *watchdog(void *arg)
{
    (void)arg;
    for (int i = 0; i < 60000; i++) {
        if (atomic_load(&finished))
            return NULL;
        sleep_ms(1);
    }
    FAIL("ping-pong hung: a wake-up was lost (turn %ld)", turn);
}

static void test_pingpong(bool with_thread, long n)
{
    init_procs(2);
    mu = gs_mutex_new();
    cv = gs_cond_new(mu);
    CHECK(mu && cv);
    turn = 0;
    rounds = n;
    atomic_store(&finished, 0);
    pthread_t wd, t;
    CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0);
    int64_t t0 = mono_ns();
    CHECK(gs_go(player_g, (void *)(intptr_t)0) > 0);
    if (with_thread)
        CHECK(pthread_create(&t, NULL, player_t, (void *)(intptr_t)1) == 0);
    else
        CHECK(gs_go(player_g, (void *)(intptr_t)1) > 0);
    if (with_thread)
        CHECK(pthread_join(t, NULL) == 0);
    WAIT_ALL();
    atomic_store(&finished, 1);
    CHECK(pthread_join(wd, NULL) == 0);
    CHECK_EQ(turn, 2 * n);
    CHECK_RC(gs_cond_free(cv), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
    printf("ping-pong %s, %ld rounds in %.0f ms, no lost wake-up: ok\n",
           with_thread ? "goroutine<->thread" : "goroutine<->goroutine", n, (mono_ns() - t0) / 1e6);
}

/* ------------------------------------------------------------ 2. broadcast */
#define NWAIT 10
#define GENS 2000
static long gen, seen; /* under mu */

static void bwaiter(void)
{
    long mine = 0;
    CHECK_RC(gs_mutex_lock(mu), 0);
    while (mine < GENS) {
        while (gen == mine)
            CHECK_RC(gs_cond_wait(cv), 0);
        if (gen != mine + 1)
            FAIL("a waiter missed generation %ld (now %ld)", mine + 1, gen);
        mine = gen;
        seen++;
        CHECK_RC(gs_cond_broadcast(cv), 0); /* tell the broadcaster */
    }
    CHECK_RC(gs_mutex_unlock(mu), 0);
}

static void bwaiter_g(void *arg)
{
    (void)arg;
    bwaiter();
}

static void *bwaiter_t(void *arg)
{
    (void)arg;
    bwaiter();
    return NULL;
}

static void broadcaster(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    for (long g = 1; g <= GENS; g++) {
        while (seen != (g - 1) * NWAIT)
            CHECK_RC(gs_cond_wait(cv), 0);
        gen = g;
        CHECK_RC(gs_cond_broadcast(cv), 0);
    }
    while (seen != GENS * NWAIT)
        CHECK_RC(gs_cond_wait(cv), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
}

static void test_broadcast(void)
{
    init_procs(2);
    mu = gs_mutex_new();
    cv = gs_cond_new(mu);
    CHECK(mu && cv);
    gen = seen = 0;
    pthread_t t[2];
    for (int i = 0; i < 8; i++)
        CHECK(gs_go(bwaiter_g, NULL) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, bwaiter_t, NULL) == 0);
    CHECK(gs_go(broadcaster, NULL) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(seen, GENS * NWAIT);
    CHECK_RC(gs_cond_free(cv), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
    printf("broadcast: %d waiters saw all %d generations: ok\n", NWAIT, GENS);
}

/* ------------------------------------------------------------ 3. timed wait */
static atomic_int phase;

static void timed_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_cond_wait_timeout(cv, 30 * MS), GS_ETIMEDOUT);
    int64_t dt = mono_ns() - t0;
    CHECK(dt >= 30 * MS);
    CHECK_RC(gs_mutex_trylock(mu), GS_EAGAIN); /* held again */
    atomic_store(&phase, 1);
    /* Now a signal arrives before the (long) timeout. */
    CHECK_RC(gs_cond_wait_timeout(cv, 10000 * MS), 0);
    CHECK_EQ(turn, 7);
    CHECK_RC(gs_mutex_unlock(mu), 0);
}

static void test_timed(void)
{
    init_procs(2);
    mu = gs_mutex_new();
    cv = gs_cond_new(mu);
    CHECK(mu && cv);
    turn = 0;
    atomic_store(&phase, 0);
    CHECK(gs_go(timed_waiter, NULL) > 0);
    while (atomic_load(&phase) == 0)
        sleep_ms(1);
    CHECK_RC(gs_mutex_lock(mu), 0); /* the waiter released it in its wait */
    turn = 7;
    CHECK_RC(gs_cond_free(cv), GS_EBUSY);
    CHECK_RC(gs_cond_signal(cv), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    WAIT_ALL();
    /* A foreign thread's timed wait. */
    CHECK_RC(gs_mutex_lock(mu), 0);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_cond_wait_timeout(cv, 20 * MS), GS_ETIMEDOUT);
    CHECK(mono_ns() - t0 >= 20 * MS);
    CHECK_RC(gs_cond_wait_timeout(cv, 0), GS_ETIMEDOUT);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    CHECK_RC(gs_cond_wait(cv), GS_EPERM); /* not holding the mutex */
    CHECK_RC(gs_cond_free(cv), 0);
    CHECK_RC(gs_cond_free(cv), GS_EINVAL);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
    printf("timed waits, misuse: ok\n");
}

int main(void)
{
    CHECK(gs_cond_new(NULL) == NULL);
    CHECK_RC(gs_cond_wait(NULL), GS_EINVAL);
    CHECK_RC(gs_cond_signal(NULL), GS_EINVAL);
    CHECK_RC(gs_cond_broadcast(NULL), GS_EINVAL);
    CHECK_RC(gs_cond_free(NULL), GS_EINVAL);
    test_timed();
    test_broadcast();
    test_pingpong(false, 1000000);
    test_pingpong(true, 100000);
    printf("sync_cond: all ok\n");
    return 0;
}
