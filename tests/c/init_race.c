/*
 * Two threads call gs_init at the same moment: exactly one gets 0 and the other
 * GS_EALREADY, and the runtime that won works. A third thread calls gs_go meanwhile
 * and sees either GS_ENOTINIT (too early) or a goroutine that runs. 50 rounds, each
 * ended by gs_shutdown.
 */
#include "common.h"

#define ROUNDS 50

static pthread_barrier_t start;
static atomic_int ran;

static void count_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void *initer(void *arg)
{
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nprocs = (uint32_t)(uintptr_t)arg;
    pthread_barrier_wait(&start);
    return (void *)(intptr_t)gs_init(&cfg);
}

static void *spawner(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    for (;;) {
        int64_t id = gs_go(count_run, NULL);
        if (id > 0)
            return NULL;
        if (id != GS_ENOTINIT)
            FAIL("gs_go during gs_init returned %lld (%s)", (long long)id,
                 gs_strerror((int)id));
        sched_yield();
    }
}

int main(void)
{
    for (int round = 0; round < ROUNDS; round++) {
        atomic_store(&ran, 0);
        CHECK(pthread_barrier_init(&start, NULL, 3) == 0);
        pthread_t a, b, c;
        CHECK(pthread_create(&a, NULL, initer, (void *)(uintptr_t)1) == 0);
        CHECK(pthread_create(&b, NULL, initer, (void *)(uintptr_t)2) == 0);
        CHECK(pthread_create(&c, NULL, spawner, NULL) == 0);
        void *ra, *rb;
        CHECK(pthread_join(a, &ra) == 0);
        CHECK(pthread_join(b, &rb) == 0);
        CHECK(pthread_join(c, NULL) == 0);
        int rca = (int)(intptr_t)ra, rcb = (int)(intptr_t)rb;
        if (!((rca == 0 && rcb == GS_EALREADY) || (rca == GS_EALREADY && rcb == 0)))
            FAIL("round %d: racing gs_init returned %d and %d", round, rca, rcb);
        /* The winner's configuration is the one in force. */
        CHECK_EQ(stats_now().procs, rca == 0 ? 1 : 2);
        WAIT_ALL();
        CHECK_EQ(atomic_load(&ran), 1);
        CHECK_RC(gs_shutdown(), 0);
        CHECK(pthread_barrier_destroy(&start) == 0);
    }
    printf("%d rounds of racing gs_init\n", ROUNDS);
    return 0;
}
