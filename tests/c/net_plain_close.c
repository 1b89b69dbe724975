/*
 * An fd that the runtime armed, closed with plain close(2) instead of gs_close, whose
 * number is then reused by a new file: waits on the new file must not hang.
 * - a pipe (reuse the runtime cannot see): sysmon renews the registration of parked
 *   waiters once a second, so the wait ends within about a second of the data;
 * - a socket from gs_accept: the accepted number is known to be a new file, so the
 *   wait sees its data at once.
 */
#include "common.h"

#include <netinet/in.h>
#include <sys/socket.h>

static int a[2], b[2];

static void *write_later(void *arg) {
    int fd = *(int *)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(write(fd, "n", 1) == 1);
    return NULL;
}

static void pipe_case(void *arg) {
    (void)arg;
    char c;
    CHECK(pipe(a) == 0);
    CHECK(write(a[1], "x", 1) == 1);
    CHECK(gs_read(a[0], &c, 1) == 1); /* arms a[0] */
    int old = a[0];
    CHECK(close(a[0]) == 0);          /* plain close: the registration dies with it */
    CHECK(pipe(b) == 0);
    CHECK(b[0] == old);               /* the lowest free number comes back */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, write_later, &b[1]) == 0);
    int64_t t0 = gs_nanotime();
    int r = gs_wait_fd(b[0], GS_POLLIN, 5LL * 1000 * 1000 * 1000);
    double ms = (gs_nanotime() - t0) / 1e6;
    printf("pipe reused after close(2): gs_wait_fd -> %d after %.1f ms\n", r, ms);
    CHECK(r == GS_POLLIN);
    CHECK(ms < 3000);
    CHECK(gs_read(b[0], &c, 1) == 1 && c == 'n');
    pthread_join(t, NULL);
    close(a[1]);
    gs_close(b[0]);
    close(b[1]);
}

static int lfd;
static struct sockaddr_in addr;

static void *client(void *arg) {
    (void)arg;
    for (int i = 0; i < 2; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(s >= 0);
        CHECK(connect(s, (struct sockaddr *)&addr, sizeof addr) == 0);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        CHECK(write(s, "y", 1) == 1);
        char c;
        CHECK(read(s, &c, 1) == 1); /* the server echoes, then closes */
        close(s);
    }
    return NULL;
}

static void accept_case(void *arg) {
    (void)arg;
    for (int i = 0; i < 2; i++) {
        int c = gs_accept(lfd, NULL, NULL);
        CHECK(c >= 0);
        int64_t t0 = gs_nanotime();
        char ch;
        CHECK(gs_read(c, &ch, 1) == 1);
        double ms = (gs_nanotime() - t0) / 1e6;
        printf("accepted connection %d (fd %d): first byte after %.1f ms\n", i, c, ms);
        CHECK(ms < 500); /* no second-long stall: accept reset the fd's state */
        CHECK(gs_write(c, &ch, 1) == 1);
        CHECK(close(c) == 0); /* plain close; the next accept reuses the number */
    }
}

int main(void) {
    CHECK(gs_init(NULL) == 0);
    CHECK(gs_go(pipe_case, NULL) > 0);
    CHECK(gs_wait(TEST_WAIT_NS) == 0);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    CHECK(getsockname(lfd, (struct sockaddr *)&addr, &len) == 0);
    CHECK(listen(lfd, 16) == 0);
    pthread_t t;
    CHECK(gs_go(accept_case, NULL) > 0);
    CHECK(pthread_create(&t, NULL, client, NULL) == 0);
    CHECK(gs_wait(TEST_WAIT_NS) == 0);
    pthread_join(t, NULL);
    gs_close(lfd);
    CHECK(gs_shutdown() == 0);
    printf("net_plain_close: ok\n");
    return 0;
}
