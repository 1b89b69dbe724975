/*
 * The growth rule of gs_config and gs_go_opts ("Growing the public structs" in
 * gosched.h):
 * - gs_init, gs_go_with and gs_go_copy_with read the 0.1 fields only: a struct that
 *   ends where the process cannot read any more is read without a fault, and its
 *   fields are honoured;
 * - the _sized twins read the caller's size: an older (smaller) struct works, a
 *   newer (larger) one works while the bytes this library does not know are zero
 *   and gets GS_EINVAL for a non-zero one, and sizes below the 0.1 fields or above
 *   4096 give GS_EINVAL; they too never read past the size they are given;
 * - gs_config's field added after 0.1 (longrun_ms) is read from callers whose size
 *   includes it, also when their struct ends right after it.
 */
#include "common.h"

#include <sys/mman.h>

/* A struct from a later header: this one's fields, then more. */
struct config_future {
    gs_config now;
    uint64_t later[4];
};
struct go_opts_future {
    gs_go_opts now;
    uint64_t later[4];
};

/* The end of the 0.1 fields. */
#define CONFIG_V01_END (offsetof(gs_config, flags) + sizeof(uint32_t))
#define GO_OPTS_V01_END (offsetof(gs_go_opts, flags) + sizeof(uint32_t))

/* `size` bytes that end where an unreadable page starts. */
static void *at_page_end(size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK_EQ(mprotect(m + page, (size_t)page, PROT_NONE), 0);
    return memset(m + page - size, 0, size);
}

static uint32_t procs_now(void)
{
    gs_stats st;
    CHECK_RC(gs_stats_get(&st), 0);
    return st.procs;
}

/* Starts the runtime with `rc` from gs_init*, checks nprocs, stops it. */
static void check_started(int rc, uint32_t want_procs)
{
    CHECK_RC(rc, 0);
    CHECK_EQ(procs_now(), want_procs);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK(gs_shutdown() >= 0);
}

static void check_config(void)
{
    /* The 0.1 fields, and not one byte more, before an unreadable page. */
    gs_config *edge = at_page_end(CONFIG_V01_END);
    edge->nprocs = 3;
    check_started(gs_init(edge), 3);
    check_started(gs_init_sized(edge, CONFIG_V01_END), 3);
    edge->flags = 0x40; /* an unknown flag */
    CHECK_RC(gs_init(edge), GS_EINVAL);
    CHECK_RC(gs_init_sized(edge, CONFIG_V01_END), GS_EINVAL);

    gs_config cfg = {0};
    cfg.nprocs = 2;
    check_started(gs_init_sized(&cfg, sizeof cfg), 2);
    setenv("GS_MAXPROCS", "5", 1); /* what NULL (the defaults) gives */
    check_started(gs_init_sized(NULL, 0), 5);
    unsetenv("GS_MAXPROCS");

    /* A newer caller, before an unreadable page: zero bytes past ours are fine. */
    struct config_future *fut = at_page_end(sizeof *fut);
    fut->now.nprocs = 4;
    check_started(gs_init_sized(&fut->now, sizeof *fut), 4);
    fut->later[3] = 1; /* asks for something this library does not know */
    CHECK_RC(gs_init_sized(&fut->now, sizeof *fut), GS_EINVAL);
    /* ... which the 0.1 function does not look at. */
    check_started(gs_init(&fut->now), 4);
    fut->later[3] = 0;
    ((unsigned char *)fut)[sizeof(gs_config)] = 1; /* the first byte past ours */
    CHECK_RC(gs_init_sized(&fut->now, sizeof *fut), GS_EINVAL);
    check_started(gs_init_sized(&fut->now, sizeof(gs_config)), 4);

    /* This header's fields past 0.1 (longrun_ms), from a caller of this size, a
     * caller that ends right after it, and a newer caller with a non-zero byte this
     * library does not know. (Its effect is checked by longrun_config.c.) */
    gs_config cur = {0};
    cur.nprocs = 2;
    cur.longrun_ms = 60000;
    check_started(gs_init_sized(&cur, sizeof cur), 2);
    gs_config *tight = at_page_end(offsetof(gs_config, longrun_ms) + sizeof(uint32_t));
    tight->nprocs = 3;
    tight->longrun_ms = 60000;
    check_started(gs_init_sized(tight, offsetof(gs_config, longrun_ms) + sizeof(uint32_t)), 3);
    memset(fut, 0, sizeof *fut);
    fut->now = cur;
    check_started(gs_init_sized(&fut->now, sizeof *fut), 2);
    fut->later[1] = 9;
    CHECK_RC(gs_init_sized(&fut->now, sizeof *fut), GS_EINVAL);

    /* Bad sizes. */
    CHECK_RC(gs_init_sized(&cfg, 0), GS_EINVAL);
    CHECK_RC(gs_init_sized(&cfg, CONFIG_V01_END - 1), GS_EINVAL);
    CHECK_RC(gs_init_sized(&cfg, 4097), GS_EINVAL);
    CHECK_RC(gs_init_sized(&cfg, SIZE_MAX), GS_EINVAL);
    /* None of the refused calls started anything. */
    CHECK_RC(gs_wait(0), GS_ENOTINIT);
    printf("gs_config: 0.1 fields only, older and newer sizes, bad sizes\n");
}

static gs_chan *hold;

static void parked(void *arg)
{
    (void)arg;
    int v;
    CHECK_RC(gs_chan_recv(hold, &v), 0);
}

/* Checks that `id` started, that gs_dump shows a goroutine named `name`, and lets
 * it end. */
static void check_named(int64_t id, const char *name)
{
    CHECK(id > 0);
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    bool seen = false;
    static char buf[1 << 16];
    for (int tries = 0; tries < 2000 && !seen; tries++) {
        CHECK_RC(gs_dump(fds[1]), 0);
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        CHECK(n > 0);
        buf[n] = 0;
        seen = strstr(buf, name) != NULL;
        if (!seen)
            usleep(1000);
    }
    close(fds[0]);
    close(fds[1]);
    if (!seen)
        FAIL("no goroutine named %s in the dump", name);
    int v = 1;
    CHECK_RC(gs_chan_send(hold, &v), 0);
}

static void parked_copy(void *arg)
{
    CHECK_EQ(*(char *)arg, 'x');
    parked(NULL);
}

static void check_go_opts(void)
{
    CHECK_RC(gs_init(NULL), 0);
    hold = gs_chan_new(sizeof(int), 0);
    CHECK(hold != NULL);

    gs_go_opts *edge = at_page_end(GO_OPTS_V01_END);
    edge->stack_size = 64 << 10;
    edge->name = "edge-v01";
    check_named(gs_go_with(parked, NULL, edge), "edge-v01");
    check_named(gs_go_copy_with(parked_copy, "x", 1, edge), "edge-v01");
    check_named(gs_go_with_sized(parked, NULL, edge, GO_OPTS_V01_END), "edge-v01");
    check_named(gs_go_copy_with_sized(parked_copy, "x", 1, edge, GO_OPTS_V01_END), "edge-v01");

    gs_go_opts o = {0, "sized", 0};
    check_named(gs_go_with_sized(parked, NULL, &o, sizeof o), "sized");

    struct go_opts_future *fut = at_page_end(sizeof *fut);
    fut->now.name = "from-later";
    check_named(gs_go_with_sized(parked, NULL, &fut->now, sizeof *fut), "from-later");
    check_named(gs_go_copy_with_sized(parked_copy, "x", 1, &fut->now, sizeof *fut), "from-later");
    fut->later[0] = 7;
    CHECK_RC(gs_go_with_sized(parked, NULL, &fut->now, sizeof *fut), GS_EINVAL);
    CHECK_RC(gs_go_copy_with_sized(parked_copy, "x", 1, &fut->now, sizeof *fut), GS_EINVAL);
    check_named(gs_go_with(parked, NULL, &fut->now), "from-later");

    CHECK_RC(gs_go_with_sized(parked, NULL, &o, 8), GS_EINVAL);
    CHECK_RC(gs_go_with_sized(parked, NULL, &o, 1 << 20), GS_EINVAL);
    CHECK_RC(gs_go_copy_with_sized(parked_copy, "x", 1, &o, 0), GS_EINVAL);
    CHECK_RC(gs_go_with_sized(NULL, NULL, &o, sizeof o), GS_EINVAL);
    o.flags = 0x40;
    CHECK_RC(gs_go_with_sized(parked, NULL, &o, sizeof o), GS_EINVAL);

    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK_RC(gs_chan_free(hold), 0);
    CHECK(gs_shutdown() >= 0);
    printf("gs_go_opts: 0.1 fields only, older and newer sizes, bad sizes and flags\n");
}

int main(void)
{
    check_config();
    check_go_opts();
    printf("abi_struct_growth: OK\n");
    return 0;
}
