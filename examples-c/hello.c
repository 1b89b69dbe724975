/*
 * hello.c: the smallest tour of gosched.
 *
 * gs_main turns this thread into a scheduler thread and runs hello() as the first
 * goroutine. hello() starts N workers. Each worker computes a little, then parks
 * until hello() readies it: gs_park and gs_ready are the primitives that channels
 * and mutexes are made of. At the end, hello() prints the scheduler's counters.
 *
 * Build (from the repository root, after `cargo build --release`):
 *   cc -std=c11 -O2 -pthread -I include examples-c/hello.c \
 *      -L target/release -Wl,-rpath,"$PWD/target/release" -lgosched -o hello
 */
#include <gosched.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000

/* Where each worker leaves its handle for hello() to wake it. */
static _Atomic(gs_g *) parked[N];
static long results[N];
static atomic_int finished;

/* Runs on the scheduler's own stack after the worker is marked as waiting: only
 * now is it safe to let others see the handle (no wakeup can be lost). Returning
 * true keeps the worker parked. */
static bool publish(gs_g *self, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, self);
    return true;
}

static void worker(void *arg)
{
    long i = (long)arg;
    long sum = 0;
    for (long k = 1; k <= i; k++)
        sum += k;
    /* Sleep until hello() readies us. */
    gs_park(publish, &parked[i], "waiting for hello");
    results[i] = sum;
    atomic_fetch_add(&finished, 1);
}

static void hello(void *arg)
{
    (void)arg;
    printf("hello from goroutine %lld (gosched %s)\n", (long long)gs_goid(), gs_version());

    for (long i = 0; i < N; i++)
        gs_go(worker, (void *)i);

    /* Wake each worker once it has parked; yield while it is still on its way. */
    for (long i = 0; i < N; i++) {
        gs_g *g;
        while ((g = atomic_load(&parked[i])) == NULL)
            gs_gosched();
        gs_ready(g);
    }

    /* Let the workers finish their last step, then check their work. */
    while (atomic_load(&finished) < N)
        gs_gosched();
    for (long i = 0; i < N; i++) {
        if (results[i] != i * (i + 1) / 2) {
            printf("worker %ld got %ld\n", i, results[i]);
            exit(1);
        }
    }

    gs_stats st;
    gs_stats_get(&st);
    printf("%d workers done: %llu goroutines spawned on %u procs, %llu switches, "
           "%llu steals, %u threads\n",
           N, (unsigned long long)st.spawned_total, st.procs,
           (unsigned long long)st.switches_total, (unsigned long long)st.steals_total,
           st.threads);
}

int main(void)
{
    int rc = gs_main(hello, NULL);
    if (rc != 0) {
        fprintf(stderr, "gs_main: %s\n", gs_strerror(rc));
        return 1;
    }
    /* Workers may still be on their way out: wait for them, then stop the runtime. */
    gs_wait(-1);
    return gs_shutdown() != 0;
}
