/*
 * gs_park_timeout readied while its park is still being committed: the user's
 * unlockf publishes the goroutine's handle, waits until a foreign thread's gs_ready
 * on it has returned 0, and lingers 200 us more before returning true. Only then
 * does the runtime arm the timeout's timer. The goroutine must not run before that
 * is done, or it would leave the frame that holds the armed timer.
 *
 * Checked over 300 rounds at nprocs 2 (an idle P is there to run the goroutine at
 * once if the runtime let it): every gs_park_timeout returns 0 (readied, not timed
 * out) to a frame whose canary is intact, gs_ready returns 0 each time, no timer is
 * left armed afterwards, and nothing fires later.
 */
#include "common.h"

#include <pthread.h>

#define ROUNDS 300
#define TIMEOUT_NS (50LL * 1000 * 1000)

static _Atomic(gs_g *) handle;
static atomic_int published, readied;
static atomic_int rounds_ok;

static void spin_ns(int64_t ns)
{
    int64_t end = mono_ns() + ns;
    while (mono_ns() < end)
        ;
}

/* Runs on g0 of the parking goroutine's M. */
static bool publish_and_wait(gs_g *g, void *arg)
{
    int round = (int)(intptr_t)arg;
    atomic_store(&handle, g);
    atomic_store(&published, round);
    int64_t end = mono_ns() + 10LL * 1000 * 1000 * 1000;
    while (atomic_load(&readied) != round) {
        if (mono_ns() > end)
            FAIL("round %d: the foreign thread never readied the goroutine", round);
    }
    spin_ns(200 * 1000);
    return true;
}

static void parker(void *arg)
{
    (void)arg;
    for (int round = 1; round <= ROUNDS; round++) {
        volatile uint64_t canary = 0x5eed0000ULL + (uint64_t)round;
        int rc = gs_park_timeout(publish_and_wait, (void *)(intptr_t)round, "commit race",
                                 TIMEOUT_NS);
        if (rc != 0)
            FAIL("round %d: gs_park_timeout returned %d (%s), want 0", round, rc, gs_strerror(rc));
        if (canary != 0x5eed0000ULL + (uint64_t)round)
            FAIL("round %d: the parked frame was overwritten", round);
        atomic_fetch_add(&rounds_ok, 1);
    }
}

static void *readier(void *arg)
{
    (void)arg;
    for (int round = 1; round <= ROUNDS; round++) {
        int64_t end = mono_ns() + 10LL * 1000 * 1000 * 1000;
        while (atomic_load(&published) != round) {
            if (mono_ns() > end)
                FAIL("round %d: the goroutine never parked", round);
        }
        int rc = gs_ready(atomic_load(&handle));
        if (rc != 0)
            FAIL("round %d: gs_ready returned %d (%s), want 0", round, rc, gs_strerror(rc));
        atomic_store(&readied, round);
    }
    return NULL;
}

int main(void)
{
    init_procs(2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, readier, NULL) == 0);
    CHECK_OK(gs_go(parker, NULL));
    CHECK(pthread_join(t, NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&rounds_ok), ROUNDS);
    CHECK_EQ(stats_now().timers, 0);
    /* Past every timeout: a timer left armed in a dead frame would fire now. */
    sleep_ms((int)(TIMEOUT_NS / 1000000) + 20);
    CHECK_EQ(stats_now().timers, 0);
    CHECK_RC(gs_shutdown(), 0);
    printf("%d parks readied during their commit: all returned 0, no timer left\n", ROUNDS);
    return 0;
}
