/* sleep_timers: g goroutines (-n, default 10,000), each does -iters (default 100)
 * gs_sleep(1 ms) and measures every sleep with the monotonic clock. value = total
 * wall ms; oversleep_mean_us = mean (actual - 1 ms) per sleep; n printed = the
 * number of sleeps. As Go's gobench -workload sleep_timers (same flags).
 * sleep_light.c reuses this file with 100 goroutines, for the timer latency of a
 * light load.
 *
 * bench-needs: gs_sleep
 */
#include "bench.h"

#ifndef SLEEP_WORKLOAD
#define SLEEP_WORKLOAD "sleep_timers"
#define SLEEP_DEFAULT_G 10000
#endif

#define SLEEP_NS 1000000LL

static int64_t goroutines, iters;
static atomic_llong over_ns;
static join jn;

static void sleeper(void *arg) {
    (void)arg;
    int64_t local = 0;
    for (int64_t j = 0; j < iters; j++) {
        int64_t t0 = now_ns();
        check(gs_sleep(SLEEP_NS), "gs_sleep");
        local += now_ns() - t0 - SLEEP_NS;
    }
    atomic_fetch_add(&over_ns, local);
    join_done(&jn);
}

static void bench_main(void *arg) {
    (void)arg;
    join_init(&jn, goroutines);
    int64_t start = now_ns();
    for (int64_t i = 0; i < goroutines; i++)
        check(gs_go(sleeper, NULL), "gs_go");
    join_wait(&jn);
    int64_t el = now_ns() - start;
    int64_t sleeps = goroutines * iters;
    double mean_over_us = (double)atomic_load(&over_ns) / (double)sleeps / 1e3;
    if (mean_over_us < -1.0)
        fail("%s: sleeps returned early (mean oversleep %.1f us)", SLEEP_WORKLOAD, mean_over_us);
    char extra[128];
    snprintf(extra, sizeof extra, "goroutines=%lld iters=%lld oversleep_mean_us=%.1f",
             (long long)goroutines, (long long)iters, mean_over_us);
    result(SLEEP_WORKLOAD, sleeps, (double)el / 1e6, "ms", extra);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    goroutines = bench_default(o.n, SLEEP_DEFAULT_G);
    iters = bench_default(o.iters, 100);
    bench_run_main(bench_main, NULL);
    return 0;
}
