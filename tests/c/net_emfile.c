/*
 * gs_accept out of descriptors (EMFILE): no spinning, and recovery.
 *
 * RLIMIT_NOFILE is lowered and the process fills its table (dup of /dev/null until
 * EMFILE). Client sockets created beforehand connect from a foreign thread (blocking
 * connect: the kernel completes the handshake into the listen backlog). A goroutine
 * loops on gs_accept, which fails with -EMFILE: over ~500 ms the process must use
 * well under half a core (< 150 ms of CPU; gs_accept backs off 5 ms doubling to 1 s).
 * Then some descriptors are closed and every pending connection must be accepted
 * (the echo of one byte is checked on each).
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#define MS 1000000LL
#define CLIENTS 4

static int lfd;
static struct sockaddr_in laddr;
static int clients[CLIENTS];
static atomic_long attempts, emfile_errors, other_errors, accepted;
static atomic_int accepted_fds[CLIENTS];
static atomic_bool stop;

static void accept_loop(void *arg)
{
    (void)arg;
    int64_t end = gs_nanotime() + 30000 * MS;
    while (!atomic_load(&stop) && atomic_load(&accepted) < CLIENTS && gs_nanotime() < end) {
        atomic_fetch_add(&attempts, 1);
        int fd = gs_accept(lfd, NULL, NULL);
        if (fd >= 0) {
            long i = atomic_fetch_add(&accepted, 1);
            atomic_store(&accepted_fds[i], fd);
        } else if (fd == -EMFILE || fd == -ENFILE) {
            atomic_fetch_add(&emfile_errors, 1);
        } else if (fd == GS_ECANCELED) {
            break;
        } else {
            atomic_fetch_add(&other_errors, 1);
            fprintf(stderr, "gs_accept: %d (%s)\n", fd, gs_strerror(fd));
            gs_sleep(10 * MS);
        }
    }
}

static void *connect_clients(void *arg)
{
    (void)arg;
    for (int i = 0; i < CLIENTS; i++) {
        if (connect(clients[i], (struct sockaddr *)&laddr, sizeof laddr) != 0)
            FAIL("client %d: connect: %s", i, strerror(errno));
    }
    return NULL;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void)
{
    CHECK_RC(gs_init(NULL), 0);

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(lfd >= 0);
    memset(&laddr, 0, sizeof laddr);
    laddr.sin_family = AF_INET;
    laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(lfd, (struct sockaddr *)&laddr, sizeof laddr) == 0);
    CHECK(listen(lfd, 64) == 0);
    socklen_t alen = sizeof laddr;
    CHECK(getsockname(lfd, (struct sockaddr *)&laddr, &alen) == 0);
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(clients[i] >= 0);
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(devnull >= 0);

    /* Lower the limit a little above what is open, then fill the table. */
    struct rlimit old, rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    int open_now = count_dir_entries("/proc/self/fd");
    rl = old;
    rl.rlim_cur = (rlim_t)(devnull + 64 > open_now + 64 ? devnull + 64 : open_now + 64);
    if (rl.rlim_cur > old.rlim_cur)
        rl.rlim_cur = old.rlim_cur;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    static int fillers[4096];
    int nfill = 0;
    for (;;) {
        int fd = dup(devnull);
        if (fd < 0) {
            CHECK(errno == EMFILE);
            break;
        }
        CHECK(nfill < (int)(sizeof fillers / sizeof fillers[0]));
        fillers[nfill++] = fd;
    }
    CHECK(nfill > 8);

    /* Clients connect into the backlog; the goroutine's accepts fail with EMFILE. */
    pthread_t ct;
    CHECK(pthread_create(&ct, NULL, connect_clients, NULL) == 0);
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK_OK(gs_go(accept_loop, NULL));
    sleep_ms(50); /* let it reach the failing accept */
    int64_t c0 = cpu_ns(), w0 = mono_ns();
    long a0 = atomic_load(&attempts);
    sleep_ms(500);
    int64_t cpu = cpu_ns() - c0, wall = mono_ns() - w0;
    long tries = atomic_load(&attempts) - a0;
    printf("out of fds: %ld accept attempts and %.1f ms of CPU over %.0f ms (%ld EMFILE so far)\n",
           tries, (double)cpu / 1e6, (double)wall / 1e6, atomic_load(&emfile_errors));
    CHECK_EQ(atomic_load(&accepted), 0);
    CHECK_EQ(atomic_load(&other_errors), 0);
    CHECK(atomic_load(&emfile_errors) >= 1);
    if (cpu >= 150 * MS)
        FAIL("accept under EMFILE used %.1f ms of CPU in %.0f ms: it spins", (double)cpu / 1e6,
             (double)wall / 1e6);
    if (tries > 200)
        FAIL("%ld accept attempts in 500 ms: no backoff", tries);

    /* Free some descriptors: the pending connections are accepted. */
    for (int i = 0; i < 16 && nfill > 0; i++)
        close(fillers[--nfill]);
    int64_t t0 = mono_ns(), end = t0 + 5000 * MS;
    while (atomic_load(&accepted) < CLIENTS) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("only %ld of %d pending connections accepted 5 s after fds were freed",
                 atomic_load(&accepted), CLIENTS);
        }
        sleep_ms(2);
    }
    printf("after freeing fds: %d pending connections accepted in %.1f ms\n", CLIENTS,
           (double)(mono_ns() - t0) / 1e6);
    atomic_store(&stop, true);
    WAIT_ALL();

    /* The accepted sockets are the clients' peers. */
    for (int i = 0; i < CLIENTS; i++) {
        char c = (char)('0' + i);
        CHECK(write(clients[i], &c, 1) == 1);
    }
    int seen = 0;
    for (int i = 0; i < CLIENTS; i++) {
        int fd = atomic_load(&accepted_fds[i]);
        char c = 0;
        CHECK_RC(gs_read(fd, &c, 1), 1); /* foreign thread: blocks until it arrives */
        CHECK(c >= '0' && c < '0' + CLIENTS);
        seen |= 1 << (c - '0');
        CHECK_RC(gs_close(fd), 0);
    }
    CHECK_EQ(seen, (1 << CLIENTS) - 1);

    for (int i = 0; i < nfill; i++)
        close(fillers[i]);
    for (int i = 0; i < CLIENTS; i++)
        close(clients[i]);
    close(devnull);
    CHECK_RC(gs_close(lfd), 0);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    printf("net_emfile: ok\n");
    return 0;
}
