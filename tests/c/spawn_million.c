/*
 * 1,000,000 goroutines, half spawned by a goroutine and half by two foreign threads
 * (pthreads calling gs_go), each runs exactly once: every goroutine bumps its own slot
 * of a byte array, and at the end every slot must be exactly 1. Repeated with a fresh
 * runtime at nprocs 1, 2, 4 and 8.
 *
 * Spawners keep at most OUTSTANDING goroutines alive at once, so that memory stays
 * small (each live goroutine holds a stack page or two).
 */
#include "common.h"

#define N 1000000
#define FROM_GOROUTINE (N / 2)
#define FOREIGN_THREADS 2
#define OUTSTANDING 65536

static unsigned char slots[N];
static int64_t ids[N];
static atomic_long spawned;
static atomic_long finished;

static void worker(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    __atomic_fetch_add(&slots[i], 1, __ATOMIC_RELAXED);
    atomic_fetch_add_explicit(&finished, 1, memory_order_relaxed);
}

static bool too_many_alive(void)
{
    return atomic_load(&spawned) - atomic_load(&finished) > OUTSTANDING;
}

static void spawn_one(size_t i)
{
    atomic_fetch_add(&spawned, 1);
    int64_t id = gs_go(worker, (void *)(uintptr_t)i);
    if (id <= 0)
        FAIL("gs_go(slot %zu) returned %lld (%s)", i, (long long)id, gs_strerror((int)id));
    ids[i] = id;
}

/* A goroutine spawning slots [0, FROM_GOROUTINE). */
static void goroutine_spawner(void *arg)
{
    (void)arg;
    CHECK(gs_self() != NULL);
    for (size_t i = 0; i < FROM_GOROUTINE; i++) {
        while (too_many_alive())
            CHECK_RC(gs_gosched(), 0);
        spawn_one(i);
    }
}

/* A foreign thread spawning its quarter of the slots. */
static void *thread_spawner(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    size_t per = (N - FROM_GOROUTINE) / FOREIGN_THREADS;
    size_t lo = FROM_GOROUTINE + t * per;
    size_t hi = t == FOREIGN_THREADS - 1 ? N : lo + per;
    CHECK(gs_self() == NULL);
    for (size_t i = lo; i < hi; i++) {
        while (too_many_alive())
            sched_yield();
        spawn_one(i);
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void run(uint32_t nprocs)
{
    memset(slots, 0, sizeof slots);
    memset(ids, 0, sizeof ids);
    atomic_store(&spawned, 0);
    atomic_store(&finished, 0);
    int64_t t0 = mono_ns();

    init_procs(nprocs);
    /* Counted before it runs so that foreign spawners see it as outstanding work. */
    CHECK_OK(gs_go(goroutine_spawner, NULL));
    pthread_t th[FOREIGN_THREADS];
    for (size_t t = 0; t < FOREIGN_THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, thread_spawner, (void *)(uintptr_t)t) == 0);
    for (size_t t = 0; t < FOREIGN_THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    WAIT_ALL();

    CHECK_EQ(atomic_load(&finished), N);
    for (size_t i = 0; i < N; i++) {
        if (slots[i] != 1)
            FAIL("nprocs %u: goroutine %zu ran %d times", nprocs, i, slots[i]);
    }
    /* Every id is positive and unique. */
    qsort(ids, N, sizeof ids[0], cmp_i64);
    CHECK(ids[0] > 0);
    for (size_t i = 1; i < N; i++) {
        if (ids[i] == ids[i - 1])
            FAIL("nprocs %u: goroutine id %lld given twice", nprocs, (long long)ids[i]);
    }
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, 0);
    CHECK_EQ(st.procs, nprocs);
    CHECK_EQ(st.spawned_total, N + 1);
    CHECK_RC(gs_shutdown(), 0);
    printf("nprocs %u: %d goroutines ran once each in %.0f ms\n", nprocs, N,
           (mono_ns() - t0) / 1e6);
}

int main(void)
{
    const uint32_t procs[] = {1, 2, 4, 8};
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++)
        run(procs[i]);
    return 0;
}
