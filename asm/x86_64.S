// gosched context switching for x86-64 (System V AMD64 ABI), AT&T syntax.
//
// Included by src/runtime/context.rs with global_asm!(..., options(att_syntax, raw)):
// the file is not run through the C preprocessor, so it uses no #define or #if.
//
// A *saved context* is 64 bytes on the stack of the context being left, and the
// saved stack pointer (Gobuf.sp) points at its first byte. It is 16-byte aligned
// because every entry point below is reached by a `call` from ABI-aligned code.
//
//     sp+0   MXCSR (4 bytes) | x87 control word (2 bytes) | 2 bytes unused
//     sp+8   r15
//     sp+16  r14
//     sp+24  r13
//     sp+32  r12
//     sp+40  rbx
//     sp+48  rbp
//     sp+56  resume address (the return address pushed by the call)
//
// The same layout as numbers, by role: src/runtime/context.rs names the slots it
// writes (the first frame of a goroutine, the benchmark's minimal frame) and checks
// them against these lines at compile time. A new goroutine's first frame holds its
// function in r12, its argument in r13 and goexit1 in r14 (see gs_gostart).
    .set GS_FRAME_FPCTRL, 0
    .set GS_FRAME_START_EXIT, 16
    .set GS_FRAME_START_ARG, 24
    .set GS_FRAME_START_FN, 32
    .set GS_FRAME_PC, 56
    .set GS_FRAME_SIZE, 64
// The callee-saved registers by name, for debuggers that unwind a parked goroutine
// from its saved context (gs_debug_layout, src/runtime/debugger.rs).
    .set GS_FRAME_R15, 8
    .set GS_FRAME_R14, 16
    .set GS_FRAME_R13, 24
    .set GS_FRAME_R12, 32
    .set GS_FRAME_RBX, 40
    .set GS_FRAME_RBP, 48
// gs_bench_min_swap's frame: r15, r14, r13, r12, rbx, rbp, resume address.
    .set GS_MINFRAME_PC, 48
    .set GS_MINFRAME_SIZE, 56
    .if GS_FRAME_PC != GS_FRAME_SIZE - 8
    .error "the resume address must be the last slot of a saved context"
    .endif
//
// Saved: the callee-saved registers of the SysV ABI (rbx, rbp, r12-r15), rsp,
// and the floating-point *control* state (MXCSR control bits, x87 control word),
// which the ABI says is callee-saved and gosched.h makes per-goroutine.
// Not saved, deliberately: caller-saved registers (rax, rcx, rdx, rsi, rdi,
// r8-r11, xmm0-15, the x87 stack), which the caller of a switch has already given
// up; MXCSR/x87 *status* flags (exceptions raised), which belong to no one; the
// direction flag, which the ABI requires clear at every call; fs/gs bases
// (thread-locals belong to the M, not the goroutine; see src/runtime/tls.rs).
//
// gs_gogo resumes with `ret`: the scheduler's path to it makes no call that does
// not return, so the return-stack predictor holds the calls of the goroutine that
// blocked last, and a goroutine resuming through the same code has its returns
// predicted (see "Return prediction" in src/runtime/context.rs). gs_ctx_swap, a
// direct switch between two contexts that block at different places, ends in
// `pop %rcx; jmp *%rcx` instead: there a `ret` would always be mispredicted, and
// the indirect jump is predicted by its target.

    .text

// SAVE_CONTEXT: push the callee-saved registers and the FP control words, leaving
// rsp at the saved context (layout above).
.macro SAVE_CONTEXT
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr GS_FRAME_FPCTRL(%rsp)
    fnstcw GS_FRAME_FPCTRL+4(%rsp)
.endm

// RESTORE_CONTEXT: with rsp at a saved context, restore the FP control words and
// the callee-saved registers, leaving rsp at the resume address.
.macro RESTORE_CONTEXT
    ldmxcsr GS_FRAME_FPCTRL(%rsp)
    fldcw GS_FRAME_FPCTRL+4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
.endm

// RESUME_CONTEXT: restore a saved context and jump to its resume address. The
// caller-saved rcx carries the address.
.macro RESUME_CONTEXT
    RESTORE_CONTEXT
    popq %rcx
    jmpq *%rcx
.endm

// RESUME_CONTEXT_RET: the same, resuming with `ret` (see "Return prediction").
.macro RESUME_CONTEXT_RET
    RESTORE_CONTEXT
    ret
.endm

// void gs_mcall(uintptr_t *save_sp, uintptr_t g0_sp, void (*fn)(void *), void *gp)
// On entry: rdi = save_sp, rsi = g0_sp, rdx = fn, rcx = gp.
// Saves the caller's context (layout above) and stores its sp into *save_sp,
// switches to the M's g0 stack at g0_sp (16-byte aligned, fixed for the M's
// lifetime) and enters fn(gp) there, by a jump after pushing a null return
// address (a call would leave its return on the predictor's stack). fn never
// returns (it ends in gs_gogo of some context); the caller resumes when something
// gs_gogo's *save_sp.
    .globl gs_mcall
    .hidden gs_mcall
    .type gs_mcall,@function
    .p2align 4
gs_mcall:
    .cfi_startproc
    SAVE_CONTEXT
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    movq %rcx, %rdi
    pushq $0    # fn never returns: no return address (and no call, see above)
    jmpq *%rdx
    .cfi_endproc
    .size gs_mcall, .-gs_mcall

// void gs_gogo(uintptr_t sp)  -- never returns
// On entry: rdi = sp of a saved context. Restores it and resumes there.
    .globl gs_gogo
    .hidden gs_gogo
    .type gs_gogo,@function
    .p2align 4
gs_gogo:
    .cfi_startproc
    movq %rdi, %rsp
    RESUME_CONTEXT_RET
    .cfi_endproc
    .size gs_gogo, .-gs_gogo

// void gs_ctx_swap(uintptr_t *save_sp, uintptr_t to_sp)
// On entry: rdi = save_sp, rsi = to_sp. Saves the caller's context into
// *save_sp and resumes the context saved at to_sp: the two halves of
// gs_mcall + gs_gogo without the g0 hop. Used for direct hand-offs and by the
// raw switch benchmark.
    .globl gs_ctx_swap
    .hidden gs_ctx_swap
    .type gs_ctx_swap,@function
    .p2align 4
gs_ctx_swap:
    .cfi_startproc
    SAVE_CONTEXT
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    RESUME_CONTEXT
    .cfi_endproc
    .size gs_ctx_swap, .-gs_ctx_swap

// void gs_mstart0(uintptr_t *g0_sp, void (*fn)(void *), void *arg)
// On entry: rdi = g0_sp, rsi = fn, rdx = arg. Saves the caller's context on the
// current (OS thread) stack exactly as gs_mcall does and stores its sp into
// *g0_sp. That sp is g0's fixed scheduling point: gs_mcall calls its functions
// just below it, leaving the saved context intact, and gs_gogo(*g0_sp) returns
// from gs_mstart0 to its caller, which is how an M leaves the scheduler.
// Then calls fn(arg), which never returns.
    .globl gs_mstart0
    .hidden gs_mstart0
    .type gs_mstart0,@function
    .p2align 4
gs_mstart0:
    .cfi_startproc
    SAVE_CONTEXT
    movq %rsp, (%rdi)
    movq %rdx, %rdi
    callq *%rsi
    ud2
    .cfi_endproc
    .size gs_mstart0, .-gs_mstart0

// gs_gostart: the first code a new goroutine runs (Go's gostartcall + goexit).
// Reached by gs_gogo of the frame that newproc lays out, with
//   r12 = the goroutine's function, r13 = its argument, r14 = goexit1
// and rsp 16-byte aligned. It calls fn(arg); fn's plain `ret` lands on the
// instruction after the call, gs_goexit_pc, which calls goexit1 (Go's goexit1 ->
// mcall(goexit0)); that never returns. r14 survives fn because it is callee-saved.
// The return address is made by a real `call` (instead of Go's pushed goexit pc)
// so that call and return pair up for the return-stack predictor.
// rip is marked undefined so that debuggers and unwinders stop here: no frame
// lies above a goroutine's entry.
    .globl gs_gostart
    .hidden gs_gostart
    .type gs_gostart,@function
    .p2align 4
gs_gostart:
    .cfi_startproc
    .cfi_undefined %rip
    movq %r13, %rdi
    callq *%r12
    .globl gs_goexit_pc
    .hidden gs_goexit_pc
gs_goexit_pc:
    callq *%r14
    ud2
    .cfi_endproc
    .size gs_gostart, .-gs_gostart

// A minimal hand-written switch for the benchmark's baseline: callee-saved
// registers only, no FP control state, ends in `pop; jmp`.
// void gs_bench_min_swap(uintptr_t *save_sp, uintptr_t to_sp)
    .globl gs_bench_min_swap
    .hidden gs_bench_min_swap
    .type gs_bench_min_swap,@function
    .p2align 4
gs_bench_min_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    popq %rcx
    jmpq *%rcx
    .size gs_bench_min_swap, .-gs_bench_min_swap

// The current M of each OS thread (src/runtime/tls.rs), a thread-local of the
// initial-exec model: read with one %fs-relative load, without __tls_get_addr. It
// is 8 bytes, well within the static TLS space that the dynamic loader keeps for
// libraries loaded with dlopen.
    .section .tbss,"awT",@nobits
    .globl gs_tls_m
    .hidden gs_tls_m
    .type gs_tls_m,@object
    .size gs_tls_m, 8
    .p2align 3
gs_tls_m:
    .zero 8

// Non-zero while the thread is inside a write(2) made by the runtime for the
// program (gs_write, gs_dump), for the SIGPIPE handler (src/runtime/signal.rs).
// Initial-exec too: the handler reads it, and must not allocate a TLS block.
    .globl gs_tls_in_write
    .hidden gs_tls_in_write
    .type gs_tls_in_write,@object
    .size gs_tls_in_write, 8
    .p2align 3
gs_tls_in_write:
    .zero 8

// The reader slot of the thread's P in every gs_rwmutex (src/runtime/tls.rs): the
// byte offset of that slot in the lock, or 0 when the thread holds no P with a slot.
// The inline read-lock of include/gosched.h reads it at the thread-pointer offset
// each lock records; no program links against the symbol.
    .globl gs_tls_rwslot
    .hidden gs_tls_rwslot
    .type gs_tls_rwslot,@object
    .size gs_tls_rwslot, 8
    .p2align 3
gs_tls_rwslot:
    .zero 8

    .section .note.GNU-stack,"",@progbits
    .text
