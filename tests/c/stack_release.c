/*
 * Deep stacks given back to the pool return their pages: goroutines that ran deep
 * (and switched while deep) leave no more than a small top part of their stacks
 * committed once they are dead and their stacks sit in the free caches.
 */
#include "common.h"

enum { N = 64, DEPTH_KIB = 160 };

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            break;
    fclose(f);
    CHECK(v > 0);
    return v;
}

/* Recurses about 1 KiB per level; yields at the bottom so the runtime sees how deep
 * the stack went. */
static int deep(int n) {
    volatile char pad[1000];
    pad[0] = (char)n;
    pad[999] = (char)n;
    if (n == 0) {
        CHECK(gs_gosched() == 0);
        return pad[0] + pad[999];
    }
    return deep(n - 1) + pad[0] - pad[999];
}

static atomic_int done;

static void worker(void *arg) {
    (void)arg;
    (void)deep(DEPTH_KIB);
    atomic_fetch_add(&done, 1);
}

int main(void) {
    gs_config cfg = {.nprocs = 2};
    CHECK(gs_init(&cfg) == 0);
    long base = rss_kib();
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++)
            CHECK(gs_go(worker, NULL) > 0);
        CHECK(gs_wait(TEST_WAIT_NS) == 0);
    }
    long after = rss_kib();
    long grown = after - base;
    printf("stack_release: %d goroutines x %d KiB deep, 4 rounds; RSS %ld -> %ld KiB (+%ld)\n",
           N, DEPTH_KIB, base, after, grown);
    CHECK(atomic_load(&done) == 4 * N);
    /* Without the release the cached stacks would keep N x DEPTH_KIB = 10 MiB
     * committed; with it, each keeps its top 32 KiB (2 MiB in all). */
    CHECK(grown < (long)N * DEPTH_KIB / 2);
    CHECK(gs_shutdown() == 0);
    return 0;
}
