/* A program of a gosched user, built against an installed gosched (tests/install/):
 * goroutines squaring numbers through channels, a wait group, and the version
 * macros against gs_version(). Prints "app: OK ..." and exits 0. */
#include <gosched.h>
#include <stdio.h>
#include <string.h>

static gs_chan *in, *out;

static void square(void *arg)
{
    gs_waitgroup *wg = arg;
    long v;
    while (gs_chan_recv(in, &v) == 0) {
        v *= v;
        gs_chan_send(out, &v);
    }
    gs_waitgroup_done(wg);
}

static void feeder(void *arg)
{
    (void)arg;
    for (long i = 1; i <= 100; i++)
        gs_chan_send(in, &i);
    gs_chan_close(in);
}

static void closer(void *arg)
{
    gs_waitgroup_wait(arg);
    gs_chan_close(out);
}

static void main_goroutine(void *arg)
{
    long *sum = arg;
    gs_waitgroup *wg = gs_waitgroup_new();
    in = gs_chan_new(sizeof(long), 0);
    out = gs_chan_new(sizeof(long), 4);
    gs_waitgroup_add(wg, 8);
    for (int i = 0; i < 8; i++)
        gs_go(square, wg);
    gs_go(closer, wg);
    gs_go(feeder, NULL);
    long v;
    while (gs_chan_recv(out, &v) == 0)
        *sum += v;
}

int main(void)
{
    if (strcmp(gs_version(), GS_VERSION_STRING) != 0) {
        fprintf(stderr, "app: gs_version() %s, header %s\n", gs_version(), GS_VERSION_STRING);
        return 1;
    }
    long sum = 0;
    if (gs_main(main_goroutine, &sum) != 0 || gs_wait(-1) != 0 || gs_shutdown() < 0)
        return 1;
    if (sum != 338350) { /* 1^2 + ... + 100^2 */
        fprintf(stderr, "app: sum %ld\n", sum);
        return 1;
    }
    printf("app: OK sum=%ld gosched %s\n", sum, gs_version());
    return 0;
}
