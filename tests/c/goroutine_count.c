/*
 * The goroutine count when goroutines are made and end on Ps (which count them in
 * batches, see "Counting goroutines" in src/runtime/sched.rs), at nprocs 1, 2 and 4:
 * - a root goroutine makes N children; each makes a short-lived grandchild and then
 *   parks. With the root still running, the count seen from the root settles at
 *   exactly 1 + N once the grandchildren have ended, and the main thread sees the
 *   same;
 * - the root readies every child and ends; gs_wait then returns 0 (not a time-out:
 *   the count reaches zero once the Ps go idle) and the count is 0;
 * - every child and grandchild ran exactly once.
 */
#include "common.h"

#define N 1000

static _Atomic(gs_g *) handle[N];
static unsigned char child_ran[N], grandchild_ran[N];
static atomic_int grandchildren_done;
static atomic_int root_checked;
static uint64_t root_saw_goroutines, root_saw_waiting;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void grandchild(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    __atomic_fetch_add(&grandchild_ran[i], 1, __ATOMIC_RELAXED);
    atomic_fetch_add(&grandchildren_done, 1);
}

static void child(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    CHECK_OK(gs_go(grandchild, arg));
    CHECK_RC(gs_park(publish, &handle[i], "counted"), 0);
    __atomic_fetch_add(&child_ran[i], 1, __ATOMIC_RELAXED);
}

static void root(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < N; i++)
        CHECK_OK(gs_go(child, (void *)(uintptr_t)i));
    /* A grandchild counts itself done just before it returns, so it may still be
     * ending on another P: wait for the count to settle at 1 + N (a count that
     * kept the Ps' reserves would never get there). */
    int64_t end = mono_ns() + 60LL * 1000000000LL;
    gs_stats st = stats_now();
    while (st.waiting < N || atomic_load(&grandchildren_done) < N || st.goroutines != 1 + N) {
        if (mono_ns() > end)
            FAIL("%llu children parked, %d grandchildren done, %llu goroutines counted",
                 (unsigned long long)st.waiting, atomic_load(&grandchildren_done),
                 (unsigned long long)st.goroutines);
        CHECK_RC(gs_gosched(), 0);
        st = stats_now();
    }
    root_saw_goroutines = st.goroutines;
    root_saw_waiting = st.waiting;
    atomic_store(&root_checked, 1);
    /* Hold on until the main thread has counted too. */
    while (atomic_load(&root_checked) != 2)
        CHECK_RC(gs_sleep(1000000), 0);
    for (size_t i = 0; i < N; i++) {
        gs_g *h = atomic_load(&handle[i]);
        CHECK(h != NULL);
        CHECK_RC(gs_ready(h), 0);
    }
}

static void run(uint32_t nprocs)
{
    memset(child_ran, 0, sizeof child_ran);
    memset(grandchild_ran, 0, sizeof grandchild_ran);
    for (size_t i = 0; i < N; i++)
        atomic_store(&handle[i], NULL);
    atomic_store(&grandchildren_done, 0);
    atomic_store(&root_checked, 0);
    init_procs(nprocs);
    CHECK_OK(gs_go(root, NULL));
    while (atomic_load(&root_checked) != 1)
        sleep_ms(1);
    CHECK_EQ(root_saw_goroutines, 1 + N);
    CHECK_EQ(root_saw_waiting, N);
    /* The root sleeps in gs_sleep: it and the N children are alive. */
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, 1 + N);
    atomic_store(&root_checked, 2);
    CHECK_RC(gs_wait(10LL * 1000000000LL), 0);
    st = stats_now();
    CHECK_EQ(st.goroutines, 0);
    for (size_t i = 0; i < N; i++) {
        if (child_ran[i] != 1 || grandchild_ran[i] != 1)
            FAIL("nprocs %u: goroutine %zu: child ran %d times, grandchild %d", nprocs, i,
                 child_ran[i], grandchild_ran[i]);
    }
    CHECK_RC(gs_shutdown(), 0);
    printf("nprocs %u: counted 1 + %d goroutines from a goroutine and the main thread, "
           "then 0\n", nprocs, N);
}

int main(void)
{
    uint32_t procs[] = {1, 2, 4};
    for (size_t k = 0; k < sizeof procs / sizeof procs[0]; k++)
        run(procs[k]);
    return 0;
}
