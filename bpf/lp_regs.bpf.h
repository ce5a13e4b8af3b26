/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the raw syscall tracepoints (raw_tp/sys_enter, raw_tp/sys_exit) need
 * that the per-syscall tracepoints get for free: the arguments, read from
 * the saved user registers (struct pt_regs, x86-64), and the knowledge that
 * a syscall is a 32-bit one, to be ignored.
 *
 * Every read is CO-RE (offsets relocated against the running kernel's BTF),
 * with bpf_probe_read_kernel: a raw tracepoint's pt_regs pointer is a plain
 * number to the verifier. (The current task, on Linux >= 5.11, is also a
 * BTF-typed pointer, read with plain loads.)
 */
#ifndef LAYERPROF_LP_REGS_BPF_H
#define LAYERPROF_LP_REGS_BPF_H

/* The argument registers di, si, dx, r10, r8, r9 all lie in the 64 bytes
 * that start at r10 (x86-64 has kept this layout since pt_regs exists). */
#define LP_REGS_SPAN 64

/* Offset of pt_regs field f from r10. A field before r10 wraps around to a
 * huge number, so one bound test catches fields on either side of the span. */
#define LP_REG_OFF(f)                                                          \
	(bpf_core_field_offset(struct pt_regs, f) - bpf_core_field_offset(struct pt_regs, r10))

/*
 * The current syscall's first nargs arguments into a[], the others 0 (as
 * the per-syscall tracepoints give them: both attach modes record the
 * same). One bpf_probe_read_kernel of the span, not six: each read is a
 * helper call, and this runs at every traced syscall entry. (Plain loads
 * through bpf_task_pt_regs, Linux 5.15, measured no faster: two helper
 * calls.) The offsets are constants once relocated, so the verifier sees
 * fixed stack offsets; on a kernel whose layout differed, the six-read path
 * would be the one taken.
 */
static __always_inline void lp_regs_args(const struct pt_regs *regs, __u64 a[6], const int nargs)
{
	__u32 o0 = LP_REG_OFF(di), o1 = LP_REG_OFF(si), o2 = LP_REG_OFF(dx);
	__u32 o3 = LP_REG_OFF(r10), o4 = LP_REG_OFF(r8), o5 = LP_REG_OFF(r9);
	const __u32 last = LP_REGS_SPAN - 8;
	if (o0 <= last && o1 <= last && o2 <= last && o3 <= last && o4 <= last && o5 <= last) {
		__u64 span[LP_REGS_SPAN / 8];
		if (bpf_probe_read_kernel(span, sizeof(span), &regs->r10))
			__builtin_memset(span, 0, sizeof(span));
		a[0] = span[o0 / 8];
		a[1] = span[o1 / 8];
		a[2] = span[o2 / 8];
		a[3] = span[o3 / 8];
		a[4] = span[o4 / 8];
		a[5] = span[o5 / 8];
	} else {
		a[0] = BPF_CORE_READ(regs, di);
		a[1] = BPF_CORE_READ(regs, si);
		a[2] = BPF_CORE_READ(regs, dx);
		a[3] = BPF_CORE_READ(regs, r10);
		a[4] = BPF_CORE_READ(regs, r8);
		a[5] = BPF_CORE_READ(regs, r9);
	}
	/* the registers past the syscall's arity hold whatever user space
	 * left there */
	for (int i = 0; i < 6; i++)
		if (i >= nargs)
			a[i] = 0;
}

/*
 * Is the current syscall a 32-bit (ia32) one? Its number is from the ia32
 * table (5 is open there, fstat on x86-64): looking it up in our x86-64
 * table would be wrong. The per-syscall tracepoints skip these on x86
 * (trace_syscalls.c: arch_trace_is_compat_syscall), so we do too.
 * TS_COMPAT, not the number range or the code segment: a 64-bit process
 * can make ia32 syscalls with int 0x80, and the numbers overlap.
 * x32 syscalls need no test: their numbers have bit 30 set, beyond the table.
 */
static __always_inline bool lp_compat_syscall(void)
{
	if (!bpf_core_field_exists(struct task_struct, thread_info))
		return false;
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, thread_info.status) & LP_TS_COMPAT;
}

/* The same test on a BTF-typed task (Linux >= 5.11, see LP_HAVE_TASK_BTF):
 * a plain load, ~20 ns less than bpf_probe_read_kernel (sys_enter). */
static __always_inline bool lp_task_compat(const struct task_struct *t)
{
	if (!bpf_core_field_exists(struct task_struct, thread_info))
		return false;
	return t->thread_info.status & LP_TS_COMPAT;
}

#endif /* LAYERPROF_LP_REGS_BPF_H */
