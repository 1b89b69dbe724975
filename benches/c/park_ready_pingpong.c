/* park_ready_pingpong: two goroutines hand a token back and forth with
 * gs_ready/gs_park only: each readies the other, then parks itself. n round trips
 * (A -> B -> A); ns per round trip. No Go twin (Go has no public gopark); the
 * target is absolute.
 *
 * Each goroutine has a wake word, EMPTY / NOTIFIED / PARKED:
 *   notify(x): swap x's word to NOTIFIED; if it was PARKED, gs_ready(x).
 *   wait(x):   if swapping the word to EMPTY finds NOTIFIED, return at once; else
 *              gs_park with unlockf = CAS EMPTY -> PARKED (fails, and so resumes
 *              at once, if a notify came in between), then consume the
 *              notification (swap back to EMPTY).
 * unlockf runs after the goroutine is marked waiting, so a notify either lands
 * before the CAS (seen by it) or finds PARKED and readies a parked goroutine.
 *
 * Only the exchange in notify and the CAS in unlockf need to be atomic
 * read-modify-writes (each is a full barrier on x86-64, costing more than the rest
 * of the harness): a word has a single notifier, which notifies once per round and
 * then waits for its own word, so nothing writes a word between its owner's load
 * and its reset to EMPTY; the token has a single writer too.
 */
#include "bench.h"

enum { W_EMPTY = 0, W_NOTIFIED = 1, W_PARKED = 2 };

typedef struct waker {
    atomic_int word;
    _Atomic(gs_g *) g;
} waker;

static waker wk[2];
static join jn;
static int64_t rounds;
static atomic_llong token;

static void notify(waker *w) {
    if (atomic_exchange(&w->word, W_NOTIFIED) == W_PARKED)
        check(gs_ready(atomic_load(&w->g)), "gs_ready");
}

static bool wait_unlockf(gs_g *g, void *arg) {
    (void)g;
    waker *w = arg;
    int expected = W_EMPTY;
    return atomic_compare_exchange_strong(&w->word, &expected, W_PARKED);
}

static void wait_for(waker *w) {
    if (atomic_load_explicit(&w->word, memory_order_acquire) != W_NOTIFIED) {
        check(gs_park(wait_unlockf, w, "pingpong"), "gs_park");
        if (atomic_load_explicit(&w->word, memory_order_acquire) != W_NOTIFIED)
            fail("park_ready_pingpong: resumed without a notification");
    }
    atomic_store_explicit(&w->word, W_EMPTY, memory_order_relaxed);
}

/* A: bump the token, wake B, sleep until B answers. */
static void side_a(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < rounds; i++) {
        atomic_store_explicit(&token, atomic_load_explicit(&token, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        notify(&wk[1]);
        wait_for(&wk[0]);
    }
    join_done(&jn);
}

/* B: sleep until A wakes it, check the token, wake A. */
static void side_b(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < rounds; i++) {
        wait_for(&wk[1]);
        long long t = atomic_load_explicit(&token, memory_order_relaxed);
        if (t != i + 1)
            fail("park_ready_pingpong token=%lld want %lld", t, (long long)(i + 1));
        notify(&wk[0]);
    }
    join_done(&jn);
}

static void start_a(void *arg) {
    atomic_store(&wk[0].g, gs_self());
    side_a(arg);
}

static void start_b(void *arg) {
    atomic_store(&wk[1].g, gs_self());
    side_b(arg);
}

static void bench_main(void *arg) {
    (void)arg;
    join_init(&jn, 2);
    /* The handles are stored by each goroutine before it can park, and a notify
       only readies a goroutine that has parked, so no handle is read unset. */
    int64_t start = now_ns();
    check(gs_go(start_b, NULL), "gs_go");
    check(gs_go(start_a, NULL), "gs_go");
    join_wait(&jn);
    int64_t el = now_ns() - start;
    if (atomic_load(&token) != rounds)
        fail("park_ready_pingpong token=%lld want %lld", (long long)atomic_load(&token),
             (long long)rounds);
    result("park_ready_pingpong", rounds, (double)el / (double)rounds, "ns/roundtrip", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    rounds = bench_default(o.n, 1000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
