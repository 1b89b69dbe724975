/*
 * 1,000,000 live goroutines parked at once on a default kernel (vm.max_map_count
 * 65530), at nprocs 2: spawn them, wait until gs_stats_get counts them all waiting,
 * check that /proc/self/maps stayed under the kernel's mapping limit, ready them all,
 * wait. Each goroutine touches as little of its stack as it can: this still takes a
 * few GB of memory, so it runs once.
 */
#include "common.h"

#define G_COUNT 1000000
#define DEFAULT_MAX_MAP_COUNT 65530

static _Atomic(gs_g *) handle[G_COUNT];
static unsigned char woke[G_COUNT];

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

static void sleeper(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    gs_park(publish, &handle[i], "one of a million");
    __atomic_fetch_add(&woke[i], 1, __ATOMIC_RELAXED);
}

static long rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE) / (1 << 20);
}

int main(void)
{
    int max_maps = DEFAULT_MAX_MAP_COUNT;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &max_maps) != 1)
            max_maps = DEFAULT_MAX_MAP_COUNT;
        fclose(f);
    }
    if (max_maps > DEFAULT_MAX_MAP_COUNT)
        printf("note: vm.max_map_count is %d; checking against the default %d\n", max_maps,
               DEFAULT_MAX_MAP_COUNT);

    init_procs(2);
    int64_t t0 = mono_ns();
    int maps_peak = 0;
    for (size_t i = 0; i < G_COUNT; i++) {
        int64_t id = gs_go(sleeper, (void *)(uintptr_t)i);
        if (id <= 0) {
            FAIL("gs_go number %zu returned %lld (%s); maps %d, RSS %ld MiB", i, (long long)id,
                 gs_strerror((int)id), count_lines("/proc/self/maps"), rss_mib());
        }
        if (i % 100000 == 99999) {
            int m = count_lines("/proc/self/maps");
            if (m > maps_peak)
                maps_peak = m;
        }
    }
    int64_t t1 = mono_ns();
    WAIT_PARKED(G_COUNT, 300000);
    gs_stats st = stats_now();
    CHECK_EQ(st.goroutines, G_COUNT);
    CHECK_EQ(st.waiting, G_COUNT);
    int maps = count_lines("/proc/self/maps");
    if (maps > maps_peak)
        maps_peak = maps;
    printf("%d goroutines parked (spawned in %.0f ms, all parked after %.0f ms): "
           "%d mappings, RSS %ld MiB\n",
           G_COUNT, (t1 - t0) / 1e6, (mono_ns() - t0) / 1e6, maps, rss_mib());
    CHECK(maps_peak < DEFAULT_MAX_MAP_COUNT);

    int64_t t2 = mono_ns();
    for (size_t i = 0; i < G_COUNT; i++) {
        gs_g *h = atomic_load(&handle[i]);
        CHECK(h != NULL);
        CHECK_RC(gs_ready(h), 0);
    }
    WAIT_ALL();
    for (size_t i = 0; i < G_COUNT; i++) {
        if (woke[i] != 1)
            FAIL("goroutine %zu woke %d times", i, woke[i]);
    }
    printf("readied and finished in %.0f ms\n", (mono_ns() - t2) / 1e6);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
