/*
 * echo_client: a closed-loop load generator for any TCP echo server, on gosched.
 *
 *   echo_client -addr 127.0.0.1:PORT [-c CONNS] [-m ROUNDS] [-size BYTES]
 *               [-deadline SECONDS] [-tag "free text"]
 *
 * Dials CONNS connections (default 100) first, then runs one goroutine per
 * connection, each doing ROUNDS (default 20000) round trips: write SIZE bytes (default
 * 64), read SIZE bytes back (read-full), compare every byte, record the round-trip
 * time. The content varies per connection and per round (the connection number and
 * the round number are in the first 16 bytes when SIZE >= 16). Prints one line in the
 * format of the Go peer client:
 *
 *   workload=tcp_echo procs=<client Ps> n=<round trips> value=<req/s> unit=req/s
 *       p50_us=.. p99_us=.. p999_us=.. max_us=.. mean_us=.. conns=.. msgs=.. size=..
 *       wall_s=.. errors=.. client=gosched [tag]
 *
 * Loopback addresses only (127.0.0.0/8, localhost, [::1]). Exit status: 0 when every
 * round trip completed and matched, 1 on any failure or mismatch, 2 on bad usage, 3
 * when the run did not complete by the deadline (default 60 s) plus 5 s.
 *
 *   echo_client            (no arguments)
 *       Runs a small load (20 connections x 500 round trips of 64 bytes) against an
 *       echo server started in this same process (echo_server.h), and prints the line.
 *
 * The number of Ps comes from $GS_MAXPROCS (default: the CPUs this process may use).
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "echo_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client_conn {
    int id;
    int fd;
    int64_t *lat;       /* round-trip times in ns, one per completed round */
    long done;          /* completed rounds                                 */
    int failed;         /* 1 after an error or a mismatch                   */
} client_conn;

static struct {
    int conns, msgs, size;
    double deadline_s;
    const char *tag;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} cfg = {100, 20000, 64, 60.0, NULL, {0}, 0};

static atomic_long total_errors;
static atomic_int finished;      /* connection goroutines that are done           */
static int done_pipe[2];         /* the last one writes a byte here               */

static unsigned char pattern(int id, int round, size_t k)
{
    return (unsigned char)(id * 131 + round * 29 + k * 7 + (k >> 8));
}

static void fill(unsigned char *out, size_t n, int id, int round)
{
    size_t k = 0;
    if (n >= 16) {
        uint64_t a = (uint64_t)id, b = (uint64_t)round;
        for (int i = 0; i < 8; i++) {
            out[i] = (unsigned char)(a >> (8 * i));
            out[8 + i] = (unsigned char)(b >> (8 * i));
        }
        k = 16;
    }
    for (; k < n; k++)
        out[k] = pattern(id, round, k);
}

static void conn_run(void *arg)
{
    client_conn *c = arg;
    size_t n = (size_t)cfg.size;
    unsigned char *out = malloc(n), *in = malloc(n);
    if (out == NULL || in == NULL) {
        fprintf(stderr, "conn %d: out of memory\n", c->id);
        c->failed = 1;
        atomic_fetch_add(&total_errors, 1);
        free(out);
        free(in);
        return;
    }
    for (int j = 0; j < cfg.msgs; j++) {
        fill(out, n, c->id, j);
        int64_t t0 = gs_nanotime();
        ptrdiff_t w = gs_write(c->fd, out, n);
        if (w != (ptrdiff_t)n) {
            fprintf(stderr, "conn %d write: %s\n", c->id, gs_strerror((int)w));
            c->failed = 1;
            break;
        }
        ptrdiff_t r = echo_read_full(c->fd, in, n);
        if (r != (ptrdiff_t)n) {
            fprintf(stderr, "conn %d read: %s\n", c->id, r == 0 ? "unexpected end of file" : gs_strerror((int)r));
            c->failed = 1;
            break;
        }
        c->lat[c->done++] = gs_nanotime() - t0;
        if (memcmp(in, out, n) != 0) {
            fprintf(stderr, "conn %d: echo mismatch at %d\n", c->id, j);
            c->failed = 1;
            break;
        }
    }
    if (c->failed)
        atomic_fetch_add(&total_errors, 1);
    gs_close(c->fd);
    free(out);
    free(in);
    if (atomic_fetch_add(&finished, 1) + 1 == cfg.conns)
        (void)gs_write(done_pipe[1], "x", 1);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Dials everything, runs the load, prints the line. Returns the exit status. */
static int run_load(void)
{
    client_conn *cs = calloc((size_t)cfg.conns, sizeof *cs);
    if (cs == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int i = 0; i < cfg.conns; i++) {
        cs[i].id = i;
        cs[i].lat = malloc(sizeof(int64_t) * (size_t)(cfg.msgs > 0 ? cfg.msgs : 1));
        if (cs[i].lat == NULL) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        int fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fprintf(stderr, "FAIL: dial %d: socket: %s\n", i, strerror(errno));
            return 1;
        }
        int rc = gs_connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen); /* blocks this thread */
        if (rc != 0) {
            fprintf(stderr, "FAIL: dial %d: %s\n", i, gs_strerror(rc));
            return 1;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cs[i].fd = fd;
    }

    if (pipe2(done_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "pipe: %s\n", strerror(errno));
        return 1;
    }
    gs_go_opts opts = {0, "echo-client", 0};
    int64_t start = gs_nanotime();
    for (int i = 0; i < cfg.conns; i++) {
        int64_t id = gs_go_with(conn_run, &cs[i], &opts);
        if (id < 0) {
            fprintf(stderr, "FAIL: gs_go: %s\n", gs_strerror((int)id));
            return 1;
        }
    }
    /* This (foreign) thread blocks in poll(2) until the last connection is done: the
     * process may hold other goroutines (an in-process server), so no gs_wait. */
    int64_t budget = (int64_t)((cfg.deadline_s + 5.0) * 1e9);
    int rc = gs_wait_fd(done_pipe[0], GS_POLLIN, budget);
    int64_t el = gs_nanotime() - start;
    if (rc == GS_ETIMEDOUT) {
        fprintf(stderr, "FAIL: echo_client hard deadline exceeded (%d of %d connections done)\n",
                atomic_load(&finished), cfg.conns);
        gs_dump(2);
        fflush(stderr);
        _exit(3);
    }
    if (rc < 0) {
        fprintf(stderr, "FAIL: gs_wait_fd: %s\n", gs_strerror(rc));
        return 1;
    }
    close(done_pipe[0]);
    close(done_pipe[1]);

    long completed = 0;
    for (int i = 0; i < cfg.conns; i++)
        completed += cs[i].done;
    int64_t *all = malloc(sizeof(int64_t) * (size_t)(completed > 0 ? completed : 1));
    if (all == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    long k = 0;
    double sum = 0;
    for (int i = 0; i < cfg.conns; i++) {
        for (long j = 0; j < cs[i].done; j++) {
            all[k++] = cs[i].lat[j];
            sum += (double)cs[i].lat[j];
        }
    }
    qsort(all, (size_t)completed, sizeof *all, cmp_i64);
#define PCT(p) (completed > 0 ? (double)all[(long)((p) * (double)(completed - 1))] / 1e3 : 0.0)
    gs_stats st;
    memset(&st, 0, sizeof st);
    gs_stats_get(&st);
    long errors = atomic_load(&total_errors);
    double secs = (double)el / 1e9;
    printf("workload=tcp_echo procs=%u n=%ld value=%.0f unit=req/s p50_us=%.1f p99_us=%.1f "
           "p999_us=%.1f max_us=%.1f mean_us=%.1f conns=%d msgs=%d size=%d wall_s=%.3f "
           "errors=%ld client=gosched%s%s\n",
           st.procs, completed, secs > 0 ? (double)completed / secs : 0.0, PCT(0.50), PCT(0.99),
           PCT(0.999), PCT(1.0), completed > 0 ? sum / (double)completed / 1e3 : 0.0, cfg.conns,
           cfg.msgs, cfg.size, secs, errors, cfg.tag ? " " : "", cfg.tag ? cfg.tag : "");
#undef PCT
    fflush(stdout);
    for (int i = 0; i < cfg.conns; i++)
        free(cs[i].lat);
    free(cs);
    free(all);
    return errors != 0 || completed != (long)cfg.conns * cfg.msgs ? 1 : 0;
}

static void usage(const char *why)
{
    if (why)
        fprintf(stderr, "echo_client: %s\n", why);
    fprintf(stderr, "usage: echo_client -addr 127.0.0.1:PORT [-c CONNS] [-m ROUNDS] [-size BYTES] "
                    "[-deadline SECONDS] [-tag TEXT]\n"
                    "       echo_client   (no arguments: a small run against an in-process server)\n");
    exit(2);
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != 0 || v < lo || v > hi)
        usage(what);
    return v;
}

/* Resolves "host:port" into cfg.addr, refusing anything that is not loopback. */
static void parse_addr(const char *arg)
{
    char host[256];
    const char *colon = strrchr(arg, ':');
    if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof host)
        usage("bad -addr (want host:port)");
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = 0;
    long port = parse_long(colon + 1, 1, 65535, "bad port in -addr");
    memset(&cfg.addr, 0, sizeof cfg.addr);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4) == 1) {
        if ((ntohl(a4.s_addr) >> 24) != 127) {
            fprintf(stderr, "echo_client: refusing a non-loopback address: %s\n", host);
            exit(2);
        }
        struct sockaddr_in *sa = (struct sockaddr_in *)&cfg.addr;
        sa->sin_family = AF_INET;
        sa->sin_addr = a4;
        sa->sin_port = htons((uint16_t)port);
        cfg.addrlen = sizeof *sa;
    } else if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&a6)) {
            fprintf(stderr, "echo_client: refusing a non-loopback address: %s\n", host);
            exit(2);
        }
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&cfg.addr;
        sa->sin6_family = AF_INET6;
        sa->sin6_addr = a6;
        sa->sin6_port = htons((uint16_t)port);
        cfg.addrlen = sizeof *sa;
    } else {
        fprintf(stderr, "echo_client: refusing a non-loopback address: %s\n", host);
        exit(2);
    }
}

static echo_server inproc;

int main(int argc, char **argv)
{
    bool have_addr = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-')
            a++; /* accept --flag as well as -flag */
        if (i + 1 >= argc)
            usage("missing value");
        const char *v = argv[++i];
        if (strcmp(a, "-addr") == 0) {
            parse_addr(v);
            have_addr = true;
        } else if (strcmp(a, "-c") == 0) {
            cfg.conns = (int)parse_long(v, 1, 100000, "bad -c");
        } else if (strcmp(a, "-m") == 0) {
            cfg.msgs = (int)parse_long(v, 1, 100000000, "bad -m");
        } else if (strcmp(a, "-size") == 0) {
            cfg.size = (int)parse_long(v, 1, 16 << 20, "bad -size");
        } else if (strcmp(a, "-deadline") == 0) {
            char *end;
            cfg.deadline_s = strtod(v, &end);
            if (end == v || (*end != 0 && strcmp(end, "s") != 0) || cfg.deadline_s <= 0)
                usage("bad -deadline (seconds, e.g. 60 or 60s)");
        } else if (strcmp(a, "-tag") == 0) {
            cfg.tag = v;
        } else {
            usage("unknown flag");
        }
    }

    int rc = gs_init(NULL);
    if (rc != 0) {
        fprintf(stderr, "echo_client: gs_init: %s\n", gs_strerror(rc));
        return 1;
    }
    if (argc == 1) {
        /* No arguments: a small, quick run against a server in this process. */
        rc = echo_server_start(&inproc, 0);
        if (rc != 0) {
            fprintf(stderr, "echo_client: in-process server: %s\n", gs_strerror(rc));
            return 1;
        }
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", inproc.port);
        parse_addr(addr);
        cfg.conns = 20;
        cfg.msgs = 500;
        cfg.size = 64;
        cfg.tag = "server=gosched-inprocess";
    } else if (!have_addr) {
        usage("-addr is required");
    }
    if (argc == 1) {
        int st = run_load();
        echo_server_stop(&inproc);
        if (gs_wait(10LL * 1000 * 1000 * 1000) != 0) {
            fprintf(stderr, "echo_client: the in-process server did not stop\n");
            gs_dump(2);
            return 1;
        }
        if (atomic_load(&inproc.errors) != 0) {
            fprintf(stderr, "echo_client: the in-process server saw %ld errors\n",
                    atomic_load(&inproc.errors));
            return 1;
        }
        return st;
    }
    return run_load();
}
