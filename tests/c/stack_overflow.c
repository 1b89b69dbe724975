/*
 * Stack overflow is reported, other crashes are not mistaken for it. Each case runs
 * in a forked child (run_child) whose fate and stderr the parent checks:
 * - unbounded recursion in a goroutine named "deep-recursion" dies by SIGSEGV, and
 *   stderr says "stack overflow" with the goroutine's id and name; with the default
 *   guard and with GS_STACK_GUARD=mprotect, on a default-size stack and on a stack of
 *   its own size; and on default-size stacks carved after 37 and after 300 others
 *   (guards are installed 32 at a time, slabs hold 256 stacks);
 * - a NULL dereference in a goroutine dies by SIGSEGV without "stack overflow";
 * - GS_STACK_GUARD=canary: 1000 goroutines run correctly, and a goroutine that
 *   writes over the low end of its stack and returns is caught at its next switch
 *   (abort, "stack overflow", its name).
 */
#include "common.h"

#define CHILD_LIMIT_S 60
#define OWN_STACK (64 << 10)

static volatile int depth_limit = 1 << 30;
static atomic_bool go_ahead;

/* Recurses until depth_limit (never, unless a test lowers it), 512 bytes a frame. */
static int recurse(int depth, int limit)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = (char)depth;
    if (depth >= limit)
        return 0;
    return recurse(depth + 1, limit) + frame[0] + frame[511] - 2 * (char)depth;
}

static void wait_go_ahead(void)
{
    while (!atomic_load(&go_ahead))
        CHECK_RC(gs_gosched(), 0);
}

static void deep_recursion(void *arg)
{
    (void)arg;
    wait_go_ahead();
    recurse(0, depth_limit);
    printf("recursion returned\n");
}

static void null_deref(void *arg)
{
    (void)arg;
    wait_go_ahead();
    *(volatile int *)(uintptr_t)0 = 1;
    printf("NULL store survived\n");
}

typedef struct child_spec {
    const char *guard; /* GS_STACK_GUARD, or NULL */
    size_t stack_size; /* 0: default */
    const char *name;
    gs_fn fn;
    int live_before;   /* goroutines holding a stack before the crasher starts */
} child_spec;

static atomic_int holders_started;

/* Holds its stack: waits for a value nobody sends. */
static void holder(void *arg)
{
    int64_t v;
    atomic_fetch_add(&holders_started, 1);
    gs_chan_recv(arg, &v);
}

/* In the child: start the goroutine, tell the parent its id on stdout, let it run. */
static void crash_child(void *arg)
{
    child_spec *c = arg;
    if (c->guard != NULL)
        setenv("GS_STACK_GUARD", c->guard, 1);
    else
        unsetenv("GS_STACK_GUARD");
    init_procs(2);
    if (c->live_before > 0) {
        gs_chan *never = gs_chan_new(sizeof(int64_t), 0);
        CHECK(never != NULL);
        for (int i = 0; i < c->live_before; i++)
            CHECK_OK(gs_go(holder, never));
        while (atomic_load(&holders_started) < c->live_before)
            usleep(1000);
    }
    gs_go_opts opts = {c->stack_size, c->name, 0};
    int64_t id = gs_go_with(c->fn, NULL, &opts);
    CHECK(id > 0);
    printf("%lld\n", (long long)id);
    fflush(stdout);
    atomic_store(&go_ahead, true);
    gs_wait(-1);
    printf("gs_wait returned\n");
    fflush(stdout);
    _exit(3);
}

/* True if `id` appears in `s` as a whole number. */
static bool mentions_number(const char *s, long long id)
{
    char want[32];
    snprintf(want, sizeof want, "%lld", id);
    size_t n = strlen(want);
    for (const char *p = strstr(s, want); p != NULL; p = strstr(p + 1, want)) {
        bool left = p == s || p[-1] < '0' || p[-1] > '9';
        bool right = p[n] < '0' || p[n] > '9';
        if (left && right)
            return true;
    }
    return false;
}

static void expect_crash(child_spec *c, int sig, bool overflow)
{
    char what[128], st[128];
    snprintf(what, sizeof what, "%s (guard %s, stack %zu, after %d)", c->name,
             c->guard ? c->guard : "default", c->stack_size, c->live_before);
    child_result *r = run_child(crash_child, c, CHILD_LIMIT_S);
    describe_status(r->status, st, sizeof st);
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != sig)
        FAIL("%s: child %s, want signal %d\nstdout:\n%s\nstderr:\n%s", what, st, sig, r->out,
             r->err);
    long long id = atoll(r->out);
    CHECK(id > 0);
    bool said_overflow = strstr(r->err, "stack overflow") != NULL;
    if (overflow) {
        if (!said_overflow || strstr(r->err, c->name) == NULL || !mentions_number(r->err, id))
            FAIL("%s: stderr should say \"stack overflow\" with goroutine %lld and its "
                 "name:\n%s",
                 what, id, r->err);
    } else if (said_overflow) {
        FAIL("%s: a NULL dereference was reported as a stack overflow:\n%s", what, r->err);
    }
    printf("%s: %s as expected\n", what, st);
    free(r);
}

/* --- canary mode --- */

#define CANARY_GOROUTINES 1000
static unsigned char ran[CANARY_GOROUTINES];

static void canary_worker(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    CHECK_EQ(recurse(0, 40), 0); /* 40 frames of 512 bytes: well inside the stack */
    CHECK_RC(gs_gosched(), 0);
    __atomic_fetch_add(&ran[i], 1, __ATOMIC_RELAXED);
}

/* Fills 8 KiB below the caller's frame. */
__attribute__((noinline)) static void smash(void)
{
    char block[8192];
    memset(block, 0x5a, sizeof block);
    __asm__ volatile("" : : "r"(block) : "memory");
}

/* Descends to about 6 KiB above the stack's low end, then smash() writes across it
 * (into the unprotected page below, which belongs to the stack's mapping). */
__attribute__((noinline)) static int descend(uintptr_t stop)
{
    volatile char frame[256];
    frame[0] = 1;
    if ((uintptr_t)__builtin_frame_address(0) < stop) {
        smash();
        return frame[0];
    }
    return descend(stop) + frame[0];
}

static void canary_smasher(void *arg)
{
    (void)arg;
    wait_go_ahead();
    uintptr_t top = (uintptr_t)__builtin_frame_address(0);
    descend(top - OWN_STACK + 6144);
    /* Back at the top with the canary overwritten: the next switch must notice. */
    gs_gosched();
    printf("canary overwrite not detected\n");
    fflush(stdout);
    _exit(4);
}

static void canary_child(void *arg)
{
    (void)arg;
    setenv("GS_STACK_GUARD", "canary", 1);
    init_procs(2);
    for (size_t i = 0; i < CANARY_GOROUTINES; i++)
        CHECK_OK(gs_go(canary_worker, (void *)(uintptr_t)i));
    WAIT_ALL();
    for (size_t i = 0; i < CANARY_GOROUTINES; i++)
        CHECK_EQ(ran[i], 1);
    gs_go_opts opts = {OWN_STACK, "canary-smash", 0};
    int64_t id = gs_go_with(canary_smasher, NULL, &opts);
    CHECK(id > 0);
    printf("%lld\n", (long long)id);
    fflush(stdout);
    atomic_store(&go_ahead, true);
    gs_wait(-1);
    _exit(3);
}

int main(void)
{
    const char *guards[] = {NULL, "mprotect"};
    const size_t sizes[] = {0, OWN_STACK};
    for (size_t g = 0; g < 2; g++) {
        for (size_t s = 0; s < 2; s++) {
            child_spec c = {guards[g], sizes[s], "deep-recursion", deep_recursion, 0};
            expect_crash(&c, SIGSEGV, true);
        }
    }
    const int before[] = {37, 300};
    for (size_t i = 0; i < 2; i++) {
        child_spec c = {NULL, 0, "deep-recursion", deep_recursion, before[i]};
        expect_crash(&c, SIGSEGV, true);
    }
    child_spec null_case = {NULL, 0, "null-deref", null_deref, 0};
    expect_crash(&null_case, SIGSEGV, false);

    char st[128];
    child_result *r = run_child(canary_child, NULL, CHILD_LIMIT_S);
    describe_status(r->status, st, sizeof st);
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGABRT)
        FAIL("canary: child %s, want SIGABRT\nstdout:\n%s\nstderr:\n%s", st, r->out, r->err);
    long long id = atoll(r->out);
    if (strstr(r->err, "stack overflow") == NULL || strstr(r->err, "canary-smash") == NULL ||
        !mentions_number(r->err, id))
        FAIL("canary: stderr should say \"stack overflow\" with goroutine %lld and its "
             "name:\n%s",
             id, r->err);
    printf("canary: %d goroutines ran, then the overwrite was caught (%s)\n",
           CANARY_GOROUTINES, st);
    free(r);
    return 0;
}
