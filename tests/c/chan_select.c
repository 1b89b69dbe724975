/*
 * gs_select (Go's select):
 *
 * 1. Fairness (Go's TestSelectFairness): two always-ready channels, 100,000 selects;
 *    each side is chosen within 10 sigma of half. A third case on a NULL channel and a
 *    fourth on an empty one are never chosen. Three always-ready channels selected by
 *    a goroutine (its M's random numbers): each within 10 sigma of a third.
 * 2. Sends and receives mixed in one select; the chosen case's result is 0; a receive
 *    on a closed channel fires with GS_ECLOSED and a zeroed buffer, a send on a closed
 *    channel with GS_ECLOSED.
 * 3. NULL channels: never chosen (even with a garbage op); only NULL cases and a
 *    timeout of 0 give GS_EAGAIN, of 20 ms GS_ETIMEDOUT after >= 20 ms.
 * 4. A blocked select (receive A, receive B, send C) woken by a goroutine sending on
 *    B, and by a foreign thread; afterwards its waiters are gone from A and C (a
 *    try_send on A and a try_recv on C find nobody). A select blocked in a foreign
 *    thread, woken by a goroutine.
 * 5. Poll (timeout 0: GS_EAGAIN) and timeouts (GS_ETIMEDOUT after >= 20 ms) from a
 *    goroutine and from a foreign thread; a select woken just before its timeout
 *    returns the case.
 * 6. Lock order: goroutine pairs selecting {send A, recv B} against {send B, recv A}
 *    on the same channels, 100,000 rounds, never deadlock, and every value sent is
 *    received exactly once.
 * 7. Bad arguments: a bad op, a NULL elem with a non-zero elem_size, cases == NULL
 *    with n > 0 give GS_EINVAL.
 */
#include "common.h"
#include <math.h>

#define MS 1000000LL

/* ---------------------------------------------------------------- 1. fairness */
#define TRIALS 100000

static void test_fairness(void)
{
    gs_chan *c1 = gs_chan_new(1, TRIALS), *c2 = gs_chan_new(1, TRIALS), *never = gs_chan_new(1, 0);
    CHECK(c1 && c2 && never);
    for (int i = 0; i < TRIALS; i++) {
        char b = 1;
        CHECK_RC(gs_chan_try_send(c1, &b), 0);
        b = 2;
        CHECK_RC(gs_chan_try_send(c2, &b), 0);
    }
    char v1 = 0, v2 = 0, v3 = 0, v4 = 0;
    gs_select_case cs[4] = {
        {c1, GS_RECV, &v1, 99},
        {NULL, GS_RECV, &v3, 99},
        {c2, GS_RECV, &v2, 99},
        {never, GS_RECV, &v4, 99},
    };
    int n1 = 0, n2 = 0;
    for (int i = 0; i < TRIALS; i++) {
        int r = gs_select(cs, 4, 0);
        if (r == 0) {
            CHECK_EQ(v1, 1);
            CHECK_EQ(cs[0].result, 0);
            n1++;
        } else if (r == 2) {
            CHECK_EQ(v2, 2);
            CHECK_EQ(cs[2].result, 0);
            n2++;
        } else {
            FAIL("select chose %d (%s)", r, r < 0 ? gs_strerror(r) : "a never-ready case");
        }
    }
    double sigma = sqrt(TRIALS * 0.25);
    printf("fairness: %d / %d (10 sigma = %.0f)\n", n1, n2, 10 * sigma);
    CHECK(fabs(n1 - TRIALS / 2.0) < 10 * sigma);
    CHECK(fabs(n2 - TRIALS / 2.0) < 10 * sigma);
    CHECK_EQ(cs[1].result, 99);
    CHECK_EQ(cs[3].result, 99);
    CHECK_RC(gs_chan_free(c1), 0);
    CHECK_RC(gs_chan_free(c2), 0);
    CHECK_RC(gs_chan_free(never), 0);
}

/* Three ready cases, selected by a goroutine (the poll order then comes from its M's
 * random numbers): each fires about a third of the time. */
static void fairness3_goroutine(void *arg)
{
    (void)arg;
    enum { N = 60000 };
    gs_chan *c[3];
    for (int k = 0; k < 3; k++) {
        c[k] = gs_chan_new(1, 1);
        CHECK(c[k]);
        char b = (char)k;
        CHECK_RC(gs_chan_try_send(c[k], &b), 0);
    }
    char v[3] = {0, 0, 0};
    gs_select_case cs[3] = {
        {c[0], GS_RECV, &v[0], 0},
        {c[1], GS_RECV, &v[1], 0},
        {c[2], GS_RECV, &v[2], 0},
    };
    int n[3] = {0, 0, 0};
    for (int i = 0; i < N; i++) {
        int r = gs_select(cs, 3, 0);
        CHECK(r >= 0 && r < 3);
        CHECK_EQ(v[r], (char)r);
        n[r]++;
        char b = (char)r;
        CHECK_RC(gs_chan_try_send(c[r], &b), 0); /* ready again */
    }
    double sigma = sqrt(N * (1.0 / 3) * (2.0 / 3));
    printf("fairness among three: %d / %d / %d (10 sigma = %.0f)\n", n[0], n[1], n[2], 10 * sigma);
    for (int k = 0; k < 3; k++) {
        CHECK(fabs(n[k] - N / 3.0) < 10 * sigma);
        char b;
        CHECK_RC(gs_chan_try_recv(c[k], &b), 0);
        CHECK_RC(gs_chan_free(c[k]), 0);
    }
}

/* ---------------------------------------------------------- 2. mixed and closed */
static void test_mixed_and_closed(void)
{
    gs_chan *out = gs_chan_new(sizeof(int), 1), *in = gs_chan_new(sizeof(int), 1);
    CHECK(out && in);
    int sendv = 7, recvv = -1;
    gs_select_case cs[2] = {{out, GS_SEND, &sendv, 99}, {in, GS_RECV, &recvv, 99}};
    /* Only the send is ready. */
    CHECK_RC(gs_select(cs, 2, 0), 0);
    CHECK_EQ(cs[0].result, 0);
    int got = 0;
    CHECK_RC(gs_chan_try_recv(out, &got), 0);
    CHECK_EQ(got, 7);
    /* Fill out so the send blocks; make the receive ready. */
    CHECK_RC(gs_chan_try_send(out, &got), 0);
    int x = 11;
    CHECK_RC(gs_chan_try_send(in, &x), 0);
    CHECK_RC(gs_select(cs, 2, -1), 1);
    CHECK_EQ(cs[1].result, 0);
    CHECK_EQ(recvv, 11);
    /* Neither ready. */
    CHECK_RC(gs_select(cs, 2, 0), GS_EAGAIN);
    /* Closed receive: GS_ECLOSED and zeroed. */
    CHECK_RC(gs_chan_close(in), 0);
    recvv = 1234;
    cs[1].result = 99;
    CHECK_RC(gs_select(cs, 2, -1), 1);
    CHECK_EQ(cs[1].result, GS_ECLOSED);
    CHECK_EQ(recvv, 0);
    /* Closed send: GS_ECLOSED. */
    gs_chan *z = gs_chan_new(sizeof(int), 0);
    CHECK(z);
    CHECK_RC(gs_chan_close(z), 0);
    gs_select_case s1[1] = {{z, GS_SEND, &sendv, 99}};
    CHECK_RC(gs_select(s1, 1, -1), 0);
    CHECK_EQ(s1[0].result, GS_ECLOSED);
    CHECK_RC(gs_chan_free(out), 0);
    CHECK_RC(gs_chan_free(in), 0);
    CHECK_RC(gs_chan_free(z), 0);
}

/* ------------------------------------------------------------- 3. NULL channels */
static void test_null_channels(void)
{
    int v = 0;
    gs_select_case cs[2] = {{NULL, GS_RECV, &v, 99}, {NULL, 12345, NULL, 99}};
    CHECK_RC(gs_select(cs, 2, 0), GS_EAGAIN);
    CHECK_RC(gs_select(NULL, 0, 0), GS_EAGAIN);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_select(cs, 2, 20 * MS), GS_ETIMEDOUT);
    CHECK(mono_ns() - t0 >= 20 * MS);
    /* A ready channel next to NULL ones. */
    gs_chan *c = gs_chan_new(sizeof(int), 1);
    CHECK(c);
    int one = 1;
    CHECK_RC(gs_chan_try_send(c, &one), 0);
    gs_select_case cs3[3] = {{NULL, GS_SEND, &v, 99}, {c, GS_RECV, &v, 99}, {NULL, GS_RECV, &v, 99}};
    CHECK_RC(gs_select(cs3, 3, -1), 1);
    CHECK_EQ(v, 1);
    CHECK_EQ(cs3[0].result, 99);
    CHECK_RC(gs_chan_free(c), 0);
}

static void null_channels_goroutine(void *arg)
{
    (void)arg;
    test_null_channels();
}

/* ------------------------------------------------------ 4. blocked select woken */
static gs_chan *A, *B, *C;
static atomic_int select_state; /* 1: about to block */

static void blocked_selector(void *arg)
{
    int expect = (int)(uintptr_t)arg;
    int a = -1, b = -1, c = 5;
    gs_select_case cs[3] = {{A, GS_RECV, &a, 99}, {B, GS_RECV, &b, 99}, {C, GS_SEND, &c, 99}};
    atomic_store(&select_state, 1);
    CHECK_RC(gs_select(cs, 3, -1), 1);
    CHECK_EQ(cs[1].result, 0);
    CHECK_EQ(b, expect);
    CHECK_EQ(a, -1);
    CHECK_EQ(cs[0].result, 99);
    CHECK_EQ(cs[2].result, 99);
}

static void b_sender(void *arg)
{
    int v = (int)(uintptr_t)arg;
    CHECK_RC(gs_chan_send(B, &v), 0);
}

static void check_no_waiters_left(void)
{
    int v = 3;
    CHECK_RC(gs_chan_try_send(A, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(C, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_send(B, &v), GS_EAGAIN);
}

static void *foreign_selector(void *arg)
{
    blocked_selector(arg);
    return NULL;
}

static void test_blocked_select(void)
{
    init_procs(2);
    A = gs_chan_new(sizeof(int), 0);
    B = gs_chan_new(sizeof(int), 0);
    C = gs_chan_new(sizeof(int), 0);
    CHECK(A && B && C);
    /* Woken by a goroutine. */
    atomic_store(&select_state, 0);
    CHECK(gs_go(blocked_selector, (void *)(uintptr_t)41) > 0);
    WAIT_PARKED(1, 10000);
    CHECK(gs_go(b_sender, (void *)(uintptr_t)41) > 0);
    WAIT_ALL();
    check_no_waiters_left();
    /* Woken by a foreign thread (this one). */
    CHECK(gs_go(blocked_selector, (void *)(uintptr_t)42) > 0);
    WAIT_PARKED(1, 10000);
    int v = 42;
    CHECK_RC(gs_chan_send(B, &v), 0);
    WAIT_ALL();
    check_no_waiters_left();
    /* A foreign thread's select woken by a goroutine. */
    atomic_store(&select_state, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, foreign_selector, (void *)(uintptr_t)43) == 0);
    while (atomic_load(&select_state) == 0)
        sleep_ms(1);
    sleep_ms(20);
    CHECK_RC(gs_chan_free(A), GS_EBUSY); /* it waits on A too */
    CHECK(gs_go(b_sender, (void *)(uintptr_t)43) > 0);
    CHECK(pthread_join(th, NULL) == 0);
    WAIT_ALL();
    check_no_waiters_left();
    /* A foreign thread's select woken by another foreign thread. */
    atomic_store(&select_state, 0);
    CHECK(pthread_create(&th, NULL, foreign_selector, (void *)(uintptr_t)44) == 0);
    while (atomic_load(&select_state) == 0)
        sleep_ms(1);
    v = 44;
    CHECK_RC(gs_chan_send(B, &v), 0);
    CHECK(pthread_join(th, NULL) == 0);
    check_no_waiters_left();
    CHECK_RC(gs_chan_free(A), 0);
    CHECK_RC(gs_chan_free(B), 0);
    CHECK_RC(gs_chan_free(C), 0);
    CHECK(gs_shutdown() >= 0);
}

/* -------------------------------------------------------------- 5. timeouts */
static gs_chan *T;

static void check_timeouts(gs_chan *T)
{
    int v = 0;
    gs_select_case cs[2] = {{T, GS_RECV, &v, 99}, {T, GS_SEND, &v, 99}};
    CHECK_RC(gs_select(cs, 2, 0), GS_EAGAIN);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_select(cs, 2, 20 * MS), GS_ETIMEDOUT);
    int64_t dt = mono_ns() - t0;
    CHECK(dt >= 20 * MS);
    CHECK(dt < 5000 * MS);
    CHECK_EQ(cs[0].result, 99);
    /* Nothing left behind on T. */
    CHECK_RC(gs_chan_try_send(T, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(T, &v), GS_EAGAIN);
}

static void timeouts_goroutine(void *arg)
{
    check_timeouts((gs_chan *)arg);
}

static void late_sender(void *arg)
{
    (void)arg;
    gs_sleep(5 * MS);
    int v = 77;
    CHECK_RC(gs_chan_send(T, &v), 0);
}

static void woken_before_timeout(void *arg)
{
    (void)arg;
    int v = 0;
    gs_select_case cs[1] = {{T, GS_RECV, &v, 99}};
    CHECK_RC(gs_select(cs, 1, 10000 * MS), 0);
    CHECK_EQ(v, 77);
    CHECK_EQ(cs[0].result, 0);
}

static void test_timeouts(void)
{
    init_procs(2);
    T = gs_chan_new(sizeof(int), 0);
    CHECK(T);
    gs_chan *T2 = gs_chan_new(sizeof(int), 0);
    CHECK(T2);
    /* Each on its own channel: two selects on one channel would match each other. */
    CHECK(gs_go(timeouts_goroutine, T2) > 0);
    CHECK(gs_go(null_channels_goroutine, NULL) > 0);
    check_timeouts(T); /* and from this foreign thread */
    WAIT_ALL();
    CHECK_RC(gs_chan_free(T2), 0);
    CHECK(gs_go(woken_before_timeout, NULL) > 0);
    CHECK(gs_go(late_sender, NULL) > 0);
    WAIT_ALL();
    /* INT64_MAX saturates: the select waits for the sender. */
    CHECK(gs_go(late_sender, NULL) > 0);
    int v = 0;
    gs_select_case cs[1] = {{T, GS_RECV, &v, 99}};
    CHECK_RC(gs_select(cs, 1, INT64_MAX), 0);
    CHECK_EQ(v, 77);
    WAIT_ALL();
    CHECK_RC(gs_chan_free(T), 0);
    CHECK(gs_shutdown() >= 0);
}

/* -------------------------------------------------------------- 6. lock order */
#define ROUNDS 100000
#define PAIRS 4
static gs_chan *X, *Y;
static atomic_long sent_x, sent_y, got_x, got_y;

/* Each side alternately offers its own value and takes the other's. */
static void crosser(void *arg)
{
    int side = (int)(uintptr_t)arg & 1;
    gs_chan *mine = side ? X : Y, *theirs = side ? Y : X;
    long sent = 0, got = 0;
    int out = side ? 1 : 2, in = 0;
    while (sent + got < ROUNDS / PAIRS) {
        /* The two sides list their cases in opposite orders. */
        int si = side, ri = 1 - side;
        gs_select_case cs[2];
        cs[si] = (gs_select_case){mine, GS_SEND, &out, 99};
        cs[ri] = (gs_select_case){theirs, GS_RECV, &in, 99};
        int r = gs_select(cs, 2, -1);
        if (r == si) {
            CHECK_EQ(cs[si].result, 0);
            sent++;
        } else {
            CHECK_RC(r, ri);
            CHECK_EQ(cs[ri].result, 0);
            CHECK_EQ(in, side ? 2 : 1);
            got++;
        }
    }
    atomic_fetch_add(side ? &sent_x : &sent_y, sent);
    atomic_fetch_add(side ? &got_y : &got_x, got);
}

/* Drains leftovers after the crossers stopped, so nobody stays blocked. */
static void test_lock_order(void)
{
    init_procs(4);
    X = gs_chan_new(sizeof(int), 0);
    Y = gs_chan_new(sizeof(int), 0);
    CHECK(X && Y);
    atomic_store(&sent_x, 0);
    atomic_store(&sent_y, 0);
    atomic_store(&got_x, 0);
    atomic_store(&got_y, 0);
    for (int i = 0; i < 2 * PAIRS; i++)
        CHECK(gs_go(crosser, (void *)(uintptr_t)i) > 0);
    /* The crossers may end with one of them blocked: feed both sides until done. */
    int64_t deadline = mono_ns() + 60000 * MS;
    while (gs_wait(10 * MS) == GS_ETIMEDOUT) {
        CHECK(mono_ns() < deadline);
        int v;
        if (gs_chan_try_recv(X, &v) == 0)
            atomic_fetch_add(&got_x, 1);
        if (gs_chan_try_recv(Y, &v) == 0)
            atomic_fetch_add(&got_y, 1);
        v = 1;
        if (gs_chan_try_send(X, &v) == 0)
            atomic_fetch_add(&sent_x, 1);
        v = 2;
        if (gs_chan_try_send(Y, &v) == 0)
            atomic_fetch_add(&sent_y, 1);
    }
    printf("lock order: x %ld/%ld y %ld/%ld\n", (long)sent_x, (long)got_x, (long)sent_y, (long)got_y);
    CHECK_EQ(atomic_load(&sent_x), atomic_load(&got_x));
    CHECK_EQ(atomic_load(&sent_y), atomic_load(&got_y));
    CHECK(atomic_load(&sent_x) + atomic_load(&sent_y) >= ROUNDS / 2);
    CHECK_RC(gs_chan_free(X), 0);
    CHECK_RC(gs_chan_free(Y), 0);
    CHECK(gs_shutdown() >= 0);
}

/* ------------------------------------------------------------- 7. bad arguments */
static void test_bad_arguments(void)
{
    gs_chan *c = gs_chan_new(sizeof(int), 1);
    CHECK(c);
    int v = 0;
    gs_select_case bad_op[2] = {{c, GS_RECV, &v, 99}, {c, 3, &v, 99}};
    CHECK_RC(gs_select(bad_op, 2, 0), GS_EINVAL);
    bad_op[1].op = 0;
    CHECK_RC(gs_select(bad_op, 2, -1), GS_EINVAL);
    gs_select_case null_elem[1] = {{c, GS_SEND, NULL, 99}};
    CHECK_RC(gs_select(null_elem, 1, 0), GS_EINVAL);
    CHECK_RC(gs_select(NULL, 1, 0), GS_EINVAL);
    CHECK_EQ(gs_chan_len(c), 0);
    CHECK_RC(gs_chan_free(c), 0);
}

int main(void)
{
    test_fairness();
    test_mixed_and_closed();
    test_null_channels();
    test_bad_arguments();
    printf("fairness, mixed ops, closed, NULL channels, bad arguments: ok\n");
    init_procs(1);
    CHECK(gs_go(fairness3_goroutine, NULL) > 0);
    WAIT_ALL();
    CHECK(gs_shutdown() >= 0);
    test_blocked_select();
    printf("blocked select woken by goroutines and threads: ok\n");
    test_timeouts();
    printf("poll and timeouts: ok\n");
    test_lock_order();
    printf("lock order under crossing selects: ok\n");
    return 0;
}
