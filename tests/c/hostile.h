/*
 * The harness of the hostile-use suite (tests/c/hostile_*.c): programs that use the
 * runtime the way real programs do and libraries tend to forget (signal handlers,
 * fork, peers that hang up, fds closed behind the runtime's back, starvation, frees
 * racing with wakeups, thread caps).
 *
 * A hostile program lists its cases; hostile_main runs every case in a forked child,
 * once per GS_MAXPROCS value and run, so that a crash or a hang of one run is
 * reported and the others still run. A case is a function `void fn(void)` that
 * calls gs_init(NULL) itself (GS_MAXPROCS is set in its environment), does its work,
 * checks with the CHECK macros and FAIL of common.h and returns; the child then exits 0.
 *
 * A child that outlives its case's time limit is reported as a hang: a watchdog
 * thread in the child writes a goroutine dump to stderr and ends it, and the parent
 * kills it outright a few seconds later if even that did not work.
 *
 *   prog [-r RUNS] [-p 1,2,4,8] [case ...]
 *
 * RUNS defaults to $HOSTILE_RUNS, else 20; -p to 1,2,4,8. The program prints a line
 * per failed run and a summary, and exits 1 if any run failed. The children's stdout
 * is dropped unless $HOSTILE_VERBOSE is set.
 */
#ifndef GOSCHED_TEST_HOSTILE_H
#define GOSCHED_TEST_HOSTILE_H

#include "common.h"

#include <sys/stat.h>

typedef struct hostile_case {
    const char *name;
    void (*fn)(void);
    /* Seconds a run may take before it counts as a hang. */
    int limit_s;
} hostile_case;

/* The GS_MAXPROCS of the running child (for cases that scale their work), and the
 * number of the run (from 0: for cases that spread their work over the runs). */
static int hostile_nprocs;
static int hostile_run;
static int hostile_limit_s;

static void *hostile_watchdog(void *arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += hostile_limit_s;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0) {
    }
    static const char msg[] = "\nHANG: the case did not finish in time; goroutines:\n";
    (void)!write(2, msg, sizeof msg - 1);
    gs_dump(2);
    _exit(99);
    return NULL;
}

/* Starts the child's watchdog: every signal blocked on it, so that it takes none of
 * the signals a case sends to the process. */
static void hostile_start_watchdog(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hostile_watchdog, NULL) == 0);
    pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

typedef struct hostile_result {
    int status;
    bool killed;
    char err[8192];
    size_t err_len;
} hostile_result;

/* Runs one case in a child with GS_MAXPROCS=nprocs; fills *res. */
static void hostile_run_one(const hostile_case *c, int nprocs, int run, hostile_result *res)
{
    int err_pipe[2];
    CHECK(pipe(err_pipe) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (getenv("HOSTILE_CORE") == NULL) { /* set it to debug a crash */
            struct rlimit no_core = {0, 0};
            setrlimit(RLIMIT_CORE, &no_core);
        }
        int devnull = getenv("HOSTILE_VERBOSE") ? -1 : open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            close(devnull);
        }
        dup2(err_pipe[1], 2);
        close(err_pipe[0]);
        close(err_pipe[1]);
        char v[16];
        snprintf(v, sizeof v, "%d", nprocs);
        setenv("GS_MAXPROCS", v, 1);
        hostile_nprocs = nprocs;
        hostile_run = run;
        hostile_limit_s = c->limit_s;
        hostile_start_watchdog();
        c->fn();
        fflush(stdout);
        _exit(0);
    }
    close(err_pipe[1]);
    memset(res, 0, sizeof *res);
    int64_t kill_at = mono_ns() + (int64_t)(c->limit_s + 5) * 1000000000LL;
    struct pollfd pfd = {err_pipe[0], POLLIN, 0};
    for (;;) {
        int left_ms = (int)((kill_at - mono_ns()) / 1000000);
        if (left_ms <= 0) {
            kill(pid, SIGKILL);
            res->killed = true;
            break;
        }
        int n = poll(&pfd, 1, left_ms);
        if (n < 0) {
            CHECK(errno == EINTR);
            continue;
        }
        if (n == 0)
            continue;
        char tmp[4096];
        ssize_t r = read(err_pipe[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        /* Keep the first part of stderr (the first failure), bounded. */
        size_t room = sizeof res->err - 1 - res->err_len;
        size_t k = (size_t)r < room ? (size_t)r : room;
        memcpy(res->err + res->err_len, tmp, k);
        res->err_len += k;
        res->err[res->err_len] = 0;
    }
    close(err_pipe[0]);
    while (waitpid(pid, &res->status, 0) < 0)
        CHECK(errno == EINTR);
}

static int hostile_main(int argc, char **argv, const hostile_case *cases, size_t ncases)
{
    int runs = 20;
    const char *env_runs = getenv("HOSTILE_RUNS");
    if (env_runs != NULL && atoi(env_runs) > 0)
        runs = atoi(env_runs);
    int procs[16] = {1, 2, 4, 8};
    int nprocs_list = 4;
    const char *only[64];
    int nonly = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            nprocs_list = 0;
            char *s = argv[++i];
            for (char *tok = strtok(s, ","); tok != NULL && nprocs_list < 16; tok = strtok(NULL, ","))
                procs[nprocs_list++] = atoi(tok);
        } else if (nonly < 64) {
            only[nonly++] = argv[i];
        }
    }
    int passed = 0, failed = 0;
    for (size_t ci = 0; ci < ncases; ci++) {
        const hostile_case *c = &cases[ci];
        bool selected = nonly == 0;
        for (int k = 0; k < nonly; k++)
            selected |= strcmp(only[k], c->name) == 0;
        if (!selected)
            continue;
        for (int pi = 0; pi < nprocs_list; pi++) {
            int case_failed = 0;
            int64_t t0 = mono_ns();
            for (int r = 0; r < runs; r++) {
                static hostile_result res;
                hostile_run_one(c, procs[pi], r, &res);
                bool ok = !res.killed && WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0;
                if (ok) {
                    passed++;
                    continue;
                }
                failed++;
                case_failed++;
                char st[128];
                if (res.killed)
                    snprintf(st, sizeof st, "hung and was killed");
                else if (WIFEXITED(res.status) && WEXITSTATUS(res.status) == 99)
                    snprintf(st, sizeof st, "hung (watchdog after %d s)", c->limit_s);
                else
                    describe_status(res.status, st, sizeof st);
                fprintf(stderr, "FAIL %s nprocs=%d run %d: %s\n%s\n", c->name, procs[pi], r + 1,
                        st, res.err);
                if (case_failed >= 3) {
                    fprintf(stderr, "(%s nprocs=%d: stopping after 3 failures)\n", c->name,
                            procs[pi]);
                    break;
                }
            }
            printf("%-28s nprocs=%d: %s (%d runs, %.1f s)\n", c->name, procs[pi],
                   case_failed ? "FAILED" : "ok", runs,
                   (double)(mono_ns() - t0) / 1e9);
            fflush(stdout);
        }
    }
    printf("hostile: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define HOSTILE_MAIN(cases)                                                              \
    int main(int argc, char **argv)                                                      \
    {                                                                                    \
        return hostile_main(argc, argv, cases, sizeof cases / sizeof cases[0]);          \
    }

#endif /* GOSCHED_TEST_HOSTILE_H */
