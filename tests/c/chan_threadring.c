/*
 * thread-ring, reduced (the benchmark passes the token 50,000,000 hops): 503
 * goroutines in a ring, each with its own unbuffered channel, pass a token that
 * starts at 1,000,000 and is decremented at every hop. The goroutine that receives
 * 0 reports its id, which must be 1,000,000 mod 503 + 1 = 37 (ids from 1). It then
 * closes every channel, and the others end on GS_ECLOSED. Run at nprocs 1 and 2.
 */
#include "common.h"

#define RING 503
#define HOPS 1000000

static gs_chan *ring[RING];
static gs_chan *answer;

static void member(void *arg)
{
    int id = (int)(uintptr_t)arg; /* 1-based */
    gs_chan *in = ring[id - 1], *out = ring[id % RING];
    for (;;) {
        int token;
        int rc = gs_chan_recv(in, &token);
        if (rc == GS_ECLOSED)
            return;
        CHECK_RC(rc, 0);
        if (token == 0) {
            CHECK_RC(gs_chan_send(answer, &id), 0);
            for (int i = 0; i < RING; i++)
                CHECK_RC(gs_chan_close(ring[i]), 0);
            return;
        }
        token--;
        CHECK_RC(gs_chan_send(out, &token), 0);
    }
}

static void run(uint32_t nprocs)
{
    init_procs(nprocs);
    answer = gs_chan_new(sizeof(int), 1);
    CHECK(answer);
    for (int i = 0; i < RING; i++) {
        ring[i] = gs_chan_new(sizeof(int), 0);
        CHECK(ring[i]);
    }
    for (int i = 1; i <= RING; i++)
        CHECK(gs_go(member, (void *)(uintptr_t)i) > 0);
    int64_t t0 = mono_ns();
    int token = HOPS;
    CHECK_RC(gs_chan_send(ring[0], &token), 0);
    int id = 0;
    CHECK_RC(gs_chan_recv(answer, &id), 0);
    int64_t t1 = mono_ns();
    WAIT_ALL();
    CHECK_EQ(id, HOPS % RING + 1);
    printf("nprocs=%u: %d hops in %.1f ms (%.0f ns/hop), winner %d\n", nprocs, HOPS, (t1 - t0) / 1e6,
           (double)(t1 - t0) / HOPS, id);
    for (int i = 0; i < RING; i++)
        CHECK_RC(gs_chan_free(ring[i]), 0);
    CHECK_RC(gs_chan_free(answer), 0);
    CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    run(1);
    run(2);
    return 0;
}
