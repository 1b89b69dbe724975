/*
 * Every bad-input case of gosched.h for the core, with the runtime initialized:
 * bad arguments give GS_EINVAL, calls from the wrong context GS_EPERM (a foreign
 * thread parking or yielding; a goroutine, or an unlockf on the scheduler's stack,
 * waiting for or shutting down the runtime or running host goroutines; a thread
 * other than gs_init's running host goroutines), a second gs_init GS_EALREADY, and
 * gs_ready refuses every goroutine that is not parked through gs_park (running,
 * runnable, already readied, exited with its memory reused) without changing
 * anything. gs_strerror has a distinct message for every code.
 */
#include "common.h"

static atomic_int ran;

static void count_run(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

/* Spins (yielding) until *slot holds a handle. */
static gs_g *await_handle(_Atomic(gs_g *) *slot)
{
    gs_g *h;
    while ((h = atomic_load(slot)) == NULL)
        CHECK_RC(gs_gosched(), 0);
    return h;
}

/* --- bad configuration and bad arguments --- */

static void check_config_errors(void)
{
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nprocs = 1025;
    CHECK_RC(gs_init(&cfg), GS_EINVAL);
    memset(&cfg, 0, sizeof cfg);
    cfg.stack_size = 4096;
    CHECK_RC(gs_init(&cfg), GS_EINVAL);
    memset(&cfg, 0, sizeof cfg);
    cfg.stack_size = (size_t)4 << 30;
    CHECK_RC(gs_init(&cfg), GS_EINVAL);
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = 0x80000000u;
    CHECK_RC(gs_init(&cfg), GS_EINVAL);
    /* None of them left a runtime behind. */
    CHECK_RC(gs_go(count_run, NULL), GS_ENOTINIT);
}

static void check_go_errors(void)
{
    gs_go_opts opts;
    CHECK_RC(gs_go(NULL, NULL), GS_EINVAL);
    CHECK_RC(gs_go_with(NULL, NULL, NULL), GS_EINVAL);
    memset(&opts, 0, sizeof opts);
    CHECK_RC(gs_go_with(NULL, NULL, &opts), GS_EINVAL);
    opts.flags = 0x80000000u;
    CHECK_RC(gs_go_with(count_run, NULL, &opts), GS_EINVAL);
    opts.flags = 0x40;
    CHECK_RC(gs_go_with(count_run, NULL, &opts), GS_EINVAL);
    opts.flags = 0;
    opts.stack_size = 1;
    CHECK_RC(gs_go_with(count_run, NULL, &opts), GS_EINVAL);
    opts.stack_size = (16 << 10) - 1;
    CHECK_RC(gs_go_with(count_run, NULL, &opts), GS_EINVAL);
    opts.stack_size = (size_t)2 << 30;
    CHECK_RC(gs_go_with(count_run, NULL, &opts), GS_EINVAL);
    opts.stack_size = SIZE_MAX;
    CHECK_RC(gs_go_with(count_run, NULL, &opts), GS_EINVAL);
    /* The limits themselves are fine. */
    opts.stack_size = 16 << 10;
    CHECK_OK(gs_go_with(count_run, NULL, &opts));
    opts.stack_size = 1 << 20;
    opts.name = "one-mebibyte";
    CHECK_OK(gs_go_with(count_run, NULL, &opts));
    opts.stack_size = (size_t)1 << 30;
    opts.name = "one-gibibyte";
    CHECK_OK(gs_go_with(count_run, NULL, &opts));
    CHECK_OK(gs_go_with(count_run, NULL, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&ran), 4);

    gs_stats st;
    (void)st;
    CHECK_RC(gs_stats_get(NULL), GS_EINVAL);
    CHECK_RC(gs_dump(-1), GS_EINVAL);
    CHECK_RC(gs_main(NULL, NULL), GS_EINVAL);
    CHECK_RC(gs_ready(NULL), GS_EINVAL);
    /* Handles that were never given out. */
    CHECK_RC(gs_ready((gs_g *)(uintptr_t)1), GS_EINVAL);
    CHECK_RC(gs_ready((gs_g *)(uintptr_t)0xdeadbeef), GS_EINVAL);
    CHECK_RC(gs_ready((gs_g *)UINTPTR_MAX), GS_EINVAL);
    CHECK_RC(gs_ready((gs_g *)&st), GS_EINVAL);
}

static void check_off_goroutine(void)
{
    CHECK_RC(gs_park(NULL, NULL, "x"), GS_EPERM);
    CHECK_RC(gs_park(publish, NULL, "x"), GS_EPERM);
    CHECK_RC(gs_gosched(), GS_EPERM);
    CHECK(gs_self() == NULL);
    CHECK_EQ(gs_goid(), 0);
    CHECK_RC(gs_lock_os_thread(), GS_EPERM);
    CHECK_RC(gs_unlock_os_thread(), GS_EPERM);
    CHECK(!gs_should_yield());
    gs_goexit(); /* returns off-goroutine */
}

static void *off_goroutine_thread(void *arg)
{
    (void)arg;
    check_off_goroutine();
    /* Not the thread that called gs_init: not the host thread. */
    CHECK_RC(gs_run_for(0), GS_EPERM);
    return NULL;
}

/* --- calls that only a foreign thread may make --- */

static void wrong_context(void *arg)
{
    (void)arg;
    CHECK(gs_self() != NULL);
    CHECK(gs_goid() > 0);
    CHECK_RC(gs_main(count_run, NULL), GS_EPERM);
    CHECK_RC(gs_wait(-1), GS_EPERM);
    CHECK_RC(gs_wait(0), GS_EPERM);
    CHECK_RC(gs_shutdown(), GS_EPERM);
    CHECK_RC(gs_run_for(0), GS_EPERM);
    CHECK_RC(gs_init(NULL), GS_EALREADY);
    /* Still running: spawning works. */
    CHECK_OK(gs_go(count_run, NULL));
}

/* --- calls from an unlockf: it runs on the scheduler's stack, not a goroutine's --- */

static atomic_int in_unlockf_ran;

static bool calls_in_unlockf(gs_g *g, void *arg)
{
    (void)arg;
    CHECK(g != NULL);
    CHECK(gs_self() == NULL);
    CHECK_EQ(gs_goid(), 0);
    /* Blocking or switching here would wreck the scheduler: refused. */
    CHECK_RC(gs_park(NULL, NULL, "x"), GS_EPERM);
    CHECK_RC(gs_gosched(), GS_EPERM);
    CHECK_RC(gs_wait(0), GS_EPERM);
    CHECK_RC(gs_wait(-1), GS_EPERM);
    CHECK_RC(gs_shutdown(), GS_EPERM);
    CHECK_RC(gs_main(count_run, NULL), GS_EPERM);
    CHECK_RC(gs_run_for(0), GS_EPERM);
    CHECK_RC(gs_park_timeout(NULL, NULL, "x", 0), GS_EPERM);
    CHECK_RC(gs_lock_os_thread(), GS_EPERM);
    CHECK_RC(gs_unlock_os_thread(), GS_EPERM);
    CHECK_RC(gs_init(NULL), GS_EALREADY);
    /* Reading the runtime is fine. */
    gs_stats st;
    CHECK_RC(gs_stats_get(&st), 0);
    CHECK_EQ(st.procs, 1);
    /* Spawning from here is fine. */
    CHECK_OK(gs_go(count_run, NULL));
    atomic_fetch_add(&in_unlockf_ran, 1);
    return false;
}

static void park_with_calls(void *arg)
{
    (void)arg;
    CHECK_RC(gs_park(calls_in_unlockf, NULL, "checking calls from unlockf"), 0);
    CHECK_EQ(atomic_load(&in_unlockf_ran), 1);
}

/* --- gs_ready on goroutines that are not parked (nprocs 1: deterministic) --- */

static _Atomic(gs_g *) y_handle;
static atomic_int y_state; /* 1: about to yield, 2: resumed after the yield */
static atomic_int y_woke;

static void yielder(void *arg)
{
    (void)arg;
    atomic_store(&y_handle, gs_self());
    atomic_store(&y_state, 1);
    CHECK_RC(gs_gosched(), 0);
    atomic_store(&y_state, 2);
}

static void parker(void *arg)
{
    CHECK_RC(gs_park(publish, arg, "parked once"), 0);
    atomic_fetch_add(&y_woke, 1);
}

static void ready_not_parked(void *arg)
{
    (void)arg;
    gs_g *self = gs_self();
    /* Running. */
    CHECK_RC(gs_ready(self), GS_EINVAL);

    /* Runnable: the yielder is on our P's queue while we run. */
    atomic_store(&y_handle, NULL);
    atomic_store(&y_state, 0);
    CHECK_OK(gs_go(yielder, NULL));
    CHECK_RC(gs_gosched(), 0);
    CHECK_EQ(atomic_load(&y_state), 1);
    CHECK_RC(gs_ready(atomic_load(&y_handle)), GS_EINVAL);
    CHECK_EQ(atomic_load(&y_state), 1);
    while (atomic_load(&y_state) != 2)
        CHECK_RC(gs_gosched(), 0);

    /* Readied twice: the second finds it runnable. */
    _Atomic(gs_g *) slot = NULL;
    atomic_store(&y_woke, 0);
    CHECK_OK(gs_go(parker, &slot));
    gs_g *h = await_handle(&slot);
    CHECK_RC(gs_ready(h), 0);
    CHECK_RC(gs_ready(h), GS_EINVAL);
    CHECK_EQ(atomic_load(&y_woke), 0);
    while (atomic_load(&y_woke) == 0)
        CHECK_RC(gs_gosched(), 0);
    /* Exited (not yet reused). */
    CHECK_RC(gs_gosched(), 0);
    CHECK_RC(gs_ready(h), GS_EINVAL);
    CHECK_EQ(atomic_load(&y_woke), 1);
}

/* --- a stale handle after the G's memory was reused --- */

#define REUSERS 200
static _Atomic(gs_g *) victim_handle;
static _Atomic(gs_g *) reuser_handle[REUSERS];
static atomic_int reusers_woke;

static void victim(void *arg)
{
    (void)arg;
    atomic_store(&victim_handle, gs_self());
}

static void reuser(void *arg)
{
    CHECK_RC(gs_park(publish, arg, "reusing a dead G"), 0);
    atomic_fetch_add(&reusers_woke, 1);
}

static void spawn_reusers(void *arg)
{
    (void)arg;
    for (int i = 0; i < REUSERS; i++)
        CHECK_OK(gs_go(reuser, &reuser_handle[i]));
}

static void check_stale_handle(void)
{
    atomic_store(&victim_handle, NULL);
    atomic_store(&reusers_woke, 0);
    for (int i = 0; i < REUSERS; i++)
        atomic_store(&reuser_handle[i], NULL);
    CHECK_OK(gs_go(victim, NULL));
    WAIT_ALL();
    gs_g *old = atomic_load(&victim_handle);
    CHECK(old != NULL);
    CHECK_RC(gs_ready(old), GS_EINVAL);
    /* Spawned from a goroutine on the victim's P, so they take its free G first. */
    CHECK_OK(gs_go(spawn_reusers, NULL));
    WAIT_PARKED(REUSERS, 10000);
    for (int i = 0; i < REUSERS; i++)
        CHECK(reuser_handle[i] != old);
    CHECK_RC(gs_ready(old), GS_EINVAL);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&reusers_woke), 0);
    CHECK_EQ(stats_now().waiting, REUSERS);
    for (int i = 0; i < REUSERS; i++)
        CHECK_RC(gs_ready(atomic_load(&reuser_handle[i])), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&reusers_woke), REUSERS);
    CHECK_RC(gs_ready(old), GS_EINVAL);
    for (int i = 0; i < REUSERS; i++)
        CHECK_RC(gs_ready(atomic_load(&reuser_handle[i])), GS_EINVAL);
}

/* --- gs_strerror --- */

static void check_strerror(void)
{
    const int codes[] = {GS_EINVAL,    GS_ENOMEM,   GS_EAGAIN,   GS_ETIMEDOUT,
                         GS_EALREADY,  GS_EPERM,    GS_ENOTINIT, GS_ESHUTDOWN,
                         GS_ECLOSED,   GS_ECANCELED, GS_EDEADLK, GS_EBUSY};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        CHECK(codes[i] < 0);
        const char *a = gs_strerror(codes[i]);
        CHECK(a != NULL && a[0] != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(codes[i] != codes[j]);
            if (strcmp(a, gs_strerror(codes[j])) == 0)
                FAIL("gs_strerror(%d) and gs_strerror(%d) are both \"%s\"", codes[i],
                     codes[j], a);
        }
    }
    /* Any other negative errno value has a message too. */
    const char *other = gs_strerror(-ENOENT);
    CHECK(other != NULL && other[0] != 0);
    CHECK(gs_strerror(-4095) != NULL);
    CHECK(gs_strerror(-100000) != NULL);
    CHECK(gs_strerror(0) != NULL);
}

int main(void)
{
    check_strerror();
    check_config_errors();

    init_procs(1);
    CHECK_RC(gs_init(NULL), GS_EALREADY);
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nprocs = 4;
    CHECK_RC(gs_init(&cfg), GS_EALREADY);
    CHECK_EQ(stats_now().procs, 1); /* the second gs_init changed nothing */

    check_go_errors();
    check_off_goroutine();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, off_goroutine_thread, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);

    atomic_store(&ran, 0);
    CHECK_OK(gs_go(wrong_context, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&ran), 1);

    CHECK_OK(gs_go(ready_not_parked, NULL));
    WAIT_ALL();

    atomic_store(&ran, 0);
    CHECK_OK(gs_go(park_with_calls, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&in_unlockf_ran), 1);
    CHECK_EQ(atomic_load(&ran), 1);

    check_stale_handle();
    CHECK_RC(gs_shutdown(), 0);

    /* The same at nprocs 2, where a foreign thread's gs_ready races with nothing. */
    init_procs(2);
    check_stale_handle();
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
