/* thread_ring (Benchmarks Game): 503 goroutines in a ring, each receiving on its
 * own unbuffered channel and sending to the next one's; a countdown token makes n
 * hops; the goroutine that receives 0 reports its id (1-based) over `done`.
 * ns per hop. Checked: id == n mod 503 + 1 (361 for the default n = 10,000,000).
 * Afterwards the ring's channels are closed so the other 502 goroutines end.
 *
 * bench-needs: gs_chan_new gs_chan_send gs_chan_recv gs_chan_close
 */
#include "bench.h"

enum { RING = 503 };

static gs_chan *chans[RING];
static gs_chan *done;
static int64_t hops;

static void member(void *arg) {
    int64_t id = (int64_t)(intptr_t)arg;
    gs_chan *in = chans[id - 1], *out = chans[id % RING];
    int64_t t;
    for (;;) {
        int rc = gs_chan_recv(in, &t);
        if (rc == GS_ECLOSED)
            return;
        check(rc, "member: gs_chan_recv");
        if (t == 0) {
            check(gs_chan_send(done, &id), "member: send done");
            return;
        }
        t--;
        check(gs_chan_send(out, &t), "member: gs_chan_send");
    }
}

static void bench_main(void *arg) {
    (void)arg;
    for (int i = 0; i < RING; i++)
        if (!(chans[i] = gs_chan_new(sizeof(int64_t), 0)))
            fail("gs_chan_new");
    if (!(done = gs_chan_new(sizeof(int64_t), 0)))
        fail("gs_chan_new");
    for (int i = 0; i < RING; i++)
        check(gs_go(member, (void *)(intptr_t)(i + 1)), "gs_go");
    int64_t start = now_ns();
    check(gs_chan_send(chans[0], &hops), "main: gs_chan_send");
    int64_t id = 0;
    check(gs_chan_recv(done, &id), "main: gs_chan_recv");
    int64_t el = now_ns() - start;
    int64_t want = hops % RING + 1;
    if (id != want)
        fail("thread_ring id=%lld want %lld", (long long)id, (long long)want);
    for (int i = 0; i < RING; i++)
        check(gs_chan_close(chans[i]), "gs_chan_close");
    char extra[64];
    snprintf(extra, sizeof extra, "last_id=%lld", (long long)id);
    result("thread_ring", hops, (double)el / (double)hops, "ns/hop", extra);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    hops = bench_default(o.n, 10000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
