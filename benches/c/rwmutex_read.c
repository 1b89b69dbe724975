/* rwmutex_read: P goroutines (P = GS_MAXPROCS) each read-lock and read-unlock one
 * gs_rwmutex n/P times (default n 10,000,000), reading a shared counter inside; ns
 * per RLock+RUnlock pair and goroutine (wall time / (n/P)). At 1 P uncontended; at
 * 2 P two readers on the lock's cache line. Go twin: benches/go, rwmutex_read.
 *
 * bench-needs: gs_rwmutex_new gs_rwmutex_rlock gs_rwmutex_runlock gs_rwmutex_free
 */
#include "bench.h"

static int64_t total;
static gs_rwmutex *rw;
static volatile int64_t shared = 7;
static join done;

static void reader(void *arg) {
    int64_t per = (int64_t)(intptr_t)arg, sum = 0;
    for (int64_t i = 0; i < per; i++) {
        check(gs_rwmutex_rlock(rw), "gs_rwmutex_rlock");
        sum += shared;
        check(gs_rwmutex_runlock(rw), "gs_rwmutex_runlock");
    }
    if (sum != 7 * per)
        fail("rwmutex_read sum=%lld want %lld", (long long)sum, (long long)(7 * per));
    join_done(&done);
}

static void bench_main(void *arg) {
    (void)arg;
    unsigned p = bench_procs();
    int64_t per = total / p;
    rw = gs_rwmutex_new();
    if (!rw)
        fail("gs_rwmutex_new");
    join_init(&done, p);
    int64_t start = now_ns();
    for (unsigned i = 0; i < p; i++)
        check(gs_go(reader, (void *)(intptr_t)per), "gs_go");
    join_wait(&done);
    int64_t el = now_ns() - start;
    check(gs_rwmutex_free(rw), "gs_rwmutex_free");
    result("rwmutex_read", per * p, (double)el / (double)per, "ns/rlock+runlock", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    total = bench_default(o.n, 10000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
