// gs::go with trivially copyable callables: copied onto the goroutine's stack by
// gs_go_copy, so spawning allocates nothing on the heap; the copy is the goroutine's
// own (changing the original afterwards changes nothing), survives yields and moves
// between threads, and large captures (beyond what waits in the G) work too. Other
// callables (non-trivial captures, named goroutines) still go through a heap box.
// requires: gs_init gs_go_with gs_go_copy_with gs_wait gs_shutdown gs_waitgroup_new

#include "gosched.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "check.hpp"

namespace {

std::atomic<long> g_news{0};

}  // namespace

// Counts every heap allocation of the program. (GCC, seeing through the replaced
// operators, takes their malloc/free pairing for a mismatch.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

struct Big {
    long words[40];  // 320 bytes: more than waits in the G
};

struct NonTrivial {
    ~NonTrivial() {}  // something to destroy: goes through the heap box
    void operator()() const {}
};

std::atomic<int> g_plain{0};
void plain() { g_plain.fetch_add(1); }

}  // namespace

int main() {
    gs::Runtime rt{gs::Config{}.with_nprocs(2)};
    constexpr int N = 1000;
    std::atomic<int> ok{0}, bad{0};
    Big big{};
    for (int i = 0; i < 40; i++) big.words[i] = 1000 + i;

    auto small = [&ok, &bad](int i) {
        return [&ok, &bad, i] {
            const int mine = i;
            gs::yield();
            (mine == i ? ok : bad).fetch_add(1);
        };
    };
    static_assert(gs::detail::copied_into_goroutine<decltype(small(0))>);
    static_assert(gs::detail::copied_into_goroutine<Big>);
    static_assert(!gs::detail::copied_into_goroutine<NonTrivial>);

    const long before = g_news.load();
    for (int i = 0; i < N; i++) gs::go(small(i));
    for (int i = 0; i < N; i++) {
        big.words[0] = i;
        gs::go([big, &ok, &bad, i] {
            bool good = big.words[0] == i;
            gs::yield();
            for (int k = 1; k < 40; k++) good &= big.words[k] == 1000 + k;
            (good ? ok : bad).fetch_add(1);
        });
        big.words[1] = -1;  // the goroutine has its own copy
        big.words[1] = 1001;
    }
    gs::go(plain);
    gs::go(&plain);
    const long spawned_news = g_news.load() - before;
    rt.wait();
    CHECK(bad.load() == 0);
    CHECK(ok.load() == 2 * N);
    CHECK(g_plain.load() == 2);
    CHECK(spawned_news == 0);  // no heap box for any of them

    // A named goroutine keeps the boxed path (its name is kept for error messages).
    const long before_named = g_news.load();
    gs::go(gs::GoOptions{}.with_name("named"), small(7));
    CHECK(g_news.load() > before_named);
    rt.wait();
    CHECK(ok.load() == 2 * N + 1);

    // Options still apply to copied callables: a small stack, and errors are thrown.
    gs::go(gs::GoOptions{}.with_stack_size(16 << 10), small(8));
    rt.wait();
    CHECK(ok.load() == 2 * N + 2);
    CHECK_THROWS_CODE(gs::go(gs::GoOptions{}.with_stack_size(1024), small(9)), GS_EINVAL);
    std::puts("go_copied: OK");
    return 0;
}
