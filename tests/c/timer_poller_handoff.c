/*
 * Timers stay watched when the M that waited for them in the poller leaves: gs_main's
 * thread leaves the scheduler when its main goroutine ends, and it may be the idle M
 * blocked in the poller until the next timer of every P. Another goroutine's sleep
 * must still end on time.
 */
#include "common.h"

static gs_chan *go_on;
static atomic_bool stop_naps;

/* Short sleeps on every P: timers fire on whichever M runs them, so the main
 * goroutine is often readied and resumed on another M than gs_main's. */
static void napper(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_naps))
        CHECK_RC(gs_sleep(100000), 0);
}

static void sleeper(void *arg)
{
    int64_t *late = arg;
    int64_t t0 = mono_ns();
    CHECK_RC(gs_sleep(30 * 1000000LL), 0);
    *late = mono_ns() - t0 - 30 * 1000000LL;
}

static void main_goroutine(void *arg)
{
    (void)arg;
    uint64_t v;
    CHECK_RC(gs_chan_recv(go_on, &v), 0); /* parks; a foreign thread sends */
    for (int i = 0; i < 10; i++)
        CHECK_RC(gs_sleep(200000), 0);
    atomic_store(&stop_naps, true);
}

static void *feeder(void *arg)
{
    (void)arg;
    sleep_ms(5);
    uint64_t v = 1;
    CHECK_RC(gs_chan_send(go_on, &v), 0);
    return NULL;
}

int main(void)
{
    for (uint32_t procs = 1; procs <= 8; procs *= 2) {
        int64_t worst = 0;
        for (int round = 0; round < 50; round++) {
            init_procs(procs);
            go_on = gs_chan_new(sizeof(uint64_t), 0);
            CHECK(go_on != NULL);
            int64_t late = -1;
            atomic_store(&stop_naps, false);
            CHECK_OK(gs_go(sleeper, &late));
            for (uint32_t i = 0; i < procs; i++)
                CHECK_OK(gs_go(napper, NULL));
            pthread_t t;
            CHECK(pthread_create(&t, NULL, feeder, NULL) == 0);
            CHECK_RC(gs_main(main_goroutine, NULL), 0);
            CHECK(pthread_join(t, NULL) == 0);
            int rc = gs_wait(5LL * 1000000000);
            if (rc != 0) {
                gs_dump(2);
                FAIL("nprocs %u round %d: the sleeper's 30 ms timer did not fire in 5 s", procs,
                     round);
            }
            CHECK(late >= 0);
            if (late > worst)
                worst = late;
            CHECK_RC(gs_chan_free(go_on), 0);
            CHECK_RC(gs_shutdown(), 0);
        }
        printf("nprocs %u: the sleeper woke on time after gs_main's thread left (worst %.2f ms late)\n",
               procs, (double)worst / 1e6);
    }
    return 0;
}
