/*
 * Sync objects used the hostile way, as legitimate programs do:
 *
 * - A mutex hammered by goroutines and foreign threads that lock, hold it ~2 us,
 *   unlock and lock again at once (gosched.h promises that no waiter waits more than
 *   about 1 ms behind newcomers): every party gets the lock many times, no single
 *   lock call waits 100 ms, and the counter it protects is exact. TryLock as Go's.
 * - Frees racing with the wakeups of the parties they free: a gs_select woken
 *   through one of its channels (by close, by a send), plain receivers and senders,
 *   timed-out calls, a wait group freed as soon as its wait returns, a mutex freed as
 *   soon as a woken locker returns, objects left by goroutines gs_shutdown abandoned.
 *   The free must say GS_EBUSY until no party can touch the object any more, and
 *   then succeed.
 * - Handles used after free, and freed twice: GS_EINVAL from every function.
 *
 * Poisoned frees: this program defines free() (the library's frees reach it). The
 * object a case watches is filled with 0xA5 bytes when the library really frees it,
 * and never given back, so that a party that still touches it finds its lock byte
 * taken and hangs, and the case reports it. A freed object first sits in the freeing
 * thread's quarantine (gosched.h: until that thread has freed 64 more objects);
 * `poison` pushes it out by freeing mutexes on the same thread. (A library without a
 * quarantine gives it to free() at once: `watch` comes before the free.)
 */
#include "hostile.h"

#include <malloc.h>
#include <sched.h>

#define US 1000LL
#define MS 1000000LL

/* ---- Poisoned frees ------------------------------------------------------------------ */

extern void __libc_free(void *p);

static void *_Atomic watched;
static atomic_int watched_freed;

void free(void *p)
{
    if (p != NULL && p == atomic_load_explicit(&watched, memory_order_relaxed)) {
        memset(p, 0xA5, malloc_usable_size(p));
        atomic_store(&watched_freed, 1);
        return; /* leaked: nothing may reuse it */
    }
    __libc_free(p);
}

/* Poisons `obj` when the library gives it to free(). Call before the free. */
static void watch(void *obj)
{
    atomic_store(&watched_freed, 0);
    atomic_store(&watched, obj);
}

/* The library has freed the watched object (its free returned 0) on this OS thread:
 * push it out of the quarantine into malloc's hands, which poisons it. Must run on
 * the thread that freed it, without a switch in between on a goroutine. */
static void poison(void)
{
    for (int i = 0; i < 80 && !atomic_load(&watched_freed); i++) {
        gs_mutex *m = gs_mutex_new();
        CHECK(m != NULL);
        CHECK_RC(gs_mutex_free(m), 0);
    }
    CHECK(atomic_load(&watched_freed));
    atomic_store(&watched, NULL);
}

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
 * blocked in a call, once it said it is about to make it), or `*done` (if not NULL)
 * is 2: the call returned. */
static void await_thread_asleep(pid_t tid, atomic_int *done)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int64_t end = mono_ns() + 10000 * MS;
    for (;;) {
        if (done != NULL && atomic_load(done) == 2)
            return; /* returned already (and may have ended) */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && done != NULL && atomic_load(done) == 2)
            return;
        CHECK(fd >= 0);
        char buf[512];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0 && done != NULL && atomic_load(done) == 2)
            return;
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

/* Until `n` goroutines are parked (polled without sleeping: a timed wait may be
 * short), or `*done` is 2: the call returned. */
static void await_parked(uint64_t n, atomic_int *done)
{
    int64_t end = mono_ns() + 10000 * MS;
    while (stats_now().waiting < n && atomic_load(done) != 2) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("fewer than %llu goroutines parked", (unsigned long long)n);
        }
        sched_yield();
    }
}

/* Frees with `freefn` until it stops saying GS_EBUSY; returns the number of GS_EBUSY. */
#define FREE_UNTIL_DONE(freefn, obj)                                                     \
    ({                                                                                   \
        int busy_ = 0, rc_;                                                              \
        int64_t end_ = mono_ns() + 10000 * MS;                                           \
        while ((rc_ = freefn(obj)) == GS_EBUSY) {                                        \
            busy_++;                                                                     \
            if (mono_ns() > end_)                                                        \
                FAIL("%s stayed GS_EBUSY", #freefn);                                     \
            sched_yield();                                                               \
        }                                                                                \
        CHECK_RC(rc_, 0);                                                                \
        busy_;                                                                           \
    })

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
/* Every party gets at least 1/FAIR_MIN_SHARE of the average number of locks. Unloaded,
 * every party gets thousands; the old mutex left some parties 1 lock of 30,000. On a
 * loaded machine the parties wait for the kernel to run each other, and those that
 * relock at once take more turns in normal mode (Go's mutex promises bounded waits,
 * not equal shares), so the bound is loose and relative. */
#define FAIR_MIN_SHARE 64
/* No single lock call may wait longer (the promise is about 1 ms, plus noise), plus
 * 4 times the longest oversleep of a thread that sleeps 1 ms at a time meanwhile: the
 * scheduling noise of a loaded machine (unloaded: well under 1 ms). */
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

/* The noise probe: the longest oversleep of 1 ms sleeps until fstop, counted from
 * `probe_start` (a probe the kernel does not even start in time is late too). */
static int64_t probe_start, probe_max_late;

static void *noise_probe(void *arg)
{
    (void)arg;
    int64_t prev = probe_start;
    for (;;) {
        int64_t now = mono_ns();
        if (now - prev - 1 * MS > probe_max_late)
            probe_max_late = now - prev - 1 * MS;
        if (atomic_load(&fstop))
            break;
        prev = now;
        sleep_ms(1);
    }
    return NULL;
}

/* Attempts a measurement may take. On a loaded machine the kernel sometimes leaves a
 * runnable thread (an M spinning for work, a foreign locker) without a CPU for 100 ms
 * and more, which a sleeping probe does not always see: a failed measurement is run
 * again. The old mutex failed every attempt. */
#define FAIR_ATTEMPTS 3

/* One measurement: `nthreads` foreign threads and FAIR_GOROUTINES goroutines start
 * behind the locked mutex, so that all of them contend from the first unlock on.
 * Returns NULL, or what failed (in `why`); `*noise` is the probe's lateness. */
static const char *fair_attempt(int nthreads, char *why, size_t len, int64_t *noise)
{
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
        await_thread_asleep(p->tid, NULL);
    }
    probe_max_late = 0;
    probe_start = mono_ns();
    pthread_t probe;
    start_thread(noise_probe, NULL, &probe);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_mutex_unlock(fmu), 0);
    sleep_ms(FAIR_RUN_MS);
    atomic_store(&fstop, true);
    int64_t t1 = mono_ns();
    CHECK_RC(gs_waitgroup_wait(fwg), 0);
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK(pthread_join(probe, NULL) == 0);
    *noise = probe_max_late;
    int64_t max_wait = FAIR_MAX_WAIT_NS + 4 * probe_max_late;
    int64_t stop_ns = mono_ns() - t1;
    long sum = 0;
    int nparties = FAIR_GOROUTINES + nthreads;
    for (int i = 0; i < nparties; i++)
        sum += parties[i].got;
    CHECK_EQ(fcounter, sum);
    for (int i = 0; i < nparties; i++)
        printf("%s %d: %ld locks, longest wait %.3f ms\n", i < FAIR_GOROUTINES ? "goroutine" : "thread",
               i, parties[i].got, parties[i].max_wait / 1e6);
    printf("%ld locks in %.0f ms, %.1f ms to stop, sleeps up to %.3f ms late\n", sum,
           (t1 - t0) / 1e6, stop_ns / 1e6, probe_max_late / 1e6);
    CHECK_RC(gs_mutex_free(fmu), 0);
    CHECK_RC(gs_waitgroup_free(fwg), 0);
    for (int i = 0; i < nparties; i++) {
        party *p = &parties[i];
        const char *kind = i < FAIR_GOROUTINES ? "goroutine" : "thread";
        if (p->got * nparties * FAIR_MIN_SHARE < sum || p->got < 2) {
            snprintf(why, len, "party %d (%s) got the lock only %ld times of %ld in %d ms", i, kind,
                     p->got, sum, FAIR_RUN_MS);
            return why;
        }
        if (p->max_wait > max_wait) {
            snprintf(why, len, "party %d (%s) waited %.1f ms in one gs_mutex_lock (bound %.1f ms)", i,
                     kind, p->max_wait / 1e6, max_wait / 1e6);
            return why;
        }
    }
    return NULL;
}

static void fairness(int nthreads)
{
    CHECK_RC(gs_init(NULL), 0);
    char why[256];
    for (int attempt = 1;; attempt++) {
        int64_t noise;
        const char *failed = fair_attempt(nthreads, why, sizeof why, &noise);
        if (failed == NULL)
            return;
        if (attempt == FAIR_ATTEMPTS)
            FAIL("%s (attempt %d, sleeps up to %.1f ms late)", failed, attempt, noise / 1e6);
        fprintf(stderr, "attempt %d: %s (sleeps up to %.1f ms late): again\n", attempt, failed,
                noise / 1e6);
    }
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

/* ---- Waiters: a goroutine or a foreign thread ----------------------------------------- */

typedef struct waiter {
    void (*body)(struct waiter *);
    gs_chan *a, *b;
    int64_t timeout;
    atomic_int state; /* 1: about to block, 2: returned */
    pid_t tid;
    int rc, result;
    int64_t v;
} waiter;

static void waiter_goroutine(void *arg)
{
    waiter *w = arg;
    w->body(w);
}

static void *waiter_thread(void *arg)
{
    waiter *w = arg;
    w->body(w);
    return NULL;
}

/* Starts w as a goroutine (thread == false) or a foreign thread and returns once it
 * is blocked in its call (for a goroutine: once `parked` goroutines are parked), or
 * has returned already (a short timeout on a loaded machine). */
static void start_waiter(waiter *w, bool thread, pthread_t *t, int parked)
{
    atomic_store(&w->state, 0);
    if (thread)
        start_thread(waiter_thread, w, t);
    else
        CHECK(gs_go(waiter_goroutine, w) > 0);
    int64_t end = mono_ns() + 10000 * MS;
    while (atomic_load(&w->state) == 0) {
        if (mono_ns() > end)
            FAIL("the waiter did not start");
        sched_yield();
    }
    if (thread)
        await_thread_asleep(w->tid, &w->state);
    else
        await_parked(parked, &w->state);
}

/* The watched object is poisoned: the waiter must return without touching it. */
static void finish_waiter(waiter *w, bool thread, pthread_t *t)
{
    await_flag(&w->state, 2, 5000,
               "the woken party did not return after its object was freed: it touched "
               "the freed (poisoned) memory");
    if (thread)
        CHECK(pthread_join(*t, NULL) == 0);
}

static void body_select(waiter *w)
{
    w->tid = os_tid();
    int64_t va = -1, vb = -1;
    gs_select_case cs[2] = {{w->a, GS_RECV, &va, 99}, {w->b, GS_RECV, &vb, 99}};
    atomic_store(&w->state, 1);
    w->rc = gs_select(cs, 2, w->timeout);
    w->result = w->rc >= 0 ? cs[w->rc].result : 0;
    w->v = va;
    atomic_store(&w->state, 2);
}

static void body_recv(waiter *w)
{
    w->tid = os_tid();
    int64_t v = -1;
    atomic_store(&w->state, 1);
    w->rc = w->timeout < 0 ? gs_chan_recv(w->a, &v) : gs_chan_recv_timeout(w->a, &v, w->timeout);
    w->v = v;
    atomic_store(&w->state, 2);
}

static void body_send(waiter *w)
{
    w->tid = os_tid();
    int64_t v = 42;
    atomic_store(&w->state, 1);
    w->rc = w->timeout < 0 ? gs_chan_send(w->a, &v) : gs_chan_send_timeout(w->a, &v, w->timeout);
    atomic_store(&w->state, 2);
}

/* ---- gs_chan_free racing a woken select ------------------------------------------------ */

/* A waiter blocks in gs_select receiving on A and B; the main thread wakes it through
 * A (close, or a send the select takes) and frees A at once. */
static void select_woken_by_main(bool thread, bool by_close, int *busy)
{
    static waiter w;
    pthread_t t;
    memset(&w, 0, sizeof w);
    w.body = body_select;
    w.a = gs_chan_new(sizeof(int64_t), 0);
    w.b = gs_chan_new(sizeof(int64_t), 0);
    w.timeout = -1;
    CHECK(w.a && w.b);
    start_waiter(&w, thread, &t, 1);
    CHECK_RC(gs_chan_free(w.a), GS_EBUSY); /* blocked on it */
    if (by_close) {
        CHECK_RC(gs_chan_close(w.a), 0);
    } else {
        int64_t v = 7;
        CHECK_RC(gs_chan_send(w.a, &v), 0);
    }
    watch(w.a);
    *busy += FREE_UNTIL_DONE(gs_chan_free, w.a);
    poison();
    finish_waiter(&w, thread, &t);
    CHECK_EQ(w.rc, 0);
    CHECK_RC(w.result, by_close ? GS_ECLOSED : 0);
    CHECK_EQ(w.v, by_close ? 0 : 7);
    CHECK_RC(gs_chan_free(w.b), 0);
}

/* The same with a goroutine as the waker: at nprocs 1 a woken goroutine cannot have
 * run before the free, which must then say GS_EBUSY. */
static waiter gw;
static atomic_int gwaker_busy;

static void goroutine_waker(void *arg)
{
    bool by_close = ((uintptr_t)arg & 1) != 0, strict = ((uintptr_t)arg & 2) != 0;
    if (by_close) {
        CHECK_RC(gs_chan_close(gw.a), 0);
    } else {
        int64_t v = 7;
        CHECK_RC(gs_chan_send(gw.a, &v), 0);
    }
    watch(gw.a);
    int rc = gs_chan_free(gw.a);
    if (strict)
        CHECK_RC(rc, GS_EBUSY);
    int busy = 0;
    int64_t end = mono_ns() + 10000 * MS;
    while (rc == GS_EBUSY) {
        busy++;
        CHECK(mono_ns() < end);
        CHECK_RC(gs_gosched(), 0);
        rc = gs_chan_free(gw.a);
    }
    CHECK_RC(rc, 0);
    poison(); /* no switch since the free: same thread */
    atomic_fetch_add(&gwaker_busy, busy);
}

static void select_woken_by_goroutine(bool thread, bool by_close)
{
    pthread_t t;
    memset(&gw, 0, sizeof gw);
    gw.body = body_select;
    gw.a = gs_chan_new(sizeof(int64_t), 0);
    gw.b = gs_chan_new(sizeof(int64_t), 0);
    gw.timeout = -1;
    CHECK(gw.a && gw.b);
    start_waiter(&gw, thread, &t, 1);
    uintptr_t how = (by_close ? 1 : 0) | (!thread && hostile_nprocs == 1 ? 2 : 0);
    CHECK(gs_go(goroutine_waker, (void *)how) > 0);
    finish_waiter(&gw, thread, &t);
    WAIT_ALL();
    CHECK_EQ(gw.rc, 0);
    CHECK_RC(gw.result, by_close ? GS_ECLOSED : 0);
    CHECK_RC(gs_chan_free(gw.b), 0);
}

static void free_woken_select_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    int busy = 0;
    for (int thread = 0; thread < 2; thread++) {
        for (int by_close = 0; by_close < 2; by_close++) {
            select_woken_by_main(thread, by_close, &busy);
            select_woken_by_goroutine(thread, by_close);
        }
    }
    printf("GS_EBUSY seen %d times (main thread), %d (goroutine)\n", busy, atomic_load(&gwaker_busy));
}

/* ---- gs_chan_free racing woken receivers and senders ----------------------------------- */

enum { WAKE_PEER, WAKE_CLOSE };

static void plain_woken(bool thread, bool receiver, int how, bool buffered)
{
    static waiter w;
    pthread_t t;
    memset(&w, 0, sizeof w);
    w.body = receiver ? body_recv : body_send;
    w.a = gs_chan_new(sizeof(int64_t), buffered ? 1 : 0);
    w.timeout = -1;
    CHECK(w.a);
    if (buffered && !receiver) {
        int64_t fill = 1;
        CHECK_RC(gs_chan_send(w.a, &fill), 0); /* full: the sender waits */
    }
    start_waiter(&w, thread, &t, 1);
    CHECK_RC(gs_chan_free(w.a), GS_EBUSY);
    int64_t v = 5;
    if (how == WAKE_CLOSE)
        CHECK_RC(gs_chan_close(w.a), 0);
    else if (receiver)
        CHECK_RC(gs_chan_send(w.a, &v), 0);
    else
        CHECK_RC(gs_chan_recv(w.a, &v), 0);
    watch(w.a);
    FREE_UNTIL_DONE(gs_chan_free, w.a);
    poison();
    finish_waiter(&w, thread, &t);
    if (how == WAKE_CLOSE) {
        CHECK_RC(w.rc, GS_ECLOSED);
    } else {
        CHECK_RC(w.rc, 0);
        if (receiver)
            CHECK_EQ(w.v, 5);
        else
            CHECK_EQ(v, buffered ? 1 : 42);
    }
}

static void free_woken_plain_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    for (int thread = 0; thread < 2; thread++)
        for (int receiver = 0; receiver < 2; receiver++)
            for (int how = 0; how < 2; how++)
                for (int buffered = 0; buffered < 2; buffered++)
                    plain_woken(thread, receiver, how, buffered);
}

/* ---- gs_chan_free racing calls that time out ------------------------------------------- */

/* A waiter's call times out while the main thread frees its channel: GS_EBUSY until
 * it has left the queue. With `poke`, the main thread also offers it a partner
 * (gs_chan_try_send or gs_chan_try_recv) as its time runs out: a poke that finds its
 * entry claimed by the timeout takes it off the queue, and the waiter still has to
 * lock the channel to leave; or the poke wins, and the waiter completes. */
static void timed_out(bool thread, void (*body)(waiter *), bool poke)
{
    static waiter w;
    pthread_t t;
    memset(&w, 0, sizeof w);
    w.body = body;
    w.a = gs_chan_new(sizeof(int64_t), 0);
    w.b = gs_chan_new(sizeof(int64_t), 0);
    w.timeout = 2 * MS;
    CHECK(w.a && w.b);
    start_waiter(&w, thread, &t, 1);
    watch(w.a);
    int64_t v = 9;
    bool poked = false;
    if (poke) {
        /* From just before the deadline (its start is a little before ours). */
        int64_t end = mono_ns() + 2 * MS + 500 * US;
        sleep_ms(1);
        for (int64_t now = mono_ns(); now < end && !poked; now = mono_ns()) {
            int rc = body == body_send ? gs_chan_try_recv(w.a, &v) : gs_chan_try_send(w.a, &v);
            if (rc == 0)
                poked = true;
            else
                CHECK_RC(rc, GS_EAGAIN);
        }
    }
    FREE_UNTIL_DONE(gs_chan_free, w.a);
    poison();
    finish_waiter(&w, thread, &t);
    if (poked) {
        CHECK_RC(w.rc, 0);
        if (body == body_send)
            CHECK_EQ(v, 42);
        else
            CHECK_EQ(w.v, 9);
    } else {
        CHECK_RC(w.rc, GS_ETIMEDOUT);
    }
    CHECK_RC(gs_chan_free(w.b), 0);
}

static void free_timed_out_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    for (int thread = 0; thread < 2; thread++) {
        for (int poke = 0; poke < 2; poke++) {
            timed_out(thread, body_recv, poke);
            timed_out(thread, body_send, poke);
            timed_out(thread, body_select, poke);
        }
    }
}

/* ---- gs_waitgroup_free right after the wait returns ------------------------------------ */

static gs_waitgroup *wwg;
static atomic_int doner_state;
static atomic_int waiters_back;

static void doner_goroutine(void *arg)
{
    int64_t delay = (int64_t)(intptr_t)arg;
    if (delay > 0)
        CHECK_RC(gs_sleep(delay), 0);
    CHECK_RC(gs_waitgroup_done(wwg), 0);
    atomic_store(&doner_state, 1);
}

static void *doner_thread(void *arg)
{
    int64_t delay = (int64_t)(intptr_t)arg;
    if (delay > 0)
        sleep_ms((int)(delay / MS));
    CHECK_RC(gs_waitgroup_done(wwg), 0);
    atomic_store(&doner_state, 1);
    return NULL;
}

static void wg_waiter_goroutine(void *arg)
{
    (void)arg;
    CHECK_RC(gs_waitgroup_wait(wwg), 0);
    atomic_fetch_add(&waiters_back, 1);
}

/* The main thread waits; a goroutine or a thread calls done. */
static void wg_round(bool doner_is_thread, int64_t delay)
{
    wwg = gs_waitgroup_new();
    CHECK(wwg);
    CHECK_RC(gs_waitgroup_add(wwg, 1), 0);
    atomic_store(&doner_state, 0);
    pthread_t t;
    if (doner_is_thread)
        start_thread(doner_thread, (void *)(intptr_t)delay, &t);
    else
        CHECK(gs_go(doner_goroutine, (void *)(intptr_t)delay) > 0);
    CHECK_RC(gs_waitgroup_wait(wwg), 0);
    /* Back from the wait: whoever released us is done with wwg. */
    watch(wwg);
    CHECK_RC(gs_waitgroup_free(wwg), 0);
    poison();
    await_flag(&doner_state, 1, 5000,
               "gs_waitgroup_done did not return after the wait group was freed: it "
               "touched the freed (poisoned) memory");
    if (doner_is_thread)
        CHECK(pthread_join(t, NULL) == 0);
    else
        WAIT_ALL();
}

/* The waiter is a goroutine, the done comes from the main thread. */
static atomic_int gwaiter_state;

static void wg_goroutine_waiter(void *arg)
{
    (void)arg;
    atomic_store(&gwaiter_state, 1);
    CHECK_RC(gs_waitgroup_wait(wwg), 0);
    watch(wwg);
    CHECK_RC(gs_waitgroup_free(wwg), 0);
    poison(); /* no switch since the free: same thread */
    atomic_store(&gwaiter_state, 2);
}

static void free_waitgroup_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    /* The main thread waits (blocked, or finding 0 at once); the done comes from a
     * goroutine or a thread, after a delay or at once. */
    for (int doner_is_thread = 0; doner_is_thread < 2; doner_is_thread++) {
        wg_round(doner_is_thread, 2 * MS);
        wg_round(doner_is_thread, 0);
    }
    /* A goroutine waits; the main thread calls done. */
    for (int i = 0; i < 2; i++) {
        wwg = gs_waitgroup_new();
        CHECK(wwg);
        CHECK_RC(gs_waitgroup_add(wwg, 1), 0);
        atomic_store(&gwaiter_state, 0);
        CHECK(gs_go(wg_goroutine_waiter, NULL) > 0);
        if (i == 0)
            WAIT_PARKED(1, 10000);
        CHECK_RC(gs_waitgroup_done(wwg), 0);
        WAIT_ALL();
        CHECK_EQ(atomic_load(&gwaiter_state), 2);
    }
    /* Several waiters, goroutines and the main thread: once all are back, free. */
    wwg = gs_waitgroup_new();
    CHECK(wwg);
    CHECK_RC(gs_waitgroup_add(wwg, 1), 0);
    atomic_store(&waiters_back, 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(wg_waiter_goroutine, NULL) > 0);
    WAIT_PARKED(4, 10000);
    CHECK_RC(gs_waitgroup_free(wwg), GS_EBUSY);
    atomic_store(&doner_state, 0);
    CHECK(gs_go(doner_goroutine, (void *)(intptr_t)(1 * MS)) > 0);
    CHECK_RC(gs_waitgroup_wait(wwg), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&waiters_back), 4);
    CHECK_RC(gs_waitgroup_free(wwg), 0);
}

/* ---- gs_mutex_free right after a woken locker returns ---------------------------------- */

static gs_mutex *mmu;
static atomic_int unlocker_state;

static void unlocker_goroutine(void *arg)
{
    (void)arg;
    CHECK_RC(gs_sleep(2 * MS), 0); /* the main thread blocks meanwhile */
    CHECK_RC(gs_mutex_unlock(mmu), 0);
    atomic_store(&unlocker_state, 1);
}

static void *unlocker_thread(void *arg)
{
    (void)arg;
    sleep_ms(2);
    CHECK_RC(gs_mutex_unlock(mmu), 0);
    atomic_store(&unlocker_state, 1);
    return NULL;
}

static atomic_int glocker_state;

static void locker_goroutine(void *arg)
{
    (void)arg;
    atomic_store(&glocker_state, 1);
    CHECK_RC(gs_mutex_lock(mmu), 0);
    CHECK_RC(gs_mutex_unlock(mmu), 0);
    watch(mmu);
    CHECK_RC(gs_mutex_free(mmu), 0);
    poison(); /* no switch since the free: same thread */
    atomic_store(&glocker_state, 2);
}

static void free_mutex_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    /* The main thread blocks in lock; a goroutine or a thread unlocks. */
    for (int thread = 0; thread < 2; thread++) {
        mmu = gs_mutex_new();
        CHECK(mmu);
        CHECK_RC(gs_mutex_lock(mmu), 0); /* for the unlocker */
        atomic_store(&unlocker_state, 0);
        pthread_t t;
        if (thread)
            start_thread(unlocker_thread, NULL, &t);
        else
            CHECK(gs_go(unlocker_goroutine, NULL) > 0);
        CHECK_RC(gs_mutex_lock(mmu), 0);
        CHECK_RC(gs_mutex_free(mmu), GS_EBUSY); /* locked by us */
        CHECK_RC(gs_mutex_unlock(mmu), 0);
        watch(mmu);
        CHECK_RC(gs_mutex_free(mmu), 0);
        poison();
        await_flag(&unlocker_state, 1, 5000,
                   "gs_mutex_unlock did not return after the mutex was freed: it touched "
                   "the freed (poisoned) memory");
        if (thread)
            CHECK(pthread_join(t, NULL) == 0);
        else
            WAIT_ALL();
    }
    /* A goroutine blocks in lock; the main thread unlocks. */
    mmu = gs_mutex_new();
    CHECK(mmu);
    CHECK_RC(gs_mutex_lock(mmu), 0);
    atomic_store(&glocker_state, 0);
    CHECK(gs_go(locker_goroutine, NULL) > 0);
    WAIT_PARKED(1, 10000);
    CHECK_RC(gs_mutex_free(mmu), GS_EBUSY);
    CHECK_RC(gs_mutex_unlock(mmu), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&glocker_state), 2);
}

/* ---- Use after free, double free ------------------------------------------------------- */

static atomic_int uaf_done;

/* Every function taking the handles: GS_EINVAL (len and cap: 0). */
static void check_freed(gs_chan *c, gs_mutex *m, gs_waitgroup *wg)
{
    int64_t v = 1;
    CHECK_RC(gs_chan_send(c, &v), GS_EINVAL);
    CHECK_RC(gs_chan_recv(c, &v), GS_EINVAL);
    CHECK_RC(gs_chan_try_send(c, &v), GS_EINVAL);
    CHECK_RC(gs_chan_try_recv(c, &v), GS_EINVAL);
    CHECK_RC(gs_chan_send_timeout(c, &v, 1 * MS), GS_EINVAL);
    CHECK_RC(gs_chan_recv_timeout(c, &v, 1 * MS), GS_EINVAL);
    CHECK_RC(gs_chan_close(c), GS_EINVAL);
    CHECK_EQ(gs_chan_len(c), 0);
    CHECK_EQ(gs_chan_cap(c), 0);
    gs_select_case cs[1] = {{c, GS_RECV, &v, 0}};
    CHECK_RC(gs_select(cs, 1, -1), GS_EINVAL);
    CHECK_RC(gs_select(cs, 1, 0), GS_EINVAL);
    cs[0].op = GS_SEND;
    CHECK_RC(gs_select(cs, 1, 1 * MS), GS_EINVAL);
    CHECK_RC(gs_chan_free(c), GS_EINVAL);

    CHECK_RC(gs_mutex_lock(m), GS_EINVAL);
    CHECK_RC(gs_mutex_trylock(m), GS_EINVAL);
    CHECK_RC(gs_mutex_unlock(m), GS_EINVAL);
    CHECK_RC(gs_mutex_free(m), GS_EINVAL);

    CHECK_RC(gs_waitgroup_add(wg, 1), GS_EINVAL);
    CHECK_RC(gs_waitgroup_done(wg), GS_EINVAL);
    CHECK_RC(gs_waitgroup_wait(wg), GS_EINVAL);
    CHECK_RC(gs_waitgroup_free(wg), GS_EINVAL);
}

static gs_chan *uc;
static gs_mutex *um;
static gs_waitgroup *uwg;

static void uaf_goroutine(void *arg)
{
    (void)arg;
    check_freed(uc, um, uwg);
    atomic_store(&uaf_done, 1);
}

static gs_chan *racing;
static atomic_int race_go, race_zero, race_inval;

/* Two of these free one channel at once. Neither ends before both returned: the
 * winner's quarantine must outlive the loser's call. */
static void *double_free_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_go)) {
    }
    int rc = gs_chan_free(racing);
    if (rc == 0)
        atomic_fetch_add(&race_zero, 1);
    else if (rc == GS_EINVAL)
        atomic_fetch_add(&race_inval, 1);
    else
        FAIL("racing gs_chan_free returned %d", rc);
    while (atomic_load(&race_zero) + atomic_load(&race_inval) < 2) {
    }
    return NULL;
}

static void use_after_free_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    /* A buffered channel with values in it (and a big ring, freed at once), a
     * mutex, a wait group with a counter: freed, then used. */
    for (int big = 0; big < 2; big++) {
        uc = gs_chan_new(sizeof(int64_t), big ? 4096 : 4);
        um = gs_mutex_new();
        uwg = gs_waitgroup_new();
        CHECK(uc && um && uwg);
        int64_t v = 3;
        CHECK_RC(gs_chan_send(uc, &v), 0);
        CHECK_RC(gs_waitgroup_add(uwg, 2), 0);
        CHECK_RC(gs_chan_free(uc), 0);
        CHECK_RC(gs_mutex_free(um), 0);
        CHECK_RC(gs_waitgroup_free(uwg), 0);
        check_freed(uc, um, uwg); /* foreign thread */
        atomic_store(&uaf_done, 0);
        CHECK(gs_go(uaf_goroutine, NULL) > 0);
        WAIT_ALL();
        CHECK_EQ(atomic_load(&uaf_done), 1);
    }
    /* A handle of another kind is refused too. */
    gs_chan *c = gs_chan_new(0, 0);
    gs_mutex *m = gs_mutex_new();
    gs_waitgroup *wg = gs_waitgroup_new();
    CHECK(c && m && wg);
    CHECK_RC(gs_chan_close((gs_chan *)m), GS_EINVAL);
    CHECK_RC(gs_chan_free((gs_chan *)wg), GS_EINVAL);
    CHECK_RC(gs_mutex_lock((gs_mutex *)c), GS_EINVAL);
    CHECK_RC(gs_mutex_free((gs_mutex *)wg), GS_EINVAL);
    CHECK_RC(gs_waitgroup_wait((gs_waitgroup *)m), GS_EINVAL);
    CHECK_RC(gs_waitgroup_free((gs_waitgroup *)c), GS_EINVAL);
    CHECK_RC(gs_chan_free(c), 0);
    CHECK_RC(gs_mutex_free(m), 0);
    CHECK_RC(gs_waitgroup_free(wg), 0);
    /* Two threads free one channel at once: one frees it, the other gets GS_EINVAL. */
    for (int i = 0; i < 20; i++) {
        racing = gs_chan_new(8, 1);
        CHECK(racing);
        atomic_store(&race_go, 0);
        atomic_store(&race_zero, 0);
        atomic_store(&race_inval, 0);
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            start_thread(double_free_thread, NULL, &t[k]);
        atomic_store(&race_go, 1);
        for (int k = 0; k < 2; k++)
            CHECK(pthread_join(t[k], NULL) == 0);
        CHECK_EQ(atomic_load(&race_zero), 1);
        CHECK_EQ(atomic_load(&race_inval), 1);
    }
}

/* ---- Objects left by abandoned goroutines ---------------------------------------------- */

static gs_chan *ab_a, *ab_b;
static gs_mutex *ab_mu;
static gs_waitgroup *ab_wg;

static void ab_select(void *arg)
{
    (void)arg;
    int64_t va, vb;
    gs_select_case cs[2] = {{ab_a, GS_RECV, &va, 0}, {ab_b, GS_SEND, &vb, 0}};
    gs_select(cs, 2, -1);
    FAIL("an abandoned select returned");
}

static void ab_lock(void *arg)
{
    (void)arg;
    gs_mutex_lock(ab_mu);
    FAIL("an abandoned lock returned");
}

static void ab_wait(void *arg)
{
    (void)arg;
    gs_waitgroup_wait(ab_wg);
    FAIL("an abandoned wait returned");
}

static void free_after_shutdown_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    ab_a = gs_chan_new(8, 0);
    ab_b = gs_chan_new(8, 0);
    ab_mu = gs_mutex_new();
    ab_wg = gs_waitgroup_new();
    CHECK(ab_a && ab_b && ab_mu && ab_wg);
    CHECK_RC(gs_mutex_lock(ab_mu), 0);
    CHECK_RC(gs_waitgroup_add(ab_wg, 1), 0);
    CHECK(gs_go(ab_select, NULL) > 0);
    CHECK(gs_go(ab_lock, NULL) > 0);
    CHECK(gs_go(ab_wait, NULL) > 0);
    WAIT_PARKED(3, 10000);
    CHECK_RC(gs_chan_free(ab_a), GS_EBUSY);
    CHECK_RC(gs_waitgroup_free(ab_wg), GS_EBUSY);
    CHECK(gs_shutdown() >= 0);
    /* The abandoned goroutines no longer count. */
    CHECK_RC(gs_chan_free(ab_a), 0);
    CHECK_RC(gs_chan_free(ab_b), 0);
    CHECK_RC(gs_waitgroup_free(ab_wg), 0);
    CHECK_RC(gs_mutex_free(ab_mu), GS_EBUSY); /* still locked by us */
    CHECK_RC(gs_mutex_unlock(ab_mu), 0);
    CHECK_RC(gs_mutex_free(ab_mu), 0);
}

static const hostile_case cases[] = {
    {"mutex_fair_mixed", mutex_fair_mixed_case, 30},
    {"mutex_fair_goroutines", mutex_fair_goroutines_case, 30},
    {"mutex_trylock", mutex_trylock_case, 30},
    {"free_woken_select", free_woken_select_case, 30},
    {"free_woken_plain", free_woken_plain_case, 30},
    {"free_timed_out", free_timed_out_case, 30},
    {"free_waitgroup", free_waitgroup_case, 30},
    {"free_mutex", free_mutex_case, 30},
    {"use_after_free", use_after_free_case, 30},
    {"free_after_shutdown", free_after_shutdown_case, 30},
};

HOSTILE_MAIN(cases)
