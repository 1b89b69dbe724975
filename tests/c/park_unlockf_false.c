/*
 * An unlockf that returns false resumes the goroutine at once: gs_park returns 0, the
 * callback ran exactly once with the goroutine's own handle, no other goroutine ran
 * in between (nprocs 1), and the goroutine is running again, so gs_ready on it gives
 * GS_EINVAL. Then the race the contract must survive: unlockf hands the handle to a
 * foreign thread that readies it while unlockf is still deciding; the goroutine
 * must come back exactly once per park, whichever side wins.
 */
#include "common.h"

#define LOOPS 10000
#define RACES 20000

static atomic_int unlock_calls;
static gs_g *unlock_arg;
static atomic_bool other_ran;

static bool refuse(gs_g *g, void *lock)
{
    unlock_arg = g;
    atomic_fetch_add((atomic_int *)lock, 1);
    return false;
}

static void other(void *arg)
{
    (void)arg;
    atomic_store(&other_ran, true);
}

static void refuser(void *arg)
{
    (void)arg;
    gs_g *self = gs_self();
    /* Queued behind us on our P (runnext); must not run before we resume. */
    CHECK_OK(gs_go(other, NULL));
    CHECK_RC(gs_park(refuse, &unlock_calls, "never parked"), 0);
    CHECK_EQ(atomic_load(&unlock_calls), 1);
    CHECK(unlock_arg == self);
    CHECK(!atomic_load(&other_ran));
    CHECK(gs_self() == self);
    /* Running, not parked: nothing to ready. */
    CHECK_RC(gs_ready(self), GS_EINVAL);
    for (int i = 0; i < LOOPS; i++)
        CHECK_RC(gs_park(refuse, &unlock_calls, "never parked"), 0);
    CHECK_EQ(atomic_load(&unlock_calls), LOOPS + 1);
    CHECK(!atomic_load(&other_ran));
    CHECK_RC(gs_gosched(), 0);
    CHECK(atomic_load(&other_ran));
}

/* --- the race between gs_ready and unlockf returning false --- */

static _Atomic(gs_g *) mailbox;
static atomic_bool racer_done;
static atomic_long ready_won;
static atomic_long parks_returned;

static bool hand_over_then_refuse(gs_g *g, void *lock)
{
    (void)lock;
    atomic_store(&mailbox, g);
    /* Give the readier a chance to get in first. */
    for (volatile int i = 0; i < 500; i++) {
    }
    return false;
}

static void racer(void *arg)
{
    (void)arg;
    for (int i = 0; i < RACES; i++) {
        CHECK_RC(gs_park(hand_over_then_refuse, NULL, "race"), 0);
        atomic_fetch_add(&parks_returned, 1);
    }
    atomic_store(&racer_done, true);
}

static void *readier(void *arg)
{
    (void)arg;
    while (!atomic_load(&racer_done)) {
        gs_g *h = atomic_exchange(&mailbox, NULL);
        if (h == NULL)
            continue;
        int rc = gs_ready(h);
        if (rc == 0)
            atomic_fetch_add(&ready_won, 1);
        else if (rc != GS_EINVAL)
            FAIL("gs_ready returned %d (%s)", rc, gs_strerror(rc));
    }
    return NULL;
}

int main(void)
{
    init_procs(1);
    CHECK_OK(gs_go(refuser, NULL));
    WAIT_ALL();
    CHECK(atomic_load(&other_ran));
    gs_stats st = stats_now();
    CHECK_EQ(st.waiting, 0);
    CHECK_EQ(st.goroutines, 0);
    CHECK_RC(gs_shutdown(), 0);

    init_procs(2);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, readier, NULL) == 0);
    CHECK_OK(gs_go(racer, NULL));
    WAIT_ALL();
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ(atomic_load(&parks_returned), RACES);
    printf("race: gs_ready won %ld of %d parks\n", atomic_load(&ready_won), RACES);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
