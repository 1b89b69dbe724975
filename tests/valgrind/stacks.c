/*
 * A planted heap overflow in a goroutine, three calls deep, for Valgrind's memcheck
 * (tests/c_programs.rs, valgrind_memcheck_full_stacks): the report must show the
 * whole chain, from the faulting function up to the goroutine's entry, both where
 * the bad read happens and where the block was allocated. One goroutine runs on a
 * fresh stack, one on a stack reused from an ended goroutine.
 */
#include <gosched.h>
#include <stdio.h>
#include <stdlib.h>

static volatile int sink;

__attribute__((noinline)) static int overflow_leaf(const int *p) { return p[9]; }
__attribute__((noinline)) static int overflow_middle(const int *p) { return overflow_leaf(p) + 1; }
__attribute__((noinline)) static int overflow_outer(const int *p) { return overflow_middle(p) + 1; }

static void overflow_goroutine(void *arg) {
    (void)arg;
    gs_gosched(); /* resumed by the scheduler, as most goroutines are when they fail */
    int *p = malloc(8 * sizeof(int));
    for (int i = 0; i < 8; i++)
        p[i] = i;
    sink = overflow_outer(p);
    free(p);
}

static void short_goroutine(void *arg) { (void)arg; }

int main(void) {
    gs_config cfg = {.nprocs = 2};
    if (gs_init(&cfg) != 0)
        return 1;
    if (gs_go(short_goroutine, NULL) <= 0 || gs_wait(-1) != 0)
        return 1;
    for (int i = 0; i < 2; i++)
        if (gs_go(overflow_goroutine, NULL) <= 0)
            return 1;
    if (gs_wait(-1) != 0 || gs_shutdown() != 0)
        return 1;
    printf("valgrind stacks: done\n");
    return 0;
}
