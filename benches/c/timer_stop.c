/* timer_stop: one goroutine, n times (default 2,000,000): makes a timer of one hour
 * and stops it before it fires, then frees it (Go's NewTimer + Stop, whose timer the
 * collector frees); ns per timer. Go twin: benches/go, timer_stop.
 *
 * bench-needs: gs_timer_new gs_timer_stop gs_timer_free
 */
#include "bench.h"

static int64_t timers;

static void bench_main(void *arg) {
    (void)arg;
    int64_t stopped = 0;
    int64_t start = now_ns();
    for (int64_t i = 0; i < timers; i++) {
        gs_timer *t;
        check(gs_timer_new(3600LL * 1000000000, &t), "gs_timer_new");
        stopped += check(gs_timer_stop(t), "gs_timer_stop");
        check(gs_timer_free(t), "gs_timer_free");
    }
    int64_t el = now_ns() - start;
    if (stopped != timers)
        fail("timer_stop stopped=%lld want %lld", (long long)stopped, (long long)timers);
    result("timer_stop", timers, (double)el / (double)timers, "ns/timer", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    timers = bench_default(o.n, 2000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
