/*
 * gs_dump shows how much of each goroutine's stack is committed: a goroutine that
 * used 200 KiB of its 256 KiB stack shows at least 200 KiB, one that used little
 * shows less than 64 KiB, and both show the stack's size.
 */
#include "common.h"

static atomic_int parked;
static gs_waitgroup *gate;

static void deep(void *arg)
{
    (void)arg;
    volatile char buf[200 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (char)i;
    atomic_fetch_add(&parked, 1);
    CHECK_RC(gs_waitgroup_wait(gate), 0);
    CHECK(buf[512] == (char)512);
}

static void shallow(void *arg)
{
    (void)arg;
    atomic_fetch_add(&parked, 1);
    CHECK_RC(gs_waitgroup_wait(gate), 0);
}

static char *dump_to_string(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_RC(gs_dump(p[1]), 0);
    close(p[1]);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    ssize_t r;
    while ((r = read(p[0], buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    close(p[0]);
    buf[len] = 0;
    return buf;
}

/* The committed and total KiB on the stack line of the goroutine named `name`. */
static void stack_of(const char *text, const char *name, long *used, long *size)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\"", name);
    const char *at = strstr(text, key);
    CHECK(at != NULL);
    at = strstr(at, "\tstack ");
    CHECK(at != NULL);
    CHECK(sscanf(at, "\tstack %ld KiB committed of %ld KiB", used, size) == 2);
}

int main(void)
{
    gs_config cfg = {0};
    cfg.stack_size = 256 * 1024;
    CHECK_RC(gs_init(&cfg), 0);
    gate = gs_waitgroup_new();
    CHECK(gate != NULL);
    CHECK_RC(gs_waitgroup_add(gate, 1), 0);
    gs_go_opts d = {0, "deep", 0}, s = {0, "shallow", 0};
    CHECK(gs_go_with(deep, NULL, &d) > 0);
    CHECK(gs_go_with(shallow, NULL, &s) > 0);
    while (atomic_load(&parked) < 2)
        usleep(1000);
    usleep(10000);
    char *text = dump_to_string();
    long du, ds, su, ss;
    stack_of(text, "deep", &du, &ds);
    stack_of(text, "shallow", &su, &ss);
    fprintf(stderr, "stack_pages: deep %ld of %ld KiB, shallow %ld of %ld KiB\n", du, ds, su, ss);
    CHECK(ds >= 256 && ss >= 256);
    CHECK(du >= 200 && du <= ds);
    CHECK(su < 64);
    free(text);
    CHECK_RC(gs_waitgroup_done(gate), 0);
    CHECK_RC(gs_wait(-1), 0);
    CHECK_RC(gs_waitgroup_free(gate), 0);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
