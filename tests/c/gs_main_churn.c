/*
 * gs_main over and over while a foreign thread keeps spawning goroutines: the host M
 * of each gs_main is woken, handed Ps (startm) and leaves while other Ms start and
 * stop. Every gs_main must return 0, no goroutine may be lost, and nothing may crash
 * (this is the race between startm handing a P to an idle host M and that M leaving).
 */
#include "common.h"

enum { ROUNDS = 300, CHILDREN = 20 };

static atomic_long ran, spawned;
static atomic_int stop;

static void child(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++)
        CHECK(gs_gosched() == 0);
    atomic_fetch_add(&ran, 1);
}

static void main_fn(void *arg) {
    (void)arg;
    for (int i = 0; i < CHILDREN; i++) {
        CHECK(gs_go(child, NULL) > 0);
        atomic_fetch_add(&spawned, 1);
    }
    /* Sometimes end at once, sometimes after a yield, so the host M is idle or busy. */
    if (gs_goid() % 2)
        CHECK(gs_gosched() == 0);
}

static void *spawner(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        /* Keep the backlog bounded: unthrottled, a loaded machine lets it grow to
         * millions (each yielding child holding a stack), and every gs_main waits
         * behind it. */
        while (atomic_load(&spawned) - atomic_load(&ran) > 5000 && !atomic_load(&stop)) {
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
        }
        int64_t r = gs_go(child, NULL);
        CHECK(r > 0);
        atomic_fetch_add(&spawned, 1);
        if (atomic_load(&spawned) % 64 == 0) {
            struct timespec ts = {0, 20 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int main(void) {
    gs_config cfg = {.nprocs = 2};
    CHECK(gs_init(&cfg) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, spawner, NULL) == 0);
    for (int r = 0; r < ROUNDS; r++)
        CHECK(gs_main(main_fn, NULL) == 0);
    atomic_store(&stop, 1);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(gs_wait(TEST_WAIT_NS) == 0);
    CHECK(atomic_load(&ran) == atomic_load(&spawned));
    CHECK(gs_shutdown() == 0);
    printf("gs_main_churn: %d gs_main calls, %ld goroutines, none lost\n", ROUNDS, atomic_load(&ran));
    return 0;
}
