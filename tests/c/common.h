/*
 * Helpers shared by the C tests in tests/c/ (compiled and run by tests/c_programs.rs).
 *
 * Convention: a test program exits 0 when every check passed. A check that fails
 * prints "file:line: what failed" on stderr and exits 1 at once, from any thread or
 * goroutine. Tests that need a process to crash (stack overflow) fork a child with
 * run_child() and check its signal and its stderr themselves.
 *
 * Include this file first: it defines _GNU_SOURCE before any system header.
 */
#ifndef GOSCHED_TEST_COMMON_H
#define GOSCHED_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <gosched.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long a test waits for goroutines before it calls the run a hang. */
#define TEST_WAIT_NS (120LL * 1000 * 1000 * 1000)

/* Prints "file:line: message" and ends the process with status 1. */
__attribute__((noreturn, format(printf, 3, 4))) static inline void
test_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
    fflush(stderr);
    _exit(1);
}

#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

/* CHECK(cond): fails with the text of the condition. */
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond))                                                                     \
            test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                    \
    } while (0)

/* CHECK_EQ(a, b): both sides as integers; fails with their values. */
#define CHECK_EQ(a, b)                                                                   \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        if (a_ != b_)                                                                    \
            test_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s) failed: %lld != %lld", #a,   \
                      #b, a_, b_);                                                       \
    } while (0)

/* CHECK_RC(call, want): a gs_* return code; fails naming both codes. */
#define CHECK_RC(call, want)                                                             \
    do {                                                                                 \
        long long got_ = (long long)(call), want_ = (long long)(want);                   \
        if (got_ != want_)                                                               \
            test_fail(__FILE__, __LINE__, "%s returned %lld (%s), want %lld (%s)", #call, \
                      got_, got_ < 0 ? gs_strerror((int)got_) : "ok", want_,             \
                      want_ < 0 ? gs_strerror((int)want_) : "ok");                       \
    } while (0)

/* CHECK_OK(call): a gs_* call that must return >= 0; returns nothing. */
#define CHECK_OK(call)                                                                   \
    do {                                                                                 \
        long long got_ = (long long)(call);                                              \
        if (got_ < 0)                                                                    \
            test_fail(__FILE__, __LINE__, "%s failed: %lld (%s)", #call, got_,           \
                      gs_strerror((int)got_));                                           \
    } while (0)

static inline int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps the calling OS thread. */
static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The kernel id of the calling OS thread. */
static inline pid_t os_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* gs_init with `nprocs` Ps and defaults otherwise; fails the test on error. */
static inline void init_procs(uint32_t nprocs)
{
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nprocs = nprocs;
    int rc = gs_init(&cfg);
    if (rc != 0)
        FAIL("gs_init(nprocs=%u) returned %d (%s)", nprocs, rc, gs_strerror(rc));
}

/* gs_wait for every goroutine; on a hang dumps the goroutines and fails. */
#define WAIT_ALL()                                                                       \
    do {                                                                                 \
        int rc_ = gs_wait(TEST_WAIT_NS);                                                 \
        if (rc_ != 0) {                                                                  \
            gs_dump(2);                                                                  \
            test_fail(__FILE__, __LINE__, "gs_wait returned %d (%s)", rc_,               \
                      gs_strerror(rc_));                                                 \
        }                                                                                \
    } while (0)

/* A snapshot of the scheduler's counters; fails the test on error. */
static inline gs_stats stats_now(void)
{
    gs_stats st;
    memset(&st, 0, sizeof st);
    int rc = gs_stats_get(&st);
    if (rc != 0)
        FAIL("gs_stats_get returned %d (%s)", rc, gs_strerror(rc));
    return st;
}

/* Polls gs_stats_get until `waiting` reaches `n` (foreign thread); fails after
 * `timeout_ms` with a goroutine dump. */
#define WAIT_PARKED(n, timeout_ms)                                                       \
    do {                                                                                 \
        uint64_t want_ = (uint64_t)(n);                                                  \
        int64_t end_ = mono_ns() + (int64_t)(timeout_ms) * 1000000LL;                    \
        gs_stats st_ = stats_now();                                                      \
        while (st_.waiting < want_) {                                                    \
            if (mono_ns() > end_) {                                                      \
                test_fail(__FILE__, __LINE__, "only %llu of %llu goroutines parked",     \
                          (unsigned long long)st_.waiting, (unsigned long long)want_);   \
            }                                                                            \
            sleep_ms(5);                                                                 \
            st_ = stats_now();                                                           \
        }                                                                                \
    } while (0)

/* Entries of a directory, "." and ".." excluded (threads: /proc/self/task,
 * descriptors: /proc/self/fd; the descriptor of the listing itself is not counted). */
static inline int count_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        FAIL("opendir(%s): %s", path, strerror(errno));
    int self = dirfd(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (atoi(e->d_name) == self && strcmp(path, "/proc/self/fd") == 0)
            continue;
        n++;
    }
    closedir(d);
    return n;
}

/* Lines of a text file such as /proc/self/maps. */
static inline int count_lines(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        FAIL("open(%s): %s", path, strerror(errno));
    char buf[65536];
    int n = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == '\n';
    }
    close(fd);
    return n;
}

/* Output and fate of a forked child (run_child). */
typedef struct child_result {
    int status;    /* as from waitpid                          */
    char err[65536]; /* its stderr, NUL-terminated (truncated)   */
    char out[4096];  /* its stdout, NUL-terminated (truncated)   */
} child_result;

/* Appends what is readable on fd to buf (of size cap, kept NUL-terminated);
 * returns false at end of file. */
static inline bool drain_fd(int fd, char *buf, size_t cap, size_t *len)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r < 0 && errno == EINTR)
        return true;
    if (r <= 0)
        return false;
    size_t n = (size_t)r;
    if (*len + n > cap - 1)
        n = cap - 1 - *len;
    memcpy(buf + *len, tmp, n);
    *len += n;
    buf[*len] = 0;
    return true;
}

/* Runs fn(arg) in a forked child with its stdout and stderr captured; the child
 * exits 0 if fn returns. No core dumps; the child is killed after `limit_s`
 * seconds (SIGALRM). The result is heap-allocated: free() it. */
static inline child_result *run_child(void (*fn)(void *), void *arg, unsigned limit_s)
{
    int out_pipe[2], err_pipe[2];
    CHECK(pipe(out_pipe) == 0);
    CHECK(pipe(err_pipe) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[0]);
        close(err_pipe[1]);
        alarm(limit_s);
        fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    child_result *res = calloc(1, sizeof *res);
    CHECK(res != NULL);
    size_t out_len = 0, err_len = 0;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            CHECK(errno == EINTR);
            continue;
        }
        if (fds[0].revents && !drain_fd(fds[0].fd, res->out, sizeof res->out, &out_len)) {
            fds[0].fd = -1;
            open_fds--;
        }
        if (fds[1].revents && !drain_fd(fds[1].fd, res->err, sizeof res->err, &err_len)) {
            fds[1].fd = -1;
            open_fds--;
        }
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    while (waitpid(pid, &res->status, 0) < 0)
        CHECK(errno == EINTR);
    return res;
}

/* Describes a wait status for failure messages. */
static inline const char *describe_status(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exited with %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "status %#x", status);
    return buf;
}

#endif /* GOSCHED_TEST_COMMON_H */
