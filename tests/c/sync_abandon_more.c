/*
 * gs_shutdown with goroutines and foreign threads blocked in the newer objects:
 *
 * 1. Goroutines wait in gs_cond_wait, gs_semaphore_acquire, gs_once_do (behind a
 *    function that blocks), gs_rwmutex_rlock and gs_rwmutex_lock (a writer holds it),
 *    and on a context's done channel and a timer's channel; foreign threads wait in
 *    a condition variable, a semaphore and a read lock. gs_shutdown returns, the
 *    threads get GS_ESHUTDOWN, and the condition variable, the semaphore, the
 *    context and the timer can be freed afterwards (the abandoned goroutines' wait
 *    entries were taken off their queues).
 * 2. The objects work again with a new runtime.
 */
#include "common.h"

#define MS 1000000LL

static gs_mutex *mu;
static gs_cond *cv;
static gs_semaphore *sem;
static gs_rwmutex *rw;
static gs_once once = GS_ONCE_INIT;
static gs_chan *never;
static gs_context *ctx;
static gs_timer *tm;
static atomic_int started;

static void g_cond(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    atomic_fetch_add(&started, 1);
    gs_cond_wait(cv); /* abandoned here */
    FAIL("an abandoned goroutine resumed");
}

static void g_sem(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    gs_semaphore_acquire(sem, 2);
    FAIL("an abandoned goroutine resumed");
}

static void blocking_init(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    gs_chan_recv(never, NULL); /* never returns */
}

static void g_once(void *arg)
{
    (void)arg;
    gs_once_do(&once, blocking_init, NULL);
    FAIL("an abandoned goroutine resumed");
}

static void g_once_waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    gs_once_do(&once, blocking_init, NULL);
    FAIL("an abandoned goroutine resumed");
}

static void g_rlock(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    gs_rwmutex_rlock(rw);
    FAIL("an abandoned goroutine resumed");
}

static void g_lock(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    gs_rwmutex_lock(rw);
    FAIL("an abandoned goroutine resumed");
}

static void g_done(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    gs_chan_recv(gs_context_done(ctx), NULL);
    FAIL("an abandoned goroutine resumed");
}

static void g_timer(void *arg)
{
    (void)arg;
    int64_t v;
    atomic_fetch_add(&started, 1);
    gs_chan_recv(gs_timer_chan(tm), &v);
    FAIL("an abandoned goroutine resumed");
}

static void *t_cond(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(mu), 0);
    atomic_fetch_add(&started, 1);
    int rc = gs_cond_wait(cv);
    CHECK_RC(rc, GS_ESHUTDOWN);
    /* Whether the mutex was locked again or not, leave it unlocked. */
    int t = gs_mutex_trylock(mu);
    CHECK(t == 0 || t == GS_EAGAIN);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    return NULL;
}

static void *t_sem(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_semaphore_acquire(sem, 2), GS_ESHUTDOWN);
    return NULL;
}

static void *t_rlock(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_rwmutex_rlock(rw), GS_ESHUTDOWN);
    return NULL;
}

int main(void)
{
    init_procs(2);
    mu = gs_mutex_new();
    cv = gs_cond_new(mu);
    sem = gs_semaphore_new(2);
    rw = gs_rwmutex_new();
    never = gs_chan_new(0, 0);
    CHECK(mu && cv && sem && rw && never);
    CHECK_RC(gs_context_with_cancel(gs_context_background(), &ctx), 0);
    CHECK_RC(gs_timer_new(3600LL * 1000 * MS, &tm), 0);
    CHECK_RC(gs_semaphore_acquire(sem, 2), 0); /* all held */
    CHECK_RC(gs_rwmutex_lock(rw), 0);          /* writer held by main */
    atomic_store(&started, 0);
    CHECK(gs_go(g_once, NULL) > 0);
    while (atomic_load(&started) < 1)
        sleep_ms(1);
    gs_fn fns[] = {g_cond, g_cond, g_sem, g_sem, g_once_waiter, g_rlock, g_lock, g_done, g_timer};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        CHECK(gs_go(fns[i], NULL) > 0);
    pthread_t t[3];
    CHECK(pthread_create(&t[0], NULL, t_cond, NULL) == 0);
    CHECK(pthread_create(&t[1], NULL, t_sem, NULL) == 0);
    CHECK(pthread_create(&t[2], NULL, t_rlock, NULL) == 0);
    while (atomic_load(&started) < 13)
        sleep_ms(1);
    sleep_ms(50); /* all of them blocked by now */
    int64_t abandoned = gs_shutdown();
    CHECK(abandoned >= 10);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    /* The cond and semaphore queues were purged: they can be freed. */
    CHECK_RC(gs_cond_free(cv), 0);
    CHECK_RC(gs_semaphore_release(sem, 2), 0);
    CHECK_RC(gs_semaphore_free(sem), 0);
    CHECK_RC(gs_timer_free(tm), 0); /* its runtime is gone: nothing to delete */
    CHECK_RC(gs_context_free(ctx), 0);
    CHECK_RC(gs_chan_free(never), 0);
    /* The rwmutex still counts the abandoned reader and writer: it stays busy. */
    CHECK_RC(gs_rwmutex_free(rw), GS_EBUSY);
    printf("abandoned %lld goroutines; threads got GS_ESHUTDOWN; objects freed: ok\n", (long long)abandoned);

    /* A new runtime: fresh objects work. */
    init_procs(2);
    gs_rwmutex *rw2 = gs_rwmutex_new();
    gs_semaphore *s2 = gs_semaphore_new(1);
    gs_timer *t2;
    CHECK(rw2 && s2);
    CHECK_RC(gs_rwmutex_rlock(rw2), 0);
    CHECK_RC(gs_rwmutex_runlock(rw2), 0);
    CHECK_RC(gs_semaphore_acquire(s2, 1), 0);
    CHECK_RC(gs_semaphore_release(s2, 1), 0);
    CHECK_RC(gs_timer_new(MS, &t2), 0);
    int64_t v;
    CHECK_RC(gs_chan_recv(gs_timer_chan(t2), &v), 0);
    CHECK_RC(gs_timer_free(t2), 0);
    CHECK_RC(gs_rwmutex_free(rw2), 0);
    CHECK_RC(gs_semaphore_free(s2), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK(gs_shutdown() >= 0);
    printf("sync_abandon_more: all ok\n");
    return 0;
}
