/* spawn_join: the main goroutine spawns n goroutines; each does an atomic add and
 * signals completion; the main goroutine waits for all of them. ns per goroutine
 * (wall / n, spawning included), as Go's gobench -workload spawn_join.
 *
 * The join is a gs_waitgroup (as Go's sync.WaitGroup) when the program is compiled
 * with -DHAVE_GS_WAITGROUP (benches/run.sh does so when libgosched exports
 * gs_waitgroup_new), else an atomic countdown plus gs_park/gs_ready of the main
 * goroutine (bench.h's join), which is cheaper; the result line says which:
 * join=waitgroup or join=park.
 */
#include "bench.h"

static atomic_llong counter;
static int64_t n_goroutines;

#ifdef HAVE_GS_WAITGROUP
static gs_waitgroup *wg;

static void worker(void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    gs_waitgroup_done(wg);
}
#define JOIN_KIND "join=waitgroup"
#else
static join jn;

static void worker(void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    join_done(&jn);
}
#define JOIN_KIND "join=park"
#endif

static void bench_main(void *arg) {
    (void)arg;
    int64_t n = n_goroutines;
#ifdef HAVE_GS_WAITGROUP
    wg = gs_waitgroup_new();
    if (!wg)
        fail("gs_waitgroup_new");
    int64_t start = now_ns();
    check(gs_waitgroup_add(wg, n), "gs_waitgroup_add");
    for (int64_t i = 0; i < n; i++)
        check(gs_go(worker, NULL), "gs_go");
    check(gs_waitgroup_wait(wg), "gs_waitgroup_wait");
    int64_t el = now_ns() - start;
    check(gs_waitgroup_free(wg), "gs_waitgroup_free");
#else
    int64_t start = now_ns();
    join_init(&jn, n);
    for (int64_t i = 0; i < n; i++)
        check(gs_go(worker, NULL), "gs_go");
    join_wait(&jn);
    int64_t el = now_ns() - start;
#endif
    long long got = atomic_load(&counter);
    if (got != n)
        fail("spawn_join counter=%lld want %lld", got, (long long)n);
    result("spawn_join", n, (double)el / (double)n, "ns/goroutine", JOIN_KIND);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    n_goroutines = bench_default(o.n, 1000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
