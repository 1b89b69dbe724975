/*
 * The I/O calls that fail set errno to -code as well, on the thread the goroutine is
 * on when the call returns: after a wait that moved the goroutine to another thread,
 * errno read right after the call is the call's. Many goroutines at nprocs 2 and 4
 * time out in gs_wait_fd, get GS_ECANCELED from gs_read when another goroutine
 * gs_close's their pipe, and pass bad fds; each reads errno through a function that
 * is never inlined, so that the compiler cannot reuse an errno address computed on
 * the thread the goroutine left (see "Thread-locals and errno" in gosched.h).
 */
#include "common.h"

#define NG 200

static __attribute__((noinline)) int get_errno(void) { return errno; }
static __attribute__((noinline)) void set_errno(int v) { errno = v; }
static long tid(void) { return syscall(SYS_gettid); }

static atomic_long moved, checked, cancelled;

/* The cancelled reader's fd is moved to a number of its own, fd_base + i, far above
   the numbers the other workers' pipe() calls take (the lowest free ones): when the
   closer runs before the reader has parked, the closed number stays free and the
   read gives -EBADF, instead of reading a pipe another worker opened meanwhile. */
static int fd_base;

struct pair {
    int fds[2];
    gs_chan *parked; /* the reader says it is about to block */
};

static void closer(void *arg)
{
    struct pair *p = arg;
    int v;
    CHECK_RC(gs_chan_recv(p->parked, &v), 0);
    CHECK_RC(gs_sleep(200000), 0); /* most often the reader has parked by now */
    CHECK_RC(gs_close(p->fds[0]), 0);
}

static void worker(void *arg)
{
    intptr_t i = (intptr_t)arg;
    long t0 = tid();

    /* A timed wait: GS_ETIMEDOUT and errno ETIMEDOUT. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    set_errno(0);
    CHECK_RC(gs_wait_fd(fds[0], GS_POLLIN, 1000000 + (i % 7) * 100000), GS_ETIMEDOUT);
    CHECK_EQ(get_errno(), ETIMEDOUT);
    if (tid() != t0)
        atomic_fetch_add(&moved, 1);

    /* A read cancelled by gs_close from another goroutine: GS_ECANCELED. */
    int own = fd_base + (int)i;
    CHECK(dup2(fds[0], own) == own);
    close(fds[0]);
    fds[0] = own;
    struct pair p = {.fds = {fds[0], fds[1]}, .parked = gs_chan_new(sizeof(int), 1)};
    CHECK(p.parked != NULL);
    CHECK(gs_go(closer, &p) > 0);
    int one = 1;
    CHECK_RC(gs_chan_send(p.parked, &one), 0);
    char buf[8];
    long t1 = tid();
    set_errno(0);
    /* (-EBADF when the closer was first: the reader had not parked yet.) */
    ssize_t rc = gs_read(p.fds[0], buf, sizeof buf);
    CHECK(rc == GS_ECANCELED || rc == -EBADF);
    CHECK_EQ(get_errno(), -rc);
    if (rc == GS_ECANCELED)
        atomic_fetch_add(&cancelled, 1);
    if (tid() != t1)
        atomic_fetch_add(&moved, 1);
    close(fds[1]);
    while (gs_chan_free(p.parked) == GS_EBUSY)
        CHECK_RC(gs_gosched(), 0);

    /* Errors found without waiting, after a switch. */
    CHECK_RC(gs_gosched(), 0);
    set_errno(0);
    CHECK_RC(gs_read(-1, buf, sizeof buf), GS_EINVAL);
    CHECK_EQ(get_errno(), EINVAL);
    CHECK_RC(gs_gosched(), 0);
    set_errno(0);
    CHECK_RC(gs_close(1 << 20), -EBADF); /* above any fd the process may have */
    CHECK_EQ(get_errno(), EBADF);

    /* Success leaves a failure's errno alone only by chance: not checked. A read that
       succeeds returns its count. */
    CHECK(pipe(fds) == 0);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK_EQ(gs_read(fds[0], buf, sizeof buf), 1);
    close(fds[0]);
    close(fds[1]);
    atomic_fetch_add(&checked, 1);
}

int main(void)
{
    /* Room for NG numbers of their own below the soft limit, raised as far as allowed. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < 65536 && rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    CHECK(rl.rlim_cur >= 4 * NG + 64);
    fd_base = (int)rl.rlim_cur - NG - 1;
    static const uint32_t procs[] = {2, 4};
    for (size_t k = 0; k < sizeof procs / sizeof procs[0]; k++) {
        gs_config cfg = {.nprocs = procs[k]};
        CHECK_RC(gs_init(&cfg), 0);
        for (intptr_t i = 0; i < NG; i++)
            CHECK(gs_go(worker, (void *)i) > 0);
        CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
        CHECK_RC(gs_shutdown(), 0);
    }
    CHECK_EQ(atomic_load(&checked), 2 * NG);
    printf("errno right after the failing calls of %d goroutines: the call's; %ld cancelled "
           "reads; %ld waits resumed on another thread\n",
           2 * NG, atomic_load(&cancelled), atomic_load(&moved));
    CHECK(atomic_load(&moved) > 0);
    CHECK(atomic_load(&cancelled) > 0);
    puts("errno_io: OK");
    return 0;
}
