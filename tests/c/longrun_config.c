/*
 * gs_config.longrun_ms, the long-running detector's field:
 * - with gs_init_sized(&cfg, sizeof cfg) and longrun_ms = 50, a goroutine "spinner"
 *   that spins 100 ms of CPU without a scheduling point is reported on stderr with
 *   its id, its name and how long it ran (at least 50 ms); a goroutine "yielder"
 *   that spins as long calling gs_gosched every 100 us is not;
 * - an older caller (gs_init_sized with the size of the 0.1 fields) and gs_init,
 *   which read the 0.1 fields only, get the default: off, whatever follows them;
 * - GS_DEBUG=longrun=0 wins over the field (off), GS_DEBUG=longrun=50 over a 0.
 * The runtime's stderr is sent to a temporary file for each run and read back.
 */
#include "common.h"

#define CONFIG_V01_END (offsetof(gs_config, flags) + sizeof(uint32_t))

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    CHECK_EQ(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spins until its thread has spent `ns` on the CPU since the call (a goroutine that
 * does not yield keeps its thread), yielding every 100 us if `yield`. */
static void spin_cpu(int64_t ns, bool yield)
{
    int64_t used = 0, start = thread_cpu_ns(), next = 0;
    while (used < ns) {
        if (yield && gs_nanotime() >= next) {
            CHECK_RC(gs_gosched(), 0);
            next = gs_nanotime() + 100000;
            /* The thread may be another one now: count from here on it. */
            start = thread_cpu_ns() - used;
        }
        used = thread_cpu_ns() - start;
    }
}

static void spinner(void *arg)
{
    (void)arg;
    spin_cpu(100000000, false);
}

static void yielder(void *arg)
{
    (void)arg;
    spin_cpu(100000000, true);
}

struct run {
    int64_t spinner, yielder;
    char err[8192];
};

/* Starts the runtime with `start` (a gs_init* call's code), runs the spinner then
 * the yielder, stops it, and returns what the runtime wrote on stderr meanwhile. */
static void run(int rc, struct run *r)
{
    CHECK_RC(rc, 0);
    fflush(stderr);
    char path[] = "/tmp/gs-longrun-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    int saved = dup(2);
    CHECK(saved >= 0);
    CHECK_EQ(dup2(fd, 2), 2);

    gs_go_opts s = {0, "spinner", 0}, y = {0, "yielder", 0};
    r->spinner = gs_go_with(spinner, NULL, &s);
    int64_t sid = r->spinner;
    int wait1 = gs_wait(TEST_WAIT_NS);
    r->yielder = gs_go_with(yielder, NULL, &y);
    int wait2 = gs_wait(TEST_WAIT_NS);
    int down = gs_shutdown();

    fflush(stderr);
    CHECK_EQ(dup2(saved, 2), 2);
    close(saved);
    CHECK(sid > 0 && r->yielder > 0);
    CHECK_RC(wait1, 0);
    CHECK_RC(wait2, 0);
    CHECK_RC(down, 0);
    ssize_t n = pread(fd, r->err, sizeof r->err - 1, 0);
    CHECK(n >= 0);
    r->err[n] = 0;
    close(fd);
}

/* Whether `err` reports goroutine `id`; if so, checks the name and the duration. */
static bool reported(const struct run *r, int64_t id, const char *name)
{
    char want[128];
    snprintf(want, sizeof want, "goroutine %lld \"%s\" has run ", (long long)id, name);
    const char *at = strstr(r->err, want);
    if (at == NULL)
        return false;
    long ms = strtol(at + strlen(want), NULL, 10);
    if (ms < 50 || ms > 10000)
        FAIL("reported after %ld ms:\n%s", ms, r->err);
    if (strstr(r->err, "without a scheduling point") == NULL)
        FAIL("the report does not say why:\n%s", r->err);
    return true;
}

static void expect(const struct run *r, bool spinner_reported, const char *what)
{
    if (reported(r, r->spinner, "spinner") != spinner_reported)
        FAIL("%s: the spinner was %sreported; stderr:\n%s", what, spinner_reported ? "not " : "",
             r->err);
    char yid[64];
    snprintf(yid, sizeof yid, "goroutine %lld ", (long long)r->yielder);
    if (strstr(r->err, yid) != NULL)
        FAIL("%s: the yielder was reported; stderr:\n%s", what, r->err);
    printf("%s: spinner %s, yielder silent\n", what, spinner_reported ? "reported" : "silent");
}

int main(void)
{
    static struct run r;
    unsetenv("GS_DEBUG");
    gs_config cfg = {0};
    cfg.longrun_ms = 50;
    static const int procs[] = {1, 2};
    for (size_t i = 0; i < 2; i++) {
        cfg.nprocs = (uint32_t)procs[i];
        run(gs_init_sized(&cfg, sizeof cfg), &r);
        char what[64];
        snprintf(what, sizeof what, "longrun_ms=50, %d P", procs[i]);
        expect(&r, true, what);
    }

    /* Callers that do not know the field: the default (off). */
    cfg.nprocs = 1;
    run(gs_init_sized(&cfg, CONFIG_V01_END), &r);
    expect(&r, false, "0.1-sized caller");
    run(gs_init(&cfg), &r);
    expect(&r, false, "gs_init");

    /* The environment wins over the field. */
    setenv("GS_DEBUG", "longrun=0", 1);
    run(gs_init_sized(&cfg, sizeof cfg), &r);
    expect(&r, false, "GS_DEBUG=longrun=0 over longrun_ms=50");
    setenv("GS_DEBUG", "longrun=50", 1);
    cfg.longrun_ms = 0;
    run(gs_init_sized(&cfg, sizeof cfg), &r);
    expect(&r, true, "GS_DEBUG=longrun=50 over longrun_ms=0");
    unsetenv("GS_DEBUG");

    printf("longrun_config: OK\n");
    return 0;
}
