/*
 * gs_should_yield is sysmon's cooperative preemption request: false at the start of
 * a time slice, true once a goroutine has run for more than the slice (10 ms)
 * without yielding (polled for up to a second of busy looping), false again after it
 * yields. Checked at nprocs 1 with one busy goroutine and at nprocs 2 with two.
 */
#include "common.h"

#define POLL_LIMIT_NS (1000LL * 1000 * 1000)
#define SLICE_NS (10LL * 1000 * 1000)

static atomic_int flagged;

static void busy(void *arg)
{
    (void)arg;
    /* A fresh slice. */
    CHECK_RC(gs_gosched(), 0);
    int64_t t0 = mono_ns();
    CHECK(!gs_should_yield());
    int64_t elapsed;
    while (!gs_should_yield()) {
        elapsed = mono_ns() - t0;
        if (elapsed > POLL_LIMIT_NS)
            FAIL("gs_should_yield still false after %.0f ms of running", elapsed / 1e6);
    }
    elapsed = mono_ns() - t0;
    printf("gs_should_yield became true after %.1f ms\n", elapsed / 1e6);
    /* Not before the slice is over (half of it, for clock granularity). */
    CHECK(elapsed >= SLICE_NS / 2);
    atomic_fetch_add(&flagged, 1);
    CHECK_RC(gs_gosched(), 0);
    CHECK(!gs_should_yield());
}

static void run(uint32_t nprocs, int goroutines)
{
    atomic_store(&flagged, 0);
    init_procs(nprocs);
    for (int i = 0; i < goroutines; i++)
        CHECK_OK(gs_go(busy, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&flagged), goroutines);
    CHECK(!gs_should_yield()); /* off-goroutine */
    CHECK_RC(gs_shutdown(), 0);
}

int main(void)
{
    run(1, 1);
    run(2, 2);
    return 0;
}
