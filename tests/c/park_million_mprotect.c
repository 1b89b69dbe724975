/*
 * park_million.c with mprotect guard pages (the path for kernels without
 * MADV_GUARD_INSTALL): the guards use up their share of vm.max_map_count after about
 * 16,000 stacks, the rest fall back to canary-checked stacks, and 1,000,000 live
 * goroutines must still work.
 */
#define main park_million_main
#include "park_million.c"
#undef main

int main(void) {
    CHECK(setenv("GS_STACK_GUARD", "mprotect", 1) == 0);
    return park_million_main();
}
