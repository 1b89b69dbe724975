/* Stacks that goroutines leave in unusual ways, reused by later goroutines: ends
 * by gs_goexit from deep inside frames with arrays (whose redzones ASan poisons on
 * entry and unpoisons on return, which never comes), longjmp out of such frames,
 * and then goroutines that use all that stack again. Under a sanitizer nothing may
 * be reported; the program also checks its own results. */
#include <gosched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define ROUNDS 200
static atomic_long total;

__attribute__((noinline)) static void deep_exit(int depth)
{
    char buf[200];
    memset(buf, depth, sizeof buf);
    atomic_fetch_add(&total, buf[depth % 200]);
    if (depth == 0)
        gs_goexit();
    deep_exit(depth - 1);
    atomic_fetch_add(&total, buf[0]);
}

__attribute__((noinline)) static void deep_jump(jmp_buf *env, int depth)
{
    char buf[300];
    memset(buf, 1, sizeof buf);
    atomic_fetch_add(&total, buf[7]);
    if (depth == 0) {
        gs_gosched();
        longjmp(*env, 1);
    }
    deep_jump(env, depth - 1);
    atomic_fetch_add(&total, buf[1]);
}

static void exiter(void *arg)
{
    deep_exit((int)(long)arg);
}

static void jumper(void *arg)
{
    jmp_buf env;
    if (setjmp(env) == 0)
        deep_jump(&env, (int)(long)arg);
    gs_gosched();
}

__attribute__((noinline)) static void user(void *arg)
{
    (void)arg;
    char big[32 * 1024];
    memset(big, 7, sizeof big);
    gs_gosched();
    long s = 0;
    for (size_t i = 0; i < sizeof big; i += 512)
        s += big[i];
    atomic_fetch_add(&total, s);
}

int main(void)
{
    if (gs_init(NULL) != 0)
        return 2;
    for (int r = 0; r < ROUNDS; r++) {
        gs_go(exiter, (void *)(long)(r % 40));
        gs_go(jumper, (void *)(long)(r % 30));
        if (r % 10 == 9 && gs_wait(-1) != 0)
            return 3;
    }
    if (gs_wait(-1) != 0)
        return 3;
    for (int r = 0; r < ROUNDS; r++)
        gs_go(user, NULL);
    if (gs_wait(-1) != 0)
        return 3;
    int left = gs_shutdown();
    printf("stacks reused after goexit and longjmp: total %ld, abandoned %d\n", atomic_load(&total), left);
    return left == 0 ? 0 : 1;
}
