/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What `record` learns from /proc about processes traced from the start:
 * comm, exe, cwd, cmdline, ppid and open fds, turned into the trace's seed
 * records (LP_REC_TRACE_PID, LP_REC_PROC_SEED, LP_REC_FD_SEED) so that the
 * resolver knows their cwd and fd table before the first event.
 */
#ifndef LAYERPROF_PROCFS_H
#define LAYERPROF_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

struct lp_writer;

struct lp_procinfo {
	uint32_t pid, ppid;
	char comm[LP_COMM_LEN];
	char *exe;       /* readlink /proc/PID/exe, "" when unreadable */
	char *cwd;       /* readlink /proc/PID/cwd, "" when unreadable */
	char *cmdline;   /* NUL-separated arguments (cmdline_len bytes) */
	size_t cmdline_len;
	int argc;
};

/* Read /proc/PID. Returns 0, or -errno (ENOENT: no such process). */
int lp_proc_read(uint32_t pid, struct lp_procinfo *pi);
void lp_proc_free(struct lp_procinfo *pi);
/* Just the comm (no trailing newline); false when the process is gone. */
bool lp_proc_comm(uint32_t pid, char comm[LP_COMM_LEN]);
/* Is this a process (a thread group leader), not a thread id or nothing? */
bool lp_proc_exists(uint32_t pid);

/*
 * Does comm (as the kernel keeps it, at most 15 bytes) match the name of a
 * program? Names longer than 15 bytes match their first 15 bytes
 * ("containerd-shim-runc-v2" matches comm "containerd-shim"); "runc" also
 * matches runc's own stages ("runc:[2:INIT]").
 */
bool lp_comm_matches(const char *comm, const char *name);

/* Call fn for each process whose comm matches one of names[0..n). */
int lp_proc_scan(const char *const *names, size_t n,
		 void (*fn)(void *ctx, uint32_t pid, const char *comm, const char *name),
		 void *ctx);

/* The value of an option in a NUL-separated cmdline: "--opt VALUE" or
 * "--opt=VALUE" (alt, may be NULL: a second spelling). Malloc'd or NULL. */
char *lp_cmdline_opt(const char *cmdline, size_t len, const char *opt, const char *alt);

/* lp_proc_seed flags */
#define LP_SEED_REDACT 1u        /* redact the command line (redact.h) */
#define LP_SEED_SKIP_CLOEXEC 2u  /* leave out close-on-exec fds: the process is
				  * about to exec (the wrapped command, still a
				  * fork of layerprof holding its BPF fds) */

/*
 * Write the seed records of pid: LP_REC_TRACE_PID (why; its comm is `comm`
 * when not NULL, else the process's), LP_REC_PROC_SEED and one
 * LP_REC_FD_SEED per open fd (see the LP_SEED_* flags).
 * ts: lp_now_ns() at the time. Returns the number of fds seeded, or -errno
 * (-ESRCH/-ENOENT: the process is gone, and only the LP_REC_TRACE_PID, which
 * is written first and always, was written; -EIO: the writer failed).
 */
int lp_proc_seed(struct lp_writer *w, uint32_t pid, enum lp_trace_why why, const char *comm,
		 unsigned flags);

/* Write one LP_REC_TRACE_PID. */
int lp_write_trace_pid(struct lp_writer *w, uint32_t pid, enum lp_trace_why why,
		       const char *comm);

#endif
