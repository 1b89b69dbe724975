/*
 * Foreign threads and goroutines on the same channels, both ways:
 *
 * 1. A foreign thread sends 100,000 values to 4 goroutines over an unbuffered
 *    channel while the goroutines send 100,000 values back to it over another: every
 *    value arrives exactly once on each side, with its plain payload visible.
 * 2. 50,000 values through goroutines that echo them, fed by two foreign threads
 *    and drained by two others, over unbuffered and buffered channels: every value
 *    makes the round trip exactly once.
 * 3. Foreign thread to foreign thread without goroutines, and without a runtime at
 *    all (channels are plain memory; a blocked thread is a parked thread).
 * Run at nprocs 1 and 2.
 */
#include "common.h"

#define N 100000
#define GOROUTINES 4

static gs_chan *to_g, *to_f;
static uint64_t payload_f[N], payload_g[N]; /* plain: written before each send */
static atomic_uchar seen_by_g[N], seen_by_f[N];

static void g_worker(void *arg)
{
    size_t w = (size_t)(uintptr_t)arg;
    /* Receive until the foreign sender closes to_g. */
    for (;;) {
        uint64_t i;
        int rc = gs_chan_recv(to_g, &i);
        if (rc == GS_ECLOSED)
            break;
        CHECK_RC(rc, 0);
        CHECK(i < N);
        CHECK_EQ(payload_f[i], i ^ 0x5555);
        atomic_fetch_add(&seen_by_g[i], 1);
    }
    /* Then send our share back. */
    for (size_t i = w; i < N; i += GOROUTINES) {
        payload_g[i] = i ^ 0xAAAA;
        uint64_t v = i;
        CHECK_RC(gs_chan_send(to_f, &v), 0);
    }
}

/* Interleaved: a receiving goroutine feeding back while the thread still sends. */
static void g_echo(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t i;
        int rc = gs_chan_recv(to_g, &i);
        if (rc == GS_ECLOSED)
            return;
        CHECK_RC(rc, 0);
        CHECK_EQ(payload_f[i], i ^ 0x5555);
        atomic_fetch_add(&seen_by_g[i], 1);
        payload_g[i] = i ^ 0xAAAA;
        CHECK_RC(gs_chan_send(to_f, &i), 0);
    }
}

static void reset(void)
{
    for (size_t i = 0; i < N; i++) {
        payload_f[i] = payload_g[i] = 0;
        atomic_store_explicit(&seen_by_g[i], 0, memory_order_relaxed);
        atomic_store_explicit(&seen_by_f[i], 0, memory_order_relaxed);
    }
}

static void check_all_once(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (seen_by_g[i] != 1)
            FAIL("value %zu seen %d times by goroutines", i, (int)seen_by_g[i]);
        if (seen_by_f[i] != 1)
            FAIL("value %zu seen %d times by the thread", i, (int)seen_by_f[i]);
    }
}

static void phase_one_way_then_back(uint32_t nprocs)
{
    init_procs(nprocs);
    reset();
    to_g = gs_chan_new(sizeof(uint64_t), 0);
    to_f = gs_chan_new(sizeof(uint64_t), 0);
    CHECK(to_g && to_f);
    for (int w = 0; w < GOROUTINES; w++)
        CHECK(gs_go(g_worker, (void *)(uintptr_t)w) > 0);
    for (uint64_t i = 0; i < N; i++) {
        payload_f[i] = i ^ 0x5555;
        CHECK_RC(gs_chan_send(to_g, &i), 0);
    }
    CHECK_RC(gs_chan_close(to_g), 0);
    for (size_t k = 0; k < N; k++) {
        uint64_t i;
        CHECK_RC(gs_chan_recv(to_f, &i), 0);
        CHECK(i < N);
        CHECK_EQ(payload_g[i], i ^ 0xAAAA);
        atomic_fetch_add(&seen_by_f[i], 1);
    }
    WAIT_ALL();
    check_all_once(N);
    CHECK_RC(gs_chan_free(to_g), 0);
    CHECK_RC(gs_chan_free(to_f), 0);
    CHECK(gs_shutdown() >= 0);
}

/* Two threads feed to_g and two drain to_f, while goroutines echo in between. */
#define MIXED_N (N / 2)

static void *thread_feeder(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    for (uint64_t i = t; i < MIXED_N; i += 2) {
        payload_f[i] = i ^ 0x5555;
        CHECK_RC(gs_chan_send(to_g, &i), 0);
    }
    return NULL;
}

static atomic_long drained;

static void *thread_drainer(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t i;
        int rc = gs_chan_recv(to_f, &i);
        if (rc == GS_ECLOSED)
            return NULL;
        CHECK_RC(rc, 0);
        CHECK(i < N);
        CHECK_EQ(payload_g[i], i ^ 0xAAAA);
        atomic_fetch_add(&seen_by_f[i], 1);
        atomic_fetch_add(&drained, 1);
    }
}

static void phase_mixed(uint32_t nprocs, size_t cap)
{
    init_procs(nprocs);
    reset();
    atomic_store(&drained, 0);
    to_g = gs_chan_new(sizeof(uint64_t), cap);
    to_f = gs_chan_new(sizeof(uint64_t), cap);
    CHECK(to_g && to_f);
    for (int w = 0; w < GOROUTINES; w++)
        CHECK(gs_go(g_echo, NULL) > 0);
    pthread_t feeders[2], drainers[2];
    for (int t = 0; t < 2; t++) {
        CHECK(pthread_create(&drainers[t], NULL, thread_drainer, NULL) == 0);
        CHECK(pthread_create(&feeders[t], NULL, thread_feeder, (void *)(uintptr_t)t) == 0);
    }
    for (int t = 0; t < 2; t++)
        CHECK(pthread_join(feeders[t], NULL) == 0);
    CHECK_RC(gs_chan_close(to_g), 0);
    WAIT_ALL(); /* the echoes are done: everything is in to_f or drained */
    CHECK_RC(gs_chan_close(to_f), 0);
    for (int t = 0; t < 2; t++)
        CHECK(pthread_join(drainers[t], NULL) == 0);
    CHECK_EQ(atomic_load(&drained), MIXED_N);
    check_all_once(MIXED_N);
    CHECK_RC(gs_chan_free(to_g), 0);
    CHECK_RC(gs_chan_free(to_f), 0);
    CHECK(gs_shutdown() >= 0);
}

/* Thread to thread, with or without a runtime. */
static gs_chan *tt;

static void *tt_sender(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < 20000; i++)
        CHECK_RC(gs_chan_send(tt, &i), 0);
    CHECK_RC(gs_chan_close(tt), 0);
    return NULL;
}

static void phase_threads_only(bool with_runtime)
{
    if (with_runtime)
        init_procs(1);
    tt = gs_chan_new(sizeof(uint64_t), 0);
    CHECK(tt);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, tt_sender, NULL) == 0);
    uint64_t want = 0, v;
    int rc;
    while ((rc = gs_chan_recv(tt, &v)) == 0) {
        CHECK_EQ(v, want);
        want++;
    }
    CHECK_RC(rc, GS_ECLOSED);
    CHECK_EQ(want, 20000);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_RC(gs_chan_free(tt), 0);
    if (with_runtime)
        CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    phase_threads_only(false);
    printf("thread to thread without a runtime: ok\n");
    phase_threads_only(true);
    printf("thread to thread with a runtime: ok\n");
    for (uint32_t p = 1; p <= 2; p++) {
        phase_one_way_then_back(p);
        printf("nprocs=%u: 100,000 values each way between a thread and goroutines: ok\n", p);
        phase_mixed(p, 0);
        phase_mixed(p, 16);
        printf("nprocs=%u: threads and goroutines sharing channels: ok\n", p);
    }
    return 0;
}
