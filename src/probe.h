/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What this host can do, found by trying: privileges, BTF, the bpf()
 * syscall, the ring buffer map, tracefs (mounted on demand), and each BPF
 * attach kind, probed by loading AND attaching a two-instruction program.
 * (libbpf_probe_bpf_prog_type() only loads, and says "yes" for tracing
 * programs on kernels where attaching them then fails.)
 *
 * Used by `check` (to report) and by the loader (to choose variants).
 * Every probe cleans up after itself and is cheap (a few milliseconds).
 */
#ifndef LAYERPROF_PROBE_H
#define LAYERPROF_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* Effective privileges of this process. */
struct lp_privs {
	bool root;          /* euid 0 */
	bool cap_sys_admin;
	bool cap_bpf;       /* CAP_BPF (Linux >= 5.8) */
	bool cap_perfmon;   /* CAP_PERFMON (Linux >= 5.8) */
	bool enough;        /* may load and attach tracing BPF programs */
};
void lp_probe_privs(struct lp_privs *p);

/* The kernel release (uname -r) and its version as major*65536+minor*256+patch. */
unsigned lp_probe_kernel_version(char *release, size_t len);
#define LP_KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + (c))
#define LP_KERNEL_MIN LP_KERNEL_VERSION(5, 8, 0)

#define LP_BTF_VMLINUX "/sys/kernel/btf/vmlinux"
/* The id of the type named name of BTF kind `kind` (BTF_KIND_FUNC...) in a
 * raw BTF blob (as /sys/kernel/btf/vmlinux holds it), walked in place;
 * -ENOENT when absent, -EINVAL when not BTF, -ENOTSUP at a kind this walker
 * does not know. */
int lp_btf_find_id(const void *raw, size_t n, const char *name, int kind);

/* Does the kernel expose its BTF? */
bool lp_probe_btf(void);

/* 0 when the bpf() syscall works (an array map can be made), else -errno. */
int lp_probe_bpf_syscall(void);
/* 0 when a BPF ring buffer map can be made, else -errno. */
int lp_probe_ringbuf(void);

/*
 * The tracefs directory ("/sys/kernel/tracing" or "/sys/kernel/debug/tracing")
 * whose events/ exists. When none does and mount_it is set, mounts tracefs
 * on /sys/kernel/tracing (*mounted_now = true). NULL with *err = errno when
 * there is none (EACCES: mounted but not readable by this user). The
 * returned string is static.
 */
const char *lp_tracefs(bool mount_it, bool *mounted_now, int *err);
/* Unmount dir if lp_tracefs() mounted it (mounted_now), else nothing. */
void lp_tracefs_release(const char *dir, bool mounted_now);
/* Does tracefs/events/<group>/<name> exist? */
bool lp_tracepoint_exists(const char *tracefs, const char *group, const char *name);

/* BPF attach kinds. */
enum lp_probe_kind {
	LP_PROBE_TP_BTF = 0, /* BTF-typed raw tracepoint (BPF_PROG_TYPE_TRACING) */
	LP_PROBE_RAW_TP,     /* raw tracepoint */
	LP_PROBE_TP,         /* perf tracepoint */
	LP_PROBE_KPROBE,     /* kprobe (optional: layerprof does not use it) */
	LP_PROBE_FENTRY,     /* fentry (optional: record's hot file I/O path when it works) */
	LP_PROBE_KIND_NR
};
const char *lp_probe_kind_name(enum lp_probe_kind k);
/*
 * Load a minimal program of that kind and attach it (to sched_process_exec,
 * or to vfs_read for kprobe/fentry), then detach. 0 when it worked, else
 * -errno with a short reason in why ("load: Operation not permitted").
 */
int lp_probe_attach(enum lp_probe_kind k, const char *tracefs, char *why, size_t whylen);
/* The same, load only (cheaper: no attach, no detach to wait for). */
int lp_probe_load(enum lp_probe_kind k, const char *tracefs, char *why, size_t whylen);

/*
 * The syscall programs' preferred mode: load a minimal raw tracepoint
 * program and attach it to sys_enter and to sys_exit, then detach. 0 when
 * both worked, else -errno with a short reason in why.
 */
int lp_probe_raw_syscalls(char *why, size_t whylen);

#endif
