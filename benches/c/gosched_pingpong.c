/* gosched_pingpong: two goroutines each call gs_gosched() n/2 times (n yields in
 * total); ns per yield. Meant for 1 P, where every yield switches to the other
 * goroutine. As Go's gobench -workload gosched_pingpong, the two wait behind a
 * start gate that opens after the clock starts, and the main goroutine waits for
 * both (bench.h's join).
 */
#include "bench.h"

static atomic_int gate;
static join jn;
static int64_t per;
static atomic_llong yields;

static void yielder(void *arg) {
    (void)arg;
    while (!atomic_load_explicit(&gate, memory_order_acquire))
        check(gs_gosched(), "gs_gosched");
    int64_t i;
    for (i = 0; i < per; i++)
        gs_gosched();
    atomic_fetch_add(&yields, i);
    join_done(&jn);
}

static void bench_main(void *arg) {
    (void)arg;
    join_init(&jn, 2);
    check(gs_go(yielder, NULL), "gs_go");
    check(gs_go(yielder, NULL), "gs_go");
    int64_t start = now_ns();
    atomic_store_explicit(&gate, 1, memory_order_release);
    join_wait(&jn);
    int64_t el = now_ns() - start;
    if (atomic_load(&yields) != per * 2)
        fail("gosched_pingpong yields=%lld want %lld", (long long)atomic_load(&yields),
             (long long)(per * 2));
    result("gosched_pingpong", per * 2, (double)el / (double)(per * 2), "ns/yield", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    per = bench_default(o.n, 10000000) / 2;
    if (per < 1)
        per = 1;
    bench_run_main(bench_main, NULL);
    return 0;
}
