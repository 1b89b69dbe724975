/* Shared helpers of the C benchmark programs in benches/c/.
 *
 * Every program prints exactly one result line on stdout, in the format of the Go
 * peers (shared/peers/go/cmd/gobench):
 *
 *     workload=<name> procs=<P> n=<count> value=<number> unit=<unit> [key=value ...]
 *
 * followed by ` impl=gosched`, so that benches/summarize.py can tell the two sides
 * apart. Diagnostics go to stderr. A wrong result exits with status 1, a run past
 * the deadline (-deadline SECONDS, default 60) with status 3, as the Go peers do.
 *
 * Every program accepts:  -n N   (0 or absent: the workload's default)
 *                         -iters N  (only where documented)
 *                         -deadline SECONDS
 * The number of Ps comes from $GS_MAXPROCS (gs_config.nprocs = 0).
 *
 * A line `bench-needs: gs_x gs_y` in a program's leading comment lists the library
 * symbols it needs beyond the core; benches/run.sh compiles it only when
 * libgosched exports all of them.
 */
#ifndef GS_BENCH_H
#define GS_BENCH_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gosched.h"

/* ------------------------------------------------------------------ options */

typedef struct bench_opts {
    int64_t n;        /* -n; 0 = default                                  */
    int64_t iters;    /* -iters; 0 = default                              */
    int     deadline; /* -deadline seconds                                */
} bench_opts;

static inline void bench_usage(const char *prog) {
    fprintf(stderr, "usage: GS_MAXPROCS=<p> %s [-n N] [-iters N] [-deadline SECONDS]\n", prog);
    exit(2);
}

static inline int64_t bench_parse_i64(const char *prog, const char *s) {
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || v < 0)
        bench_usage(prog);
    return (int64_t)v;
}

static inline void bench_on_deadline(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: deadline exceeded\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(3);
}

/* Parses the command line and arms the deadline watchdog (SIGALRM: it does not
 * depend on the scheduler making progress). */
static inline bench_opts bench_parse(int argc, char **argv) {
    bench_opts o = {0, 0, 60};
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "-n") == 0)
            o.n = bench_parse_i64(argv[0], argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-iters") == 0)
            o.iters = bench_parse_i64(argv[0], argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-deadline") == 0)
            o.deadline = (int)bench_parse_i64(argv[0], argv[++i]);
        else
            bench_usage(argv[0]);
    }
    signal(SIGALRM, bench_on_deadline);
    if (o.deadline > 0)
        alarm((unsigned)o.deadline);
    return o;
}

static inline int64_t bench_default(int64_t v, int64_t def) { return v > 0 ? v : def; }

/* ------------------------------------------------------------------ results */

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    _exit(1);
}

/* Exits with a message when a gs_* call returned an error code. */
static inline int64_t check(int64_t rc, const char *what) {
    if (rc < 0)
        fail("%s: %s (%lld)", what, gs_strerror((int)rc), (long long)rc);
    return rc;
}

static inline unsigned bench_procs(void) {
    gs_stats st;
    memset(&st, 0, sizeof st);
    if (gs_stats_get(&st) < 0)
        return 0;
    return st.procs;
}

/* Prints the result line. `extra` may be NULL or "key=value ...". */
static inline void result(const char *name, int64_t n, double value, const char *unit, const char *extra) {
    printf("workload=%s procs=%u n=%lld value=%.3f unit=%s", name, bench_procs(), (long long)n,
           value, unit);
    if (extra && extra[0])
        printf(" %s", extra);
    printf(" impl=gosched\n");
    fflush(stdout);
}

/* ------------------------------------------------------------------ join
 * A one-shot join: `remaining` goroutines call join_done, one goroutine waits in
 * join_wait. Built on gs_park/gs_ready without a lost wakeup:
 *   waiter, in unlockf (after it is marked waiting): CAS state EMPTY -> PARKED;
 *           if that fails the last goroutine already finished: resume at once.
 *   last finisher: swap state to DONE; if it was PARKED, gs_ready the waiter.
 * Exactly one of the two sees the other's mark, so the waiter is readied once. */

enum { JOIN_EMPTY = 0, JOIN_PARKED = 1, JOIN_DONE = 2 };

typedef struct join {
    atomic_llong remaining;
    atomic_int   state;
    _Atomic(gs_g *) waiter;
} join;

static inline void join_init(join *j, int64_t n) {
    atomic_init(&j->remaining, n);
    atomic_init(&j->state, n > 0 ? JOIN_EMPTY : JOIN_DONE);
    atomic_init(&j->waiter, NULL);
}

static inline void join_done(join *j) {
    if (atomic_fetch_sub(&j->remaining, 1) == 1) {
        if (atomic_exchange(&j->state, JOIN_DONE) == JOIN_PARKED)
            check(gs_ready(atomic_load(&j->waiter)), "join_done: gs_ready");
    }
}

static inline bool join_unlockf(gs_g *g, void *arg) {
    (void)g;
    join *j = arg;
    int expected = JOIN_EMPTY;
    return atomic_compare_exchange_strong(&j->state, &expected, JOIN_PARKED);
}

/* From a goroutine. */
static inline void join_wait(join *j) {
    atomic_store(&j->waiter, gs_self());
    if (atomic_load(&j->state) == JOIN_DONE)
        return;
    check(gs_park(join_unlockf, j, "join"), "join_wait: gs_park");
    if (atomic_load(&j->state) != JOIN_DONE || atomic_load(&j->remaining) != 0)
        fail("join_wait: woken before all goroutines finished");
}

/* ------------------------------------------------------------------ misc */

/* VmRSS of this process in bytes, from /proc/self/status. */
static inline int64_t vm_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        fail("open /proc/self/status");
    char line[256];
    int64_t kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (kb < 0)
        fail("no VmRSS line");
    return kb * 1024;
}

/* Runs fn(arg) as the main goroutine (gs_main) and checks the return code. */
static inline void bench_run_main(gs_fn fn, void *arg) {
    check(gs_init(NULL), "gs_init");
    check(gs_main(fn, arg), "gs_main");
}

#endif /* GS_BENCH_H */
