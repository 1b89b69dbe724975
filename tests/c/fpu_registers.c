/*
 * What a C function may expect to survive a call survives a goroutine switch and a
 * migration to another thread: the callee-saved registers (x86-64: rbx, rbp,
 * r12-r15, rsp), the MXCSR control bits and the x87 control word (each goroutine has
 * its own), and the rounding mode seen by fegetround and by arithmetic.
 *
 * At nprocs 2 and 4, FP_WORKERS goroutines each set distinct FP control values and
 * then switch ITERATIONS times (gs_gosched, and every 16th time a gs_park readied by
 * the main thread, which sends them through the global queue to any thread). Every
 * switch happens inside an assembly probe that loads known values into the
 * callee-saved registers first and compares them after. Thread changes are counted
 * to prove that migrations happened. PLAIN_WORKERS goroutines that never touch the
 * FP state must see the defaults throughout, and format doubles with snprintf (which
 * needs a 16-byte-aligned stack) at several stack depths.
 */
#include "common.h"

#include <fenv.h>

#define FP_WORKERS 8
#define PLAIN_WORKERS 4
#define WORKERS (FP_WORKERS + PLAIN_WORKERS)
#define ITERATIONS 10000
#define PARK_EVERY 16

#ifdef __x86_64__
/*
 * int regs_probe(uint64_t seed, void (*fn)(void *), void *arg)
 * Loads seed+1 .. seed+6 into rbx, rbp, r12, r13, r14, r15, calls fn(arg), and
 * returns a bit mask of the registers that changed (bit 6: rsp). The caller's own
 * values of those registers are saved and restored around it.
 */
__asm__(
    "    .text\n"
    "    .p2align 4\n"
    "    .type regs_probe,@function\n"
    "regs_probe:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $40, %rsp\n" /* 8 (ret) + 48 + 40 = 96: rsp is 16-byte aligned */
    "    movq %rdi, 0(%rsp)\n"
    "    movq %rsi, 8(%rsp)\n"
    "    movq %rdx, 16(%rsp)\n"
    "    movq %rsp, 24(%rsp)\n"
    "    leaq 1(%rdi), %rbx\n"
    "    leaq 2(%rdi), %rbp\n"
    "    leaq 3(%rdi), %r12\n"
    "    leaq 4(%rdi), %r13\n"
    "    leaq 5(%rdi), %r14\n"
    "    leaq 6(%rdi), %r15\n"
    "    movq 16(%rsp), %rdi\n"
    "    callq *8(%rsp)\n"
    "    movq 0(%rsp), %rsi\n"
    "    xorl %eax, %eax\n"
    "    leaq 1(%rsi), %rcx\n"
    "    cmpq %rcx, %rbx\n"
    "    je 1f\n"
    "    orl $1, %eax\n"
    "1:  leaq 2(%rsi), %rcx\n"
    "    cmpq %rcx, %rbp\n"
    "    je 2f\n"
    "    orl $2, %eax\n"
    "2:  leaq 3(%rsi), %rcx\n"
    "    cmpq %rcx, %r12\n"
    "    je 3f\n"
    "    orl $4, %eax\n"
    "3:  leaq 4(%rsi), %rcx\n"
    "    cmpq %rcx, %r13\n"
    "    je 4f\n"
    "    orl $8, %eax\n"
    "4:  leaq 5(%rsi), %rcx\n"
    "    cmpq %rcx, %r14\n"
    "    je 5f\n"
    "    orl $16, %eax\n"
    "5:  leaq 6(%rsi), %rcx\n"
    "    cmpq %rcx, %r15\n"
    "    je 6f\n"
    "    orl $32, %eax\n"
    "6:  cmpq %rsp, 24(%rsp)\n"
    "    je 7f\n"
    "    orl $64, %eax\n"
    "7:  addq $40, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    "    .size regs_probe, .-regs_probe\n");
int regs_probe(uint64_t seed, void (*fn)(void *), void *arg);

static uint32_t get_mxcsr(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static void set_mxcsr(uint32_t v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static uint16_t get_fpcw(void)
{
    uint16_t v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

static void set_fpcw(uint16_t v)
{
    __asm__ volatile("fldcw %0" : : "m"(v));
}

/* The control bits of MXCSR; bits 0-5 are exception flags that belong to nobody. */
#define MXCSR_CONTROL 0xFFC0u
#define MXCSR_DEFAULT 0x1F80u
#define FPCW_DEFAULT 0x037Fu
#endif

typedef struct worker {
    int index;
    _Atomic(gs_g *) parked; /* handle for the main thread to ready */
    long migrations;
    int done;
} worker;

static worker workers[WORKERS];
static atomic_int workers_done;

static bool publish(gs_g *g, void *slot)
{
    atomic_store((_Atomic(gs_g *) *)slot, g);
    return true;
}

/* The switch that happens inside the probe. */
static void switch_out(void *arg)
{
    worker *w = arg;
    if (w->done % PARK_EVERY == PARK_EVERY - 1)
        CHECK_RC(gs_park(publish, &w->parked, "readied by main"), 0);
    else
        CHECK_RC(gs_gosched(), 0);
}

/* One switch with the callee-saved registers checked (where we have a probe). */
static void checked_switch(worker *w, uint64_t seed)
{
#ifdef __x86_64__
    int bad = regs_probe(seed, switch_out, w);
    if (bad != 0)
        FAIL("worker %d, switch %d: callee-saved registers changed (mask %#x: "
             "1 rbx, 2 rbp, 4 r12, 8 r13, 16 r14, 32 r15, 64 rsp)",
             w->index, w->done, bad);
#else
    (void)seed;
    switch_out(w);
#endif
}

static volatile double three = 3.0;
static volatile long double three_l = 3.0L;

static void fp_worker(void *arg)
{
    worker *w = arg;
    int i = w->index;
    const int modes[4] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
#ifdef __x86_64__
    const uint16_t pc[3] = {0, 2, 3}; /* x87 precision: single, double, extended */
    uint32_t my_mxcsr = MXCSR_DEFAULT | ((uint32_t)(i % 4) << 13) | ((i / 4) % 2 ? 0x8000u : 0);
    uint16_t my_fpcw = (uint16_t)(0x007Fu | (pc[i % 3] << 8) | ((uint16_t)(i % 4) << 10));
    set_mxcsr(my_mxcsr);
    set_fpcw(my_fpcw);
    CHECK_EQ(get_mxcsr() & MXCSR_CONTROL, my_mxcsr);
    CHECK_EQ(get_fpcw(), my_fpcw);
    /* glibc reads the x87 rounding bits. */
    CHECK_EQ(fegetround(), modes[i % 4]);
#else
    CHECK_EQ(fesetround(modes[i % 4]), 0);
#endif
    /* Results that depend on the rounding mode (and x87 precision). */
    volatile double third = 1.0 / three;
    volatile long double third_l = 1.0L / three_l;
    pid_t tid = os_tid();
    for (w->done = 0; w->done < ITERATIONS; w->done++) {
        checked_switch(w, ((uint64_t)(i + 1) << 40) ^ ((uint64_t)w->done << 8));
        pid_t now = os_tid();
        if (now != tid) {
            w->migrations++;
            tid = now;
        }
#ifdef __x86_64__
        if ((get_mxcsr() & MXCSR_CONTROL) != my_mxcsr)
            FAIL("worker %d, switch %d: MXCSR %#x, want %#x", i, w->done,
                 get_mxcsr() & MXCSR_CONTROL, my_mxcsr);
        if (get_fpcw() != my_fpcw)
            FAIL("worker %d, switch %d: x87 control word %#x, want %#x", i, w->done,
                 get_fpcw(), my_fpcw);
#endif
        if (fegetround() != modes[i % 4])
            FAIL("worker %d, switch %d: rounding mode %#x, want %#x", i, w->done, fegetround(),
                 modes[i % 4]);
        if (1.0 / three != third || 1.0L / three_l != third_l)
            FAIL("worker %d, switch %d: 1/3 rounds differently than before the switch", i,
                 w->done);
    }
#ifdef __x86_64__
    set_mxcsr(MXCSR_DEFAULT);
    set_fpcw(FPCW_DEFAULT);
#else
    fesetround(FE_TONEAREST);
#endif
    atomic_fetch_add(&workers_done, 1);
}

/* snprintf of doubles a few frames down: SSE code in printf needs an aligned stack. */
static void check_printf(int depth)
{
    volatile char pad[24];
    pad[0] = (char)depth;
    if (depth > 0) {
        check_printf(depth - 1);
        return;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%.6f %.3e %g %.2Lf", 3.14159265358979, 12345.678, 0.1,
             (long double)2.5);
    if (strcmp(buf, "3.141593 1.235e+04 0.1 2.50") != 0)
        FAIL("snprintf on a goroutine gave \"%s\"", buf);
    (void)pad;
}

static void plain_worker(void *arg)
{
    worker *w = arg;
    volatile double third = 1.0 / three;
    pid_t tid = os_tid();
    for (w->done = 0; w->done < ITERATIONS; w->done++) {
        checked_switch(w, ((uint64_t)(w->index + 1) << 40) ^ ((uint64_t)w->done << 8));
        pid_t now = os_tid();
        if (now != tid) {
            w->migrations++;
            tid = now;
        }
#ifdef __x86_64__
        if ((get_mxcsr() & MXCSR_CONTROL) != MXCSR_DEFAULT || get_fpcw() != FPCW_DEFAULT)
            FAIL("plain worker %d, switch %d: FP control %#x/%#x leaked from another "
                 "goroutine",
                 w->index, w->done, get_mxcsr() & MXCSR_CONTROL, get_fpcw());
#endif
        if (fegetround() != FE_TONEAREST || 1.0 / three != third)
            FAIL("plain worker %d: rounding mode leaked from another goroutine", w->index);
        if (w->done % 64 == 0)
            check_printf(w->done % 7);
    }
    atomic_fetch_add(&workers_done, 1);
}

static void run(uint32_t nprocs)
{
    memset(workers, 0, sizeof workers);
    atomic_store(&workers_done, 0);
    init_procs(nprocs);
    for (int i = 0; i < WORKERS; i++) {
        workers[i].index = i;
        CHECK_OK(gs_go(i < FP_WORKERS ? fp_worker : plain_worker, &workers[i]));
    }
    /* Ready parked workers from this (foreign) thread: they go to the global queue and
     * from there to whichever thread looks first. */
    int64_t deadline = mono_ns() + TEST_WAIT_NS;
    while (atomic_load(&workers_done) < WORKERS) {
        bool any = false;
        for (int i = 0; i < WORKERS; i++) {
            gs_g *h = atomic_exchange(&workers[i].parked, NULL);
            if (h != NULL) {
                CHECK_RC(gs_ready(h), 0);
                any = true;
            }
        }
        if (!any) {
            if (mono_ns() > deadline) {
                gs_dump(2);
                FAIL("workers stuck");
            }
            sched_yield();
        }
    }
    WAIT_ALL();
    long migrations = 0;
    for (int i = 0; i < WORKERS; i++) {
        CHECK_EQ(workers[i].done, ITERATIONS);
        migrations += workers[i].migrations;
    }
    printf("nprocs %u: %d goroutines x %d switches, %ld migrations\n", nprocs, WORKERS,
           ITERATIONS, migrations);
    CHECK(migrations > 0);
    CHECK_RC(gs_shutdown(), 0);
}

int main(void)
{
    run(2);
    run(4);
    return 0;
}
