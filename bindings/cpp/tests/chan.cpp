// gs::Chan<T> for trivially copyable, non-trivial and move-only T; no leaks when a
// channel dies with values in flight; gs::select.
// requires: gs_init gs_go_with gs_chan_new gs_chan_send gs_chan_recv gs_chan_try_send gs_chan_try_recv gs_chan_send_timeout gs_chan_recv_timeout gs_chan_close gs_chan_free gs_select gs_waitgroup_new

#include "gosched.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

namespace {

// Counts live instances, to find leaks and double frees.
std::atomic<int> g_live{0};

struct Tracked {
    std::string text;
    explicit Tracked(std::string t) : text(std::move(t)) { g_live.fetch_add(1); }
    Tracked(const Tracked& o) : text(o.text) { g_live.fetch_add(1); }
    Tracked(Tracked&& o) noexcept : text(std::move(o.text)) { g_live.fetch_add(1); }
    Tracked& operator=(const Tracked&) = default;
    Tracked& operator=(Tracked&&) = default;
    ~Tracked() { g_live.fetch_sub(1); }
};

struct Point {  // trivially copyable: travels by value
    int x, y;
};

void ints_between_goroutines(gs::Runtime& rt) {
    gs::Chan<int> ch;  // unbuffered
    std::vector<int> got;
    gs::go([ch]() mutable {
        for (int i = 0; i < 1000; i++) CHECK(ch.send(i));
        CHECK(ch.close());
    });
    gs::go([ch, &got]() mutable {
        while (auto v = ch.recv()) got.push_back(*v);
    });
    rt.wait();
    CHECK(got.size() == 1000);
    for (int i = 0; i < 1000; i++) CHECK(got[i] == i);
    CHECK(!ch.send(1));    // closed
    CHECK(!ch.close());    // already closed
    CHECK(!ch.recv());     // closed and drained
}

void strings_and_move_only(gs::Runtime& rt) {
    gs::Chan<std::string> s{4};
    gs::Chan<std::unique_ptr<int>> u{2};
    gs::go([s, u]() mutable {
        for (int i = 0; i < 100; i++) {
            CHECK(s.send(std::string(200, char('a' + i % 26)) + std::to_string(i)));
            CHECK(u.send(std::make_unique<int>(i)));
        }
        s.close();
        u.close();
    });
    int n = 0;
    while (auto v = s.recv()) {
        CHECK(*v == std::string(200, char('a' + n % 26)) + std::to_string(n));
        auto p = u.recv();
        CHECK(p && *p && **p == n);
        n++;
    }
    CHECK(n == 100);
    CHECK(!u.recv());
    rt.wait();

    gs::Chan<Point> pts{1};
    CHECK(pts.send(Point{3, 4}));
    auto p = pts.recv();
    CHECK(p && p->x == 3 && p->y == 4);
}

void no_leaks_with_values_in_flight() {
    {
        gs::Chan<Tracked> ch{8};
        for (int i = 0; i < 5; i++) CHECK(ch.send(Tracked("in flight " + std::to_string(i))));
        CHECK(ch.size() == 5);
        CHECK(ch.capacity() == 8);
        CHECK(g_live.load() == 5);  // one heap cell per buffered value
        auto copy = ch;             // copies share the channel
        CHECK(copy == ch);
        auto v = copy.recv();
        CHECK(v && v->text == "in flight 0");
        CHECK(ch.size() == 4);
    }
    CHECK(g_live.load() == 0);  // the last copy drained and deleted the rest
}

void try_and_timeouts() {
    gs::Chan<Tracked> ch{1};
    gs::Status st = gs::Status::ok;
    CHECK(!ch.try_recv(&st));
    CHECK(st == gs::Status::would_block);
    Tracked a("a"), b("b");
    CHECK(ch.try_send(a) == gs::Status::ok);
    CHECK(ch.try_send(b) == gs::Status::would_block);
    CHECK(b.text == "b");  // left untouched when not sent
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(ch.send_for(b, std::chrono::milliseconds(20)) == gs::Status::timeout);
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(19));
    CHECK(b.text == "b");
    auto got = ch.recv_for(std::chrono::milliseconds(20), &st);
    CHECK(got && got->text == "a" && st == gs::Status::ok);
    CHECK(!ch.recv_for(std::chrono::milliseconds(5), &st));
    CHECK(st == gs::Status::timeout);
    // A zero or negative timeout that finds nothing ready has expired: timeout, as the
    // C API's GS_ETIMEDOUT, never would_block.
    CHECK(!ch.recv_for(std::chrono::nanoseconds(0), &st));
    CHECK(st == gs::Status::timeout);
    CHECK(!ch.recv_for(std::chrono::seconds(-1), &st));
    CHECK(st == gs::Status::timeout);
    CHECK(ch.try_send(a) == gs::Status::ok);
    CHECK(ch.send_for(b, std::chrono::nanoseconds(0)) == gs::Status::timeout);
    CHECK(ch.send_for(b, std::chrono::seconds(-1)) == gs::Status::timeout);
    CHECK(b.text == "b");
    got = ch.recv_for(std::chrono::seconds(-1), &st);  // ready: a zero timeout still receives
    CHECK(got && st == gs::Status::ok);
    ch.close();
    CHECK(ch.try_send(b) == gs::Status::closed);
    CHECK(!ch.try_recv(&st));
    CHECK(st == gs::Status::closed);
    CHECK_THROWS_CODE(gs::Chan<int>(-1), GS_EINVAL);
}

void select_cases(gs::Runtime& rt) {
    const int live0 = g_live.load();
    gs::Chan<int> a{1}, b{1};
    gs::Chan<Tracked> t{1};
    std::optional<int> va, vb;
    CHECK(b.send(7));
    CHECK(gs::select(gs::on_recv(a, va), gs::on_recv(b, vb)) == 1);
    CHECK(vb && *vb == 7);

    // The send case that is not chosen destroys its value; the chosen one delivers it.
    CHECK(t.send(Tracked("occupies the buffer")));
    CHECK(gs::select(gs::on_send(t, Tracked("dropped")), gs::on_send(a, 5)) == 1);
    CHECK(g_live.load() == live0 + 1);
    CHECK(a.recv() == 5);
    std::optional<Tracked> vt;
    CHECK(gs::select(gs::on_recv(t, vt)) == 0);
    CHECK(vt && vt->text == "occupies the buffer");
    CHECK(gs::select(gs::on_send(t, Tracked("delivered"))) == 0);
    auto d = t.recv();
    CHECK(d && d->text == "delivered");

    // Nothing ready: try_select and select_for give -1.
    CHECK(gs::try_select(gs::on_recv(a, va)) == -1);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(gs::select_for(std::chrono::milliseconds(20), gs::on_recv(a, va), gs::on_recv(b, vb)) == -1);
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(19));

    // Closed channels: a receive gives nullopt, a send throws (Go panics).
    gs::Chan<int> c;
    c.close();
    va = 1;
    CHECK(gs::select(gs::on_recv(c, va)) == 0);
    CHECK(!va);
    CHECK_THROWS_CODE(gs::select(gs::on_send(c, 1)), GS_ECLOSED);

    // A select loop in a goroutine fed by two producers.
    gs::Chan<int> x, y, quit;
    int sum_x = 0, sum_y = 0;
    gs::go([&] {
        for (;;) {
            std::optional<int> vx, vy, vq;
            switch (gs::select(gs::on_recv(x, vx), gs::on_recv(y, vy), gs::on_recv(quit, vq))) {
                case 0: sum_x += *vx; break;
                case 1: sum_y += *vy; break;
                default: return;
            }
        }
    });
    gs::WaitGroup wg;
    wg.add(2);
    gs::go([&] { for (int i = 1; i <= 100; i++) x.send(i); wg.done(); });
    gs::go([&] { for (int i = 1; i <= 100; i++) y.send(2 * i); wg.done(); });
    wg.wait();
    quit.close();
    rt.wait();
    CHECK(sum_x == 5050);
    CHECK(sum_y == 10100);
    CHECK(g_live.load() == live0 + 2);  // vt and d
}

void threads_and_goroutines(gs::Runtime& rt) {
    gs::Chan<int> requests{4};
    gs::Chan<int> replies;
    gs::go([requests, replies]() mutable {
        while (auto v = requests.recv()) replies.send(*v * 10);
        replies.close();
    });
    std::thread th([requests, replies]() mutable {  // a foreign thread blocks, goroutines park
        for (int i = 0; i < 200; i++) {
            CHECK(requests.send(i));
            auto r = replies.recv();
            CHECK(r && *r == i * 10);
        }
        requests.close();
    });
    th.join();
    rt.wait();
    CHECK(!replies.recv());
}

}  // namespace

int main() {
    {
        gs::Runtime rt{gs::Config{}.with_nprocs(2)};
        ints_between_goroutines(rt);
        strings_and_move_only(rt);
        no_leaks_with_values_in_flight();
        try_and_timeouts();
        select_cases(rt);
        CHECK(g_live.load() == 0);
        threads_and_goroutines(rt);
    }
    CHECK(g_live.load() == 0);
    std::puts("chan: OK");
    return 0;
}
