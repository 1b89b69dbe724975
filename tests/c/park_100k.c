/*
 * 100,000 goroutines parked at once with default settings (gs_init(NULL)): the
 * counters see all of them waiting, then the main thread readies each by its handle
 * and every one wakes exactly once and finishes.
 */
#include "common.h"

#define G_COUNT 100000

static _Atomic(gs_g *) handle[G_COUNT];
static unsigned char woke[G_COUNT];

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void sleeper(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    CHECK_RC(gs_park(publish, &handle[i], "parked with 99,999 others"), 0);
    __atomic_fetch_add(&woke[i], 1, __ATOMIC_RELAXED);
}

int main(void)
{
    CHECK_RC(gs_init(NULL), 0);
    int64_t t0 = mono_ns();
    for (size_t i = 0; i < G_COUNT; i++)
        CHECK_OK(gs_go(sleeper, (void *)(uintptr_t)i));
    WAIT_PARKED(G_COUNT, 60000);
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, G_COUNT);
    CHECK_EQ(st.waiting, G_COUNT);
    CHECK_EQ(st.runnable, 0);
    int64_t t1 = mono_ns();
    for (size_t i = 0; i < G_COUNT; i++) {
        gs_g *h = atomic_load(&handle[i]);
        CHECK(h != NULL);
        CHECK(woke[i] == 0);
        CHECK_RC(gs_ready(h), 0);
    }
    WAIT_ALL();
    for (size_t i = 0; i < G_COUNT; i++) {
        if (woke[i] != 1)
            FAIL("goroutine %zu woke %d times", i, woke[i]);
    }
    st = stats_now();
    CHECK_EQ(st.goroutines, 0);
    CHECK_EQ(st.waiting, 0);
    printf("%d goroutines parked in %.0f ms, readied and finished in %.0f ms\n", G_COUNT,
           (t1 - t0) / 1e6, (mono_ns() - t1) / 1e6);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
