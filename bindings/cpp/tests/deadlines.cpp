// time_point deadlines: sleep_until, recv_until, send_until, select_until,
// WaitGroup::wait_for/wait_until, Mutex::try_lock_for/try_lock_until (std::timed_mutex-
// style code through std::unique_lock), Runtime::wait_until; a frame loop driven by
// deadlines; which types move.
// requires: gs_init gs_chan_recv_timeout gs_select gs_waitgroup_wait_timeout gs_mutex_lock_timeout

#include "gosched.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Pinned and movable types, as documented.
static_assert(std::is_move_constructible_v<gs::Runtime>, "Runtime moves");
static_assert(!std::is_copy_constructible_v<gs::Runtime>, "Runtime does not copy");
static_assert(!std::is_move_assignable_v<gs::Runtime>, "Runtime is not move-assigned");
static_assert(!std::is_move_constructible_v<gs::WaitGroup> && !std::is_copy_constructible_v<gs::WaitGroup>,
              "WaitGroup is pinned");
static_assert(!std::is_move_constructible_v<gs::Mutex> && !std::is_copy_constructible_v<gs::Mutex>, "Mutex is pinned");
static_assert(std::is_copy_constructible_v<gs::Chan<int>> && std::is_move_constructible_v<gs::Chan<int>>,
              "Chan is a handle");

static gs::Runtime make_runtime() {
    gs::Runtime rt{gs::Config{}.with_nprocs(2)};
    return rt;  // moved out of the factory
}

static double ms_since(steady::time_point t) {
    return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

// A 60 FPS loop in which each frame's work must finish by the frame's deadline:
// workers are joined with wait_until, results are collected with recv_until, and the
// loop sleeps until the next frame starts.
static void frame_loop() {
    const auto frame = 16ms;
    const int frames = 20;
    gs::Chan<int> results{64};
    int late_frames = 0, collected = 0;
    auto next = steady::now() + frame;
    const auto start = steady::now();
    for (int f = 0; f < frames; f++) {
        auto deadline = next - 4ms;  // leave time for the rest of the frame
        gs::WaitGroup wg;
        wg.add(4);
        for (int j = 0; j < 4; j++) {
            gs::go([&wg, results, j]() mutable {
                gs::sleep_for(1ms);
                results.send(j);
                wg.done();
            });
        }
        if (!wg.wait_until(deadline)) {
            CHECK(steady::now() >= deadline);  // false only once the deadline passed
            late_frames++;
        }
        wg.wait();  // the WaitGroup is on this frame's stack: join before it goes
        gs::Status st = gs::Status::ok;
        while (auto v = results.recv_until(deadline, &st)) collected++;
        CHECK(st == gs::Status::timeout);  // drained: the deadline ends the loop
        CHECK(steady::now() >= deadline);
        gs::sleep_until(next);
        CHECK(steady::now() >= next);
        next += frame;
    }
    const double took = ms_since(start);
    CHECK(collected == 4 * frames);
    // (How many frames were late depends on how busy the machine is: not checked.)
    CHECK(took >= 16.0 * frames - 1 && took < 16.0 * frames * 3);
    std::printf("frame loop: %d frames in %.1f ms, %d late\n", frames, took, late_frames);
}

static void chan_deadlines() {
    gs::Chan<int> ch{1};
    gs::Status st = gs::Status::ok;
    // Passed, and in the future, on two clocks.
    CHECK(!ch.recv_until(steady::now() - 1s, &st) && st == gs::Status::timeout);
    auto t = steady::now();
    CHECK(!ch.recv_until(steady::now() + 30ms, &st) && st == gs::Status::timeout);
    CHECK(ms_since(t) >= 29);
    CHECK(!ch.recv_until(std::chrono::system_clock::now() + 10ms, &st) && st == gs::Status::timeout);
    int v = 5;
    CHECK(ch.send_until(v, steady::now() + 1s) == gs::Status::ok);
    int w = 6;
    CHECK(ch.send_until(w, steady::now()) == gs::Status::timeout);  // full, deadline now
    CHECK(ch.send_until(w, steady::now() + 20ms) == gs::Status::timeout);
    CHECK(w == 6);
    auto got = ch.recv_until(steady::now() + 1s, &st);
    CHECK(got && *got == 5 && st == gs::Status::ok);

    gs::Chan<int> a{0}, b{0};
    std::optional<int> ra, rb;
    t = steady::now();
    CHECK(gs::select_until(steady::now() + 20ms, gs::on_recv(a, ra), gs::on_recv(b, rb)) == -1);
    CHECK(ms_since(t) >= 19);
    gs::go([b]() mutable { b.send(9); });
    CHECK(gs::select_until(steady::now() + 5s, gs::on_recv(a, ra), gs::on_recv(b, rb)) == 1);
    CHECK(rb && *rb == 9 && !ra);
}

static void waitgroup_deadlines() {
    gs::WaitGroup wg;
    CHECK(wg.wait_for(0ms));  // counter 0
    wg.add(1);
    auto t = steady::now();
    CHECK(!wg.wait_for(20ms));
    CHECK(ms_since(t) >= 19);
    CHECK(!wg.wait_until(steady::now() - 1ms));
    gs::go([&wg] {
        gs::sleep_for(10ms);
        wg.done();
    });
    CHECK(wg.wait_until(steady::now() + 5s));
    // From a goroutine too (it parks).
    gs::WaitGroup outer, inner;
    inner.add(1);
    outer.add(1);
    std::atomic<int> timed_out{0};
    gs::go([&] {
        if (!inner.wait_for(15ms)) timed_out++;
        outer.done();
    });
    outer.wait();
    inner.done();
    CHECK(timed_out == 1);
}

static void mutex_deadlines() {
    gs::Mutex mu;
    CHECK(mu.try_lock_for(0ms));
    auto t = steady::now();
    CHECK(!mu.try_lock_for(20ms));
    CHECK(ms_since(t) >= 19);
    CHECK(!mu.try_lock_until(steady::now() + 10ms));
    mu.unlock();
    // std::timed_mutex-style code: std::unique_lock with a timeout, contended by
    // goroutines that hold the mutex for a while.
    std::atomic<int> in{0}, max_in{0}, timeouts{0}, took{0};
    gs::WaitGroup wg;
    for (int k = 0; k < 16; k++) {
        wg.add(1);
        gs::go([&] {
            for (int i = 0; i < 20; i++) {
                std::unique_lock<gs::Mutex> lock(mu, std::defer_lock);
                if (!lock.try_lock_for(200us)) {
                    timeouts++;
                    continue;
                }
                const int n = ++in;
                if (n > max_in) max_in = n;
                gs::sleep_for(50us);
                --in;
                took++;
            }
            wg.done();
        });
    }
    wg.wait();
    CHECK(max_in == 1);
    CHECK(took + timeouts == 16 * 20);
    CHECK(took > 0);
    CHECK(timeouts > 0);  // 16 holders of 50 us each cannot all get it within 200 us
    // After timeouts nothing is stuck: the mutex is free and lockable.
    CHECK(mu.try_lock());
    mu.unlock();
    std::unique_lock<gs::Mutex> lk(mu, steady::now() + 1s);
    CHECK(lk.owns_lock());
    std::printf("mutex: %d taken, %d timed out\n", took.load(), timeouts.load());
}

int main() {
    gs::Runtime rt = make_runtime();
    gs::Runtime moved(std::move(rt));  // rt owns nothing now; its destructor does nothing
    frame_loop();
    chan_deadlines();
    waitgroup_deadlines();
    mutex_deadlines();
    gs::Chan<int> gate{0};
    gs::go([gate]() mutable { gate.recv(); });
    CHECK(!moved.wait_until(steady::now() + 20ms));
    gate.close();
    CHECK(moved.wait_until(steady::now() + 5s));
    return 0;
}
