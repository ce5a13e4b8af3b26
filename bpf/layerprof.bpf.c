// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * layerprof's kernel side: one CO-RE object (see lp_core.bpf.h for maps).
 *
 *  - syscalls, in one of two attach modes chosen by user space:
 *      raw: raw_tp/sys_enter + raw_tp/sys_exit, two programs for every
 *           syscall of the system; sys_enter finds the syscall's row by
 *           number (sc_of_nr, filled by the loader) and reads the arguments
 *           from the saved registers;
 *      tp:  the fallback, an enter and an exit program per row of
 *           syscalls.def on tp/syscalls/sys_{enter,exit}_<name>.
 *    Both call the same sc_enter()/sc_exit(). Enter saves ts + args in the
 *    thread's `inflight` slot; exit acts per CLASS (emit, failures only,
 *    per-fd aggregate, counts...). Strings are read at exit, exec argv at
 *    entry (and again from the new image at sched_process_exec when some of
 *    it was not paged in at entry).
 *  - processes: fork/exec/exit, each in three variants (tp_btf, raw_tp,
 *    tp); user space enables exactly one of each (bpf_program__set_autoload)
 *    after probing what the kernel supports.
 *
 * Every program starts with the same cheap filter: is the current tgid
 * traced (lp_traced: a cache load, the `traced` map only when the cache
 * cannot tell)? (exec also checks `comms` for untraced processes, and exit
 * only does work for traced ones.) Two exceptions, each cheaper still: the
 * raw sys_enter first drops the syscalls we do not trace (a table load),
 * and a syscall exit first looks for the thread's in-flight slot, which
 * only a traced thread can own.
 */
#include "lp_core.bpf.h"
#include "lp_nargs.bpf.h"
#include "lp_regs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

_Static_assert(sizeof(struct lp_ev_syscall) == 112, "lp_ev_syscall layout");
_Static_assert(sizeof(struct lp_ev_exec_argv) == 32, "lp_ev_exec_argv layout");
_Static_assert(sizeof(struct lp_ev_exec) == 48, "lp_ev_exec layout");
_Static_assert(LP_STR_MAX < LP_EVENT_MAX && LP_ARGV_MAX_BYTES < LP_EVENT_MAX, "sizes");

#define NS 9 /* syscalls.def: no string */
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
/* close_range(2) flag: mark the range close-on-exec instead of closing it */
#define CLOSE_RANGE_CLOEXEC (1u << 2)

/* ======================== syscalls ======================== */

/* Syscalls whose result is a new fd. Any aggregate left on that fd number
 * belonged to a file closed without a traced close (exec's CLOEXEC,
 * close_range, dup2 over it...): send it before the new file's events. */
#define LP_RETURNS_FD(sc)                                                            \
	((sc) == LP_SC_OPEN || (sc) == LP_SC_OPENAT || (sc) == LP_SC_OPENAT2 ||      \
	 (sc) == LP_SC_CREAT || (sc) == LP_SC_DUP || (sc) == LP_SC_DUP2 ||           \
	 (sc) == LP_SC_DUP3 || (sc) == LP_SC_FCNTL || (sc) == LP_SC_OPEN_TREE ||     \
	 (sc) == LP_SC_FSMOUNT || (sc) == LP_SC_FSOPEN)

/* What to do with a traced syscall: its row of syscalls.def and its arity.
 * The tracepoint programs read it at a constant index (folded at compile
 * time), the raw ones at the lp_sc their syscall number maps to. */
struct lp_sc_desc {
	__u8 sc;        /* enum lp_sc */
	__u8 cls;       /* enum lp_cls */
	__u8 nargs;     /* arguments it takes (lp_nargs.bpf.h) */
	__u8 str[4];    /* arguments read as strings at exit, NS: none */
};
_Static_assert(LP_SC_NR < 256, "lp_sc fits lp_sc_desc.sc and sc_of_nr");

static const struct lp_sc_desc sc_descs[LP_SC_NR] = {
#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3)                              \
	[LP_SC_##SC] = { LP_SC_##SC, CLASS, LP_NARGS_##TP, { S0, S1, S2, S3 } },
#include "layerprof/syscalls.def"
#undef LP_SYSCALL
};

/* chown, chmod and utimens are counted per process, at exit. */
static __always_inline bool cls_counted(const int cls)
{
	return cls == LP_CLS_CHOWN || cls == LP_CLS_CHMOD || cls == LP_CLS_UTIMENS;
}

/* Is the string in the scratch buffer cut? bpf_probe_read_user_str filled
 * the whole room (room - 1 chars + NUL): look at the source's next char. */
static __always_inline bool ustr_cut(const char *src, __u64 room)
{
	char c = 0;
	if (bpf_probe_read_user(&c, 1, src + room - 1))
		return false;
	return c != 0;
}

/*
 * One argument of an LP_EV_EXEC_ARGV: the user string at arg copied to
 * the scratch buffer at off (sizeof(ev) + LP_ARGV_MAX_BYTES - off >= 2, at
 * most LP_ARGV_ARG_MAX bytes). Returns the bytes written (NUL included) |
 * the bytes to the next argument of an argument area << 16 | LP_ARG_* bits.
 *
 * A global (not inlined, not static) function: the verifier checks it ONCE
 * per program, on its own, instead of once per iteration of emit_argv's
 * loop and per path into it (that loop was most of the load time: ~35,000
 * instructions processed per copy, three copies).
 */
#define LP_ARG_FAULT (1ll << 32)    /* unreadable: stop */
#define LP_ARG_CUT (1ll << 33)      /* cut at the room left */
#define LP_ARG_AREA_END (1ll << 34) /* too long to find the next one: stop after it */
__noinline long lp_argv_arg(__u64 off, __u64 arg, int from_area)
{
	char *buf = lp_scratch_buf();
	if (!buf || off + 2 > sizeof(struct lp_ev_exec_argv) + LP_ARGV_MAX_BYTES)
		return LP_ARG_FAULT;
	__u64 room = sizeof(struct lp_ev_exec_argv) + LP_ARGV_MAX_BYTES - off;
	if (room > LP_ARGV_ARG_MAX)
		room = LP_ARGV_ARG_MAX;
	lp_barrier_var(room);
	room &= 2 * LP_ARGV_ARG_MAX - 1;
	lp_barrier_var(off);
	off &= LP_EVENT_MAX - 1;
	long n = bpf_probe_read_user_str(buf + off, room, (const char *)arg);
	if (n <= 0)
		return LP_ARG_FAULT;
	if ((__u64)n > room)
		n = room;
	long step = n, bits = 0;
	if ((__u64)n == room && ustr_cut((const char *)arg, room)) {
		bits |= LP_ARG_CUT;
		if (from_area) {
			/* where does the next argument start? */
			step = bpf_probe_read_user_str(buf + LP_EVENT_MAX, LP_EVENT_MAX, (const char *)arg);
			if (step <= 0 || step >= LP_EVENT_MAX) {
				bits |= LP_ARG_AREA_END;
				step = 0;
			}
		}
	}
	return bits | (step & 0xffff) << 16 | (n & 0xffff);
}

/*
 * Build and send an LP_EV_EXEC_ARGV: the filename (a user string at entry,
 * a kernel one at sched_process_exec), then the arguments, from the user's
 * argv array (entry) or from the new image's argument area [area, area_end)
 * (sched_process_exec). Limits: LP_ARGV_MAX_ARGS arguments of at most
 * LP_ARGV_ARG_MAX bytes, LP_ARGV_MAX_BYTES in all, else LP_F_ARGV_TRUNC.
 * Returns true when it was sent and every string could be read.
 *
 * Verifier: each argument is lp_argv_arg's (checked once); `off` is masked
 * at the end of each iteration, so every loop head sees the same range.
 */
static __always_inline bool emit_argv(__u32 tgid, __u32 tid, __u32 sc, __s32 dirfd, __u64 ts,
				      const char *fname, const bool fname_kernel,
				      const char *const *argv, const bool from_area,
				      unsigned long area, unsigned long area_end)
{
	char *buf = lp_scratch_buf();
	if (!buf)
		return false;
	struct lp_ev_exec_argv *ev = (void *)buf;
	__u8 flags = 0;

	long n;
	if (fname_kernel)
		n = bpf_probe_read_kernel_str(buf + sizeof(*ev), LP_STR_MAX, fname);
	else
		n = bpf_probe_read_user_str(buf + sizeof(*ev), LP_STR_MAX, fname);
	if (n <= 0) {
		buf[sizeof(*ev)] = 0;
		n = 1;
		flags |= LP_F_STR_FAULT;
	}
	if (n > LP_STR_MAX)
		n = LP_STR_MAX;
	if (n == LP_STR_MAX && (fname_kernel || ustr_cut(fname, LP_STR_MAX)))
		flags |= LP_F_ARGV_TRUNC;
	__u64 off = sizeof(*ev) + n;
	lp_barrier_var(off);
	off &= LP_EVENT_MAX - 1;

	__u16 argc = 0;
	if (!from_area && !argv)
		goto out; /* execve(path, NULL, ...): no arguments */
	for (int i = 0; i <= LP_ARGV_MAX_ARGS; i++) {
		const char *arg = NULL;
		if (from_area) {
			if (area >= area_end)
				break;
			arg = (const char *)area;
		} else {
			if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i])) {
				flags |= LP_F_STR_FAULT;
				break;
			}
			if (!arg)
				break;
		}
		if (i == LP_ARGV_MAX_ARGS) {
			flags |= LP_F_ARGV_TRUNC;
			break;
		}
		if (off + 2 > sizeof(*ev) + LP_ARGV_MAX_BYTES) {
			flags |= LP_F_ARGV_TRUNC;
			break;
		}
		long r = lp_argv_arg(off, (unsigned long)arg, from_area);
		if (r & LP_ARG_FAULT) {
			flags |= LP_F_STR_FAULT;
			break;
		}
		if (r & LP_ARG_CUT)
			flags |= LP_F_ARGV_TRUNC;
		area = r & LP_ARG_AREA_END ? area_end : area + ((r >> 16) & 0xffff);
		/* the same range at every loop head, whatever the path */
		off = lp_widen(buf, off + (r & 0xffff)) & (LP_EVENT_MAX - 1);
		argc++;
	}
out:
	lp_hdr_fill(&ev->h, off, LP_EV_EXEC_ARGV, flags, tgid, tid, sc, ts);
	ev->dirfd = dirfd;
	ev->argc = argc;
	ev->data_len = off - sizeof(*ev);
	if (!lp_submit(buf, off, false))
		return false;
	return !(flags & LP_F_STR_FAULT);
}

/* The LP_EV_EXEC_ARGV of an execve/execveat with arguments a[]. One call
 * site, whatever the syscall: emit_argv is large, and the raw program
 * would otherwise carry two copies of it. */
static __always_inline bool exec_argv(__u32 tgid, __u32 tid, __u32 sc, __u64 ts, const __u64 a[6])
{
	const bool at = sc == LP_SC_EXECVEAT;
	__s32 dirfd = at ? (__s32)a[0] : LP_AT_FDCWD;
	const char *fname = (const char *)(at ? a[1] : a[0]);
	const char *const *argv = (const char *const *)(at ? a[2] : a[1]);
	return emit_argv(tgid, tid, sc, dirfd, ts, fname, false, argv, false, 0, 0);
}

/*
 * A traced thread (id: its pid_tgid) enters syscall d with arguments a[]
 * (0 past d.nargs). Both attach modes come here.
 */
static __always_inline void sc_enter(__u64 id, const struct lp_sc_desc d, const __u64 a[6])
{
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (d.cls == LP_CLS_FCNTL && (__s32)a[1] != F_DUPFD && (__s32)a[1] != F_DUPFD_CLOEXEC) {
		/* only the fd-duplicating commands are recorded: no slot, so
		 * the exit does nothing (one this thread still owned, from an
		 * exit we did not see, is given back as a claim would) */
		inflight_drop(tid);
		return;
	}
	struct lp_inflight *in = inflight_claim(tid);
	if (!in)
		return;
	in->sc = d.sc;
	in->flags = 0;
	if (cls_counted(d.cls))
		return; /* the slot only tells the exit which syscall it is */
	/* A close never uses its entry time: no clock read (~50 ns here) */
	in->ts = d.cls == LP_CLS_CLOSE ? 0 : bpf_ktime_get_ns();
	for (int i = 0; i < 6; i++)
		in->args[i] = a[i];
	/* Pages of a freshly forked child (string literals...) may not be
	 * mapped yet: then sched_process_exec sends the argv again, read from
	 * the new image, where the kernel has just written it. The slot is
	 * kept for the LP_EV_SYSCALL sent if the exec fails. */
	if (d.cls == LP_CLS_EXEC && exec_argv(tgid, tid, d.sc, in->ts, a))
		in->flags |= LP_INFL_ARGV_OK;
}

/* Append string i (user pointer uptr, not NULL) to the LP_EV_SYSCALL in
 * the scratch buffer at off; returns the new offset. Never goes past
 * LP_EVENT_MAX in all. Global, so verified once (see lp_argv_arg), not
 * once per string of each syscall class. */
__noinline __u64 lp_put_str(__u64 off, int i, __u64 uptr)
{
	char *buf = lp_scratch_buf();
	if (!buf)
		return off;
	struct lp_ev_syscall *ev = (void *)buf;
	i &= LP_SYSCALL_MAX_STRS - 1;
	if (off + 2 > LP_EVENT_MAX) {
		ev->h.flags |= LP_F_STR0_TRUNC << i;
		return off;
	}
	__u64 room = LP_EVENT_MAX - off;
	if (room > LP_STR_MAX)
		room = LP_STR_MAX;
	lp_barrier_var(room);
	room &= 2 * LP_STR_MAX - 1;
	lp_barrier_var(off);
	off &= LP_EVENT_MAX - 1;
	long n = bpf_probe_read_user_str(buf + off, room, (const char *)uptr);
	if (n <= 0) {
		ev->h.flags |= LP_F_STR_FAULT;
		return off;
	}
	if ((__u64)n > room)
		n = room;
	if ((__u64)n == room && ustr_cut((const char *)uptr, room))
		ev->h.flags |= LP_F_STR0_TRUNC << i;
	ev->str_len[i] = n;
	return off + n;
}

static __always_inline __u64 put_str(__u64 off, const int i, __u64 uptr)
{
	return uptr ? lp_put_str(off, i, uptr) : off;
}

/*
 * A traced thread (id) leaves syscall d, which returned ret. in is the slot
 * its entry filled, NULL when there is none (it entered before tracing
 * began; or a counted class in tp mode, which has no enter program).
 * Both attach modes come here.
 */
static __always_inline void sc_exit(__u64 id, const struct lp_sc_desc d, long ret,
				    struct lp_inflight *in)
{
	__u32 tgid = id >> 32, tid = (__u32)id;
	const __u32 sc = d.sc;
	const int cls = d.cls;

	if (cls_counted(cls)) {
		if (in)
			inflight_release(in);
		counts_inc(tgid, cls == LP_CLS_CHOWN   ? LP_CNT_CHOWN
				 : cls == LP_CLS_CHMOD ? LP_CNT_CHMOD
						       : LP_CNT_UTIMENS);
		return;
	}
	if (!in)
		return;
	__u64 ts = in->ts;
	__u64 a0 = in->args[0];
	__u64 a1 = in->args[1];

	/* The clock is read only where its value is used: not for a
	 * successful stat or exec, a plain fcntl, or a close of an fd never
	 * read or written (~20 ns each). */
	if (cls == LP_CLS_READ || cls == LP_CLS_WRITE) {
		inflight_release(in);
		fdio_add(tgid, (__s32)a0, cls == LP_CLS_WRITE, ret, ts, bpf_ktime_get_ns());
		return;
	}
	if (cls == LP_CLS_CLOSE) {
		inflight_release(in);
		fdio_flush(tgid, tid, (__s32)a0, 0, 0);
		return;
	}
	if ((cls == LP_CLS_FAILONLY || cls == LP_CLS_EXEC) && ret >= 0) {
		inflight_release(in);
		if (cls == LP_CLS_FAILONLY)
			counts_inc(tgid, LP_CNT_STAT_OK);
		return;
	}
	if (cls == LP_CLS_FCNTL && (__s32)a1 != F_DUPFD && (__s32)a1 != F_DUPFD_CLOEXEC) {
		inflight_release(in);
		return;
	}
	if (cls == LP_CLS_EXEC && !(in->flags & LP_INFL_ARGV_OK)) {
		/* The exec failed and its argv was unreadable at entry: the
		 * kernel has touched those pages since, so try once more. */
		exec_argv(tgid, tid, sc, ts, in->args);
	}
	__u64 now = bpf_ktime_get_ns();

	/* an LP_EV_SYSCALL */
	char *buf = lp_scratch_buf();
	if (!buf) {
		inflight_release(in);
		return;
	}
	struct lp_ev_syscall *ev = (void *)buf;
	ev->args[0] = a0;
	ev->args[1] = a1;
	ev->args[2] = in->args[2];
	ev->args[3] = in->args[3];
	ev->args[4] = in->args[4];
	ev->args[5] = in->args[5];
	inflight_release(in);

	if (sc == LP_SC_CLOSE_RANGE && ret == 0 && (__s32)a0 >= 0 &&
	    !(ev->args[2] & CLOSE_RANGE_CLOEXEC))
		fdio_flush_closed(tgid, tid, (__s32)a0, now);
	if (LP_RETURNS_FD(sc) && ret >= 0 &&
	    !((sc == LP_SC_DUP2 || sc == LP_SC_DUP3) && (__s32)a0 == (__s32)a1))
		fdio_flush(tgid, tid, (__s32)ret, now, LP_FDIO_REUSED);

	const int s0 = d.str[0], s1 = d.str[1], s2 = d.str[2], s3 = d.str[3];
	/* what an open opened: only the kernel knows a directory from a file
	 * once no O_DIRECTORY says so (read once per open, from the fd table) */
	__u8 hflags = 0;
	if ((sc == LP_SC_OPEN || sc == LP_SC_OPENAT || sc == LP_SC_OPENAT2) && ret >= 0 &&
	    (lp_fd_mode((__s32)ret) & LP_S_IFMT) == LP_S_IFDIR)
		hflags = LP_F_OPEN_DIR;
	lp_hdr_fill(&ev->h, 0, LP_EV_SYSCALL, hflags, tgid, tid, sc, now);
	ev->ret = ret;
	ev->lat_ns = now - ts;
	ev->nstr = (s0 != NS) + (s1 != NS) + (s2 != NS) + (s3 != NS);
	ev->str_arg[0] = s0;
	ev->str_arg[1] = s1;
	ev->str_arg[2] = s2;
	ev->str_arg[3] = s3;
	ev->pad = 0;
	ev->str_len[0] = ev->str_len[1] = ev->str_len[2] = ev->str_len[3] = 0;
	__builtin_memset(ev->pad2, 0, sizeof(ev->pad2));

	__u64 off = sizeof(*ev);
	if (s0 != NS)
		off = put_str(off, 0, ev->args[s0 & 7]);
	if (s1 != NS)
		off = put_str(off, 1, ev->args[s1 & 7]);
	if (s2 != NS)
		off = put_str(off, 2, ev->args[s2 & 7]);
	if (s3 != NS)
		off = put_str(off, 3, ev->args[s3 & 7]);
	lp_barrier_var(off);
	off &= LP_SCRATCH - 1;
	ev->h.size = off;
	lp_submit(buf, off, false);
}

/* ---- attach mode "raw": two programs for all syscalls ---- */

/* sys_enter for both program kinds: regs is BTF-typed (plain loads) in the
 * tp_btf one, read with one bpf_probe_read_kernel in the raw one. */
static __always_inline int sys_enter_common(const struct pt_regs *regs, __u64 nr, const bool btf)
{
	/* Syscalls we do not trace leave first: a bounds check and a load
	 * from .rodata, cheaper than the filter's hash lookup, and most
	 * syscalls of a busy host (futex, epoll, poll...) are not ours. */
	if (nr >= LP_NR_MAX)
		return 0; /* x32 (bit 30 set), or -1 from a ptracer */
	__u32 sc = sc_of_nr[nr];
	if (!sc || sc >= LP_SC_NR)
		return 0;
	__u64 id;
	if (LP_HAVE_TASK_BTF) {
		/* One helper call for the ids and the ia32 test: the task's
		 * pid and tgid are what bpf_get_current_pid_tgid returns, and
		 * every helper call costs here (the SRSO return sequence). */
		struct task_struct *t = bpf_get_current_task_btf();
		id = (__u64)t->tgid << 32 | (__u32)t->pid;
		if (!lp_traced(id >> 32) || lp_task_compat(t))
			return 0;
	} else {
		id = bpf_get_current_pid_tgid();
		if (!lp_traced(id >> 32) || lp_compat_syscall())
			return 0;
	}
	const struct lp_sc_desc d = sc_descs[sc];
	__u64 a[6];
	if (btf) {
		/* ~45 ns less per traced syscall than the probe read (bpf_stats,
		 * bench section 9's storm) */
		a[0] = d.nargs > 0 ? regs->di : 0;
		a[1] = d.nargs > 1 ? regs->si : 0;
		a[2] = d.nargs > 2 ? regs->dx : 0;
		a[3] = d.nargs > 3 ? regs->r10 : 0;
		a[4] = d.nargs > 4 ? regs->r8 : 0;
		a[5] = d.nargs > 5 ? regs->r9 : 0;
	} else {
		lp_regs_args(regs, a, d.nargs);
	}
	sc_enter(id, d, a);
	return 0;
}

static __always_inline int sys_exit_common(long ret)
{
	/* The filter here is the thread's slot: only sys_enter of a traced
	 * thread, for a syscall we trace, takes one, and the exit of that
	 * same syscall gives it back. An ARRAY load, no helper call beyond
	 * the pid. */
	__u64 id = bpf_get_current_pid_tgid();
	struct lp_inflight *in = inflight_get((__u32)id);
	if (!in)
		return 0;
	__u32 sc = in->sc;
	if (sc >= LP_SC_NR) {
		inflight_release(in);
		return 0;
	}
	sc_exit(id, sc_descs[sc], ret, in);
	return 0;
}

/* BTF-typed (preferred where tp_btf attaches; the loader falls back to
 * the raw pair) */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long nr)
{
	return sys_enter_common(regs, (__u64)nr, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	/* Syscalls we do not trace leave first, as in sys_enter: the number
	 * is regs->orig_ax, a plain load here, so no helper call for them
	 * (every process of the host; the raw program would need a probe
	 * read, as dear as the pid helper, and keeps the slot as filter). */
	__u64 nr = regs->orig_ax;
	if (nr >= LP_NR_MAX || !sc_of_nr[nr])
		return 0;
	return sys_exit_common(ret);
}

SEC("raw_tp/sys_enter")
int sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return sys_enter_common((const struct pt_regs *)ctx->args[0], ctx->args[1], false);
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	/* the return value is the tracepoint's second argument (regs->ax) */
	return sys_exit_common((long)ctx->args[1]);
}

/* ---- the hot file I/O path on fentry/fexit (where the kernel allows them) ----
 *
 * open, read/write and close, the syscalls a build makes most, traced on the
 * x86-64 syscall functions themselves (__x64_sys_NAME(const struct pt_regs
 * *)) instead of in sys_enter/sys_exit: the raw programs then leave those
 * syscall numbers at their first test (the loader keeps them out of
 * sc_of_nr). Same sc_enter/sc_exit, same arguments (the same pt_regs, read
 * with plain loads: a BTF-typed pointer), same return value, so the events
 * are byte for byte those of the other modes. Only x86-64 syscalls reach
 * __x64_sys_*: no ia32 test. */
static __always_inline int fe_enter(const struct pt_regs *regs, const __u32 sc)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!lp_traced(id >> 32))
		return 0;
	const struct lp_sc_desc d = sc_descs[sc];
	__u64 a[6];
	a[0] = d.nargs > 0 ? regs->di : 0;
	a[1] = d.nargs > 1 ? regs->si : 0;
	a[2] = d.nargs > 2 ? regs->dx : 0;
	a[3] = d.nargs > 3 ? regs->r10 : 0;
	a[4] = d.nargs > 4 ? regs->r8 : 0;
	a[5] = d.nargs > 5 ? regs->r9 : 0;
	sc_enter(id, d, a);
	return 0;
}

static __always_inline int fe_exit(const __u32 sc, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	/* the slot is the filter, as in sys_exit_raw */
	struct lp_inflight *in = inflight_get((__u32)id);
	if (!in)
		return 0;
	if (in->sc != sc) {
		inflight_release(in); /* stale: an exit we did not see */
		return 0;
	}
	sc_exit(id, sc_descs[sc], ret, in);
	return 0;
}

/* fe_<tp> and fx_<tp>: the loader finds them by these names */
#define LP_FENTRY(SC, TP)                                                      \
	SEC("fentry/__x64_sys_" #TP)                                           \
	int BPF_PROG(fe_##TP, const struct pt_regs *regs)                      \
	{                                                                      \
		return fe_enter(regs, LP_SC_##SC);                             \
	}                                                                      \
	SEC("fexit/__x64_sys_" #TP)                                            \
	int BPF_PROG(fx_##TP, const struct pt_regs *regs, long ret)            \
	{                                                                      \
		return fe_exit(LP_SC_##SC, ret);                               \
	}
LP_FENTRY(OPEN, open)
LP_FENTRY(OPENAT, openat)
LP_FENTRY(OPENAT2, openat2)
LP_FENTRY(CREAT, creat)
LP_FENTRY(CLOSE, close)
LP_FENTRY(READ, read)
LP_FENTRY(WRITE, write)
LP_FENTRY(PREAD64, pread64)
LP_FENTRY(PWRITE64, pwrite64)
LP_FENTRY(READV, readv)
LP_FENTRY(WRITEV, writev)
LP_FENTRY(PREADV, preadv)
LP_FENTRY(PWRITEV, pwritev)
LP_FENTRY(PREADV2, preadv2)
LP_FENTRY(PWRITEV2, pwritev2)
#undef LP_FENTRY

/* ---- attach mode "tp" (fallback): a program per syscall and direction ---- */

/* The syscall's nargs arguments, never read past them (see lp_nargs.bpf.h),
 * the others 0. */
static __always_inline void tp_args(const struct trace_event_raw_sys_enter *ctx, __u64 a[6],
				    const int nargs)
{
	a[0] = nargs > 0 ? ctx->args[0] : 0;
	a[1] = nargs > 1 ? ctx->args[1] : 0;
	a[2] = nargs > 2 ? ctx->args[2] : 0;
	a[3] = nargs > 3 ? ctx->args[3] : 0;
	a[4] = nargs > 4 ? ctx->args[4] : 0;
	a[5] = nargs > 5 ? ctx->args[5] : 0;
}

static __always_inline int tp_enter(struct trace_event_raw_sys_enter *ctx, const __u32 sc)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!lp_traced(id >> 32))
		return 0;
	const struct lp_sc_desc d = sc_descs[sc];
	__u64 a[6];
	tp_args(ctx, a, d.nargs);
	sc_enter(id, d, a);
	return 0;
}

static __always_inline int tp_exit(struct trace_event_raw_sys_exit *ctx, const __u32 sc)
{
	const struct lp_sc_desc d = sc_descs[sc];
	__u64 id = bpf_get_current_pid_tgid();
	struct lp_inflight *in = NULL;
	if (cls_counted(d.cls)) {
		/* no enter program, hence no slot: the filter proper */
		if (!lp_traced(id >> 32))
			return 0;
	} else {
		/* the slot is the filter, as in sys_exit_raw */
		in = inflight_get((__u32)id);
		if (!in)
			return 0;
		if (in->sc != sc) {
			/* stale (an exit we did not see): drop it */
			inflight_release(in);
			return 0;
		}
	}
	sc_exit(id, d, ctx->ret, in);
	return 0;
}

/* One enter program per class that needs one, one exit program per row. */
#define LP_ENTER_SAVE(SC, TP)                                                  \
	SEC("tp/syscalls/sys_enter_" #TP)                                      \
	int en_##TP(struct trace_event_raw_sys_enter *ctx)                     \
	{                                                                      \
		return tp_enter(ctx, LP_SC_##SC);                              \
	}
#define LP_ENTER_LP_CLS_EMIT LP_ENTER_SAVE
#define LP_ENTER_LP_CLS_FAILONLY LP_ENTER_SAVE
#define LP_ENTER_LP_CLS_FCNTL LP_ENTER_SAVE
#define LP_ENTER_LP_CLS_CLOSE LP_ENTER_SAVE
#define LP_ENTER_LP_CLS_READ LP_ENTER_SAVE
#define LP_ENTER_LP_CLS_WRITE LP_ENTER_SAVE
#define LP_ENTER_LP_CLS_EXEC LP_ENTER_SAVE
/* counted at exit only */
#define LP_ENTER_LP_CLS_CHOWN(SC, TP)
#define LP_ENTER_LP_CLS_CHMOD(SC, TP)
#define LP_ENTER_LP_CLS_UTIMENS(SC, TP)

#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3)                              \
	LP_ENTER_##CLASS(SC, TP)                                               \
	SEC("tp/syscalls/sys_exit_" #TP)                                       \
	int ex_##TP(struct trace_event_raw_sys_exit *ctx)                      \
	{                                                                      \
		return tp_exit(ctx, LP_SC_##SC);                               \
	}
#include "layerprof/syscalls.def"
#undef LP_SYSCALL

/* ======================== processes ======================== */

/* fork by a traced process (current, id = its pid_tgid): child_pid and
 * child_tgid of the new task. */
static __always_inline void proc_fork(__u64 id, __u32 child_pid, __u32 child_tgid)
{
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (child_pid != child_tgid)
		return; /* a thread: its tgid is already traced */
	traced_add(child_pid);
	struct lp_ev_fork ev;
	lp_hdr_fill(&ev.h, sizeof(ev), LP_EV_FORK, 0, tgid, tid, child_pid, bpf_ktime_get_ns());
	/* a child starts with its parent's comm */
	bpf_get_current_comm(ev.child_comm, sizeof(ev.child_comm));
	lp_submit(&ev, sizeof(ev), true);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!lp_traced(id >> 32))
		return 0;
	proc_fork(id, BPF_CORE_READ(child, pid), BPF_CORE_READ(child, tgid));
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(fork_raw, struct task_struct *parent, struct task_struct *child)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!lp_traced(id >> 32))
		return 0;
	proc_fork(id, BPF_CORE_READ(child, pid), BPF_CORE_READ(child, tgid));
	return 0;
}

/*
 * The perf tracepoint has no child tgid. A CLONE_THREAD child was just
 * added at the tail of current->signal->thread_head; a new process is not
 * on that list. Look at the last few entries (a concurrent clone in the same
 * process may have added another thread after ours).
 */
static __always_inline bool child_is_thread(__u32 child_pid)
{
	struct task_struct *cur = (void *)bpf_get_current_task();
	struct signal_struct *sig = BPF_CORE_READ(cur, signal);
	if (!sig)
		return false;
	struct list_head *head = &sig->thread_head;
	struct list_head *pos = BPF_CORE_READ(sig, thread_head.prev);
	__u64 node_off = bpf_core_field_offset(struct task_struct, thread_node);
	for (int i = 0; i < 4; i++) {
		if (!pos || pos == head)
			break;
		struct task_struct *t = (void *)((char *)pos - node_off);
		if ((__u32)BPF_CORE_READ(t, pid) == child_pid)
			return true;
		pos = BPF_CORE_READ(pos, prev);
	}
	return false;
}

SEC("tp/sched/sched_process_fork")
int fork_tp(struct trace_event_raw_sched_process_fork *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!lp_traced(id >> 32))
		return 0;
	__u32 child = ctx->child_pid;
	if (child_is_thread(child))
		return 0;
	proc_fork(id, child, child);
	return 0;
}

/* Does the current comm name a daemon we were asked to follow? */
static __always_inline bool comm_wanted(const __u64 cur[2])
{
	for (__u32 i = 0; i < LP_MAX_COMMS; i++) {
		__u32 k = i;
		const __u64 *c = bpf_map_lookup_elem(&comms, &k);
		if (!c)
			break;
		if (!c[0])
			continue; /* empty slot (a comm never starts with NUL) */
		if (c[0] == cur[0] && c[1] == cur[1])
			return true;
	}
	return false;
}

/* exec succeeded: current is the task, fname a kernel string. */
static __always_inline void proc_exec(struct task_struct *task, __u32 old_pid, const char *fname)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (tgid == self_tgid)
		return;
	union {
		char c[LP_COMM_LEN];
		__u64 q[2];
	} comm = {};
	if (!lp_traced(tgid)) {
		/* not traced: a (re)started daemon we follow by name? */
		bpf_get_current_comm(comm.c, sizeof(comm.c));
		if (!comm_wanted(comm.q))
			return;
		traced_add(tgid);
	}
	/* The argv, from the new image, unless exec's entry sent it complete
	 * (or this process was not traced at entry: a comm match). */
	__u32 sc = LP_SC_NONE;
	__s32 dirfd = LP_AT_FDCWD;
	bool argv_ok = false;
	struct lp_inflight *in = inflight_get(old_pid);
	if (in && (in->sc == LP_SC_EXECVE || in->sc == LP_SC_EXECVEAT)) {
		sc = in->sc;
		if (sc == LP_SC_EXECVEAT)
			dirfd = (__s32)in->args[0];
		argv_ok = in->flags & LP_INFL_ARGV_OK;
	}
	if (old_pid != tid) {
		/* a non-leader thread exec'd and took the tgid: the exit of its
		 * execve will be seen under the new tid */
		inflight_drop(old_pid);
	}
	__u64 now = bpf_ktime_get_ns();
	/* exec closed the O_CLOEXEC fds without a close call we could see */
	fdio_flush_closed(tgid, tid, 0, now);
	if (!argv_ok) {
		struct mm_struct *mm = BPF_CORE_READ(task, mm);
		emit_argv(tgid, tid, sc, dirfd, now, fname, true, NULL, true,
			  BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end));
	}
	char *buf = lp_scratch_buf();
	if (!buf)
		return;
	struct lp_ev_exec *ev = (void *)buf;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->pad = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	long n = bpf_probe_read_kernel_str(buf + sizeof(*ev), LP_STR_MAX, fname);
	__u8 flags = 0;
	if (n <= 0) {
		buf[sizeof(*ev)] = 0;
		n = 1;
		flags |= LP_F_STR_FAULT;
	}
	if (n > LP_STR_MAX)
		n = LP_STR_MAX;
	if (n == LP_STR_MAX)
		flags |= LP_F_STR0_TRUNC; /* kernel string: at least this long */
	ev->filename_len = n;
	__u64 size = (sizeof(*ev) + n) & (LP_SCRATCH - 1);
	lp_hdr_fill(&ev->h, size, LP_EV_EXEC, flags, tgid, tid, old_pid, now);
	lp_submit(buf, size, true);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	proc_exec(p, old_pid, BPF_CORE_READ(bprm, filename));
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	proc_exec(p, old_pid, BPF_CORE_READ(bprm, filename));
	return 0;
}

SEC("tp/sched/sched_process_exec")
int exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 off = ctx->__data_loc_filename & 0xffff;
	proc_exec((void *)bpf_get_current_task(), ctx->old_pid, (const char *)ctx + off);
	return 0;
}

/* The CPU time of the process whose last thread `task` is exiting: the
 * threads already released (signal->sum_sched_runtime, added as each is
 * reaped), the dying thread's own, and the group leader's when another
 * thread outlived it (a zombie leader is added to the signal only at its
 * release, after this). A thread dying at this very moment, past do_exit's
 * count but not yet released, is missed: a few microseconds at most. */
static __always_inline __u64 proc_cpu_ns(struct task_struct *task)
{
	__u64 ns = BPF_CORE_READ(task, signal, sum_sched_runtime) +
		   BPF_CORE_READ(task, se.sum_exec_runtime);
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	if (leader && leader != task)
		ns += BPF_CORE_READ(leader, se.sum_exec_runtime);
	return ns;
}

/* A thread of a traced process exits (current == task, id its pid_tgid).
 * group_dead: 1/0 when the tracepoint says, -1 to look at signal->live. */
static __always_inline void proc_exit(__u64 id, struct task_struct *task, int group_dead)
{
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (group_dead < 0)
		group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	if (!group_dead)
		return;
	/* Two threads dying together may both see live == 0: the one that
	 * removes the tgid reports the exit. */
	if (!traced_del(tgid))
		return;
	struct lp_ev_exit ev;
	lp_hdr_fill(&ev.h, sizeof(ev), LP_EV_EXIT, 0, tgid, tid, BPF_CORE_READ(task, exit_code),
		    bpf_ktime_get_ns());
	struct lp_counts *c = bpf_map_lookup_elem(&counts, &tgid);
	if (c) {
		ev.counts = *c;
		bpf_map_delete_elem(&counts, &tgid);
	} else {
		__builtin_memset(&ev.counts, 0, sizeof(ev.counts));
	}
	count_slot_take(tgid, &ev.counts);
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	ev.cpu_ns = proc_cpu_ns(task);
	lp_submit(&ev, sizeof(ev), true);
	/* after the record: its CPU time is read as early as it can be */
	lp_fdio_forget(tgid);
}

/* Any exiting thread that still owns an in-flight slot gives it back (one
 * that died in a syscall), traced or not: with two threads dying at once,
 * the one that sees its tgid already gone from `traced` has a slot too. */
static __always_inline __u64 exit_common(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	inflight_drop((__u32)id);
	return id;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *p)
{
	__u64 id = exit_common();
	if (!lp_traced_exiting(id >> 32))
		return 0;
	proc_exit(id, p, -1);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *p)
{
	__u64 id = exit_common();
	if (!lp_traced_exiting(id >> 32))
		return 0;
	proc_exit(id, p, -1);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int exit_tp(struct trace_event_raw_sched_process_exit *ctx)
{
	__u64 id = exit_common();
	if (!lp_traced_exiting(id >> 32))
		return 0;
	int group_dead = -1;
	if (bpf_core_field_exists(ctx->group_dead))
		group_dead = ctx->group_dead ? 1 : 0;
	proc_exit(id, (void *)bpf_get_current_task(), group_dead);
	return 0;
}
