/*
 * gs_stats_get's waiting count (kept per M, see runtime/gstats.rs) across the end of
 * gs_main calls: the goroutines that each gs_main's goroutine starts park, some of
 * them on the calling thread's M (which runs goroutines until its own returns);
 * that M then leaves with gs_main, and the counts it kept must stay in the sum.
 * Then a foreign thread wakes them one by one (counted without an M) and the count
 * goes back down to what it was.
 */
#include "common.h"

enum { N = 8, ROUNDS = 40 };

static gs_chan *hold;

static void parked(void *arg)
{
    (void)arg;
    int v;
    CHECK_RC(gs_chan_recv(hold, &v), 0);
}

static void main_g(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        CHECK(gs_go(parked, NULL) > 0);
        CHECK_RC(gs_gosched(), 0); /* lets them run (and park) here */
    }
}

static uint64_t waiting_now(void)
{
    gs_stats st;
    CHECK_RC(gs_stats_get(&st), 0);
    return st.waiting;
}

int main(void)
{
    gs_config cfg = {0};
    cfg.nprocs = 2;
    CHECK_RC(gs_init(&cfg), 0);
    hold = gs_chan_new(sizeof(int), 0);
    CHECK(hold != NULL);
    uint64_t before = waiting_now();
    for (int r = 0; r < ROUNDS; r++)
        CHECK_RC(gs_main(main_g, NULL), 0);
    int64_t deadline = gs_nanotime() + 10LL * 1000 * 1000 * 1000;
    while (waiting_now() < before + N * ROUNDS && gs_nanotime() < deadline)
        usleep(1000); /* the last ones may not have parked yet */
    CHECK_EQ(waiting_now(), before + N * ROUNDS);
    for (int i = 0; i < N * ROUNDS; i++) {
        int v = i;
        CHECK_RC(gs_chan_send(hold, &v), 0);
    }
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK_EQ(waiting_now(), before);
    CHECK_RC(gs_chan_free(hold), 0);
    CHECK(gs_shutdown() >= 0);
    printf("stats_counters_main: %d goroutines parked by %d gs_main calls, counted after they left: OK\n",
           N * ROUNDS, ROUNDS);
    return 0;
}
