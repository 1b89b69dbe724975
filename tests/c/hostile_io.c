/*
 * I/O as real programs do it: goroutines that move between threads while they wait
 * (errno is per thread), peers that hang up (SIGPIPE), and fds closed with close(2)
 * behind the runtime's back and their numbers reused.
 */
#include "hostile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

/* ---- errno read on the thread that set it ------------------------------------------
 *
 * Readers park in gs_read; a writer goroutine writes a byte, and a foreign thread
 * races them for it with read(2), so that a reader often wakes to find nothing and
 * retries. Meanwhile goroutines leave EBADF in every thread's errno. A reader that
 * moved to another thread and read the errno of the one it left would return
 * -EBADF instead of waiting again. */

#define ERRNO_PIPES 4
static int errno_pipes[ERRNO_PIPES][2];
static atomic_bool errno_stop;
static atomic_long errno_got;

static void errno_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    while (!atomic_load(&errno_stop)) {
        char c;
        ssize_t r = gs_read(errno_pipes[i][0], &c, 1);
        if (r == 1) {
            atomic_fetch_add(&errno_got, 1);
            continue;
        }
        if (r == 0)
            break;
        FAIL("gs_read returned %zd (%s)", r, gs_strerror((int)r));
    }
}

static void errno_polluter(void *arg)
{
    (void)arg;
    while (!atomic_load(&errno_stop)) {
        (void)!close(-1); /* errno = EBADF on this thread */
        CHECK_RC(gs_gosched(), 0);
    }
}

static void errno_writer(void *arg)
{
    (void)arg;
    for (int n = 0; !atomic_load(&errno_stop); n++) {
        ssize_t w = gs_write(errno_pipes[n % ERRNO_PIPES][1], "x", 1);
        CHECK_EQ(w, 1);
        if (n % 8 == 0)
            CHECK_RC(gs_sleep(10000), 0);
        else
            CHECK_RC(gs_gosched(), 0);
    }
    for (int i = 0; i < ERRNO_PIPES; i++)
        close(errno_pipes[i][1]); /* EOF ends the readers */
}

static void *errno_thief(void *arg)
{
    (void)arg;
    while (!atomic_load(&errno_stop)) {
        for (int i = 0; i < ERRNO_PIPES; i++) {
            char c;
            (void)!read(errno_pipes[i][0], &c, 1); /* non-blocking: gs_read made it so */
        }
    }
    return NULL;
}

static void errno_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    for (int i = 0; i < ERRNO_PIPES; i++) {
        CHECK(pipe(errno_pipes[i]) == 0);
        CHECK_OK(gs_go(errno_reader, (void *)(intptr_t)i));
    }
    for (int i = 0; i < hostile_nprocs + 1; i++)
        CHECK_OK(gs_go(errno_polluter, NULL));
    CHECK_OK(gs_go(errno_writer, NULL));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, errno_thief, NULL) == 0);
    sleep_ms(400);
    atomic_store(&errno_stop, true);
    CHECK(pthread_join(t, NULL) == 0);
    WAIT_ALL();
    for (int i = 0; i < ERRNO_PIPES; i++)
        close(errno_pipes[i][0]);
    CHECK_RC(gs_shutdown(), 0);
}

/* ---- SIGPIPE -------------------------------------------------------------------------
 *
 * Writes to a peer that hung up return -EPIPE (or -ECONNRESET), from goroutines and
 * foreign threads, and the process lives, whatever SIGPIPE's disposition: default
 * (never touched), ignored, or a handler of the program's, which it keeps. The
 * program's own write(2) to a broken pipe still ends it, as it did before gs_init. */

#define CHECK_PEER_GONE(r)                                                               \
    do {                                                                                 \
        ssize_t r_ = (r);                                                                \
        if (r_ != -EPIPE && r_ != -ECONNRESET)                                           \
            FAIL("%s returned %zd (%s), want -EPIPE or -ECONNRESET", #r, r_,             \
                 r_ < 0 ? gs_strerror((int)r_) : "no error");                            \
    } while (0)

/* Writes until the peer's reset shows (the first writes may still be accepted). */
static ssize_t write_until_error(int fd)
{
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 100000; i++) {
        ssize_t r = gs_write(fd, buf, sizeof buf);
        if (r < 0)
            return r;
        CHECK_EQ(r, sizeof buf);
    }
    FAIL("writes to a reset connection kept succeeding");
}

static int tcp_reset_pair(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t al = sizeof a;
    CHECK(getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
    CHECK(listen(lfd, 4) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    CHECK_RC(gs_connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = accept(lfd, NULL, NULL);
    CHECK(s >= 0);
    struct linger lg = {1, 0};
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    close(s); /* RST */
    close(lfd);
    return c;
}

/* Every kind of broken peer, from the calling goroutine or thread. */
static void broken_peer_writes(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    close(sv[1]);
    CHECK_PEER_GONE(gs_write(sv[0], "x", 1));
    CHECK_RC(gs_close(sv[0]), 0);

    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    CHECK_PEER_GONE(gs_write(p[1], "x", 1));
    CHECK_PEER_GONE(gs_dump(p[1]));
    CHECK_RC(gs_close(p[1]), 0);

    int c = tcp_reset_pair();
    CHECK_PEER_GONE(write_until_error(c));
    CHECK_RC(gs_close(c), 0);
}

static atomic_int peer_rounds;

static void g_broken_peer(void *arg)
{
    (void)arg;
    broken_peer_writes();
    atomic_fetch_add(&peer_rounds, 1);
}

static void *t_broken_peer(void *arg)
{
    (void)arg;
    broken_peer_writes();
    atomic_fetch_add(&peer_rounds, 1);
    return NULL;
}

static void broken_peers_everywhere(void)
{
    atomic_store(&peer_rounds, 0);
    CHECK_RC(gs_init(NULL), 0);
    for (int i = 0; i < 4; i++)
        CHECK_OK(gs_go(g_broken_peer, NULL));
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, t_broken_peer, NULL) == 0);
    broken_peer_writes(); /* the main thread too */
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&peer_rounds), 6);
    CHECK_RC(gs_shutdown(), 0);
}

/* The program's own write(2) to a broken pipe, in a child: it must still die of
 * SIGPIPE when the disposition is the default. */
static void own_write_child(void *arg)
{
    (void)arg;
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    (void)!write(p[1], "x", 1);
    printf("survived\n");
}

static void sigpipe_default_case(void)
{
    broken_peers_everywhere();
    /* Again, with a second runtime. */
    broken_peers_everywhere();
    CHECK_RC(gs_init(NULL), 0);
    child_result *r = run_child(own_write_child, NULL, 20);
    char st[128];
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGPIPE)
        FAIL("the program's own write to a broken pipe: %s (want death by SIGPIPE)",
             describe_status(r->status, st, sizeof st));
    free(r);
    CHECK_RC(gs_shutdown(), 0);
}

static void sigpipe_ignored_case(void)
{
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    broken_peers_everywhere();
    struct sigaction now;
    CHECK(sigaction(SIGPIPE, NULL, &now) == 0);
    CHECK(now.sa_handler == SIG_IGN);
}

static atomic_int pipe_signals;

static void on_sigpipe(int sig)
{
    (void)sig;
    atomic_fetch_add(&pipe_signals, 1);
}

static void sigpipe_handler_case(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
    broken_peers_everywhere();
    struct sigaction now;
    CHECK(sigaction(SIGPIPE, NULL, &now) == 0);
    CHECK(now.sa_handler == on_sigpipe);
    /* The program's handler saw the signals of the writes (a reset TCP connection
     * may report ECONNRESET without one, the pipes and socketpairs always raise it). */
    CHECK(atomic_load(&pipe_signals) >= 6);
}

/* ---- fds closed with close(2) behind the runtime's back ----------------------------------
 *
 * A number the runtime knows (armed in its poller, or known as a file that cannot be
 * polled) is closed with close(2) and reused for a new file of another or the same
 * kind, in blocking or non-blocking mode. A goroutine then waits on the new file
 * (gs_read, gs_wait_fd, gs_accept) while another goroutine provides what it waits for
 * 10 ms later: the wait must end, within the runtime's promise (its registrations are
 * renewed once a second, so 2 s at most).
 *
 * Most combinations are noticed at once; those where the new file is a socket behind
 * a socket's number, or was made non-blocking, wait for the renewal (about 1 s). A
 * run tries every quick one and one of the slow ones, a different one each run. */

enum fdkind { K_PIPE, K_PIPE_NB, K_FILE, K_SOCKPAIR, K_SOCKPAIR_NB, K_TCP };
static const char *const kind_names[] = {"pipe", "non-blocking pipe", "regular file", "socketpair",
                                         "non-blocking socketpair", "TCP connection"};

/* Makes a file of `kind` whose reading end is `*rd` and writing end `*wr` (-1 for a
 * regular file); `*rd` gets the number `at` if at >= 0 (which must be free). */
static void make_kind(enum fdkind kind, int at, int *rd, int *wr)
{
    int p[2] = {-1, -1};
    switch (kind) {
    case K_PIPE:
        CHECK(pipe(p) == 0);
        break;
    case K_PIPE_NB:
        CHECK(pipe2(p, O_NONBLOCK) == 0);
        break;
    case K_FILE: {
        char path[] = "/tmp/gosched-hostile-XXXXXX";
        p[0] = mkstemp(path);
        CHECK(p[0] >= 0);
        unlink(path);
        CHECK(write(p[0], "file", 4) == 4);
        CHECK(lseek(p[0], 0, SEEK_SET) == 0);
        break;
    }
    case K_SOCKPAIR:
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0);
        break;
    case K_SOCKPAIR_NB:
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) == 0);
        break;
    case K_TCP: {
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(lfd >= 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
        socklen_t al = sizeof a;
        CHECK(getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
        CHECK(listen(lfd, 4) == 0);
        p[1] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(p[1], (struct sockaddr *)&a, sizeof a) == 0);
        p[0] = accept(lfd, NULL, NULL);
        CHECK(p[0] >= 0);
        close(lfd);
        break;
    }
    }
    if (at >= 0 && p[0] != at) {
        CHECK(dup2(p[0], at) == at); /* `at` was free: a new number for the new file */
        close(p[0]);
        p[0] = at;
    }
    *rd = p[0];
    *wr = p[1];
}

typedef struct reuse_job {
    int wr;
    int64_t delay_ns;
} reuse_job;

static void delayed_writer(void *arg)
{
    reuse_job *j = arg;
    CHECK_RC(gs_sleep(j->delay_ns), 0);
    if (j->wr >= 0)
        CHECK(write(j->wr, "y", 1) == 1);
}

typedef struct reuse_case {
    enum fdkind before, after;
    bool wait_fd; /* gs_wait_fd instead of gs_read */
    atomic_bool done;
} reuse_case;

static void reuse_reader(void *arg)
{
    reuse_case *rc = arg;
    int rd, wr;
    /* Make the runtime know the number: a first read through it. */
    make_kind(rc->before, -1, &rd, &wr);
    if (wr >= 0)
        CHECK(write(wr, "x", 1) == 1);
    char c[8];
    CHECK(gs_read(rd, c, 1) == 1);
    int num = rd;
    close(rd); /* behind the runtime's back */
    if (wr >= 0)
        close(wr);
    int rd2, wr2;
    make_kind(rc->after, num, &rd2, &wr2);
    CHECK_EQ(rd2, num);
    static reuse_job job;
    job.wr = wr2;
    job.delay_ns = 10000000;
    CHECK_OK(gs_go(delayed_writer, &job));
    int64_t t0 = mono_ns();
    if (rc->wait_fd) {
        int r = gs_wait_fd(num, GS_POLLIN, 2500000000LL);
        if (r != GS_POLLIN)
            FAIL("%s behind a number that was a %s: gs_wait_fd returned %d (%s) after %.0f ms",
                 kind_names[rc->after], kind_names[rc->before], r, r < 0 ? gs_strerror(r) : "",
                 (double)(mono_ns() - t0) / 1e6);
    } else {
        ssize_t r = gs_read(num, c, sizeof c);
        if (r < 1)
            FAIL("%s behind a number that was a %s: gs_read returned %zd", kind_names[rc->after],
                 kind_names[rc->before], r);
    }
    int64_t took = mono_ns() - t0;
    if (took > 2000000000LL)
        FAIL("%s behind a number that was a %s: the wait took %.0f ms", kind_names[rc->after],
             kind_names[rc->before], (double)took / 1e6);
    close(num);
    if (wr2 >= 0)
        close(wr2);
    atomic_store(&rc->done, true);
}

static void reuse_round(enum fdkind before, enum fdkind after, bool wait_fd)
{
    static reuse_case rc;
    rc.before = before;
    rc.after = after;
    rc.wait_fd = wait_fd;
    atomic_store(&rc.done, false);
    CHECK_OK(gs_go(reuse_reader, &rc));
    WAIT_ALL();
    CHECK(atomic_load(&rc.done));
}

static bool is_socket(enum fdkind k)
{
    return k == K_SOCKPAIR || k == K_SOCKPAIR_NB || k == K_TCP;
}

/* Noticed only by the once-a-second renewal (see the comment above). */
static bool slow_combination(enum fdkind before, enum fdkind after, bool wait_fd)
{
    if (after == K_FILE || before == K_FILE)
        return false;
    (void)wait_fd;
    if (after == K_PIPE_NB || after == K_SOCKPAIR_NB)
        return true;
    return is_socket(before) && is_socket(after);
}

static void fd_reuse_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    static const enum fdkind kinds[] = {K_PIPE, K_PIPE_NB, K_FILE, K_SOCKPAIR, K_SOCKPAIR_NB, K_TCP};
    const int nk = (int)(sizeof kinds / sizeof kinds[0]);
    int nslow = 0;
    for (int b = 0; b < nk; b++)
        for (int a = 0; a < nk; a++)
            for (int w = 0; w < 2; w++)
                nslow += slow_combination(kinds[b], kinds[a], w);
    /* One slow combination per run, a different one each run and number of Ps. */
    int pick = (hostile_run * 4 + hostile_nprocs) % nslow, k = 0, slow_tried = 0;
    for (int b = 0; b < nk; b++) {
        for (int a = 0; a < nk; a++) {
            for (int w = 0; w < 2; w++) {
                if (slow_combination(kinds[b], kinds[a], w) && k++ != pick)
                    continue;
                slow_tried += slow_combination(kinds[b], kinds[a], w);
                reuse_round(kinds[b], kinds[a], w);
            }
        }
    }
    CHECK_EQ(slow_tried, 1);
    CHECK_RC(gs_shutdown(), 0);
}

/* A listener closed with close(2), its number reused by a new listener (blocking):
 * gs_accept on it must take connections, not block the thread. */
static int reuse_listen_port;

static void delayed_connect(void *arg)
{
    (void)arg;
    CHECK_RC(gs_sleep(50000000), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)reuse_listen_port);
    CHECK_RC(gs_connect(c, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_RC(gs_close(c), 0);
}

static int listener(int at)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t al = sizeof a;
    CHECK(getsockname(l, (struct sockaddr *)&a, &al) == 0);
    reuse_listen_port = ntohs(a.sin_port);
    CHECK(listen(l, 4) == 0);
    if (at >= 0 && l != at) {
        CHECK(dup2(l, at) == at);
        close(l);
        l = at;
    }
    return l;
}

static void accept_reuser(void *arg)
{
    (void)arg;
    int l = listener(-1);
    CHECK_OK(gs_go(delayed_connect, NULL));
    int c = gs_accept(l, NULL, NULL);
    CHECK(c >= 0);
    CHECK_RC(gs_close(c), 0);
    int num = l;
    close(l);
    int l2 = listener(num);
    CHECK_EQ(l2, num);
    CHECK_OK(gs_go(delayed_connect, NULL));
    int64_t t0 = mono_ns();
    c = gs_accept(l2, NULL, NULL);
    CHECK(c >= 0);
    CHECK(mono_ns() - t0 < 2000000000LL);
    CHECK_RC(gs_close(c), 0);
    close(l2);
}

static void accept_reuse_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    CHECK_OK(gs_go(accept_reuser, NULL));
    WAIT_ALL();
    CHECK_RC(gs_shutdown(), 0);
}

static const hostile_case cases[] = {
    {"fd_closed_and_reused", fd_reuse_case, 120},
    {"listener_closed_and_reused", accept_reuse_case, 30},
    {"errno_after_migration", errno_case, 30},
    {"sigpipe_default", sigpipe_default_case, 30},
    {"sigpipe_ignored", sigpipe_ignored_case, 30},
    {"sigpipe_program_handler", sigpipe_handler_case, 30},
};

HOSTILE_MAIN(cases)
