/*
 * Channels under load: 8 producer goroutines x 100,000 values to 8 consumer
 * goroutines, over an unbuffered and over a buffered channel, with 24-byte elements.
 *
 * - Every value is received exactly once: each has its own slot, counted atomically
 *   by the consumer; at the end every slot must be exactly 1.
 * - A send happens before the receive completes (Go's memory model): the producer
 *   fills a plain (non-atomic) payload entry for the value just before sending its
 *   index; the consumer reads that entry right after receiving and checks it.
 * - The element's three words arrive together (no torn copies).
 * - Per producer, values arrive in the order sent (channels are FIFO): a consumer
 *   never sees a producer's sequence number go backwards.
 * - After the producers are done the channel is closed; each consumer ends on
 *   GS_ECLOSED, and the buffered channel is empty.
 * Run at nprocs 1, 2 and 4.
 */
#include "common.h"

#define PRODUCERS 8
#define CONSUMERS 8
#define PER_PRODUCER 100000
#define N (PRODUCERS * PER_PRODUCER)

typedef struct elem {
    uint64_t index;  /* slot of the value                 */
    uint64_t check;  /* index * 3 + 1: a torn copy shows   */
    uint64_t seq;    /* producer << 32 | sequence number   */
} elem;

static uint64_t payload[N]; /* plain memory, written before the send */
static atomic_uchar seen[N];
static gs_chan *ch;
static gs_waitgroup *producers_done;
static gs_waitgroup *consumers_done;
static atomic_long received;

static void producer(void *arg)
{
    uint64_t p = (uint64_t)(uintptr_t)arg;
    for (uint64_t k = 0; k < PER_PRODUCER; k++) {
        uint64_t i = p * PER_PRODUCER + k;
        payload[i] = i * 2654435761u + 17;
        elem e = {i, i * 3 + 1, p << 32 | k};
        CHECK_RC(gs_chan_send(ch, &e), 0);
    }
    CHECK_RC(gs_waitgroup_done(producers_done), 0);
}

static void consumer(void *arg)
{
    (void)arg;
    int64_t last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    long n = 0;
    for (;;) {
        elem e;
        memset(&e, 0xAB, sizeof e);
        int rc = gs_chan_recv(ch, &e);
        if (rc == GS_ECLOSED) {
            CHECK(e.index == 0 && e.check == 0 && e.seq == 0); /* zero value */
            break;
        }
        CHECK_RC(rc, 0);
        CHECK(e.index < N);
        CHECK_EQ(e.check, e.index * 3 + 1);
        CHECK_EQ(payload[e.index], e.index * 2654435761u + 17);
        uint64_t p = e.seq >> 32;
        int64_t k = (int64_t)(e.seq & 0xffffffffu);
        CHECK(p < PRODUCERS);
        CHECK_EQ(p * PER_PRODUCER + (uint64_t)k, e.index);
        if (k <= last[p])
            FAIL("producer %llu: sequence %lld after %lld", (unsigned long long)p, (long long)k,
                 (long long)last[p]);
        last[p] = k;
        atomic_fetch_add(&seen[e.index], 1);
        n++;
    }
    atomic_fetch_add(&received, n);
    CHECK_RC(gs_waitgroup_done(consumers_done), 0);
}

/* Waits for the producers, then closes the channel. */
static void closer(void *arg)
{
    (void)arg;
    CHECK_RC(gs_waitgroup_wait(producers_done), 0);
    CHECK_RC(gs_chan_close(ch), 0);
}

static void run(uint32_t nprocs, size_t capacity)
{
    init_procs(nprocs);
    memset(payload, 0, sizeof payload);
    for (size_t i = 0; i < N; i++)
        atomic_store_explicit(&seen[i], 0, memory_order_relaxed);
    atomic_store(&received, 0);
    ch = gs_chan_new(sizeof(elem), capacity);
    CHECK(ch != NULL);
    CHECK_EQ(gs_chan_cap(ch), capacity);
    producers_done = gs_waitgroup_new();
    consumers_done = gs_waitgroup_new();
    CHECK(producers_done && consumers_done);
    CHECK_RC(gs_waitgroup_add(producers_done, PRODUCERS), 0);
    CHECK_RC(gs_waitgroup_add(consumers_done, CONSUMERS), 0);
    int64_t t0 = mono_ns();
    for (int c = 0; c < CONSUMERS; c++)
        CHECK(gs_go(consumer, NULL) > 0);
    for (int p = 0; p < PRODUCERS; p++)
        CHECK(gs_go(producer, (void *)(uintptr_t)p) > 0);
    CHECK(gs_go(closer, NULL) > 0);
    CHECK_RC(gs_waitgroup_wait(consumers_done), 0); /* a foreign thread waits */
    WAIT_ALL();
    int64_t t1 = mono_ns();
    CHECK_EQ(atomic_load(&received), N);
    for (size_t i = 0; i < N; i++) {
        if (atomic_load_explicit(&seen[i], memory_order_relaxed) != 1)
            FAIL("value %zu received %d times", i, (int)seen[i]);
    }
    CHECK_EQ(gs_chan_len(ch), 0);
    CHECK_RC(gs_chan_free(ch), 0);
    CHECK_RC(gs_waitgroup_free(producers_done), 0);
    CHECK_RC(gs_waitgroup_free(consumers_done), 0);
    CHECK(gs_shutdown() >= 0);
    printf("nprocs=%u cap=%zu: %d values in %.1f ms (%.0f ns/value)\n", nprocs, capacity, N,
           (t1 - t0) / 1e6, (double)(t1 - t0) / N);
}

int main(void)
{
    static const uint32_t procs[] = {1, 2, 4};
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
        run(procs[i], 0);
        run(procs[i], 64);
    }
    printf("chan_mpmc: ok\n");
    return 0;
}
