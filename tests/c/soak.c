/*
 * Soak: mixed work under a signal storm (storm.h) for a long time, at nprocs 1, 2, 4
 * and 8 in turn, one runtime per nprocs. Every sample prints the process's RSS,
 * threads and fds; they must stay flat: no leak of memory, threads or descriptors
 * while the work goes on, and back to where they started after each gs_shutdown.
 *
 *   SOAK_SECONDS   total length (default 20; `make soak` runs 600)
 *   SOAK_SAMPLE    seconds between samples (default 2; `make soak`: 60)
 *
 * Flat means: after the first sample of a phase (the warm-up: pools and stacks
 * filled), RSS never exceeds that sample by more than a quarter plus 16 MiB; the
 * threads grow by 3 at most (an M is made when every M is busy and a P needs one, and
 * is kept, as in Go: a few more may come, never a stream); fds vary by at most 16
 * (the work opens and closes sockets all the time); after the phase's gs_shutdown,
 * threads and fds are those of before its gs_init.
 */
#include "common.h"
#include "storm.h"

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v != NULL && atoi(v) > 0 ? atoi(v) : dflt;
}

int main(void)
{
    int total_s = env_int("SOAK_SECONDS", 20);
    int sample_s = env_int("SOAK_SAMPLE", 2);
    static const uint32_t procs[] = {1, 2, 4, 8};
    int phase_s = total_s / 4 > sample_s ? total_s / 4 : sample_s;
    printf("soak: %d s at each of nprocs 1, 2, 4, 8, a sample every %d s\n", phase_s, sample_s);
    fflush(stdout);
    for (size_t pi = 0; pi < sizeof procs / sizeof procs[0]; pi++) {
        int threads0 = count_dir_entries("/proc/self/task");
        int fds0 = count_dir_entries("/proc/self/fd");
        init_procs(procs[pi]);
        storm_start();
        long rss_first = 0;
        int threads_first = 0, fds_first = 0;
        int64_t start = mono_ns();
        for (int k = 1; (int64_t)k * sample_s <= phase_s; k++) {
            storm_wait((int64_t)sample_s * 1000000000LL);
            long rss = rss_kib();
            int threads = count_dir_entries("/proc/self/task");
            int fds = count_dir_entries("/proc/self/fd");
            gs_stats st = stats_now();
            printf("nprocs=%u t=%3.0fs rss=%ld KiB threads=%d fds=%d goroutines=%llu signals=%ld\n",
                   procs[pi], (double)(mono_ns() - start) / 1e9, rss, threads, fds,
                   (unsigned long long)st.goroutines, atomic_load(&handled));
            fflush(stdout);
            if (k == 1) {
                rss_first = rss;
                threads_first = threads;
                fds_first = fds;
                continue;
            }
            if (rss > rss_first + rss_first / 4 + 16 * 1024)
                FAIL("nprocs %u: RSS grew from %ld to %ld KiB", procs[pi], rss_first, rss);
            if (threads > threads_first + 3)
                FAIL("nprocs %u: %d threads, %d at the first sample", procs[pi], threads,
                     threads_first);
            if (fds > fds_first + 16 || fds < fds_first - 16)
                FAIL("nprocs %u: %d fds, %d at the first sample", procs[pi], fds, fds_first);
        }
        storm_stop();
        CHECK_RC(gs_shutdown(), 0);
        int threads = count_dir_entries("/proc/self/task");
        int fds = count_dir_entries("/proc/self/fd");
        printf("nprocs=%u after gs_shutdown: threads=%d fds=%d (before gs_init: %d, %d)\n",
               procs[pi], threads, fds, threads0, fds0);
        fflush(stdout);
        CHECK_EQ(threads, threads0);
        CHECK_EQ(fds, fds0);
    }
    printf("soak: flat\n");
    return 0;
}
