/*
 * gs_chan_send_timeout / gs_chan_recv_timeout, from goroutines and foreign threads:
 *
 * 1. On an unbuffered channel with no partner, both give GS_ETIMEDOUT after at least
 *    the timeout (and well before 5 s); nothing is left behind (a try_ partner finds
 *    nobody). Timeout 0 polls and reports GS_ETIMEDOUT like any expired timeout;
 *    INT64_MAX saturates and waits for a partner that comes 20 ms later.
 * 2. Timeouts racing with partners: 8 receiver goroutines (and 1 foreign thread)
 *    loop on recv_timeout with 0-200 us timeouts while 4 sender goroutines (and 1
 *    foreign thread) loop on send_timeout with 0-200 us timeouts, 20,000 values in
 *    all. A value is never lost or duplicated: the number of sends that returned 0
 *    equals the number of receives that returned 0, and every value received was
 *    sent successfully exactly once.
 */
#include "common.h"

#define MS 1000000LL
#define US 1000LL

static gs_chan *c;

static void check_timeouts_alone(void)
{
    int v = 3;
    int64_t t0 = mono_ns();
    CHECK_RC(gs_chan_recv_timeout(c, &v, 20 * MS), GS_ETIMEDOUT);
    int64_t t1 = mono_ns();
    CHECK_RC(gs_chan_send_timeout(c, &v, 20 * MS), GS_ETIMEDOUT);
    int64_t t2 = mono_ns();
    CHECK(t1 - t0 >= 20 * MS && t1 - t0 < 5000 * MS);
    CHECK(t2 - t1 >= 20 * MS && t2 - t1 < 5000 * MS);
    CHECK_RC(gs_chan_recv_timeout(c, &v, 0), GS_ETIMEDOUT);
    CHECK_RC(gs_chan_send_timeout(c, &v, 0), GS_ETIMEDOUT);
}

static void alone_goroutine(void *arg)
{
    (void)arg;
    check_timeouts_alone();
}

static void late_send(void *arg)
{
    (void)arg;
    gs_sleep(20 * MS);
    int v = 77;
    CHECK_RC(gs_chan_send(c, &v), 0);
}

static void late_recv(void *arg)
{
    (void)arg;
    gs_sleep(20 * MS);
    int v = 0;
    CHECK_RC(gs_chan_recv(c, &v), 0);
    CHECK_EQ(v, 88);
}

static void saturating_goroutine(void *arg)
{
    (void)arg;
    int v = 0;
    CHECK(gs_go(late_send, NULL) > 0);
    CHECK_RC(gs_chan_recv_timeout(c, &v, INT64_MAX), 0);
    CHECK_EQ(v, 77);
    v = 88;
    CHECK(gs_go(late_recv, NULL) > 0);
    CHECK_RC(gs_chan_send_timeout(c, &v, INT64_MAX), 0);
}

static void test_alone(void)
{
    init_procs(2);
    c = gs_chan_new(sizeof(int), 0);
    CHECK(c);
    CHECK(gs_go(alone_goroutine, NULL) > 0);
    WAIT_ALL();
    check_timeouts_alone();
    int v;
    CHECK_RC(gs_chan_try_send(c, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(c, &v), GS_EAGAIN);
    CHECK(gs_go(saturating_goroutine, NULL) > 0);
    WAIT_ALL();
    /* A foreign thread with INT64_MAX. */
    CHECK(gs_go(late_send, NULL) > 0);
    CHECK_RC(gs_chan_recv_timeout(c, &v, INT64_MAX), 0);
    CHECK_EQ(v, 77);
    WAIT_ALL();
    CHECK_RC(gs_chan_free(c), 0);
    CHECK(gs_shutdown() >= 0);
}

/* ------------------------------------------------------------------- 2. races */
#define VALUES 20000
#define SENDERS 4
#define RECEIVERS 8

static atomic_uchar sent_ok[VALUES], recv_ok[VALUES];
static atomic_long nsent, nrecv, next_value;
static atomic_int senders_left;

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void send_loop(uint32_t seed)
{
    for (;;) {
        long i = atomic_fetch_add(&next_value, 1);
        if (i >= VALUES)
            break;
        int v = (int)i;
        for (;;) {
            int rc = gs_chan_send_timeout(c, &v, (int64_t)(rnd(&seed) % 200) * US);
            if (rc == 0) {
                atomic_fetch_add(&sent_ok[i], 1);
                atomic_fetch_add(&nsent, 1);
                break;
            }
            CHECK_RC(rc, GS_ETIMEDOUT);
        }
    }
    atomic_fetch_sub(&senders_left, 1);
}

static void recv_loop(uint32_t seed)
{
    for (;;) {
        int v = -1;
        int rc = gs_chan_recv_timeout(c, &v, (int64_t)(rnd(&seed) % 200) * US);
        if (rc == 0) {
            CHECK(v >= 0 && v < VALUES);
            atomic_fetch_add(&recv_ok[v], 1);
            atomic_fetch_add(&nrecv, 1);
            continue;
        }
        CHECK_RC(rc, GS_ETIMEDOUT);
        if (atomic_load(&senders_left) == 0 && atomic_load(&nrecv) == atomic_load(&nsent))
            break;
    }
}

static void g_sender(void *arg)
{
    send_loop((uint32_t)(uintptr_t)arg * 2654435761u + 1);
}

static void g_receiver(void *arg)
{
    recv_loop((uint32_t)(uintptr_t)arg * 2246822519u + 7);
}

static void *t_sender(void *arg)
{
    send_loop((uint32_t)(uintptr_t)arg + 99);
    return NULL;
}

static void *t_receiver(void *arg)
{
    recv_loop((uint32_t)(uintptr_t)arg + 12345);
    return NULL;
}

static void test_races(void)
{
    init_procs(2);
    c = gs_chan_new(sizeof(int), 0);
    CHECK(c);
    atomic_store(&senders_left, SENDERS + 1);
    for (int i = 0; i < RECEIVERS; i++)
        CHECK(gs_go(g_receiver, (void *)(uintptr_t)(i + 1)) > 0);
    for (int i = 0; i < SENDERS; i++)
        CHECK(gs_go(g_sender, (void *)(uintptr_t)(i + 1)) > 0);
    pthread_t ts, tr;
    CHECK(pthread_create(&ts, NULL, t_sender, (void *)1) == 0);
    CHECK(pthread_create(&tr, NULL, t_receiver, (void *)2) == 0);
    CHECK(pthread_join(ts, NULL) == 0);
    CHECK(pthread_join(tr, NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&nsent), VALUES);
    CHECK_EQ(atomic_load(&nrecv), VALUES);
    for (int i = 0; i < VALUES; i++) {
        if (sent_ok[i] != 1 || recv_ok[i] != 1)
            FAIL("value %d: sent %d times, received %d times", i, (int)sent_ok[i], (int)recv_ok[i]);
    }
    int v;
    CHECK_RC(gs_chan_try_send(c, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(c, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_free(c), 0);
    CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    test_alone();
    printf("timeouts alone, poll, INT64_MAX: ok\n");
    test_races();
    printf("20,000 values through racing timeouts, none lost: ok\n");
    return 0;
}
