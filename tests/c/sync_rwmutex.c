/*
 * gs_rwmutex (Go's sync.RWMutex):
 *
 * 1. Many readers hold it together: 8 goroutines each take the read lock and wait
 *    until all 8 are inside at once (a mutex would never let that happen).
 * 2. A writer excludes everyone: while a writer holds it, tryrlock and trylock fail,
 *    and readers and a writer that block get in only after it unlocked (they check
 *    a flag the writer clears just before unlocking).
 * 3. Writers do not starve: readers arrive continuously, each overlapping the next,
 *    so the read lock is never free; a writer still gets it within 1 s, and readers
 *    that arrive while it waits wait for it (none gets in between).
 * 4. 8 goroutines and 2 foreign threads hammer a structure of 16 counters: writers
 *    add 1 to all of them, readers check they are all equal (a torn view fails).
 * 5. Misuse: runlock and unlock of an unlocked rwmutex give GS_EPERM and change
 *    nothing; free of a held rwmutex GS_EBUSY; NULL GS_EINVAL.
 */
#include "common.h"

#define MS 1000000LL

static gs_rwmutex *rw;
static atomic_int inside;
static atomic_int max_inside;

/* ----------------------------------------------------------- 1. many readers */
static void reader_together(void *arg)
{
    int n = (int)(intptr_t)arg;
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    int v = atomic_fetch_add(&inside, 1) + 1;
    int m = atomic_load(&max_inside);
    while (v > m && !atomic_compare_exchange_weak(&max_inside, &m, v))
        ;
    int64_t t0 = mono_ns();
    while (atomic_load(&inside) < n) {
        if (mono_ns() - t0 > 10000 * MS)
            FAIL("readers never were all inside together (%d of %d)", atomic_load(&inside), n);
        gs_gosched();
    }
    CHECK_RC(gs_rwmutex_tryrlock(rw), 0); /* one more read lock: no writer waits */
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN);
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
}

static void test_readers_together(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    CHECK(rw);
    atomic_store(&inside, 0);
    atomic_store(&max_inside, 0);
    for (int i = 0; i < 8; i++)
        CHECK(gs_go(reader_together, (void *)(intptr_t)8) > 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&max_inside), 8);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("8 readers held it together: ok\n");
}

/* ------------------------------------------------------- 2. writer excludes */
static atomic_int writer_in;
static atomic_int after_writer;

static void blocked_reader(void *arg)
{
    (void)arg;
    CHECK_RC(gs_rwmutex_rlock(rw), 0);
    if (atomic_load(&writer_in))
        FAIL("a reader got in while the writer held the lock");
    atomic_fetch_add(&after_writer, 1);
    CHECK_RC(gs_rwmutex_runlock(rw), 0);
}

static void blocked_writer(void *arg)
{
    (void)arg;
    CHECK_RC(gs_rwmutex_lock(rw), 0);
    if (atomic_load(&writer_in))
        FAIL("a second writer got in while the writer held the lock");
    atomic_fetch_add(&after_writer, 1);
    CHECK_RC(gs_rwmutex_unlock(rw), 0);
}

static void *blocked_reader_thread(void *arg)
{
    blocked_reader(arg);
    return NULL;
}

static void test_writer_excludes(void)
{
    init_procs(4);
    rw = gs_rwmutex_new();
    CHECK(rw);
    atomic_store(&after_writer, 0);
    CHECK_RC(gs_rwmutex_lock(rw), 0); /* this foreign thread is the writer */
    atomic_store(&writer_in, 1);
    CHECK_RC(gs_rwmutex_tryrlock(rw), GS_EAGAIN);
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN);
    CHECK_RC(gs_rwmutex_free(rw), GS_EBUSY);
    for (int i = 0; i < 6; i++)
        CHECK(gs_go(blocked_reader, NULL) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(gs_go(blocked_writer, NULL) > 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, blocked_reader_thread, NULL) == 0);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&after_writer), 0);
    atomic_store(&writer_in, 0);
    CHECK_RC(gs_rwmutex_unlock(rw), 0);
    CHECK(pthread_join(t, NULL) == 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&after_writer), 9);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("a writer excluded 7 readers and 2 writers: ok\n");
}

/* ----------------------------------------------- 3. writer is not starved */
static atomic_int stop_readers;
static atomic_int writer_started; /* rounds in which the writer called lock */
static atomic_int writer_got;     /* rounds in which it got the lock */
static atomic_int readers_during_wait;
static atomic_int readers_refused;

static void relay_reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_readers)) {
        int rc = gs_rwmutex_tryrlock(rw);
        if (rc == GS_EAGAIN) {
            /* A writer waits or holds it. If it has not got it yet (got < started),
             * rlock must let it in first, and it counts got before it unlocks. */
            int g = atomic_load(&writer_got);
            int s = atomic_load(&writer_started);
            atomic_fetch_add(&readers_refused, 1);
            CHECK_RC(gs_rwmutex_rlock(rw), 0);
            if (s > g && atomic_load(&writer_got) == g)
                atomic_fetch_add(&readers_during_wait, 1);
        } else {
            CHECK_RC(rc, 0);
        }
        gs_sleep(200000); /* hold 200 us: with 4 readers the lock is never free */
        CHECK_RC(gs_rwmutex_runlock(rw), 0);
    }
}

static void test_writer_not_starved(void)
{
    init_procs(2);
    rw = gs_rwmutex_new();
    CHECK(rw);
    atomic_store(&stop_readers, 0);
    atomic_store(&writer_got, 0);
    atomic_store(&writer_started, 0);
    atomic_store(&readers_during_wait, 0);
    atomic_store(&readers_refused, 0);
    for (int i = 0; i < 4; i++)
        CHECK(gs_go(relay_reader, NULL) > 0);
    sleep_ms(20);
    int64_t worst = 0;
    for (int round = 0; round < 20; round++) {
        int64_t t0 = mono_ns();
        atomic_fetch_add(&writer_started, 1);
        CHECK_RC(gs_rwmutex_lock(rw), 0);
        int64_t dt = mono_ns() - t0;
        atomic_fetch_add(&writer_got, 1);
        if (dt > worst)
            worst = dt;
        sleep_ms(1);
        CHECK_RC(gs_rwmutex_unlock(rw), 0);
        sleep_ms(2);
    }
    atomic_store(&stop_readers, 1);
    WAIT_ALL();
    if (worst > 1000 * MS)
        FAIL("the writer waited %.1f ms behind continuous readers", worst / 1e6);
    CHECK_EQ(atomic_load(&readers_during_wait), 0);
    CHECK(atomic_load(&readers_refused) > 0); /* readers did arrive while it waited */
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("writer behind continuous readers: worst wait %.2f ms, %d readers kept out: ok\n", worst / 1e6,
           atomic_load(&readers_refused));
}

/* ------------------------------------------------------------- 4. hammer */
#define NCELLS 16
static long cells[NCELLS];
static atomic_long reads_done, writes_done;

static void hammer(int id, int iters)
{
    for (int i = 0; i < iters; i++) {
        if ((i + id) % 8 == 0) {
            CHECK_RC(gs_rwmutex_lock(rw), 0);
            for (int k = 0; k < NCELLS; k++) {
                long v = cells[k];
                if (k == NCELLS / 2 && (i & 15) == 0)
                    gs_gosched();
                cells[k] = v + 1;
            }
            CHECK_RC(gs_rwmutex_unlock(rw), 0);
            atomic_fetch_add(&writes_done, 1);
        } else {
            CHECK_RC(gs_rwmutex_rlock(rw), 0);
            long v0 = cells[0];
            for (int k = 1; k < NCELLS; k++)
                if (cells[k] != v0)
                    FAIL("torn read: cell %d is %ld, cell 0 %ld", k, cells[k], v0);
            CHECK_RC(gs_rwmutex_runlock(rw), 0);
            atomic_fetch_add(&reads_done, 1);
        }
    }
}

static void hammer_g(void *arg)
{
    hammer((int)(intptr_t)arg, 20000);
}

static void *hammer_t(void *arg)
{
    hammer((int)(intptr_t)arg, 20000);
    return NULL;
}

static void test_hammer(uint32_t nprocs)
{
    init_procs(nprocs);
    rw = gs_rwmutex_new();
    CHECK(rw);
    memset(cells, 0, sizeof cells);
    atomic_store(&reads_done, 0);
    atomic_store(&writes_done, 0);
    pthread_t t[2];
    for (int i = 0; i < 8; i++)
        CHECK(gs_go(hammer_g, (void *)(intptr_t)i) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, hammer_t, (void *)(intptr_t)(8 + i)) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ALL();
    long w = atomic_load(&writes_done);
    for (int k = 0; k < NCELLS; k++)
        CHECK_EQ(cells[k], w);
    CHECK_EQ(w + atomic_load(&reads_done), 10 * 20000);
    CHECK_RC(gs_rwmutex_free(rw), 0);
    CHECK(gs_shutdown() >= 0);
    printf("nprocs=%u: 8 goroutines + 2 threads, %ld writes, %ld reads, consistent: ok\n", nprocs, w,
           (long)atomic_load(&reads_done));
}

/* ------------------------------------------------------------- 5. misuse */
static void test_misuse(void)
{
    gs_rwmutex *m = gs_rwmutex_new(); /* works without a runtime */
    CHECK(m);
    CHECK_RC(gs_rwmutex_runlock(m), GS_EPERM);
    CHECK_RC(gs_rwmutex_unlock(m), GS_EPERM);
    CHECK_RC(gs_rwmutex_rlock(m), 0);
    CHECK_RC(gs_rwmutex_unlock(m), GS_EPERM); /* read-locked, not write-locked */
    CHECK_RC(gs_rwmutex_free(m), GS_EBUSY);
    CHECK_RC(gs_rwmutex_runlock(m), 0);
    CHECK_RC(gs_rwmutex_runlock(m), GS_EPERM); /* more read-unlocks than read-locks */
    CHECK_RC(gs_rwmutex_lock(m), 0);
    CHECK_RC(gs_rwmutex_runlock(m), GS_EPERM); /* write-locked, no reader */
    CHECK_RC(gs_rwmutex_unlock(m), 0);
    CHECK_RC(gs_rwmutex_unlock(m), GS_EPERM);
    CHECK_RC(gs_rwmutex_trylock(m), 0); /* the state is intact after the refusals */
    CHECK_RC(gs_rwmutex_unlock(m), 0);
    CHECK_RC(gs_rwmutex_tryrlock(m), 0);
    CHECK_RC(gs_rwmutex_runlock(m), 0);
    CHECK_RC(gs_rwmutex_free(m), 0);
    CHECK_RC(gs_rwmutex_free(m), GS_EINVAL);
    CHECK_RC(gs_rwmutex_rlock(m), GS_EINVAL);
    CHECK_RC(gs_rwmutex_lock(NULL), GS_EINVAL);
    CHECK_RC(gs_rwmutex_rlock(NULL), GS_EINVAL);
    CHECK_RC(gs_rwmutex_free(NULL), GS_EINVAL);
    gs_mutex *mu = gs_mutex_new();
    CHECK_RC(gs_rwmutex_lock((gs_rwmutex *)mu), GS_EINVAL); /* another kind's handle */
    CHECK_RC(gs_mutex_free(mu), 0);
    printf("misuse refused, state unchanged: ok\n");
}

int main(void)
{
    test_misuse();
    test_readers_together();
    test_writer_excludes();
    test_writer_not_starved();
    test_hammer(1);
    test_hammer(2);
    test_hammer(4);
    printf("sync_rwmutex: all ok\n");
    return 0;
}
