// gs::WaitGroup and gs::Mutex (with std::lock_guard, std::unique_lock, try_lock).
// requires: gs_init gs_go_with gs_waitgroup_new gs_waitgroup_add gs_waitgroup_wait gs_mutex_new gs_mutex_lock gs_mutex_trylock gs_mutex_unlock

#include "gosched.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "check.hpp"

int main() {
    gs::Runtime rt{gs::Config{}.with_nprocs(2)};

    // WaitGroup joins goroutines; waiting works from goroutines and threads.
    {
        gs::WaitGroup wg;
        std::atomic<int> done{0};
        wg.add(200);
        for (int i = 0; i < 200; i++) {
            gs::go([&wg, &done, i] {
                for (int k = 0; k < i % 5; k++) gs::yield();
                done.fetch_add(1);
                wg.done();
            });
        }
        gs::WaitGroup inner;
        inner.add(1);
        std::atomic<bool> goroutine_saw_all{false};
        gs::go([&] {
            wg.wait();
            goroutine_saw_all = done.load() == 200;
            inner.done();
        });
        wg.wait();
        CHECK(done.load() == 200);
        inner.wait();
        CHECK(goroutine_saw_all.load());
        CHECK_THROWS_CODE(wg.done(), GS_EINVAL);  // below zero: Go panics, we throw
        CHECK_THROWS_CODE(wg.add(-1), GS_EINVAL);
    }

    // Mutex: goroutines switch while holding it; threads take it too.
    {
        gs::Mutex mu;
        int inside = 0, overlaps = 0;
        long counter = 0;
        gs::WaitGroup wg;
        wg.add(20);
        for (int i = 0; i < 20; i++) {
            gs::go([&] {
                for (int k = 0; k < 50; k++) {
                    std::lock_guard<gs::Mutex> lock(mu);
                    if (++inside != 1) overlaps++;
                    gs::yield();
                    counter++;
                    inside--;
                }
                wg.done();
            });
        }
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; t++) {
            threads.emplace_back([&] {
                for (int k = 0; k < 50; k++) {
                    std::unique_lock<gs::Mutex> lock(mu);
                    if (++inside != 1) overlaps++;
                    counter++;
                    inside--;
                    lock.unlock();
                    CHECK(!lock.owns_lock());
                }
            });
        }
        for (auto& th : threads) th.join();
        wg.wait();
        CHECK(overlaps == 0);
        CHECK(counter == 22 * 50);

        CHECK(mu.try_lock());
        CHECK(!mu.try_lock());
        std::atomic<bool> got{false};
        gs::go([&] {
            std::unique_lock<gs::Mutex> lock(mu, std::try_to_lock);
            CHECK(!lock.owns_lock());
            lock.lock();  // parks until the main thread unlocks
            got = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        CHECK(!got.load());
        mu.unlock();
        rt.wait();
        CHECK(got.load());
        std::scoped_lock both(mu);  // Lockable: works with the standard lock types
    }
    std::puts("sync: OK");
    return 0;
}
