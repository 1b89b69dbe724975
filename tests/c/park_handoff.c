/*
 * gs_ready called from an unlockf, that is on the scheduler's stack between parking
 * one goroutine and running the next (the hand-off that channels do): a baton goes
 * round a ring of goroutines 100,000 times, each holder parking itself with an
 * unlockf that readies the next one. Every such gs_ready must succeed, every
 * goroutine must see the baton the right number of times, and nothing may be lost
 * (a lost hand-off hangs the ring). At nprocs 1 and 2.
 */
#include "common.h"

#define RING 100
#define HOPS 100000

static _Atomic(gs_g *) handle[RING];
static atomic_long hops;
static long held[RING];
static atomic_int ready_failures;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

/* Runs on g0 after goroutine `me` is marked waiting: hand the baton on. */
static bool pass_baton(gs_g *g, void *arg)
{
    size_t me = (size_t)(uintptr_t)arg;
    atomic_store(&handle[me], g);
    gs_g *next = atomic_exchange(&handle[(me + 1) % RING], NULL);
    int rc = gs_ready(next);
    if (rc != 0) {
        fprintf(stderr, "gs_ready from unlockf returned %d (%s)\n", rc, gs_strerror(rc));
        atomic_fetch_add(&ready_failures, 1);
    }
    return true;
}

static void member(void *arg)
{
    size_t me = (size_t)(uintptr_t)arg;
    /* Park until the baton first comes round; member 0 starts with it. */
    if (me != 0)
        CHECK_RC(gs_park(publish, &handle[me], "waiting for the baton"), 0);
    for (;;) {
        long n = atomic_fetch_add(&hops, 1);
        if (n >= HOPS) {
            /* Done: wake the next one so that it sees the end too, and leave. */
            gs_g *next = atomic_exchange(&handle[(me + 1) % RING], NULL);
            if (next != NULL)
                CHECK_RC(gs_ready(next), 0);
            return;
        }
        held[me]++;
        CHECK_RC(gs_park(pass_baton, (void *)(uintptr_t)me, "baton passed on"), 0);
    }
}

static void run(uint32_t nprocs)
{
    memset(held, 0, sizeof held);
    atomic_store(&hops, 0);
    for (size_t i = 0; i < RING; i++)
        atomic_store(&handle[i], NULL);
    init_procs(nprocs);
    for (size_t i = 1; i < RING; i++)
        CHECK_OK(gs_go(member, (void *)(uintptr_t)i));
    WAIT_PARKED(RING - 1, 10000);
    CHECK_OK(gs_go(member, (void *)(uintptr_t)0));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&ready_failures), 0);
    long total = 0;
    for (size_t i = 0; i < RING; i++) {
        if (held[i] != HOPS / RING)
            FAIL("nprocs %u: member %zu held the baton %ld times, want %d", nprocs, i, held[i],
                 HOPS / RING);
        total += held[i];
    }
    CHECK_EQ(total, HOPS);
    CHECK_RC(gs_shutdown(), 0);
    printf("nprocs %u: the baton went round %d times\n", nprocs, HOPS / RING);
}

int main(void)
{
    run(1);
    run(2);
    return 0;
}
