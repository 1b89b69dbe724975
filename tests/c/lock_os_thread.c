/*
 * gs_lock_os_thread wires a goroutine to its thread: across thousands of yields and
 * parks (readied from a foreign thread, so they come back through the global queue)
 * it always resumes on the same thread, and no other goroutine runs on that thread
 * meanwhile (Go's LockOSThread). Locks nest: one unlock of two keeps it wired.
 * Unlocked goroutines doing the same loop at nprocs >= 2 do change threads.
 */
#include "common.h"

#define OTHERS 4
#define ITERATIONS 3000
#define PARK_EVERY 8

typedef struct task {
    _Atomic(gs_g *) parked;
    long migrations;
} task;

static task tasks[OTHERS + 1];
static atomic_int done;
static atomic_int locked_tid; /* the locked goroutine's thread while it is wired */

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void yield_or_park(task *t, int i)
{
    if (i % PARK_EVERY == PARK_EVERY - 1)
        CHECK_RC(gs_park(publish, &t->parked, "readied by main"), 0);
    else
        CHECK_RC(gs_gosched(), 0);
}

static void locked(void *arg)
{
    task *t = arg;
    CHECK_RC(gs_lock_os_thread(), 0);
    CHECK_RC(gs_lock_os_thread(), 0);
    pid_t tid = os_tid();
    atomic_store(&locked_tid, tid);
    for (int i = 0; i < ITERATIONS; i++) {
        yield_or_park(t, i);
        if (os_tid() != tid)
            FAIL("locked goroutine moved from thread %d to %d at switch %d", tid, os_tid(), i);
    }
    /* Nested: still wired after one unlock. */
    CHECK_RC(gs_unlock_os_thread(), 0);
    for (int i = 0; i < ITERATIONS / 4; i++) {
        yield_or_park(t, i);
        if (os_tid() != tid)
            FAIL("goroutine locked once more moved from thread %d to %d", tid, os_tid());
    }
    atomic_store(&locked_tid, 0);
    CHECK_RC(gs_unlock_os_thread(), 0);
    /* Unlocking an unlocked goroutine does nothing. */
    CHECK_RC(gs_unlock_os_thread(), 0);
    for (int i = 0; i < 100; i++)
        yield_or_park(t, i);
    atomic_fetch_add(&done, 1);
}

static void unlocked(void *arg)
{
    task *t = arg;
    pid_t tid = os_tid();
    for (int i = 0; i < ITERATIONS; i++) {
        yield_or_park(t, i);
        pid_t now = os_tid();
        int wired = atomic_load(&locked_tid);
        if (wired != 0 && now == wired)
            FAIL("a goroutine ran on the thread of a locked goroutine");
        if (now != tid) {
            t->migrations++;
            tid = now;
        }
    }
    atomic_fetch_add(&done, 1);
}

static void run(uint32_t nprocs)
{
    memset(tasks, 0, sizeof tasks);
    atomic_store(&done, 0);
    atomic_store(&locked_tid, 0);
    init_procs(nprocs);
    CHECK_OK(gs_go(locked, &tasks[0]));
    for (int i = 1; i <= OTHERS; i++)
        CHECK_OK(gs_go(unlocked, &tasks[i]));
    int64_t deadline = mono_ns() + TEST_WAIT_NS;
    while (atomic_load(&done) < OTHERS + 1) {
        bool any = false;
        for (int i = 0; i <= OTHERS; i++) {
            gs_g *h = atomic_exchange(&tasks[i].parked, NULL);
            if (h != NULL) {
                CHECK_RC(gs_ready(h), 0);
                any = true;
            }
        }
        if (!any) {
            if (mono_ns() > deadline) {
                gs_dump(2);
                FAIL("goroutines stuck");
            }
            sched_yield();
        }
    }
    WAIT_ALL();
    long migrations = 0;
    for (int i = 1; i <= OTHERS; i++)
        migrations += tasks[i].migrations;
    printf("nprocs %u: unlocked goroutines changed threads %ld times\n", nprocs, migrations);
    CHECK(migrations > 0);
    CHECK_RC(gs_shutdown(), 0);
}

int main(void)
{
    run(2);
    run(4);
    return 0;
}
