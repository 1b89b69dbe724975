/*
 * Every misuse of channels, select, wait groups and mutexes returns its error, and
 * the objects work without a runtime:
 *
 * 1. NULL handles give GS_EINVAL (len and cap give 0); a NULL element with a
 *    non-zero element size gives GS_EINVAL; with element size 0 NULL is fine.
 * 2. gs_chan_new refuses bad sizes with NULL: elem_size * capacity overflowing,
 *    elements over 64 KiB, rings over 1 TiB.
 * 3. Before gs_init: a channel works between foreign threads (a blocked thread is a
 *    parked thread), try_ and timeout variants and select too; mutex and wait group
 *    as well.
 * 4. On the scheduler's stack (inside a gs_park unlockf): a call that would block
 *    gives GS_EPERM (recv, send, select, mutex lock, wait group wait); the ones that
 *    do not block work (try_send, try_recv, close, select poll, a send to a waiting
 *    receiver, trylock, unlock, add).
 * 5. Free while blocked gives GS_EBUSY, for a goroutine and for a foreign thread
 *    blocked on the channel.
 */
#include "common.h"

#define MS 1000000LL

static void test_null_and_sizes(void)
{
    int v = 0;
    CHECK_RC(gs_chan_send(NULL, &v), GS_EINVAL);
    CHECK_RC(gs_chan_recv(NULL, &v), GS_EINVAL);
    CHECK_RC(gs_chan_try_send(NULL, &v), GS_EINVAL);
    CHECK_RC(gs_chan_try_recv(NULL, &v), GS_EINVAL);
    CHECK_RC(gs_chan_send_timeout(NULL, &v, 1), GS_EINVAL);
    CHECK_RC(gs_chan_recv_timeout(NULL, &v, 1), GS_EINVAL);
    CHECK_RC(gs_chan_close(NULL), GS_EINVAL);
    CHECK_RC(gs_chan_free(NULL), GS_EINVAL);
    CHECK_EQ(gs_chan_len(NULL), 0);
    CHECK_EQ(gs_chan_cap(NULL), 0);

    gs_chan *c = gs_chan_new(sizeof(int), 2);
    CHECK(c);
    CHECK_RC(gs_chan_send(c, NULL), GS_EINVAL);
    CHECK_RC(gs_chan_recv(c, NULL), GS_EINVAL);
    CHECK_RC(gs_chan_try_send(c, NULL), GS_EINVAL);
    CHECK_RC(gs_chan_try_recv(c, NULL), GS_EINVAL);
    CHECK_RC(gs_chan_send_timeout(c, NULL, 0), GS_EINVAL);
    CHECK_RC(gs_chan_recv_timeout(c, NULL, 0), GS_EINVAL);
    CHECK_EQ(gs_chan_len(c), 0);
    CHECK_EQ(gs_chan_cap(c), 2);
    CHECK_RC(gs_chan_free(c), 0);

    gs_chan *z = gs_chan_new(0, 1);
    CHECK(z);
    CHECK_RC(gs_chan_try_send(z, NULL), 0);
    CHECK_RC(gs_chan_try_recv(z, NULL), 0);
    CHECK_RC(gs_chan_try_recv(z, &v), GS_EAGAIN); /* a non-NULL pointer is fine too */
    CHECK_RC(gs_chan_free(z), 0);

    CHECK(gs_chan_new(SIZE_MAX, 2) == NULL);
    CHECK(gs_chan_new(2, SIZE_MAX) == NULL);
    CHECK(gs_chan_new(SIZE_MAX / 2 + 1, 2) == NULL);
    CHECK(gs_chan_new(65537, 0) == NULL);
    CHECK(gs_chan_new(65536, (size_t)1 << 30) == NULL);
    gs_chan *big = gs_chan_new(65536, 2);
    CHECK(big);
    CHECK_RC(gs_chan_free(big), 0);
    gs_chan *many = gs_chan_new(0, SIZE_MAX); /* no ring bytes: fine, as in Go */
    CHECK(many);
    CHECK_EQ(gs_chan_cap(many), SIZE_MAX);
    CHECK_RC(gs_chan_free(many), 0);
}

/* ------------------------------------------------------------ 3. before init */
static gs_chan *pre;
static gs_mutex *pre_mu;
static gs_waitgroup *pre_wg;
static int pre_counter;

static void *pre_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        CHECK_RC(gs_chan_send(pre, &i), 0);
    for (int i = 0; i < 1000; i++) {
        CHECK_RC(gs_mutex_lock(pre_mu), 0);
        pre_counter++;
        CHECK_RC(gs_mutex_unlock(pre_mu), 0);
    }
    CHECK_RC(gs_waitgroup_done(pre_wg), 0);
    return NULL;
}

static void test_before_init(void)
{
    pre = gs_chan_new(sizeof(int), 0);
    pre_mu = gs_mutex_new();
    pre_wg = gs_waitgroup_new();
    CHECK(pre && pre_mu && pre_wg);
    int v = 0;
    CHECK_RC(gs_chan_try_recv(pre, &v), GS_EAGAIN);
    CHECK_RC(gs_chan_recv_timeout(pre, &v, 5 * MS), GS_ETIMEDOUT);
    gs_select_case cs[1] = {{pre, GS_RECV, &v, 99}};
    CHECK_RC(gs_select(cs, 1, 0), GS_EAGAIN);
    CHECK_RC(gs_select(cs, 1, 5 * MS), GS_ETIMEDOUT);
    CHECK_RC(gs_waitgroup_add(pre_wg, 1), 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, pre_thread, NULL) == 0);
    for (int i = 0; i < 1000; i++) {
        if (i % 2) {
            CHECK_RC(gs_chan_recv(pre, &v), 0);
        } else {
            CHECK_RC(gs_select(cs, 1, -1), 0);
            CHECK_EQ(cs[0].result, 0);
        }
        CHECK_EQ(v, i);
    }
    for (int i = 0; i < 1000; i++) {
        CHECK_RC(gs_mutex_lock(pre_mu), 0);
        pre_counter++;
        CHECK_RC(gs_mutex_unlock(pre_mu), 0);
    }
    CHECK_RC(gs_waitgroup_wait(pre_wg), 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ(pre_counter, 2000);
    CHECK_RC(gs_chan_close(pre), 0);
    CHECK_RC(gs_chan_recv(pre, &v), GS_ECLOSED);
    CHECK_RC(gs_chan_free(pre), 0);
    CHECK_RC(gs_mutex_free(pre_mu), 0);
    CHECK_RC(gs_waitgroup_free(pre_wg), 0);
}

/* ------------------------------------------------- 4. on the scheduler's stack */
typedef struct g0_objects {
    gs_chan *empty;    /* unbuffered, nobody waiting      */
    gs_chan *buffered; /* cap 1, empty                    */
    gs_chan *waiting;  /* a receiver goroutine waits here */
    gs_chan *to_close;
    gs_mutex *held, *free_mu;
    gs_waitgroup *busy_wg;
    int results[20];
} g0_objects;

static g0_objects g0o;

static bool on_g0(gs_g *g, void *arg)
{
    (void)g;
    g0_objects *o = arg;
    int v = 5, k = 0;
    o->results[k++] = gs_chan_recv(o->empty, &v);             /* would block: EPERM */
    o->results[k++] = gs_chan_send(o->empty, &v);             /* would block: EPERM */
    o->results[k++] = gs_chan_recv_timeout(o->empty, &v, MS); /* EPERM */
    gs_select_case cs[1] = {{o->empty, GS_RECV, &v, 99}};
    o->results[k++] = gs_select(cs, 1, -1);                   /* EPERM */
    o->results[k++] = gs_select(cs, 1, 0);                    /* poll: EAGAIN */
    o->results[k++] = gs_select(NULL, 0, MS);                 /* EPERM */
    o->results[k++] = gs_mutex_lock(o->held);                 /* EPERM */
    o->results[k++] = gs_mutex_trylock(o->held);              /* EAGAIN */
    o->results[k++] = gs_waitgroup_wait(o->busy_wg);          /* EPERM */
    o->results[k++] = gs_chan_try_send(o->buffered, &v);      /* 0 */
    o->results[k++] = gs_chan_send(o->waiting, &v);           /* 0: a receiver waits */
    o->results[k++] = gs_chan_close(o->to_close);             /* 0 */
    o->results[k++] = gs_mutex_lock(o->free_mu);              /* 0: free, no blocking */
    o->results[k++] = gs_mutex_unlock(o->free_mu);            /* 0 */
    o->results[k++] = gs_waitgroup_add(o->busy_wg, 1);        /* 0 */
    return false; /* resume at once */
}

static const int g0_want[] = {GS_EPERM, GS_EPERM, GS_EPERM, GS_EPERM, GS_EAGAIN, GS_EPERM, GS_EPERM,
                              GS_EAGAIN, GS_EPERM, 0, 0, 0, 0, 0, 0};

static void receiver(void *arg)
{
    (void)arg;
    int v = 0;
    CHECK_RC(gs_chan_recv(g0o.waiting, &v), 0);
    CHECK_EQ(v, 5);
}

static void parker(void *arg)
{
    (void)arg;
    CHECK_RC(gs_park(on_g0, &g0o, "test g0 calls"), 0);
}

static void test_on_g0(void)
{
    init_procs(2);
    g0o.empty = gs_chan_new(sizeof(int), 0);
    g0o.buffered = gs_chan_new(sizeof(int), 1);
    g0o.waiting = gs_chan_new(sizeof(int), 0);
    g0o.to_close = gs_chan_new(sizeof(int), 0);
    g0o.held = gs_mutex_new();
    g0o.free_mu = gs_mutex_new();
    g0o.busy_wg = gs_waitgroup_new();
    CHECK(g0o.empty && g0o.buffered && g0o.waiting && g0o.to_close && g0o.held && g0o.free_mu && g0o.busy_wg);
    CHECK_RC(gs_mutex_lock(g0o.held), 0);
    CHECK_RC(gs_waitgroup_add(g0o.busy_wg, 1), 0);
    CHECK(gs_go(receiver, NULL) > 0);
    WAIT_PARKED(1, 10000);
    CHECK(gs_go(parker, NULL) > 0);
    WAIT_ALL();
    for (size_t i = 0; i < sizeof g0_want / sizeof g0_want[0]; i++) {
        if (g0o.results[i] != g0_want[i])
            FAIL("g0 call %zu returned %d (%s), want %d", i, g0o.results[i], gs_strerror(g0o.results[i]),
                 g0_want[i]);
    }
    CHECK_EQ(gs_chan_len(g0o.buffered), 1);
    int v;
    CHECK_RC(gs_chan_try_recv(g0o.to_close, &v), GS_ECLOSED);
    CHECK_RC(gs_waitgroup_add(g0o.busy_wg, -2), 0);
    CHECK_RC(gs_mutex_unlock(g0o.held), 0);
    CHECK_RC(gs_chan_free(g0o.empty), 0);
    CHECK_RC(gs_chan_free(g0o.buffered), 0);
    CHECK_RC(gs_chan_free(g0o.waiting), 0);
    CHECK_RC(gs_chan_free(g0o.to_close), 0);
    CHECK_RC(gs_mutex_free(g0o.held), 0);
    CHECK_RC(gs_mutex_free(g0o.free_mu), 0);
    CHECK_RC(gs_waitgroup_free(g0o.busy_wg), 0);
    CHECK(gs_shutdown() >= 0);
}

/* -------------------------------------------------------- 5. free while blocked */
static gs_chan *fb;
static atomic_int thread_blocking;

static void blocked_recv(void *arg)
{
    (void)arg;
    int v;
    CHECK_RC(gs_chan_recv(fb, &v), 0);
    CHECK_EQ(v, 1);
}

static void *blocked_send_thread(void *arg)
{
    (void)arg;
    int v = 2;
    atomic_store(&thread_blocking, 1);
    CHECK_RC(gs_chan_send(fb, &v), 0);
    return NULL;
}

static void test_free_busy(void)
{
    init_procs(1);
    fb = gs_chan_new(sizeof(int), 0);
    CHECK(fb);
    CHECK(gs_go(blocked_recv, NULL) > 0);
    WAIT_PARKED(1, 10000);
    CHECK_RC(gs_chan_free(fb), GS_EBUSY);
    int v = 1;
    CHECK_RC(gs_chan_send(fb, &v), 0);
    WAIT_ALL();
    pthread_t th;
    atomic_store(&thread_blocking, 0);
    CHECK(pthread_create(&th, NULL, blocked_send_thread, NULL) == 0);
    while (!atomic_load(&thread_blocking))
        sleep_ms(1);
    sleep_ms(20);
    CHECK_RC(gs_chan_free(fb), GS_EBUSY);
    CHECK_RC(gs_chan_recv(fb, &v), 0);
    CHECK_EQ(v, 2);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_RC(gs_chan_free(fb), 0);
    CHECK(gs_shutdown() >= 0);
}

int main(void)
{
    test_null_and_sizes();
    printf("NULL pointers and bad sizes: ok\n");
    test_before_init();
    printf("channels, select, mutex and wait group before gs_init: ok\n");
    test_on_g0();
    printf("blocking calls on the scheduler's stack give GS_EPERM: ok\n");
    test_free_busy();
    printf("free while blocked gives GS_EBUSY: ok\n");
    return 0;
}
