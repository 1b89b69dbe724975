/*
 * A signal storm over every blocking call of the API, shared by the hostile-use
 * suite (hostile_signals.c) and the soak run (soak.c).
 *
 * The program's own handlers for SIGUSR1 and SIGALRM, installed without SA_RESTART
 * (so that every blocking system call they interrupt fails with EINTR), are fired
 * every ~100 us at the process (setitimer) and at every one of its threads (tgkill),
 * while goroutines and foreign threads use every blocking call. Each call must return
 * one of its documented codes (never -EINTR), no timed call may return before its
 * time, no wakeup may be lost (each exchange completes, every count is exact).
 *
 *   storm_start();        on a runtime that runs
 *   storm_wait(ns);       the main thread's part: gs_wait with timeouts
 *   storm_stop();         checks every count and frees everything
 *
 * Include it after hostile.h or common.h.
 */
#ifndef GOSCHED_TEST_STORM_H
#define GOSCHED_TEST_STORM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

static atomic_long handled;
static atomic_bool stop;

static void on_signal(int sig)
{
    int saved = errno;
    (void)sig;
    atomic_fetch_add(&handled, 1);
    /* Something that sets errno, as real handlers do (they restore it). */
    (void)!write(-1, "", 0);
    errno = saved;
}

static void install(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = flags; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* ---- The storm ---------------------------------------------------------------- */

static void *storm(void *arg)
{
    (void)arg;
    struct itimerval it = {{0, 100}, {0, 100}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    pid_t pid = getpid();
    pid_t self = os_tid();
    while (!atomic_load(&stop)) {
        DIR *d = opendir("/proc/self/task");
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                pid_t tid = (pid_t)atoi(e->d_name);
                if (tid > 0 && tid != self)
                    syscall(SYS_tgkill, pid, tid, SIGUSR1);
            }
            closedir(d);
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    return NULL;
}

/* ---- Checks ------------------------------------------------------------------- */

/* A timed call that timed out must have waited at least its timeout. */
#define CHECK_NOT_EARLY(t0, ns)                                                          \
    do {                                                                                 \
        int64_t el_ = mono_ns() - (t0);                                                  \
        if (el_ < (ns))                                                                  \
            FAIL("timed out after %lld ns, before its %lld ns", (long long)el_,          \
                 (long long)(ns));                                                       \
    } while (0)

static atomic_int workers;

static void worker_done(void)
{
    atomic_fetch_sub(&workers, 1);
}

/* ---- Goroutine workloads ---------------------------------------------------------- */

static void g_sleep(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int64_t t0 = mono_ns();
        CHECK_RC(gs_sleep(200000), 0);
        CHECK_NOT_EARLY(t0, 200000);
    }
    worker_done();
}

/* Reads exactly n bytes with gs_read (partial reads allowed, errors not). */
static void read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = gs_read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            FAIL("gs_read(%d) returned %zd (%s)", fd, r, r < 0 ? gs_strerror((int)r) : "EOF");
        got += (size_t)r;
    }
}

static void write_full(int fd, const void *buf, size_t n)
{
    ssize_t r = gs_write(fd, buf, n);
    if (r != (ssize_t)n)
        FAIL("gs_write(%d, %zu) returned %zd (%s)", fd, n, r, r < 0 ? gs_strerror((int)r) : "short");
}

/* Pipe ping-pong: numbered messages in both directions. */
typedef struct pipe_pair {
    int a[2], b[2]; /* a: ping -> pong; b: pong -> ping */
} pipe_pair;

static void g_pipe_pong(void *arg)
{
    pipe_pair *pp = arg;
    uint64_t want = 0;
    for (;;) {
        uint64_t v;
        read_full(pp->a[0], &v, sizeof v);
        if (v == UINT64_MAX)
            break;
        if (v != want)
            FAIL("pipe: got message %llu, want %llu", (unsigned long long)v,
                 (unsigned long long)want);
        want++;
        write_full(pp->b[1], &v, sizeof v);
    }
    worker_done();
}

static void g_pipe_ping(void *arg)
{
    pipe_pair *pp = arg;
    uint64_t i = 0;
    while (!atomic_load(&stop)) {
        write_full(pp->a[1], &i, sizeof i);
        uint64_t v;
        read_full(pp->b[0], &v, sizeof v);
        CHECK_EQ(v, i);
        i++;
    }
    uint64_t end = UINT64_MAX;
    write_full(pp->a[1], &end, sizeof end);
    worker_done();
}

/* Socket echo over loopback: a listener accepting, an echo goroutine per connection,
 * a client connecting again and again. */
static int listen_fd;
static struct sockaddr_in listen_addr;

static void g_echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[256];
    for (;;) {
        ssize_t r = gs_read(fd, buf, sizeof buf);
        if (r == 0)
            break;
        if (r < 0)
            FAIL("echo: gs_read returned %zd (%s)", r, gs_strerror((int)r));
        write_full(fd, buf, (size_t)r);
    }
    CHECK_RC(gs_close(fd), 0);
    worker_done();
}

static void g_acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = gs_accept(listen_fd, NULL, NULL);
        if (fd == GS_ECANCELED)
            break; /* gs_close of the listener at the end */
        if (fd < 0)
            FAIL("gs_accept returned %d (%s)", fd, gs_strerror(fd));
        atomic_fetch_add(&workers, 1);
        CHECK_OK(gs_go(g_echo_conn, (void *)(intptr_t)fd));
    }
    worker_done();
}

static void g_client(void *arg)
{
    (void)arg;
    uint64_t n = 0;
    while (!atomic_load(&stop)) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        CHECK_RC(gs_connect(fd, (struct sockaddr *)&listen_addr, sizeof listen_addr), 0);
        for (int k = 0; k < 20; k++, n++) {
            char out[64], in[64];
            memset(out, (int)(n & 0x7f), sizeof out);
            memcpy(out, &n, sizeof n);
            write_full(fd, out, sizeof out);
            read_full(fd, in, sizeof in);
            CHECK(memcmp(in, out, sizeof out) == 0);
        }
        CHECK_RC(gs_close(fd), 0);
    }
    worker_done();
}

/* Channels: a sender at an irregular pace, receivers with timeouts. */
static gs_chan *tick_a, *tick_b;

static void g_ticker(void *arg)
{
    (void)arg;
    uint64_t i = 0;
    while (!atomic_load(&stop)) {
        int rc = gs_chan_send_timeout(i % 2 ? tick_a : tick_b, &i, 2000000);
        if (rc != 0 && rc != GS_ETIMEDOUT)
            FAIL("gs_chan_send_timeout returned %d (%s)", rc, gs_strerror(rc));
        i++;
        CHECK_RC(gs_sleep((int64_t)(i % 5) * 50000), 0);
    }
    worker_done();
}

static void g_recv_timeout(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        uint64_t v;
        int64_t t0 = mono_ns();
        int rc = gs_chan_recv_timeout(tick_a, &v, 300000);
        if (rc == GS_ETIMEDOUT)
            CHECK_NOT_EARLY(t0, 300000);
        else if (rc != 0)
            FAIL("gs_chan_recv_timeout returned %d (%s)", rc, gs_strerror(rc));
    }
    worker_done();
}

static void g_select_timeout(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        uint64_t va, vb;
        gs_select_case cs[2] = {{tick_a, GS_RECV, &va, 0}, {tick_b, GS_RECV, &vb, 0}};
        int64_t t0 = mono_ns();
        int rc = gs_select(cs, 2, 250000);
        if (rc == GS_ETIMEDOUT)
            CHECK_NOT_EARLY(t0, 250000);
        else if (rc == 0 || rc == 1)
            CHECK_RC(cs[rc].result, 0);
        else
            FAIL("gs_select returned %d (%s)", rc, gs_strerror(rc));
    }
    worker_done();
}

/* gs_park_timeout, readied now and then by another goroutine. */
static _Atomic(gs_g *) parked_g;

static bool publish_parked(gs_g *g, void *lock)
{
    (void)lock;
    atomic_store(&parked_g, g);
    return true;
}

static void g_park_timeout(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int64_t t0 = mono_ns();
        int rc = gs_park_timeout(publish_parked, NULL, "hostile park", 400000);
        atomic_store(&parked_g, NULL);
        if (rc == GS_ETIMEDOUT)
            CHECK_NOT_EARLY(t0, 400000);
        else if (rc != 0)
            FAIL("gs_park_timeout returned %d (%s)", rc, gs_strerror(rc));
    }
    worker_done();
}

static void g_readier(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        gs_g *g = atomic_exchange(&parked_g, NULL);
        if (g != NULL) {
            int rc = gs_ready(g);
            if (rc != 0 && rc != GS_EINVAL) /* EINVAL: it timed out first */
                FAIL("gs_ready returned %d (%s)", rc, gs_strerror(rc));
        }
        CHECK_RC(gs_sleep(150000), 0);
    }
    worker_done();
}

/* gs_wait_fd on a pipe written now and then. */
static int wfd_pipe[2];

static void g_wait_fd(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int64_t t0 = mono_ns();
        int rc = gs_wait_fd(wfd_pipe[0], GS_POLLIN, 500000);
        if (rc == GS_ETIMEDOUT) {
            CHECK_NOT_EARLY(t0, 500000);
        } else if (rc == GS_POLLIN) {
            char buf[64];
            ssize_t r = gs_read(wfd_pipe[0], buf, sizeof buf);
            if (r <= 0)
                FAIL("gs_read after gs_wait_fd returned %zd (%s)", r,
                     r < 0 ? gs_strerror((int)r) : "EOF");
        } else {
            FAIL("gs_wait_fd returned %d (%s)", rc, gs_strerror(rc));
        }
    }
    worker_done();
}

static void g_wait_fd_writer(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        write_full(wfd_pipe[1], "x", 1);
        CHECK_RC(gs_sleep(700000), 0);
    }
    worker_done();
}

/* A contended mutex, shared by goroutines and foreign threads. */
static gs_mutex *mu;
static long mu_count;
static atomic_long mu_expected;

static void locked_increment(void)
{
    CHECK_RC(gs_mutex_lock(mu), 0);
    long v = mu_count;
    for (volatile int k = 0; k < 50; k++) {
    }
    mu_count = v + 1;
    CHECK_RC(gs_mutex_unlock(mu), 0);
    atomic_fetch_add(&mu_expected, 1);
}

static void g_mutex(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        locked_increment();
    worker_done();
}

/* Wait groups: rounds of short-lived goroutines. */
static atomic_long wg_ran;

static void g_wg_child(void *arg)
{
    gs_waitgroup *wg = arg;
    atomic_fetch_add(&wg_ran, 1);
    CHECK_RC(gs_sleep(20000), 0);
    CHECK_RC(gs_waitgroup_done(wg), 0);
}

static void g_waitgroup(void *arg)
{
    (void)arg;
    gs_waitgroup *wg = gs_waitgroup_new();
    CHECK(wg != NULL);
    long spawned = 0;
    while (!atomic_load(&stop)) {
        CHECK_RC(gs_waitgroup_add(wg, 8), 0);
        for (int i = 0; i < 8; i++)
            CHECK_OK(gs_go(g_wg_child, wg));
        spawned += 8;
        CHECK_RC(gs_waitgroup_wait(wg), 0);
        CHECK_EQ(atomic_load(&wg_ran), spawned);
    }
    CHECK_RC(gs_waitgroup_free(wg), 0);
    worker_done();
}

/* Feeds the foreign threads. */
static gs_chan *to_thread;
static int thread_pipe[2];

static void g_feeder(void *arg)
{
    (void)arg;
    uint64_t i = 0;
    while (!atomic_load(&stop)) {
        CHECK_RC(gs_chan_send(to_thread, &i), 0);
        write_full(thread_pipe[1], &i, sizeof i);
        i++;
    }
    uint64_t end = UINT64_MAX;
    CHECK_RC(gs_chan_send(to_thread, &end), 0);
    write_full(thread_pipe[1], &end, sizeof end);
    worker_done();
}

/* ---- Foreign threads ---------------------------------------------------------------- */

static void *t_sleeper(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int64_t t0 = mono_ns();
        CHECK_RC(gs_sleep(300000), 0);
        CHECK_NOT_EARLY(t0, 300000);
    }
    return NULL;
}

static void *t_chan_reader(void *arg)
{
    (void)arg;
    uint64_t want = 0;
    for (;;) {
        uint64_t v;
        CHECK_RC(gs_chan_recv(to_thread, &v), 0);
        if (v == UINT64_MAX)
            break;
        CHECK_EQ(v, want);
        want++;
    }
    return NULL;
}

static void *t_pipe_reader(void *arg)
{
    (void)arg;
    uint64_t want = 0;
    for (;;) {
        uint64_t v;
        read_full(thread_pipe[0], &v, sizeof v);
        if (v == UINT64_MAX)
            break;
        CHECK_EQ(v, want);
        want++;
    }
    return NULL;
}

static void *t_mutex(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        locked_increment();
    return NULL;
}

/* ---- The storm case ------------------------------------------------------------------ */

static void go_worker(gs_fn fn, void *arg)
{
    atomic_fetch_add(&workers, 1);
    CHECK_OK(gs_go(fn, arg));
}

static pipe_pair storm_pp;
static pthread_t storm_t, storm_th[5];

/* Starts the storm and the work under it, on a runtime that runs. */
static void storm_start(void)
{
    static bool installed;
    if (!installed) {
        install(SIGUSR1, 0);
        install(SIGALRM, 0);
        installed = true;
    }
    atomic_store(&stop, false);
    atomic_store(&workers, 0);
    atomic_store(&mu_expected, 0);
    atomic_store(&wg_ran, 0);
    atomic_store(&parked_g, NULL);
    mu_count = 0;

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(listen_fd >= 0);
    memset(&listen_addr, 0, sizeof listen_addr);
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(listen_fd, (struct sockaddr *)&listen_addr, sizeof listen_addr) == 0);
    socklen_t alen = sizeof listen_addr;
    CHECK(getsockname(listen_fd, (struct sockaddr *)&listen_addr, &alen) == 0);
    CHECK(listen(listen_fd, 64) == 0);

    CHECK(pipe(storm_pp.a) == 0 && pipe(storm_pp.b) == 0);
    CHECK(pipe(wfd_pipe) == 0 && pipe(thread_pipe) == 0);
    tick_a = gs_chan_new(sizeof(uint64_t), 0);
    tick_b = gs_chan_new(sizeof(uint64_t), 1);
    to_thread = gs_chan_new(sizeof(uint64_t), 4);
    mu = gs_mutex_new();
    CHECK(tick_a && tick_b && to_thread && mu);

    CHECK(pthread_create(&storm_t, NULL, storm, NULL) == 0);

    go_worker(g_sleep, NULL);
    go_worker(g_pipe_pong, &storm_pp);
    go_worker(g_pipe_ping, &storm_pp);
    go_worker(g_acceptor, NULL);
    go_worker(g_client, NULL);
    go_worker(g_ticker, NULL);
    go_worker(g_recv_timeout, NULL);
    go_worker(g_select_timeout, NULL);
    go_worker(g_park_timeout, NULL);
    go_worker(g_readier, NULL);
    go_worker(g_wait_fd, NULL);
    go_worker(g_wait_fd_writer, NULL);
    go_worker(g_mutex, NULL);
    go_worker(g_mutex, NULL);
    go_worker(g_waitgroup, NULL);
    go_worker(g_feeder, NULL);

    CHECK(pthread_create(&storm_th[0], NULL, t_sleeper, NULL) == 0);
    CHECK(pthread_create(&storm_th[1], NULL, t_chan_reader, NULL) == 0);
    CHECK(pthread_create(&storm_th[2], NULL, t_pipe_reader, NULL) == 0);
    CHECK(pthread_create(&storm_th[3], NULL, t_mutex, NULL) == 0);
    CHECK(pthread_create(&storm_th[4], NULL, t_mutex, NULL) == 0);
}

/* The main thread's part while the storm lasts: gs_wait with a timeout, which must
 * time out, never early. */
static void storm_wait(int64_t ns)
{
    int64_t end = mono_ns() + ns;
    while (mono_ns() < end) {
        int64_t t0 = mono_ns();
        int rc = gs_wait(2000000);
        CHECK_RC(rc, GS_ETIMEDOUT);
        CHECK_NOT_EARLY(t0, 2000000);
    }
}

/* Stops the work and the storm, checks every count, frees everything. */
static void storm_stop(void)
{
    atomic_store(&stop, true);
    for (int i = 0; i < 5; i++)
        CHECK(pthread_join(storm_th[i], NULL) == 0);
    /* Every goroutine worker but the acceptor ends by itself; then the listener. */
    while (atomic_load(&workers) > 1)
        sleep_ms(1);
    CHECK_RC(gs_close(listen_fd), 0);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK(pthread_join(storm_t, NULL) == 0);
    CHECK_EQ(mu_count, atomic_load(&mu_expected));
    CHECK(atomic_load(&handled) > 0);
    CHECK_RC(gs_chan_free(tick_a), 0);
    CHECK_RC(gs_chan_free(tick_b), 0);
    CHECK_RC(gs_chan_free(to_thread), 0);
    CHECK_RC(gs_mutex_free(mu), 0);
    int fds[] = {storm_pp.a[0], storm_pp.a[1], storm_pp.b[0], storm_pp.b[1], wfd_pipe[0],
                 wfd_pipe[1], thread_pipe[0], thread_pipe[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        CHECK_RC(gs_close(fds[i]), 0);
}

#endif /* GOSCHED_TEST_STORM_H */
