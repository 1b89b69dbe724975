/*
 * 10,000 goroutines park, each publishing its handle from its unlockf; 4 foreign
 * threads ready them. Every goroutine is raced for by two threads: exactly one
 * gs_ready per goroutine succeeds, the other gets GS_EINVAL (already readied, running
 * or exited), and every goroutine wakes exactly once. Run at nprocs 1, 2 and 4.
 */
#include "common.h"

#define G_COUNT 10000
#define THREADS 4

static _Atomic(gs_g *) handle[G_COUNT];
static atomic_int woke[G_COUNT];
static atomic_int ready_ok[G_COUNT];
static atomic_int ready_einval;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void sleeper(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    gs_g *self = gs_self();
    CHECK(self != NULL);
    CHECK_RC(gs_park(publish, &handle[i], "wait for a foreign thread"), 0);
    CHECK(gs_self() == self);
    atomic_fetch_add(&woke[i], 1);
}

/* Thread t readies slots t, t+THREADS, ... and also races for its neighbour's. */
static void *readier(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    for (size_t i = 0; i < G_COUNT; i++) {
        if (i % THREADS != t && i % THREADS != (t + 1) % THREADS)
            continue;
        gs_g *h;
        int64_t deadline = mono_ns() + TEST_WAIT_NS;
        while ((h = atomic_load(&handle[i])) == NULL) {
            if (mono_ns() > deadline)
                FAIL("goroutine %zu never parked", i);
            sched_yield();
        }
        int rc = gs_ready(h);
        if (rc == 0)
            atomic_fetch_add(&ready_ok[i], 1);
        else if (rc == GS_EINVAL)
            atomic_fetch_add(&ready_einval, 1);
        else
            FAIL("gs_ready(goroutine %zu) returned %d (%s)", i, rc, gs_strerror(rc));
    }
    return NULL;
}

static void run(uint32_t nprocs)
{
    for (size_t i = 0; i < G_COUNT; i++) {
        atomic_store(&handle[i], NULL);
        atomic_store(&woke[i], 0);
        atomic_store(&ready_ok[i], 0);
    }
    atomic_store(&ready_einval, 0);
    init_procs(nprocs);
    pthread_t th[THREADS];
    for (size_t t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, readier, (void *)(uintptr_t)t) == 0);
    for (size_t i = 0; i < G_COUNT; i++)
        CHECK_OK(gs_go(sleeper, (void *)(uintptr_t)i));
    for (size_t t = 0; t < THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    WAIT_ALL();
    for (size_t i = 0; i < G_COUNT; i++) {
        if (atomic_load(&woke[i]) != 1)
            FAIL("nprocs %u: goroutine %zu woke %d times", nprocs, i, atomic_load(&woke[i]));
        if (atomic_load(&ready_ok[i]) != 1)
            FAIL("nprocs %u: goroutine %zu readied successfully %d times", nprocs, i,
                 atomic_load(&ready_ok[i]));
    }
    CHECK_EQ(atomic_load(&ready_einval), G_COUNT);
    /* Every handle is now stale: readying it again wakes nobody. */
    for (size_t i = 0; i < G_COUNT; i += 97)
        CHECK_RC(gs_ready(atomic_load(&handle[i])), GS_EINVAL);
    CHECK_RC(gs_shutdown(), 0);
    printf("nprocs %u: %d goroutines woke once each\n", nprocs, G_COUNT);
}

int main(void)
{
    run(1);
    run(2);
    run(4);
    return 0;
}
