// gs::RWMutex (std::shared_lock, std::unique_lock), gs::Once, gs::CondVar,
// gs::Semaphore, gs::Timer, gs::Ticker, gs::AfterFunc, gs::Context with gs::select.
// requires: gs_init gs_go_with gs_rwmutex_new gs_once_do gs_cond_new gs_semaphore_new gs_timer_new gs_ticker_new gs_after_func gs_context_with_cancel

#include "gosched.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

static gs::Once global_once;  // constant-initialised static

int main() {
    gs::Runtime rt{gs::Config{}.with_nprocs(2)};

    // RWMutex: readers together under std::shared_lock, a writer alone under
    // std::unique_lock; the data stays consistent.
    {
        gs::RWMutex rw;
        std::atomic<int> readers{0}, max_readers{0};
        long a = 0, b = 0;
        std::atomic<bool> torn{false};
        gs::WaitGroup wg;
        wg.add(8);
        for (int i = 0; i < 8; i++) {
            gs::go([&, i] {
                for (int k = 0; k < 2000; k++) {
                    if ((k + i) % 10 == 0) {
                        std::unique_lock<gs::RWMutex> w(rw);
                        a++;
                        if (k % 50 == 0) gs::yield();
                        b++;
                    } else {
                        std::shared_lock<gs::RWMutex> r(rw);
                        int n = readers.fetch_add(1) + 1;
                        int m = max_readers.load();
                        while (n > m && !max_readers.compare_exchange_weak(m, n)) {
                        }
                        if (a != b) torn = true;
                        if (k % 100 == 0) gs::yield();
                        readers.fetch_sub(1);
                    }
                }
                wg.done();
            });
        }
        std::thread t([&] {
            for (int k = 0; k < 2000; k++) {
                std::shared_lock<gs::RWMutex> r(rw);
                if (a != b) torn = true;
            }
        });
        wg.wait();
        t.join();
        CHECK(!torn.load());
        CHECK(a == b && a == 8 * 200);
        CHECK(max_readers.load() >= 1);
        {
            std::shared_lock<gs::RWMutex> r1(rw);
            std::shared_lock<gs::RWMutex> r2(rw, std::try_to_lock);  // readers share
            CHECK(r2.owns_lock());
            std::unique_lock<gs::RWMutex> w(rw, std::try_to_lock);  // a writer does not
            CHECK(!w.owns_lock());
        }
        std::unique_lock<gs::RWMutex> w(rw, std::try_to_lock);
        CHECK(w.owns_lock());
        std::shared_lock<gs::RWMutex> r(rw, std::try_to_lock);
        CHECK(!r.owns_lock());
        std::printf("RWMutex with std::shared_lock/std::unique_lock: ok\n");
    }

    // Once: 200 goroutines and 2 threads; the function runs once and all see it.
    {
        std::atomic<int> runs{0};
        long effect = 0;
        std::atomic<int> bad{0};
        auto body = [&] {
            global_once.call([&] {
                runs++;
                gs::sleep_for(10ms);
                effect = 42;
            });
            if (effect != 42) bad++;
        };
        gs::WaitGroup wg;
        wg.add(200);
        for (int i = 0; i < 200; i++) gs::go([&] {
            body();
            wg.done();
        });
        std::thread t1(body), t2(body);
        t1.join();
        t2.join();
        wg.wait();
        CHECK(runs.load() == 1 && bad.load() == 0 && global_once.done());
        std::printf("Once: ok\n");
    }

    // CondVar: producer/consumer over a gs::Mutex with std::unique_lock and predicates.
    {
        gs::Mutex mu;
        gs::CondVar cv(mu);
        std::vector<int> q;
        long sum = 0;
        bool closed = false;
        gs::WaitGroup wg;
        wg.add(4);
        for (int c = 0; c < 4; c++) {
            gs::go([&] {
                std::unique_lock<gs::Mutex> lk(mu);
                for (;;) {
                    cv.wait(lk, [&] { return !q.empty() || closed; });
                    if (q.empty()) break;
                    sum += q.back();
                    q.pop_back();
                }
                wg.done();
            });
        }
        for (int i = 1; i <= 10000; i++) {
            std::unique_lock<gs::Mutex> lk(mu);
            q.push_back(i);
            cv.notify_one();
        }
        {
            std::unique_lock<gs::Mutex> lk(mu);
            closed = true;
            cv.notify_all();
        }
        wg.wait();
        CHECK(sum == 10000L * 10001 / 2);
        std::unique_lock<gs::Mutex> lk(mu);
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(cv.wait_for(lk, 20ms) == std::cv_status::timeout);
        CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
        CHECK(!cv.wait_for(lk, 5ms, [] { return false; }));
        CHECK(lk.owns_lock() && !mu.try_lock());
        std::printf("CondVar: ok\n");
    }

    // Semaphore: the limit holds; timeouts; misuse throws.
    {
        gs::Semaphore sem(5);
        std::atomic<int> held{0};
        std::atomic<bool> over{false};
        gs::WaitGroup wg;
        wg.add(10);
        for (int i = 0; i < 10; i++) {
            gs::go([&, i] {
                for (int k = 0; k < 500; k++) {
                    const int n = 1 + (i + k) % 3;
                    sem.acquire(n);
                    if (held.fetch_add(n) + n > 5) over = true;
                    if (k % 10 == 0) gs::yield();
                    held.fetch_sub(n);
                    sem.release(n);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(!over.load() && sem.held() == 0);
        CHECK(sem.try_acquire(5));
        CHECK(!sem.try_acquire(1));
        CHECK(!sem.acquire_for(1, 10ms));
        sem.release(5);
        CHECK_THROWS_CODE(sem.release(1), GS_EPERM);
        CHECK_THROWS_CODE(sem.acquire(6), GS_EINVAL);
        std::printf("Semaphore: ok\n");
    }

    // Timer, Ticker, AfterFunc.
    {
        const int64_t t0 = gs_nanotime();
        gs::Timer t(10ms);
        CHECK(t.wait() >= t0 + 10'000'000);
        CHECK(!t.stop());
        CHECK(!t.reset(500ms));
        CHECK(t.stop());  // stopped before firing
        gs::Chan<int> never;
        std::optional<int> v;
        int64_t w = 0;
        CHECK(gs::select_for(600ms, gs::on_recv(never, v), t.on_fire(w)) == -1);  // stopped: never fires
        t.reset(5ms);
        int64_t when = 0;
        CHECK(gs::select(gs::on_recv(never, v), t.on_fire(when)) == 1);
        CHECK(when > t0);

        gs::Ticker tk(1ms);
        gs::sleep_for(20ms);
        CHECK(gs_chan_len(tk.chan()) <= 1);  // slow receiver: ticks dropped
        int64_t a = tk.recv(), b = tk.recv();
        CHECK(b > a);
        tk.stop();

        std::atomic<int> ran{0};
        {
            gs::AfterFunc af(5ms, [&] { ran++; });
            for (int i = 0; i < 5000 && ran.load() == 0; i++) gs::sleep_for(1ms);
            gs::sleep_for(20ms);
            CHECK(ran.load() == 1);
            CHECK(!af.stop());
            CHECK(!af.reset(500ms));
            CHECK(af.stop());  // prevented
        }
        {
            gs::AfterFunc af2(1ms, [&] { ran++; });  // destroyed before or after it runs
        }
        gs::sleep_for(30ms);
        CHECK(ran.load() >= 1 && ran.load() <= 2);
        std::printf("Timer, Ticker, AfterFunc: ok\n");
    }

    // Context: cancel propagates; timeout; select over done and a channel.
    {
        gs::Context root = gs::Context::with_cancel(gs::Context::background());
        gs::Context child = gs::Context::with_cancel(root);
        static int key;
        gs::Context val = gs::Context::with_value(child, &key, &key);
        CHECK(val.value(&key) == &key);
        CHECK(root.err() == 0 && !val.done());
        gs::Chan<int> jobs;
        std::atomic<int> woke{0};
        gs::WaitGroup wg;
        wg.add(10);
        for (int i = 0; i < 10; i++) {
            gs::go([&] {
                std::optional<int> job;
                if (gs::select(gs::on_recv(jobs, job), val.on_done()) == 1 && val.err() == GS_ECANCELED) woke++;
                wg.done();
            });
        }
        gs::sleep_for(5ms);
        root.cancel();
        wg.wait();
        CHECK(woke.load() == 10);
        CHECK(child.err() == GS_ECANCELED);
        const auto t0 = std::chrono::steady_clock::now();
        gs::Context tm = gs::Context::with_timeout(gs::Context::background(), 20ms);
        CHECK(tm.deadline().has_value());
        CHECK(tm.wait() == GS_ETIMEDOUT);
        CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
        CHECK_THROWS_CODE(val.cancel(), GS_EINVAL);
        std::printf("Context: ok\n");
    }
    return 0;
}
