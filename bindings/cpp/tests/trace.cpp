// gs::trace: a trace of named goroutines with a region and a log message, written to
// a file by trace::stop; the flight recorder's snapshot; the error codes.
// requires: gs_init gs_go_with gs_trace_start gs_trace_stop gs_trace_ring gs_trace_snapshot gs_trace_log gs_trace_region_begin

#include "gosched.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "check.hpp"

static std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

static size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
    return n;
}

static void ping_pong(int rounds) {
    gs::Chan<int> ping, pong;
    gs::WaitGroup wg;
    wg.add(2);
    gs::go(gs::GoOptions{}.with_name("cpp-ponger"), [&] {
        for (int i = 0; i < rounds; i++) pong.send(ping.recv().value() + 1);
        wg.done();
    });
    gs::go(gs::GoOptions{}.with_name("cpp-pinger"), [&] {
        {
            gs::trace::Region r{"cpp-region"};
            for (int i = 0; i < rounds; i++) {
                ping.send(i);
                CHECK(pong.recv().value() == i + 1);
            }
        }
        gs::trace::log("cpp", "done");
        wg.done();
    });
    wg.wait();
}

int main() {
    gs::Runtime rt{gs::Config{}.with_nprocs(2)};
    char path[] = "/tmp/gosched-cpp-trace-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);

    gs::trace::start(fd);
    CHECK_THROWS_CODE(gs::trace::start(fd), GS_EBUSY);
    ping_pong(100);
    gs::trace::stop();
    std::string t = slurp(path);
    // Each message over an unbuffered channel parks exactly one side: 200 parks.
    CHECK(count(t, "\"name\":\"cpp-pinger\",\"cat\":\"goroutine\"") >= 1);
    CHECK(count(t, "\"name\":\"cpp-ponger\",\"cat\":\"goroutine\"") >= 1);
    CHECK(count(t, "\"reason\":\"chan send\"") + count(t, "\"reason\":\"chan receive\"") == 200);
    CHECK(count(t, "\"name\":\"cpp-region\"") == 2);
    CHECK(count(t, "\"message\":\"done\"") == 1);

    CHECK_THROWS_CODE(gs::trace::stop(), GS_EINVAL);
    CHECK_THROWS_CODE(gs::trace::ring(0), GS_EINVAL);
    gs::trace::ring(64 * 1024);
    ping_pong(2000);
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    gs::trace::snapshot(fd);
    gs::trace::stop();
    CHECK_THROWS_CODE(gs::trace::snapshot(fd), GS_EINVAL);
    t = slurp(path);
    CHECK(count(t, "\"ring_slots\":2048") == 1);
    CHECK(count(t, "cpp-pinger") > 0);
    close(fd);
    unlink(path);
    return 0;
}
