/*
 * The host thread: GS_GO_HOST goroutines and gs_run_for.
 *
 * - Host goroutines run only on the thread that called gs_init (gettid recorded in
 *   every step) and only inside gs_run_for (a flag set around each call).
 * - They may use gs_sleep, gs_park (readied by a worker goroutine) and gs_go (a worker,
 *   which never runs on the host thread, and another host goroutine).
 * - gs_run_for from another thread, and from a goroutine, gives GS_EPERM.
 * - gs_run_for(5 ms) never overruns its budget by more than one step: four host
 *   goroutines do steps of ~1 ms of busy work (then gs_gosched). Every call is
 *   measured: it may last the budget plus its longest step (as the steps measure
 *   themselves, so that a preempted step excuses itself) plus 20 ms of slack, and
 *   run at most 6 of those steps (without the budget one call would run all ~120).
 * - A host goroutine readied (gs_ready from this thread, outside gs_run_for) waits
 *   for the next gs_run_for: it makes no progress until then.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#define MS 1000000LL
#define STEPPERS 4
#define STEPS 30
#define BUDGET (5 * MS)

static pid_t host_tid;
static atomic_bool in_run_for;
static atomic_int host_violations, worker_violations;
static atomic_int host_done;
static int host_total; /* host goroutines started (each bumps host_done at its end) */

/* Called by host goroutines at every point where they run. */
static void check_host(const char *who)
{
    if (os_tid() != host_tid || !atomic_load(&in_run_for)) {
        if (atomic_fetch_add(&host_violations, 1) < 5)
            fprintf(stderr, "%s: ran on tid %d (host %d), inside gs_run_for: %d\n", who,
                    (int)os_tid(), (int)host_tid, (int)atomic_load(&in_run_for));
    }
}

static void busy_ms(int64_t ns)
{
    int64_t end = gs_nanotime() + ns;
    while (gs_nanotime() < end) {
    }
}

/* ---------------------------------------------------------------- steppers */

static atomic_long step_count;
static atomic_llong frame_longest_step; /* longest stepper step in the current frame */

static void stepper(void *arg)
{
    (void)arg;
    int64_t t0 = gs_nanotime();
    for (int i = 0; i < STEPS; i++) {
        check_host("stepper");
        busy_ms(1 * MS);
        check_host("stepper");
        atomic_fetch_add(&step_count, 1);
        /* The step lasted from the switch into it (approximately t0) until now. */
        int64_t d = gs_nanotime() - t0;
        if (d > atomic_load(&frame_longest_step))
            atomic_store(&frame_longest_step, d);
        gs_gosched(); /* ends the step */
        t0 = gs_nanotime();
    }
    atomic_fetch_add(&host_done, 1);
}

/* ---------------------------------------------------------------- the API user */

static _Atomic(gs_g *) user_handle;
static atomic_int worker_ready_rc = 1;
static atomic_bool nested_ran;

static void worker(void *arg)
{
    (void)arg;
    if (os_tid() == host_tid)
        atomic_fetch_add(&worker_violations, 1);
    /* Ready the host goroutine once it is parked. */
    gs_g *h;
    int64_t end = gs_nanotime() + 5000 * MS;
    while ((h = atomic_load(&user_handle)) == NULL && gs_nanotime() < end)
        gs_sleep(100000);
    int rc;
    while ((rc = gs_ready(h)) == GS_EINVAL && gs_nanotime() < end)
        gs_sleep(100000); /* not parked yet */
    atomic_store(&worker_ready_rc, rc);
    if (os_tid() == host_tid)
        atomic_fetch_add(&worker_violations, 1);
    /* gs_run_for from a goroutine is refused. */
    CHECK_RC(gs_run_for(BUDGET), GS_EPERM);
}

static void nested_host(void *arg)
{
    (void)arg;
    check_host("nested host");
    gs_sleep(1 * MS);
    check_host("nested host");
    atomic_store(&nested_ran, true);
    atomic_fetch_add(&host_done, 1);
}

static void api_user(void *arg)
{
    (void)arg;
    check_host("api_user");
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_sleep(3 * MS), 0);
    CHECK(gs_nanotime() - t0 >= 3 * MS);
    check_host("api_user after gs_sleep");

    gs_go_opts wo = {0, "worker", 0};
    CHECK_OK(gs_go_with(worker, NULL, &wo));
    atomic_store(&user_handle, gs_self());
    CHECK_RC(gs_park(NULL, NULL, "host park"), 0);
    check_host("api_user after gs_park");

    gs_go_opts ho = {0, "nested-host", GS_GO_HOST};
    CHECK_OK(gs_go_with(nested_host, NULL, &ho));
    CHECK_RC(gs_run_for(BUDGET), GS_EPERM); /* from a goroutine, even on the host thread */
    check_host("api_user at the end");
    atomic_fetch_add(&host_done, 1);
}

/* ---------------------------------------------------------------- ready outside */

static _Atomic(gs_g *) waiter_handle;
static atomic_int waiter_progress;

static void waiter(void *arg)
{
    (void)arg;
    check_host("waiter");
    atomic_store(&waiter_handle, gs_self());
    atomic_store(&waiter_progress, 1);
    CHECK_RC(gs_park(NULL, NULL, "wait for main"), 0);
    check_host("waiter after gs_park");
    atomic_store(&waiter_progress, 2);
    atomic_fetch_add(&host_done, 1);
}

static void *other_thread(void *arg)
{
    (void)arg;
    int *rc = malloc(sizeof *rc);
    CHECK(rc != NULL);
    *rc = gs_run_for(BUDGET);
    return rc;
}

/* One frame: gs_run_for with the flag set around it. Returns the call's duration. */
static int64_t frame(int64_t budget, int *steps)
{
    atomic_store(&in_run_for, true);
    int64_t t0 = gs_nanotime();
    int n = gs_run_for(budget);
    int64_t dt = gs_nanotime() - t0;
    atomic_store(&in_run_for, false);
    CHECK_OK(n);
    if (steps)
        *steps = n;
    return dt;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    host_tid = os_tid();
    CHECK_RC(gs_init(NULL), 0);

    /* Nothing ready: returns 0 at once. */
    int steps;
    frame(BUDGET, &steps);
    CHECK_EQ(steps, 0);

    /* From another thread: GS_EPERM. */
    pthread_t t;
    void *ret;
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK_RC(*(int *)ret, GS_EPERM);
    free(ret);

    /* A readied host goroutine waits for the next gs_run_for. */
    gs_go_opts ho = {0, "waiter", GS_GO_HOST};
    CHECK_OK(gs_go_with(waiter, NULL, &ho));
    host_total++;
    sleep_ms(20);
    CHECK_EQ(atomic_load(&waiter_progress), 0); /* spawned, but not run outside gs_run_for */
    frame(BUDGET, &steps);
    CHECK_EQ(steps, 1);
    CHECK_EQ(atomic_load(&waiter_progress), 1);
    CHECK_RC(gs_ready(atomic_load(&waiter_handle)), 0);
    sleep_ms(30);
    CHECK_EQ(atomic_load(&waiter_progress), 1); /* readied, still not run */
    frame(BUDGET, &steps);
    CHECK_EQ(atomic_load(&waiter_progress), 2);
    CHECK_EQ(steps, 1);

    /* The API user and the steppers, frame by frame. */
    ho.name = "api-user";
    CHECK_OK(gs_go_with(api_user, NULL, &ho));
    host_total += 2; /* it and the nested host goroutine */
    ho.name = "stepper";
    for (int i = 0; i < STEPPERS; i++)
        CHECK_OK(gs_go_with(stepper, NULL, &ho));
    host_total += STEPPERS;

    static int64_t durations[10000];
    int frames = 0, busy_frames = 0, most_steps = 0, stepping_frames = 0, overruns = 0;
    long total_steps = 0;
    double worst_overrun = 0, worst_dt = 0;
    int64_t end = mono_ns() + 20000 * MS;
    while (atomic_load(&host_done) < host_total) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("host goroutines not done after 20 s (%d of %d)", atomic_load(&host_done),
                 host_total);
        }
        long before = atomic_load(&step_count);
        atomic_store(&frame_longest_step, 0);
        int64_t dt = frame(BUDGET, &steps);
        total_steps += steps;
        frames++;
        int stepper_steps = (int)(atomic_load(&step_count) - before);
        int64_t longest = atomic_load(&frame_longest_step);
        if (stepper_steps > most_steps)
            most_steps = stepper_steps;
        /* Steps of >= 1 ms each: at most 5 can start within a 5 ms budget (one more
         * for clock granularity). A busy machine only makes steps longer, so fewer. */
        if (stepper_steps > 6)
            FAIL("one gs_run_for(5 ms) ran %d steps of 1 ms: it did not stop at the budget",
                 stepper_steps);
        /* The call may exceed the budget by the step that was running at the deadline:
         * compare with the longest step it ran (measured by the steps themselves, so a
         * preempted step excuses itself), plus slack for switches. */
        if (stepper_steps > 0) {
            double over = (double)(dt - BUDGET - longest) / 1e6;
            if (over > worst_overrun)
                worst_overrun = over;
            if ((double)dt / 1e6 > worst_dt)
                worst_dt = (double)dt / 1e6;
            /* A call that does not stop at its deadline overruns in every frame; a
             * host thread the OS takes the CPU from (other load) in a few: a quarter
             * of the frames may overrun by 20 ms, none by a second. */
            stepping_frames++;
            if (dt > BUDGET + longest + 20 * MS)
                overruns++;
            if (dt > BUDGET + longest + 1000 * MS)
                FAIL("gs_run_for(5 ms) took %.2f ms; its longest step took %.2f ms",
                     (double)dt / 1e6, (double)longest / 1e6);
        }
        if (stepper_steps >= 3 && atomic_load(&host_done) < host_total)
            durations[busy_frames++] = dt;
        CHECK(frames < (int)(sizeof durations / sizeof durations[0]));
        sleep_ms(1); /* the rest of the "frame": host goroutines must not run now */
    }
    CHECK_EQ(atomic_load(&step_count), STEPPERS * STEPS);
    CHECK(busy_frames > 3);
    if (overruns * 4 > stepping_frames)
        FAIL("gs_run_for(5 ms) overran budget + longest step by more than 20 ms in %d of %d "
             "frames",
             overruns, stepping_frames);
    qsort(durations, (size_t)busy_frames, sizeof durations[0], cmp_i64);
    printf("%d frames, %ld steps; gs_run_for(5 ms) with 1 ms steps ready: median %.2f ms, "
           "max %.2f ms, at most %d steps per call; worst overrun beyond budget + longest step: "
           "%.2f ms\n",
           frames, total_steps, (double)durations[busy_frames / 2] / 1e6, worst_dt, most_steps,
           worst_overrun);

    CHECK_EQ(atomic_load(&host_violations), 0);
    CHECK_EQ(atomic_load(&worker_violations), 0);
    CHECK_RC(atomic_load(&worker_ready_rc), 0);
    CHECK(atomic_load(&nested_ran));
    WAIT_ALL();
    printf("host_run_for: ok\n");
    return 0;
}
