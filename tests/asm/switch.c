/*
 * The context-switch assembly (asm/<arch>.S) on its own, outside the runtime: built
 * natively for x86-64 and, with a cross compiler, for AArch64 and run under qemu by
 * tests/asm_switch.rs. Checks the contract written at the top of each .S file:
 * - gs_ctx_swap switches back and forth and keeps every callee-saved register and
 *   the FP control state of each side;
 * - a new context laid out as the runtime's gostartcall does starts in gs_gostart,
 *   gets its argument, and its function's return lands in goexit1;
 * - gs_mcall saves the caller and runs a function on another stack, from which
 *   gs_gogo resumes the caller; gs_mstart0 returns when its saved point is gogo'd.
 * Exits 0 on success, 1 with a message on the first failure.
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gs_mcall(uintptr_t *save_sp, uintptr_t g0_sp, void (*fn)(void *), void *arg);
void gs_gogo(uintptr_t sp);
void gs_ctx_swap(uintptr_t *save_sp, uintptr_t to_sp);
void gs_mstart0(uintptr_t *g0_sp, void (*fn)(void *), void *arg);
void gs_gostart(void);

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

enum { STACK = 64 * 1024, ROUNDS = 10000 };

static uintptr_t main_sp, coro_sp, g0_sp, start_sp;
static _Alignas(16) unsigned char coro_stack[STACK], g0_stack[STACK];
static int coro_rounds, coro_exited, mcall_ran, mstart_ran;
static void *coro_arg_seen;

/* Slots of a saved context, in words, by role: the `.set GS_FRAME_*` lines at the top
 * of the assembly file (src/runtime/context.rs checks its own copy against them at
 * compile time; this test checks these by running the switch). */
#if defined(__x86_64__)
enum { FRAME_SIZE = 64, SLOT_FPCTRL = 0, SLOT_START_EXIT = 2, SLOT_START_ARG = 3, SLOT_START_FN = 4, SLOT_PC = 7 };
#elif defined(__aarch64__)
enum { FRAME_SIZE = 176, SLOT_START_FN = 0, SLOT_START_ARG = 1, SLOT_START_EXIT = 2, SLOT_PC = 11 };
#else
#error "no context layout for this architecture"
#endif

/* Lays out a new context's first frame exactly as src/runtime/context.rs does. */
static uintptr_t new_context(unsigned char *stack, void (*fn)(void *), void *arg, void (*exit_fn)(void)) {
    uintptr_t top = ((uintptr_t)stack + STACK) & ~(uintptr_t)15;
    uintptr_t sp = top - FRAME_SIZE;
    uintptr_t *w = (uintptr_t *)sp;
    memset(w, 0, FRAME_SIZE);
#if defined(__x86_64__)
    w[SLOT_FPCTRL] = 0x1F80 | ((uintptr_t)0x037F << 32); /* MXCSR, x87 control word */
#endif
    /* aarch64: FPCR stays 0 (round to nearest, no flush-to-zero). */
    w[SLOT_START_EXIT] = (uintptr_t)exit_fn;
    w[SLOT_START_ARG] = (uintptr_t)arg;
    w[SLOT_START_FN] = (uintptr_t)fn;
    w[SLOT_PC] = (uintptr_t)gs_gostart;
    return sp;
}

/* Puts known values in every callee-saved register around a switch and checks them
 * afterwards; the other side clobbers them all. */
static __attribute__((noinline)) int swap_keeps_registers(uintptr_t *save, uintptr_t to, long seed) {
    /* Operands live in memory: every general register is clobbered by the switch. */
    long bad = 0, s = seed;
    uintptr_t sv = (uintptr_t)save, tv = to;
#if defined(__x86_64__)
    /* rbp (the frame pointer if any) is checked by the runtime's tests instead. */
    __asm__ volatile(
        "mov %[sm], %%rbx\n lea 1(%%rbx), %%r12\n lea 2(%%rbx), %%r13\n"
        "lea 3(%%rbx), %%r14\n lea 4(%%rbx), %%r15\n"
        "mov %[savem], %%rdi\n mov %[tom], %%rsi\n"
        "call gs_ctx_swap\n"
        "mov %[sm], %%rdx\n xor %%eax, %%eax\n"
        "cmp %%rdx, %%rbx\n setne %%cl\n movzbl %%cl, %%ecx\n or %%ecx, %%eax\n"
        "inc %%rdx\n cmp %%rdx, %%r12\n setne %%cl\n movzbl %%cl, %%ecx\n or %%ecx, %%eax\n"
        "inc %%rdx\n cmp %%rdx, %%r13\n setne %%cl\n movzbl %%cl, %%ecx\n or %%ecx, %%eax\n"
        "inc %%rdx\n cmp %%rdx, %%r14\n setne %%cl\n movzbl %%cl, %%ecx\n or %%ecx, %%eax\n"
        "inc %%rdx\n cmp %%rdx, %%r15\n setne %%cl\n movzbl %%cl, %%ecx\n or %%ecx, %%eax\n"
        "mov %%rax, %[bad]\n"
        : [bad] "=m"(bad)
        : [sm] "m"(s), [savem] "m"(sv), [tom] "m"(tv)
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "rbx", "r12", "r13", "r14", "r15",
          "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#elif defined(__aarch64__)
    __asm__ volatile(
        "ldr x11, %[sm]\n"
        "mov x19, x11\n add x20, x11, #1\n add x21, x11, #2\n add x22, x11, #3\n"
        "add x23, x11, #4\n add x24, x11, #5\n add x25, x11, #6\n add x26, x11, #7\n"
        "add x27, x11, #8\n add x28, x11, #9\n"
        "scvtf d8, x19\n scvtf d9, x20\n scvtf d10, x21\n scvtf d11, x22\n"
        "scvtf d12, x23\n scvtf d13, x24\n scvtf d14, x25\n scvtf d15, x26\n"
        "ldr x0, %[savem]\n ldr x1, %[tom]\n"
        "bl gs_ctx_swap\n"
        "ldr x11, %[sm]\n mov x9, #0\n"
        "cmp x19, x11\n cinc x9, x9, ne\n"
        "add x10, x11, #1\n cmp x20, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #2\n cmp x21, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #3\n cmp x22, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #4\n cmp x23, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #5\n cmp x24, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #6\n cmp x25, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #7\n cmp x26, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #8\n cmp x27, x10\n cinc x9, x9, ne\n"
        "add x10, x11, #9\n cmp x28, x10\n cinc x9, x9, ne\n"
        "scvtf d0, x19\n fcmp d8, d0\n cinc x9, x9, ne\n"
        "scvtf d0, x22\n fcmp d11, d0\n cinc x9, x9, ne\n"
        "scvtf d0, x26\n fcmp d15, d0\n cinc x9, x9, ne\n"
        "str x9, %[bad]\n"
        : [bad] "=m"(bad)
        : [sm] "m"(s), [savem] "m"(sv), [tom] "m"(tv)
        : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
          "x15", "x16", "x17", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x30",
          "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
          "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
          "v27", "v28", "v29", "v30", "v31");
#endif
    return bad == 0;
}

/* The rounding mode as the SSE unit sees it (fegetround reads the x87 one on
 * x86-64); on AArch64 there is one FPCR. */
static int sse_round_ok(int mode) {
#if defined(__x86_64__)
    unsigned csr = __builtin_ia32_stmxcsr();
    unsigned want = mode == FE_DOWNWARD ? 0x2000 : mode == FE_UPWARD ? 0x4000 : mode == FE_TOWARDZERO ? 0x6000 : 0;
    return (csr & 0x6000) == want;
#else
    return fegetround() == mode;
#endif
}

static int goexit_reached;

static void coro_exit(void) {
    goexit_reached = 1;
    gs_gogo(main_sp); /* never returns */
}

static void coro(void *arg) {
    coro_arg_seen = arg;
    CHECK(fesetround(FE_DOWNWARD) == 0);
    for (int i = 0; i < ROUNDS; i++) {
        CHECK(swap_keeps_registers(&coro_sp, main_sp, 0x5000 + i));
        CHECK(fegetround() == FE_DOWNWARD && sse_round_ok(FE_DOWNWARD));
        coro_rounds++;
    }
    coro_exited = 1;
    /* Returning lands in gs_goexit_pc, which calls coro_exit. */
}

static void on_g0(void *arg) {
    unsigned char probe;
    CHECK((uintptr_t)&probe > (uintptr_t)g0_stack && (uintptr_t)&probe < (uintptr_t)g0_stack + STACK);
    mcall_ran = (int)(uintptr_t)arg;
    gs_gogo(main_sp);
}

static void mstart_body(void *arg) {
    mstart_ran = (int)(uintptr_t)arg;
    gs_gogo(start_sp); /* returns from gs_mstart0 */
}

int main(void) {
    /* Switching back and forth. */
    coro_sp = new_context(coro_stack, coro, (void *)0x1234, coro_exit);
    CHECK(fesetround(FE_UPWARD) == 0);
    for (int i = 0; i < ROUNDS; i++) {
        CHECK(swap_keeps_registers(&main_sp, coro_sp, 0x9000 + i));
        CHECK(fegetround() == FE_UPWARD && sse_round_ok(FE_UPWARD));
    }
    CHECK(coro_rounds == ROUNDS - 1); /* its last switch back is still pending */
    CHECK(coro_arg_seen == (void *)0x1234);
    /* One more switch lets the coroutine return into gs_goexit_pc -> coro_exit. */
    gs_ctx_swap(&main_sp, coro_sp);
    CHECK(coro_rounds == ROUNDS && coro_exited && goexit_reached);
    CHECK(fegetround() == FE_UPWARD && sse_round_ok(FE_UPWARD)); /* gs_gogo restored it */
    CHECK(fesetround(FE_TONEAREST) == 0);

    /* mcall onto another stack, gogo back. */
    g0_sp = ((uintptr_t)g0_stack + STACK) & ~(uintptr_t)15;
    gs_mcall(&main_sp, g0_sp, on_g0, (void *)7);
    CHECK(mcall_ran == 7);

    /* mstart0 returns when its saved point is resumed. */
    gs_mstart0(&start_sp, mstart_body, (void *)9);
    CHECK(mstart_ran == 9);

    printf("asm switch: %d round trips, goexit, mcall, mstart0 ok\n", ROUNDS);
    return 0;
}
