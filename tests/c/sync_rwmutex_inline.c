/*
 * The inline gs_rwmutex_rlock / gs_rwmutex_runlock of the header (x86-64): they count
 * in the P's slot of the lock that the library's own calls use, and every case they do
 * not handle (foreign threads, goroutines inside gs_entersyscall, misuse, writers,
 * handles that are not live rwmutexes) gives what the exported functions give.
 *
 * White-box where it must be: gs__rwmutex_head and gs__rwmutex_slot read the lock's
 * head and the thread's slot offset, to check that the fast path was the one taken.
 */
#include "common.h"

#if !defined(__x86_64__) || defined(GS_NO_INLINE_RWMUTEX)
int main(void)
{
    printf("SKIPPED: the header has no inline gs_rwmutex path on this target\n");
    return 0;
}
#else

static gs_rwmutex *rw;

/* The thread's slot offset for rw: 0 on a foreign thread or without a slot. */
static uintptr_t slot_off(void)
{
    const gs__rwmutex_head *h = (const gs__rwmutex_head *)(void *)rw;
    return h->_tpoff != 0 ? gs__rwmutex_slot(h->_tpoff) : 0;
}

/* Read-locks outstanding in the slot at `off` (locks - unlocks). */
static int64_t slot_count(uintptr_t off)
{
    const uint64_t *s = (const uint64_t *)(const void *)((const char *)rw + off);
    return (int64_t)(__atomic_load_n(&s[0], __ATOMIC_RELAXED) - __atomic_load_n(&s[1], __ATOMIC_RELAXED));
}

static bool slots_on(void)
{
    return ((const gs__rwmutex_head *)(void *)rw)->_tpoff != 0;
}

static atomic_int step;

/* Read-locks in the P's slot (the inline path), the library sees the reader. */
static void fast_path(void *arg)
{
    (void)arg;
    uintptr_t off = slot_off();
    CHECK(off != 0);
    int64_t before = slot_count(off);
    CHECK_OK(gs_rwmutex_rlock(rw));
    CHECK_EQ(slot_off(), off);
    CHECK_EQ(slot_count(off), before + 1);
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN); /* the writer sees the inline reader */
    CHECK_RC(gs_rwmutex_free(rw), GS_EBUSY);
    CHECK_OK(gs_rwmutex_runlock(rw));
    CHECK_EQ(slot_count(off), before);
    /* The two paths mix: inline lock, exported unlock, and the other way round. */
    CHECK_OK(gs_rwmutex_rlock(rw));
    CHECK_OK((gs_rwmutex_runlock)(rw));
    CHECK_OK((gs_rwmutex_rlock)(rw));
    CHECK_OK(gs_rwmutex_runlock(rw));
    CHECK_EQ(slot_count(off), before);
    /* Misuse is refused by the inline path as by the library. */
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
    CHECK_RC(gs_rwmutex_runlock(NULL), GS_EINVAL);
    CHECK_RC(gs_rwmutex_rlock(NULL), GS_EINVAL);
    CHECK_OK(gs_rwmutex_trylock(rw));
    CHECK_OK(gs_rwmutex_unlock(rw));
    printf("fast path: counted in slot %zu, misuse refused\n", (size_t)off);
}

/* Inside gs_entersyscall the thread has no P: the shared counter, then back. */
static void in_syscall(void *arg)
{
    (void)arg;
    uintptr_t off = slot_off();
    CHECK(off != 0);
    CHECK_OK(gs_rwmutex_rlock(rw));
    gs_entersyscall();
    CHECK_EQ(slot_off(), (uintptr_t)0);
    CHECK_OK(gs_rwmutex_runlock(rw)); /* counted in shared: the slot stays ahead */
    CHECK_OK(gs_rwmutex_rlock(rw));
    gs_exitsyscall();
    CHECK(slot_off() != 0);
    CHECK_OK(gs_rwmutex_runlock(rw));
    CHECK_OK(gs_rwmutex_trylock(rw)); /* no reader is left */
    CHECK_OK(gs_rwmutex_unlock(rw));
    printf("gs_entersyscall inside the read section: ok\n");
}

/* A reader that read-locks on one P and read-unlocks on another. */
static atomic_bool spin_stop;

static void spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop))
        gs_gosched();
}

static void mover(void *arg)
{
    (void)arg;
    uintptr_t first = slot_off();
    CHECK(first != 0);
    CHECK_OK(gs_rwmutex_rlock(rw));
    int tries = 0;
    while (slot_off() == first && tries < 20000) {
        gs_sleep(20 * 1000);
        tries++;
    }
    uintptr_t now = slot_off();
    CHECK_OK(gs_rwmutex_runlock(rw));
    if (now == first) {
        printf("SKIPPED: moved reader: the goroutine stayed on one P for %d sleeps\n", tries);
    } else {
        CHECK_OK(gs_rwmutex_trylock(rw)); /* the reader that moved is out */
        CHECK_OK(gs_rwmutex_unlock(rw));
        /* A read-unlock too many in the second slot, which is not ahead: refused. */
        if (slot_off() == now)
            CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);
        printf("reader moved from slot %zu to %zu: ok\n", (size_t)first, (size_t)now);
    }
    atomic_store(&spin_stop, true);
}

/* A writer waiting for inline readers is let in by the last inline read-unlock. */
static gs_chan *got;

static void writer(void *arg)
{
    (void)arg;
    atomic_store(&step, 1);
    CHECK_OK(gs_rwmutex_lock(rw));
    int one = 1;
    CHECK_OK(gs_chan_send(got, &one));
    gs_sleep(5 * 1000 * 1000);
    CHECK_OK(gs_rwmutex_unlock(rw));
}

static void reader_then_writer(void *arg)
{
    (void)arg;
    CHECK_OK(gs_rwmutex_rlock(rw));
    CHECK_OK(gs_rwmutex_rlock(rw));
    CHECK_OK(gs_go(writer, NULL));
    while (atomic_load(&step) == 0)
        gs_gosched();
    gs_sleep(5 * 1000 * 1000); /* the writer waits for us now */
    int v = 0;
    CHECK_RC(gs_chan_recv_timeout(got, &v, 0), GS_ETIMEDOUT); /* not in yet */
    CHECK_OK(gs_rwmutex_runlock(rw));
    CHECK_RC(gs_chan_recv_timeout(got, &v, 1000000), GS_ETIMEDOUT); /* one reader left */
    CHECK_OK(gs_rwmutex_runlock(rw));
    CHECK_OK(gs_chan_recv_timeout(got, &v, 10LL * 1000 * 1000 * 1000));
    CHECK_EQ(v, 1);
    /* A reader while the writer holds it goes the slow way and waits for the unlock. */
    int64_t t0 = mono_ns();
    CHECK_OK(gs_rwmutex_rlock(rw));
    CHECK(mono_ns() - t0 >= 1000 * 1000);
    CHECK_RC(gs_rwmutex_trylock(rw), GS_EAGAIN);
    CHECK_OK(gs_rwmutex_runlock(rw));
    /* (lock, not trylock: the writer's unlock lets the readers in before it lets go of
       the writers' mutex, as Go's does.) */
    CHECK_OK(gs_rwmutex_lock(rw));
    CHECK_OK(gs_rwmutex_unlock(rw));
    printf("writer let in by the last inline read-unlock; reader waited for the writer\n");
}

static void *foreign(void *arg)
{
    (void)arg;
    CHECK_EQ(slot_off(), (uintptr_t)0);
    for (int i = 0; i < 1000; i++) {
        CHECK_OK(gs_rwmutex_rlock(rw));
        CHECK_OK(gs_rwmutex_runlock(rw));
    }
    return NULL;
}

static void forker(void *arg)
{
    (void)arg;
    CHECK(slot_off() != 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The child has no runtime: this thread is a plain thread, without a slot. */
        if (slot_off() != 0)
            _exit(3);
        gs_rwmutex *mine = gs_rwmutex_new();
        if (mine == NULL)
            _exit(4);
        gs_rwmutex *keep = rw;
        rw = mine;
        if (slot_off() != 0 || gs_rwmutex_rlock(rw) != 0 || gs_rwmutex_trylock(rw) != GS_EAGAIN ||
            gs_rwmutex_runlock(rw) != 0 || gs_rwmutex_runlock(rw) != GS_EPERM ||
            gs_rwmutex_free(rw) != 0)
            _exit(5);
        rw = keep;
        _exit(0);
    }
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAIL("fork child: status %d (3: a slot in the child)", st);
    printf("fork: the child's thread has no slot\n");
}

int main(void)
{
    /* Without a runtime: the exported functions through the inline one. */
    rw = gs_rwmutex_new();
    CHECK(rw != NULL);
    CHECK_OK(gs_rwmutex_rlock(rw));
    CHECK_OK(gs_rwmutex_runlock(rw));
    CHECK_RC(gs_rwmutex_runlock(rw), GS_EPERM);

    /* Handles that are not live rwmutexes are refused, never dereferenced further. */
    gs_mutex *mu = gs_mutex_new();
    gs_chan *ch = gs_chan_new(8, 1);
    CHECK(mu != NULL && ch != NULL);
    CHECK_RC(gs_rwmutex_rlock((gs_rwmutex *)(void *)mu), GS_EINVAL);
    CHECK_RC(gs_rwmutex_runlock((gs_rwmutex *)(void *)ch), GS_EINVAL);
    gs_rwmutex *dead = gs_rwmutex_new();
    CHECK(dead != NULL);
    CHECK_OK(gs_rwmutex_free(dead));
    CHECK_RC(gs_rwmutex_rlock(dead), GS_EINVAL);
    CHECK_RC(gs_rwmutex_runlock(dead), GS_EINVAL);
    CHECK_OK(gs_mutex_free(mu));
    CHECK_OK(gs_chan_free(ch));
    CHECK_OK(gs_rwmutex_free(rw));

    for (uint32_t procs = 1; procs <= 2; procs++) {
        init_procs(procs);
        rw = gs_rwmutex_new();
        CHECK(rw != NULL);
        got = gs_chan_new(sizeof(int), 1);
        CHECK(got != NULL);
        if (!slots_on()) {
            printf("SKIPPED: inline fast path: this lock has no P slots (no membarrier, a "
                   "sanitizer, Valgrind or GS_DEBUG=rwmutexslots=0); the cases run on the "
                   "exported functions\n");
            pthread_t t;
            CHECK_OK(pthread_create(&t, NULL, foreign, NULL));
            CHECK_OK(pthread_join(t, NULL));
        } else {
            CHECK_OK(gs_go(fast_path, NULL));
            WAIT_ALL();
            CHECK_OK(gs_go(in_syscall, NULL));
            WAIT_ALL();
            atomic_store(&step, 0);
            CHECK_OK(gs_go(reader_then_writer, NULL));
            WAIT_ALL();
            pthread_t t;
            CHECK_OK(pthread_create(&t, NULL, foreign, NULL));
            CHECK_OK(pthread_join(t, NULL));
            if (procs == 2) {
                atomic_store(&spin_stop, false);
                CHECK_OK(gs_go(spinner, NULL));
                CHECK_OK(gs_go(mover, NULL));
                WAIT_ALL();
            }
            CHECK_OK(gs_go(forker, NULL));
            WAIT_ALL();
        }
        CHECK_OK(gs_rwmutex_trylock(rw));
        CHECK_OK(gs_rwmutex_unlock(rw));
        CHECK_OK(gs_rwmutex_free(rw));
        CHECK_OK(gs_chan_free(got));
        CHECK(gs_shutdown() >= 0);
    }
    printf("ok\n");
    return 0;
}
#endif
