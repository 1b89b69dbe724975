// gs::Runtime, gs::go (captures moved in, destroyed when the goroutine ends), gs::yield,
// gs::sleep_for, gs::Error from setup failures.
// requires: gs_init gs_go_with gs_wait gs_shutdown gs_sleep gs_waitgroup_new
// cxxflags: -Wno-pedantic
// (API.md's `gs::Config{.nprocs = 4}` is a C++20 designated initializer, which g++ and
// clang++ accept in C++17 as an extension, and -pedantic rejects; every other test is
// built with -pedantic.)

#include "gosched.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <vector>

#include "check.hpp"

namespace {

std::atomic<int> g_alive{0};

struct Tracker {
    int value;
    explicit Tracker(int v) : value(v) { g_alive.fetch_add(1); }
    ~Tracker() { g_alive.fetch_sub(1); }
    Tracker(const Tracker&) = delete;
    Tracker& operator=(const Tracker&) = delete;
};

std::atomic<int> g_plain_calls{0};
void plain_function() { g_plain_calls.fetch_add(1); }

struct Functor {
    std::atomic<int>* hits;
    void operator()() const { hits->fetch_add(1); }
};

}  // namespace

int main() {
    {
        gs::Runtime rt{gs::Config{.nprocs = 4}};  // the line from API.md (C++20 syntax, see cxxflags)

        // A second runtime cannot start while this one runs.
        CHECK_THROWS_CODE(gs::Runtime{}, GS_EALREADY);

        // Move-only captures are moved into the goroutine and die when it ends.
        std::atomic<int> seen{0};
        gs::WaitGroup wg;
        for (int i = 0; i < 100; i++) {
            auto t = std::make_unique<Tracker>(i);
            wg.add(1);
            gs::go([t = std::move(t), &seen, &wg, i] {
                CHECK(t->value == i);
                gs::yield();
                CHECK(t->value == i);
                seen.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        rt.wait();  // every goroutine has ended...
        CHECK(seen.load() == 100);
        CHECK(g_alive.load() == 0);  // ...and its callable was destroyed with it

        // Plain functions, function objects, named goroutines.
        std::atomic<int> hits{0};
        gs::go(plain_function);
        gs::go(&plain_function);
        gs::go(Functor{&hits});
        const int64_t id = gs::go(gs::GoOptions{}.with_name("named"), Functor{&hits});
        CHECK(id > 0);
        rt.wait();
        CHECK(g_plain_calls.load() == 2);
        CHECK(hits.load() == 2);

        // Distinct ids, visible from inside.
        std::vector<int64_t> inside(50, 0), outside(50, 0);
        for (int i = 0; i < 50; i++) outside[i] = gs::go([&inside, i] { inside[i] = gs::goid(); });
        rt.wait();
        CHECK(inside == outside);
        CHECK(std::set<int64_t>(outside.begin(), outside.end()).size() == 50);
        CHECK(gs::goid() == 0);

        // sleep_for parks goroutines concurrently.
        const auto t0 = std::chrono::steady_clock::now();
        std::atomic<int> slept{0};
        for (int i = 0; i < 20; i++) {
            gs::go([&slept] {
                const auto s = std::chrono::steady_clock::now();
                gs::sleep_for(std::chrono::milliseconds(30));
                if (std::chrono::steady_clock::now() - s >= std::chrono::milliseconds(29)) slept.fetch_add(1);
            });
        }
        rt.wait();
        const auto took = std::chrono::steady_clock::now() - t0;
        CHECK(slept.load() == 20);
        CHECK(took < std::chrono::milliseconds(600));

        // wait_for times out while a goroutine sleeps.
        gs::go([] { gs::sleep_for(std::chrono::milliseconds(200)); });
        CHECK(!rt.wait_for(std::chrono::milliseconds(10)));
        CHECK(rt.wait_for(std::chrono::seconds(10)));

        CHECK(rt.shutdown() == 0);
        // After shutdown, spawning is an error carrying the code.
        auto t = std::make_unique<Tracker>(7);
        CHECK_THROWS_CODE(gs::go([t = std::move(t)] {}), GS_ENOTINIT);
        CHECK(g_alive.load() == 0);  // the callable of a goroutine never started is freed
    }

    // A bad configuration is a setup failure.
    CHECK_THROWS_CODE(gs::Runtime{gs::Config{}.with_nprocs(100000)}, GS_EINVAL);

    // The runtime starts again.
    {
        gs::Runtime rt;
        std::atomic<int> n{0};
        for (int i = 0; i < 10; i++) gs::go([&n] { n.fetch_add(1); });
        rt.wait();
        CHECK(n.load() == 10);
    }
    std::puts("runtime_go: OK");
    return 0;
}
