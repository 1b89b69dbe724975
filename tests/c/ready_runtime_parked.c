/*
 * gs_ready only wakes goroutines parked through gs_park: one that the runtime parked
 * itself (in gs_sleep, a channel receive, a mutex, a wait group) gives GS_EINVAL and
 * stays blocked until its own wakeup comes: the sleeper sleeps its full time, the
 * others return only once the channel, mutex or wait group lets them.
 */
#include "common.h"

#define SLEEP_NS (400LL * 1000 * 1000)

enum { SLEEPER, RECEIVER, LOCKER, WAITER, KINDS };
static const char *const kind_name[KINDS] = {"gs_sleep", "gs_chan_recv", "gs_mutex_lock",
                                             "gs_waitgroup_wait"};

static _Atomic(gs_g *) handle[KINDS];
static atomic_bool returned[KINDS];
static int64_t slept_ns;
static gs_chan *chan;
static gs_mutex *mutex;
static gs_waitgroup *wg;

static void blocked(void *arg)
{
    int kind = (int)(intptr_t)arg;
    atomic_store(&handle[kind], gs_self());
    int64_t t0 = gs_nanotime();
    int value = 0;
    switch (kind) {
    case SLEEPER:
        CHECK_RC(gs_sleep(SLEEP_NS), 0);
        slept_ns = gs_nanotime() - t0;
        break;
    case RECEIVER:
        CHECK_RC(gs_chan_recv(chan, &value), 0);
        CHECK_EQ(value, 42);
        break;
    case LOCKER:
        CHECK_RC(gs_mutex_lock(mutex), 0);
        CHECK_RC(gs_mutex_unlock(mutex), 0);
        break;
    case WAITER:
        CHECK_RC(gs_waitgroup_wait(wg), 0);
        break;
    }
    atomic_store(&returned[kind], true);
}

int main(void)
{
    init_procs(2);
    chan = gs_chan_new(sizeof(int), 0);
    mutex = gs_mutex_new();
    wg = gs_waitgroup_new();
    CHECK(chan != NULL && mutex != NULL && wg != NULL);
    CHECK_RC(gs_mutex_lock(mutex), 0);
    CHECK_RC(gs_waitgroup_add(wg, 1), 0);

    for (int k = 0; k < KINDS; k++)
        CHECK_OK(gs_go(blocked, (void *)(intptr_t)k));
    WAIT_PARKED(KINDS, 10000);
    for (int k = 0; k < KINDS; k++) {
        gs_g *h = atomic_load(&handle[k]);
        CHECK(h != NULL);
        int rc = gs_ready(h);
        if (rc != GS_EINVAL)
            FAIL("gs_ready of a goroutine blocked in %s returned %d (%s), want GS_EINVAL",
                 kind_name[k], rc, gs_strerror(rc));
    }
    sleep_ms(50);
    for (int k = 0; k < KINDS; k++) {
        if (atomic_load(&returned[k]))
            FAIL("a goroutine blocked in %s returned after a refused gs_ready", kind_name[k]);
    }
    CHECK_EQ(stats_now().waiting, KINDS);

    int value = 42;
    CHECK_RC(gs_chan_send(chan, &value), 0);
    CHECK_RC(gs_mutex_unlock(mutex), 0);
    CHECK_RC(gs_waitgroup_done(wg), 0);
    WAIT_ALL();
    for (int k = 0; k < KINDS; k++)
        CHECK(atomic_load(&returned[k]));
    printf("the sleeper slept %.0f ms of %lld\n", slept_ns / 1e6, SLEEP_NS / 1000000);
    CHECK(slept_ns >= SLEEP_NS - 5LL * 1000 * 1000);

    CHECK_RC(gs_chan_free(chan), 0);
    CHECK_RC(gs_mutex_free(mutex), 0);
    CHECK_RC(gs_waitgroup_free(wg), 0);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
