/*
 * gs_shutdown with parties blocked in channels, select, mutexes and wait groups:
 *
 * 1. Foreign threads blocked in gs_chan_recv, gs_chan_send, gs_chan_recv_timeout
 *    (long timeout), gs_select (with channels, and with none), gs_mutex_lock and
 *    gs_waitgroup_wait wake up promptly and return GS_ESHUTDOWN, and gs_shutdown
 *    returns within a second (it waits for foreign callers to leave).
 * 2. Goroutines blocked in the same objects at shutdown are abandoned. Afterwards
 *    the objects still work and their abandoned waiters are ignored: a try_send
 *    finds no receiver, close and free succeed, unlock and free of the mutex
 *    succeed, the wait group can be freed; with a new runtime the same channel
 *    carries values between new goroutines.
 * 3. After shutdown, a foreign thread blocks as a plain thread again (no runtime).
 */
#include "common.h"

#define MS 1000000LL

static gs_chan *ch_recv, *ch_send, *ch_sel, *ch_sel2;
static gs_mutex *mu;
static gs_waitgroup *wg;
static atomic_int started, finished;

static void *t_recv(void *arg)
{
    (void)arg;
    int v = 9;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_chan_recv(ch_recv, &v), GS_ESHUTDOWN);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void *t_recv_timeout(void *arg)
{
    (void)arg;
    int v = 9;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_chan_recv_timeout(ch_recv, &v, 3600 * 1000 * MS), GS_ESHUTDOWN);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void *t_send(void *arg)
{
    (void)arg;
    int v = 9;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_chan_send(ch_send, &v), GS_ESHUTDOWN);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void *t_select(void *arg)
{
    (void)arg;
    int a, b = 1;
    gs_select_case cs[2] = {{ch_sel, GS_RECV, &a, 99}, {ch_sel2, GS_SEND, &b, 99}};
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_select(cs, 2, -1), GS_ESHUTDOWN);
    CHECK_EQ(cs[0].result, 99);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void *t_select_empty(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_select(NULL, 0, -1), GS_ESHUTDOWN);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void *t_mutex(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_mutex_lock(mu), GS_ESHUTDOWN);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void *t_wait(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    CHECK_RC(gs_waitgroup_wait(wg), GS_ESHUTDOWN);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

/* Goroutines that will be abandoned. */
static void g_recv(void *arg)
{
    (void)arg;
    int v;
    gs_chan_recv(ch_recv, &v);
    FAIL("an abandoned goroutine resumed");
}

static void g_select(void *arg)
{
    (void)arg;
    int a, b = 1;
    gs_select_case cs[2] = {{ch_sel, GS_RECV, &a, 99}, {ch_sel2, GS_SEND, &b, 99}};
    gs_select(cs, 2, -1);
    FAIL("an abandoned goroutine resumed");
}

static void g_mutex(void *arg)
{
    (void)arg;
    gs_mutex_lock(mu);
    FAIL("an abandoned goroutine resumed");
}

static void g_wait(void *arg)
{
    (void)arg;
    gs_waitgroup_wait(wg);
    FAIL("an abandoned goroutine resumed");
}

static void g_send(void *arg)
{
    (void)arg;
    int v = 3;
    gs_chan_send(ch_send, &v);
    FAIL("an abandoned goroutine resumed");
}

typedef void *(*thread_fn)(void *);

/* The same channel, reused by a new runtime's goroutines. */
static void reuse_sender(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        CHECK_RC(gs_chan_send(ch_sel, &i), 0);
}

int main(void)
{
    init_procs(2);
    ch_recv = gs_chan_new(sizeof(int), 0);
    ch_send = gs_chan_new(sizeof(int), 0);
    ch_sel = gs_chan_new(sizeof(int), 0);
    ch_sel2 = gs_chan_new(sizeof(int), 0);
    mu = gs_mutex_new();
    wg = gs_waitgroup_new();
    CHECK(ch_recv && ch_send && ch_sel && ch_sel2 && mu && wg);
    CHECK_RC(gs_mutex_lock(mu), 0);
    CHECK_RC(gs_waitgroup_add(wg, 1), 0);

    /* Abandoned goroutines first, so that the threads queue behind them. */
    CHECK(gs_go(g_recv, NULL) > 0);
    CHECK(gs_go(g_select, NULL) > 0);
    CHECK(gs_go(g_mutex, NULL) > 0);
    CHECK(gs_go(g_wait, NULL) > 0);
    CHECK(gs_go(g_send, NULL) > 0);
    WAIT_PARKED(5, 10000);

    thread_fn fns[] = {t_recv, t_recv_timeout, t_send, t_select, t_select_empty, t_mutex, t_wait};
    const int nt = (int)(sizeof fns / sizeof fns[0]);
    pthread_t th[sizeof fns / sizeof fns[0]];
    for (int i = 0; i < nt; i++)
        CHECK(pthread_create(&th[i], NULL, fns[i], NULL) == 0);
    while (atomic_load(&started) < nt)
        sleep_ms(1);
    sleep_ms(50); /* let them block */
    CHECK_EQ(atomic_load(&finished), 0);

    int64_t t0 = mono_ns();
    int rc = gs_shutdown();
    int64_t dt = mono_ns() - t0;
    CHECK_EQ(rc, 5);
    for (int i = 0; i < nt; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK_EQ(atomic_load(&finished), nt);
    printf("shutdown with %d blocked threads took %.1f ms\n", nt, dt / 1e6);
    CHECK(dt < 1000 * MS);

    /* 2. The abandoned goroutines' waiters are ignored from now on. */
    int v = 1;
    CHECK_RC(gs_chan_try_send(ch_recv, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(ch_send, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_send(ch_sel, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(ch_sel2, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_close(ch_recv), 0);
    CHECK_RC(gs_chan_close(ch_send), 0);
    CHECK_RC(gs_chan_free(ch_recv), 0);
    CHECK_RC(gs_chan_free(ch_send), 0);
    CHECK_RC(gs_chan_free(ch_sel2), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    CHECK_RC(gs_mutex_lock(mu), 0);
    CHECK_RC(gs_mutex_unlock(mu), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK_RC(gs_waitgroup_done(wg), 0);
    CHECK_RC(gs_waitgroup_free(wg), 0);

    /* A new runtime, the old channel. */
    init_procs(2);
    CHECK(gs_go(reuse_sender, NULL) > 0);
    for (int i = 0; i < 100; i++) {
        CHECK_RC(gs_chan_recv(ch_sel, &v), 0);
        CHECK_EQ(v, i);
    }
    WAIT_ALL();
    CHECK_EQ(gs_shutdown(), 0);

    /* 3. No runtime: a blocking call times out like a plain thread's. */
    CHECK_RC(gs_chan_recv_timeout(ch_sel, &v, 5 * MS), GS_ETIMEDOUT);
    CHECK_RC(gs_chan_free(ch_sel), 0);
    printf("chan_shutdown: ok\n");
    return 0;
}
