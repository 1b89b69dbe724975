/* select_ticker: one goroutine, n times (default 5,000,000): puts a value into a
 * channel of capacity 1, then selects over that channel and a ticker's channel (1 ms
 * period), receiving whichever is ready (the channel, but for the ticks); ns per
 * send+select. Checks that every value was received. Go twin: benches/go,
 * select_ticker.
 *
 * bench-needs: gs_ticker_new gs_ticker_chan gs_ticker_free gs_select
 */
#include "bench.h"

static int64_t rounds;

static void bench_main(void *arg) {
    (void)arg;
    gs_chan *c = gs_chan_new(sizeof(int64_t), 1);
    if (!c)
        fail("gs_chan_new");
    gs_ticker *tk;
    check(gs_ticker_new(1000000, &tk), "gs_ticker_new");
    int64_t v = 0, when = 0, got = 0, ticks = 0, sum = 0;
    gs_select_case cases[2] = {
        {.chan = c, .op = GS_RECV, .elem = &v},
        {.chan = gs_ticker_chan(tk), .op = GS_RECV, .elem = &when},
    };
    int64_t start = now_ns();
    for (int64_t i = 0; i < rounds; i++) {
        check(gs_chan_send(c, &i), "gs_chan_send");
        for (;;) {
            int k = (int)check(gs_select(cases, 2, -1), "gs_select");
            if (k == 0) {
                got++;
                sum += v;
                break;
            }
            ticks++;
        }
    }
    int64_t el = now_ns() - start;
    if (got != rounds || sum != rounds * (rounds - 1) / 2)
        fail("select_ticker got=%lld sum=%lld", (long long)got, (long long)sum);
    check(gs_ticker_free(tk), "gs_ticker_free");
    check(gs_chan_free(c), "gs_chan_free");
    char extra[64];
    snprintf(extra, sizeof extra, "ticks=%lld", (long long)ticks);
    result("select_ticker", rounds, (double)el / (double)rounds, "ns/send+select", extra);
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    rounds = bench_default(o.n, 5000000);
    bench_run_main(bench_main, NULL);
    return 0;
}
