/*
 * I/O as real programs do it: goroutines that move between threads while they wait
 * (errno is per thread), peers that hang up (SIGPIPE), and fds closed with close(2)
 * behind the runtime's back and their numbers reused.
 */
#include "hostile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

/* ---- errno read on the thread that set it ------------------------------------------
 *
 * Readers park in gs_read; a writer goroutine writes a byte, and a foreign thread
 * races them for it with read(2), so that a reader often wakes to find nothing and
 * retries. Meanwhile goroutines leave EBADF in every thread's errno. A reader that
 * moved to another thread and read the errno of the one it left would return
 * -EBADF instead of waiting again. */

#define ERRNO_PIPES 4
static int errno_pipes[ERRNO_PIPES][2];
static atomic_bool errno_stop;
static atomic_long errno_got;

static void errno_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    while (!atomic_load(&errno_stop)) {
        char c;
        ssize_t r = gs_read(errno_pipes[i][0], &c, 1);
        if (r == 1) {
            atomic_fetch_add(&errno_got, 1);
            continue;
        }
        if (r == 0)
            break;
        FAIL("gs_read returned %zd (%s)", r, gs_strerror((int)r));
    }
}

static void errno_polluter(void *arg)
{
    (void)arg;
    while (!atomic_load(&errno_stop)) {
        (void)!close(-1); /* errno = EBADF on this thread */
        CHECK_RC(gs_gosched(), 0);
    }
}

static void errno_writer(void *arg)
{
    (void)arg;
    for (int n = 0; !atomic_load(&errno_stop); n++) {
        ssize_t w = gs_write(errno_pipes[n % ERRNO_PIPES][1], "x", 1);
        CHECK_EQ(w, 1);
        if (n % 8 == 0)
            CHECK_RC(gs_sleep(10000), 0);
        else
            CHECK_RC(gs_gosched(), 0);
    }
    for (int i = 0; i < ERRNO_PIPES; i++)
        close(errno_pipes[i][1]); /* EOF ends the readers */
}

static void *errno_thief(void *arg)
{
    (void)arg;
    while (!atomic_load(&errno_stop)) {
        for (int i = 0; i < ERRNO_PIPES; i++) {
            char c;
            (void)!read(errno_pipes[i][0], &c, 1); /* non-blocking: gs_read made it so */
        }
    }
    return NULL;
}

static void errno_case(void)
{
    CHECK_RC(gs_init(NULL), 0);
    for (int i = 0; i < ERRNO_PIPES; i++) {
        CHECK(pipe(errno_pipes[i]) == 0);
        CHECK_OK(gs_go(errno_reader, (void *)(intptr_t)i));
    }
    for (int i = 0; i < hostile_nprocs + 1; i++)
        CHECK_OK(gs_go(errno_polluter, NULL));
    CHECK_OK(gs_go(errno_writer, NULL));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, errno_thief, NULL) == 0);
    sleep_ms(400);
    atomic_store(&errno_stop, true);
    CHECK(pthread_join(t, NULL) == 0);
    WAIT_ALL();
    for (int i = 0; i < ERRNO_PIPES; i++)
        close(errno_pipes[i][0]);
    CHECK_RC(gs_shutdown(), 0);
}

static const hostile_case cases[] = {
    {"errno_after_migration", errno_case, 30},
};

HOSTILE_MAIN(cases)
