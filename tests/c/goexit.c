/*
 * gs_goexit ends the calling goroutine at once, from any call depth: the code after
 * it never runs, the goroutine counts as ended (gs_wait returns), its handle goes
 * stale, and its G is reused safely. A goroutine locked to its thread that exits
 * this way releases the thread. Off-goroutine gs_goexit returns.
 */
#include "common.h"

#define G_COUNT 10000

static atomic_int before, after;
static _Atomic(gs_g *) exited_handle;

static __attribute__((noinline)) void exit_at_depth(int depth)
{
    volatile char frame[64];
    frame[0] = (char)depth;
    if (depth > 0) {
        exit_at_depth(depth - 1);
    } else {
        gs_goexit();
    }
    atomic_fetch_add(&after, 1); /* never reached */
    (void)frame;
}

static void exiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    atomic_store(&exited_handle, gs_self());
    if (i % 3 == 0)
        CHECK_RC(gs_lock_os_thread(), 0);
    if (i % 5 == 0)
        CHECK_RC(gs_gosched(), 0);
    atomic_fetch_add(&before, 1);
    exit_at_depth(i % 8);
    atomic_fetch_add(&after, 1); /* never reached */
}

static atomic_int plain_ran;

static void plain(void *arg)
{
    (void)arg;
    atomic_fetch_add(&plain_ran, 1);
}

static void run(uint32_t nprocs)
{
    atomic_store(&before, 0);
    atomic_store(&after, 0);
    atomic_store(&plain_ran, 0);
    init_procs(nprocs);
    for (int i = 0; i < G_COUNT; i++)
        CHECK_OK(gs_go(exiter, (void *)(intptr_t)i));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&before), G_COUNT);
    CHECK_EQ(atomic_load(&after), 0);
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, 0);
    CHECK_RC(gs_ready(atomic_load(&exited_handle)), GS_EINVAL);
    /* The Gs (and threads released by locked exits) keep working. */
    for (int i = 0; i < G_COUNT; i++)
        CHECK_OK(gs_go(plain, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&plain_ran), G_COUNT);
    CHECK_RC(gs_shutdown(), 0);
    printf("nprocs %u: %d goroutines ended by gs_goexit\n", nprocs, G_COUNT);
}

int main(void)
{
    gs_goexit(); /* off-goroutine, not initialized: returns */
    run(1);
    run(3);
    init_procs(1);
    gs_goexit(); /* off-goroutine, initialized: returns */
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
