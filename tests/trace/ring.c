/*
 * The flight recorder of tests/trace.rs: gs_trace_ring with a small ring, goroutines
 * that keep tracing (a ping-pong over channels, log marks with increasing numbers),
 * and a watchdog goroutine that takes gs_trace_snapshot into files meanwhile.
 * argv[1]: the prefix of the snapshot files (PREFIX.N.json, PREFIX.final.json).
 * Prints "did ring=BYTES snapshots=N last_mark=M" for tests/trace/check_ring.py.
 * Also checks the error codes of the gs_trace_* calls.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "../c/common.h"
#include <fcntl.h>

#define RING (64 * 1024)
#define ROUNDS 20000
#define MARK_EVERY 100

static gs_chan *ping, *pong;
static gs_waitgroup *wg;
static atomic_bool done;
static atomic_int last_mark = -1;
static int snapshots;
static const char *prefix;

static int open_out(const char *tag)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.%s.json", prefix, tag);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    return fd;
}

static void ponger(void *arg)
{
    (void)arg;
    int v;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_RC(gs_chan_recv(ping, &v), 0);
        CHECK_RC(gs_chan_send(pong, &v), 0);
    }
    gs_waitgroup_done(wg);
}

static void pinger(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int v = i;
        CHECK_RC(gs_chan_send(ping, &v), 0);
        CHECK_RC(gs_chan_recv(pong, &v), 0);
        if (i % MARK_EVERY == 0) {
            char msg[32];
            snprintf(msg, sizeof msg, "mark %d", i / MARK_EVERY);
            CHECK_RC(gs_trace_log("mark", msg), 0);
            atomic_store(&last_mark, i / MARK_EVERY);
        }
    }
    atomic_store(&done, true);
    gs_waitgroup_done(wg);
}

static void watchdog(void *arg)
{
    (void)arg;
    while (!atomic_load(&done)) {
        gs_sleep(2000000);
        char tag[16];
        snprintf(tag, sizeof tag, "%d", snapshots);
        int fd = open_out(tag);
        CHECK_RC(gs_trace_snapshot(fd), 0); /* while the others keep tracing */
        close(fd);
        snapshots++;
    }
    gs_waitgroup_done(wg);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    prefix = argv[1];
    CHECK_RC(gs_trace_ring(0), GS_EINVAL);
    CHECK_RC(gs_trace_snapshot(1), GS_EINVAL); /* nothing traced */
    CHECK_RC(gs_trace_stop(), GS_EINVAL);
    CHECK_RC(gs_trace_start(-1, 0), GS_EINVAL);
    CHECK_RC(gs_trace_start(1, 7), GS_EINVAL);
    CHECK_RC(gs_trace_region_begin(NULL), GS_EINVAL);
    CHECK_RC(gs_trace_log("x", NULL), GS_EINVAL);
    CHECK_RC(gs_trace_ring(RING), 0);
    CHECK_RC(gs_trace_ring(RING), GS_EBUSY);
    CHECK_RC(gs_trace_start(1, 0), GS_EBUSY);
    CHECK_RC(gs_trace_snapshot(-1), GS_EINVAL);
    CHECK_RC(gs_init(NULL), 0);
    ping = gs_chan_new(sizeof(int), 0);
    pong = gs_chan_new(sizeof(int), 0);
    wg = gs_waitgroup_new();
    CHECK(ping && pong && wg);
    CHECK_RC(gs_waitgroup_add(wg, 3), 0);
    gs_go_opts a = {0, "ponger", 0}, b = {0, "pinger", 0}, c = {0, "watchdog", 0};
    CHECK(gs_go_with(ponger, NULL, &a) > 0);
    CHECK(gs_go_with(pinger, NULL, &b) > 0);
    CHECK(gs_go_with(watchdog, NULL, &c) > 0);
    CHECK_RC(gs_wait(-1), 0);
    int fd = open_out("final");
    CHECK_RC(gs_trace_snapshot(fd), 0);
    close(fd);
    CHECK_RC(gs_trace_stop(), 0);
    CHECK_RC(gs_trace_snapshot(1), GS_EINVAL);
    printf("did ring=%d snapshots=%d last_mark=%d\n", RING, snapshots, atomic_load(&last_mark));
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
