/*
 * 100 init / work / shutdown cycles. Each cycle spawns a few hundred goroutines, some
 * of which park forever and two of which yield forever; gs_shutdown must return
 * exactly the number abandoned, and
 * across the cycles no thread, file descriptor or memory mapping may leak
 * (/proc/self/task, /proc/self/fd, /proc/self/maps), nor address space (VmSize:
 * the kernel merges adjacent anonymous mappings, so a leaked stack slab need not add
 * a line to maps). A leak of one thing per cycle would show 90 times over.
 */
#include "common.h"

#include <malloc.h>

#define CYCLES 100
#define FINISHERS 250
#define PARKED 50
#define YIELDERS 2
#define ABANDONED (PARKED + YIELDERS)
/* Cycles before the counts are taken: the first uses of malloc arenas (limited to
 * two below; glibc would make up to 8 per core, one whenever threads contend) and of
 * glibc's cache of thread stacks are not leaks. They cover every nprocs used. */
#define WARMUP 10
/* Mappings that may still come and go without a leak (another malloc arena or
 * cached thread stack): far below one per cycle. */
#define MAPS_SLACK 16
/* Address space that may still come and go (glibc's thread-stack cache, say):
 * far below a leak of 1.5 MiB per cycle. One leaked stack slab per cycle would be
 * 90 x 64 MiB. */
#define VM_SLACK_KIB (128L << 10)

static atomic_int finished;

static void finisher(void *arg)
{
    (void)arg;
    volatile double x = 1;
    for (int i = 0; i < 100; i++)
        x = x * 1.0001;
    if ((atomic_fetch_add(&finished, 1) & 7) == 0)
        CHECK_RC(gs_gosched(), 0);
}

static void park_forever(void *arg)
{
    (void)arg;
    gs_park(NULL, NULL, "abandoned at shutdown");
    FAIL("an abandoned goroutine was woken");
}

static void yield_forever(void *arg)
{
    (void)arg;
    for (;;)
        CHECK_RC(gs_gosched(), 0);
}

static void spawner(void *arg)
{
    (void)arg;
    for (int i = 0; i < FINISHERS / 2; i++)
        CHECK_OK(gs_go(finisher, NULL));
    for (int i = 0; i < PARKED / 2; i++)
        CHECK_OK(gs_go(park_forever, NULL));
    CHECK_OK(gs_go(yield_forever, NULL));
}

static void cycle(int n)
{
    atomic_store(&finished, 0);
    init_procs(1 + (uint32_t)(n % 4));
    CHECK_OK(gs_go(spawner, NULL));
    for (int i = 0; i < FINISHERS - FINISHERS / 2; i++)
        CHECK_OK(gs_go(finisher, NULL));
    for (int i = 0; i < PARKED - PARKED / 2; i++)
        CHECK_OK(gs_go(park_forever, NULL));
    CHECK_OK(gs_go(yield_forever, NULL));
    int64_t deadline = mono_ns() + TEST_WAIT_NS;
    for (;;) {
        gs_stats st = stats_now();
        if (atomic_load(&finished) == FINISHERS && st.goroutines == ABANDONED &&
            st.waiting == PARKED)
            break;
        if (mono_ns() > deadline) {
            gs_dump(2);
            FAIL("cycle %d: %d finished, %llu alive, %llu waiting", n, atomic_load(&finished),
                 (unsigned long long)st.goroutines, (unsigned long long)st.waiting);
        }
        sleep_ms(1);
    }
    int rc = gs_shutdown();
    if (rc != ABANDONED)
        FAIL("cycle %d: gs_shutdown returned %d, want %d abandoned goroutines", n, rc,
             ABANDONED);
}

/* The process's virtual size in KiB (VmSize in /proc/self/status). */
static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
            break;
    }
    fclose(f);
    CHECK(kib > 0);
    return kib;
}

int main(void)
{
    CHECK(mallopt(M_ARENA_MAX, 2) == 1);
    for (int n = 0; n < WARMUP; n++)
        cycle(n);
    int threads0 = count_dir_entries("/proc/self/task");
    int fds0 = count_dir_entries("/proc/self/fd");
    int maps0 = count_lines("/proc/self/maps");
    int maps_max = maps0;
    long vm0 = vm_size_kib();
    for (int n = WARMUP; n < CYCLES; n++) {
        cycle(n);
        int m = count_lines("/proc/self/maps");
        if (m > maps_max)
            maps_max = m;
    }
    int threads1 = count_dir_entries("/proc/self/task");
    int fds1 = count_dir_entries("/proc/self/fd");
    int maps1 = count_lines("/proc/self/maps");
    long vm1 = vm_size_kib();
    printf("after %d more cycles: threads %d -> %d, fds %d -> %d, maps %d -> %d (max %d)\n", CYCLES - WARMUP,
           threads0, threads1, fds0, fds1, maps0, maps1, maps_max);
    CHECK_EQ(threads1, 1);
    CHECK_EQ(threads1, threads0);
    CHECK_EQ(fds1, fds0);
    CHECK(maps1 <= maps0 + MAPS_SLACK);
    CHECK(maps_max <= maps0 + MAPS_SLACK);
    printf("virtual size %ld MiB -> %ld MiB\n", vm0 >> 10, vm1 >> 10);
    CHECK(vm1 <= vm0 + VM_SLACK_KIB);
    CHECK_RC(gs_shutdown(), GS_ENOTINIT);
    return 0;
}
