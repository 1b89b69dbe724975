/*
 * A goroutine that loops on gs_gosched until a flag is set does not starve the
 * goroutine that sets it, at nprocs 1, wherever that goroutine comes from: spawned
 * by a foreign thread (global queue), spawned by the spinner (its P's queue), or
 * parked and readied by a foreign thread while several spinners keep the P's own
 * queue non-empty.
 */
#include "common.h"

#define STARVED_NS (20LL * 1000 * 1000 * 1000)

static atomic_bool flag;
static atomic_int spinning;
static atomic_long spins;
static _Atomic(gs_g *) setter_handle;

static void spinner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinning, 1);
    while (!atomic_load(&flag)) {
        CHECK_RC(gs_gosched(), 0);
        atomic_fetch_add(&spins, 1);
    }
}

static void setter(void *arg)
{
    (void)arg;
    atomic_store(&flag, true);
}

static void spawning_spinner(void *arg)
{
    (void)arg;
    CHECK_OK(gs_go(setter, NULL));
    spinner(NULL);
}

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void parked_setter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_park(publish, &setter_handle, "wait for main"), 0);
    atomic_store(&flag, true);
}

static void finish(const char *what)
{
    int rc = gs_wait(STARVED_NS);
    if (rc != 0) {
        gs_dump(2);
        FAIL("%s: gs_wait returned %d (%s): the setter starved", what, rc, gs_strerror(rc));
    }
    CHECK(atomic_load(&flag));
    printf("%s: the spinners yielded %ld times before the flag was set\n", what,
           atomic_load(&spins));
}

static void reset(void)
{
    atomic_store(&flag, false);
    atomic_store(&spinning, 0);
    atomic_store(&spins, 0);
    atomic_store(&setter_handle, NULL);
}

int main(void)
{
    init_procs(1);

    reset();
    CHECK_OK(gs_go(spinner, NULL));
    while (atomic_load(&spinning) == 0)
        sched_yield();
    CHECK_OK(gs_go(setter, NULL));
    finish("setter spawned by a foreign thread");

    reset();
    CHECK_OK(gs_go(spawning_spinner, NULL));
    finish("setter spawned by the spinner");

    reset();
    CHECK_OK(gs_go(parked_setter, NULL));
    for (int i = 0; i < 3; i++)
        CHECK_OK(gs_go(spinner, NULL));
    while (atomic_load(&spinning) < 3 || atomic_load(&setter_handle) == NULL)
        sched_yield();
    /* Let the spinners keep the P's queue busy for a moment first. */
    sleep_ms(20);
    CHECK(!atomic_load(&flag));
    CHECK_RC(gs_ready(atomic_load(&setter_handle)), 0);
    finish("setter readied by a foreign thread among 3 spinners");

    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
