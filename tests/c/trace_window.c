/*
 * A trace window opened while the runtime runs: gs_trace_start after the Ms exist
 * must switch every M's switch paths to the tracer (they test a per-M word that the
 * start and the stop update), and gs_trace_stop must switch them back.
 * Two goroutines "win-ping" and "win-pong" ping-pong over unbuffered channels the
 * whole time, at 1 and 2 Ps. Each of two windows (start, 30 ms, stop) must hold
 * slices of both goroutines running (the events of execute and leaveg) and wakeups
 * (set_runnable); a third trace file, written by a window opened and closed while
 * the two are blocked, holds none of their slices. The goroutine counts of
 * gs_stats_get (kept per M) are checked while both are blocked.
 */
#include "common.h"

static gs_chan *ping, *pong;
static atomic_bool stop;
static atomic_long rounds;

static void pinger(void *arg)
{
    (void)arg;
    int v = 0;
    while (!atomic_load(&stop)) {
        CHECK_RC(gs_chan_send(ping, &v), 0);
        CHECK_RC(gs_chan_recv(pong, &v), 0);
        atomic_fetch_add(&rounds, 1);
    }
    v = -1;
    CHECK_RC(gs_chan_send(ping, &v), 0);
}

static void ponger(void *arg)
{
    (void)arg;
    for (;;) {
        int v;
        CHECK_RC(gs_chan_recv(ping, &v), 0);
        if (v < 0)
            return;
        v++;
        CHECK_RC(gs_chan_send(pong, &v), 0);
    }
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

/* Traces 30 ms into a temporary file and returns its text (malloc'd). */
static char *window(void)
{
    char path[] = "/tmp/gs-trace-window-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_RC(gs_trace_start(fd, 0), 0);
    usleep(30000);
    CHECK_RC(gs_trace_stop(), 0);
    off_t len = lseek(fd, 0, SEEK_END);
    CHECK(len > 0);
    char *text = malloc((size_t)len + 1);
    CHECK(text != NULL);
    CHECK_EQ(pread(fd, text, (size_t)len, 0), len);
    text[len] = 0;
    close(fd);
    return text;
}

static void run(uint32_t procs)
{
    gs_config cfg = {0};
    cfg.nprocs = procs;
    CHECK_RC(gs_init(&cfg), 0);
    ping = gs_chan_new(sizeof(int), 0);
    pong = gs_chan_new(sizeof(int), 0);
    CHECK(ping != NULL && pong != NULL);
    atomic_store(&stop, false);
    atomic_store(&rounds, 0);
    gs_go_opts a = {0, "win-ping", 0}, b = {0, "win-pong", 0};
    CHECK(gs_go_with(ponger, NULL, &b) > 0);
    CHECK(gs_go_with(pinger, NULL, &a) > 0);
    while (atomic_load(&rounds) < 1000)
        usleep(1000); /* the Ms run before the trace starts */

    for (int w = 0; w < 2; w++) {
        long before = atomic_load(&rounds);
        char *t = window();
        long did = atomic_load(&rounds) - before;
        size_t ping_runs = count(t, "\"name\":\"win-ping\",\"cat\":\"goroutine\"");
        size_t pong_runs = count(t, "\"name\":\"win-pong\",\"cat\":\"goroutine\"");
        size_t wakes = count(t, "\"cat\":\"wake\"");
        if (did < 10 || ping_runs < 10 || pong_runs < 10 || wakes < 10)
            FAIL("%u P, window %d: %ld rounds but %zu win-ping and %zu win-pong slices, %zu wakeups",
                 procs, w, did, ping_runs, pong_runs, wakes);
        printf("%u P, window %d: %ld rounds, %zu + %zu slices, %zu wakeups\n", procs, w, did,
               ping_runs, pong_runs, wakes);
        free(t);
    }

    atomic_store(&stop, true);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);

    /* Both blocked for good on a channel nobody else uses: counted as waiting. */
    atomic_store(&stop, false);
    atomic_store(&rounds, 0);
    gs_chan *never = gs_chan_new(sizeof(int), 0);
    CHECK(never != NULL);
    gs_stats st;
    CHECK_RC(gs_stats_get(&st), 0);
    uint64_t waiting0 = st.waiting;
    ping = pong = never;
    CHECK(gs_go_with(ponger, NULL, &b) > 0); /* blocks in recv */
    CHECK(gs_go_with(ponger, NULL, &b) > 0);
    int64_t deadline = gs_nanotime() + 10LL * 1000 * 1000 * 1000;
    do {
        CHECK_RC(gs_stats_get(&st), 0);
        if (st.waiting == waiting0 + 2)
            break;
        usleep(1000);
    } while (gs_nanotime() < deadline);
    CHECK_EQ(st.waiting, waiting0 + 2);
    char *t = window();
    if (count(t, "\"name\":\"win-pong\",\"cat\":\"goroutine\"") != 0)
        FAIL("%u P: blocked goroutines ran in the trace", procs);
    free(t);
    CHECK(gs_shutdown() == 2);
    printf("%u P: the blocked pair counted as waiting, silent in a trace\n", procs);
}

int main(void)
{
    unsetenv("GS_TRACE");
    run(1);
    run(2);
    printf("trace_window: OK\n");
    return 0;
}
