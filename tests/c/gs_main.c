/*
 * gs_main runs fn as a goroutine (initializing the runtime with defaults if needed)
 * and returns 0 once fn returns, while the goroutines fn started keep running:
 * some are still parked when gs_main returns and are readied from the main thread
 * afterwards, one keeps yielding for a while. Other goroutines run while fn runs.
 * It can be called again on the same runtime. gs_main(NULL) gives GS_EINVAL and
 * initializes nothing.
 */
#include "common.h"

#define LINGERING 10
#define LATE_YIELDS 2000

static _Atomic(gs_g *) handle[LINGERING];
static atomic_int lingering_done;
static atomic_bool companion_ran;
static atomic_bool late_done;
static atomic_int fn_runs;
static atomic_bool fn_returned;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void lingering(void *arg)
{
    CHECK_RC(gs_park(publish, arg, "outlives gs_main"), 0);
    atomic_fetch_add(&lingering_done, 1);
}

static void companion(void *arg)
{
    (void)arg;
    atomic_store(&companion_ran, true);
}

static void late(void *arg)
{
    (void)arg;
    while (!atomic_load(&fn_returned))
        CHECK_RC(gs_gosched(), 0);
    for (int i = 0; i < LATE_YIELDS; i++)
        CHECK_RC(gs_gosched(), 0);
    atomic_store(&late_done, true);
}

static void main_fn(void *arg)
{
    CHECK(arg == (void *)&fn_runs);
    CHECK(gs_self() != NULL);
    CHECK(gs_goid() > 0);
    atomic_store(&companion_ran, false);
    CHECK_OK(gs_go(companion, NULL));
    while (!atomic_load(&companion_ran))
        CHECK_RC(gs_gosched(), 0);
    if (atomic_fetch_add(&fn_runs, 1) == 0) {
        for (int i = 0; i < LINGERING; i++)
            CHECK_OK(gs_go(lingering, &handle[i]));
        CHECK_OK(gs_go(late, NULL));
    }
}

static void *main_from_thread(void *arg)
{
    (void)arg;
    CHECK_RC(gs_main(main_fn, &fn_runs), 0);
    return NULL;
}

int main(void)
{
    CHECK_RC(gs_main(NULL, NULL), GS_EINVAL);
    CHECK_RC(gs_go(companion, NULL), GS_ENOTINIT);

    /* Not initialized: gs_main does it with defaults. */
    CHECK_RC(gs_main(main_fn, &fn_runs), 0);
    atomic_store(&fn_returned, true);
    CHECK_EQ(atomic_load(&fn_runs), 1);
    CHECK(gs_self() == NULL); /* back to a plain thread */
    WAIT_PARKED(LINGERING, 10000);
    CHECK_EQ(atomic_load(&lingering_done), 0);
    for (int i = 0; i < LINGERING; i++)
        CHECK_RC(gs_ready(atomic_load(&handle[i])), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&lingering_done), LINGERING);
    CHECK(atomic_load(&late_done));

    /* Again, on the running runtime, from another thread. */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, main_from_thread, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ(atomic_load(&fn_runs), 2);
    CHECK_RC(gs_shutdown(), 0);

    /* With a runtime initialized by gs_init: gs_main uses it. */
    init_procs(3);
    CHECK_RC(gs_main(main_fn, &fn_runs), 0);
    CHECK_EQ(atomic_load(&fn_runs), 3);
    CHECK_EQ(stats_now().procs, 3);
    WAIT_ALL();
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
