/* Context switch for aarch64, AAPCS64 (Procedure Call Standard for the Arm
 * 64-bit Architecture, section 6.1): callee-saved are x19-x28, the frame
 * pointer x29, the link register x30, sp, the low 64 bits of v8-v15
 * (d8-d15) and the FPCR control register (FPSR holds only status flags).
 *
 * void *cio__switch_value(void **save_sp, void *resume_sp, void *value,
 *                         void **received);
 * int cio__switch_status(...same...);
 *
 * One routine, two names: saves the running context on its stack, stores
 * sp in *save_sp and resumes the context saved at resume_sp. When it resumes
 * a context that passed received == NULL it returns `value` there;
 * otherwise it stores `value` in *received and returns 0 (so C callers can
 * branch here as their last act, see switch-x86_64.S).
 *
 * Frame on a suspended stack, 8-byte words from its saved sp:
 *   0-9 x19-x28, 10 x29, 11 x30 (resume address), 12-19 d8-d15,
 *   20 FPCR, 21 received.
 * FPCR is written only when it differs: msr fpcr can stall the FP pipes.
 * The resume is a `ret`: a `br x30` to a return address would fault on
 * systems that enforce branch target identification.
 * The *_shared names (threads whose coroutines share the FPU control words
 * on x86-64) are the same code here: FPCR is always kept. */
    .text
    .globl  cio__switch_value
    .hidden cio__switch_value
    .type   cio__switch_value, %function
    .globl  cio__switch_status
    .hidden cio__switch_status
    .type   cio__switch_status, %function
    .globl  cio__switch_value_shared
    .hidden cio__switch_value_shared
    .type   cio__switch_value_shared, %function
    .globl  cio__switch_status_shared
    .hidden cio__switch_status_shared
    .type   cio__switch_status_shared, %function
    .p2align 4
cio__switch_value:
cio__switch_status:
cio__switch_value_shared:
cio__switch_status_shared:
    .cfi_startproc
    sub     sp, sp, #176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mrs     x9, fpcr
    stp     x9, x3, [sp, #160]
    mov     x10, sp
    str     x10, [x0]
    mov     sp, x1
    ldp     x10, x3, [sp, #160]
    cmp     x10, x9
    b.ne    .Lload_fpcr
.Lfpcr_done:
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #176
    cbnz    x3, .Lstore
    mov     x0, x2
    ret
.Lstore:
    str     x2, [x3]
    mov     w0, #0
    ret
.Lload_fpcr:
    msr     fpcr, x10
    b       .Lfpcr_done
    .cfi_endproc
    .size   cio__switch_value, .-cio__switch_value
    .size   cio__switch_status, .-cio__switch_status
    .size   cio__switch_value_shared, .-cio__switch_value_shared
    .size   cio__switch_status_shared, .-cio__switch_status_shared

/* First code a new coroutine runs: x19 holds the coroutine, x0 the value of
 * the first switch. cio__coro_start never returns. */
    .globl  cio__trampoline
    .hidden cio__trampoline
    .type   cio__trampoline, %function
    .p2align 4
cio__trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x1, x0
    mov     x0, x19
    bl      cio__coro_start
    brk     #0
    .cfi_endproc
    .size   cio__trampoline, .-cio__trampoline

    .section .note.GNU-stack, "", %progbits
