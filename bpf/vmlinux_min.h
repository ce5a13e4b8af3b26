/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The few kernel types layerprof's BPF programs use, written by hand.
 *
 * This is NOT a dump of some machine's vmlinux.h: every struct carries
 * preserve_access_index, so clang records a CO-RE relocation for each field
 * access and libbpf rewrites the offsets at load time against the running
 * kernel's BTF (/sys/kernel/btf/vmlinux). Only the fields we touch are
 * declared; their order and the struct sizes here do not matter. The same
 * object therefore loads on any x86-64 kernel >= 5.8 with BTF.
 *
 * Fields that do not exist on every kernel are read only behind
 * bpf_core_field_exists() (e.g. sched_process_exit's group_dead).
 */
#ifndef LAYERPROF_VMLINUX_MIN_H
#define LAYERPROF_VMLINUX_MIN_H

/* ---- basic types (what bpf_helpers.h / bpf_helper_defs.h expect) ---- */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef int pid_t;
typedef __u32 dev_t;
typedef _Bool bool;
enum { false = 0, true = 1 };

#ifndef NULL
#define NULL ((void *)0)
#endif

/* ---- UAPI constants (values are ABI, from include/uapi/linux/bpf.h) ---- */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* bpf_map_update_elem() flags */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

/* bpf_ringbuf_output()/submit() flags */
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

/* bpf_ringbuf_query() flags */
enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};

/* Helper ids, only to ask the running kernel (CO-RE enum value check)
 * whether it has a helper newer than 5.8; see LP_HAVE_TASK_BTF in
 * lp_core.bpf.h. */
enum bpf_func_id {
	BPF_FUNC_get_current_task_btf = 158, /* Linux 5.11 */
};

/* ---- kernel types, relocated with CO-RE ---- */
#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

struct list_head {
	struct list_head *next, *prev;
};

struct signal_struct {
	atomic_t live;              /* threads not yet in do_exit() */
	struct list_head thread_head; /* task_struct.thread_node of each thread */
	unsigned long long sum_sched_runtime; /* ns on CPU of the threads already released */
};

struct mm_struct {
	unsigned long arg_start;    /* argv strings of the running image, */
	unsigned long arg_end;      /* NUL-separated, in user memory */
};

/* x86: TS_COMPAT in status marks a 32-bit (ia32) syscall in progress, made
 * by int 0x80 or sysenter, from a 32-bit or a 64-bit process. */
struct thread_info {
	u32 status;                 /* TS_* */
};
#define LP_TS_COMPAT 0x0002         /* arch/x86/include/asm/thread_info.h */

/* What an fd is: task->files->fdt->fd[fd]->f_inode->i_mode. Read once per
 * I/O aggregate (its first call), so a socket or pipe that took the number
 * of a closed file is never charged to that file's path. */
typedef unsigned short umode_t;
struct inode {
	umode_t i_mode;             /* S_IFMT bits: 0 for anon inodes (eventfd...) */
};

struct file {
	struct inode *f_inode;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;           /* RCU-protected array of max_fds slots */
};

struct files_struct {
	struct fdtable *fdt;
};

/* A thread's CPU time: se.sum_exec_runtime, ns (CFS accounting, updated at
 * each tick and context switch). */
struct sched_entity {
	u64 sum_exec_runtime;
};

struct task_struct {
	struct thread_info thread_info; /* x86: embedded (THREAD_INFO_IN_TASK) */
	struct sched_entity se;
	struct files_struct *files;
	int exit_code;              /* wait(2) encoding */
	pid_t pid;                  /* thread id */
	pid_t tgid;                 /* process id */
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct list_head thread_node;
	char comm[16];
	struct signal_struct *signal;
	struct mm_struct *mm;
};

/* x86-64 registers saved at syscall entry. The syscall number is orig_ax,
 * the arguments di, si, dx, r10, r8, r9 (in that order), the result ax. */
struct pt_regs {
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long ax;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
};

struct linux_binprm {
	const char *filename;       /* name passed to exec */
};

/* The records of the tracepoint (perf) programs: their layout comes from
 * the kernel's trace event definitions, their BTF from vmlinux. */
struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};

struct trace_event_raw_sys_exit {
	struct trace_entry ent;
	long id;
	long ret;
};

/* parent_comm/child_comm are char[16] on older kernels and __data_loc on
 * newer ones: we never read them (the child's comm is the parent's). */
struct trace_event_raw_sched_process_fork {
	struct trace_entry ent;
	pid_t parent_pid;
	pid_t child_pid;
};

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	u32 __data_loc_filename;    /* (len << 16) | offset from the record start */
	pid_t pid;
	pid_t old_pid;
};

struct trace_event_raw_sched_process_exit {
	struct trace_entry ent;
	char comm[16];
	pid_t pid;
	int prio;
	bool group_dead;            /* newer kernels only */
};

#pragma clang attribute pop

/* A raw tracepoint program's context: the tracepoint's arguments, as u64.
 * sys_enter: (struct pt_regs *regs, long id); sys_exit: (regs, long ret). */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#endif /* LAYERPROF_VMLINUX_MIN_H */
