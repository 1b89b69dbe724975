/*
 * gs_stats_get counts goroutines by state without scanning them (the counters kept
 * at the state transitions, runtime/gstats.rs):
 * 1. 1 P held by a goroutine that never yields: 1,000 goroutines started from this
 *    thread stay runnable, and gs_stats_get says runnable == 1,000.
 * 2. 200,000 goroutines parked on a wait group: waiting == 200,000, runnable == 0,
 *    and one goroutine in a blocking call: in_syscall == 1.
 * 3. gs_stats_get costs O(Ps): 2,000 calls with 200,000 parked goroutines take on
 *    average under 50 us each (a scan of 200,000 goroutines takes milliseconds).
 * 4. Once all ended: runnable == waiting == in_syscall == 0.
 */
#include "common.h"

#define RUNNABLE 1000
#define PARKED 200000
#define CALLS 2000

static atomic_bool hog_stop, hog_started, sys_stop, sys_in;
static gs_waitgroup *gate;

static gs_stats now(void)
{
    gs_stats st;
    CHECK_RC(gs_stats_get(&st), 0);
    return st;
}

static void hog(void *arg)
{
    (void)arg;
    atomic_store(&hog_started, true);
    while (!atomic_load(&hog_stop))
        ; /* no scheduling point: the only P stays taken */
}

static void nothing(void *arg)
{
    (void)arg;
}

static void parked(void *arg)
{
    (void)arg;
    CHECK_RC(gs_waitgroup_wait(gate), 0);
}

static void in_call(void *arg)
{
    (void)arg;
    gs_entersyscall();
    atomic_store(&sys_in, true);
    while (!atomic_load(&sys_stop))
        usleep(1000);
    gs_exitsyscall();
}

static void wait_until(bool (*cond)(void))
{
    for (int i = 0; i < 60000 && !cond(); i++)
        usleep(1000);
    CHECK(cond());
}

static bool all_parked(void)
{
    return now().waiting == PARKED;
}

static bool none_left(void)
{
    return now().goroutines == 0;
}

int main(void)
{
    gs_config cfg = {0};
    cfg.nprocs = 1;
    CHECK_RC(gs_init(&cfg), 0);

    /* 1. runnable, behind a goroutine that holds the only P */
    CHECK(gs_go(hog, NULL) > 0);
    while (!atomic_load(&hog_started))
        usleep(1000);
    for (int i = 0; i < RUNNABLE; i++)
        CHECK(gs_go(nothing, NULL) > 0);
    gs_stats st = now();
    CHECK_EQ(st.runnable, RUNNABLE);
    CHECK_EQ(st.waiting, 0);
    atomic_store(&hog_stop, true);
    CHECK_RC(gs_wait(-1), 0);
    st = now();
    CHECK_EQ(st.runnable, 0);

    /* 2. waiting and in a blocking call */
    gate = gs_waitgroup_new();
    CHECK(gate != NULL);
    CHECK_RC(gs_waitgroup_add(gate, 1), 0);
    for (int i = 0; i < PARKED; i++)
        CHECK(gs_go(parked, NULL) > 0);
    wait_until(all_parked);
    CHECK(gs_go(in_call, NULL) > 0);
    while (!atomic_load(&sys_in))
        usleep(1000);
    st = now();
    CHECK_EQ(st.waiting, PARKED);
    CHECK_EQ(st.runnable, 0);
    CHECK_EQ(st.in_syscall, 1);

    /* 3. the cost of one call */
    int64_t t0 = gs_nanotime();
    for (int i = 0; i < CALLS; i++)
        st = now();
    int64_t per = (gs_nanotime() - t0) / CALLS;
    fprintf(stderr, "stats_counters: gs_stats_get with %d goroutines: %lld ns per call\n", PARKED + 1,
            (long long)per);
    CHECK(per < 50000);
    CHECK_EQ(st.waiting, PARKED);

    /* 4. all gone */
    atomic_store(&sys_stop, true);
    CHECK_RC(gs_waitgroup_done(gate), 0);
    CHECK_RC(gs_wait(-1), 0);
    wait_until(none_left);
    st = now();
    CHECK_EQ(st.runnable, 0);
    CHECK_EQ(st.waiting, 0);
    CHECK_EQ(st.in_syscall, 0);
    CHECK_RC(gs_waitgroup_free(gate), 0);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
