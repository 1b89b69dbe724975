/*
 * fork() at every point of the runtime's life cycle. The child sees an
 * uninitialized runtime (GS_ENOTINIT from gs_shutdown, gs_go, gs_stats_get,
 * gs_wait), initializes its own, runs goroutines with channels, a mutex, a wait
 * group and timers, shuts it down, initializes once more and exits 0; nothing in it
 * hangs, whatever the parent's threads were doing at the moment of the fork. The
 * parent keeps running unharmed.
 */
#include "hostile.h"

/* ---- What the child does ---------------------------------------------------------- */

static gs_chan *c_chan;
static gs_mutex *c_mu;
static gs_waitgroup *c_wg;
static long c_count;

static void child_worker(void *arg)
{
    (void)arg;
    uint64_t v;
    CHECK_RC(gs_chan_recv(c_chan, &v), 0);
    int64_t t0 = mono_ns();
    CHECK_RC(gs_sleep(1000000), 0);
    CHECK(mono_ns() - t0 >= 1000000);
    CHECK_RC(gs_mutex_lock(c_mu), 0);
    c_count += (long)v;
    CHECK_RC(gs_mutex_unlock(c_mu), 0);
    CHECK_RC(gs_waitgroup_done(c_wg), 0);
}

static void child_round(void)
{
    c_chan = gs_chan_new(sizeof(uint64_t), 0);
    c_mu = gs_mutex_new();
    c_wg = gs_waitgroup_new();
    CHECK(c_chan && c_mu && c_wg);
    c_count = 0;
    CHECK_RC(gs_waitgroup_add(c_wg, 16), 0);
    for (int i = 0; i < 16; i++)
        CHECK_OK(gs_go(child_worker, NULL));
    for (uint64_t i = 1; i <= 16; i++)
        CHECK_RC(gs_chan_send(c_chan, &i), 0);
    CHECK_RC(gs_waitgroup_wait(c_wg), 0);
    CHECK_EQ(c_count, 16 * 17 / 2);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK_RC(gs_chan_free(c_chan), 0);
    CHECK_RC(gs_mutex_free(c_mu), 0);
    CHECK_RC(gs_waitgroup_free(c_wg), 0);
}

/* The child's whole life; exits the child. */
static void child_life(void)
{
    gs_stats st;
    CHECK(gs_self() == NULL);
    CHECK_EQ(gs_goid(), 0);
    CHECK_RC(gs_shutdown(), GS_ENOTINIT);
    CHECK_RC(gs_go(child_worker, NULL), GS_ENOTINIT);
    CHECK_RC(gs_stats_get(&st), GS_ENOTINIT);
    CHECK_RC(gs_wait(0), GS_ENOTINIT);
    CHECK_RC(gs_dump(2), GS_ENOTINIT);
    for (int round = 0; round < 2; round++) {
        CHECK_RC(gs_init(NULL), 0);
        child_round();
        CHECK_RC(gs_shutdown(), 0);
    }
    _exit(0);
}

/* Forks; the child lives child_life(); the parent waits for it (killing it after 20 s)
 * and fails unless it exited 0. Works from a goroutine (parks it while waiting). */
static void fork_and_check(const char *where)
{
    int err_pipe[2];
    CHECK(pipe(err_pipe) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(err_pipe[1], 2);
        close(err_pipe[0]);
        close(err_pipe[1]);
        child_life();
    }
    close(err_pipe[1]);
    int status = 0;
    int64_t deadline = mono_ns() + 20LL * 1000000000;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        CHECK(r == 0 || (r < 0 && errno == EINTR));
        if (mono_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            FAIL("child forked from %s hung", where);
        }
        if (gs_self() != NULL)
            CHECK_RC(gs_sleep(2000000), 0);
        else
            sleep_ms(2);
    }
    char err[4096] = {0};
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    (void)!read(err_pipe[0], err, sizeof err - 1);
    close(err_pipe[0]);
    char st[128];
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("child forked from %s: %s\n%s", where, describe_status(status, st, sizeof st), err);
}

/* ---- The parent's activity ---------------------------------------------------------- */

static atomic_bool stop;
static atomic_long progress;
static gs_chan *ping, *pong, *thread_chan;
static gs_mutex *mu;

static void pinger(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; !atomic_load(&stop); i++) {
        CHECK_RC(gs_chan_send(ping, &i), 0);
        uint64_t v;
        CHECK_RC(gs_chan_recv(pong, &v), 0);
        CHECK_EQ(v, i);
        atomic_fetch_add(&progress, 1);
    }
    uint64_t end = UINT64_MAX;
    CHECK_RC(gs_chan_send(ping, &end), 0);
}

static void ponger(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t v;
        CHECK_RC(gs_chan_recv(ping, &v), 0);
        if (v == UINT64_MAX)
            break;
        CHECK_RC(gs_chan_send(pong, &v), 0);
    }
}

static void churner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        CHECK_RC(gs_mutex_lock(mu), 0);
        CHECK_RC(gs_gosched(), 0);
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
}

static void sleeper(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        CHECK_RC(gs_sleep(100000), 0);
}

static void thread_partner(void *arg)
{
    (void)arg;
    for (uint64_t i = 0;; i++) {
        uint64_t v;
        CHECK_RC(gs_chan_recv(thread_chan, &v), 0);
        if (v == UINT64_MAX)
            break;
    }
}

static void *talker(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; !atomic_load(&stop); i++)
        CHECK_RC(gs_chan_send(thread_chan, &i), 0);
    uint64_t end = UINT64_MAX;
    CHECK_RC(gs_chan_send(thread_chan, &end), 0);
    return NULL;
}

static pthread_t talker_t;

static void start_activity(void)
{
    CHECK_RC(gs_init(NULL), 0);
    ping = gs_chan_new(sizeof(uint64_t), 0);
    pong = gs_chan_new(sizeof(uint64_t), 0);
    thread_chan = gs_chan_new(sizeof(uint64_t), 0);
    mu = gs_mutex_new();
    CHECK(ping && pong && thread_chan && mu);
    CHECK_OK(gs_go(pinger, NULL));
    CHECK_OK(gs_go(ponger, NULL));
    for (int i = 0; i < 3; i++)
        CHECK_OK(gs_go(churner, NULL));
    for (int i = 0; i < 3; i++)
        CHECK_OK(gs_go(sleeper, NULL));
    CHECK_OK(gs_go(thread_partner, NULL));
    CHECK(pthread_create(&talker_t, NULL, talker, NULL) == 0);
    while (atomic_load(&progress) < 100)
        sleep_ms(1);
}

/* The parent's runtime still works after the fork: progress goes on, then it stops
 * cleanly. */
static void stop_activity(void)
{
    long p = atomic_load(&progress);
    int64_t deadline = mono_ns() + 10LL * 1000000000;
    while (atomic_load(&progress) < p + 100) {
        if (mono_ns() > deadline)
            FAIL("the parent's goroutines stopped after fork");
        sleep_ms(1);
    }
    atomic_store(&stop, true);
    CHECK(pthread_join(talker_t, NULL) == 0);
    WAIT_ALL();
    CHECK_RC(gs_chan_free(ping), 0);
    CHECK_RC(gs_chan_free(pong), 0);
    CHECK_RC(gs_chan_free(thread_chan), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    CHECK_RC(gs_shutdown(), 0);
}

/* ---- Cases ---------------------------------------------------------------------------- */

static atomic_int forks_done;

static void forking_goroutine(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        fork_and_check("a goroutine");
    atomic_fetch_add(&forks_done, 1);
}

static void wait_forks(int n)
{
    while (atomic_load(&forks_done) < n)
        sleep_ms(1);
}

/* From a goroutine, while the others ping-pong, churn a mutex and sleep and a foreign
 * thread talks to a goroutine over a channel. */
static void from_goroutine_case(void)
{
    start_activity();
    CHECK_OK(gs_go(forking_goroutine, NULL));
    wait_forks(1);
    stop_activity();
}

/* From a goroutine locked to its thread, and from a goroutine in a blocking call. */
static void locked_forker(void *arg)
{
    (void)arg;
    CHECK_RC(gs_lock_os_thread(), 0);
    fork_and_check("a locked goroutine");
    gs_entersyscall();
    fork_and_check("a goroutine in a blocking call");
    gs_exitsyscall();
    CHECK_RC(gs_unlock_os_thread(), 0);
    atomic_fetch_add(&forks_done, 1);
}

static void from_locked_goroutine_case(void)
{
    start_activity();
    CHECK_OK(gs_go(locked_forker, NULL));
    wait_forks(1);
    stop_activity();
}

/* From the main thread while goroutines run. */
static void from_main_thread_case(void)
{
    start_activity();
    for (int i = 0; i < 3; i++)
        fork_and_check("the main thread");
    stop_activity();
}

/* From a plain pthread while the main thread is blocked in gs_chan_recv and another
 * thread in gs_mutex_lock. */
static gs_chan *blocked_chan;
static gs_mutex *blocked_mu;

static void *blocked_locker(void *arg)
{
    (void)arg;
    CHECK_RC(gs_mutex_lock(blocked_mu), 0);
    CHECK_RC(gs_mutex_unlock(blocked_mu), 0);
    return NULL;
}

static void *pthread_forker(void *arg)
{
    (void)arg;
    sleep_ms(20);
    for (int i = 0; i < 3; i++)
        fork_and_check("a pthread");
    CHECK_RC(gs_mutex_unlock(blocked_mu), 0);
    uint64_t v = 7;
    CHECK_RC(gs_chan_send(blocked_chan, &v), 0);
    return NULL;
}

static void from_pthread_blocked_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    blocked_chan = gs_chan_new(sizeof(uint64_t), 0);
    blocked_mu = gs_mutex_new();
    CHECK(blocked_chan && blocked_mu);
    CHECK_RC(gs_mutex_lock(blocked_mu), 0);
    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, blocked_locker, NULL) == 0);
    CHECK(pthread_create(&b, NULL, pthread_forker, NULL) == 0);
    uint64_t v = 0;
    CHECK_RC(gs_chan_recv(blocked_chan, &v), 0);
    CHECK_EQ(v, 7);
    CHECK(pthread_join(a, NULL) == 0);
    CHECK(pthread_join(b, NULL) == 0);
    CHECK_RC(gs_chan_free(blocked_chan), 0);
    CHECK_RC(gs_mutex_free(blocked_mu), 0);
    CHECK_RC(gs_shutdown(), 0);
}

/* From a plain pthread while another thread loops gs_init / gs_go / gs_shutdown: the
 * fork lands at every point of the life cycle, including inside them. */
static atomic_bool cycle_stop;

static void cycle_fn(void *arg)
{
    (void)arg;
    gs_sleep(10000);
}

static void *cycler(void *arg)
{
    (void)arg;
    while (!atomic_load(&cycle_stop)) {
        int rc = gs_init(NULL);
        CHECK(rc == 0);
        for (int i = 0; i < 8; i++)
            CHECK_OK(gs_go(cycle_fn, NULL));
        CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
        CHECK(gs_shutdown() >= 0);
    }
    return NULL;
}

static void from_pthread_lifecycle_case(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, cycler, NULL) == 0);
    for (int i = 0; i < 8; i++) {
        sleep_ms(1 + i % 3);
        fork_and_check("a pthread during gs_init/gs_shutdown cycles");
    }
    atomic_store(&cycle_stop, true);
    CHECK(pthread_join(t, NULL) == 0);
}

/* From a thread while another one shuts the runtime down with goroutines parked. */
static void parked_forever(void *arg)
{
    gs_chan *c = arg;
    uint64_t v;
    gs_chan_recv(c, &v);
}

static void *shutdowner(void *arg)
{
    (void)arg;
    sleep_ms(2);
    CHECK(gs_shutdown() >= 0);
    return NULL;
}

static void during_shutdown_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    gs_chan *c = gs_chan_new(sizeof(uint64_t), 0);
    for (int i = 0; i < 64; i++)
        CHECK_OK(gs_go(parked_forever, c));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, shutdowner, NULL) == 0);
    for (int i = 0; i < 4; i++)
        fork_and_check("a thread during gs_shutdown");
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC(gs_chan_free(c), 0);
}

/* While the runtime's threads end, over and over: another thread starts a runtime
 * of 8 Ps, wakes every M with goroutines, and shuts it down. A lock that a thread
 * takes as it ends (the runtime's or a library's) must not be left held in the child
 * by a fork that lands in the middle: the child's own threads would hang as they
 * end, and its gs_shutdown with them. */
static atomic_bool churn_stop;

static void *thread_churner(void *arg)
{
    (void)arg;
    gs_config cfg = {.nprocs = 8};
    while (!atomic_load(&churn_stop)) {
        CHECK_RC(gs_init(&cfg), 0);
        for (int i = 0; i < 16; i++)
            CHECK_OK(gs_go(cycle_fn, NULL));
        CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
        CHECK_RC(gs_shutdown(), 0);
    }
    return NULL;
}

static void while_threads_end_case(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_churner, NULL) == 0);
    for (int i = 0; i < 24; i++)
        fork_and_check("a thread while the runtime's threads end");
    atomic_store(&churn_stop, true);
    CHECK(pthread_join(t, NULL) == 0);
}

/* Before any gs_init, and after the last gs_shutdown. */
static void outside_runtime_case(void)
{
    fork_and_check("a process that never initialized");
    CHECK_RC(gs_init(NULL), 0);
    CHECK_RC(gs_shutdown(), 0);
    fork_and_check("a process after gs_shutdown");
}

/* A child forked from a goroutine whose function then returns in the child: its
 * only thread ends, and the process exits 0, as a process whose last thread returns. */
static atomic_int returned_status = -1;

static void fork_then_return(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK(gs_self() == NULL);
        CHECK_RC(gs_init(NULL), 0);
        CHECK_RC(gs_shutdown(), 0);
        return; /* in the child: the goroutine's function returns */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        CHECK(errno == EINTR);
    atomic_store(&returned_status, status);
}

static void goroutine_returns_in_child_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    CHECK_OK(gs_go(fork_then_return, NULL));
    WAIT_ALL();
    int status = atomic_load(&returned_status);
    char st[128];
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("a child whose goroutine function returned: %s", describe_status(status, st, sizeof st));
    CHECK_RC(gs_shutdown(), 0);
}

/* From a gs_main thread's main goroutine, while another thread waits in gs_wait. */
static void *waiter_thread(void *arg)
{
    (void)arg;
    int rc = gs_wait(TEST_WAIT_NS);
    CHECK(rc == 0 || rc == GS_ESHUTDOWN || rc == GS_ENOTINIT);
    return NULL;
}

static void main_goroutine(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++)
        fork_and_check("gs_main's goroutine");
}

static void from_gs_main_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    pthread_t t;
    CHECK_OK(gs_go(sleeper, NULL));
    CHECK(pthread_create(&t, NULL, waiter_thread, NULL) == 0);
    CHECK_RC(gs_main(main_goroutine, NULL), 0);
    atomic_store(&stop, true);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC(gs_shutdown(), 0);
}

static const hostile_case cases[] = {
    {"fork_goroutine_returns", goroutine_returns_in_child_case, 30},
    {"fork_from_gs_main", from_gs_main_case, 60},
    {"fork_from_goroutine", from_goroutine_case, 60},
    {"fork_from_locked_goroutine", from_locked_goroutine_case, 60},
    {"fork_from_main_thread", from_main_thread_case, 60},
    {"fork_from_pthread_blocked", from_pthread_blocked_case, 60},
    {"fork_during_lifecycle", from_pthread_lifecycle_case, 60},
    {"fork_during_shutdown", during_shutdown_case, 60},
    {"fork_while_threads_end", while_threads_end_case, 60},
    {"fork_outside_runtime", outside_runtime_case, 60},
};

HOSTILE_MAIN(cases)
