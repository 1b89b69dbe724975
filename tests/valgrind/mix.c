/*
 * A little of everything, small enough to run under Valgrind's memcheck in the test
 * suite (tests/valgrind.rs): goroutines spawned from goroutines and a foreign thread,
 * park/ready, channels (unbuffered, buffered, select with a timeout), a mutex, a wait
 * group, sleeps, a pipe through the poller, arguments copied by gs_go_copy (kept in
 * the G and put on the stack), and shutdown with parked goroutines.
 * Exits 0 when every check passed; memcheck must report no error.
 */
#define _GNU_SOURCE
#include <gosched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

enum { N = 200 };

static gs_chan *unbuf, *buf;
static gs_mutex *mu;
static gs_waitgroup *wg;
static long counter;
static atomic_long received;
static int pfd[2];

static void producer(void *arg) {
    long base = (long)(intptr_t)arg;
    for (long i = 0; i < N; i++) {
        long v = base + i;
        CHECK(gs_chan_send(i % 2 ? unbuf : buf, &v) == 0);
        CHECK(gs_mutex_lock(mu) == 0);
        counter++;
        CHECK(gs_mutex_unlock(mu) == 0);
        if (i % 50 == 0)
            CHECK(gs_sleep(100 * 1000) == 0);
    }
    CHECK(gs_waitgroup_done(wg) == 0);
}

/* Started by gs_go_copy with a block that begins with the base. */
static void producer_copied(void *arg) {
    long base = *(long *)arg;
    producer((void *)(intptr_t)base);
}

static void consumer(void *arg) {
    (void)arg;
    long v;
    for (;;) {
        gs_select_case cases[2] = {{unbuf, GS_RECV, &v, 0}, {buf, GS_RECV, &v, 0}};
        int i = gs_select(cases, 2, 200 * 1000 * 1000);
        if (i == GS_ETIMEDOUT)
            break;
        CHECK(i == 0 || i == 1);
        if (cases[i].result == GS_ECLOSED)
            break;
        atomic_fetch_add(&received, 1);
    }
}

static void piper(void *arg) {
    (void)arg;
    char c;
    for (int i = 0; i < 20; i++) {
        CHECK(gs_read(pfd[0], &c, 1) == 1);
        CHECK(c == (char)('a' + i % 26));
    }
}

static bool unlock_nothing(gs_g *g, void *lock) {
    (void)g;
    (void)lock;
    return true;
}

static void forever(void *arg) {
    (void)arg;
    gs_park(unlock_nothing, NULL, "abandoned at shutdown");
}

static void *foreign(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        char c = (char)('a' + i % 26);
        CHECK(write(pfd[1], &c, 1) == 1);
        usleep(1000);
    }
    return NULL;
}

int main(void) {
    gs_config cfg = {.nprocs = 2};
    CHECK(gs_init(&cfg) == 0);
    unbuf = gs_chan_new(sizeof(long), 0);
    buf = gs_chan_new(sizeof(long), 16);
    mu = gs_mutex_new();
    wg = gs_waitgroup_new();
    CHECK(unbuf && buf && mu && wg);
    CHECK(pipe(pfd) == 0);
    CHECK(gs_waitgroup_add(wg, 4) == 0);
    for (int p = 0; p < 2; p++)
        CHECK(gs_go(producer, (void *)(intptr_t)(p * 1000)) > 0);
    for (int p = 2; p < 4; p++) {
        long block[16] = {p * 1000}; /* 8 bytes wait in the G, 128 on the stack */
        CHECK(gs_go_copy(producer_copied, block, p == 2 ? sizeof(long) : sizeof block) > 0);
    }
    for (int c = 0; c < 3; c++)
        CHECK(gs_go(consumer, NULL) > 0);
    CHECK(gs_go(piper, NULL) > 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, foreign, NULL) == 0);
    CHECK(gs_waitgroup_wait(wg) == 0); /* a foreign thread waits on goroutines */
    CHECK(gs_chan_close(unbuf) == 0);
    CHECK(gs_chan_close(buf) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(gs_wait(60LL * 1000 * 1000 * 1000) == 0);
    CHECK(counter == 4 * N);
    CHECK(atomic_load(&received) == 4 * N);
    for (int i = 0; i < 10; i++) {
        char block[200] = {(char)i};
        CHECK(gs_go_copy(forever, block, i % 2 ? 200 : 20) > 0);
    }
    gs_sleep(20 * 1000 * 1000);
    CHECK(gs_shutdown() == 10);
    CHECK(gs_chan_free(unbuf) == 0 && gs_chan_free(buf) == 0);
    CHECK(gs_mutex_free(mu) == 0 && gs_waitgroup_free(wg) == 0);
    gs_close(pfd[0]);
    close(pfd[1]);
    printf("valgrind mix: ok\n");
    return 0;
}
