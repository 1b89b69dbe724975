/*
 * gs_wait's timeout: with no goroutine alive it returns 0 at once whatever the
 * timeout; with a parked goroutine, 0 polls (GS_ETIMEDOUT at once), a short timeout
 * expires no earlier than asked, and huge or negative timeouts wait until the
 * goroutine is readied (INT64_MAX saturates instead of overflowing into an immediate
 * timeout). Several foreign threads may wait at once; all of them return 0.
 */
#include "common.h"

#define WAITERS 3

static _Atomic(gs_g *) handle;
static atomic_int woke;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void sleeper(void *arg)
{
    (void)arg;
    CHECK_RC(gs_park(publish, &handle, "gs_wait test"), 0);
    atomic_fetch_add(&woke, 1);
}

/* Parks one goroutine and returns once it is parked. */
static void park_one(void)
{
    atomic_store(&handle, NULL);
    CHECK_OK(gs_go(sleeper, NULL));
    while (atomic_load(&handle) == NULL)
        sched_yield();
    WAIT_PARKED(1, 10000);
}

static void *ready_later(void *arg)
{
    (void)arg;
    sleep_ms(100);
    CHECK_RC(gs_ready(atomic_load(&handle)), 0);
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_wait(-1), 0);
    CHECK_EQ(stats_now().goroutines, 0);
    return NULL;
}

/* gs_wait(timeout) with the goroutine readied after 100 ms: returns 0 then. */
static void wait_until_readied(int64_t timeout, const char *what)
{
    park_one();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, ready_later, NULL) == 0);
    int64_t t0 = mono_ns();
    int rc = gs_wait(timeout);
    int64_t waited = mono_ns() - t0;
    if (rc != 0)
        FAIL("gs_wait(%s) returned %d (%s) after %.1f ms, want 0 once readied", what, rc,
             gs_strerror(rc), waited / 1e6);
    CHECK(waited >= 50LL * 1000 * 1000);
    CHECK(pthread_join(th, NULL) == 0);
    printf("gs_wait(%s) returned 0 after %.0f ms\n", what, waited / 1e6);
}

int main(void)
{
    init_procs(2);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_wait(0), 0);
    CHECK_RC(gs_wait(-1), 0);
    CHECK_RC(gs_wait(INT64_MAX), 0);
    CHECK_RC(gs_wait(INT64_MIN), 0);
    CHECK(mono_ns() - t0 < 5LL * 1000 * 1000 * 1000);

    park_one();
    t0 = mono_ns();
    CHECK_RC(gs_wait(0), GS_ETIMEDOUT);
    CHECK_RC(gs_wait(1), GS_ETIMEDOUT);
    CHECK(mono_ns() - t0 < 5LL * 1000 * 1000 * 1000);
    t0 = mono_ns();
    CHECK_RC(gs_wait(50LL * 1000 * 1000), GS_ETIMEDOUT);
    int64_t waited = mono_ns() - t0;
    printf("gs_wait(50 ms) timed out after %.1f ms\n", waited / 1e6);
    CHECK(waited >= 45LL * 1000 * 1000);
    CHECK(waited < 10LL * 1000 * 1000 * 1000);
    CHECK_EQ(atomic_load(&woke), 0);
    CHECK_RC(gs_ready(atomic_load(&handle)), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&woke), 1);

    wait_until_readied(INT64_MAX, "INT64_MAX");
    wait_until_readied(INT64_MAX - 1, "INT64_MAX - 1");
    wait_until_readied(-1, "-1");
    wait_until_readied(INT64_MIN, "INT64_MIN");
    CHECK_EQ(atomic_load(&woke), 5);

    /* Several waiters at once. */
    park_one();
    pthread_t th[WAITERS];
    for (int i = 0; i < WAITERS; i++)
        CHECK(pthread_create(&th[i], NULL, waiter, NULL) == 0);
    sleep_ms(50);
    CHECK_RC(gs_ready(atomic_load(&handle)), 0);
    for (int i = 0; i < WAITERS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK_EQ(atomic_load(&woke), 6);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
