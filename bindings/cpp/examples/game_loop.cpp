// A 60 frames-per-second game loop on gosched.
//
// Each frame:
//   1. physics: the particle array is split into --jobs chunks, one worker goroutine per
//      chunk (gs::go), joined with a gs::WaitGroup;
//   2. render: --render host goroutines (gs_go_with + GS_GO_HOST, through gs::GoOptions
//      {}.with_host()) do work that must stay on the main thread, like a graphics API
//      bound to it; a long-lived host goroutine also consumes per-frame UI events from a
//      channel fed by a worker;
//   3. the main thread pumps the host goroutines with gs_run_for(budget) until this
//      frame's are done, then sleeps until the next frame.
//
// Prints the frame time (work, without the sleep) p50/p99 and the scheduling overhead
// per job; checks that host goroutines ran on the main thread only and workers never did
// (exit status 1 otherwise).
//
//   game_loop [--frames N] [--jobs N] [--render N] [--particles N] [--procs N]

#include "gosched.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

long tid() { return static_cast<long>(syscall(SYS_gettid)); }

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Particle {
    float x, y, vx, vy;
};

struct Options {
    int frames = 120;
    int jobs = 32;
    int render = 4;
    int particles = 200000;
    unsigned procs = 0;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        auto next = [&](const char* flag) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "game_loop: %s needs a value\n", flag);
                std::exit(2);
            }
            return std::atoi(argv[++i]);
        };
        if (!std::strcmp(argv[i], "--frames")) o.frames = next("--frames");
        else if (!std::strcmp(argv[i], "--jobs")) o.jobs = next("--jobs");
        else if (!std::strcmp(argv[i], "--render")) o.render = next("--render");
        else if (!std::strcmp(argv[i], "--particles")) o.particles = next("--particles");
        else if (!std::strcmp(argv[i], "--procs")) o.procs = static_cast<unsigned>(next("--procs"));
        else {
            std::fprintf(stderr,
                         "usage: game_loop [--frames N] [--jobs N] [--render N] [--particles N] [--procs N]\n");
            std::exit(2);
        }
    }
    if (o.frames < 1 || o.jobs < 1 || o.render < 0 || o.particles < o.jobs) {
        std::fprintf(stderr, "game_loop: bad arguments\n");
        std::exit(2);
    }
    return o;
}

void integrate(Particle* p, size_t n, float dt) {
    for (size_t i = 0; i < n; i++) {
        p[i].vy -= 9.81f * dt;
        p[i].x += p[i].vx * dt;
        p[i].y += p[i].vy * dt;
        if (p[i].y < 0) {
            p[i].y = -p[i].y;
            p[i].vy = -p[i].vy * 0.9f;
        }
        if (p[i].x < 0 || p[i].x > 100) p[i].vx = -p[i].vx;
    }
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    gs::Runtime rt{gs::Config{}.with_nprocs(opt.procs)};  // this thread is the host thread
    const long main_tid = tid();

    std::vector<Particle> world(static_cast<size_t>(opt.particles));
    for (size_t i = 0; i < world.size(); i++) {
        world[i] = Particle{float(i % 100), float(i % 37) + 1.0f, float(i % 7) - 3.0f, 0.0f};
    }

    // Scheduling overhead per job: spawn + join of empty jobs, measured up front.
    const int calib_rounds = 50;
    const auto c0 = Clock::now();
    for (int r = 0; r < calib_rounds; r++) {
        gs::WaitGroup wg;
        wg.add(opt.jobs);
        for (int j = 0; j < opt.jobs; j++) gs::go([&wg] { wg.done(); });
        wg.wait();
    }
    const double overhead_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - c0).count() / (calib_rounds * opt.jobs);

    std::atomic<long> host_runs{0}, host_off_main{0}, worker_runs{0}, worker_on_main{0};
    std::atomic<long> ui_events{0};
    double checksum = 0;

    // A long-lived host goroutine: UI events, produced by workers, handled on the main thread.
    gs::Chan<int> ui{64};
    gs::go(gs::GoOptions{}.with_name("ui").with_host(), [ui, &ui_events, &host_off_main, main_tid]() mutable {
        while (auto ev = ui.recv()) {
            if (tid() != main_tid) host_off_main++;
            ui_events += *ev;
        }
    });

    const auto frame = std::chrono::nanoseconds(1000000000 / 60);
    std::vector<double> frame_ms;
    frame_ms.reserve(static_cast<size_t>(opt.frames));
    auto next_frame = Clock::now();
    const size_t chunk = world.size() / static_cast<size_t>(opt.jobs);

    for (int f = 0; f < opt.frames; f++) {
        const auto t0 = Clock::now();

        // 1. physics, fanned out to worker goroutines
        gs::WaitGroup wg;
        wg.add(opt.jobs);
        for (int j = 0; j < opt.jobs; j++) {
            gs::go([&, j] {
                if (tid() == main_tid) worker_on_main++;
                worker_runs++;
                const size_t lo = static_cast<size_t>(j) * chunk;
                const size_t hi = j == opt.jobs - 1 ? world.size() : lo + chunk;
                integrate(world.data() + lo, hi - lo, 1.0f / 60);
                wg.done();
            });
        }
        gs::go([ui]() mutable { ui.send(1); });  // an input event for this frame
        wg.wait();

        // 2. render, in host goroutines (they run inside run_for below, on this thread)
        std::atomic<int> rendered{0};
        for (int r = 0; r < opt.render; r++) {
            gs::go(gs::GoOptions{}.with_name("render").with_host(), [&, r] {
                if (tid() != main_tid) host_off_main++;
                double s = 0;
                for (size_t i = static_cast<size_t>(r); i < world.size(); i += 64) s += world[i].y;
                gs::yield();  // a render pass in steps
                if (tid() != main_tid) host_off_main++;
                checksum += s;  // no lock: every host goroutine runs on this one thread
                host_runs++;
                rendered++;
            });
        }

        // 3. pump host goroutines within the frame budget
        const auto deadline = t0 + frame;
        while (rendered.load() < opt.render) {
            const auto left = deadline - Clock::now();
            gs::run_for(left > std::chrono::milliseconds(1) ? left : std::chrono::milliseconds(1));
        }
        gs::run_for(std::chrono::microseconds(200));  // let the UI goroutine catch up

        frame_ms.push_back(ms(Clock::now() - t0));
        next_frame += frame;
        if (next_frame > Clock::now()) std::this_thread::sleep_until(next_frame);
    }

    ui.close();
    while (!rt.wait_for(std::chrono::milliseconds(0))) gs::run_for(std::chrono::milliseconds(1));

    std::printf("game_loop: %d frames, %d jobs/frame, %d render goroutines/frame, %zu particles\n",
                opt.frames, opt.jobs, opt.render, world.size());
    std::printf("frame time (work): p50 %.3f ms  p99 %.3f ms  (frame budget %.3f ms)\n",
                percentile(frame_ms, 0.50), percentile(frame_ms, 0.99), ms(frame));
    std::printf("scheduling overhead: %.0f ns/job (spawn + WaitGroup join of empty jobs)\n", overhead_ns);
    std::printf("ui events handled on the host: %ld of %d\n", ui_events.load(), opt.frames);
    std::printf("render checksum: %.1f\n", checksum);
    const bool ok = host_off_main.load() == 0 && worker_on_main.load() == 0 &&
                    host_runs.load() == long(opt.frames) * opt.render && ui_events.load() == opt.frames;
    std::printf("host goroutines: %ld ran, %s (main tid %ld)\n", host_runs.load(),
                host_off_main.load() == 0 ? "all on the main thread" : "SOME OFF THE MAIN THREAD", main_tid);
    std::printf("worker goroutines: %ld ran, %s\n", worker_runs.load(),
                worker_on_main.load() == 0 ? "none on the main thread" : "SOME ON THE MAIN THREAD");
    std::printf("%s\n", ok ? "game_loop: OK" : "game_loop: FAILED");
    return ok ? 0 : 1;
}
