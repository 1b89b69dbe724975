/*
 * Timers and tickers as channels, after-funcs (gs_timer_*, gs_ticker_*,
 * gs_after_func; Go 1.23's semantics):
 *
 * 1. A timer fires once, ns after it was made: the value is its fire time, no
 *    earlier than asked. A stopped timer never fires (stop returns 1 the first
 *    time, 0 after).
 * 2. Stop and reset after the timer fired but before its value was received return
 *    1 and take the value out: no stale value is received afterwards. A reset timer
 *    fires once, at the new time, not the old one. Stop after the value was
 *    received returns 0.
 * 3. A ticker with a slow receiver drops ticks: with a 1 ms period and a receiver
 *    that takes one every 20 ms, the channel never holds more than one, and about
 *    one tick per 20 ms arrives, not 20. Stop ends the ticks; reset changes the
 *    period.
 * 4. 10,000 goroutines each select over a never-ready channel and their own timer
 *    of 1-50 ms: every select chooses the timer, no earlier than its time.
 * 5. An after-func runs its function once, as a goroutine; a stopped one never runs;
 *    a reset one runs again.
 * 6. Free: GS_EBUSY while a goroutine waits on the channel; timers and tickers
 *    freed right as they fire (period 0.01-0.1 ms, 2,000 times) never send into
 *    freed memory (the sanitizer runs catch it); a timer whose channel the user
 *    freed (against the docs) fires without a crash and is freed. Errors: no
 *    runtime GS_ENOTINIT, NULL out / bad period / wrong kind GS_EINVAL.
 * 7. 4 goroutines and 2 threads stop and reset one timer and one ticker at random
 *    while a goroutine receives from both: every call succeeds, and afterwards a
 *    stopped timer or ticker has nothing left in its channel.
 */
#include "common.h"

#define MS 1000000LL

static void test_one_shot(void)
{
    gs_timer *t;
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_timer_new(10 * MS, &t), 0);
    int64_t v = 0;
    CHECK_RC(gs_chan_recv(gs_timer_chan(t), &v), 0);
    CHECK(v >= t0 + 10 * MS);
    CHECK(gs_nanotime() - t0 >= 10 * MS);
    CHECK_RC(gs_timer_stop(t), 0); /* fired and received */
    sleep_ms(20);
    CHECK_RC(gs_chan_try_recv(gs_timer_chan(t), &v), GS_EAGAIN); /* once only */
    CHECK_RC(gs_timer_free(t), 0);

    CHECK_RC(gs_timer_new(200 * MS, &t), 0);
    CHECK_RC(gs_timer_stop(t), 1);
    CHECK_RC(gs_timer_stop(t), 0);
    sleep_ms(300); /* past its time */
    CHECK_RC(gs_chan_try_recv(gs_timer_chan(t), &v), GS_EAGAIN);
    CHECK_RC(gs_timer_free(t), 0);
    printf("one-shot fires once on time; a stopped timer never fires: ok\n");
}

static void test_stale(void)
{
    gs_timer *t;
    int64_t v;
    CHECK_RC(gs_timer_new(2 * MS, &t), 0);
    int64_t w0 = mono_ns();
    while (gs_chan_len(gs_timer_chan(t)) == 0 && mono_ns() - w0 < 5000 * MS)
        sleep_ms(1); /* until it fired: the value waits in the channel */
    CHECK_EQ(gs_chan_len(gs_timer_chan(t)), 1);
    CHECK_RC(gs_timer_stop(t), 1); /* the value was not delivered: stopped */
    CHECK_RC(gs_chan_try_recv(gs_timer_chan(t), &v), GS_EAGAIN);

    /* Reset of an armed timer: it fires only at the new time. */
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_timer_reset(t, 10 * MS), 0);  /* was stopped */
    CHECK_RC(gs_timer_reset(t, 300 * MS), 1); /* was armed (or its value is taken out) */
    sleep_ms(100);
    CHECK_RC(gs_chan_try_recv(gs_timer_chan(t), &v), GS_EAGAIN); /* not at 10 ms */
    CHECK_RC(gs_chan_recv_timeout(gs_timer_chan(t), &v, 5000 * MS), 0);
    CHECK(v >= t0 + 300 * MS);
    CHECK_RC(gs_chan_recv_timeout(gs_timer_chan(t), &v, 30 * MS), GS_ETIMEDOUT); /* once */

    /* Reset after firing, value not received: no stale value, only the new one. */
    CHECK_RC(gs_timer_reset(t, 1 * MS), 0);
    sleep_ms(20);
    int64_t t1 = gs_nanotime();
    CHECK_RC(gs_timer_reset(t, 20 * MS), 1);
    CHECK_RC(gs_chan_recv(gs_timer_chan(t), &v), 0);
    CHECK(v >= t1 + 20 * MS); /* the new firing's value, not the stale one */
    CHECK_RC(gs_timer_free(t), 0);
    printf("stop/reset take out undelivered values; reset fires at the new time only: ok\n");
}

static void test_ticker(void)
{
    gs_ticker *tk;
    int64_t v, prev = 0;
    CHECK_RC(gs_ticker_new(1 * MS, &tk), 0);
    gs_chan *c = gs_ticker_chan(tk);
    CHECK(c);
    int got = 0;
    int64_t t0 = gs_nanotime();
    for (int i = 0; i < 10; i++) {
        for (int k = 0; k < 20; k++) {
            sleep_ms(1);
            if (gs_chan_len(c) > 1)
                FAIL("a ticker queued %zu ticks", gs_chan_len(c));
        }
        CHECK_RC(gs_chan_recv(c, &v), 0);
        CHECK(v > prev);
        prev = v;
        got++;
        (void)gs_chan_try_recv(c, &v); /* a tick that came during the receive: dropped too */
    }
    int64_t dt = gs_nanotime() - t0;
    CHECK_EQ(got, 10);
    CHECK(dt >= 200 * MS);
    /* Stop: no more ticks. */
    CHECK_RC(gs_ticker_stop(tk), 0);
    sleep_ms(10);
    CHECK_RC(gs_chan_try_recv(c, &v), GS_EAGAIN);
    /* Reset: ticks again, at the new period. */
    int64_t t1 = gs_nanotime(); /* before the reset: its ticks count from then */
    CHECK_RC(gs_ticker_reset(tk, 5 * MS), 0);
    for (int i = 0; i < 5; i++)
        CHECK_RC(gs_chan_recv(c, &v), 0);
    CHECK(gs_nanotime() - t1 >= 25 * MS);
    CHECK_RC(gs_ticker_reset(tk, 0), GS_EINVAL);
    CHECK_RC(gs_ticker_free(tk), 0);
    printf("ticker: slow receiver gets one tick per receive, never more than one queued; stop, reset: ok\n");
}

/* ----------------------------------------------------------- 4. 10,000 in select */
#define NSEL 10000
static gs_chan *never;
static atomic_int sel_ok;

static void selector(void *arg)
{
    int64_t ns = (1 + (int64_t)(uintptr_t)arg % 50) * MS;
    gs_timer *t;
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_timer_new(ns, &t), 0);
    int64_t a, when;
    gs_select_case cases[2] = {
        {.chan = never, .op = GS_RECV, .elem = &a},
        {.chan = gs_timer_chan(t), .op = GS_RECV, .elem = &when},
    };
    CHECK_RC(gs_select(cases, 2, -1), 1);
    CHECK(when >= t0 + ns);
    CHECK(gs_nanotime() - t0 >= ns);
    CHECK_RC(gs_timer_free(t), 0);
    atomic_fetch_add(&sel_ok, 1);
}

static void test_select_many(void)
{
    never = gs_chan_new(8, 0);
    CHECK(never);
    atomic_store(&sel_ok, 0);
    int64_t t0 = mono_ns();
    for (int i = 0; i < NSEL; i++)
        CHECK(gs_go(selector, (void *)(uintptr_t)i) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&sel_ok), NSEL);
    CHECK_RC(gs_chan_free(never), 0);
    printf("%d goroutines selected on their timers in %.0f ms: ok\n", NSEL, (mono_ns() - t0) / 1e6);
}

/* -------------------------------------------------------------- 5. after-func */
static atomic_int af_runs;
static atomic_int af_on_goroutine;

static void af_fn(void *arg)
{
    (void)arg;
    if (gs_self() != NULL)
        atomic_fetch_add(&af_on_goroutine, 1);
    atomic_fetch_add(&af_runs, 1);
}

static void test_after_func(void)
{
    gs_timer *t;
    atomic_store(&af_runs, 0);
    atomic_store(&af_on_goroutine, 0);
    CHECK_RC(gs_after_func(5 * MS, af_fn, NULL, &t), 0);
    CHECK(gs_timer_chan(t) == NULL);
    int64_t t0 = mono_ns();
    while (atomic_load(&af_runs) == 0 && mono_ns() - t0 < 5000 * MS)
        sleep_ms(1);
    sleep_ms(30);
    CHECK_EQ(atomic_load(&af_runs), 1);
    CHECK_EQ(atomic_load(&af_on_goroutine), 1);
    CHECK_RC(gs_timer_stop(t), 0); /* ran already */
    CHECK_RC(gs_timer_reset(t, 5 * MS), 0);
    t0 = mono_ns();
    while (atomic_load(&af_runs) < 2 && mono_ns() - t0 < 5000 * MS)
        sleep_ms(1);
    CHECK_EQ(atomic_load(&af_runs), 2);
    CHECK_RC(gs_timer_reset(t, 300 * MS), 0);
    CHECK_RC(gs_timer_stop(t), 1); /* prevented */
    sleep_ms(400);
    CHECK_EQ(atomic_load(&af_runs), 2);
    CHECK_RC(gs_timer_free(t), 0);
    printf("after-func runs once on a goroutine; stop prevents it; reset re-arms: ok\n");
}

/* ------------------------------------------------------------------- 6. free */
static gs_timer *busy_t;
static atomic_int recv_started;
static void blocked_receiver(void *arg)
{
    (void)arg;
    int64_t v;
    atomic_store(&recv_started, 1);
    CHECK_RC(gs_chan_recv(gs_timer_chan(busy_t), &v), 0);
}

static void churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 500; i++) {
        int64_t ns = 10000 + ((i * 7 + id) % 10) * 10000;
        if (i % 2) {
            gs_timer *t;
            CHECK_RC(gs_timer_new(ns, &t), 0);
            if (i % 4 == 1)
                gs_sleep(ns);
            CHECK_RC(gs_timer_free(t), 0);
        } else {
            gs_ticker *tk;
            CHECK_RC(gs_ticker_new(ns, &tk), 0);
            gs_sleep(ns * (i % 3));
            CHECK_RC(gs_ticker_free(tk), 0);
        }
    }
}

static void test_free(void)
{
    CHECK_RC(gs_timer_new(1000 * MS, &busy_t), 0);
    atomic_store(&recv_started, 0);
    CHECK(gs_go(blocked_receiver, NULL) > 0);
    while (!atomic_load(&recv_started))
        sleep_ms(1);
    sleep_ms(10);
    CHECK_RC(gs_timer_free(busy_t), GS_EBUSY);
    CHECK_RC(gs_timer_reset(busy_t, 1 * MS), 0); /* stopped by the failed free */
    WAIT_ALL();
    CHECK_RC(gs_timer_free(busy_t), 0);
    CHECK_RC(gs_timer_free(busy_t), GS_EINVAL);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(churn, (void *)(intptr_t)i) > 0);
    WAIT_ALL();
    gs_ticker *tk;
    gs_timer *t;
    CHECK_RC(gs_ticker_new(1 * MS, &tk), 0);
    CHECK_RC(gs_timer_stop((gs_timer *)tk), GS_EINVAL); /* a ticker is not a timer */
    CHECK(gs_timer_chan((gs_timer *)tk) == NULL);
    CHECK_RC(gs_timer_new(1 * MS, &t), 0);
    CHECK_RC(gs_ticker_stop((gs_ticker *)t), GS_EINVAL);
    CHECK_RC(gs_ticker_free(tk), 0);
    CHECK_RC(gs_timer_free(t), 0);
    /* Hostile: the timer's channel freed by the user (the docs forbid it). The fire
     * finds it refused, nothing crashes, and the timer can still be freed. */
    CHECK_RC(gs_timer_new(2 * MS, &t), 0);
    CHECK_RC(gs_chan_free(gs_timer_chan(t)), 0);
    sleep_ms(20);
    CHECK_RC(gs_timer_stop(t), 0);
    CHECK_RC(gs_timer_free(t), 0);
    printf("free: busy while waited on, churn of 2000 timers/tickers freed as they fire, kinds checked: ok\n");
}

/* ------------------------------------------------- 7. concurrent stop/reset */
static gs_timer *shared_t;
static gs_ticker *shared_tk;
static atomic_int hammer_stop;

static void hammer_ops(int id)
{
    unsigned r = (unsigned)id * 2654435761u + 7;
    for (int i = 0; i < 3000; i++) {
        r = r * 1103515245u + 12345u;
        int64_t ns = 1000 + (int64_t)((r >> 8) % 200000);
        switch ((r >> 20) % 4) {
        case 0: {
            int rc = gs_timer_reset(shared_t, ns);
            CHECK(rc == 0 || rc == 1);
            break;
        }
        case 1: {
            int rc = gs_timer_stop(shared_t);
            CHECK(rc == 0 || rc == 1);
            break;
        }
        case 2:
            CHECK_RC(gs_ticker_reset(shared_tk, ns), 0);
            break;
        default:
            CHECK_RC(gs_ticker_stop(shared_tk), 0);
        }
        if ((i & 63) == 0 && gs_self())
            gs_gosched();
    }
}

static void hammer_g(void *arg)
{
    hammer_ops((int)(intptr_t)arg);
}

static void *hammer_t(void *arg)
{
    hammer_ops((int)(intptr_t)arg);
    return NULL;
}

static void drainer(void *arg)
{
    (void)arg;
    int64_t v;
    gs_select_case cases[2] = {
        {.chan = gs_timer_chan(shared_t), .op = GS_RECV, .elem = &v},
        {.chan = gs_ticker_chan(shared_tk), .op = GS_RECV, .elem = &v},
    };
    while (!atomic_load(&hammer_stop)) {
        int rc = gs_select(cases, 2, 2 * MS);
        CHECK(rc == 0 || rc == 1 || rc == GS_ETIMEDOUT);
    }
}

static void test_concurrent_ops(void)
{
    CHECK_RC(gs_timer_new(MS, &shared_t), 0);
    CHECK_RC(gs_ticker_new(MS, &shared_tk), 0);
    atomic_store(&hammer_stop, 0);
    CHECK(gs_go(drainer, NULL) > 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(hammer_g, (void *)(intptr_t)i) > 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, hammer_t, (void *)(intptr_t)(10 + i)) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    sleep_ms(50);
    atomic_store(&hammer_stop, 1);
    WAIT_ALL();
    /* Still consistent: stop, then a second stop reports nothing pending; no stale
     * value is received after it. */
    CHECK(gs_timer_stop(shared_t) >= 0);
    CHECK_RC(gs_timer_stop(shared_t), 0);
    int64_t v;
    CHECK_RC(gs_chan_try_recv(gs_timer_chan(shared_t), &v), GS_EAGAIN);
    CHECK_RC(gs_ticker_stop(shared_tk), 0);
    sleep_ms(5);
    CHECK_RC(gs_chan_try_recv(gs_ticker_chan(shared_tk), &v), GS_EAGAIN);
    CHECK_RC(gs_timer_free(shared_t), 0);
    CHECK_RC(gs_ticker_free(shared_tk), 0);
    printf("concurrent stop/reset from 4 goroutines and 2 threads with a receiver: ok\n");
}

int main(void)
{
    gs_timer *t;
    gs_ticker *tk;
    CHECK_RC(gs_timer_new(MS, &t), GS_ENOTINIT);
    CHECK_RC(gs_ticker_new(MS, &tk), GS_ENOTINIT);
    CHECK_RC(gs_after_func(MS, af_fn, NULL, &t), GS_ENOTINIT);
    init_procs(2);
    CHECK_RC(gs_timer_new(MS, NULL), GS_EINVAL);
    CHECK_RC(gs_ticker_new(0, &tk), GS_EINVAL);
    CHECK_RC(gs_ticker_new(-5, &tk), GS_EINVAL);
    CHECK_RC(gs_after_func(MS, NULL, NULL, &t), GS_EINVAL);
    CHECK_RC(gs_timer_stop(NULL), GS_EINVAL);
    CHECK_RC(gs_timer_reset(NULL, 1), GS_EINVAL);
    CHECK_RC(gs_timer_free(NULL), GS_EINVAL);
    CHECK_RC(gs_ticker_free(NULL), GS_EINVAL);
    CHECK(gs_timer_chan(NULL) == NULL);
    test_one_shot();
    test_stale();
    test_ticker();
    test_after_func();
    test_free();
    test_concurrent_ops();
    test_select_many();
    /* A timer that outlives its runtime: it never fires again and can be freed. */
    CHECK_RC(gs_timer_new(5 * MS, &t), 0);
    CHECK(gs_shutdown() >= 0);
    CHECK_RC(gs_timer_reset(t, MS), GS_ENOTINIT);
    CHECK_RC(gs_timer_free(t), 0);
    printf("timer_chan: all ok\n");
    return 0;
}
