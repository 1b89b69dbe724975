/*
 * TCP echo over loopback, server and clients as goroutines of one process.
 *
 * The server is the example's (examples-c/echo_server.h): an accept goroutine and a
 * goroutine per connection (4 KiB gs_read, gs_write back).
 *
 * 1. 200 client goroutines x 1,000 round trips of 64 bytes; the content varies per
 *    client and per round, every byte is checked.
 * 2. 1,000 connections open at the same time (all dial, then all start together),
 *    each echoing a different size from 1 byte to 64 KiB: a writer goroutine sends
 *    the whole buffer with one gs_write (partial writes inside) while the connection
 *    goroutine reads and checks every byte of the echo. 2,000+ fds in the process.
 * Then the listener is closed with gs_close from the main thread (the accept loop
 * ends with GS_ECANCELED), and every goroutine must end.
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "common.h"
#include "../../examples-c/echo_server.h"

#define P1_CLIENTS 200
#define P1_ROUNDS 1000
#define P1_SIZE 64
#define P2_CONNS 1000
#define P2_MAX_SIZE (64 * 1024)

static echo_server srv;
static atomic_int p1_done, p1_bad;
static atomic_int p2_connected, p2_done, p2_bad;
static atomic_bool p2_go;

static unsigned char byte_at(uint32_t conn, uint32_t round, uint32_t k)
{
    uint32_t x = (k + 1) * 0x9E3779B1u ^ (conn * 0x85EBCA6Bu) ^ (round * 0xC2B2AE35u);
    x ^= x >> 15;
    return (unsigned char)(x * 0x2C1B3C6Du >> 24);
}

/* ---------------------------------------------------------------- part 1 */

static void p1_client(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    int fd = echo_dial_loopback(srv.port);
    if (fd < 0) {
        fprintf(stderr, "client %u: connect: %s\n", id, gs_strerror(fd));
        atomic_fetch_add(&p1_bad, 1);
        atomic_fetch_add(&p1_done, 1);
        return;
    }
    unsigned char out[P1_SIZE], in[P1_SIZE];
    for (uint32_t r = 0; r < P1_ROUNDS; r++) {
        for (uint32_t k = 0; k < P1_SIZE; k++)
            out[k] = byte_at(id, r, k);
        ptrdiff_t w = gs_write(fd, out, sizeof out);
        ptrdiff_t g = w == (ptrdiff_t)sizeof out ? echo_read_full(fd, in, sizeof in) : w;
        if (g != (ptrdiff_t)sizeof in) {
            fprintf(stderr, "client %u round %u: write %td read %td (%s)\n", id, r, w, g,
                    g < 0 ? gs_strerror((int)g) : "end of file");
            atomic_fetch_add(&p1_bad, 1);
            break;
        }
        if (memcmp(in, out, sizeof out) != 0) {
            uint32_t k = 0;
            while (in[k] == out[k])
                k++;
            fprintf(stderr, "client %u round %u: byte %u is %#x, want %#x\n", id, r, k, in[k],
                    out[k]);
            atomic_fetch_add(&p1_bad, 1);
            break;
        }
    }
    CHECK_RC(gs_close(fd), 0);
    atomic_fetch_add(&p1_done, 1);
}

/* ---------------------------------------------------------------- part 2 */

typedef struct p2_conn {
    uint32_t id;
    int fd;
    size_t size;
    unsigned char *out;
    atomic_int writer_rc; /* 1 while running, then 0 or a negative code */
} p2_conn;

static void p2_writer(void *arg)
{
    p2_conn *c = arg;
    ptrdiff_t w = gs_write(c->fd, c->out, c->size);
    atomic_store(&c->writer_rc, w == (ptrdiff_t)c->size ? 0 : (w < 0 ? (int)w : -EIO));
}

static void p2_client(void *arg)
{
    p2_conn *c = arg;
    c->fd = echo_dial_loopback(srv.port);
    if (c->fd < 0) {
        fprintf(stderr, "conn %u: connect: %s\n", c->id, gs_strerror(c->fd));
        atomic_fetch_add(&p2_bad, 1);
        atomic_fetch_add(&p2_connected, 1);
        atomic_fetch_add(&p2_done, 1);
        return;
    }
    atomic_fetch_add(&p2_connected, 1);
    /* Wait until every connection is open, so that all of them are concurrent. */
    int64_t limit = gs_nanotime() + 30LL * 1000 * 1000 * 1000;
    while (!atomic_load(&p2_go)) {
        if (gs_nanotime() > limit)
            FAIL("conn %u: the other connections never opened (%d of %d)", c->id,
                 atomic_load(&p2_connected), P2_CONNS);
        gs_sleep(1000000);
    }
    c->out = malloc(c->size);
    CHECK(c->out != NULL);
    for (size_t k = 0; k < c->size; k++)
        c->out[k] = byte_at(c->id, 7, (uint32_t)k);
    atomic_store(&c->writer_rc, 1);
    gs_go_opts wo = {0, "writer", 0};
    CHECK_OK(gs_go_with(p2_writer, c, &wo));

    unsigned char in[16384];
    size_t got = 0;
    bool bad = false;
    while (got < c->size) {
        size_t want = c->size - got < sizeof in ? c->size - got : sizeof in;
        ptrdiff_t r = gs_read(c->fd, in, want);
        if (r <= 0) {
            fprintf(stderr, "conn %u (size %zu): read after %zu bytes: %s\n", c->id, c->size, got,
                    r == 0 ? "end of file" : gs_strerror((int)r));
            bad = true;
            break;
        }
        if (memcmp(in, c->out + got, (size_t)r) != 0) {
            size_t k = 0;
            while (in[k] == c->out[got + k])
                k++;
            fprintf(stderr, "conn %u (size %zu): byte %zu is %#x, want %#x\n", c->id, c->size,
                    got + k, in[k], c->out[got + k]);
            bad = true;
            break;
        }
        got += (size_t)r;
    }
    /* The writer has certainly written everything we read; let it return. */
    limit = gs_nanotime() + 30LL * 1000 * 1000 * 1000;
    while (!bad && atomic_load(&c->writer_rc) == 1) {
        if (gs_nanotime() > limit)
            FAIL("conn %u: the writer goroutine never returned", c->id);
        gs_sleep(100000);
    }
    if (!bad && atomic_load(&c->writer_rc) != 0) {
        fprintf(stderr, "conn %u: gs_write: %s\n", c->id, gs_strerror(atomic_load(&c->writer_rc)));
        bad = true;
    }
    if (bad) {
        atomic_fetch_add(&p2_bad, 1);
        /* Shut the socket down so that a blocked writer returns; it is then safe to
         * close and free once the writer is done. */
        shutdown(c->fd, SHUT_RDWR);
        while (atomic_load(&c->writer_rc) == 1)
            gs_sleep(1000000);
    }
    CHECK_RC(gs_close(c->fd), 0);
    free(c->out);
    atomic_fetch_add(&p2_done, 1);
}

/* Waits (foreign thread) until *counter reaches n; fails after limit_s. */
static void wait_count(atomic_int *counter, int n, int limit_s, const char *what)
{
    int64_t end = mono_ns() + (int64_t)limit_s * 1000000000LL;
    while (atomic_load(counter) < n) {
        if (mono_ns() > end) {
            gs_dump(2);
            FAIL("%s: only %d of %d after %d s", what, atomic_load(counter), n, limit_s);
        }
        sleep_ms(5);
    }
}

static void raise_nofile(rlim_t want)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < want)
        FAIL("RLIMIT_NOFILE hard limit %llu is below the %llu fds this test needs",
             (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

int main(void)
{
    raise_nofile(2 * P2_CONNS + 256);
    CHECK_RC(gs_init(NULL), 0);
    CHECK_RC(echo_server_start(&srv, 0), 0);
    CHECK(srv.port > 0);

    /* Part 1. */
    int64_t t0 = mono_ns();
    gs_go_opts co = {0, "p1-client", 0};
    for (uintptr_t i = 0; i < P1_CLIENTS; i++)
        CHECK_OK(gs_go_with(p1_client, (void *)i, &co));
    wait_count(&p1_done, P1_CLIENTS, 60, "part 1 clients done");
    double p1_s = (double)(mono_ns() - t0) / 1e9;
    CHECK_EQ(atomic_load(&p1_bad), 0);
    printf("part 1: %d clients x %d round trips of %d bytes verified in %.2f s (%.0f round trips/s)\n",
           P1_CLIENTS, P1_ROUNDS, P1_SIZE, p1_s, P1_CLIENTS * (double)P1_ROUNDS / p1_s);

    /* Part 2. */
    static p2_conn conns[P2_CONNS];
    t0 = mono_ns();
    gs_go_opts o2 = {0, "p2-client", 0};
    for (uint32_t i = 0; i < P2_CONNS; i++) {
        conns[i].id = i;
        /* A different size per connection, 1 byte .. 64 KiB. */
        conns[i].size = 1 + (size_t)i * (P2_MAX_SIZE - 1) / (P2_CONNS - 1);
        CHECK_OK(gs_go_with(p2_client, &conns[i], &o2));
    }
    wait_count(&p2_connected, P2_CONNS, 60, "part 2 connections open");
    CHECK_EQ(atomic_load(&p2_bad), 0);
    /* Connected means in the listen backlog: wait until the server accepted them all. */
    int64_t end = mono_ns() + 60LL * 1000000000;
    while (atomic_load(&srv.accepted) < P1_CLIENTS + P2_CONNS) {
        if (mono_ns() > end)
            FAIL("the server accepted only %ld connections", atomic_load(&srv.accepted));
        sleep_ms(5);
    }
    int open_fds = count_dir_entries("/proc/self/fd");
    atomic_store(&p2_go, true);
    wait_count(&p2_done, P2_CONNS, 60, "part 2 connections done");
    double p2_s = (double)(mono_ns() - t0) / 1e9;
    CHECK_EQ(atomic_load(&p2_bad), 0);
    CHECK(conns[0].size == 1 && conns[P2_CONNS - 1].size == P2_MAX_SIZE);
    long total = 0;
    for (int i = 0; i < P2_CONNS; i++)
        total += (long)conns[i].size;
    printf("part 2: %d concurrent connections (%d fds open), 1 B .. 64 KiB each, %ld bytes "
           "echoed and verified in %.2f s\n",
           P2_CONNS, open_fds, total, p2_s);
    CHECK(open_fds >= 2 * P2_CONNS);

    /* Stop: the accept goroutine sees GS_ECANCELED; connection goroutines see EOF. */
    echo_server_stop(&srv);
    WAIT_ALL();
    CHECK(atomic_load(&srv.loop_done));
    CHECK_EQ(atomic_load(&srv.errors), 0);
    CHECK_EQ(atomic_load(&srv.accepted), P1_CLIENTS + P2_CONNS);
    CHECK_EQ(atomic_load(&srv.active), 0);
    CHECK_EQ(atomic_load(&srv.bytes), (long)P1_CLIENTS * P1_ROUNDS * P1_SIZE + total);
    printf("net_echo: ok\n");
    return 0;
}
