/*
 * Limits: a cap on threads (gs_config.max_threads), and the process's rlimits on
 * descriptors and address space. Whatever runs out, a call says so with an error
 * code, or the runtime says so on stderr, and goes on; it never hangs silently or
 * crashes.
 */
#include "hostile.h"

#include <sys/mman.h>

static void init_cfg(uint32_t nprocs, uint32_t max_threads)
{
    gs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nprocs = nprocs;
    cfg.max_threads = max_threads;
    CHECK_RC(gs_init(&cfg), 0);
}

/* ---- gs_lock_os_thread under the thread cap -------------------------------------------
 *
 * A wired thread whose goroutine sleeps runs nothing else, timers included: wiring
 * every thread the cap allows would leave the sleepers' timers to nobody. So the lock
 * that would take the last free thread gives GS_EAGAIN, and every goroutine finishes. */

static atomic_int locks_ok, locks_again;

static void locker(void *arg)
{
    (void)arg;
    int rc = gs_lock_os_thread();
    if (rc == 0)
        atomic_fetch_add(&locks_ok, 1);
    else if (rc == GS_EAGAIN)
        atomic_fetch_add(&locks_again, 1);
    else
        FAIL("gs_lock_os_thread returned %d (%s)", rc, gs_strerror(rc));
    CHECK_RC(gs_sleep(5000000), 0);
    CHECK_RC(gs_sleep(1000000), 0);
    if (rc == 0)
        CHECK_RC(gs_unlock_os_thread(), 0);
}

static void lock_round(uint32_t nprocs, uint32_t max_threads, int goroutines)
{
    atomic_store(&locks_ok, 0);
    atomic_store(&locks_again, 0);
    init_cfg(nprocs, max_threads);
    for (int i = 0; i < goroutines; i++)
        CHECK_OK(gs_go(locker, NULL));
    int rc = gs_wait(10LL * 1000000000);
    if (rc != 0) {
        gs_dump(2);
        FAIL("nprocs %u max_threads %u, %d goroutines locking and sleeping: gs_wait returned %d",
             nprocs, max_threads, goroutines, rc);
    }
    /* At most max_threads - 1 wired at once; the others were told. */
    CHECK(atomic_load(&locks_ok) >= 1 || max_threads == 1);
    CHECK_EQ(atomic_load(&locks_ok) + atomic_load(&locks_again), goroutines);
    if (goroutines >= (int)max_threads)
        CHECK(atomic_load(&locks_again) >= 1);
    CHECK_RC(gs_shutdown(), 0);
}

/* A goroutine that ends wired gives its thread back: locking works again after. */
static void end_locked(void *arg)
{
    (void)arg;
    CHECK_RC(gs_lock_os_thread(), 0);
    CHECK_RC(gs_lock_os_thread(), 0); /* nested: still one thread */
}

static void lock_cap_case(void)
{
    lock_round(2, 2, 2);
    lock_round(3, 3, 3);
    lock_round(2, 2, 6);
    lock_round(1, 1, 1);
    lock_round(1, 4, 5);
    init_cfg(1, 2);
    for (int i = 0; i < 20; i++) {
        CHECK_OK(gs_go(end_locked, NULL));
        WAIT_ALL();
    }
    CHECK_RC(gs_shutdown(), 0);
}

/* ---- A wired goroutine handed between the threads the cap allows ------------------------
 *
 * With one P and max_threads 2, a goroutine wired to its thread ping-pongs with one
 * that is not: every turn hands the P between the two threads (startlockedm). When
 * the handing thread has not gone idle yet, the other finds no free thread and may
 * make none, so its runnable goroutines go to the global queue and the P idles,
 * waiting for the next free thread: the one that then goes idle must take them
 * (it used to sleep beside them, and everything stopped). */

#define CAP_TURNS 20000

static gs_chan *cap_ping, *cap_pong;

static void cap_wired(void *arg)
{
    (void)arg;
    CHECK_RC(gs_lock_os_thread(), 0);
    uint64_t v = 0;
    for (int i = 0; i < CAP_TURNS; i++) {
        CHECK_RC(gs_chan_send(cap_ping, &v), 0);
        CHECK_RC(gs_chan_recv(cap_pong, &v), 0);
    }
    CHECK_RC(gs_unlock_os_thread(), 0);
}

static void cap_free(void *arg)
{
    (void)arg;
    uint64_t v;
    for (int i = 0; i < CAP_TURNS; i++) {
        CHECK_RC(gs_chan_recv(cap_ping, &v), 0);
        v++;
        CHECK_RC(gs_chan_send(cap_pong, &v), 0);
    }
}

static void locked_pingpong_cap_case(void)
{
    init_cfg(1, 2);
    cap_ping = gs_chan_new(sizeof(uint64_t), 0);
    cap_pong = gs_chan_new(sizeof(uint64_t), 0);
    CHECK(cap_ping != NULL && cap_pong != NULL);
    CHECK_OK(gs_go(cap_wired, NULL));
    CHECK_OK(gs_go(cap_free, NULL));
    int rc = gs_wait(20LL * 1000000000);
    if (rc != 0) {
        gs_dump(2);
        FAIL("a wired goroutine ping-ponging at max_threads 2: gs_wait returned %d (%s)", rc,
             gs_strerror(rc));
    }
    CHECK_RC(gs_chan_free(cap_ping), 0);
    CHECK_RC(gs_chan_free(cap_pong), 0);
    CHECK_RC(gs_shutdown(), 0);
}

/* ---- Every thread in a blocking call -----------------------------------------------------
 *
 * With the cap reached and every thread in a blocking call, the others wait: the
 * runtime says so on stderr, and all finishes once the calls return. */

static void blocker(void *arg)
{
    (void)arg;
    gs_entersyscallblock();
    sleep_ms(1200);
    gs_exitsyscall();
}

static atomic_int napped;

static void napper(void *arg)
{
    (void)arg;
    CHECK_RC(gs_sleep(5000000), 0);
    atomic_fetch_add(&napped, 1);
}

static void syscall_cap_child(void *arg)
{
    (void)arg;
    init_cfg(2, 2);
    CHECK_OK(gs_go(blocker, NULL));
    CHECK_OK(gs_go(blocker, NULL));
    sleep_ms(100); /* both threads are in their calls */
    for (int i = 0; i < 4; i++)
        CHECK_OK(gs_go(napper, NULL));
    int rc = gs_wait(10LL * 1000000000);
    CHECK_RC(rc, 0);
    CHECK_EQ(atomic_load(&napped), 4);
    CHECK_RC(gs_shutdown(), 0);
    printf("completed\n");
}

static void syscall_cap_case(void)
{
    child_result *r = run_child(syscall_cap_child, NULL, 30);
    char st[128];
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0 || strstr(r->out, "completed") == NULL)
        FAIL("every thread in a blocking call: child %s\n%s", describe_status(r->status, st, sizeof st),
             r->err);
    if (strstr(r->err, "goroutines wait for a thread") == NULL)
        FAIL("every thread in a blocking call: no word on stderr:\n%s", r->err);
    free(r);
}

/* ---- RLIMIT_NOFILE ----------------------------------------------------------------------- */

static void nofile_case(void)
{
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    /* No descriptor left: the runtime's poller cannot be made. The limit goes just
     * above the highest open fd, and every free number below it is filled. */
    int hi = 0;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (atoi(e->d_name) > hi)
            hi = atoi(e->d_name);
    closedir(d);
    struct rlimit tight = {(rlim_t)hi + 1, old.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &tight) == 0);
    static int fillers[4096];
    int nf = 0;
    for (;;) {
        int fd = dup(0);
        if (fd < 0)
            break;
        CHECK(nf < 4096);
        fillers[nf++] = fd;
    }
    int rc = gs_init(NULL);
    if (rc != GS_ENOMEM)
        FAIL("gs_init with no descriptor left returned %d (%s), want GS_ENOMEM", rc, gs_strerror(rc));
    for (int i = 0; i < nf; i++)
        close(fillers[i]);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    /* And it works once there are descriptors again. */
    CHECK_RC(gs_init(NULL), 0);
    CHECK_OK(gs_go(napper, NULL));
    WAIT_ALL();
    CHECK_RC(gs_shutdown(), 0);
}

/* ---- RLIMIT_AS --------------------------------------------------------------------------------
 *
 * With the address space capped, goroutines are made until their stacks do not fit:
 * then gs_go says GS_ENOMEM, the goroutines already made keep running, and the
 * runtime shuts down cleanly. */

static gs_chan *hold;

static void holder(void *arg)
{
    (void)arg;
    uint64_t v;
    CHECK_RC(gs_chan_recv(hold, &v), 0);
}

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    unsigned long pages = 0;
    CHECK(fscanf(f, "%lu", &pages) == 1);
    fclose(f);
    return (size_t)pages * 4096;
}

static void as_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    hold = gs_chan_new(sizeof(uint64_t), 0);
    CHECK(hold != NULL);
    CHECK_OK(gs_go(napper, NULL));
    WAIT_ALL(); /* threads made */
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    struct rlimit tight = {vm_size() + (512u << 20), old.rlim_max};
    CHECK(setrlimit(RLIMIT_AS, &tight) == 0);
    long made = 0;
    int rc = 0;
    for (; made < 100000; made++) {
        int64_t id = gs_go(holder, NULL);
        if (id < 0) {
            rc = (int)id;
            break;
        }
    }
    if (rc != GS_ENOMEM)
        FAIL("gs_go in a capped address space: %ld made, then %d (%s), want GS_ENOMEM", made, rc,
             rc < 0 ? gs_strerror(rc) : "no error");
    CHECK(made > 100);
    /* The goroutines made work: they all receive. */
    for (long i = 0; i < made; i++) {
        uint64_t v = (uint64_t)i;
        CHECK_RC(gs_chan_send(hold, &v), 0);
    }
    WAIT_ALL();
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    CHECK_RC(gs_chan_free(hold), 0);
    CHECK_RC(gs_shutdown(), 0);
}

static const hostile_case cases[] = {
    {"thread_cap_lock", lock_cap_case, 60},
    {"thread_cap_syscalls", syscall_cap_case, 60},
    {"thread_cap_locked_pingpong", locked_pingpong_cap_case, 60},
    {"rlimit_nofile", nofile_case, 30},
    {"rlimit_as", as_case, 60},
};

HOSTILE_MAIN(cases)
