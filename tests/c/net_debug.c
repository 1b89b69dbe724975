/*
 * Debugging aids: GS_DEBUG=schedtrace and gs_dump.
 *
 * 1. This program re-executes itself as a child with GS_DEBUG=schedtrace=100 in its
 *    environment; the child runs a few goroutines for ~350 ms. Its stderr, captured
 *    through a pipe, must hold at least 2 lines starting with "SCHED ". A child
 *    without GS_DEBUG must print none.
 * 2. gs_dump, captured through a pipe, names the goroutines and their wait reasons:
 *    "sleeper" in gs_sleep shows `sleep`, "fdwaiter" in gs_wait_fd shows `IO wait`,
 *    "parker" in gs_park(..., "my reason") shows `my reason`, each with how long it has
 *    waited ("N ms"); a dump taken by a goroutine ("dumper") shows that goroutine
 *    running.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#define MS 1000000LL

extern char **environ;

/* ------------------------------------------------------------ 1. schedtrace */

static void busy_child_goroutine(void *arg)
{
    (void)arg;
    for (int i = 0; i < 30; i++)
        gs_sleep(10 * MS);
}

static int child_main(void)
{
    if (gs_init(NULL) != 0)
        return 3;
    for (int i = 0; i < 4; i++)
        gs_go(busy_child_goroutine, NULL);
    sleep_ms(350);
    fflush(stderr);
    _exit(0);
}

/* Runs this program as a child with GS_DEBUG set to `debug` (NULL: unset) and returns
 * the number of its stderr lines that start with "SCHED ". */
static int count_sched_lines(const char *debug, char *err, size_t cap)
{
    int ep[2];
    CHECK(pipe2(ep, O_CLOEXEC) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(ep[1], 2);
        if (debug)
            setenv("GS_DEBUG", debug, 1);
        else
            unsetenv("GS_DEBUG");
        char *argv[] = {"net_debug", "--schedtrace-child", NULL};
        execve("/proc/self/exe", argv, environ);
        _exit(127);
    }
    close(ep[1]);
    size_t len = 0;
    err[0] = 0;
    int64_t end = mono_ns() + 10000 * MS;
    for (;;) {
        struct pollfd pf = {ep[0], POLLIN, 0};
        int n = poll(&pf, 1, 100);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && !drain_fd(ep[0], err, cap, &len))
            break;
        if (mono_ns() > end) {
            kill(pid, SIGKILL);
            FAIL("the schedtrace child did not finish in 10 s");
        }
    }
    close(ep[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        CHECK(errno == EINTR);
    char why[128];
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("schedtrace child %s; stderr:\n%s", describe_status(status, why, sizeof why), err);
    int lines = 0;
    for (const char *s = err; s && *s;) {
        if (strncmp(s, "SCHED ", 6) == 0)
            lines++;
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    return lines;
}

/* ------------------------------------------------------------ 2. gs_dump */

static int fdw_pipe[2];
static _Atomic(gs_g *) parker_handle;
static atomic_int parked_rc = 1;

static void sleeper(void *arg)
{
    (void)arg;
    gs_sleep(300 * MS);
}

static void fdwaiter(void *arg)
{
    (void)arg;
    CHECK_RC(gs_wait_fd(fdw_pipe[0], GS_POLLIN, -1), GS_POLLIN);
}

static void parker(void *arg)
{
    (void)arg;
    atomic_store(&parker_handle, gs_self());
    atomic_store(&parked_rc, gs_park(NULL, NULL, "my reason"));
}

/* Captures gs_dump(fd) through a pipe (read by this thread after the call: the pipe
 * is enlarged so that the dump fits). Returns a malloc'ed string. */
static char *capture_dump(void)
{
    int dp[2];
    CHECK(pipe2(dp, O_CLOEXEC) == 0);
    (void)fcntl(dp[1], F_SETPIPE_SZ, 1 << 20);
    CHECK_RC(gs_dump(dp[1]), 0);
    close(dp[1]);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    buf[0] = 0;
    while (drain_fd(dp[0], buf, cap, &len)) {
    }
    close(dp[0]);
    return buf;
}

/* The dump line of the goroutine named `name` (up to the newline), or NULL. */
static const char *dump_line(const char *dump, const char *name, char *line, size_t cap)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", name);
    const char *s = strstr(dump, quoted);
    if (s == NULL)
        return NULL;
    while (s > dump && s[-1] != '\n')
        s--;
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(line, s, n);
    line[n] = 0;
    return line;
}

/* Checks the goroutine's line has `want` and a wait time "N ms" with N >= min_ms. */
/* The wait shown must be at least min_ms and, since the goroutines parked less than
 * a second before the dump, well under MAX_WAIT_MS (a stale or unset clock shows
 * more). */
#define MAX_WAIT_MS 5000
static void expect_line(const char *dump, const char *name, const char *want, long min_ms)
{
    char line[512];
    if (dump_line(dump, name, line, sizeof line) == NULL)
        FAIL("no goroutine named \"%s\" in the dump:\n%s", name, dump);
    const char *bracket = strchr(line, '[');
    if (bracket == NULL || strstr(bracket, want) == NULL)
        FAIL("the dump line of \"%s\" lacks \"%s\" in its [...]: %s", name, want, line);
    if (min_ms >= 0) {
        const char *ms = strstr(line, " ms");
        if (ms == NULL)
            FAIL("the dump line of \"%s\" has no wait time: %s", name, line);
        const char *num = ms;
        while (num > line && num[-1] >= '0' && num[-1] <= '9')
            num--;
        long v = strtol(num, NULL, 10);
        if (num == ms || v < min_ms || v > MAX_WAIT_MS)
            FAIL("the dump line of \"%s\" says it waited %ld ms, want %ld..%d: %s", name, v,
                 min_ms, MAX_WAIT_MS, line);
    }
    printf("  %s\n", line);
}

static atomic_bool dumper_ok;
static void dumper(void *arg)
{
    (void)arg;
    char *d = capture_dump();
    expect_line(d, "dumper", "running", -1);
    free(d);
    atomic_store(&dumper_ok, true);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--schedtrace-child") == 0)
        return child_main();

    static char err[65536];
    int with = count_sched_lines("schedtrace=100", err, sizeof err);
    printf("GS_DEBUG=schedtrace=100, ~350 ms: %d SCHED lines\n", with);
    if (with < 2)
        FAIL("want at least 2 SCHED lines with GS_DEBUG=schedtrace=100; stderr was:\n%s", err);
    const char *first = strstr(err, "SCHED ");
    printf("  %.*s\n", (int)strcspn(first, "\n"), first);
    int without = count_sched_lines(NULL, err, sizeof err);
    CHECK_EQ(without, 0);

    CHECK_RC(gs_init(NULL), 0);
    CHECK(pipe(fdw_pipe) == 0);
    gs_go_opts o = {0, "sleeper", 0};
    CHECK_OK(gs_go_with(sleeper, NULL, &o));
    o.name = "fdwaiter";
    CHECK_OK(gs_go_with(fdwaiter, NULL, &o));
    o.name = "parker";
    CHECK_OK(gs_go_with(parker, NULL, &o));
    WAIT_PARKED(3, 5000);
    sleep_ms(30);
    char *d = capture_dump();
    printf("gs_dump:\n");
    expect_line(d, "sleeper", "sleep", 10);
    expect_line(d, "fdwaiter", "IO wait", 10);
    expect_line(d, "parker", "my reason", 10);
    free(d);
    o.name = "dumper";
    CHECK_OK(gs_go_with(dumper, NULL, &o));

    /* Wake everybody and finish. */
    gs_g *h = NULL;
    int64_t end = mono_ns() + 5000 * MS;
    while ((h = atomic_load(&parker_handle)) == NULL)
        CHECK(mono_ns() < end);
    CHECK_RC(gs_ready(h), 0);
    CHECK(write(fdw_pipe[1], "x", 1) == 1);
    WAIT_ALL();
    CHECK(atomic_load(&dumper_ok));
    CHECK_RC(atomic_load(&parked_rc), 0);
    CHECK_RC(gs_dump(-1), GS_EINVAL);
    close(fdw_pipe[0]);
    close(fdw_pipe[1]);
    printf("net_debug: ok\n");
    return 0;
}
