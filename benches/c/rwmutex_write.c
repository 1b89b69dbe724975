/* rwmutex_write: one goroutine write-locks and unlocks one gs_rwmutex n times
 * (default 2,000,000), with nobody else using it; ns per Lock+Unlock. Every 1,000th
 * round a read-lock and read-unlock come in between, so that the reader bias (see
 * gs_rwmutex_lock) is re-armed now and then and a writer has to revoke it again: the
 * writer's cost with the bias, not only the cost once it is off. Go twin:
 * benches/go, rwmutex_write.
 *
 * bench-needs: gs_rwmutex_new gs_rwmutex_lock gs_rwmutex_unlock gs_rwmutex_rlock gs_rwmutex_runlock gs_rwmutex_free
 */
#include "bench.h"

static int64_t rounds;
static volatile int64_t shared;

static void bench_main(void *arg) {
    (void)arg;
    gs_rwmutex *rw = gs_rwmutex_new();
    if (!rw)
        fail("gs_rwmutex_new");
    int64_t start = now_ns();
    for (int64_t i = 0; i < rounds; i++) {
        check(gs_rwmutex_lock(rw), "gs_rwmutex_lock");
        shared = shared + 1;
        check(gs_rwmutex_unlock(rw), "gs_rwmutex_unlock");
        if (i % 1000 == 999) {
            check(gs_rwmutex_rlock(rw), "gs_rwmutex_rlock");
            check(gs_rwmutex_runlock(rw), "gs_rwmutex_runlock");
        }
    }
    int64_t el = now_ns() - start;
    if (shared != rounds)
        fail("rwmutex_write shared=%lld want %lld", (long long)shared, (long long)rounds);
    check(gs_rwmutex_free(rw), "gs_rwmutex_free");
    result("rwmutex_write", rounds, (double)el / (double)rounds, "ns/lock+unlock", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    rounds = bench_default(o.n, 2000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
