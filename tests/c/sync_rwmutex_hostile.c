/*
 * gs_rwmutex under hostile schedules (readers count themselves in per-P slots; see
 * the RWMutex section of docs/internals.md). The program runs everything twice: with
 * the per-P slots, then (re-executing itself with GS_DEBUG=rwmutexslots=0) with the
 * shared counter only.
 *
 * 1. Migrating readers: at 2 P, readers yield (gs_gosched) or sleep inside the read
 *    section, so they read-unlock on another P than they read-locked on; writers
 *    change two cells that readers must see equal. Every read-unlock returns 0, and a
 *    read-unlock on another thread than the read-lock (own slot below zero) is not
 *    mistaken for a misuse, while one more read-unlock is (GS_EPERM).
 * 2. A writer arrives while 1000 readers are inside: it gets in only after all 1000
 *    left; while it waits and holds, tryrlock fails, and readers that block meanwhile
 *    get in only after its unlock.
 * 3. Foreign threads and goroutines mixed: a read lock taken by a thread is
 *    released by a goroutine and the other way round; the counts stay exact (one
 *    read-unlock too many is GS_EPERM, and a writer then gets in at once); threads
 *    and goroutines hammer a structure with readers and writers.
 * 4. Try variants under contention: tryrlock and trylock by goroutines and a thread;
 *    a writer that got in never sees a reader inside and the other way round.
 * 5. A writer storm with readers: 4 goroutines lock and unlock without pause; 4
 *    readers still each complete their read sections, each consistent.
 */
#include "common.h"

#define MS 1000000LL

static gs_rwmutex *rw;
static const char *mode = "default: per-P slots where membarrier works";

/* ------------------------------------------------------- 1. migrating readers */
static atomic_long cell_a, cell_b;
static atomic_long migrations, mig_reads;

static void migrating_reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 3000; i++) {
        CHECK_RC(gs_rwmutex_rlock(rw), 0);
        pid_t t0 = os_tid();
        long a = atomic_load(&cell_a);
        if ((i + id) % 3 == 0)
            gs_gosched();
        else if ((i + id) % 3 == 1 && i % 10 == 0)
            CHECK_RC(gs_sleep(20000), 0);
        long b = atomic_load(&cell_b);
        if (a != b)
            FAIL("reader saw a=%ld b=%ld inside its read section", a, b);
        if (os_tid() != t0)
            atomic_fetch_add(&migrations, 1);
        CHECK_RC(gs_rwmutex_runlock(rw), 0);
        atomic_fetch_add(&mig_reads, 1);
    }
}

static void migrating_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 300; i++) {
        CHECK_RC(gs_rwmutex_lock(rw), 0);
        atomic_fetch_add(&cell_a, 1);
        gs_gosched(); /* readers run meanwhile and must wait */
        atomic_fetch_add(&cell_b, 1);
        CHECK_RC(gs_rwmutex_unlock(rw), 0);
        gs_gosched();
    }
}

/* Read-locks, then sleeps until it wakes on another thread; read-unlocks there. A
 * hog keeps one P busy for 2 ms at a time without yielding, so that the sleeper's
 * wakeup is often run by the other P. */
static atomic_int spin_stop;
static void spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop)) {
        int64_t t0 = mono_ns();
        while (mono_ns() - t0 < 2 * MS && !atomic_load(&spin_stop)) {
        }
        gs_gosched();
    }
}

static atomic_int moved_unlock;
static void unlock_elsewhere(void *arg)
{
    (void)arg;
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    pid_t t0 = os_tid();
    for (int i = 0; i < 600 && os_tid() == t0; i++) {
        if (i % 2) {
            CHECK_RC(gs_sleep(300000), 0);
        } else {
            gs_entersyscallblock(); /* the P goes to another thread */
            sleep_ms(1);
            gs_exitsyscall();
        }
    }
    atomic_store(&moved_unlock, os_tid() != t0);
    CHECK_RC(gs_rwmutex_runlock(rw), 0); /* not a misuse, even if its slot goes below 0 */
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
    CHECK_RC(gs_rwmutex_trylock(rw), 0); /* the count is exact: nobody inside */
    CHECK_RC(gs_rwmutex_unlock(rw), 0);
    /* In a system call the M has no P: the shared slot. Lock in one, unlock in the other. */
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    gs_entersyscall();
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    gs_exitsyscall();
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN);
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
    CHECK_RC(gs_rwmutex_trylock(rw), 0);
    CHECK_RC(gs_rwmutex_unlock(rw), 0);
    atomic_store(&spin_stop, 1);
}

static void test_migrating(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    CHECK(rw);
    atomic_store(&cell_a, 0);
    atomic_store(&cell_b, 0);
    for (int i = 0; i < 6; i++)
        CHECK(gs_go(migrating_reader, (void *)(intptr_t)i) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(gs_go(migrating_writer, NULL) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&cell_a), 600);
    CHECK_EQ(atomic_load(&cell_b), 600);
    CHECK_EQ(atomic_load(&mig_reads), 6 * 3000);
    atomic_store(&spin_stop, 0);
    /* A fresh lock: the readers above may have left a slot ahead (see *Misuse* in the
     * RWMutex docs), where one read-unlock too many is not seen. */
    CHECK_RC(gs_rwmutex_free(rw), 0);
    rw = gs_rwmutex_new();
    CHECK(rw);
    CHECK(gs_go(spinner, NULL) > 0);
    CHECK(gs_go(unlock_elsewhere, NULL) > 0);
    WAIT_ALL();
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("[%s] migrating readers: %ld of %d read sections ended on another thread, "
           "moved unlock %s: ok\n",
           mode, atomic_load(&migrations), 6 * 3000, atomic_load(&moved_unlock) ? "yes" : "no");
}

/* ---------------------------------------------- 2. writer and 1000 readers */
#define NREADERS 1000
static atomic_int inside, left, writer_trying, writer_in, writer_done, late_in;

static void holding_reader(void *arg)
{
    (void)arg;
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    atomic_fetch_add(&inside, 1);
    int64_t t0 = mono_ns();
    while (!atomic_load(&writer_trying)) {
        if (mono_ns() - t0 > 30000 * MS)
            FAIL("the writer never came");
        gs_gosched();
    }
    CHECK_RC(gs_sleep(2 * MS), 0); /* the writer closes the gate meanwhile */
    if (atomic_load(&writer_in))
        FAIL("the writer got in while a reader was inside");
    atomic_fetch_add(&left, 1);
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
}

static void late_reader(void *arg)
{
    (void)arg;
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    if (!atomic_load(&writer_done))
        FAIL("a reader got in while the writer waited or held the lock");
    atomic_fetch_add(&late_in, 1);
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
}

static void arriving_writer(void *arg)
{
    (void)arg;
    int64_t t0 = mono_ns();
    while (atomic_load(&inside) < NREADERS) {
        if (mono_ns() - t0 > 30000 * MS)
            FAIL("readers never all inside (%d)", atomic_load(&inside));
        gs_gosched();
    }
    atomic_store(&writer_trying, 1);
    CHECK_RC(gs_rwmutex_lock(rw), 0);
    atomic_store(&writer_in, 1);
    CHECK_EQ(atomic_load(&left), NREADERS);
    CHECK_RC(gs_rwmutex_tryrlock(rw), GS_EAGAIN);
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN);
    for (int i = 0; i < 10; i++)
        CHECK(gs_go(late_reader, NULL) > 0);
    CHECK_RC(gs_sleep(5 * MS), 0); /* the late readers block meanwhile */
    CHECK_EQ(atomic_load(&late_in), 0);
    atomic_store(&writer_done, 1);
    CHECK_RC(gs_rwmutex_unlock(rw), 0);
}

/* While the writer waits for the 1000, new readers are kept out. */
static void prober(void *arg)
{
    (void)arg;
    while (!atomic_load(&writer_trying))
        gs_gosched();
    int refused = 0;
    while (!atomic_load(&writer_in)) {
        int rc = gs_rwmutex_tryrlock(rw);
        if (rc == 0) {
            if (refused)
                FAIL("tryrlock succeeded after it had been refused while the writer waited");
            CHECK_RC(gs_rwmutex_runlock(rw), 0);
        } else {
            CHECK_EQ(rc, GS_EAGAIN);
            refused = 1;
        }
        gs_gosched();
    }
    CHECK(refused);
}

static void test_writer_vs_1000(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    CHECK(rw);
    atomic_store(&inside, 0);
    atomic_store(&left, 0);
    atomic_store(&writer_trying, 0);
    atomic_store(&writer_in, 0);
    atomic_store(&writer_done, 0);
    atomic_store(&late_in, 0);
    for (int i = 0; i < NREADERS; i++)
        CHECK(gs_go(holding_reader, NULL) > 0);
    CHECK(gs_go(prober, NULL) > 0);
    CHECK(gs_go(arriving_writer, NULL) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&late_in), 10);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("[%s] a writer waited for %d readers inside, kept new ones out: ok\n", mode, NREADERS);
}

/* ------------------------------------------- 3. foreign threads and goroutines */
static gs_chan *handoff, *handback;
#define NCELLS 8
static atomic_long cells[NCELLS];
static atomic_long hammer_reads, hammer_writes;

static void goroutine_side(void *arg)
{
    (void)arg;
    int tok = 0;
    /* The thread read-locked: we release its read lock. */
    CHECK_RC(gs_chan_recv(handoff, &tok), 0);
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
    /* We read-lock: the thread releases it. */
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    CHECK_RC(gs_chan_send(handback, &tok), 0);
}

static void hammer(int id, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        if ((i + id) % 7 == 0) {
            CHECK_RC(gs_rwmutex_lock(rw), 0);
            for (int k = 0; k < NCELLS; k++)
                atomic_store_explicit(&cells[k], atomic_load_explicit(&cells[k], memory_order_relaxed) + 1,
                                      memory_order_relaxed);
            CHECK_RC(gs_rwmutex_unlock(rw), 0);
            atomic_fetch_add(&hammer_writes, 1);
        } else {
            CHECK_RC(gs_rwmutex_rlock(rw), 0);
            long v = atomic_load_explicit(&cells[0], memory_order_relaxed);
            for (int k = 1; k < NCELLS; k++)
                if (atomic_load_explicit(&cells[k], memory_order_relaxed) != v)
                    FAIL("torn read: cell %d", k);
            CHECK_RC(gs_rwmutex_runlock(rw), 0);
            atomic_fetch_add(&hammer_reads, 1);
        }
    }
}

static void hammer_g(void *arg)
{
    hammer((int)(intptr_t)arg, 5000);
}

static void *hammer_t(void *arg)
{
    hammer((int)(intptr_t)arg, 5000);
    return NULL;
}

static void test_foreign_mix(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    handoff = gs_chan_new(sizeof(int), 0);
    handback = gs_chan_new(sizeof(int), 0);
    CHECK(rw && handoff && handback);
    CHECK(gs_go(goroutine_side, NULL) > 0);
    int tok = 1;
    /* This (foreign) thread read-locks, the goroutine read-unlocks. */
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    CHECK_RC(gs_chan_send(handoff, &tok), 0);
    CHECK_RC(gs_chan_recv(handback, &tok), 0);
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN); /* the goroutine's read lock */
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
    CHECK_RC(gs_rwmutex_trylock(rw), 0);
    CHECK_RC(gs_rwmutex_unlock(rw), 0);
    WAIT_ALL();
    for (int k = 0; k < NCELLS; k++)
        atomic_store(&cells[k], 0);
    atomic_store(&hammer_reads, 0);
    atomic_store(&hammer_writes, 0);
    pthread_t t[3];
    for (int i = 0; i < 6; i++)
        CHECK(gs_go(hammer_g, (void *)(intptr_t)i) > 0);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, hammer_t, (void *)(intptr_t)(6 + i)) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ALL();
    long w = atomic_load(&hammer_writes);
    for (int k = 0; k < NCELLS; k++)
        CHECK_EQ(atomic_load(&cells[k]), w);
    CHECK_EQ(w + atomic_load(&hammer_reads), 9 * 5000);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK_RC(gs_chan_free(handoff), 0);
    CHECK_RC(gs_chan_free(handback), 0);
    CHECK(gs_shutdown() >= 0);
    printf("[%s] thread/goroutine cross unlocks, 6 goroutines + 3 threads, %ld writes: ok\n", mode, w);
}

/* ------------------------------------------------------------- 4. try variants */
static atomic_int try_readers, try_writer;
static atomic_long try_wins, try_rwins;

static void try_party(int id)
{
    for (int i = 0; i < 20000; i++) {
        if ((i + id) % 4 == 0) {
            if (gs_rwmutex_trylock(rw) == 0) {
                if (atomic_fetch_add(&try_writer, 1) != 0 || atomic_load(&try_readers) != 0)
                    FAIL("trylock succeeded with someone inside");
                atomic_fetch_sub(&try_writer, 1);
                atomic_fetch_add(&try_wins, 1);
                CHECK_RC(gs_rwmutex_unlock(rw), 0);
            }
        } else {
            int rc = gs_rwmutex_tryrlock(rw);
            if (rc == 0) {
                atomic_fetch_add(&try_readers, 1);
                if (atomic_load(&try_writer) != 0)
                    FAIL("tryrlock succeeded while a writer was inside");
                atomic_fetch_sub(&try_readers, 1);
                atomic_fetch_add(&try_rwins, 1);
                CHECK_RC(gs_rwmutex_runlock(rw), 0);
            } else {
                CHECK_EQ(rc, GS_EAGAIN);
            }
        }
        if (i % 16 == 0)
            gs_gosched();
    }
}

static void try_g(void *arg)
{
    try_party((int)(intptr_t)arg);
}

static void *try_t(void *arg)
{
    try_party((int)(intptr_t)arg);
    return NULL;
}

static void test_try_contended(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    CHECK(rw);
    atomic_store(&try_wins, 0);
    atomic_store(&try_rwins, 0);
    pthread_t t;
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(try_g, (void *)(intptr_t)i) > 0);
    CHECK(pthread_create(&t, NULL, try_t, (void *)(intptr_t)4) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    WAIT_ALL();
    CHECK(atomic_load(&try_wins) > 0);
    CHECK(atomic_load(&try_rwins) > 0);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("[%s] try variants: %ld trylock and %ld tryrlock successes, exclusive: ok\n", mode,
           atomic_load(&try_wins), atomic_load(&try_rwins));
}

/* ------------------------------------------------------------ 5. writer storm */
static atomic_int storm_stop;
static atomic_long storm_writes, storm_reads;

static void storm_writer(void *arg)
{
    (void)arg;
    while (!atomic_load(&storm_stop)) {
        CHECK_RC(gs_rwmutex_lock(rw), 0);
        for (int k = 0; k < NCELLS; k++)
            atomic_store_explicit(&cells[k], atomic_load_explicit(&cells[k], memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        CHECK_RC(gs_rwmutex_unlock(rw), 0);
        atomic_fetch_add(&storm_writes, 1);
    }
}

static atomic_int storm_readers_done;
static void storm_reader(void *arg)
{
    (void)arg;
    int64_t t0 = mono_ns();
    for (int i = 0; i < 300; i++) {
        CHECK_RC(gs_rwmutex_rlock(rw), 0);
        long v = atomic_load_explicit(&cells[0], memory_order_relaxed);
        for (int k = 1; k < NCELLS; k++)
            if (atomic_load_explicit(&cells[k], memory_order_relaxed) != v)
                FAIL("torn read in the storm: cell %d", k);
        CHECK_RC(gs_rwmutex_runlock(rw), 0);
        atomic_fetch_add(&storm_reads, 1);
        if (mono_ns() - t0 > 20000 * MS)
            FAIL("reader starved by the writer storm: %d reads in 20 s", i);
    }
    if (atomic_fetch_add(&storm_readers_done, 1) + 1 == 4)
        atomic_store(&storm_stop, 1);
}

static void test_writer_storm(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    CHECK(rw);
    for (int k = 0; k < NCELLS; k++)
        atomic_store(&cells[k], 0);
    atomic_store(&storm_stop, 0);
    atomic_store(&storm_readers_done, 0);
    atomic_store(&storm_writes, 0);
    atomic_store(&storm_reads, 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(storm_writer, NULL) > 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(storm_reader, NULL) > 0);
    WAIT_ALL();
    long w = atomic_load(&storm_writes);
    for (int k = 0; k < NCELLS; k++)
        CHECK_EQ(atomic_load(&cells[k]), w);
    CHECK_EQ(atomic_load(&storm_reads), 4 * 300);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("[%s] writer storm: %ld writes, 4 readers x 300 reads, consistent: ok\n", mode, w);
}

int main(int argc, char **argv)
{
    bool fallback = argc > 1 && strcmp(argv[1], "fallback") == 0;
    if (fallback)
        mode = "GS_DEBUG=rwmutexslots=0: shared counter";
    test_migrating();
    test_writer_vs_1000();
    test_foreign_mix();
    test_try_contended();
    test_writer_storm();
    if (!fallback) {
        /* Again without the per-P slots (as without membarrier). */
        fflush(stdout);
        if (setenv("GS_DEBUG", "rwmutexslots=0", 1) != 0)
            FAIL("setenv");
        char *args[] = {argv[0], "fallback", NULL};
        const char *self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
        execv(self, args);
        FAIL("execv %s: %s", self, strerror(errno));
    }
    printf("sync_rwmutex_hostile: all ok\n");
    return 0;
}
