/* Bugs planted in goroutines, for AddressSanitizer to catch: run with one argument,
 * "heap-overflow", "use-after-free" or "stack-use-after-return"; the program must
 * be killed by ASan with a report that names the bug and, for heap bugs, the
 * goroutine function that allocated the block ("allocated by" through to
 * planted_alloc). Without a bug ("none") it exits 0. */
#include <gosched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *which;
static volatile int sink;

__attribute__((noinline)) static char *planted_alloc(size_t n)
{
    return malloc(n);
}

__attribute__((noinline)) static int *escape_local(void)
{
    int local[4] = {1, 2, 3, 4};
    int *volatile p = local;
    return p;
}

static void bug(void *arg)
{
    (void)arg;
    /* Switch a few times first, so that the bug happens after the goroutine has
     * moved between stacks (and, at nprocs > 1, maybe between threads). */
    for (int i = 0; i < 3; i++)
        gs_gosched();
    if (strcmp(which, "heap-overflow") == 0) {
        char *p = planted_alloc(16);
        gs_gosched();
        sink = p[16];
        free(p);
    } else if (strcmp(which, "use-after-free") == 0) {
        char *p = planted_alloc(16);
        free(p);
        gs_gosched();
        sink = p[3];
    } else if (strcmp(which, "stack-use-after-return") == 0) {
        int *p = escape_local();
        gs_gosched();
        sink = p[1];
    }
}

int main(int argc, char **argv)
{
    which = argc > 1 ? argv[1] : "none";
    if (gs_init(NULL) != 0)
        return 2;
    for (int i = 0; i < 8; i++)
        gs_go(bug, NULL);
    if (gs_wait(-1) != 0)
        return 3;
    gs_shutdown();
    printf("no bug planted\n");
    return 0;
}
