/*
 * Close semantics (gosched.h, gs_chan_close):
 *
 * 1. Close while 100 receiver goroutines and 100 sender goroutines are blocked (plus
 *    2 receiver and 2 sender foreign threads): every one of them wakes with
 *    GS_ECLOSED; receivers get a zeroed buffer (Go's zero value).
 * 2. A buffered channel, full, with 20 more senders blocked, is closed: the blocked
 *    senders get GS_ECLOSED, and receivers still drain the 10 buffered values in
 *    order, then get GS_ECLOSED.
 * 3. A buffered channel with values, closed: receivers (goroutines and a foreign
 *    thread taking turns) get every value in order, then GS_ECLOSED again and again;
 *    send after close gives GS_ECLOSED, a second close GS_EALREADY, len counts down.
 * 4. Close happens before a receive that observes it: a plain variable written
 *    before close is seen by every receiver that got GS_ECLOSED.
 * 5. Elements of size 0 (a signal channel): close releases 50 waiters.
 */
#include "common.h"

#define WAITERS 100
#define THREADS 2

static gs_chan *rch, *sch;
static atomic_int closed_seen;
static atomic_int threads_blocked;

static void blocked_receiver(void *arg)
{
    (void)arg;
    uint64_t v[3] = {~0ull, ~0ull, ~0ull};
    CHECK_RC(gs_chan_recv(rch, v), GS_ECLOSED);
    CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0);
    atomic_fetch_add(&closed_seen, 1);
}

static void blocked_sender(void *arg)
{
    uint64_t v[3] = {(uintptr_t)arg, 2, 3};
    CHECK_RC(gs_chan_send(sch, v), GS_ECLOSED);
    atomic_fetch_add(&closed_seen, 1);
}

static void *thread_receiver(void *arg)
{
    (void)arg;
    uint64_t v[3] = {~0ull, ~0ull, ~0ull};
    atomic_fetch_add(&threads_blocked, 1);
    CHECK_RC(gs_chan_recv(rch, v), GS_ECLOSED);
    CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0);
    atomic_fetch_add(&closed_seen, 1);
    return NULL;
}

static void *thread_sender(void *arg)
{
    (void)arg;
    uint64_t v[3] = {1, 2, 3};
    atomic_fetch_add(&threads_blocked, 1);
    CHECK_RC(gs_chan_send(sch, v), GS_ECLOSED);
    atomic_fetch_add(&closed_seen, 1);
    return NULL;
}

static void test_close_wakes_everyone(void)
{
    init_procs(2);
    rch = gs_chan_new(24, 0);
    sch = gs_chan_new(24, 0);
    CHECK(rch && sch);
    atomic_store(&closed_seen, 0);
    atomic_store(&threads_blocked, 0);
    for (int i = 0; i < WAITERS; i++) {
        CHECK(gs_go(blocked_receiver, NULL) > 0);
        CHECK(gs_go(blocked_sender, (void *)(uintptr_t)i) > 0);
    }
    pthread_t th[2 * THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&th[2 * i], NULL, thread_receiver, NULL) == 0);
        CHECK(pthread_create(&th[2 * i + 1], NULL, thread_sender, NULL) == 0);
    }
    WAIT_PARKED(2 * WAITERS, 10000);
    while (atomic_load(&threads_blocked) < 2 * THREADS)
        sleep_ms(1);
    sleep_ms(20); /* let the threads reach their futex */
    CHECK_EQ(atomic_load(&closed_seen), 0);
    CHECK_RC(gs_chan_free(rch), GS_EBUSY);
    CHECK_RC(gs_chan_free(sch), GS_EBUSY);
    CHECK_RC(gs_chan_close(rch), 0);
    CHECK_RC(gs_chan_close(sch), 0);
    CHECK_RC(gs_chan_close(sch), GS_EALREADY);
    for (int i = 0; i < 2 * THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&closed_seen), 2 * WAITERS + 2 * THREADS);
    CHECK_RC(gs_chan_free(rch), 0);
    CHECK_RC(gs_chan_free(sch), 0);
    CHECK(gs_shutdown() >= 0);
}

/* 2. Full buffer, senders blocked behind it, then close. */
static gs_chan *bch;

static void late_sender(void *arg)
{
    int v = 1000 + (int)(uintptr_t)arg;
    CHECK_RC(gs_chan_send(bch, &v), GS_ECLOSED);
    atomic_fetch_add(&closed_seen, 1);
}

static void test_blocked_senders_then_drain(void)
{
    init_procs(2);
    bch = gs_chan_new(sizeof(int), 10);
    CHECK(bch);
    for (int i = 0; i < 10; i++)
        CHECK_RC(gs_chan_try_send(bch, &i), 0);
    int x = 99;
    CHECK_RC(gs_chan_try_send(bch, &x), GS_EAGAIN);
    atomic_store(&closed_seen, 0);
    for (int i = 0; i < 20; i++)
        CHECK(gs_go(late_sender, (void *)(uintptr_t)i) > 0);
    WAIT_PARKED(20, 10000);
    CHECK_RC(gs_chan_close(bch), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&closed_seen), 20);
    CHECK_EQ(gs_chan_len(bch), 10);
    for (int i = 0; i < 10; i++) {
        int v = -1;
        CHECK_RC(gs_chan_recv(bch, &v), 0);
        CHECK_EQ(v, i);
    }
    int v = -1;
    CHECK_RC(gs_chan_recv(bch, &v), GS_ECLOSED);
    CHECK_EQ(v, 0);
    CHECK_RC(gs_chan_free(bch), 0);
    CHECK(gs_shutdown() >= 0);
}

/* 3 and 4. Drain in order across goroutines and a foreign thread. */
static gs_chan *dch, *turn_g, *turn_t;
static int before_close; /* plain: written before close */
#define DRAIN 1000

static void drain_goroutine(void *arg)
{
    (void)arg;
    for (;;) {
        int t;
        CHECK_RC(gs_chan_recv(turn_g, &t), 0);
        if (t < 0)
            break;
        int v = -1;
        CHECK_RC(gs_chan_recv(dch, &v), 0);
        CHECK_EQ(v, t);
        t++;
        CHECK_RC(gs_chan_send(turn_t, &t), 0);
    }
    for (int k = 0; k < 3; k++) {
        int v = 5;
        CHECK_RC(gs_chan_recv(dch, &v), GS_ECLOSED);
        CHECK_EQ(v, 0);
        CHECK_EQ(before_close, 42);
    }
}

static void test_drain_in_order(void)
{
    init_procs(2);
    dch = gs_chan_new(sizeof(int), DRAIN);
    turn_g = gs_chan_new(sizeof(int), 0);
    turn_t = gs_chan_new(sizeof(int), 0);
    CHECK(dch && turn_g && turn_t);
    for (int i = 0; i < DRAIN; i++)
        CHECK_RC(gs_chan_send(dch, &i), 0);
    before_close = 42;
    CHECK_RC(gs_chan_close(dch), 0);
    int x = 1;
    CHECK_RC(gs_chan_send(dch, &x), GS_ECLOSED);
    CHECK_RC(gs_chan_try_send(dch, &x), GS_ECLOSED);
    CHECK_RC(gs_chan_send_timeout(dch, &x, 1000000), GS_ECLOSED);
    CHECK_RC(gs_chan_close(dch), GS_EALREADY);
    CHECK(gs_go(drain_goroutine, NULL) > 0);
    /* Turns: even values are taken by the goroutine, odd ones by this thread. */
    int t = 0;
    while (t < DRAIN) {
        CHECK_RC(gs_chan_send(turn_g, &t), 0);
        CHECK_RC(gs_chan_recv(turn_t, &t), 0);
        if (t >= DRAIN)
            break;
        CHECK_EQ(gs_chan_len(dch), (size_t)(DRAIN - t));
        int v = -1;
        CHECK_RC(gs_chan_recv(dch, &v), 0);
        CHECK_EQ(v, t);
        t++;
    }
    int stop = -1;
    CHECK_RC(gs_chan_send(turn_g, &stop), 0);
    WAIT_ALL();
    CHECK_EQ(gs_chan_len(dch), 0);
    int v = 7;
    CHECK_RC(gs_chan_recv(dch, &v), GS_ECLOSED);
    CHECK_EQ(v, 0);
    v = 7;
    CHECK_RC(gs_chan_try_recv(dch, &v), GS_ECLOSED);
    CHECK_EQ(v, 0);
    v = 7;
    CHECK_RC(gs_chan_recv_timeout(dch, &v, 1000000), GS_ECLOSED);
    CHECK_EQ(v, 0);
    CHECK_RC(gs_chan_free(dch), 0);
    CHECK_RC(gs_chan_free(turn_g), 0);
    CHECK_RC(gs_chan_free(turn_t), 0);
    CHECK(gs_shutdown() >= 0);
}

/* 5. A signal channel of empty elements. */
static gs_chan *sig;

static void signal_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_chan_recv(sig, NULL), GS_ECLOSED);
    atomic_fetch_add(&closed_seen, 1);
}

static void test_zero_size(void)
{
    init_procs(2);
    sig = gs_chan_new(0, 0);
    CHECK(sig);
    atomic_store(&closed_seen, 0);
    for (int i = 0; i < 50; i++)
        CHECK(gs_go(signal_waiter, NULL) > 0);
    WAIT_PARKED(50, 10000);
    CHECK_EQ(atomic_load(&closed_seen), 0);
    CHECK_RC(gs_chan_close(sig), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&closed_seen), 50);
    CHECK_RC(gs_chan_free(sig), 0);
    /* A buffered signal channel counts its elements. */
    gs_chan *b = gs_chan_new(0, 3);
    CHECK(b);
    for (int i = 0; i < 3; i++)
        CHECK_RC(gs_chan_try_send(b, NULL), 0);
    CHECK_RC(gs_chan_try_send(b, NULL), GS_EAGAIN);
    CHECK_EQ(gs_chan_len(b), 3);
    CHECK_RC(gs_chan_recv(b, NULL), 0);
    CHECK_EQ(gs_chan_len(b), 2);
    CHECK_RC(gs_chan_free(b), 0);
    CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    test_close_wakes_everyone();
    printf("close wakes 100 receivers, 100 senders and 4 threads: ok\n");
    test_blocked_senders_then_drain();
    printf("blocked senders get GS_ECLOSED, the buffer drains in order: ok\n");
    test_drain_in_order();
    printf("closed buffered channel drains in order, then GS_ECLOSED: ok\n");
    test_zero_size();
    printf("zero-size elements: ok\n");
    return 0;
}
