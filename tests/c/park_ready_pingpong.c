/*
 * Two goroutines hand a turn back and forth 1,000,000 times at nprocs 2 with gs_park /
 * gs_ready, using the pattern gs_park exists for: "check the condition, record
 * yourself as the waiter, release the lock, sleep", where the lock is released by the
 * unlockf callback after the goroutine is marked waiting. A lost wakeup hangs the
 * test (gs_wait times out); every gs_ready of a recorded waiter must succeed, and
 * every gs_park must return 0.
 */
#include "common.h"

#define ROUND_TRIPS 1000000

/* A spinlock: it is taken on a goroutine and released on its M's scheduler stack
 * (in unlockf), which a pthread mutex would also allow, but a spinlock has no owner. */
typedef struct spinlock {
    atomic_flag f;
} spinlock;

static void spin_lock(spinlock *l)
{
    while (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire)) {
    }
}

static void spin_unlock(spinlock *l)
{
    atomic_flag_clear_explicit(&l->f, memory_order_release);
}

static spinlock mu = {ATOMIC_FLAG_INIT};
static int turn;          /* whose turn: 0 or 1; under mu */
static gs_g *waiter[2];   /* the parked player, if any; under mu */
static long played[2];
static atomic_long readies_ok;

static bool release_lock(gs_g *g, void *lock)
{
    (void)g;
    spin_unlock(lock);
    return true;
}

static void player(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (long i = 0; i < ROUND_TRIPS; i++) {
        spin_lock(&mu);
        while (turn != me) {
            waiter[me] = gs_self();
            /* Marked waiting before release_lock runs: the other player can take
             * waiter[me] only after that, so its gs_ready finds us parked. */
            CHECK_RC(gs_park(release_lock, &mu, "pingpong"), 0);
            spin_lock(&mu);
        }
        played[me]++;
        turn = 1 - me;
        gs_g *other = waiter[1 - me];
        waiter[1 - me] = NULL;
        spin_unlock(&mu);
        if (other != NULL) {
            CHECK_RC(gs_ready(other), 0);
            atomic_fetch_add(&readies_ok, 1);
        }
    }
}

int main(void)
{
    init_procs(2);
    int64_t t0 = mono_ns();
    CHECK_OK(gs_go(player, (void *)(intptr_t)0));
    CHECK_OK(gs_go(player, (void *)(intptr_t)1));
    WAIT_ALL();
    CHECK_EQ(played[0], ROUND_TRIPS);
    CHECK_EQ(played[1], ROUND_TRIPS);
    CHECK(waiter[0] == NULL && waiter[1] == NULL);
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, 0);
    CHECK_EQ(st.waiting, 0);
    printf("%d round trips, %ld wakeups by gs_ready, %.0f ms\n", ROUND_TRIPS,
           atomic_load(&readies_ok), (mono_ns() - t0) / 1e6);
    /* Each player parks at least once per round trip except when the other was
     * still on its way out; most hand-offs must have gone through gs_ready. */
    CHECK(atomic_load(&readies_ok) > 0);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
