// The rule for destroying a gs::Runtime with goroutines alive: the destructor waits for
// them up to destroy_timeout(); goroutines that end in time are joined (their
// callables destroyed) and the destructor returns; if some are still alive after it,
// their dump goes to stderr, naming them, and std::terminate() runs (std::thread's
// rule). shutdown() abandons on purpose. Each case runs in a child process.
// requires: gs_init gs_wait gs_shutdown gs_dump gs_go_with

#include "gosched.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "check.hpp"

using namespace std::chrono_literals;

struct Child {
    int status;
    std::string err;
    double ms;
};

// Runs body() in a child process (no runtime exists in this one), with stderr piped.
template <class F>
static Child in_child(F body) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    const auto t = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        body();
        std::fflush(stdout);
        _exit(0);
    }
    close(fds[1]);
    std::string err;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    return Child{status, err, ms};
}

static std::atomic<int> destroyed{0};

struct Capture {
    Capture() = default;
    Capture(const Capture&) = default;
    ~Capture() { destroyed++; }
};

int main() {
    // Goroutines that end within the timeout: the destructor waits for them, destroys
    // their callables and returns; the child then checks both.
    Child ok = in_child([] {
        std::atomic<int> finished{0};
        {
            gs::Runtime rt{gs::Config{}.with_nprocs(2)};
            for (int i = 0; i < 8; i++) {
                gs::go([&finished, c = Capture{}] {
                    (void)c;
                    gs::sleep_for(50ms);
                    finished++;
                });
            }
            destroyed = 0;  // (the temporaries of gs::go are gone; the 8 in goroutines live)
        }
        if (finished != 8 || destroyed != 8) {
            std::fprintf(stderr, "finished %d destroyed %d\n", finished.load(), destroyed.load());
            _exit(2);
        }
    });
    CHECK(WIFEXITED(ok.status) && WEXITSTATUS(ok.status) == 0);
    CHECK(ok.err.empty());

    // A goroutine still blocked after the timeout: terminate, naming it.
    Child stuck = in_child([] {
        gs::Runtime rt{gs::Config{}.with_nprocs(2)};
        rt.set_destroy_timeout(100ms);
        gs::Chan<int> never{0};
        gs::go(gs::GoOptions{}.with_name("stuck_worker"), [never]() mutable { never.recv(); });
        gs::go([] { gs::sleep_for(10ms); });  // ends in time: not named
        gs::sleep_for(20ms);
    });
    if (!(WIFSIGNALED(stuck.status) && WTERMSIG(stuck.status) == SIGABRT)) {
        std::fprintf(stderr, "status %d, stderr:\n%s\n", stuck.status, stuck.err.c_str());
        CHECK(false);
    }
    CHECK(stuck.err.find("gs::Runtime destroyed with goroutines still alive after 100 ms") != std::string::npos);
    CHECK(stuck.err.find("\"stuck_worker\"") != std::string::npos);
    CHECK(stuck.err.find("chan receive") != std::string::npos);
    CHECK(stuck.ms >= 100 && stuck.ms < 5000);

    // shutdown() abandons on purpose: no wait, no terminate; the abandoned goroutine's
    // callable is not destroyed (the documented leak).
    Child abandoned = in_child([] {
        int n = -1;
        {
            gs::Runtime rt{gs::Config{}.with_nprocs(2)};
            gs::Chan<int> never{0};
            gs::go([never, c = Capture{}]() mutable {
                (void)c;
                never.recv();
            });
            gs::sleep_for(20ms);
            destroyed = 0;
            n = rt.shutdown();
        }
        if (n != 1 || destroyed != 0) {
            std::fprintf(stderr, "abandoned %d destroyed %d\n", n, destroyed.load());
            _exit(2);
        }
    });
    CHECK(WIFEXITED(abandoned.status) && WEXITSTATUS(abandoned.status) == 0);
    CHECK(abandoned.err.empty());
    CHECK(abandoned.ms < 1000);
    std::printf("runtime_destroy: ok (terminate after %.0f ms)\n", stuck.ms);
    return 0;
}
