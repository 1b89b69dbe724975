/* chan_pingpong: a token goes to an echo goroutine over the unbuffered channel
 * `ping` and comes back +1 over the unbuffered `pong`; n round trips; ns per round
 * trip. As Go's gobench -workload chan_pingpong: the echo goroutine is started
 * before the clock, the driver after it; the driver closes `ping` at the end and
 * hands the token to the main goroutine over `done`. Checked: token == n.
 *
 * bench-needs: gs_chan_new gs_chan_send gs_chan_recv gs_chan_close gs_chan_free
 */
#include "bench.h"

static gs_chan *ping, *pong, *done;
static int64_t rounds;

static void echo(void *arg) {
    (void)arg;
    int64_t v;
    int rc;
    while ((rc = gs_chan_recv(ping, &v)) == 0) {
        v++;
        check(gs_chan_send(pong, &v), "echo: gs_chan_send");
    }
    if (rc != GS_ECLOSED)
        check(rc, "echo: gs_chan_recv");
    check(gs_chan_close(pong), "gs_chan_close");
}

static void driver(void *arg) {
    (void)arg;
    int64_t v = 0;
    for (int64_t i = 0; i < rounds; i++) {
        check(gs_chan_send(ping, &v), "driver: gs_chan_send");
        check(gs_chan_recv(pong, &v), "driver: gs_chan_recv");
    }
    check(gs_chan_close(ping), "gs_chan_close");
    check(gs_chan_send(done, &v), "driver: send done");
}

static void bench_main(void *arg) {
    (void)arg;
    ping = gs_chan_new(sizeof(int64_t), 0);
    pong = gs_chan_new(sizeof(int64_t), 0);
    done = gs_chan_new(sizeof(int64_t), 0);
    if (!ping || !pong || !done)
        fail("gs_chan_new");
    check(gs_go(echo, NULL), "gs_go");
    int64_t start = now_ns();
    check(gs_go(driver, NULL), "gs_go");
    int64_t v = -1;
    check(gs_chan_recv(done, &v), "main: gs_chan_recv");
    int64_t el = now_ns() - start;
    if (v != rounds)
        fail("chan_pingpong token=%lld want %lld", (long long)v, (long long)rounds);
    result("chan_pingpong", rounds, (double)el / (double)rounds, "ns/roundtrip", NULL);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    rounds = bench_default(o.n, 1000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
