/*
 * Idle means idle: after a burst of work on 4 Ps, with the runtime still initialized
 * and some goroutines parked, the process uses less than 1% of a CPU: under 10 ms of
 * CPU time (all threads) while the main thread sleeps for a second.
 */
#include "common.h"

#define BURST 10000
#define PARKED 100
#define IDLE_CPU_LIMIT_NS (10LL * 1000 * 1000)

static _Atomic(gs_g *) handle[PARKED];
static atomic_long work_done;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void parked(void *arg)
{
    CHECK_RC(gs_park(publish, arg, "idle test"), 0);
}

static void busy(void *arg)
{
    (void)arg;
    volatile double x = 1;
    for (int i = 0; i < 1000; i++)
        x = x * 1.000001;
    if (atomic_fetch_add(&work_done, 1) % 16 == 0)
        CHECK_RC(gs_gosched(), 0);
}

static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void measure_idle(const char *when)
{
    /* Let spinning threads give up and sysmon back off. */
    sleep_ms(200);
    int64_t cpu0 = process_cpu_ns(), wall0 = mono_ns();
    sleep_ms(1000);
    int64_t cpu = process_cpu_ns() - cpu0, wall = mono_ns() - wall0;
    gs_stats st = stats_now();
    printf("%s: %.2f ms of CPU in %.0f ms (%u threads, %u idle Ps)\n", when, cpu / 1e6,
           wall / 1e6, st.threads, st.idle_procs);
    if (cpu >= IDLE_CPU_LIMIT_NS)
        FAIL("%s: the idle runtime used %.2f ms of CPU in %.0f ms", when, cpu / 1e6,
             wall / 1e6);
    CHECK_EQ(st.idle_procs, st.procs);
}

int main(void)
{
    init_procs(4);
    for (int i = 0; i < BURST; i++)
        CHECK_OK(gs_go(busy, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&work_done), BURST);
    measure_idle("after a burst, no goroutines");

    for (int i = 0; i < PARKED; i++)
        CHECK_OK(gs_go(parked, &handle[i]));
    WAIT_PARKED(PARKED, 10000);
    measure_idle("with parked goroutines");

    for (int i = 0; i < PARKED; i++)
        CHECK_RC(gs_ready(atomic_load(&handle[i])), 0);
    WAIT_ALL();
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
