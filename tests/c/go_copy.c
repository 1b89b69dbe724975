/*
 * gs_go_copy / gs_go_copy_with: the goroutine gets its own copy of the argument
 * bytes, 16-byte aligned, at the top of its own stack, valid (and writable) for its
 * whole life, across parks, yields and moves to other threads; the caller's block
 * can be reused at once. Every size from 0 to GS_GO_COPY_MAX, from goroutines and
 * from a foreign thread, 100,000 goroutines each with its own arguments, the options
 * variant (own stack size, name), goroutines that never run before gs_shutdown, and
 * every misuse.
 */
#include "common.h"

/* The sizes the checked goroutines are started with. A block of size sizes[k]
 * holds k in its first byte and then a pattern seeded by k. */
static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 48, 100, 1000, 4095, 4096};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static atomic_int checked, failures;

static unsigned char pattern(size_t k, size_t i)
{
    return (unsigned char)((k * 131u + i * 7u + (i >> 8)) ^ 0x5a);
}

static void fill(unsigned char *buf, size_t k)
{
    for (size_t i = 0; i < sizes[k]; i++)
        buf[i] = i == 0 ? (unsigned char)k : pattern(k, i);
}

/* True if buf holds what fill(buf, k) wrote. */
static bool intact(const unsigned char *buf, size_t k)
{
    for (size_t i = 0; i < sizes[k]; i++)
        if (buf[i] != (i == 0 ? (unsigned char)k : pattern(k, i)))
            return false;
    return true;
}

static gs_chan *tick; /* unbuffered: parks each checked goroutine once */

static void checked_fn(void *p)
{
    unsigned char *a = p;
    int here;
    size_t k = a == NULL ? 0 : a[0];
    bool ok = k < NSIZES && (a == NULL) == (sizes[k] == 0);
    if (ok && a != NULL) {
        size_t size = sizes[k];
        ok &= ((uintptr_t)a & 15) == 0;
        /* On this goroutine's own stack, above its frames. */
        ok &= (uintptr_t)a > (uintptr_t)&here && (uintptr_t)a - (uintptr_t)&here < (1u << 20);
        ok &= intact(a, k);
        /* Yield, park on a channel and on a timer (a G's park arguments share room
         * with copied ones), then check again, possibly on another thread. */
        CHECK_RC(gs_gosched(), 0);
        int64_t v;
        CHECK_RC(gs_chan_recv(tick, &v), 0);
        CHECK_RC(gs_sleep(1000), 0);
        ok &= intact(a, k);
        /* Writable, and ours alone. */
        memset(a, 0xee, size);
        CHECK_RC(gs_gosched(), 0);
        for (size_t i = 0; i < size; i++)
            ok &= a[i] == 0xee;
    } else if (ok) {
        int64_t v;
        CHECK_RC(gs_chan_recv(tick, &v), 0);
    }
    if (!ok) {
        atomic_fetch_add(&failures, 1);
        fprintf(stderr, "go_copy: size index %zu: argument block wrong\n", k);
    }
    atomic_fetch_add(&checked, 1);
}

/* Starts one checked goroutine per size, reusing (and scribbling over) one caller
 * buffer, which is deliberately not aligned. */
static void start_all_sizes(bool with_opts)
{
    static _Alignas(16) unsigned char bufs[2][GS_GO_COPY_MAX + 1];
    unsigned char *buf = bufs[with_opts ? 1 : 0] + 1;
    for (size_t k = 0; k < NSIZES; k++) {
        fill(buf, k);
        const void *arg = sizes[k] ? buf : NULL;
        if (with_opts) {
            gs_go_opts o;
            memset(&o, 0, sizeof o);
            o.stack_size = 16 << 10;
            o.name = "copied";
            CHECK_OK(gs_go_copy_with(checked_fn, arg, sizes[k], &o));
        } else {
            CHECK_OK(gs_go_copy(checked_fn, arg, sizes[k]));
        }
        memset(buf, 0x11, GS_GO_COPY_MAX); /* the goroutine must not see this */
    }
}

static void spawner(void *arg)
{
    (void)arg;
    start_all_sizes(false);
    start_all_sizes(true);
}

/* --- many goroutines, each with its own arguments ---------------------------- */

#define MANY 100000

typedef struct many_arg {
    int64_t index;
    int64_t twice;
    uint64_t inverse;
} many_arg;

static atomic_uchar seen[MANY];

static void many_fn(void *p)
{
    many_arg a = *(many_arg *)p;
    if (a.index < 0 || a.index >= MANY || a.twice != 2 * a.index || a.inverse != ~(uint64_t)a.index) {
        atomic_fetch_add(&failures, 1);
        return;
    }
    if (a.index % 97 == 0)
        gs_gosched();
    atomic_fetch_add(&seen[a.index], 1);
}

static void many_spawner(void *arg)
{
    int64_t from = (int64_t)(intptr_t)arg;
    for (int64_t i = from; i < MANY; i += 2) {
        many_arg a = {i, 2 * i, ~(uint64_t)i};
        CHECK_OK(gs_go_copy(many_fn, &a, sizeof a));
    }
}

/* --- misuse ----------------------------------------------------------------- */

static void nop(void *p) { (void)p; }

static void check_errors(void)
{
    char b[8] = {0};
    CHECK_RC(gs_go_copy(NULL, b, sizeof b), GS_EINVAL);
    CHECK_RC(gs_go_copy(nop, NULL, 8), GS_EINVAL);
    CHECK_RC(gs_go_copy(nop, b, GS_GO_COPY_MAX + 1), GS_EINVAL);
    CHECK_RC(gs_go_copy(nop, b, (size_t)-1), GS_EINVAL);
    gs_go_opts o;
    memset(&o, 0, sizeof o);
    o.flags = 0x80;
    CHECK_RC(gs_go_copy_with(nop, b, sizeof b, &o), GS_EINVAL);
    o.flags = 0;
    o.stack_size = 1024;
    CHECK_RC(gs_go_copy_with(nop, b, sizeof b, &o), GS_EINVAL);
    CHECK_RC(gs_go_copy_with(NULL, b, sizeof b, NULL), GS_EINVAL);
}

/* --- goroutines that never run before shutdown ------------------------------- */

static void never_fn(void *p)
{
    (void)p;
    FAIL("a host goroutine ran although the host never called gs_run_for");
}

int main(void)
{
    char b[4] = {1, 2, 3, 4};
    CHECK_RC(gs_go_copy(nop, b, sizeof b), GS_ENOTINIT);

    for (uint32_t nprocs = 1; nprocs <= 4; nprocs *= 2) {
        atomic_store(&checked, 0);
        atomic_store(&failures, 0);
        init_procs(nprocs);
        check_errors();
        tick = gs_chan_new(sizeof(int64_t), 0);
        CHECK(tick != NULL);
        /* From this (foreign) thread, then from a goroutine. */
        start_all_sizes(false);
        start_all_sizes(true);
        CHECK_OK(gs_go(spawner, NULL));
        int total = 4 * (int)NSIZES;
        for (int i = 0; i < total; i++) {
            int64_t v = i;
            CHECK_RC(gs_chan_send(tick, &v), 0);
        }
        WAIT_ALL();
        CHECK_EQ(atomic_load(&failures), 0);
        CHECK_EQ(atomic_load(&checked), total);
        CHECK_RC(gs_chan_free(tick), 0);

        memset(seen, 0, sizeof seen);
        CHECK_OK(gs_go(many_spawner, (void *)0));
        CHECK_OK(gs_go(many_spawner, (void *)1));
        WAIT_ALL();
        CHECK_EQ(atomic_load(&failures), 0);
        for (int i = 0; i < MANY; i++)
            if (atomic_load(&seen[i]) != 1)
                FAIL("nprocs %u: goroutine %d ran %d times", nprocs, i, atomic_load(&seen[i]));
        CHECK_RC(gs_shutdown(), 0);
    }

    /* Goroutines with copied arguments, small and large, that never run (host
     * goroutines of a host that never calls gs_run_for): gs_shutdown abandons them,
     * and under valgrind nothing leaks (large arguments live on the stack). */
    init_procs(2);
    static unsigned char big[GS_GO_COPY_MAX];
    gs_go_opts host;
    memset(&host, 0, sizeof host);
    host.flags = GS_GO_HOST;
    for (int i = 0; i < 100; i++)
        CHECK_OK(gs_go_copy_with(never_fn, big, i % 2 ? sizeof big : 16, &host));
    CHECK_EQ(stats_now().goroutines, 100);
    CHECK_RC(gs_shutdown(), 100);
    return 0;
}
