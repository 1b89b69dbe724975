/*
 * Foreign threads keep calling gs_go, gs_ready, gs_stats_get and gs_close while the
 * main thread initializes and shuts down the runtime 100 times: every call returns
 * success or the documented GS_ENOTINIT / GS_ESHUTDOWN (GS_EINVAL for a handle that
 * no longer names a parked goroutine), nothing crashes or hangs, and no thread is
 * left behind. (gs_close looks up the fd's poll descriptor in the runtime of the
 * moment: through a foreign pass, so that the shutdown does not free it meanwhile.)
 * A handle from a runtime that was shut down names nobody in the next one.
 */
#include "common.h"

#define CYCLES 100
#define HAMMERS 3
#define PARKERS 20

static atomic_bool stop;
static atomic_long spawned, refused;
static _Atomic(gs_g *) mailbox;

static void nothing(void *arg)
{
    (void)arg;
}

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void parker(void *arg)
{
    (void)arg;
    gs_park(publish, &mailbox, "readied by a hammer, or abandoned");
}

static void *hammer(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int64_t id = gs_go(nothing, NULL);
        if (id > 0)
            atomic_fetch_add(&spawned, 1);
        else if (id == GS_ENOTINIT || id == GS_ESHUTDOWN)
            atomic_fetch_add(&refused, 1);
        else
            FAIL("gs_go during init/shutdown returned %lld (%s)", (long long)id,
                 gs_strerror((int)id));
        gs_stats st;
        int rc = gs_stats_get(&st);
        if (rc != 0 && rc != GS_ENOTINIT && rc != GS_ESHUTDOWN)
            FAIL("gs_stats_get during init/shutdown returned %d (%s)", rc, gs_strerror(rc));
        gs_g *h = atomic_exchange(&mailbox, NULL);
        if (h != NULL) {
            rc = gs_ready(h);
            if (rc != 0 && rc != GS_EINVAL && rc != GS_ENOTINIT && rc != GS_ESHUTDOWN)
                FAIL("gs_ready during init/shutdown returned %d (%s)", rc, gs_strerror(rc));
        }
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        CHECK_RC(gs_close(p[0]), 0);
        CHECK_RC(gs_close(p[1]), 0);
    }
    return NULL;
}

static _Atomic(gs_g *) previous;

static void remember(void *arg)
{
    (void)arg;
    atomic_store(&previous, gs_self());
    gs_park(NULL, NULL, "abandoned");
}

int main(void)
{
    pthread_t th[HAMMERS];
    for (int i = 0; i < HAMMERS; i++)
        CHECK(pthread_create(&th[i], NULL, hammer, NULL) == 0);
    for (int c = 0; c < CYCLES; c++) {
        init_procs(1 + (uint32_t)(c % 3));
        for (int i = 0; i < PARKERS; i++)
            CHECK_OK(gs_go(parker, NULL));
        sleep_ms(1);
        int rc = gs_shutdown();
        if (rc < 0)
            FAIL("cycle %d: gs_shutdown returned %d (%s)", c, rc, gs_strerror(rc));
    }
    atomic_store(&stop, true);
    for (int i = 0; i < HAMMERS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    printf("%ld goroutines spawned and %ld calls refused across %d cycles\n",
           atomic_load(&spawned), atomic_load(&refused), CYCLES);
    CHECK(atomic_load(&spawned) > 0);
    CHECK_EQ(count_dir_entries("/proc/self/task"), 1);

    /* A handle of a goroutine abandoned by the previous runtime. */
    init_procs(1);
    CHECK_OK(gs_go(remember, NULL));
    WAIT_PARKED(1, 10000);
    gs_g *old = atomic_load(&previous);
    CHECK(old != NULL);
    CHECK_EQ(gs_shutdown(), 1);
    init_procs(1);
    atomic_store(&mailbox, NULL);
    CHECK_OK(gs_go(parker, NULL));
    WAIT_PARKED(1, 10000);
    CHECK_RC(gs_ready(old), GS_EINVAL);
    CHECK_EQ(stats_now().waiting, 1);
    CHECK_RC(gs_ready(atomic_load(&mailbox)), 0);
    WAIT_ALL();
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
