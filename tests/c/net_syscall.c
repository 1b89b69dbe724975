/*
 * Blocking calls at nprocs 1 (Go's entersyscall / exitsyscall).
 *
 * A goroutine blocks 300 ms in read(2) on a blocking pipe (written after 300 ms by a
 * foreign thread), between gs_entersyscall and gs_exitsyscall. Meanwhile a counting
 * goroutine (increment, gs_gosched, repeat) must keep running on the only P, which
 * sysmon retakes from the blocked goroutine: its counter must advance by more than
 * 1,000 during the block. gs_stats.in_syscall is 1 during the call and 0 after.
 * The same with gs_entersyscallblock (the P is handed off at once). Finally, a short
 * call (no blocking) takes the P back on the fast path and the goroutine goes on.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#define MS 1000000LL

static atomic_long counter;
static atomic_bool stop_counting;
static atomic_bool counting;

static void count_goroutine(void *arg)
{
    (void)arg;
    atomic_store(&counting, true);
    int64_t end = gs_nanotime() + 20000 * MS; /* bounded even if the test goes wrong */
    while (!atomic_load(&stop_counting) && gs_nanotime() < end) {
        atomic_fetch_add(&counter, 1);
        gs_gosched();
    }
}

typedef struct blocker {
    int fd;
    bool block_variant;       /* gs_entersyscallblock instead of gs_entersyscall */
    atomic_bool in_call;      /* between entersyscall and the end of read(2)     */
    atomic_bool done;
    long count_before, count_after;
    ssize_t got;
    pid_t tid_before, tid_after;
} blocker;

static void blocking_goroutine(void *arg)
{
    blocker *b = arg;
    /* Let the counter get going first. */
    while (!atomic_load(&counting))
        gs_gosched();
    b->tid_before = os_tid();
    b->count_before = atomic_load(&counter);
    if (b->block_variant)
        gs_entersyscallblock();
    else
        gs_entersyscall();
    atomic_store(&b->in_call, true);
    char buf[8];
    b->got = read(b->fd, buf, sizeof buf); /* blocks the thread ~300 ms */
    b->count_after = atomic_load(&counter);
    atomic_store(&b->in_call, false);
    gs_exitsyscall();
    b->tid_after = os_tid();
    atomic_store(&b->done, true);
}

typedef struct late_write {
    int fd;
    int delay_ms;
} late_write;

static void *late_writer(void *arg)
{
    late_write *w = arg;
    sleep_ms(w->delay_ms);
    CHECK(write(w->fd, "wake", 4) == 4);
    return NULL;
}

static void run(bool block_variant)
{
    const char *name = block_variant ? "gs_entersyscallblock" : "gs_entersyscall";
    int p[2];
    CHECK(pipe(p) == 0); /* blocking: read(2) really blocks the thread */
    atomic_store(&counter, 0);
    atomic_store(&stop_counting, false);
    atomic_store(&counting, false);
    static blocker b;
    memset(&b, 0, sizeof b);
    b.fd = p[0];
    b.block_variant = block_variant;

    CHECK_OK(gs_go(count_goroutine, NULL));
    CHECK_OK(gs_go(blocking_goroutine, &b));
    int64_t end = mono_ns() + 5000 * MS;
    while (!atomic_load(&b.in_call)) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("%s: the blocking goroutine never entered its call", name);
        }
        sleep_ms(1);
    }
    late_write w = {p[1], 300};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, late_writer, &w) == 0);
    sleep_ms(150);
    gs_stats during = stats_now();
    long mid = atomic_load(&counter);
    CHECK(pthread_join(t, NULL) == 0);
    end = mono_ns() + 5000 * MS;
    while (!atomic_load(&b.done)) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("%s: the blocking goroutine never came back from its call", name);
        }
        sleep_ms(1);
    }
    atomic_store(&stop_counting, true);
    WAIT_ALL();
    gs_stats after = stats_now();

    long advanced = b.count_after - b.count_before;
    printf("%s: counter advanced by %ld during the ~300 ms call (%ld at mid-call); "
           "in_syscall %llu during, %llu after; blocked on tid %d, resumed on tid %d\n",
           name, advanced, mid - b.count_before, (unsigned long long)during.in_syscall,
           (unsigned long long)after.in_syscall, (int)b.tid_before, (int)b.tid_after);
    CHECK_EQ(b.got, 4);
    CHECK_EQ(during.procs, 1);
    CHECK_EQ(during.in_syscall, 1);
    CHECK_EQ(after.in_syscall, 0);
    if (advanced <= 1000)
        FAIL("%s: the counting goroutine advanced only %ld times while the other one blocked "
             "(the P was not handed off)",
             name, advanced);
    CHECK(mid > b.count_before); /* it was running at mid-call, not only at the end */
    close(p[0]);
    close(p[1]);
}

/* A call that returns at once: exitsyscall takes the P back (fast path). */
static atomic_long quick_calls;
static void quick_goroutine(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        gs_entersyscall();
        (void)getppid();
        gs_exitsyscall();
        atomic_fetch_add(&quick_calls, 1);
    }
    /* Unbalanced and nested calls do nothing harmful. */
    gs_exitsyscall();
    gs_entersyscall();
    gs_entersyscall();
    gs_exitsyscall();
    gs_exitsyscall();
}

int main(void)
{
    init_procs(1);
    run(false);
    run(true);
    CHECK_OK(gs_go(quick_goroutine, NULL));
    WAIT_ALL();
    CHECK_EQ(atomic_load(&quick_calls), 1000);
    CHECK_EQ(stats_now().in_syscall, 0);
    /* Off-goroutine they do nothing. */
    gs_entersyscall();
    gs_exitsyscall();
    gs_entersyscallblock();
    gs_exitsyscall();
    printf("net_syscall: ok\n");
    return 0;
}
