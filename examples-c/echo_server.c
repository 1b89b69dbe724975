/*
 * echo_server: a TCP echo server on gosched, one goroutine per connection.
 *
 *   echo_server PORT [--max-seconds N]
 *       Listens on 127.0.0.1:PORT (0: an ephemeral port). Prints "port=N" on stdout
 *       (flushed) once it listens, then echoes every byte it reads back to its
 *       sender: TCP_NODELAY on accepted sockets, a 4 KiB read buffer, gs_write of
 *       what was read. The number of Ps comes from $GS_MAXPROCS (default: the CPUs
 *       this process may use). Exits by itself after N seconds (default 60).
 *
 *   echo_server            (no arguments)
 *       Self-test: starts the server on an ephemeral port, serves one internal client
 *       goroutine for 100 verified round trips of varying sizes, stops, exits 0.
 *
 * Loopback only. The server loop lives in echo_server.h.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "echo_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SELFTEST_ROUNDS 100

typedef struct selftest {
    echo_server srv;
    int failures;
    long bytes;
    int64_t elapsed_ns;
} selftest;

/* Byte k of round r: varies with both, so a stale or shifted echo is caught. */
static unsigned char pattern(int r, size_t k)
{
    return (unsigned char)(r * 31 + k * 7 + (k >> 8));
}

static void selftest_main(void *arg)
{
    selftest *st = arg;
    int rc = echo_server_start(&st->srv, 0);
    if (rc != 0) {
        fprintf(stderr, "echo_server: listen: %s\n", gs_strerror(rc));
        st->failures++;
        return;
    }
    int fd = echo_dial_loopback(st->srv.port);
    if (fd < 0) {
        fprintf(stderr, "echo_server: connect: %s\n", gs_strerror(fd));
        st->failures++;
        echo_server_stop(&st->srv);
        return;
    }
    static unsigned char out[ECHO_BUF_SIZE * 4], in[ECHO_BUF_SIZE * 4];
    int64_t t0 = gs_nanotime();
    for (int r = 0; r < SELFTEST_ROUNDS && st->failures == 0; r++) {
        size_t n = 1 + ((size_t)r * 163) % sizeof out; /* 1 byte .. 16 KiB */
        for (size_t k = 0; k < n; k++)
            out[k] = pattern(r, k);
        ptrdiff_t w = gs_write(fd, out, n);
        ptrdiff_t g = w == (ptrdiff_t)n ? echo_read_full(fd, in, n) : w;
        if (g != (ptrdiff_t)n) {
            fprintf(stderr, "echo_server: round %d: write %td, read %td (%s)\n", r, w, g,
                    g < 0 ? gs_strerror((int)g) : "short");
            st->failures++;
        } else if (memcmp(in, out, n) != 0) {
            fprintf(stderr, "echo_server: round %d: echo mismatch\n", r);
            st->failures++;
        }
        st->bytes += (long)n;
    }
    st->elapsed_ns = gs_nanotime() - t0;
    gs_close(fd);
    echo_server_stop(&st->srv);
}

static int selftest_run(void)
{
    static selftest st;
    int rc = gs_main(selftest_main, &st);
    if (rc != 0) {
        fprintf(stderr, "echo_server: gs_main: %s\n", gs_strerror(rc));
        return 1;
    }
    rc = gs_wait(10LL * 1000 * 1000 * 1000); /* the connection goroutine ends */
    if (rc != 0) {
        fprintf(stderr, "echo_server: gs_wait: %s\n", gs_strerror(rc));
        gs_dump(2);
        return 1;
    }
    long errors = atomic_load(&st.srv.errors);
    if (st.failures != 0 || errors != 0 || atomic_load(&st.srv.accepted) != 1) {
        fprintf(stderr, "echo_server: self-test FAILED (%d failures, %ld server errors)\n",
                st.failures, errors);
        return 1;
    }
    printf("echo_server self-test: %d round trips, %ld bytes echoed and verified in %.1f ms "
           "(run with a PORT argument to serve)\n",
           SELFTEST_ROUNDS, st.bytes, (double)st.elapsed_ns / 1e6);
    gs_shutdown();
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: echo_server PORT [--max-seconds N]   (PORT 0: ephemeral)\n"
                    "       echo_server                         (self-test)\n");
    exit(2);
}

static long parse_num(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != 0 || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return selftest_run();

    long port = -1, max_seconds = 60;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-seconds") == 0 || strcmp(argv[i], "-max-seconds") == 0) {
            if (++i >= argc)
                usage();
            max_seconds = parse_num(argv[i], 1, 24L * 3600);
        } else if (port < 0 && argv[i][0] != '-') {
            port = parse_num(argv[i], 0, 65535);
        } else {
            usage();
        }
    }
    if (port < 0)
        usage();

    int rc = gs_init(NULL); /* nprocs 0: $GS_MAXPROCS, else the CPUs we may use */
    if (rc != 0) {
        fprintf(stderr, "echo_server: gs_init: %s\n", gs_strerror(rc));
        return 1;
    }
    static echo_server srv;
    rc = echo_server_start(&srv, (int)port);
    if (rc != 0) {
        fprintf(stderr, "echo_server: listen on 127.0.0.1:%ld: %s\n", port, gs_strerror(rc));
        return 1;
    }
    gs_stats st;
    gs_stats_get(&st);
    printf("port=%d\n", srv.port);
    fflush(stdout);
    fprintf(stderr, "echo_server: listening on 127.0.0.1:%d with %u procs for at most %ld s\n",
            srv.port, st.procs, max_seconds);

    /* The goroutines serve; this thread only keeps the time limit. */
    struct timespec left = {max_seconds, 0};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    fprintf(stderr, "echo_server: --max-seconds %ld reached after %ld connections, %ld bytes; exiting\n",
            max_seconds, atomic_load(&srv.accepted), atomic_load(&srv.bytes));
    fflush(stdout);
    fflush(stderr);
    _exit(atomic_load(&srv.errors) == 0 ? 0 : 1);
}
