/*
 * A TCP echo server on gosched, one goroutine per connection, as a header so that
 * the example server (echo_server.c), the load client's self-test (echo_client.c),
 * the demo (demo.c) and the tests (tests/c/net_echo.c) share the same loop.
 *
 *   echo_server srv;
 *   int rc = echo_server_start(&srv, 0);   // listen on 127.0.0.1, ephemeral port
 *   ... srv.port ...
 *   echo_server_stop(&srv);                // gs_close the listener: the accept loop ends
 *
 * The accept loop runs as a goroutine ("echo-accept"); each accepted connection gets
 * a goroutine ("echo-conn") that sets TCP_NODELAY, reads into a 4 KiB buffer with
 * gs_read and writes back what it read with gs_write, until end of file or an error,
 * then gs_close's the socket. Only loopback: the listener is bound to 127.0.0.1.
 */
#ifndef GOSCHED_EXAMPLE_ECHO_SERVER_H
#define GOSCHED_EXAMPLE_ECHO_SERVER_H

#include "gosched.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_BUF_SIZE 4096
#define ECHO_BACKLOG 4096

typedef struct echo_server {
    int lfd;                  /* the listening socket, -1 once stopped           */
    int port;                 /* the port it listens on (host byte order)        */
    atomic_bool stopping;     /* set by echo_server_stop                         */
    atomic_bool loop_done;    /* the accept loop has returned                    */
    atomic_long accepted;     /* connections accepted                            */
    atomic_long active;       /* connection goroutines alive                     */
    atomic_long bytes;        /* bytes echoed                                    */
    atomic_long errors;       /* unexpected accept/read/write errors             */
    atomic_long emfile;       /* accepts that failed for lack of descriptors     */
} echo_server;

/* Serves one connection; arg points to an echo_conn_arg. */
typedef struct echo_conn_arg {
    echo_server *srv;
    int fd;
} echo_conn_arg;

static inline void echo_conn(void *arg)
{
    echo_conn_arg a = *(echo_conn_arg *)arg;
    free(arg);
    int one = 1;
    (void)setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[ECHO_BUF_SIZE];
    for (;;) {
        ptrdiff_t n = gs_read(a.fd, buf, sizeof buf);
        if (n == 0)
            break; /* the client closed */
        if (n < 0) {
            /* A reset by the peer or a cancel at shutdown is not the server's fault. */
            if (n != -ECONNRESET && n != GS_ECANCELED)
                atomic_fetch_add(&a.srv->errors, 1);
            break;
        }
        ptrdiff_t w = gs_write(a.fd, buf, (size_t)n);
        if (w != n) {
            if (w != -EPIPE && w != -ECONNRESET && w != GS_ECANCELED)
                atomic_fetch_add(&a.srv->errors, 1);
            break;
        }
        atomic_fetch_add(&a.srv->bytes, n);
    }
    gs_close(a.fd);
    atomic_fetch_sub(&a.srv->active, 1);
}

/* The accept loop: one goroutine per connection, until the listener is closed. */
static inline void echo_accept_loop(void *arg)
{
    echo_server *srv = arg;
    gs_go_opts opts = {0, "echo-conn", 0};
    while (!atomic_load(&srv->stopping)) {
        int fd = gs_accept(srv->lfd, NULL, NULL);
        if (fd < 0) {
            if (fd == GS_ECANCELED || atomic_load(&srv->stopping))
                break;
            if (fd == -EMFILE || fd == -ENFILE) {
                atomic_fetch_add(&srv->emfile, 1); /* gs_accept already backed off */
                continue;
            }
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue;
            atomic_fetch_add(&srv->errors, 1);
            gs_sleep(1000000); /* unexpected: do not spin */
            continue;
        }
        echo_conn_arg *a = malloc(sizeof *a);
        if (a == NULL) {
            gs_close(fd);
            atomic_fetch_add(&srv->errors, 1);
            continue;
        }
        a->srv = srv;
        a->fd = fd;
        atomic_fetch_add(&srv->accepted, 1);
        atomic_fetch_add(&srv->active, 1);
        if (gs_go_with(echo_conn, a, &opts) < 0) {
            atomic_fetch_sub(&srv->active, 1);
            atomic_fetch_add(&srv->errors, 1);
            free(a);
            gs_close(fd);
        }
    }
    atomic_store(&srv->loop_done, true);
}

/* Binds a TCP listener to 127.0.0.1:port (0: ephemeral). Returns the fd or -errno;
 * *bound receives the port. */
static inline int echo_listen_loopback(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, ECHO_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

/* Listens on 127.0.0.1:port and starts the accept goroutine. The runtime must be
 * initialized. Returns 0 or a negative error code. */
static inline int echo_server_start(echo_server *srv, int port)
{
    memset(srv, 0, sizeof *srv);
    srv->lfd = -1;
    int fd = echo_listen_loopback(port, &srv->port);
    if (fd < 0)
        return fd;
    srv->lfd = fd;
    gs_go_opts opts = {0, "echo-accept", 0};
    int64_t id = gs_go_with(echo_accept_loop, srv, &opts);
    if (id < 0) {
        close(fd);
        srv->lfd = -1;
        return (int)id;
    }
    return 0;
}

/* Stops accepting: gs_close on the listener wakes the accept goroutine with
 * GS_ECANCELED. Connections already accepted end when their clients close. */
static inline void echo_server_stop(echo_server *srv)
{
    if (srv->lfd < 0)
        return;
    atomic_store(&srv->stopping, true);
    gs_close(srv->lfd);
    srv->lfd = -1;
}

/* Connects a new socket to 127.0.0.1:port with gs_connect (from a goroutine it parks;
 * from a foreign thread it blocks). Returns the fd or a negative error code. */
static inline int echo_dial_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    int rc = gs_connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc != 0) {
        gs_close(fd);
        return rc;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Reads exactly n bytes (io.ReadFull): n, 0 at a premature end of file, or a
 * negative error code. */
static inline ptrdiff_t echo_read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ptrdiff_t r = gs_read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return r;
        got += (size_t)r;
    }
    return (ptrdiff_t)n;
}

#endif /* GOSCHED_EXAMPLE_ECHO_SERVER_H */
