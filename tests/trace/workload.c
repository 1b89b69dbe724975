/*
 * The traced workload of tests/trace.rs: goroutines over channels, a mutex, a wait
 * group, sleeps, an echo server and a blocking call, with regions and log messages.
 * Run with GS_TRACE=path; prints what it did ("did goroutines=N ...") for the
 * checker (tests/trace/check_trace.py) to compare with the trace.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "../c/common.h"
#include "../../examples-c/echo_server.h"

#define PINGS 200
#define LOCKERS 4
#define LOCK_ROUNDS 50
#define SLEEPS 5
#define ECHO_ROUNDS 20

static gs_chan *ping, *pong;
static gs_mutex *mu;
static gs_waitgroup *wg;
static long counter;
static atomic_int created = 1; /* the main goroutine */
static echo_server srv;

static int64_t go_named(void (*fn)(void *), void *arg, const char *name)
{
    gs_go_opts o = {0, name, 0};
    int64_t id = gs_go_with(fn, arg, &o);
    CHECK(id > 0);
    atomic_fetch_add(&created, 1);
    return id;
}

static void ponger(void *arg)
{
    (void)arg;
    int v;
    for (int i = 0; i < PINGS; i++) {
        CHECK_RC(gs_chan_recv(ping, &v), 0);
        v++;
        CHECK_RC(gs_chan_send(pong, &v), 0);
    }
    gs_waitgroup_done(wg);
}

static void pinger(void *arg)
{
    (void)arg;
    CHECK_RC(gs_trace_region_begin("ping-pong"), 0);
    for (int i = 0; i < PINGS; i++) {
        int v = i, r = -1;
        CHECK_RC(gs_chan_send(ping, &v), 0);
        CHECK_RC(gs_chan_recv(pong, &r), 0);
        CHECK(r == i + 1);
    }
    CHECK_RC(gs_trace_region_end("ping-pong"), 0);
    CHECK_RC(gs_trace_log("pinger", "all pongs received"), 0);
    gs_waitgroup_done(wg);
}

static void locker(void *arg)
{
    (void)arg;
    for (int i = 0; i < LOCK_ROUNDS; i++) {
        CHECK_RC(gs_mutex_lock(mu), 0);
        long c = counter;
        gs_gosched(); /* hold the lock across a yield: others block on it */
        counter = c + 1;
        CHECK_RC(gs_mutex_unlock(mu), 0);
    }
    gs_waitgroup_done(wg);
}

static void sleeper(void *arg)
{
    (void)arg;
    for (int i = 0; i < SLEEPS; i++)
        CHECK_RC(gs_sleep(1000000), 0);
    gs_waitgroup_done(wg);
}

static void blocker(void *arg)
{
    (void)arg;
    gs_entersyscall();
    usleep(30000); /* long enough for sysmon to hand the P off */
    gs_exitsyscall();
    gs_waitgroup_done(wg);
}

static void echo_client(void *arg)
{
    (void)arg;
    int fd = echo_dial_loopback(srv.port);
    CHECK(fd >= 0);
    char out[32], in[32];
    for (int i = 0; i < ECHO_ROUNDS; i++) {
        int n = snprintf(out, sizeof out, "hello %d", i);
        CHECK(gs_write(fd, out, (size_t)n) == n);
        ptrdiff_t got = 0;
        while (got < n) {
            ptrdiff_t r = gs_read(fd, in + got, (size_t)(n - got));
            CHECK(r > 0);
            got += r;
        }
        CHECK(memcmp(in, out, (size_t)n) == 0);
    }
    gs_close(fd);
    gs_waitgroup_done(wg);
}

static void main_g(void *arg)
{
    (void)arg;
    ping = gs_chan_new(sizeof(int), 0);
    pong = gs_chan_new(sizeof(int), 0);
    mu = gs_mutex_new();
    wg = gs_waitgroup_new();
    CHECK(ping && pong && mu && wg);
    CHECK_RC(echo_server_start(&srv, 0), 0);
    atomic_fetch_add(&created, 1); /* the accept loop */
    int n = 2 + LOCKERS + 3;
    CHECK_RC(gs_waitgroup_add(wg, n), 0);
    go_named(ponger, NULL, "ponger");
    go_named(pinger, NULL, "pinger");
    for (int i = 0; i < LOCKERS; i++)
        go_named(locker, NULL, "locker");
    go_named(sleeper, NULL, "sleeper");
    go_named(blocker, NULL, "blocker");
    go_named(echo_client, NULL, "echo-client");
    CHECK_RC(gs_waitgroup_wait(wg), 0);
    CHECK(counter == LOCKERS * LOCK_ROUNDS);
    echo_server_stop(&srv);
    while (atomic_load(&srv.active) > 0 || !atomic_load(&srv.loop_done))
        gs_sleep(1000000);
    created += (int)atomic_load(&srv.accepted); /* one echo-conn per connection */
    gs_chan_free(ping);
    gs_chan_free(pong);
    gs_mutex_free(mu);
    gs_waitgroup_free(wg);
}

int main(void)
{
    CHECK_RC(gs_main(main_g, NULL), 0);
    /* Every message crossed an unbuffered channel: each one blocked one side. */
    printf("did goroutines=%d chan_handoffs=%d pings=%d echo_rounds=%d\n", atomic_load(&created), 2 * PINGS,
           PINGS, ECHO_ROUNDS);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
