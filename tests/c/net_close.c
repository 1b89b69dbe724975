/*
 * gs_close against waiters, and fd-number reuse.
 *
 * 1. One goroutine waits in gs_wait_fd and another in gs_read, each on its own empty
 *    pipe. gs_close of both fds (from the main thread, then again from a goroutine)
 *    wakes both with GS_ECANCELED quickly (the measured latency is printed; the check
 *    allows 500 ms on a busy machine, the expectation is well under 100 ms).
 * 2. An fd with an event pending (a READY notification the poller recorded for it
 *    while nobody waited) is gs_close'd; a new pipe gets the same fd number (checked,
 *    forced with dup2 if needed). gs_wait_fd on it with a 50 ms timeout must time out
 *    (no stale readiness), a 0 timeout must too, and then real data on the new pipe
 *    must wake a waiter (the new fd is armed in the poller).
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#define MS 1000000LL
#define PENDING (-100000) /* rc of a call that has not returned yet */

typedef struct waiter {
    int fd;
    bool use_read;      /* gs_read instead of gs_wait_fd */
    atomic_int rc;      /* PENDING while waiting */
    atomic_llong ret_ns; /* gs_nanotime when the call returned */
} waiter;

static void wait_goroutine(void *arg)
{
    waiter *w = arg;
    long long rc;
    if (w->use_read) {
        char c;
        rc = gs_read(w->fd, &c, 1);
    } else {
        rc = gs_wait_fd(w->fd, GS_POLLIN, -1);
    }
    atomic_store(&w->ret_ns, gs_nanotime());
    atomic_store(&w->rc, (int)rc);
}

/* Waits (foreign thread) until `n` goroutines are parked on fds. */
static void wait_netpoll_waiters(uint64_t n)
{
    int64_t end = mono_ns() + 5000 * MS;
    while (stats_now().netpoll_waiters < n) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("only %llu goroutines parked on fds, want %llu",
                 (unsigned long long)stats_now().netpoll_waiters, (unsigned long long)n);
        }
        sleep_ms(1);
    }
}

static void wait_done(waiter *w, int limit_ms)
{
    int64_t end = mono_ns() + limit_ms * MS;
    while (atomic_load(&w->rc) == PENDING) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("the goroutine waiting on fd %d (%s) did not return within %d ms", w->fd,
                 w->use_read ? "gs_read" : "gs_wait_fd", limit_ms);
        }
        sleep_ms(1);
    }
}

typedef struct closer_arg {
    int fds[2];
    atomic_llong at_ns;
    atomic_bool done;
} closer_arg;

static void closer_goroutine(void *arg)
{
    closer_arg *c = arg;
    atomic_store(&c->at_ns, gs_nanotime());
    CHECK_RC(gs_close(c->fds[0]), 0);
    CHECK_RC(gs_close(c->fds[1]), 0);
    atomic_store(&c->done, true);
}

/* Part 1, once: from_goroutine chooses who calls gs_close. */
static void close_wakes_waiters(bool from_goroutine)
{
    int a[2], b[2];
    CHECK(pipe(a) == 0);
    CHECK(pipe(b) == 0);
    static waiter w1, w2;
    w1 = (waiter){.fd = a[0], .use_read = false};
    w2 = (waiter){.fd = b[0], .use_read = true};
    atomic_store(&w1.rc, PENDING);
    atomic_store(&w2.rc, PENDING);
    CHECK_OK(gs_go(wait_goroutine, &w1));
    CHECK_OK(gs_go(wait_goroutine, &w2));
    wait_netpoll_waiters(2);
    sleep_ms(20); /* let them sit parked (an M may block in epoll) */
    CHECK_EQ(atomic_load(&w1.rc), PENDING);
    CHECK_EQ(atomic_load(&w2.rc), PENDING);

    int64_t t_close;
    if (from_goroutine) {
        static closer_arg c;
        c = (closer_arg){.fds = {a[0], b[0]}};
        CHECK_OK(gs_go(closer_goroutine, &c));
        int64_t end = mono_ns() + 5000 * MS;
        while (!atomic_load(&c.done)) {
            CHECK(mono_ns() < end);
            sleep_ms(1);
        }
        t_close = atomic_load(&c.at_ns);
    } else {
        t_close = gs_nanotime();
        CHECK_RC(gs_close(a[0]), 0);
        CHECK_RC(gs_close(b[0]), 0);
    }
    wait_done(&w1, 2000);
    wait_done(&w2, 2000);
    CHECK_RC(atomic_load(&w1.rc), GS_ECANCELED);
    CHECK_RC(atomic_load(&w2.rc), GS_ECANCELED);
    double l1 = (double)(atomic_load(&w1.ret_ns) - t_close) / 1e6;
    double l2 = (double)(atomic_load(&w2.ret_ns) - t_close) / 1e6;
    printf("gs_close from %s: gs_wait_fd woke after %.3f ms, gs_read after %.3f ms "
           "(expected < 100 ms)\n",
           from_goroutine ? "a goroutine" : "a foreign thread", l1, l2);
    if (l1 > 500 || l2 > 500)
        FAIL("waiters woke %.1f / %.1f ms after gs_close (limit 500 ms)", l1, l2);
    close(a[1]);
    close(b[1]);
}

/* A goroutine parked on an unrelated pipe keeps an M polling, so that events on
 * other fds are harvested (and recorded as READY) while nobody waits for them. */
static int keeper_pipe[2];
static void keeper(void *arg)
{
    (void)arg;
    CHECK_RC(gs_wait_fd(keeper_pipe[0], GS_POLLIN, -1), GS_POLLIN);
}

typedef struct timed_wait {
    int fd;
    int64_t timeout;
    atomic_int rc;
    atomic_llong took_ns;
} timed_wait;

static void timed_wait_goroutine(void *arg)
{
    timed_wait *t = arg;
    int64_t t0 = gs_nanotime();
    int rc = gs_wait_fd(t->fd, GS_POLLIN, t->timeout);
    atomic_store(&t->took_ns, gs_nanotime() - t0);
    atomic_store(&t->rc, rc);
}

static int run_timed_wait(int fd, int64_t timeout, int64_t *took)
{
    static timed_wait t;
    t = (timed_wait){.fd = fd, .timeout = timeout};
    atomic_store(&t.rc, PENDING);
    CHECK_OK(gs_go(timed_wait_goroutine, &t));
    int64_t end = mono_ns() + 5000 * MS;
    while (atomic_load(&t.rc) == PENDING) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("gs_wait_fd(%d, timeout %lld ns) did not return", fd, (long long)timeout);
        }
        sleep_ms(1);
    }
    *took = atomic_load(&t.took_ns);
    return atomic_load(&t.rc);
}

static void reuse_sees_no_stale_event(void)
{
    CHECK(pipe(keeper_pipe) == 0);
    CHECK_OK(gs_go(keeper, NULL));

    int a[2];
    CHECK(pipe(a) == 0);
    int num = a[0];
    int64_t took;
    /* Arm it and consume one notification. */
    CHECK(write(a[1], "x", 1) == 1);
    CHECK_RC(run_timed_wait(num, 1000 * MS, &took), GS_POLLIN);
    /* More data while nobody waits: the poller records READY for the old fd (the
     * keeper makes an M poll). Sanity check that it does (a 0 timeout consumes the
     * notification), then make it record one again and leave it pending. */
    wait_netpoll_waiters(1); /* the keeper */
    CHECK(write(a[1], "y", 1) == 1);
    int seen = GS_ETIMEDOUT;
    for (int i = 0; i < 200 && seen == GS_ETIMEDOUT; i++) { /* up to 2 s on a busy machine */
        sleep_ms(10);
        seen = run_timed_wait(num, 0, &took);
    }
    CHECK_RC(seen, GS_POLLIN);
    CHECK(write(a[1], "z", 1) == 1);
    sleep_ms(30);
    CHECK_RC(gs_close(num), 0);

    /* A new pipe with the same read-end number, empty. */
    int b[2];
    CHECK(pipe(b) == 0);
    bool forced = false;
    if (b[0] != num) {
        CHECK(dup2(b[0], num) == num);
        close(b[0]);
        b[0] = num;
        forced = true;
    }
    int rc = run_timed_wait(num, 50 * MS, &took);
    printf("fd %d reused (%s): gs_wait_fd(50 ms) -> %d (%s) after %.1f ms\n", num,
           forced ? "forced with dup2" : "pipe() gave the same number", rc,
           rc < 0 ? gs_strerror(rc) : "ready", (double)took / 1e6);
    if (rc != GS_ETIMEDOUT)
        FAIL("a new fd with a closed fd's number saw a stale event: %d (%s)", rc,
             rc < 0 ? gs_strerror(rc) : "ready");
    if (took < 45 * MS)
        FAIL("gs_wait_fd(50 ms) timed out after only %.1f ms", (double)took / 1e6);
    CHECK_RC(run_timed_wait(num, 0, &took), GS_ETIMEDOUT);

    /* The new fd works: data on it wakes a waiter. */
    CHECK(write(b[1], "n", 1) == 1);
    CHECK_RC(run_timed_wait(num, 2000 * MS, &took), GS_POLLIN);
    char c;
    CHECK_RC(gs_read(num, &c, 1), 1);
    CHECK_EQ(c, 'n');

    CHECK_RC(gs_close(num), 0);
    close(a[1]);
    close(b[1]);
    CHECK(write(keeper_pipe[1], "k", 1) == 1);
}

int main(void)
{
    CHECK_RC(gs_init(NULL), 0);
    close_wakes_waiters(false);
    close_wakes_waiters(true);
    reuse_sees_no_stale_event();
    WAIT_ALL();
    CHECK_EQ(stats_now().netpoll_waiters, 0);
    close(keeper_pipe[0]);
    close(keeper_pipe[1]);
    printf("net_close: ok\n");
    return 0;
}
