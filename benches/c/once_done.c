/* once_done: one goroutine calls gs_once_do on a once whose function has run, n
 * times (default 100,000,000); ns per call. Go twin: benches/go, once_done.
 *
 * bench-needs: gs_once_do
 */
#include "bench.h"

static int64_t calls;
static gs_once once = GS_ONCE_INIT;
static int64_t runs;

static void init_fn(void *arg) {
    (void)arg;
    runs++;
}

static void bench_main(void *arg) {
    (void)arg;
    check(gs_once_do(&once, init_fn, NULL), "gs_once_do");
    int64_t start = now_ns();
    for (int64_t i = 0; i < calls; i++)
        check(gs_once_do(&once, init_fn, NULL), "gs_once_do");
    int64_t el = now_ns() - start;
    if (runs != 1)
        fail("once_done runs=%lld want 1", (long long)runs);
    result("once_done", calls, (double)el / (double)calls, "ns/call", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    calls = bench_default(o.n, 100000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
