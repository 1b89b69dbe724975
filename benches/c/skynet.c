/* skynet (https://github.com/atemerev/skynet): a 10-ary tree of goroutines with n
 * leaves (1,000,000 leaves: 1,111,111 goroutines). Each leaf sends its number up
 * an unbuffered channel; each inner node makes one channel for its 10 children,
 * sums what they send and sends the sum up. Whole run in ms. Checked: the sum is
 * n(n-1)/2 (499999500000 for the default n). n must be a power of 10.
 *
 * A child's arguments are copied into it by gs_go_copy, as Go's `go skynet(...)`
 * copies them into the new goroutine; -args malloc passes them in a malloc'd block
 * that the child frees instead (the glibc malloc/free pair then costs about 12% of
 * the run). Where Go's garbage collector reclaims channels, each inner node frees
 * its channel once all 10 children have delivered.
 *
 * bench-needs: gs_chan_new gs_chan_send gs_chan_recv gs_chan_free gs_go_copy
 */
#include "bench.h"

enum { DIV = 10 };

typedef struct node_arg {
    gs_chan *c;
    int64_t num, size;
} node_arg;

static int args_malloc; /* -args malloc */

static void skynet(void *p);

/* Starts skynet(a) with its arguments copied in (or in a malloc'd block). */
static void spawn(node_arg a) {
    if (args_malloc) {
        node_arg *cp = malloc(sizeof *cp);
        if (!cp)
            fail("malloc");
        *cp = a;
        check(gs_go(skynet, cp), "gs_go");
    } else {
        check(gs_go_copy(skynet, &a, sizeof a), "gs_go_copy");
    }
}

static void skynet(void *p) {
    node_arg a = *(node_arg *)p;
    if (args_malloc)
        free(p);
    if (a.size == 1) {
        check(gs_chan_send(a.c, &a.num), "leaf: gs_chan_send");
        return;
    }
    gs_chan *rc = gs_chan_new(sizeof(int64_t), 0);
    if (!rc)
        fail("gs_chan_new");
    int64_t sub = a.size / DIV;
    for (int64_t i = 0; i < DIV; i++)
        spawn((node_arg){rc, a.num + i * sub, sub});
    int64_t sum = 0, v;
    for (int64_t i = 0; i < DIV; i++) {
        check(gs_chan_recv(rc, &v), "node: gs_chan_recv");
        sum += v;
    }
    check(gs_chan_free(rc), "gs_chan_free");
    check(gs_chan_send(a.c, &sum), "node: gs_chan_send");
}

static int64_t leaves;

static void bench_main(void *arg) {
    (void)arg;
    gs_chan *c = gs_chan_new(sizeof(int64_t), 0);
    if (!c)
        fail("gs_chan_new");
    int64_t start = now_ns();
    spawn((node_arg){c, 0, leaves});
    int64_t sum = 0;
    check(gs_chan_recv(c, &sum), "main: gs_chan_recv");
    int64_t el = now_ns() - start;
    int64_t want = leaves * (leaves - 1) / 2;
    if (sum != want)
        fail("skynet sum=%lld want %lld", (long long)sum, (long long)want);
    char extra[64];
    snprintf(extra, sizeof extra, "sum=%lld args=%s", (long long)sum, args_malloc ? "malloc" : "copy");
    result("skynet", leaves, (double)el / 1e6, "ms", extra);
}

int main(int argc, char **argv) {
    /* -args copy|malloc (before the common options) */
    if (argc >= 3 && strcmp(argv[1], "-args") == 0) {
        if (strcmp(argv[2], "malloc") == 0)
            args_malloc = 1;
        else if (strcmp(argv[2], "copy") != 0)
            fail("skynet: -args takes copy or malloc");
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
    }
    bench_opts o = bench_parse(argc, argv);
    leaves = bench_default(o.n, 1000000);
    int64_t k = leaves;
    while (k % DIV == 0)
        k /= DIV;
    if (k != 1)
        fail("skynet: -n must be a power of 10");
    bench_run_main(bench_main, NULL);
    return 0;
}
