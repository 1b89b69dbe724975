/* mem_parked: n goroutines each park forever (gs_park, nobody readies them).
 * VmRSS (/proc/self/status) before spawning and once all n are parked (gs_stats
 * says n waiting); bytes of RSS per parked goroutine. Go's twin blocks each
 * goroutine on a receive from a channel nobody sends on.
 */
#include "bench.h"

static int64_t n_goroutines;
static atomic_llong started;

static void sleeper(void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    gs_park(NULL, NULL, "parked forever");
    fail("mem_parked: a parked goroutine was resumed");
}

static uint64_t waiting_now(void) {
    gs_stats st;
    memset(&st, 0, sizeof st);
    check(gs_stats_get(&st), "gs_stats_get");
    return st.waiting;
}

static void bench_main(void *arg) {
    (void)arg;
    int64_t n = n_goroutines;
    uint64_t base = waiting_now();
    int64_t before = vm_rss();
    for (int64_t i = 0; i < n; i++)
        check(gs_go(sleeper, NULL), "gs_go");
    /* Yield until every one has run and parked. */
    int64_t t0 = now_ns();
    while (waiting_now() < base + (uint64_t)n) {
        gs_gosched();
        if (now_ns() - t0 > 30 * 1000000000LL)
            fail("mem_parked: only %llu of %lld parked after 30 s",
                 (unsigned long long)(waiting_now() - base), (long long)n);
    }
    int64_t after = vm_rss();
    long long s = atomic_load(&started);
    if (s != n)
        fail("mem_parked started=%lld want %lld", s, (long long)n);
    char extra[128];
    snprintf(extra, sizeof extra, "rss_before=%lld rss_after=%lld", (long long)before,
             (long long)after);
    result("mem_parked", n, (double)(after - before) / (double)n, "bytes/goroutine", extra);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    n_goroutines = bench_default(o.n, 100000);
    bench_run_main(bench_main, NULL);
    /* The n goroutines stay parked; leave without tearing them down. */
    fflush(stdout);
    _exit(0);
}
