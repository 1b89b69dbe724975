/*
 * Introspection against a known state: gs_stats_get counts exactly the goroutines
 * that are alive and parked, and the configured Ps; gs_dump (read through a pipe)
 * shows each named goroutine's name and its wait reason on one line, names being
 * copied at spawn; gs_dump on a closed fd gives GS_EINVAL; gs_version is non-empty.
 */
#include "common.h"

#define NAMED 10
#define UNNAMED 5
#define NPROCS 3

static const char REASON[] = "waiting for the test";
static _Atomic(gs_g *) handle[NAMED + UNNAMED];
static atomic_bool spinner_stop;
static atomic_bool spinner_started;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void named_sleeper(void *arg)
{
    CHECK_RC(gs_park(publish, arg, REASON), 0);
}

static void unnamed_sleeper(void *arg)
{
    CHECK_RC(gs_park(publish, arg, NULL), 0);
}

static void spinner(void *arg)
{
    (void)arg;
    atomic_store(&spinner_started, true);
    while (!atomic_load(&spinner_stop))
        CHECK_RC(gs_gosched(), 0);
}

static void stats_from_goroutine(void *arg)
{
    (void)arg;
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, 1);
    CHECK_EQ(st.waiting, 0);
    CHECK_EQ(st.procs, NPROCS);
}

/* Reads everything gs_dump writes. */
static char *dump_to_string(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_RC(gs_dump(p[1]), 0);
    close(p[1]);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    ssize_t r;
    while ((r = read(p[0], buf + len, cap - 1 - len)) > 0) {
        len += (size_t)r;
        if (len == cap - 1) {
            cap *= 2;
            buf = realloc(buf, cap);
            CHECK(buf != NULL);
        }
    }
    close(p[0]);
    buf[len] = 0;
    return buf;
}

/* The line of `text` that contains `needle`, copied into `line`; false if none. */
static bool line_with(const char *text, const char *needle, char *line, size_t n)
{
    const char *hit = strstr(text, needle);
    if (hit == NULL)
        return false;
    const char *start = hit, *end = hit;
    while (start > text && start[-1] != '\n')
        start--;
    while (*end != 0 && *end != '\n')
        end++;
    size_t len = (size_t)(end - start) < n - 1 ? (size_t)(end - start) : n - 1;
    memcpy(line, start, len);
    line[len] = 0;
    return true;
}

int main(void)
{
    const char *v = gs_version();
    CHECK(v != NULL && v[0] >= '0' && v[0] <= '9' && strchr(v, '.') != NULL);
    printf("gs_version: %s\n", v);

    init_procs(NPROCS);
    gs_stats st = stats_now();
    CHECK_EQ(st.procs, NPROCS);
    CHECK_EQ(st.goroutines, 0);
    CHECK_EQ(st.waiting, 0);
    CHECK_EQ(st.spawned_total, 0);
    CHECK(st.idle_procs <= NPROCS);

    CHECK_OK(gs_go(stats_from_goroutine, NULL));
    WAIT_ALL();

    int64_t ids[NAMED];
    char name[32];
    for (int i = 0; i < NAMED; i++) {
        snprintf(name, sizeof name, "sleeper-%d", i);
        gs_go_opts opts = {0, name, 0};
        ids[i] = gs_go_with(named_sleeper, &handle[i], &opts);
        CHECK(ids[i] > 0);
        /* The runtime copied the name: this buffer is ours again. */
        memset(name, 'X', sizeof name - 1);
        name[sizeof name - 1] = 0;
    }
    for (int i = NAMED; i < NAMED + UNNAMED; i++)
        CHECK_OK(gs_go(unnamed_sleeper, &handle[i]));
    WAIT_PARKED(NAMED + UNNAMED, 10000);
    st = stats_now();
    CHECK_EQ(st.goroutines, NAMED + UNNAMED);
    CHECK_EQ(st.waiting, NAMED + UNNAMED);
    CHECK_EQ(st.runnable, 0);
    CHECK_EQ(st.in_syscall, 0);
    CHECK_EQ(st.procs, NPROCS);
    CHECK_EQ(st.spawned_total, 1 + NAMED + UNNAMED);
    CHECK(st.switches_total > 0);
    CHECK(st.threads >= 1);

    gs_go_opts spin_opts = {0, "busy-spinner", 0};
    CHECK_OK(gs_go_with(spinner, NULL, &spin_opts));
    while (!atomic_load(&spinner_started))
        sched_yield();

    char *dump = dump_to_string();
    char line[512], want[64];
    for (int i = 0; i < NAMED; i++) {
        snprintf(want, sizeof want, "sleeper-%d", i);
        if (!line_with(dump, want, line, sizeof line))
            FAIL("the dump does not name %s:\n%s", want, dump);
        if (strstr(line, REASON) == NULL)
            FAIL("the dump line of %s lacks its wait reason \"%s\": %s", want, REASON, line);
        snprintf(want, sizeof want, "%lld", (long long)ids[i]);
        if (strstr(line, want) == NULL)
            FAIL("the dump line of sleeper-%d lacks its id %lld: %s", i, (long long)ids[i],
                 line);
    }
    if (strstr(dump, "XXXX") != NULL)
        FAIL("the dump shows a name buffer that was overwritten after spawning:\n%s", dump);
    if (strstr(dump, "busy-spinner") == NULL)
        FAIL("the dump does not show the running goroutine \"busy-spinner\":\n%s", dump);
    printf("dump of %zu bytes; the line of sleeper-0: %s\n", strlen(dump),
           (line_with(dump, "sleeper-0", line, sizeof line), line));
    free(dump);
    atomic_store(&spinner_stop, true);

    /* A closed descriptor. */
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    close(fd);
    CHECK_RC(gs_dump(fd), GS_EINVAL);

    for (int i = 0; i < NAMED + UNNAMED; i++)
        CHECK_RC(gs_ready(atomic_load(&handle[i])), 0);
    WAIT_ALL();
    st = stats_now();
    CHECK_EQ(st.goroutines, 0);
    CHECK_EQ(st.waiting, 0);
    CHECK_EQ(st.runnable, 0);
    CHECK_EQ(st.spawned_total, 2 + NAMED + UNNAMED);

    /* After the goroutines are gone, the dump has none of them. */
    dump = dump_to_string();
    CHECK(strstr(dump, "sleeper-") == NULL);
    free(dump);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
