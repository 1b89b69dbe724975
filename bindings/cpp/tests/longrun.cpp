// gs::Config::longrun_ms: with Config{}.with_longrun(50ms), a goroutine that spins
// 100 ms of CPU without a scheduling point is reported on stderr (id, name, how long)
// and one that yields while spinning as long is not; with the default (0) nothing is
// reported. The 0.1 positional initializer Config{n, stack, threads, flags} still
// compiles. stderr goes to a temporary file during each run.
// requires: gs_init_sized gs_go_with

#include "gosched.hpp"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "check.hpp"

static int64_t thread_cpu_ns() {
    timespec ts{};
    CHECK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Spins until its thread spent `ns` on the CPU, yielding every 100 us if `yield`.
static void spin_cpu(int64_t ns, bool yield) {
    int64_t used = 0, start = thread_cpu_ns(), next = 0;
    while (used < ns) {
        if (yield && gs_nanotime() >= next) {
            gs::yield();
            next = gs_nanotime() + 100000;
            start = thread_cpu_ns() - used;
        }
        used = thread_cpu_ns() - start;
    }
}

struct Ran {
    int64_t spinner = 0, yielder = 0;
    std::string err;
};

static Ran run(const gs::Config& cfg) {
    Ran r;
    std::fflush(stderr);
    char path[] = "/tmp/gs-longrun-cpp-XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    const int saved = dup(2);
    CHECK(saved >= 0 && dup2(fd, 2) == 2);
    {
        gs::Runtime rt{cfg};
        r.spinner = gs::go(gs::GoOptions{}.with_name("cpp-spinner"), [] { spin_cpu(100000000, false); });
        rt.wait();
        r.yielder = gs::go(gs::GoOptions{}.with_name("cpp-yielder"), [] { spin_cpu(100000000, true); });
        rt.wait();
    }
    std::fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    char buf[8192];
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    CHECK(n >= 0);
    close(fd);
    r.err.assign(buf, static_cast<size_t>(n));
    return r;
}

int main() {
    using namespace std::chrono_literals;
    unsetenv("GS_DEBUG");
    // The 0.1 fields, positionally: still an aggregate that takes them.
    const gs::Config old{1, 0, 0, 0};
    CHECK(old.nprocs == 1 && old.longrun_ms == 0);
    CHECK(gs::Config{}.with_longrun(-5ms).longrun_ms == 0);
    CHECK(gs::Config{}.with_longrun(std::chrono::hours(24 * 365 * 1000)).longrun_ms == UINT32_MAX);

    Ran r = run(gs::Config{}.with_nprocs(1).with_longrun(50ms));
    const std::string want = "goroutine " + std::to_string(r.spinner) + " \"cpp-spinner\" has run ";
    const size_t at = r.err.find(want);
    if (at == std::string::npos) {
        std::fprintf(stderr, "the spinner was not reported:\n%s", r.err.c_str());
        return 1;
    }
    const long ms = std::strtol(r.err.c_str() + at + want.size(), nullptr, 10);
    CHECK(ms >= 50 && ms < 10000);
    CHECK(r.err.find("without a scheduling point") != std::string::npos);
    CHECK(r.err.find("goroutine " + std::to_string(r.yielder) + " ") == std::string::npos);

    r = run(old);
    if (r.err.find("without a scheduling point") != std::string::npos) {
        std::fprintf(stderr, "reported with the detector off:\n%s", r.err.c_str());
        return 1;
    }
    std::printf("longrun: reported after %ld ms with with_longrun(50ms), silent by default\n", ms);
    return 0;
}
