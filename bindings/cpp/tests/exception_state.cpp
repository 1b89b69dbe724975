// Each goroutine has its own C++ exception state (the caught-exception stack and the
// uncaught count of the Itanium C++ ABI): yielding or blocking inside a catch handler,
// or in a destructor that runs during unwinding, leaves `throw;`,
// std::current_exception() and std::uncaught_exceptions() the goroutine's own, on
// whichever thread it resumes. Many goroutines at 2 Ps, so that they interleave on
// each thread and migrate between threads.
// requires: gs_init gs_go_with gs_wait gs_goexit gs_main gs_run_for

#include "gosched.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

#include "check.hpp"

namespace {

constexpr int N = 200;     // goroutines per case
constexpr int ROUNDS = 8;  // switches inside each handler

// The exception each goroutine throws: carries the goroutine's own number.
struct Tagged {
    int id;
    int level;
};

long tid() { return syscall(SYS_gettid); }

std::atomic<long> migrations{0};

// The number carried by the exception being handled right now, or -1.
int current_id() {
    std::exception_ptr p = std::current_exception();
    if (!p) return -1;
    try {
        std::rethrow_exception(p);
    } catch (const Tagged& t) {
        return t.id;
    } catch (...) {
        return -2;
    }
}

// One switch of the kind `how` names: yield, sleep (a timer), or a channel receive.
void switch_once(int how, gs::Chan<int>* ch) {
    switch (how % 3) {
        case 0:
            gs::yield();
            break;
        case 1:
            gs::sleep_for(std::chrono::microseconds(50));
            break;
        default: {
            std::optional<int> v = ch->recv();
            CHECK(v.has_value());
            break;
        }
    }
}

// Keeps a channel fed so that receivers inside handlers block and wake.
struct Feeder {
    gs::Chan<int> ch{0};
    std::atomic<bool> stop{false};
    void start() {
        for (int k = 0; k < 2; k++)
            gs::go([this] {
                while (!stop.load()) {
                    if (ch.try_send(1) == gs::Status::ok) continue;
                    gs::sleep_for(std::chrono::microseconds(20));
                }
            });
    }
};

// Case 1: switch inside a catch, then `throw;`: the rethrown exception and
// current_exception() are the goroutine's own, before and after every switch.
void rethrow_after_switches(gs::Runtime& rt) {
    Feeder feed;
    feed.start();
    std::atomic<int> done{0};
    for (int i = 0; i < N; i++) {
        gs::go([i, &feed, &done] {
            const long t0 = tid();
            try {
                try {
                    throw Tagged{i, 0};
                } catch (const Tagged& t) {
                    CHECK(t.id == i);
                    for (int r = 0; r < ROUNDS; r++) {
                        switch_once(i + r, &feed.ch);
                        CHECK(current_id() == i);
                        CHECK(std::uncaught_exceptions() == 0);
                    }
                    throw;
                }
            } catch (const Tagged& t) {
                CHECK(t.id == i);
            }
            CHECK(!std::current_exception());
            if (tid() != t0) migrations++;
            done++;
        });
    }
    while (done.load() < N) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    feed.stop = true;
    rt.wait();
}

// Case 2: a destructor that switches while an exception unwinds through it sees one
// uncaught exception, its goroutine's, and the unwinding goes on to the right handler.
struct SwitchingGuard {
    int id;
    gs::Chan<int>* ch;
    ~SwitchingGuard() {
        CHECK(std::uncaught_exceptions() == 1);
        for (int r = 0; r < ROUNDS; r++) {
            switch_once(id + r, ch);
            CHECK(std::uncaught_exceptions() == 1);
        }
    }
};

void destructor_during_unwinding(gs::Runtime& rt) {
    Feeder feed;
    feed.start();
    std::atomic<int> done{0};
    for (int i = 0; i < N; i++) {
        gs::go([i, &feed, &done] {
            const long t0 = tid();
            try {
                SwitchingGuard g{i, &feed.ch};
                throw Tagged{i, 0};
            } catch (const Tagged& t) {
                CHECK(t.id == i);
                CHECK(std::uncaught_exceptions() == 0);
                gs::yield();
                CHECK(current_id() == i);
            }
            CHECK(std::uncaught_exceptions() == 0);
            if (tid() != t0) migrations++;
            done++;
        });
    }
    while (done.load() < N) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    feed.stop = true;
    rt.wait();
}

// Case 3: nested handlers, switching at every level; each level sees its own
// exception, the outer one again once the inner handler is left.
void nested_handlers(gs::Runtime& rt) {
    std::atomic<int> done{0};
    for (int i = 0; i < N; i++) {
        gs::go([i, &done] {
            const int outer = i, inner = i + 100000;
            try {
                try {
                    throw Tagged{outer, 0};
                } catch (const Tagged& a) {
                    gs::yield();
                    CHECK(current_id() == outer);
                    try {
                        try {
                            throw Tagged{inner, 1};
                        } catch (const Tagged& b) {
                            CHECK(b.id == inner);
                            gs::yield();
                            CHECK(current_id() == inner);
                            throw;
                        }
                    } catch (const Tagged& b) {
                        gs::sleep_for(std::chrono::microseconds(30));
                        CHECK(b.id == inner && b.level == 1);
                        CHECK(current_id() == inner);
                    }
                    gs::yield();
                    CHECK(current_id() == outer);
                    CHECK(a.id == outer);
                    throw;
                }
            } catch (const Tagged& a) {
                CHECK(a.id == outer && a.level == 0);
            }
            CHECK(!std::current_exception());
            done++;
        });
    }
    rt.wait();
    CHECK(done.load() == N);
}

// Case 4: an exception_ptr taken inside a handler, held across switches, rethrown
// after the handler ended.
void exception_ptr_across_switches(gs::Runtime& rt) {
    std::atomic<int> done{0};
    for (int i = 0; i < N; i++) {
        gs::go([i, &done] {
            std::exception_ptr p;
            try {
                throw Tagged{i, 0};
            } catch (...) {
                gs::yield();
                p = std::current_exception();
                gs::yield();
            }
            gs::yield();
            CHECK(!std::current_exception());
            try {
                std::rethrow_exception(p);
            } catch (const Tagged& t) {
                CHECK(t.id == i);
            }
            done++;
        });
    }
    rt.wait();
    CHECK(done.load() == N);
}

// Case 5: a goroutine that ends (gs_goexit) inside a handler, or while a destructor
// runs during unwinding, leaves nothing behind: the goroutines that run next on its
// thread start with no exception.
struct ExitingGuard {
    ~ExitingGuard() { gs_goexit(); }
};

void goexit_inside_handler(gs::Runtime& rt) {
    std::atomic<int> clean{0};
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
            gs::go([i] {
                try {
                    throw Tagged{i, 0};
                } catch (const Tagged&) {
                    gs::yield();
                    gs_goexit();
                }
            });
        } else if (i % 3 == 1) {
            gs::go([i] {
                try {
                    ExitingGuard g;
                    throw Tagged{i, 0};
                } catch (...) {
                    CHECK(false);  // never reached: the destructor ended the goroutine
                }
            });
        } else {
            gs::go([&clean] {
                for (int r = 0; r < 4; r++) {
                    CHECK(!std::current_exception());
                    CHECK(std::uncaught_exceptions() == 0);
                    gs::yield();
                }
                clean++;
            });
        }
    }
    rt.wait();
    CHECK(clean.load() == N / 3);
}

// Case 6: goroutines wired to their thread switch inside handlers too.
void locked_goroutines(gs::Runtime& rt) {
    std::atomic<int> done{0};
    for (int i = 0; i < 8; i++) {
        gs::go([i, &done] {
            CHECK(gs_lock_os_thread() == 0);
            try {
                throw Tagged{i, 0};
            } catch (const Tagged&) {
                for (int r = 0; r < ROUNDS; r++) {
                    gs::sleep_for(std::chrono::microseconds(100));
                    CHECK(current_id() == i);
                }
            }
            CHECK(gs_unlock_os_thread() == 0);
            done++;
        });
    }
    for (int i = 0; i < N; i++)
        gs::go([i] {
            try {
                throw Tagged{-i - 10, 0};
            } catch (const Tagged&) {
                gs::yield();
                CHECK(current_id() == -i - 10);
            }
        });
    rt.wait();
    CHECK(done.load() == 8);
}

// Case 7: a thread that is handling an exception of its own lends itself to the
// runtime (gs_run_for on the host thread, gs_main on another thread); its goroutines
// see none of it, and it finds its exception again afterwards.
void threads_inside_handlers() {
    try {
        throw Tagged{-1, 0};
    } catch (const Tagged&) {
        std::atomic<int> host_done{0};
        for (int i = 0; i < 20; i++) {
            gs::go(gs::GoOptions{}.with_host(), [i, &host_done] {
                CHECK(!std::current_exception());
                try {
                    throw Tagged{i, 0};
                } catch (const Tagged&) {
                    gs::yield();
                    CHECK(current_id() == i);
                }
                host_done++;
            });
        }
        while (host_done.load() < 20) {
            gs::run_for(std::chrono::milliseconds(5));
            CHECK(current_id() == -1);
        }
        CHECK(current_id() == -1);
    }

    std::thread th([] {
        try {
            throw Tagged{-7, 0};
        } catch (const Tagged&) {
            auto body = [](void*) {
                CHECK(!std::current_exception());
                try {
                    throw Tagged{7, 0};
                } catch (const Tagged&) {
                    gs::yield();
                    gs::sleep_for(std::chrono::microseconds(100));
                    CHECK(current_id() == 7);
                }
            };
            CHECK(gs_main(body, nullptr) == 0);
            CHECK(current_id() == -7);
            try {
                throw;
            } catch (const Tagged& t) {
                CHECK(t.id == -7);
            }
        }
    });
    th.join();
}

}  // namespace

// With an argument, runs only the case it names (1 to 7).
int main(int argc, char** argv) {
    const int only = argc > 1 ? std::atoi(argv[1]) : 0;
    auto want = [only](int k) { return only == 0 || only == k; };
    gs::Runtime rt{gs::Config{}.with_nprocs(2)};
    if (want(1)) {
        // Goroutines move between threads when a P steals; repeat until some did.
        for (int k = 0; k < 20 && migrations.load() == 0; k++) rethrow_after_switches(rt);
    }
    if (want(2)) destructor_during_unwinding(rt);
    if (want(1) || want(2)) {
        std::printf("goroutines that resumed on another thread: %ld\n", migrations.load());
        CHECK(migrations.load() > 0);
    }
    if (want(3)) nested_handlers(rt);
    if (want(4)) exception_ptr_across_switches(rt);
    if (want(5)) goexit_inside_handler(rt);
    if (want(6)) locked_goroutines(rt);
    if (want(7)) threads_inside_handlers();
    std::puts("exception_state: OK");
    return 0;
}
