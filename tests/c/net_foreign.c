/*
 * Foreign threads and the netpoller.
 *
 * 1. A goroutine parks in gs_wait_fd on a pipe; a foreign thread (pthread) writes to
 *    the pipe after 100 ms, when the runtime is fully idle (every P idle, an M blocked
 *    in epoll, checked with gs_stats). The goroutine must wake with GS_POLLIN and read
 *    the byte. Three rounds; the wake-up latency is printed (limit 1 s).
 * 2. The same with gs_read parked on the pipe (the write comes from a foreign thread).
 * 3. gs_wait_fd and gs_read called from a foreign thread block that thread (poll(2))
 *    and work: on an fd a goroutine has already put in non-blocking mode and armed,
 *    the data written by a goroutine (gs_write) after 50 ms arrives; a 50 ms timeout
 *    from the foreign thread times out.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#define MS 1000000LL
#define PENDING (-100000)

static int p[2];
static atomic_int result = PENDING;
static atomic_llong woke_ns;
static atomic_int read_byte;

static void fd_waiter(void *arg)
{
    bool use_read = arg != NULL;
    int rc;
    char c = 0;
    if (use_read) {
        rc = (int)gs_read(p[0], &c, 1);
        atomic_store(&woke_ns, gs_nanotime());
    } else {
        rc = gs_wait_fd(p[0], GS_POLLIN, 10000 * MS); /* a hang shows as a timeout */
        atomic_store(&woke_ns, gs_nanotime());
        if (rc == GS_POLLIN)
            CHECK_RC(gs_read(p[0], &c, 1), 1);
    }
    atomic_store(&read_byte, c);
    atomic_store(&result, rc);
}

typedef struct delayed_write {
    int fd;
    int delay_ms;
    char byte;
    atomic_llong at_ns; /* gs_nanotime just before the write */
} delayed_write;

static void *delayed_writer(void *arg)
{
    delayed_write *d = arg;
    sleep_ms(d->delay_ms);
    atomic_store(&d->at_ns, gs_nanotime());
    CHECK(write(d->fd, &d->byte, 1) == 1);
    return NULL;
}

static void wait_result(int limit_ms)
{
    int64_t end = mono_ns() + limit_ms * MS;
    while (atomic_load(&result) == PENDING) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("the goroutine did not wake within %d ms", limit_ms);
        }
        sleep_ms(1);
    }
}

/* Part 1 and 2: a goroutine parked on the pipe, a pthread writes after 100 ms. */
static void foreign_write_wakes_goroutine(bool use_read, int round)
{
    atomic_store(&result, PENDING);
    atomic_store(&read_byte, 0);
    CHECK_OK(gs_go(fd_waiter, use_read ? (void *)1 : NULL));
    delayed_write d = {p[1], 100, (char)('a' + round), 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, delayed_writer, &d) == 0);
    sleep_ms(60);
    /* The runtime is idle: the goroutine is parked on the fd, every P is idle. */
    gs_stats st = stats_now();
    CHECK_EQ(st.netpoll_waiters, 1);
    CHECK_EQ(st.waiting, 1);
    CHECK_EQ(st.idle_procs, st.procs);
    CHECK_EQ(st.runnable, 0);
    CHECK_EQ(atomic_load(&result), PENDING);
    CHECK(pthread_join(t, NULL) == 0);
    wait_result(5000);
    if (use_read)
        CHECK_RC(atomic_load(&result), 1);
    else
        CHECK_RC(atomic_load(&result), GS_POLLIN);
    CHECK_EQ(atomic_load(&read_byte), 'a' + round);
    double lat = (double)(atomic_load(&woke_ns) - atomic_load(&d.at_ns)) / 1e6;
    printf("round %d (%s): the idle runtime woke the goroutine %.3f ms after the foreign write\n",
           round, use_read ? "gs_read" : "gs_wait_fd", lat);
    if (lat > 1000)
        FAIL("wake-up took %.1f ms", lat);
}

static atomic_llong gw_at_ns;
static void goroutine_writer(void *arg)
{
    (void)arg;
    gs_sleep(50 * MS);
    atomic_store(&gw_at_ns, gs_nanotime());
    CHECK_RC(gs_write(p[1], "G", 1), 1);
}

/* Part 3: blocking calls from a foreign thread (this one). */
static void foreign_thread_calls(void)
{
    /* The fd was armed and made non-blocking by the goroutines above. */
    int fl = fcntl(p[0], F_GETFL);
    CHECK(fl >= 0 && (fl & O_NONBLOCK));

    /* Timeout from a foreign thread. */
    int64_t t0 = mono_ns();
    CHECK_RC(gs_wait_fd(p[0], GS_POLLIN, 50 * MS), GS_ETIMEDOUT);
    int64_t took = mono_ns() - t0;
    CHECK(took >= 45 * MS);

    /* gs_wait_fd from a foreign thread, woken by another foreign thread's write. */
    delayed_write d = {p[1], 50, 'F', 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, delayed_writer, &d) == 0);
    t0 = mono_ns();
    CHECK_RC(gs_wait_fd(p[0], GS_POLLIN, -1), GS_POLLIN);
    took = mono_ns() - t0;
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(took >= 40 * MS);
    char c = 0;
    CHECK_RC(gs_read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'F');
    printf("foreign gs_wait_fd: blocked %.1f ms until the write\n", (double)took / 1e6);

    /* gs_read from a foreign thread on an empty non-blocking pipe: blocks this thread
     * until a goroutine writes with gs_write 50 ms later. */
    CHECK_OK(gs_go(goroutine_writer, NULL));
    t0 = mono_ns();
    c = 0;
    CHECK_RC(gs_read(p[0], &c, 1), 1);
    took = mono_ns() - t0;
    CHECK_EQ(c, 'G');
    CHECK(took >= 40 * MS);
    printf("foreign gs_read: blocked %.1f ms until a goroutine's gs_write\n", (double)took / 1e6);

    /* gs_write from a foreign thread, read by a goroutine. */
    atomic_store(&result, PENDING);
    CHECK_OK(gs_go(fd_waiter, (void *)1));
    sleep_ms(20);
    CHECK_RC(gs_write(p[1], "W", 1), 1);
    wait_result(5000);
    CHECK_RC(atomic_load(&result), 1);
    CHECK_EQ(atomic_load(&read_byte), 'W');
}

int main(void)
{
    CHECK_RC(gs_init(NULL), 0);
    CHECK(pipe(p) == 0);
    for (int r = 0; r < 3; r++)
        foreign_write_wakes_goroutine(false, r);
    for (int r = 3; r < 5; r++)
        foreign_write_wakes_goroutine(true, r);
    foreign_thread_calls();
    WAIT_ALL();
    CHECK_RC(gs_close(p[0]), 0);
    CHECK_RC(gs_close(p[1]), 0);
    printf("net_foreign: ok\n");
    return 0;
}
