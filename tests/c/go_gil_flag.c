/*
 * GS_GO_GIL at 2 Ps: goroutines so marked all run and finish (a ping-pong pair, a
 * ring of gs_gosched loops, none starves); a marked goroutine readied by a marked
 * one runs on the readier's thread (no second thread is woken for it); and when the
 * readier keeps its P in a call that blocks its OS thread (no gs_entersyscall),
 * the readied goroutine is stolen by the other P within a bound instead of waiting
 * for the call. gs_go_with rejects unknown flags with GS_EINVAL.
 */
#include "common.h"

#define ROUNDS 10000
#define RING 8
#define RING_YIELDS 2000

static gs_go_opts marked = {0, "marked", GS_GO_GIL};
static struct gs_chan *ping, *pong;
static atomic_int thread_changes;
static atomic_int ring_done;
static _Atomic int64_t b_ran_at;

/* Busy for `us` microseconds on this thread (work done while holding the lock). */
static void busy_us(int us)
{
    int64_t end = mono_ns() + (int64_t)us * 1000;
    while (mono_ns() < end) {
    }
}

static void pinger(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_RC(gs_chan_send(ping, &i), 0);
        busy_us(5); /* the readier goes on a little: time for a woken P to steal */
        int v = -1;
        CHECK_RC(gs_chan_recv(pong, &v), 0);
        CHECK_EQ(v, i);
    }
}

static void ponger(void *arg)
{
    (void)arg;
    pid_t last = os_tid();
    for (int i = 0; i < ROUNDS; i++) {
        int v = -1;
        CHECK_RC(gs_chan_recv(ping, &v), 0);
        CHECK_EQ(v, i);
        pid_t t = os_tid();
        if (t != last)
            atomic_fetch_add(&thread_changes, 1);
        last = t;
        CHECK_RC(gs_chan_send(pong, &v), 0);
        busy_us(5);
    }
}

static void ring_member(void *arg)
{
    (void)arg;
    for (int i = 0; i < RING_YIELDS; i++)
        CHECK_RC(gs_gosched(), 0);
    atomic_fetch_add(&ring_done, 1);
}

static void readied(void *arg)
{
    (void)arg;
    atomic_store(&b_ran_at, mono_ns());
}

/* Runs 30 ms (until the Ms that were woken for it gave up spinning), starts a marked
 * goroutine (it goes to this P's run-next slot, no P is woken), then blocks this OS
 * thread for 300 ms while holding the P. */
static void sleeper(void *arg)
{
    int64_t *started = arg;
    busy_us(30000);
    CHECK(gs_go_with(readied, NULL, &marked) > 0);
    *started = mono_ns();
    sleep_ms(300);
}

int main(void)
{
    init_procs(2);

    gs_go_opts bad = {0, NULL, 0x4};
    CHECK_RC((int)gs_go_with(readied, NULL, &bad), GS_EINVAL);

    /* 1. A marked ping-pong: every round trip completes, on one thread mostly. */
    ping = gs_chan_new(sizeof(int), 0);
    pong = gs_chan_new(sizeof(int), 0);
    CHECK(ping != NULL && pong != NULL);
    CHECK(gs_go_with(pinger, NULL, &marked) > 0);
    CHECK(gs_go_with(ponger, NULL, &marked) > 0);
    WAIT_ALL();
    int changes = atomic_load(&thread_changes);
    printf("ping-pong: %d round trips, the receiver changed threads %d times\n", ROUNDS, changes);
    /* Unmarked, the receiver is stolen by the second P's thread again and again. A
     * few changes remain legitimate: sysmon moves a readied goroutine whose readier's
     * thread was descheduled for a whole round. */
    if (changes > ROUNDS / 4)
        FAIL("marked ping-pong changed threads %d times in %d rounds", changes, ROUNDS);
    CHECK_RC(gs_chan_free(ping), 0);
    CHECK_RC(gs_chan_free(pong), 0);

    /* 2. A ring of marked goroutines yielding: all finish, none starves. */
    for (int i = 0; i < RING; i++)
        CHECK(gs_go_with(ring_member, NULL, &marked) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&ring_done), RING);

    /* 3. The readier blocks its thread holding its P: the readied goroutine is
     * stolen by the other P long before the call ends. Repeated, as the first
     * time may find sysmon in a deep sleep. */
    for (int rep = 0; rep < 3; rep++) {
        int64_t started = 0;
        atomic_store(&b_ran_at, 0);
        CHECK(gs_go_with(sleeper, &started, &marked) > 0);
        WAIT_ALL();
        int64_t ran = atomic_load(&b_ran_at);
        CHECK(ran != 0 && started != 0);
        int64_t late_ms = (ran - started) / 1000000;
        printf("blocked readier: the readied goroutine ran %lld ms after the block began\n",
               (long long)late_ms);
        if (late_ms >= 150)
            FAIL("the readied goroutine waited %lld ms for a blocked readier", (long long)late_ms);
    }

    CHECK_RC(gs_shutdown(), 0);
    printf("ok\n");
    return 0;
}
