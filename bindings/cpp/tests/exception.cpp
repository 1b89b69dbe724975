// An exception escaping a goroutine never unwinds into the scheduler: the process ends
// with a message naming the goroutine. Checked in forked children.
// requires: gs_init gs_go_with gs_wait

#include "gosched.hpp"

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "check.hpp"

namespace {

struct Outcome {
    int status;
    std::string err;
};

// Runs `body` in a child whose stderr is captured.
template <class F>
Outcome in_child(F body) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        body();
        _exit(0);  // not reached when the goroutine's exception ends the process
    }
    close(fds[1]);
    Outcome o{0, {}};
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) o.err.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    CHECK(waitpid(pid, &o.status, 0) == pid);
    return o;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

int main() {
    // A named goroutine throwing a std::exception.
    Outcome a = in_child([] {
        gs::Runtime rt{gs::Config{}.with_nprocs(2)};
        int64_t id = gs::go(gs::GoOptions{}.with_name("thrower"), [] {
            gs::yield();
            throw std::runtime_error("kaboom from a goroutine");
        });
        std::fprintf(stderr, "spawned %lld\n", static_cast<long long>(id));
        rt.wait();
    });
    std::fputs(a.err.c_str(), stdout);
    CHECK(WIFSIGNALED(a.status));
    CHECK(WTERMSIG(a.status) == SIGABRT);
    const size_t at = a.err.find("spawned ");
    CHECK(at != std::string::npos);
    const std::string id = a.err.substr(at + 8, a.err.find('\n', at) - at - 8);
    CHECK(contains(a.err, "gosched: goroutine " + id + " \"thrower\" terminated by an uncaught exception: "
                          "kaboom from a goroutine"));

    // An unnamed goroutine throwing something that is not a std::exception; the
    // goroutines around it were running normally.
    Outcome b = in_child([] {
        gs::Runtime rt;
        for (int i = 0; i < 10; i++) gs::go([] { gs::yield(); });
        gs::go([] { throw 42; });
        rt.wait();
    });
    std::fputs(b.err.c_str(), stdout);
    CHECK(WIFSIGNALED(b.status));
    CHECK(WTERMSIG(b.status) == SIGABRT);
    CHECK(contains(b.err, "gosched: goroutine "));
    CHECK(contains(b.err, "terminated by an uncaught exception: (not a std::exception)"));

    // An exception caught inside the goroutine is fine.
    Outcome c = in_child([] {
        gs::Runtime rt;
        gs::go([] {
            try {
                throw std::logic_error("handled");
            } catch (const std::logic_error&) {
            }
        });
        rt.wait();
    });
    CHECK(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
    CHECK(!contains(c.err, "uncaught"));

    std::puts("exception: OK");
    return 0;
}
