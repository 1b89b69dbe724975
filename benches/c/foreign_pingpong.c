/* foreign_pingpong: a pthread that is not a goroutine and a goroutine hand a token
 * back and forth over two unbuffered channels (the thread sends on `ping` and
 * receives on `pong`, the goroutine echoes +1); n round trips (default 100,000);
 * ns per round trip. Each blocking operation on the thread's side blocks the OS
 * thread, so this measures the foreign-thread wake-up path. Checked: token == n.
 *
 * bench-needs: gs_chan_new gs_chan_send gs_chan_recv gs_chan_close gs_chan_free
 */
#include <pthread.h>

#include "bench.h"

static gs_chan *ping, *pong;
static int64_t rounds;
static int64_t elapsed_ns, token;

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
}

static void *thread_side(void *arg) {
    (void)arg;
    int64_t v = 0;
    int64_t start = now_ns();
    for (int64_t i = 0; i < rounds; i++) {
        check(gs_chan_send(ping, &v), "thread: gs_chan_send");
        check(gs_chan_recv(pong, &v), "thread: gs_chan_recv");
    }
    elapsed_ns = now_ns() - start;
    token = v;
    check(gs_chan_close(ping), "gs_chan_close");
    return NULL;
}

int main(int argc, char **argv) {
    bench_opts o = bench_parse(argc, argv);
    rounds = bench_default(o.n, 100000);
    check(gs_init(NULL), "gs_init");
    ping = gs_chan_new(sizeof(int64_t), 0);
    pong = gs_chan_new(sizeof(int64_t), 0);
    if (!ping || !pong)
        fail("gs_chan_new");
    check(gs_go(echo, NULL), "gs_go");
    pthread_t t;
    if (pthread_create(&t, NULL, thread_side, NULL) != 0)
        fail("pthread_create");
    pthread_join(t, NULL);
    check(gs_wait(-1), "gs_wait");
    if (token != rounds)
        fail("foreign_pingpong token=%lld want %lld", (long long)token, (long long)rounds);
    result("foreign_pingpong", rounds, (double)elapsed_ns / (double)rounds, "ns/roundtrip", NULL);
    check(gs_chan_free(ping), "gs_chan_free");
    check(gs_chan_free(pong), "gs_chan_free");
    check(gs_shutdown(), "gs_shutdown");
    return 0;
}
