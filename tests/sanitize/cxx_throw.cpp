// C++ exceptions thrown and caught inside goroutines, with switches inside the try
// block and around it, many goroutines at once: nothing may be reported under a
// sanitizer, and every exception is caught where it should be.
#include <gosched.h>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>

static std::atomic<long> caught{0};

struct Guard {
    int *p;
    ~Guard() { ++*p; }
};

__attribute__((noinline)) static void thrower(int depth, int id)
{
    char buf[128];
    buf[depth % 128] = char(id);
    if (depth == 0) {
        gs_gosched();
        throw std::runtime_error("goroutine " + std::to_string(id));
    }
    thrower(depth - 1, id);
    (void)buf[0];
}

static void worker(void *arg)
{
    int id = int(reinterpret_cast<long>(arg));
    int destroyed = 0;
    for (int i = 0; i < 20; i++) {
        try {
            Guard g{&destroyed};
            gs_gosched();
            thrower(i % 8, id);
        } catch (const std::runtime_error &e) {
            if (std::string(e.what()) == "goroutine " + std::to_string(id))
                caught++;
        }
        gs_gosched();
    }
    if (destroyed != 20)
        std::fprintf(stderr, "goroutine %d: %d destructors ran, want 20\n", id, destroyed), std::abort();
}

int main()
{
    if (gs_init(nullptr) != 0)
        return 2;
    for (long i = 0; i < 100; i++)
        gs_go(worker, reinterpret_cast<void *>(i));
    if (gs_wait(-1) != 0)
        return 3;
    gs_shutdown();
    std::printf("%ld exceptions caught\n", caught.load());
    return caught.load() == 2000 ? 0 : 1;
}
