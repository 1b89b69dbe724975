// A C++ program of a gosched user, built against the installed gosched.hpp
// (tests/install/). Prints "app++: OK ..." and exits 0.
#include <gosched.hpp>

#include <cstdio>

int main() {
    long sum = 0;
    {
        gs::Runtime rt{gs::Config{2, 0, 0, 0}};
        gs::Chan<long> ch{16};
        gs::WaitGroup wg;
        wg.add(10);
        for (long i = 1; i <= 10; i++) {
            gs::go([&ch, &wg, i] {
                ch.send(i * i);
                wg.done();
            });
        }
        wg.wait();
        ch.close();
        while (auto v = ch.recv()) sum += *v;
    }
    if (sum != 385) {
        std::fprintf(stderr, "app++: sum %ld\n", sum);
        return 1;
    }
    std::printf("app++: OK sum=%ld\n", sum);
    return 0;
}
