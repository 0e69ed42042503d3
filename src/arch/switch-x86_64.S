/* Context switch for x86-64, System V AMD64 ABI (psABI 1.0, section 3.2.1):
 * callee-saved are rbx, rbp, r12-r15, the control bits of MXCSR and the x87
 * control word; everything else is the caller's business.
 *
 * void *cio__switch_value(void **save_sp, void *resume_sp, void *value,
 *                         void **received);
 * int cio__switch_status(...same...);
 *
 * One routine, two names: saves the running context on its stack, stores
 * the stack pointer in *save_sp and resumes the context saved at resume_sp.
 * When it resumes a context that passed received == NULL it returns `value`
 * there; otherwise it stores `value` in *received and returns 0. So the C
 * callers can jump here as their last act (a tail call): the resumed code
 * is then the caller of cio_coro_switch or cio_coro_yield itself, with no
 * C epilogue and no `ret` in between.
 *
 * Frame on a suspended stack, from its saved sp upwards:
 *   +0 MXCSR (4 bytes), +4 x87 control word (2 bytes), +8 r15, r14, r13,
 *   r12, rbx, rbp, +56 received, +64 resume address.
 * The resume address is popped and jumped to: a `ret` would mispredict on
 * every switch, the return stack buffer expecting our caller. MXCSR and the
 * control word are reloaded only when their control bits differ, since
 * ldmxcsr is slow and the sticky exception flags differ all the time.
 * A frame whose MXCSR word holds 0x80000000 (a reserved bit, never stored
 * by stmxcsr) leaves the running control words as they are: a new
 * coroutine inherits those of whoever first switches to it, like a called
 * function. cio__switch_start and cio__switch_exit (below) are the first
 * and the last switch of a coroutine: the first runs the entry function on
 * the bare new stack, the last saves nothing of the dead one.
 *
 * cio__switch_value_shared / cio__switch_status_shared are the same switch
 * for threads whose coroutines share one set of FPU control words
 * (cio_coro_set_fpu_private(false)): stmxcsr alone costs more than the
 * rest of the switch on some CPUs (AMD Zen 3). They leave the control
 * words alone and save the marker, so that frames from either kind of
 * switch can be resumed by the other. */

/* Pushes received (rcx, the fourth argument) and the callee-saved
 * registers below the resume address already on the stack: the frame
 * above, less the FPU words at +0, for which the caller makes room. */
    .macro push_frame
    pushq   %rcx
    .cfi_adjust_cfa_offset 8
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    .endm

/* The whole frame: push_frame, then the running FPU control words
 * (private words) or the "inherit" marker in their place (shared words). */
    .macro save_private
    push_frame
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    .endm

    .macro save_shared
    push_frame
    pushq   $-0x80000000
    .cfi_adjust_cfa_offset 8
    .endm

/* Loads the callee-saved registers, received (rsi) and the resume address
 * (rcx) from the frame at rsp. */
    .macro load_frame
    movq    8(%rsp), %r15
    movq    16(%rsp), %r14
    movq    24(%rsp), %r13
    movq    32(%rsp), %r12
    movq    40(%rsp), %rbx
    movq    48(%rsp), %rbp
    movq    56(%rsp), %rsi
    movq    64(%rsp), %rcx
    .endm

/* Pops the frame at rsp and jumps to its resume address, storing value
 * rdx in its received slot or returning it (see the top of this file). */
    .macro resume_tail
    leaq    72(%rsp), %rsp
    testq   %rsi, %rsi
    jnz     .Lstore\@
    movq    %rdx, %rax
    jmp     *%rcx
.Lstore\@:
    movq    %rdx, (%rsi)
    xorl    %eax, %eax
    jmp     *%rcx
    .endm

/* Resumes the frame at rsi with value rdx, comparing the control words
 * saved there with the running ones, stored at r8 (private words). */
    .macro resume_private
    movq    %rsi, %rsp
    /* Registers first: their loads overlap the slow FPU stores before. */
    load_frame
    /* Loads of the size stored: a wider one would not be forwarded. */
    movl    (%r8), %eax
    xorl    (%rsp), %eax
    testl   $0xffc0, %eax
    jnz     .Lfpu_differ\@
    movzwl  4(%r8), %eax
    cmpw    4(%rsp), %ax
    jne     .Lfpu_differ\@
.Lfpu_done\@:
    resume_tail
.Lfpu_differ\@:
    testl   $0x80000000, (%rsp)
    jnz     .Lfpu_done\@
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    jmp     .Lfpu_done\@
    .endm

/* The same, leaving the control words alone (shared words). */
    .macro resume_shared
    movq    %rsi, %rsp
    load_frame
    resume_tail
    .endm

/* Saves sp in *rdi, moves to the new stack at rsi and runs fn (r9) with
 * value rdx, then cio__coro_finish(co (r8), result). */
    .macro start_body
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    .cfi_def_cfa %rsp, 0
    .cfi_undefined rip
    movq    %r8, %rbx
    movq    %rdx, %rdi
    xorl    %ebp, %ebp
    call    *%r9
    movq    %rbx, %rdi
    movq    %rax, %rsi
    call    cio__coro_finish
    ud2
    .endm

    .text
    .globl  cio__switch_value
    .hidden cio__switch_value
    .type   cio__switch_value, @function
    .globl  cio__switch_status
    .hidden cio__switch_status
    .type   cio__switch_status, @function
    .p2align 4
cio__switch_value:
cio__switch_status:
    .cfi_startproc
    save_private
    movq    %rsp, (%rdi)
    movq    %rsp, %r8
    resume_private
    .cfi_endproc
    .size   cio__switch_value, .-cio__switch_value
    .size   cio__switch_status, .-cio__switch_status

    .globl  cio__switch_value_shared
    .hidden cio__switch_value_shared
    .type   cio__switch_value_shared, @function
    .globl  cio__switch_status_shared
    .hidden cio__switch_status_shared
    .type   cio__switch_status_shared, @function
    .p2align 4
cio__switch_value_shared:
cio__switch_status_shared:
    .cfi_startproc
    save_shared
    movq    %rsp, (%rdi)
    resume_shared
    .cfi_endproc
    .size   cio__switch_value_shared, .-cio__switch_value_shared
    .size   cio__switch_status_shared, .-cio__switch_status_shared

/* int cio__switch_start(void **save_sp, void *stack_top, void *value,
 *                        void **received, void *co, void *(*fn)(void *));
 * The first switch into a coroutine: saves the running context as
 * cio__switch_status does, then calls fn(value) at the 16-byte aligned
 * stack_top and cio__coro_finish(co, its result), which never returns.
 * The callee-saved registers are free here (they were just saved): rbx
 * keeps co across fn, rbp is zeroed and rip undefined to end backtraces.
 * A new stack needs no frame written at create. */
    .globl  cio__switch_start
    .hidden cio__switch_start
    .type   cio__switch_start, @function
    .globl  cio__switch_start_shared
    .hidden cio__switch_start_shared
    .type   cio__switch_start_shared, @function
    .p2align 4
cio__switch_start:
    .cfi_startproc
    save_private
    start_body
    .cfi_endproc
cio__switch_start_shared:
    .cfi_startproc
    save_shared
    start_body
    .cfi_endproc
    .size   cio__switch_start, .-cio__switch_start
    .size   cio__switch_start_shared, .-cio__switch_start_shared

/* void cio__switch_exit(void *resume_sp, void *value);
 * The last switch of a finished coroutine: resumes the context at
 * resume_sp with value, as cio__switch_value would, saving nothing (the
 * stack it leaves is dead). Its current control words go below its sp,
 * where the resume compares them. */
    .globl  cio__switch_exit
    .hidden cio__switch_exit
    .type   cio__switch_exit, @function
    .p2align 4
cio__switch_exit:
    .cfi_startproc
    leaq    -8(%rsp), %r8
    stmxcsr (%r8)
    fnstcw  4(%r8)
    movq    %rsi, %rdx
    movq    %rdi, %rsi
    resume_private
    .cfi_endproc
    .size   cio__switch_exit, .-cio__switch_exit

    .globl  cio__switch_exit_shared
    .hidden cio__switch_exit_shared
    .type   cio__switch_exit_shared, @function
    .p2align 4
cio__switch_exit_shared:
    .cfi_startproc
    movq    %rsi, %rdx
    movq    %rdi, %rsi
    resume_shared
    .cfi_endproc
    .size   cio__switch_exit_shared, .-cio__switch_exit_shared

/* First code a new coroutine runs: rbx holds the coroutine, rax the value
 * of the first switch. cio__coro_start never returns. */
    .globl  cio__trampoline
    .hidden cio__trampoline
    .type   cio__trampoline, @function
    .p2align 4
cio__trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq    %rbx, %rdi
    movq    %rax, %rsi
    call    cio__coro_start
    ud2
    .cfi_endproc
    .size   cio__trampoline, .-cio__trampoline

    .section .note.GNU-stack, "", @progbits
