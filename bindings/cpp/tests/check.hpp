// Minimal checking macros for the C++ binding's test programs (each returns 0 on success).
#ifndef GOSCHED_TESTS_CHECK_HPP
#define GOSCHED_TESTS_CHECK_HPP

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                             \
        }                                                                             \
    } while (0)

#define CHECK_THROWS_CODE(expr, expected_code)                                        \
    do {                                                                              \
        bool thrown_ = false;                                                         \
        try {                                                                         \
            (void)(expr);                                                             \
        } catch (const gs::Error& e_) {                                               \
            thrown_ = true;                                                           \
            if (e_.code() != (expected_code)) {                                       \
                std::fprintf(stderr, "%s:%d: %s threw code %d (%s), expected %d\n",   \
                             __FILE__, __LINE__, #expr, e_.code(), e_.what(),         \
                             (int)(expected_code));                                   \
                std::exit(1);                                                         \
            }                                                                         \
        }                                                                             \
        if (!thrown_) {                                                               \
            std::fprintf(stderr, "%s:%d: %s did not throw gs::Error\n", __FILE__,     \
                         __LINE__, #expr);                                            \
            std::exit(1);                                                             \
        }                                                                             \
    } while (0)

#endif
