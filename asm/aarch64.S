// gosched context switching for AArch64 (AAPCS64), GNU assembler syntax.
//
// The same symbols and contract as asm/x86_64.S; read that file's header first.
// Included by src/runtime/context.rs with global_asm!(..., options(raw)) on
// aarch64 targets; not run through the C preprocessor.
//
// A *saved context* is 176 bytes on the stack of the context being left; the
// saved sp points at its first byte and is 16-byte aligned (AArch64 faults on a
// misaligned sp used for memory access).
//
//     sp+0    x19, x20
//     sp+16   x21, x22
//     sp+32   x23, x24
//     sp+48   x25, x26
//     sp+64   x27, x28
//     sp+80   x29 (frame pointer), x30 (link register = resume address)
//     sp+96   d8, d9
//     sp+112  d10, d11
//     sp+128  d12, d13
//     sp+144  d14, d15
//     sp+160  FPCR (the floating-point control register), 8 bytes unused
//
// The same layout as numbers, by role (checked by src/runtime/context.rs at compile
// time): a new goroutine's first frame holds its function in x19, its argument in
// x20 and goexit1 in x21 (see gs_gostart); the resume address is x30's slot.
    .set GS_FRAME_START_FN, 0
    .set GS_FRAME_START_ARG, 8
    .set GS_FRAME_START_EXIT, 16
    .set GS_FRAME_PC, 88
    .set GS_FRAME_FPCTRL, 160
    .set GS_FRAME_SIZE, 176
// The callee-saved registers by name, for debuggers that unwind a parked goroutine
// from its saved context (gs_debug_layout, src/runtime/debugger.rs); the stack
// pointer after the resume is the saved sp plus GS_FRAME_SIZE.
    .set GS_FRAME_X19, 0
    .set GS_FRAME_X20, 8
    .set GS_FRAME_X21, 16
    .set GS_FRAME_X22, 24
    .set GS_FRAME_X23, 32
    .set GS_FRAME_X24, 40
    .set GS_FRAME_X25, 48
    .set GS_FRAME_X26, 56
    .set GS_FRAME_X27, 64
    .set GS_FRAME_X28, 72
    .set GS_FRAME_X29, 80
// gs_bench_min_swap's frame: the same without FPCR.
    .set GS_MINFRAME_PC, 88
    .set GS_MINFRAME_SIZE, 176
//
// Saved: the callee-saved registers of AAPCS64 (x19-x28, fp, lr, sp, the low
// 64 bits of v8-v15) and FPCR (rounding mode, flush-to-zero: per-goroutine).
// Not saved, deliberately: x0-x18 (caller-saved; x18 is the platform register and
// belongs to the thread), v0-v7, v16-v31, the upper halves of v8-v15 (not
// preserved by the ABI either), FPSR (status flags), and TPIDR_EL0 (the thread
// pointer belongs to the M).

    .text

// SAVE_CONTEXT: reserve a context frame below sp and store the callee-saved
// registers and FPCR in it (layout above); sp then points at the saved context.
.macro SAVE_CONTEXT
    sub  sp, sp, #GS_FRAME_SIZE
    stp  x19, x20, [sp, #0]
    stp  x21, x22, [sp, #16]
    stp  x23, x24, [sp, #32]
    stp  x25, x26, [sp, #48]
    stp  x27, x28, [sp, #64]
    stp  x29, x30, [sp, #80]
    stp  d8,  d9,  [sp, #96]
    stp  d10, d11, [sp, #112]
    stp  d12, d13, [sp, #128]
    stp  d14, d15, [sp, #144]
    mrs  x9, fpcr
    str  x9, [sp, #GS_FRAME_FPCTRL]
.endm

// void gs_mcall(uintptr_t *save_sp, uintptr_t g0_sp, void (*fn)(void *), void *gp)
// On entry: x0 = save_sp, x1 = g0_sp, x2 = fn, x3 = gp. Never returns directly.
    .globl gs_mcall
    .hidden gs_mcall
    .type gs_mcall,%function
    .p2align 4
gs_mcall:
    .cfi_startproc
    SAVE_CONTEXT
    mov  x9, sp
    str  x9, [x0]
    mov  sp, x1
    mov  x0, x3
    blr  x2
    brk  #1                     // fn returned: a broken invariant
    .cfi_endproc
    .size gs_mcall, .-gs_mcall

// void gs_gogo(uintptr_t sp)  -- never returns
// On entry: x0 = sp of a saved context. Restores it and branches to its x30.
    .globl gs_gogo
    .hidden gs_gogo
    .type gs_gogo,%function
    .p2align 4
gs_gogo:
    .cfi_startproc
    mov  sp, x0
    ldr  x9, [sp, #GS_FRAME_FPCTRL]
    msr  fpcr, x9
    ldp  x19, x20, [sp, #0]
    ldp  x21, x22, [sp, #16]
    ldp  x23, x24, [sp, #32]
    ldp  x25, x26, [sp, #48]
    ldp  x27, x28, [sp, #64]
    ldp  x29, x30, [sp, #80]
    ldp  d8,  d9,  [sp, #96]
    ldp  d10, d11, [sp, #112]
    ldp  d12, d13, [sp, #128]
    ldp  d14, d15, [sp, #144]
    add  sp, sp, #GS_FRAME_SIZE
    ret
    .cfi_endproc
    .size gs_gogo, .-gs_gogo

// void gs_ctx_swap(uintptr_t *save_sp, uintptr_t to_sp)
// On entry: x0 = save_sp, x1 = to_sp. Save into *save_sp, resume to_sp.
    .globl gs_ctx_swap
    .hidden gs_ctx_swap
    .type gs_ctx_swap,%function
    .p2align 4
gs_ctx_swap:
    .cfi_startproc
    SAVE_CONTEXT
    mov  x9, sp
    str  x9, [x0]
    mov  x0, x1
    b    gs_gogo
    .cfi_endproc
    .size gs_ctx_swap, .-gs_ctx_swap

// void gs_mstart0(uintptr_t *g0_sp, void (*fn)(void *), void *arg)
// On entry: x0 = g0_sp, x1 = fn, x2 = arg. Saves the caller's context, stores its
// sp into *g0_sp (g0's fixed scheduling point) and calls fn(arg), which never
// returns; gs_gogo(*g0_sp) later returns from gs_mstart0 to its caller.
    .globl gs_mstart0
    .hidden gs_mstart0
    .type gs_mstart0,%function
    .p2align 4
gs_mstart0:
    .cfi_startproc
    SAVE_CONTEXT
    mov  x9, sp
    str  x9, [x0]
    mov  x0, x2
    blr  x1
    brk  #1
    .cfi_endproc
    .size gs_mstart0, .-gs_mstart0

// gs_gostart: a new goroutine's first code. Reached by gs_gogo with
//   x19 = fn, x20 = arg, x21 = goexit1, sp 16-byte aligned, x29 = 0.
// Calls fn(arg); fn's return lands on gs_goexit_pc, which calls goexit1 (never
// returns). x21 survives fn because it is callee-saved.
    .globl gs_gostart
    .hidden gs_gostart
    .type gs_gostart,%function
    .p2align 4
gs_gostart:
    .cfi_startproc
    .cfi_undefined x30
    mov  x0, x20
    blr  x19
    .globl gs_goexit_pc
    .hidden gs_goexit_pc
gs_goexit_pc:
    blr  x21
    brk  #1
    .cfi_endproc
    .size gs_gostart, .-gs_gostart

// Baseline for the raw switch benchmark: callee-saved general registers only.
// void gs_bench_min_swap(uintptr_t *save_sp, uintptr_t to_sp)
    .globl gs_bench_min_swap
    .hidden gs_bench_min_swap
    .type gs_bench_min_swap,%function
    .p2align 4
gs_bench_min_swap:
    sub  sp, sp, #GS_MINFRAME_SIZE
    stp  x19, x20, [sp, #0]
    stp  x21, x22, [sp, #16]
    stp  x23, x24, [sp, #32]
    stp  x25, x26, [sp, #48]
    stp  x27, x28, [sp, #64]
    stp  x29, x30, [sp, #80]
    stp  d8,  d9,  [sp, #96]
    stp  d10, d11, [sp, #112]
    stp  d12, d13, [sp, #128]
    stp  d14, d15, [sp, #144]
    mov  x9, sp
    str  x9, [x0]
    mov  sp, x1
    ldp  x19, x20, [sp, #0]
    ldp  x21, x22, [sp, #16]
    ldp  x23, x24, [sp, #32]
    ldp  x25, x26, [sp, #48]
    ldp  x27, x28, [sp, #64]
    ldp  x29, x30, [sp, #80]
    ldp  d8,  d9,  [sp, #96]
    ldp  d10, d11, [sp, #112]
    ldp  d12, d13, [sp, #128]
    ldp  d14, d15, [sp, #144]
    add  sp, sp, #GS_MINFRAME_SIZE
    ret
    .size gs_bench_min_swap, .-gs_bench_min_swap

    .section .note.GNU-stack,"",%progbits
    .text
