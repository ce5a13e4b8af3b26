/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The BPF side, seen from user space: open -> configure -> load -> attach
 * (libbpf-bootstrap order), with feature probing so that the best available
 * attach kind is used and nothing optional is required.
 *
 *   process events:  tp_btf (BTF-typed) -> raw_tp -> tp, per program
 *   syscalls:        raw_tp/sys_enter + raw_tp/sys_exit (two programs for
 *                    all syscalls) -> tp/syscalls/sys_{enter,exit}_* (one
 *                    per syscall and direction; a tracepoint missing on an
 *                    older kernel is skipped and reported, not fatal)
 *   file I/O:        open, read/write, close on fentry/fexit of the
 *                    __x64_sys_* functions when this kernel allows it
 *                    (cheaper per call), else through the syscall mode
 *   kprobe/fentry:   never required
 *
 * The environment variable LAYERPROF_FORCE_ATTACH=raw_tp|tp skips the
 * better kinds (tests of the fallbacks; a workaround on a broken kernel);
 * =tp also puts the syscalls on their per-syscall tracepoints.
 * LAYERPROF_FORCE_SYSCALLS=tp|raw_tp|fentry chooses the syscall mode alone
 * (tests run their exact-value checks in each; raw_tp without fentry,
 * fentry: raw_tp with the file I/O path on fentry, an error where it
 * cannot be).
 */
#ifndef LAYERPROF_LOADER_H
#define LAYERPROF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

struct lp_loader_opts {
	uint32_t self_tgid;     /* never traced (layerprof itself) */
	uint32_t ringbuf_bytes; /* power of two >= page size; 0: default */
	uint32_t wakeup_bytes;  /* wake the consumer only past this much data; 0: default */
	bool verbose;           /* print libbpf's debug output */
};

/* Which attach kind a program ended up using. */
enum lp_attach_kind { LP_ATTACH_NONE = 0, LP_ATTACH_TP_BTF, LP_ATTACH_RAW_TP, LP_ATTACH_TP };
const char *lp_attach_kind_name(enum lp_attach_kind k);
/* How syscalls are hooked with kind k, for people: "tp_btf sys_enter +
 * sys_exit", "raw_tp sys_enter + sys_exit", or "tp, one tracepoint per
 * syscall and direction". */
const char *lp_syscall_hooks_name(enum lp_attach_kind k);

struct lp_features {
	enum lp_attach_kind proc_fork, proc_exec, proc_exit;
	enum lp_attach_kind syscalls; /* LP_ATTACH_TP_BTF or LP_ATTACH_RAW_TP
				       * (sys_enter/sys_exit, two programs for
				       * all), or LP_ATTACH_TP (per syscall) */
	unsigned syscalls_attached;  /* syscalls (rows of syscalls.def) traced */
	unsigned syscalls_missing;   /* not traced: tracepoint absent on this
				      * kernel, or program rejected/unattachable */
	char missing[512];           /* their names (tracepoint suffix, e.g.
				      * "openat2"), comma separated */
	unsigned fentry_syscalls;    /* of them, traced on fentry/fexit of
				      * __x64_sys_* (the hot file I/O path);
				      * 0: all through syscalls */
	unsigned load_ms;            /* open + load + attach, milliseconds */
	/* where load_ms went, in microseconds (record -v, bench section 7) */
	unsigned probe_us;           /* privileges, BTF, bpf(), tracefs, kind probes */
	unsigned verify_us;          /* open + load: the kernel's verifier */
	unsigned attach_us;          /* attach, ring buffer set-up */
};

struct lp_loader;

/* The syscall mode record tries first on this host and build: raw_tp, or
 * tp when LAYERPROF_FORCE_SYSCALLS / LAYERPROF_FORCE_ATTACH say so or this
 * build has no syscall numbers for the raw mode (not x86-64). */
enum lp_attach_kind lp_loader_syscalls_wanted(void);

/* Called for each ring buffer record; return non-zero to stop polling. */
typedef int (*lp_event_cb)(void *ctx, const void *data, size_t size);

/*
 * Open, configure, load and attach. On failure returns NULL, puts one line
 * saying what is missing and what to do in err, and sets *exit_code to
 * LP_EXIT_PRIVILEGE or LP_EXIT_KERNEL (see exitcode.h).
 */
struct lp_loader *lp_loader_open(const struct lp_loader_opts *opts, lp_event_cb cb,
				 void *cb_ctx, char *err, size_t errlen, int *exit_code);
const struct lp_features *lp_loader_features(const struct lp_loader *l);

/* Start tracing a process (and, in-kernel, everything it forks). */
int lp_loader_trace_pid(struct lp_loader *l, uint32_t tgid);
/* Trace any process that execs with this comm (e.g. a restarted dockerd). */
int lp_loader_add_comm(struct lp_loader *l, const char *comm);
/* Is tgid traced right now (in the kernel's map)? */
bool lp_loader_is_traced(struct lp_loader *l, uint32_t tgid);

/* Consume ring buffer records (calls cb); returns records consumed or -errno
 * (-EINTR when a signal interrupted the wait). Waits at most timeout_ms
 * (0: no wait, -1: forever) for data. Wake-ups are batched in the kernel
 * (see lp_loader_opts.wakeup_bytes): poll with a finite timeout. */
int lp_loader_poll(struct lp_loader *l, int timeout_ms);
/* The ring buffer's epoll fd (readable when woken), for an event loop. */
int lp_loader_epoll_fd(struct lp_loader *l);
/* Emit (through cb) the per-fd I/O aggregates still in the kernel, flagged
 * LP_FDIO_DRAINED, and clear them. Used at the end of a recording. */
int lp_loader_drain_fd_io(struct lp_loader *l);
/* Lost-event counters summed over CPUs (lost[LP_LOST_NR]), and per CPU
 * totals (per_cpu[ncpu], may be NULL). Returns the number of CPUs. */
int lp_loader_lost(struct lp_loader *l, uint64_t lost[LP_LOST_NR],
		   uint64_t *per_cpu, int max_cpus);

/* Detach and unload everything. Safe with NULL. */
void lp_loader_close(struct lp_loader *l);

#endif
