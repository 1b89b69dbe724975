/*
 * skynet, reduced (the benchmark runs 1,000,000 leaves): a tree of goroutines, each
 * inner node making its own unbuffered channel, starting 10 children and summing
 * what they send on it; the 100,000 leaves send their number. The root's sum must be
 * 0 + 1 + ... + 99,999 = 4,999,950,000. 111,111 goroutines and 11,111 channels per
 * run; run at nprocs 1 and 2, the root once as a goroutine and once called by the
 * foreign main thread (which then receives from goroutines).
 */
#include "common.h"

#define LEAVES 100000
#define WANT 4999950000LL

typedef struct node {
    gs_chan *parent;
    int64_t num;
    int64_t size;
} node;

static void skynet(void *arg);

/* Starts the children of [num, num+size) and returns their sum. */
static int64_t fan_out(int64_t num, int64_t size)
{
    gs_chan *c = gs_chan_new(sizeof(int64_t), 0);
    CHECK(c != NULL);
    int64_t step = size / 10;
    node kids[10];
    for (int i = 0; i < 10; i++) {
        kids[i] = (node){c, num + i * step, step};
        /* kids[] lives until all 10 values arrived, so children may read it late. */
        if (gs_go(skynet, &kids[i]) <= 0)
            FAIL("gs_go failed");
    }
    int64_t sum = 0;
    for (int i = 0; i < 10; i++) {
        int64_t v;
        CHECK_RC(gs_chan_recv(c, &v), 0);
        sum += v;
    }
    CHECK_RC(gs_chan_free(c), 0);
    return sum;
}

static void skynet(void *arg)
{
    node *n = arg;
    gs_chan *parent = n->parent;
    int64_t v = n->size == 1 ? n->num : fan_out(n->num, n->size);
    CHECK_RC(gs_chan_send(parent, &v), 0);
}

static void run(uint32_t nprocs, bool root_is_goroutine)
{
    init_procs(nprocs);
    int64_t t0 = mono_ns(), sum;
    if (root_is_goroutine) {
        gs_chan *result = gs_chan_new(sizeof(int64_t), 1);
        CHECK(result);
        node root = {result, 0, LEAVES};
        CHECK(gs_go(skynet, &root) > 0);
        CHECK_RC(gs_chan_recv(result, &sum), 0);
        CHECK_RC(gs_chan_free(result), 0);
    } else {
        sum = fan_out(0, LEAVES);
    }
    int64_t t1 = mono_ns();
    WAIT_ALL();
    CHECK_EQ(sum, WANT);
    printf("nprocs=%u root %s: sum %lld in %.1f ms\n", nprocs, root_is_goroutine ? "goroutine" : "thread",
           (long long)sum, (t1 - t0) / 1e6);
    CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    run(1, true);
    run(2, true);
    run(2, false);
    return 0;
}
