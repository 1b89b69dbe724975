/*
 * demo: gosched in a few seconds, from C.
 *
 *   1. spawn     100,000 goroutines spawned and joined
 *   2. channels  Go's concurrent prime sieve (a chain of goroutines linked by
 *                unbuffered channels), a fan-out/fan-in pipeline over buffered
 *                channels, and a select with a timeout
 *                (when the library has channels; otherwise a gs_park/gs_ready relay)
 *   3. timers    10,000 goroutines x 10 sleeps of 1 ms, each measured
 *   4. echo      a TCP echo server (a goroutine per connection) and 50 client
 *                goroutines x 200 verified round trips over 127.0.0.1, one process
 *   5. stats     the scheduler's counters (gs_stats_get)
 *
 * Every result is checked; the program exits 0 only if all are right. The number of
 * Ps comes from $GS_MAXPROCS (default: the CPUs this process may use).
 *
 * Build: gcc -std=c11 -O2 -pthread -Iinclude examples-c/demo.c -Ltarget/release \
 *            -lgosched -Wl,-rpath,$PWD/target/release -o demo
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "echo_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL

static int failures;

#define EXPECT(cond, ...)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "demo: FAILED: " __VA_ARGS__);                               \
            fputc('\n', stderr);                                                         \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

/* ------------------------------------------------------------------ a join group */
/* Waits for n goroutines: Go's sync.WaitGroup when the library has one, else a
 * counter and gs_park/gs_ready (the building block the runtime offers to C). */

#ifdef GS_SEND
typedef gs_waitgroup group;
static group *group_new(long n)
{
    group *g = gs_waitgroup_new();
    if (g)
        gs_waitgroup_add(g, n);
    return g;
}
static void group_done(group *g) { gs_waitgroup_done(g); }
static void group_wait(group *g) { gs_waitgroup_wait(g); }
static void group_free(group *g) { gs_waitgroup_free(g); }
#else
typedef struct group {
    atomic_long left;
    _Atomic(gs_g *) waiter;
} group;
static group *group_new(long n)
{
    group *g = calloc(1, sizeof *g);
    if (g)
        atomic_store(&g->left, n);
    return g;
}
static void group_done(group *g)
{
    if (atomic_fetch_sub(&g->left, 1) == 1) {
        gs_g *w = atomic_exchange(&g->waiter, NULL);
        if (w)
            gs_ready(w);
    }
}
/* unlockf: runs once the waiter is parked. If the count reached 0 before the last
 * goroutine could see us, take ourselves back and resume at once. */
static bool group_commit(gs_g *self, void *arg)
{
    group *g = arg;
    atomic_store(&g->waiter, self);
    if (atomic_load(&g->left) == 0 && atomic_exchange(&g->waiter, NULL) == self)
        return false;
    return true;
}
static void group_wait(group *g)
{
    while (atomic_load(&g->left) > 0)
        gs_park(group_commit, g, "group wait");
}
static void group_free(group *g) { free(g); }
#endif

/* ------------------------------------------------------------------ 1. spawn */

#define SPAWN_N 100000
static atomic_long spawn_sum;

typedef struct spawn_arg {
    group *g;
    long i;
} spawn_arg;

static void spawned(void *arg)
{
    spawn_arg *a = arg;
    atomic_fetch_add(&spawn_sum, a->i);
    group_done(a->g);
}

static void demo_spawn(void)
{
    static spawn_arg args[SPAWN_N];
    group *g = group_new(SPAWN_N);
    EXPECT(g != NULL, "no memory for a group");
    int64_t t0 = gs_nanotime();
    for (long i = 0; i < SPAWN_N; i++) {
        args[i] = (spawn_arg){g, i + 1};
        if (gs_go(spawned, &args[i]) < 0) {
            EXPECT(0, "gs_go failed at %ld", i);
            group_done(g);
        }
    }
    group_wait(g);
    int64_t el = gs_nanotime() - t0;
    group_free(g);
    long want = (long)SPAWN_N * (SPAWN_N + 1) / 2;
    EXPECT(atomic_load(&spawn_sum) == want, "spawn sum %ld, want %ld", atomic_load(&spawn_sum), want);
    printf("  spawn     %d goroutines spawned and joined in %.1f ms (%.0f ns each)\n", SPAWN_N,
           (double)el / 1e6, (double)el / SPAWN_N);
}

/* ------------------------------------------------------------------ 2. channels */

#ifdef GS_SEND
#define SIEVE_LIMIT 5000 /* 669 primes below it, the largest 4999 */

typedef struct sieve_arg {
    gs_chan *in, *out;
    int prime;
} sieve_arg;

static void generate(void *arg)
{
    gs_chan *out = arg;
    for (int i = 2; i < SIEVE_LIMIT; i++)
        gs_chan_send(out, &i);
    gs_chan_close(out);
}

/* Passes on what its prime does not divide; closes downstream when upstream closes. */
static void filter(void *arg)
{
    sieve_arg a = *(sieve_arg *)arg;
    free(arg);
    int v;
    while (gs_chan_recv(a.in, &v) == 0) {
        if (v % a.prime != 0)
            gs_chan_send(a.out, &v);
    }
    gs_chan_close(a.out);
    gs_chan_free(a.in); /* closed and drained; nobody else uses it */
}

static void demo_sieve(void)
{
    int64_t t0 = gs_nanotime();
    gs_chan *ch = gs_chan_new(sizeof(int), 0);
    gs_go(generate, ch);
    int count = 0, last = 0, p;
    while (gs_chan_recv(ch, &p) == 0) {
        count++;
        last = p;
        sieve_arg *a = malloc(sizeof *a);
        a->in = ch;
        a->out = gs_chan_new(sizeof(int), 0);
        a->prime = p;
        ch = a->out;
        gs_go(filter, a);
    }
    gs_chan_free(ch);
    int64_t el = gs_nanotime() - t0;
    EXPECT(count == 669 && last == 4999, "sieve found %d primes, last %d", count, last);
    printf("  channels  prime sieve: %d primes below %d, the last %d, through a chain of %d "
           "goroutines and unbuffered channels in %.1f ms\n",
           count, SIEVE_LIMIT, last, count, (double)el / 1e6);
}

#define PIPE_N 100000
#define SQUARERS 4

typedef struct pipeline {
    gs_chan *nums, *squares;
    group *workers;
} pipeline;

static void pipe_generate(void *arg)
{
    pipeline *pl = arg;
    for (uint64_t i = 1; i <= PIPE_N; i++)
        gs_chan_send(pl->nums, &i);
    gs_chan_close(pl->nums);
}

static void pipe_square(void *arg)
{
    pipeline *pl = arg;
    uint64_t v;
    while (gs_chan_recv(pl->nums, &v) == 0) {
        v *= v;
        gs_chan_send(pl->squares, &v);
    }
    group_done(pl->workers);
}

static void pipe_closer(void *arg)
{
    pipeline *pl = arg;
    group_wait(pl->workers); /* all squarers done: no more sends */
    gs_chan_close(pl->squares);
}

static void demo_pipeline(void)
{
    int64_t t0 = gs_nanotime();
    pipeline pl = {gs_chan_new(sizeof(uint64_t), 128), gs_chan_new(sizeof(uint64_t), 128),
                   group_new(SQUARERS)};
    gs_go(pipe_generate, &pl);
    for (int i = 0; i < SQUARERS; i++)
        gs_go(pipe_square, &pl);
    gs_go(pipe_closer, &pl);
    uint64_t sum = 0, v;
    long n = 0;
    while (gs_chan_recv(pl.squares, &v) == 0) {
        sum += v;
        n++;
    }
    int64_t el = gs_nanotime() - t0;
    uint64_t want = (uint64_t)PIPE_N * (PIPE_N + 1) * (2 * (uint64_t)PIPE_N + 1) / 6;
    EXPECT(sum == want && n == PIPE_N, "pipeline sum %" PRIu64 " over %ld values, want %" PRIu64,
           sum, n, want);
    printf("            pipeline: 1..%d -> %d squarers -> sum = %" PRIu64 " (fan-out, fan-in, "
           "buffered channels) in %.1f ms\n",
           PIPE_N, SQUARERS, sum, (double)el / 1e6);
    /* The closer may still be returning from its wait: free once it is done. */
    while (gs_waitgroup_free(pl.workers) == GS_EBUSY)
        gs_gosched();
    gs_chan_free(pl.nums);
    gs_chan_free(pl.squares);
}

static void late_sender(void *arg)
{
    gs_sleep(20 * MS);
    int v = 42;
    gs_chan_send(arg, &v);
}

static void demo_select(void)
{
    gs_chan *late = gs_chan_new(sizeof(int), 0);
    gs_go(late_sender, late);
    int v = 0, timeouts = 0, r;
    int64_t t0 = gs_nanotime();
    for (;;) {
        gs_select_case c[1] = {{late, GS_RECV, &v, 0}};
        r = gs_select(c, 1, 5 * MS);
        if (r != GS_ETIMEDOUT || timeouts > 100)
            break;
        timeouts++;
    }
    int64_t el = gs_nanotime() - t0;
    EXPECT(r == 0 && v == 42 && timeouts >= 1, "select returned %d, value %d after %d timeouts",
           r, v, timeouts);
    printf("            select: %d timeouts of 5 ms, then the value %d arrived after %.1f ms\n",
           timeouts, v, (double)el / 1e6);
    gs_chan_free(late);
}

static void demo_channels(void)
{
    demo_sieve();
    demo_pipeline();
    demo_select();
}
#else
/* No channels in this build: a token relayed around a ring of goroutines with
 * gs_park/gs_ready, the primitive channels are built on. */
#define RING 100
#define LAPS 1000
static gs_g *_Atomic ring_handles[RING];
static atomic_long ring_hops;
static group *ring_group;

static void ring_member(void *arg)
{
    long id = (long)(intptr_t)arg;
    atomic_store(&ring_handles[id], gs_self());
    for (int lap = 0; lap < LAPS; lap++) {
        if (!(id == 0 && lap == 0))
            gs_park(NULL, NULL, "ring token");
        atomic_fetch_add(&ring_hops, 1);
        gs_g *next;
        long to = (id + 1) % RING;
        if (id == RING - 1 && lap == LAPS - 1)
            break;
        while ((next = atomic_load(&ring_handles[to])) == NULL || gs_ready(next) != 0)
            gs_gosched(); /* not parked yet */
    }
    group_done(ring_group);
}

static void demo_channels(void)
{
    ring_group = group_new(RING);
    int64_t t0 = gs_nanotime();
    for (long i = RING - 1; i >= 0; i--)
        gs_go(ring_member, (void *)(intptr_t)i);
    group_wait(ring_group);
    group_free(ring_group);
    int64_t el = gs_nanotime() - t0;
    EXPECT(atomic_load(&ring_hops) == (long)RING * LAPS, "ring hops %ld", atomic_load(&ring_hops));
    printf("  channels  (not in this build) a token around a ring of %d goroutines with "
           "gs_park/gs_ready: %ld hops in %.1f ms\n",
           RING, atomic_load(&ring_hops), (double)el / 1e6);
}
#endif

/* ------------------------------------------------------------------ 3. timers */

#define SLEEPERS 10000
#define SLEEPS 10
static atomic_llong over_total_ns, over_max_ns;
static atomic_long early;

static void sleeper(void *arg)
{
    group *g = arg;
    for (int i = 0; i < SLEEPS; i++) {
        int64_t t0 = gs_nanotime();
        gs_sleep(1 * MS);
        int64_t over = gs_nanotime() - t0 - 1 * MS;
        if (over < 0)
            atomic_fetch_add(&early, 1);
        atomic_fetch_add(&over_total_ns, over);
        long long m = atomic_load(&over_max_ns);
        while (over > m && !atomic_compare_exchange_weak(&over_max_ns, &m, over)) {
        }
    }
    group_done(g);
}

static void demo_timers(void)
{
    group *g = group_new(SLEEPERS);
    int64_t t0 = gs_nanotime();
    for (int i = 0; i < SLEEPERS; i++)
        gs_go(sleeper, g);
    group_wait(g);
    int64_t el = gs_nanotime() - t0;
    group_free(g);
    EXPECT(atomic_load(&early) == 0, "%ld sleeps ended early", atomic_load(&early));
    printf("  timers    %d goroutines x %d sleeps of 1 ms in %.1f ms; oversleep mean %.0f us, "
           "max %.1f ms; none early\n",
           SLEEPERS, SLEEPS, (double)el / 1e6,
           (double)atomic_load(&over_total_ns) / (SLEEPERS * SLEEPS) / 1e3,
           (double)atomic_load(&over_max_ns) / 1e6);
}

/* ------------------------------------------------------------------ 4. echo */

#define CLIENTS 50
#define ROUNDS 200
#define MSG 64

static echo_server srv;
static atomic_long echoes, echo_bad;

static void echo_client(void *arg)
{
    group *g = arg;
    static atomic_int next_id;
    int id = atomic_fetch_add(&next_id, 1);
    int fd = echo_dial_loopback(srv.port);
    if (fd < 0) {
        atomic_fetch_add(&echo_bad, 1);
        group_done(g);
        return;
    }
    unsigned char out[MSG], in[MSG];
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < MSG; k++)
            out[k] = (unsigned char)(id * 31 + r * 7 + k);
        if (gs_write(fd, out, MSG) != MSG || echo_read_full(fd, in, MSG) != MSG ||
            memcmp(in, out, MSG) != 0) {
            atomic_fetch_add(&echo_bad, 1);
            break;
        }
        atomic_fetch_add(&echoes, 1);
    }
    gs_close(fd);
    group_done(g);
}

static void demo_echo(void)
{
    int rc = echo_server_start(&srv, 0);
    EXPECT(rc == 0, "echo server: %s", gs_strerror(rc));
    if (rc != 0)
        return;
    group *g = group_new(CLIENTS);
    int64_t t0 = gs_nanotime();
    for (int i = 0; i < CLIENTS; i++)
        gs_go(echo_client, g);
    group_wait(g);
    int64_t el = gs_nanotime() - t0;
    group_free(g);
    echo_server_stop(&srv);
    /* Connection goroutines end when their clients have closed. */
    for (int i = 0; i < 5000 && (atomic_load(&srv.active) > 0 || !atomic_load(&srv.loop_done)); i++)
        gs_sleep(1 * MS);
    EXPECT(atomic_load(&echo_bad) == 0 && atomic_load(&echoes) == (long)CLIENTS * ROUNDS,
           "echo: %ld verified, %ld failed", atomic_load(&echoes), atomic_load(&echo_bad));
    EXPECT(atomic_load(&srv.errors) == 0 && atomic_load(&srv.active) == 0,
           "echo server: %ld errors, %ld connections left", atomic_load(&srv.errors),
           atomic_load(&srv.active));
    printf("  echo      server + %d client goroutines on 127.0.0.1:%d: %ld round trips of %d "
           "bytes verified in %.1f ms (%.0f req/s)\n",
           CLIENTS, srv.port, atomic_load(&echoes), MSG, (double)el / 1e6,
           (double)atomic_load(&echoes) / ((double)el / 1e9));
}

/* ------------------------------------------------------------------ main */

static void demo_main(void *arg)
{
    (void)arg;
    demo_spawn();
    demo_channels();
    demo_timers();
    demo_echo();
}

int main(void)
{
    int64_t t0 = gs_nanotime();
    int rc = gs_init(NULL);
    if (rc != 0) {
        fprintf(stderr, "demo: gs_init: %s\n", gs_strerror(rc));
        return 1;
    }
    gs_stats st;
    gs_stats_get(&st);
    printf("gosched %s demo: %u procs (GS_MAXPROCS), this thread runs the main goroutine\n",
           gs_version(), st.procs);
    rc = gs_main(demo_main, NULL);
    if (rc == 0)
        rc = gs_wait(10000 * MS);
    if (rc != 0) {
        fprintf(stderr, "demo: %s\n", gs_strerror(rc));
        gs_dump(2);
        return 1;
    }
    gs_stats_get(&st);
    printf("  stats     goroutines=%" PRIu64 " spawned_total=%" PRIu64 " switches_total=%" PRIu64
           " steals_total=%" PRIu64 " threads=%u idle_threads=%u procs=%u idle_procs=%u "
           "timers=%" PRIu64 " netpoll_waiters=%" PRIu64 "\n",
           st.goroutines, st.spawned_total, st.switches_total, st.steals_total, st.threads,
           st.idle_threads, st.procs, st.idle_procs, st.timers, st.netpoll_waiters);
    EXPECT(st.goroutines == 0, "%" PRIu64 " goroutines left", st.goroutines);
    int abandoned = gs_shutdown();
    EXPECT(abandoned == 0, "gs_shutdown abandoned %d goroutines", abandoned);
    printf("%s in %.2f s\n", failures == 0 ? "demo: all checks passed" : "demo: FAILED",
           (double)(gs_nanotime() - t0) / 1e9);
    return failures == 0 ? 0 : 1;
}
