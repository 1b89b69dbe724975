/* mutex_uncontended: one goroutine locks and unlocks a gs_mutex n times (default
 * 10,000,000), bumping a counter inside; ns per lock+unlock pair. No Go twin in
 * the peers; the number is reported on its own.
 *
 * bench-needs: gs_mutex_new gs_mutex_lock gs_mutex_unlock gs_mutex_free
 */
#include "bench.h"

static int64_t pairs;

static void bench_main(void *arg) {
    (void)arg;
    gs_mutex *m = gs_mutex_new();
    if (!m)
        fail("gs_mutex_new");
    volatile int64_t counter = 0;
    int64_t start = now_ns();
    for (int64_t i = 0; i < pairs; i++) {
        check(gs_mutex_lock(m), "gs_mutex_lock");
        counter = counter + 1;
        check(gs_mutex_unlock(m), "gs_mutex_unlock");
    }
    int64_t el = now_ns() - start;
    check(gs_mutex_free(m), "gs_mutex_free");
    if (counter != pairs)
        fail("mutex_uncontended counter=%lld want %lld", (long long)counter, (long long)pairs);
    result("mutex_uncontended", pairs, (double)el / (double)pairs, "ns/lock+unlock", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    pairs = bench_default(o.n, 10000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
