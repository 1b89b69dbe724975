/*
 * Sync objects used the hostile way, as legitimate programs do:
 *
 * - A mutex hammered by goroutines and foreign threads that lock, hold it ~2 us,
 *   unlock and lock again at once (gosched.h promises that no waiter waits more than
 *   about 1 ms behind newcomers): every party gets the lock many times, no single
 *   lock call waits 100 ms, and the counter it protects is exact. TryLock as Go's.
 */
#include "hostile.h"

#include <sched.h>

#define US 1000LL
#define MS 1000000LL

/* ---- Helpers ----------------------------------------------------------------------- */

/* Waits (foreign thread) until `flag` is `want`; fails after `ms` with `what`. */
static void await_flag(atomic_int *flag, int want, int ms, const char *what)
{
    int64_t end = mono_ns() + ms * MS;
    while (atomic_load(flag) != want) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("%s", what);
        }
        sched_yield();
    }
}

/* Until the thread `tid` of this process sleeps in the kernel (a foreign thread
 * blocked in a call, once it said it is about to make it). */
static void await_thread_asleep(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int64_t end = mono_ns() + 10000 * MS;
    for (;;) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        char buf[512];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        CHECK(n > 0);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        CHECK(p != NULL && p[1] == ' ');
        if (p[2] == 'S')
            return;
        CHECK(mono_ns() < end);
        sched_yield();
    }
}

static void start_thread(void *(*fn)(void *), void *arg, pthread_t *t)
{
    CHECK(pthread_create(t, NULL, fn, arg) == 0);
}

/* ---- Mutex fairness ------------------------------------------------------------------ */

#define FAIR_GOROUTINES 6
#define FAIR_THREADS 2
#define FAIR_PARTIES (FAIR_GOROUTINES + FAIR_THREADS)
#define FAIR_RUN_MS 80
#define HOLD_NS (2 * US)
/* Every party gets the lock at least this often in FAIR_RUN_MS (measured: thousands). */
#define FAIR_MIN_LOCKS 20
/* No single lock call may wait longer (the promise is about 1 ms, plus noise). */
#define FAIR_MAX_WAIT_NS (100 * MS)

typedef struct party {
    long got;
    int64_t max_wait;
    pid_t tid;
    atomic_int ready;
} party;

static gs_mutex *fmu;
static long fcounter; /* plain: only touched under fmu */
static atomic_bool fstop;
static party parties[FAIR_PARTIES];
static gs_waitgroup *fwg;

static void hold(void)
{
    int64_t t = mono_ns();
    while (mono_ns() - t < HOLD_NS) {
    }
}

static void fair_loop(party *p)
{
    p->tid = os_tid();
    atomic_store(&p->ready, 1);
    for (long i = 0; !atomic_load_explicit(&fstop, memory_order_relaxed); i++) {
        int64_t t0 = mono_ns();
        CHECK_RC(gs_mutex_lock(fmu), 0);
        int64_t w = mono_ns() - t0;
        if (i > 0 && w > p->max_wait) /* the first waits for the start */
            p->max_wait = w;
        long c = fcounter;
        hold();
        fcounter = c + 1;
        p->got++;
        CHECK_RC(gs_mutex_unlock(fmu), 0);
    }
}

static void fair_goroutine(void *arg)
{
    fair_loop(arg);
    CHECK_RC(gs_waitgroup_done(fwg), 0);
}

static void *fair_thread(void *arg)
{
    fair_loop(arg);
    return NULL;
}

/* `nthreads` foreign threads and FAIR_GOROUTINES goroutines start behind the locked
 * mutex, so that all of them contend from the first unlock on. */
static void fairness(int nthreads)
{
    CHECK_RC(gs_init(NULL), 0);
    fmu = gs_mutex_new();
    fwg = gs_waitgroup_new();
    CHECK(fmu && fwg);
    memset(parties, 0, sizeof parties);
    fcounter = 0;
    atomic_store(&fstop, false);
    CHECK_RC(gs_mutex_lock(fmu), 0);
    CHECK_RC(gs_waitgroup_add(fwg, FAIR_GOROUTINES), 0);
    for (int i = 0; i < FAIR_GOROUTINES; i++)
        CHECK(gs_go(fair_goroutine, &parties[i]) > 0);
    pthread_t th[FAIR_THREADS];
    for (int i = 0; i < nthreads; i++)
        start_thread(fair_thread, &parties[FAIR_GOROUTINES + i], &th[i]);
    WAIT_PARKED(FAIR_GOROUTINES, 10000);
    for (int i = 0; i < nthreads; i++) {
        party *p = &parties[FAIR_GOROUTINES + i];
        await_flag(&p->ready, 1, 10000, "a locker thread did not start");
        await_thread_asleep(p->tid);
    }
    int64_t t0 = mono_ns();
    CHECK_RC(gs_mutex_unlock(fmu), 0);
    sleep_ms(FAIR_RUN_MS);
    atomic_store(&fstop, true);
    int64_t t1 = mono_ns();
    CHECK_RC(gs_waitgroup_wait(fwg), 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    int64_t stop_ns = mono_ns() - t1;
    long sum = 0;
    int nparties = FAIR_GOROUTINES + nthreads;
    for (int i = 0; i < nparties; i++) {
        party *p = &parties[i];
        sum += p->got;
        printf("%s %d: %ld locks, longest wait %.3f ms\n", i < FAIR_GOROUTINES ? "goroutine" : "thread",
               i, p->got, p->max_wait / 1e6);
        if (p->got < FAIR_MIN_LOCKS)
            FAIL("party %d (%s) got the lock only %ld times in %d ms", i,
                 i < FAIR_GOROUTINES ? "goroutine" : "thread", p->got, FAIR_RUN_MS);
        if (p->max_wait > FAIR_MAX_WAIT_NS)
            FAIL("party %d (%s) waited %.1f ms in one gs_mutex_lock", i,
                 i < FAIR_GOROUTINES ? "goroutine" : "thread", p->max_wait / 1e6);
    }
    CHECK_EQ(fcounter, sum);
    if (stop_ns > 2 * FAIR_MAX_WAIT_NS)
        FAIL("the parties took %.1f ms to see the stop", stop_ns / 1e6);
    printf("%ld locks in %.0f ms\n", sum, (t1 - t0) / 1e6);
    CHECK_RC(gs_mutex_free(fmu), 0);
    CHECK_RC(gs_waitgroup_free(fwg), 0);
}

static void mutex_fair_mixed_case(void)
{
    fairness(FAIR_THREADS);
}

/* Goroutines only: at nprocs 1 the unlocker always runs on while the waiter it woke
 * sits in the run queue. */
static void mutex_fair_goroutines_case(void)
{
    fairness(0);
}

/* ---- TryLock ------------------------------------------------------------------------- */

static gs_mutex *tmu;
static atomic_int t_phase;
static int trylock_in_unlockf;

static bool trylock_unlockf(gs_g *g, void *arg)
{
    (void)g;
    (void)arg;
    trylock_in_unlockf = gs_mutex_trylock(tmu); /* on the scheduler's stack: never blocks */
    return false;                                /* resume at once */
}

static void *trylock_thread(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_trylock(tmu), GS_EAGAIN); /* held by the goroutine */
    atomic_store(&t_phase, 1);
    return NULL;
}

static void trylock_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(tmu), 0); /* handed over, or taken */
    atomic_store(&t_phase, 3);
    int64_t end = mono_ns() + 10000 * MS;
    while (atomic_load(&t_phase) != 4) {
        CHECK(mono_ns() < end);
        CHECK_RC(gs_sleep(20 * US), 0);
    }
    CHECK_RC(gs_mutex_unlock(tmu), 0);
}

static void trylock_main(void *arg)
{
    (void)arg;
    int64_t end;
    /* Free: taken; held: refused, from a goroutine and a foreign thread; never on g0. */
    CHECK_RC(gs_mutex_trylock(tmu), 0);
    CHECK_RC(gs_mutex_trylock(tmu), GS_EAGAIN);
    pthread_t t;
    start_thread(trylock_thread, NULL, &t);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(atomic_load(&t_phase), 1);
    CHECK_RC(gs_park(trylock_unlockf, NULL, "trylock in unlockf"), 0);
    CHECK_RC(trylock_in_unlockf, GS_EAGAIN);
    CHECK_RC(gs_mutex_unlock(tmu), 0);
    CHECK_RC(gs_park(trylock_unlockf, NULL, "trylock in unlockf"), 0);
    CHECK_RC(trylock_in_unlockf, 0);
    CHECK_RC(gs_mutex_unlock(tmu), 0);
    CHECK_RC(gs_mutex_unlock(tmu), GS_EPERM);

    /* Starvation mode. We hold the mutex; a waiter queues and waits over 1 ms. */
    CHECK_RC(gs_mutex_lock(tmu), 0);
    atomic_store(&t_phase, 2);
    CHECK(gs_go(trylock_waiter, NULL) > 0);
    CHECK_RC(gs_sleep(3 * MS), 0);
    /* Unlock wakes it; TryLock barges in as Go's does (at nprocs 1 the waiter has not
     * run yet, elsewhere it may have taken the mutex already). */
    CHECK_RC(gs_mutex_unlock(tmu), 0);
    int rc = gs_mutex_trylock(tmu);
    if (hostile_nprocs == 1)
        CHECK_RC(rc, 0);
    if (rc == 0) {
        /* The waiter runs, finds it held after waiting > 1 ms: starvation mode. Our
         * unlock then hands it over: it stays locked, for the waiter, even before
         * that runs, and TryLock must not take it. Only sure at nprocs 1: elsewhere
         * the waiter may not have run yet when we unlock. */
        CHECK_RC(gs_gosched(), 0);
        CHECK_RC(gs_sleep(100 * US), 0);
        CHECK_RC(gs_mutex_unlock(tmu), 0);
        rc = gs_mutex_trylock(tmu);
        if (hostile_nprocs == 1) {
            CHECK_RC(rc, GS_EAGAIN);
            CHECK_RC(gs_mutex_free(tmu), GS_EBUSY);
        } else if (rc == 0) {
            CHECK_RC(gs_mutex_unlock(tmu), 0);
        }
    }
    end = mono_ns() + 10000 * MS;
    while (atomic_load(&t_phase) != 3) {
        CHECK(mono_ns() < end);
        CHECK_RC(gs_sleep(20 * US), 0);
    }
    CHECK_RC(gs_mutex_trylock(tmu), GS_EAGAIN); /* the waiter holds it */
    atomic_store(&t_phase, 4);
    CHECK_RC(gs_mutex_lock(tmu), 0);
    CHECK_RC(gs_mutex_unlock(tmu), 0);
    atomic_store(&t_phase, 5);
}

static void mutex_trylock_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    tmu = gs_mutex_new();
    CHECK(tmu);
    CHECK(gs_go(trylock_main, NULL) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&t_phase), 5);
    CHECK_RC(gs_mutex_free(tmu), 0);
}

static const hostile_case cases[] = {
    {"mutex_fair_mixed", mutex_fair_mixed_case, 30},
    {"mutex_fair_goroutines", mutex_fair_goroutines_case, 30},
    {"mutex_trylock", mutex_trylock_case, 30},
};

HOSTILE_MAIN(cases)
