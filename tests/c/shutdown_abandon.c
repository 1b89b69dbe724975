/*
 * What happens while gs_shutdown runs and to what it abandons:
 * - while a shutdown waits for a goroutine that keeps running, every call that needs
 *   the runtime answers GS_ESHUTDOWN on a foreign thread (gs_wait, gs_stats_get,
 *   gs_dump, gs_ready, gs_run_for on the host thread, gs_go and its variants, and the
 *   blocking calls of channels, select, mutexes and wait groups); the goroutine
 *   itself gets GS_ESHUTDOWN from gs_go and gs_ready and still reads its statistics;
 *   afterwards they answer GS_ENOTINIT, and a second gs_shutdown too;
 * - a gs_main whose goroutine is blocked when the runtime is shut down returns
 *   GS_ESHUTDOWN;
 * - a goroutine that a select had been woken for through one channel, abandoned
 *   before it ran again, leaves no sudog on the select's other channels (their
 *   operations and gs_chan_free then touch nothing of its freed stack);
 * - a host goroutine that blocks on a mutex inside gs_run_for after the worker
 *   threads left is abandoned like the others: the mutex can be unlocked and freed;
 * - goroutines wired to their threads (gs_lock_os_thread) and handed between
 *   threads all the time do not keep gs_shutdown waiting for its 2 s grace.
 */
#include "common.h"

static atomic_int holder_running, in_shutdown, release;

/* Waits (foreign thread) until *flag is set; fails after 10 s. */
static void await_flag(atomic_int *flag, const char *what)
{
    int64_t end = mono_ns() + 10LL * 1000000000;
    while (!atomic_load(flag)) {
        if (mono_ns() > end)
            FAIL("waited 10 s for %s", what);
        sleep_ms(1);
    }
}

static int devnull(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    return fd;
}

static void nothing(void *arg)
{
    (void)arg;
}

/* True once the caller's runtime is stopping: gs_ready of a handle that names
 * nobody gives GS_EINVAL while it runs, GS_ESHUTDOWN once it stops (from an M). */
static bool stopping(void)
{
    int rc = gs_ready((gs_g *)(uintptr_t)1);
    if (rc != GS_EINVAL && rc != GS_ESHUTDOWN)
        FAIL("gs_ready of a made-up handle returned %d (%s)", rc, gs_strerror(rc));
    return rc == GS_ESHUTDOWN;
}

/* --- the codes while a shutdown runs --- */

/* Keeps its thread, and with it gs_shutdown, busy until released. */
static void holder(void *arg)
{
    int fd = *(int *)arg;
    atomic_store(&holder_running, 1);
    while (!stopping()) {
    }
    /* On an M of the stopping runtime. */
    CHECK_RC(gs_go(nothing, NULL), GS_ESHUTDOWN);
    gs_stats st;
    CHECK_RC(gs_stats_get(&st), 0);
    CHECK_RC(gs_dump(fd), 0);
    atomic_store(&in_shutdown, 1);
    while (!atomic_load(&release)) {
    }
}

static void *shutdown_thread(void *arg)
{
    *(int *)arg = gs_shutdown();
    return NULL;
}

static void check_codes_during_shutdown(void)
{
    int fd = devnull();
    init_procs(2);
    gs_chan *c = gs_chan_new(sizeof(int), 0);
    gs_mutex *m = gs_mutex_new();
    gs_waitgroup *wg = gs_waitgroup_new();
    CHECK(c != NULL && m != NULL && wg != NULL);
    CHECK_RC(gs_mutex_lock(m), 0);
    CHECK_RC(gs_waitgroup_add(wg, 1), 0);
    atomic_store(&holder_running, 0);
    atomic_store(&in_shutdown, 0);
    atomic_store(&release, 0);
    CHECK_OK(gs_go(holder, &fd));
    await_flag(&holder_running, "the holder to run"); /* else it may be abandoned unrun */
    int shut_rc = -1;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, shutdown_thread, &shut_rc) == 0);
    await_flag(&in_shutdown, "the holder to see the shutdown");

    /* This thread called gs_init: it is the host thread. */
    gs_stats st;
    int v = 7;
    gs_select_case sc = {c, GS_RECV, &v, 0};
    gs_go_opts opts = {0, "x", 0};
    CHECK_RC(gs_stats_get(&st), GS_ESHUTDOWN);
    CHECK_RC(gs_stats_get(NULL), GS_EINVAL);
    CHECK_RC(gs_dump(fd), GS_ESHUTDOWN);
    CHECK_RC(gs_dump(-1), GS_EINVAL);
    CHECK_RC(gs_wait(0), GS_ESHUTDOWN);
    CHECK_RC(gs_wait(-1), GS_ESHUTDOWN);
    CHECK_RC(gs_ready((gs_g *)(uintptr_t)1), GS_ESHUTDOWN);
    CHECK_RC(gs_ready(NULL), GS_EINVAL);
    CHECK_RC(gs_run_for(0), GS_ESHUTDOWN);
    CHECK_RC(gs_run_for(1000000), GS_ESHUTDOWN);
    CHECK_RC(gs_go(nothing, NULL), GS_ESHUTDOWN);
    CHECK_RC(gs_go_with(nothing, NULL, &opts), GS_ESHUTDOWN);
    CHECK_RC(gs_go_copy(nothing, &v, sizeof v), GS_ESHUTDOWN);
    CHECK_RC(gs_go_copy_with(nothing, &v, sizeof v, &opts), GS_ESHUTDOWN);
    CHECK_RC(gs_go(NULL, NULL), GS_EINVAL);
    /* Blocking calls refuse to wait on a runtime that is stopping. */
    CHECK_RC(gs_chan_recv(c, &v), GS_ESHUTDOWN);
    CHECK_RC(gs_chan_send(c, &v), GS_ESHUTDOWN);
    CHECK_RC(gs_chan_recv_timeout(c, &v, 1000000000), GS_ESHUTDOWN);
    CHECK_RC(gs_chan_send_timeout(c, &v, 1000000000), GS_ESHUTDOWN);
    CHECK_RC(gs_select(&sc, 1, -1), GS_ESHUTDOWN);
    CHECK_RC(gs_select(NULL, 0, -1), GS_ESHUTDOWN);
    CHECK_RC(gs_mutex_lock(m), GS_ESHUTDOWN);
    CHECK_RC(gs_waitgroup_wait(wg), GS_ESHUTDOWN);
    /* The calls that never block are not refused. */
    CHECK_RC(gs_chan_try_recv(c, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_recv_timeout(c, &v, 0), GS_ETIMEDOUT);
    CHECK_RC(gs_select(&sc, 1, 0), GS_EAGAIN);
    CHECK_RC(gs_mutex_trylock(m), GS_EAGAIN);

    atomic_store(&release, 1);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(shut_rc >= 0);

    /* No runtime now. */
    CHECK_RC(gs_shutdown(), GS_ENOTINIT);
    CHECK_RC(gs_stats_get(&st), GS_ENOTINIT);
    CHECK_RC(gs_dump(fd), GS_ENOTINIT);
    CHECK_RC(gs_wait(0), GS_ENOTINIT);
    CHECK_RC(gs_ready((gs_g *)(uintptr_t)1), GS_ENOTINIT);
    CHECK_RC(gs_run_for(0), GS_ENOTINIT);
    CHECK_RC(gs_go_copy(nothing, &v, sizeof v), GS_ENOTINIT);
    CHECK_RC(gs_mutex_unlock(m), 0);
    CHECK_RC(gs_mutex_free(m), 0);
    CHECK_RC(gs_waitgroup_done(wg), 0);
    CHECK_RC(gs_waitgroup_free(wg), 0);
    CHECK_RC(gs_chan_free(c), 0);
    close(fd);
    printf("codes while gs_shutdown runs, and after it: checked\n");
}

/* --- gs_main whose goroutine is still blocked --- */

static gs_chan *never;

static void blocked_main(void *arg)
{
    (void)arg;
    int v;
    gs_chan_recv(never, &v); /* abandoned here */
    FAIL("the blocked gs_main goroutine returned");
}

static void *main_thread(void *arg)
{
    *(int *)arg = gs_main(blocked_main, NULL);
    return NULL;
}

static void check_gs_main_shut_down(void)
{
    init_procs(2);
    never = gs_chan_new(sizeof(int), 0);
    CHECK(never != NULL);
    int rc = 1;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, main_thread, &rc) == 0);
    WAIT_PARKED(1, 10000);
    CHECK_EQ(gs_shutdown(), 1);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_RC(rc, GS_ESHUTDOWN);
    CHECK_RC(gs_chan_free(never), 0);
    printf("gs_main of a goroutine blocked at gs_shutdown: GS_ESHUTDOWN\n");
}

/* --- a select woken through one channel, abandoned before it ran --- */

static gs_chan *sel_a, *sel_b;
static atomic_int spinning;

static void selector(void *arg)
{
    (void)arg;
    int va = 0, vb = 0;
    gs_select_case cases[2] = {{sel_a, GS_RECV, &va, 0}, {sel_b, GS_RECV, &vb, 0}};
    gs_select(cases, 2, -1); /* woken through sel_a, then abandoned before it runs */
    FAIL("the abandoned select ran");
}

/* Holds the only P, so that the woken selector does not run, until the shutdown. */
static void spinner(void *arg)
{
    (void)arg;
    atomic_store(&spinning, 1);
    while (!stopping()) {
    }
}

static void check_abandoned_select(void)
{
    init_procs(1);
    sel_a = gs_chan_new(sizeof(int), 0);
    sel_b = gs_chan_new(sizeof(int), 0);
    CHECK(sel_a != NULL && sel_b != NULL);
    atomic_store(&spinning, 0);
    CHECK_OK(gs_go(selector, NULL));
    WAIT_PARKED(1, 10000);
    CHECK_OK(gs_go(spinner, NULL));
    await_flag(&spinning, "the spinner");
    int v = 42;
    /* The selector is claimed and readied; its sudog on sel_b stays until it runs. */
    CHECK_RC(gs_chan_send(sel_a, &v), 0);
    CHECK_EQ(gs_shutdown(), 1);
    /* Its stack is gone: nothing of it may be left on sel_b's queue. */
    CHECK_RC(gs_chan_try_send(sel_b, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_try_recv(sel_b, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_close(sel_b), 0);
    CHECK_RC(gs_chan_free(sel_b), 0);
    CHECK_RC(gs_chan_free(sel_a), 0);
    printf("a select readied through one channel and abandoned: nothing left queued\n");
}

/* --- a host goroutine that blocks after the worker threads left --- */

static gs_mutex *host_mu;
static atomic_int host_running;

static void host_blocker(void *arg)
{
    (void)arg;
    atomic_store(&host_running, 1);
    while (!stopping()) {
    }
    /* Give gs_shutdown time to see every M leave (the host runner is none). */
    int64_t until = mono_ns() + 200 * 1000000LL;
    while (mono_ns() < until) {
    }
    gs_mutex_lock(host_mu); /* held by the main thread: abandoned here */
    FAIL("the abandoned host goroutine got the mutex");
}

static void *shutdown_when_host_runs(void *arg)
{
    await_flag(&host_running, "the host goroutine");
    *(int *)arg = gs_shutdown();
    return NULL;
}

static void check_host_goroutine_abandoned(void)
{
    init_procs(1);
    host_mu = gs_mutex_new();
    CHECK(host_mu != NULL);
    CHECK_RC(gs_mutex_lock(host_mu), 0);
    atomic_store(&host_running, 0);
    gs_go_opts opts = {0, "host blocker", GS_GO_HOST};
    CHECK_OK(gs_go_with(host_blocker, NULL, &opts));
    int rc = -1;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, shutdown_when_host_runs, &rc) == 0);
    int steps = gs_run_for(10LL * 1000000000);
    CHECK_EQ(steps, 1);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ(rc, 1);
    CHECK_RC(gs_mutex_unlock(host_mu), 0);
    CHECK_RC(gs_mutex_free(host_mu), 0);
    printf("a host goroutine blocked after the Ms left: abandoned cleanly\n");
}

/* --- wired goroutines handed between threads, then shut down --- */

#define PAIRS 3
#define CYCLES 40

static gs_chan *ping[PAIRS], *pong[PAIRS];

static void wired(void *arg)
{
    int i = (int)(intptr_t)arg;
    bool pinger = i % 2 == 0;
    gs_chan *in = pinger ? pong[i / 2] : ping[i / 2];
    gs_chan *out = pinger ? ping[i / 2] : pong[i / 2];
    CHECK_RC(gs_lock_os_thread(), 0);
    int v = 0;
    if (pinger && gs_chan_send(out, &v) != 0)
        return;
    for (;;) {
        if (gs_chan_recv(in, &v) != 0 || gs_chan_send(out, &v) != 0)
            return;
    }
}

static void check_wired_shutdown(void)
{
    int threads = count_dir_entries("/proc/self/task");
    for (int c = 0; c < CYCLES; c++) {
        init_procs(2);
        for (int p = 0; p < PAIRS; p++) {
            ping[p] = gs_chan_new(sizeof(int), 0);
            pong[p] = gs_chan_new(sizeof(int), 0);
        }
        for (int i = 0; i < 2 * PAIRS; i++)
            CHECK_OK(gs_go(wired, (void *)(intptr_t)i));
        sleep_ms(c % 5);
        int64_t t0 = mono_ns();
        int rc = gs_shutdown();
        int64_t ms = (mono_ns() - t0) / 1000000;
        if (rc < 0)
            FAIL("cycle %d: gs_shutdown returned %d (%s)", c, rc, gs_strerror(rc));
        if (ms > 1000)
            FAIL("cycle %d: gs_shutdown took %lld ms: a wired thread did not leave", c,
                 (long long)ms);
        for (int p = 0; p < PAIRS; p++) {
            CHECK_RC(gs_chan_free(ping[p]), 0);
            CHECK_RC(gs_chan_free(pong[p]), 0);
        }
    }
    int64_t until = mono_ns() + 2000 * 1000000LL;
    while (count_dir_entries("/proc/self/task") > threads && mono_ns() < until)
        sleep_ms(1);
    CHECK_EQ(count_dir_entries("/proc/self/task"), threads);
    printf("%d shutdowns of wired goroutines handed between threads: none waited\n",
           CYCLES);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each case's line shows even if a later one crashes */
    check_codes_during_shutdown();
    check_gs_main_shut_down();
    check_abandoned_select();
    check_host_goroutine_abandoned();
    check_wired_shutdown();
    return 0;
}
