/*
 * Timers: sleeps, timeouts at the edges (0, < 0, INT64_MAX) and park_timeout racing
 * gs_ready.
 *
 * 1. gs_wait_fd timeouts (gosched.h: "< 0 waits forever, 0 polls without blocking, large
 *    values saturate"): 0 on an empty pipe gives GS_ETIMEDOUT at once; 0 on a readable
 *    pipe and on a writable pipe gives the ready events; -1 and INT64_MAX wait until a
 *    foreign thread writes 50 ms later (INT64_MAX must not overflow into an immediate
 *    timeout).
 * 2. gs_park_timeout: 0 gives GS_ETIMEDOUT at once, but 0 when the goroutine was
 *    readied meanwhile (its unlockf readies it); -1 and INT64_MAX wait for a gs_ready
 *    sent 50 ms later by a foreign thread.
 * 3. 10,000 goroutines x 20 gs_sleep(1 ms): all finish, none wakes early (each sleep
 *    measured with gs_nanotime).
 * 4. 100,000 park_timeout-vs-gs_ready races: 100 goroutines x 1,000 rounds park with a
 *    timeout of 0-200 us while a partner (a goroutine, or for some a foreign thread)
 *    calls gs_ready on them at a random moment around the deadline. Exactly one side
 *    wins each round: gs_park_timeout returned 0 iff that gs_ready returned 0, and
 *    GS_ETIMEDOUT iff gs_ready returned GS_EINVAL. Mismatches must be 0, every
 *    goroutine must finish.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#define US 1000LL
#define MS 1000000LL

/* ------------------------------------------------------------ 1. gs_wait_fd edges */

/* A failed check that lets the test go on (the run fails at its end). */
static atomic_int soft_failures;
#define SOFT_CHECK_RC(call, want)                                                        \
    do {                                                                                 \
        long long got_ = (long long)(call), want_ = (long long)(want);                   \
        if (got_ != want_) {                                                             \
            fprintf(stderr, "%s:%d: %s returned %lld (%s), want %lld (%s)\n", __FILE__,   \
                    __LINE__, #call, got_, got_ < 0 ? gs_strerror((int)got_) : "ready",  \
                    want_, want_ < 0 ? gs_strerror((int)want_) : "ready");               \
            atomic_fetch_add(&soft_failures, 1);                                         \
        }                                                                                \
    } while (0)

typedef struct delayed {
    int fd;
    int delay_ms;
    gs_g *ready; /* if set: gs_ready it instead of writing */
    atomic_int ready_rc;
} delayed;

static void *delayed_action(void *arg)
{
    delayed *d = arg;
    sleep_ms(d->delay_ms);
    if (d->ready != NULL)
        atomic_store(&d->ready_rc, gs_ready(d->ready));
    else
        CHECK(write(d->fd, "x", 1) == 1);
    return NULL;
}

static void wait_fd_edges(void *arg)
{
    (void)arg;
    int p[2];
    CHECK(pipe(p) == 0);
    char c;

    /* 0 on an empty pipe: GS_ETIMEDOUT at once. */
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_wait_fd(p[0], GS_POLLIN, 0), GS_ETIMEDOUT);
    CHECK(gs_nanotime() - t0 < 100 * MS);

    /* 0 on a readable pipe and on a writable pipe: the ready events; once the byte
     * is read, GS_ETIMEDOUT again. (Checked softly: the rest of the test still runs.) */
    CHECK(write(p[1], "r", 1) == 1);
    SOFT_CHECK_RC(gs_wait_fd(p[0], GS_POLLIN, 0), GS_POLLIN);
    SOFT_CHECK_RC(gs_wait_fd(p[1], GS_POLLOUT, 0), GS_POLLOUT);
    gs_sleep(2 * MS); /* whatever the poller records meanwhile must not matter */
    SOFT_CHECK_RC(gs_wait_fd(p[0], GS_POLLIN, 0), GS_POLLIN);
    CHECK_RC(gs_read(p[0], &c, 1), 1);
    SOFT_CHECK_RC(gs_wait_fd(p[0], GS_POLLIN, 0), GS_ETIMEDOUT);

    CHECK_RC(gs_close(p[0]), 0);
    CHECK_RC(gs_close(p[1]), 0);

    /* -1 and another negative value, and INT64_MAX: wait until the data arrives. Each
     * on a fresh pipe, so that nothing but the late write can wake it. */
    const int64_t forever[] = {-1, -12345, INT64_MAX, INT64_MAX - 1};
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
        CHECK(pipe(p) == 0);
        delayed d = {p[1], 50, NULL, 0};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, delayed_action, &d) == 0);
        t0 = gs_nanotime();
        int rc = gs_wait_fd(p[0], GS_POLLIN, forever[i]);
        int64_t took = gs_nanotime() - t0;
        CHECK(pthread_join(t, NULL) == 0);
        if (rc != GS_POLLIN || took < 40 * MS)
            FAIL("gs_wait_fd(timeout %lld) returned %d (%s) after %.1f ms, want GS_POLLIN after "
                 "the write 50 ms later",
                 (long long)forever[i], rc, rc < 0 ? gs_strerror(rc) : "ready", (double)took / 1e6);
        CHECK_RC(gs_read(p[0], &c, 1), 1);
        CHECK_RC(gs_close(p[0]), 0);
        CHECK_RC(gs_close(p[1]), 0);
    }
}

/* ------------------------------------------------------ 2. gs_park_timeout edges */

static bool ready_self(gs_g *g, void *lock)
{
    (void)lock;
    CHECK_RC(gs_ready(g), 0); /* readied while still in the unlockf */
    return true;
}

static void park_timeout_edges(void *arg)
{
    (void)arg;
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_park_timeout(NULL, NULL, "zero", 0), GS_ETIMEDOUT);
    CHECK(gs_nanotime() - t0 < 100 * MS);
    /* Readied before the zero timeout could decide: readied wins. */
    CHECK_RC(gs_park_timeout(ready_self, NULL, "zero, readied", 0), 0);
    /* A positive timeout with nobody readying. */
    t0 = gs_nanotime();
    CHECK_RC(gs_park_timeout(NULL, NULL, "short", 2 * MS), GS_ETIMEDOUT);
    CHECK(gs_nanotime() - t0 >= 2 * MS);

    const int64_t forever[] = {-1, INT64_MAX, INT64_MAX - 1};
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
        delayed d = {-1, 50, gs_self(), 1};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, delayed_action, &d) == 0);
        t0 = gs_nanotime();
        int rc = gs_park_timeout(NULL, NULL, "forever", forever[i]);
        int64_t took = gs_nanotime() - t0;
        CHECK(pthread_join(t, NULL) == 0);
        if (rc != 0 || took < 40 * MS)
            FAIL("gs_park_timeout(%lld) returned %d (%s) after %.1f ms, want 0 after the gs_ready "
                 "50 ms later",
                 (long long)forever[i], rc, rc < 0 ? gs_strerror(rc) : "ok", (double)took / 1e6);
        CHECK_RC(atomic_load(&d.ready_rc), 0);
    }
}

/* ------------------------------------------------------------ 3. many sleepers */

#define SLEEPERS 10000
#define SLEEPS 20

static atomic_long sleeps_done, sleeps_early;
static atomic_llong min_sleep_ns = INT64_MAX, max_sleep_ns;

static void sleeper(void *arg)
{
    (void)arg;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < SLEEPS; i++) {
        int64_t t0 = gs_nanotime();
        CHECK_RC(gs_sleep(1 * MS), 0);
        int64_t d = gs_nanotime() - t0;
        if (d < 1 * MS)
            atomic_fetch_add(&sleeps_early, 1);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    long long cur = atomic_load(&min_sleep_ns);
    while (lo < cur && !atomic_compare_exchange_weak(&min_sleep_ns, &cur, lo)) {
    }
    cur = atomic_load(&max_sleep_ns);
    while (hi > cur && !atomic_compare_exchange_weak(&max_sleep_ns, &cur, hi)) {
    }
    atomic_fetch_add(&sleeps_done, SLEEPS);
}

/* ------------------------------------------------------------ 4. the races */

#define RACERS 100
#define ROUNDS 1000
#define FOREIGN_RACERS 8 /* racers [0, 8) are readied by a foreign thread */

typedef struct race {
    _Atomic(gs_g *) handle;
    atomic_llong target; /* when the partner calls gs_ready */
    atomic_int armed;    /* round whose park is about to start */
    atomic_int done;     /* round whose gs_ready result is in ready_rc */
    atomic_int ready_rc;
    long wins, timeouts;
} race;

static race races[RACERS];
static atomic_long mismatches, racers_done;

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Spins with gs_gosched until *v == want; fails after 10 s. */
static void await_round(atomic_int *v, int want, int who, const char *what)
{
    int64_t end = gs_nanotime() + 10000 * MS;
    while (atomic_load(v) != want) {
        if (gs_nanotime() > end)
            FAIL("racer %d: %s never reached round %d (at %d)", who, what, want, atomic_load(v));
        gs_gosched();
    }
}

static void racer(void *arg)
{
    int i = (int)(intptr_t)arg;
    race *r = &races[i];
    uint32_t rng = 0x9E3779B9u * (uint32_t)(i + 1);
    for (int round = 1; round <= ROUNDS; round++) {
        int64_t timeout = (int64_t)(xorshift(&rng) % 201) * US;      /* 0 .. 200 us */
        int64_t jitter = ((int64_t)(xorshift(&rng) % 201) - 100) * US; /* -100 .. +100 us */
        atomic_store(&r->handle, gs_self());
        atomic_store(&r->target, gs_nanotime() + timeout + jitter);
        atomic_store(&r->armed, round);
        int rc = gs_park_timeout(NULL, NULL, "race", timeout);
        await_round(&r->done, round, i, "the partner's gs_ready");
        int rrc = atomic_load(&r->ready_rc);
        if (rc == 0 && rrc == 0) {
            r->wins++;
        } else if (rc == GS_ETIMEDOUT && rrc == GS_EINVAL) {
            r->timeouts++;
        } else {
            if (atomic_fetch_add(&mismatches, 1) < 10)
                fprintf(stderr, "racer %d round %d: gs_park_timeout(%lld us) = %d, gs_ready = %d\n",
                        i, round, (long long)(timeout / US), rc, rrc);
        }
    }
    atomic_fetch_add(&racers_done, 1);
}

/* One round of the partner of racer i: wait for the park to be armed, wait for the
 * target time, gs_ready, publish the result. */
static void partner_round(race *r, int round)
{
    int rc = gs_ready(atomic_load(&r->handle));
    atomic_store(&r->ready_rc, rc);
    atomic_store(&r->done, round);
}

static void partner(void *arg)
{
    int i = (int)(intptr_t)arg;
    race *r = &races[i];
    for (int round = 1; round <= ROUNDS; round++) {
        await_round(&r->armed, round, i, "the park");
        while (gs_nanotime() < atomic_load(&r->target))
            gs_gosched();
        partner_round(r, round);
    }
}

static void *foreign_partner(void *arg)
{
    (void)arg;
    int next[FOREIGN_RACERS];
    for (int i = 0; i < FOREIGN_RACERS; i++)
        next[i] = 1;
    int left = FOREIGN_RACERS;
    int64_t end = mono_ns() + 60000 * MS;
    while (left > 0) {
        bool did = false;
        for (int i = 0; i < FOREIGN_RACERS; i++) {
            race *r = &races[i];
            if (next[i] > ROUNDS || atomic_load(&r->armed) != next[i])
                continue;
            if (gs_nanotime() < atomic_load(&r->target))
                continue;
            partner_round(r, next[i]);
            did = true;
            if (++next[i] > ROUNDS)
                left--;
        }
        if (!did) {
            if (mono_ns() > end)
                FAIL("foreign partner: stuck with %d racers left", left);
            sched_yield();
        }
    }
    return NULL;
}

int main(void)
{
    CHECK_RC(gs_init(NULL), 0);

    CHECK_OK(gs_go(wait_fd_edges, NULL));
    CHECK_OK(gs_go(park_timeout_edges, NULL));
    WAIT_ALL();
    printf("timeouts 0, < 0 and INT64_MAX: %s\n", atomic_load(&soft_failures) ? "FAILED" : "ok");

    int64_t t0 = mono_ns();
    gs_go_opts so = {64 * 1024, "sleeper", 0};
    for (int i = 0; i < SLEEPERS; i++)
        CHECK_OK(gs_go_with(sleeper, NULL, &so));
    WAIT_ALL();
    double wall = (double)(mono_ns() - t0) / 1e6;
    printf("%d goroutines x %d sleeps of 1 ms: %.0f ms wall, each sleep %.3f .. %.3f ms, %ld early\n",
           SLEEPERS, SLEEPS, wall, (double)atomic_load(&min_sleep_ns) / 1e6,
           (double)atomic_load(&max_sleep_ns) / 1e6, atomic_load(&sleeps_early));
    CHECK_EQ(atomic_load(&sleeps_done), (long)SLEEPERS * SLEEPS);
    CHECK_EQ(atomic_load(&sleeps_early), 0);
    CHECK_EQ(stats_now().timers, 0);

    t0 = mono_ns();
    for (int i = 0; i < RACERS; i++) {
        gs_go_opts ro = {64 * 1024, "racer", 0};
        CHECK_OK(gs_go_with(racer, (void *)(intptr_t)i, &ro));
        if (i >= FOREIGN_RACERS) {
            gs_go_opts po = {64 * 1024, "partner", 0};
            CHECK_OK(gs_go_with(partner, (void *)(intptr_t)i, &po));
        }
    }
    pthread_t fp;
    CHECK(pthread_create(&fp, NULL, foreign_partner, NULL) == 0);
    CHECK(pthread_join(fp, NULL) == 0);
    WAIT_ALL();
    long wins = 0, timeouts = 0;
    for (int i = 0; i < RACERS; i++) {
        wins += races[i].wins;
        timeouts += races[i].timeouts;
    }
    printf("%d park_timeout/gs_ready races in %.0f ms: %ld readied, %ld timed out, %ld mismatches\n",
           RACERS * ROUNDS, (double)(mono_ns() - t0) / 1e6, wins, timeouts,
           atomic_load(&mismatches));
    CHECK_EQ(atomic_load(&racers_done), RACERS);
    CHECK_EQ(atomic_load(&mismatches), 0);
    CHECK_EQ(wins + timeouts, (long)RACERS * ROUNDS);
    /* Both outcomes must really occur, or the test did not race anything. */
    CHECK(wins > 0 && timeouts > 0);
    CHECK_EQ(stats_now().timers, 0);
    if (atomic_load(&soft_failures) != 0)
        FAIL("%d check(s) of gs_wait_fd with a 0 timeout failed (see above)",
             atomic_load(&soft_failures));
    printf("timer_sleep: ok\n");
    return 0;
}
