// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Cost of layerprof's syscall hook design, and of two alternatives, for
 * bench/run.sh ("why" of sections 1 and 3). Not used by layerprof itself.
 *
 * Four program sets, one loaded at a time (user space picks with autoload):
 *   tp_hash   what layerprof does: one classic tracepoint program per
 *             syscall per direction (tp/syscalls/sys_{enter,exit}_X), the
 *             traced filter a HASH lookup of the tgid, the in-flight syscall
 *             state a HASH keyed by tid (update at entry, lookup + delete at
 *             exit)
 *   tp_bits   same tracepoints; filter = a bit in a global bitmap indexed by
 *             tgid; in-flight state = a slot of an ARRAY indexed by tid
 *   raw_hash  two raw tracepoints (raw_tp/sys_enter, raw_tp/sys_exit) for all
 *             syscalls, a per-syscall-number class table (ARRAY), HASH filter
 *             and HASH in-flight state
 *   raw_bits  raw tracepoints + bitmap filter + ARRAY in-flight slots
 *   tp_empty, raw_empty  the same hooks with programs that return at once:
 *             the floor of each hook kind
 * No event is emitted: this isolates the hook, filter and state costs. The
 * syscalls are the ones bench/workload makes.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PID_MAX (1u << 22)
#define SLOTS 65536

__u64 bits[PID_MAX / 64];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct infl {
	__u64 ts;
	__u64 args[6];
	__u32 sc;
	__u32 tid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct infl);
} infl_h SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, struct infl);
} infl_a SEC(".maps");

/* syscall number -> 1 when traced (raw variants) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u8);
} cls SEC(".maps");

__u64 done; /* exits that found their entry (sanity) */

static __always_inline bool in_hash(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline bool in_bits(__u32 tgid)
{
	if (tgid >= PID_MAX)
		return false;
	return bits[tgid >> 6] & (1ull << (tgid & 63));
}

/* the tracepoint context with named fields: clang then reads each at a
 * fixed offset from ctx (the verifier refuses a modified ctx pointer) */
struct tp_enter {
	__u64 common;
	long id;
	unsigned long a0, a1, a2, a3, a4, a5;
};
/* only the syscall's own arguments: a program reading past the end of its
 * tracepoint's record is refused at attach time (EACCES) */
#define COPY6(d, c, N)                                                         \
	(d)[0] = N > 0 ? (c)->a0 : 0, (d)[1] = N > 1 ? (c)->a1 : 0,             \
	(d)[2] = N > 2 ? (c)->a2 : 0, (d)[3] = N > 3 ? (c)->a3 : 0,             \
	(d)[4] = N > 4 ? (c)->a4 : 0, (d)[5] = N > 5 ? (c)->a5 : 0
static __always_inline void enter_hash_v(__u32 tid, __u32 sc, struct infl *vin)
{
	struct infl v = *vin;
	v.ts = bpf_ktime_get_ns();
	v.sc = sc;
	v.tid = tid;
	bpf_map_update_elem(&infl_h, &tid, &v, BPF_ANY);
}

static __always_inline void exit_hash(__u32 tid, __u32 sc)
{
	struct infl *v = bpf_map_lookup_elem(&infl_h, &tid);
	if (!v)
		return;
	if (v->sc == sc && v->ts)
		__sync_fetch_and_add(&done, 1);
	bpf_map_delete_elem(&infl_h, &tid);
}

static __always_inline struct infl *enter_arr(__u32 tid, __u32 sc)
{
	__u32 k = tid & (SLOTS - 1);
	struct infl *v = bpf_map_lookup_elem(&infl_a, &k);
	if (!v)
		return NULL;
	v->ts = bpf_ktime_get_ns();
	v->sc = sc;
	v->tid = tid;
	return v;
}

static __always_inline void exit_arr(__u32 tid, __u32 sc)
{
	__u32 k = tid & (SLOTS - 1);
	struct infl *v = bpf_map_lookup_elem(&infl_a, &k);
	if (!v || v->tid != tid || v->sc != sc)
		return;
	__sync_fetch_and_add(&done, 1);
	v->tid = 0;
}

/* ---- classic per-syscall tracepoints ---- */
#define TP_PAIR(NAME, NR, NA)                                                      \
	SEC("tp/syscalls/sys_enter_" #NAME)                                     \
	int th_en_##NAME(struct tp_enter *ctx)                                  \
	{                                                                       \
		__u64 id = bpf_get_current_pid_tgid();                          \
		if (!in_hash(id >> 32))                                         \
			return 0;                                               \
		struct infl v;                                                  \
		COPY6(v.args, ctx, NA);                                       \
		enter_hash_v((__u32)id, NR, &v);                                \
		return 0;                                                       \
	}                                                                       \
	SEC("tp/syscalls/sys_exit_" #NAME)                                      \
	int th_ex_##NAME(struct trace_event_raw_sys_exit *ctx)                  \
	{                                                                       \
		__u64 id = bpf_get_current_pid_tgid();                          \
		if (!in_hash(id >> 32))                                         \
			return 0;                                               \
		exit_hash((__u32)id, NR);                                       \
		return 0;                                                       \
	}                                                                       \
	SEC("tp/syscalls/sys_enter_" #NAME)                                     \
	int tb_en_##NAME(struct tp_enter *ctx)                                  \
	{                                                                       \
		__u64 id = bpf_get_current_pid_tgid();                          \
		if (!in_bits(id >> 32))                                         \
			return 0;                                               \
		struct infl *v = enter_arr((__u32)id, NR);                      \
		if (v) {                                                        \
			COPY6(v->args, ctx, NA);                              \
		}                                                               \
		return 0;                                                       \
	}                                                                       \
	SEC("tp/syscalls/sys_exit_" #NAME)                                      \
	int tb_ex_##NAME(struct trace_event_raw_sys_exit *ctx)                  \
	{                                                                       \
		__u64 id = bpf_get_current_pid_tgid();                          \
		if (!in_bits(id >> 32))                                         \
			return 0;                                               \
		exit_arr((__u32)id, NR);                                        \
		return 0;                                                       \
	}

/* the floor: the hooks with programs that return at once */
#define TP_EMPTY(NAME)                                                         \
	SEC("tp/syscalls/sys_enter_" #NAME)                                     \
	int te_en_##NAME(void *ctx) { return 0; }                               \
	SEC("tp/syscalls/sys_exit_" #NAME)                                      \
	int te_ex_##NAME(void *ctx) { return 0; }
TP_EMPTY(openat)
TP_EMPTY(read)
TP_EMPTY(write)
TP_EMPTY(close)
TP_EMPTY(newfstatat)
TP_EMPTY(unlink)
TP_EMPTY(mkdir)
TP_EMPTY(rmdir)

SEC("raw_tp/sys_enter")
int re_en(void *ctx) { return 0; }
SEC("raw_tp/sys_exit")
int re_ex(void *ctx) { return 0; }

/* "floor" (bench section 9): empty programs on exactly the attach points
 * record uses where tp_btf works (tp_btf sys_enter/sys_exit, fork, exec,
 * exit): what any design on these hooks pays before doing anything. */
SEC("tp_btf/sys_enter")
int fl_en(void *ctx) { return 0; }
SEC("tp_btf/sys_exit")
int fl_ex(void *ctx) { return 0; }
SEC("tp_btf/sched_process_fork")
int fl_fork(void *ctx) { return 0; }
SEC("tp_btf/sched_process_exec")
int fl_exec(void *ctx) { return 0; }
SEC("tp_btf/sched_process_exit")
int fl_exit(void *ctx) { return 0; }

TP_PAIR(openat, 257, 4)
TP_PAIR(read, 0, 3)
TP_PAIR(write, 1, 3)
TP_PAIR(close, 3, 1)
TP_PAIR(newfstatat, 262, 4)
TP_PAIR(unlink, 87, 1)
TP_PAIR(mkdir, 83, 2)
TP_PAIR(rmdir, 84, 1)

/* ---- raw tracepoints: one program per direction for every syscall ---- */
struct raw_args {
	unsigned long long args[2];
};
#define PT_REGS_DI 112 /* x86-64 struct pt_regs: di, si, dx, r10, r8, r9 */
static __always_inline void regs_args(void *regs, unsigned long *a)
{
	static const int off[6] = { 112, 104, 96, 56, 72, 64 };
	for (int i = 0; i < 6; i++)
		bpf_probe_read_kernel(&a[i], sizeof(a[i]), (char *)regs + off[i]);
}

static __always_inline bool cls_traced(__u32 nr)
{
	__u8 *c = bpf_map_lookup_elem(&cls, &nr);
	return c && *c;
}

SEC("raw_tp/sys_enter")
int rh_en(struct raw_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!in_hash(id >> 32))
		return 0;
	__u32 nr = (__u32)ctx->args[1];
	if (!cls_traced(nr))
		return 0;
	struct infl v;
	regs_args((void *)ctx->args[0], (unsigned long *)v.args);
	enter_hash_v((__u32)id, nr, &v);
	return 0;
}

SEC("raw_tp/sys_exit")
int rh_ex(struct raw_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!in_hash(id >> 32))
		return 0;
	struct infl *v = bpf_map_lookup_elem(&infl_h, &(__u32){ (__u32)id });
	if (!v)
		return 0;
	exit_hash((__u32)id, v->sc);
	return 0;
}

SEC("raw_tp/sys_enter")
int rb_en(struct raw_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!in_bits(id >> 32))
		return 0;
	__u32 nr = (__u32)ctx->args[1];
	if (!cls_traced(nr))
		return 0;
	struct infl *v = enter_arr((__u32)id, nr);
	if (v)
		regs_args((void *)ctx->args[0], (unsigned long *)v->args);
	return 0;
}

SEC("raw_tp/sys_exit")
int rb_ex(struct raw_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!in_bits(id >> 32))
		return 0;
	__u32 k = (__u32)id & (SLOTS - 1);
	struct infl *v = bpf_map_lookup_elem(&infl_a, &k);
	if (!v || v->tid != (__u32)id)
		return 0;
	exit_arr((__u32)id, v->sc);
	return 0;
}
