/* A real data race between two goroutines, for ThreadSanitizer: with argument
 * "race" two goroutines increment a plain global with nothing ordering them, each
 * yielding now and then so that both run at once on different Ms; TSan must report
 * it with both goroutines' stacks (racer_a and racer_b). With "channel" they take
 * turns through a channel instead, which orders every access: no report. */
#include <gosched.h>
#include <stdio.h>
#include <string.h>

static long shared;
static gs_chan *turn;
static int use_channel;

__attribute__((noinline)) static void touch(void)
{
    shared++;
}

static void racer(int me)
{
    int token = 0;
    for (int i = 0; i < 2000; i++) {
        if (use_channel) {
            /* a: receive, touch, send; b: touch, send, receive. */
            if (me == 0)
                gs_chan_recv(turn, &token);
            touch();
            gs_chan_send(turn, &token);
            if (me == 1)
                gs_chan_recv(turn, &token);
        } else {
            touch();
            if (i % 64 == 0)
                gs_gosched();
        }
    }
}

__attribute__((noinline)) static void racer_a(void *arg)
{
    (void)arg;
    racer(0);
}

__attribute__((noinline)) static void racer_b(void *arg)
{
    (void)arg;
    racer(1);
}

int main(int argc, char **argv)
{
    use_channel = argc > 1 && strcmp(argv[1], "channel") == 0;
    gs_config cfg = {2, 0, 0, 0};
    if (gs_init(&cfg) != 0)
        return 2;
    turn = gs_chan_new(sizeof(int), 0);
    gs_go(racer_b, NULL);
    gs_go(racer_a, NULL);
    if (gs_wait(-1) != 0)
        return 3;
    gs_chan_free(turn);
    gs_shutdown();
    printf("shared = %ld\n", shared);
    return 0;
}
