/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Synthetic traces for the model/analysis unit tests: write, with the real
 * trace writer, the records a docker build makes (progress lines, dockerd,
 * runc, the container's sh, opens/reads, context snapshot writes), so the
 * tests exercise the same reader -> model -> findings path as real traces.
 */
#ifndef LAYERPROF_TEST_SYNTH_H
#define LAYERPROF_TEST_SYNTH_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerprof/abi.h"
#include "trace.h"
#include "util.h"

#define SYN_ROOT "/var/lib/docker"
#define SYN_CTX SYN_ROOT "/overlay2/ctxsnapshotid0000000000a/diff"
#define SYN_MS 1000000ull

struct synth {
	struct lp_writer *w;
	char path[128];
	int next_fd;
};

/* Copy a name into a comm[16] field (not NUL-terminated when 16 long). */
static inline void syn_comm(char *dst, const char *src)
{
	size_t n = strlen(src);
	memcpy(dst, src, n < LP_COMM_LEN ? n : LP_COMM_LEN);
}

static inline void syn_put(struct synth *s, void *rec, size_t len)
{
	struct lp_hdr *h = rec;
	h->size = (uint16_t)len;
	if (lp_writer_append(s->w, rec, len) != 0) {
		fprintf(stderr, "synth: append failed\n");
		abort();
	}
}

static inline void syn_open(struct synth *s, const char *meta_json)
{
	snprintf(s->path, sizeof(s->path), "/tmp/lp-synth-%d-XXXXXX", (int)getpid());
	int fd = mkstemp(s->path);
	if (fd >= 0)
		close(fd);
	char err[256];
	s->w = lp_writer_open(s->path, meta_json, err, sizeof(err));
	if (!s->w) {
		fprintf(stderr, "synth: %s\n", err);
		abort();
	}
	s->next_fd = 10;
}

static inline void syn_close(struct synth *s, const char *trailer)
{
	char err[256];
	if (lp_writer_close(s->w, trailer ? trailer : "{\"lost\":{\"total\":0}}", err, sizeof(err))) {
		fprintf(stderr, "synth: %s\n", err);
		abort();
	}
}

static inline void syn_hdr(struct lp_hdr *h, uint8_t kind, uint32_t tgid, uint32_t aux, uint64_t ts)
{
	h->kind = kind;
	h->tgid = tgid;
	h->tid = tgid;
	h->aux = aux;
	h->ts = ts;
}

static inline void syn_progress(struct synth *s, uint64_t ts, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	union {
		struct lp_rec_progress r;
		char b[sizeof(struct lp_rec_progress) + 1024];
	} u;
	memset(&u, 0, sizeof(u));
	size_t n = strlen(text);
	syn_hdr(&u.r.h, LP_REC_PROGRESS, 0, 2, ts);
	u.r.len = (uint16_t)n;
	memcpy(u.b + sizeof(u.r), text, n);
	syn_put(s, &u, (sizeof(u.r) + n + 7) & ~7ul);
}

/* A context manifest entry: a file (0100644), or an empty directory
 * (S_IFDIR). */
static inline void syn_ctx_entry(struct synth *s, const char *path, uint64_t size, uint32_t mode)
{
	union {
		struct lp_rec_context_file r;
		char b[sizeof(struct lp_rec_context_file) + 512];
	} u;
	memset(&u, 0, sizeof(u));
	size_t n = strlen(path) + 1;
	syn_hdr(&u.r.h, LP_REC_CONTEXT_FILE, 0, 0, 1);
	u.r.size = size;
	u.r.mode = mode;
	u.r.path_len = (uint16_t)n;
	memcpy(u.b + sizeof(u.r), path, n);
	syn_put(s, &u, (sizeof(u.r) + n + 7) & ~7ul);
}

static inline void syn_ctx_file(struct synth *s, const char *path, uint64_t size)
{
	syn_ctx_entry(s, path, size, 0100644);
}

/* A process running before the recording: argv NULL-terminated. */
static inline void syn_seed_cwd(struct synth *s, uint32_t pid, uint32_t ppid, const char *comm,
				const char *exe, const char *cwd, const char *const *argv)
{
	union {
		struct lp_rec_proc_seed r;
		char b[sizeof(struct lp_rec_proc_seed) + 2048];
	} u;
	memset(&u, 0, sizeof(u));
	syn_hdr(&u.r.h, LP_REC_PROC_SEED, pid, ppid, 1);
	syn_comm(u.r.comm, comm);
	char *d = u.b + sizeof(u.r);
	size_t el = strlen(exe) + 1;
	memcpy(d, exe, el);
	d += el;
	size_t wl = strlen(cwd) + 1;
	memcpy(d, cwd, wl);
	d += wl;
	size_t cl = 0;
	int argc = 0;
	for (; argv && argv[argc]; argc++) {
		size_t n = strlen(argv[argc]) + 1;
		memcpy(d + cl, argv[argc], n);
		cl += n;
	}
	u.r.exe_len = (uint16_t)el;
	u.r.cwd_len = (uint16_t)wl;
	u.r.cmdline_len = (uint16_t)cl;
	u.r.argc = (uint16_t)argc;
	syn_put(s, &u, (sizeof(u.r) + el + wl + cl + 7) & ~7ul);
}

static inline void syn_seed(struct synth *s, uint32_t pid, uint32_t ppid, const char *comm,
			    const char *exe, const char *const *argv)
{
	syn_seed_cwd(s, pid, ppid, comm, exe, "/", argv);
}

static inline void syn_trace_pid(struct synth *s, uint64_t ts, uint32_t pid, const char *comm)
{
	struct lp_rec_trace_pid r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_REC_TRACE_PID, pid, LP_WHY_COMMAND, ts);
	syn_comm(r.comm, comm);
	syn_put(s, &r, sizeof(r));
}

static inline void syn_fork(struct synth *s, uint64_t ts, uint32_t parent, uint32_t child,
			    const char *comm)
{
	struct lp_ev_fork r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_EV_FORK, parent, child, ts);
	syn_comm(r.child_comm, comm);
	syn_put(s, &r, sizeof(r));
}

/* exec: the argv record at entry, then the exec record. */
static inline void syn_exec(struct synth *s, uint64_t ts, uint32_t pid, uint32_t ppid,
			    const char *file, const char *comm, const char *const *argv)
{
	union {
		struct lp_ev_exec_argv r;
		char b[sizeof(struct lp_ev_exec_argv) + 2048];
	} u;
	memset(&u, 0, sizeof(u));
	syn_hdr(&u.r.h, LP_EV_EXEC_ARGV, pid, LP_SC_EXECVE, ts);
	u.r.dirfd = -100;
	char *d = u.b + sizeof(u.r);
	size_t n = strlen(file) + 1, len = 0;
	memcpy(d, file, n);
	len += n;
	int argc = 0;
	for (; argv[argc]; argc++) {
		n = strlen(argv[argc]) + 1;
		memcpy(d + len, argv[argc], n);
		len += n;
	}
	u.r.argc = (uint16_t)argc;
	u.r.data_len = (uint16_t)len;
	syn_put(s, &u, (sizeof(u.r) + len + 7) & ~7ul);

	union {
		struct lp_ev_exec r;
		char b[sizeof(struct lp_ev_exec) + 512];
	} e;
	memset(&e, 0, sizeof(e));
	syn_hdr(&e.r.h, LP_EV_EXEC, pid, pid, ts + 1000);
	e.r.ppid = ppid;
	n = strlen(file) + 1;
	e.r.filename_len = (uint16_t)n;
	syn_comm(e.r.comm, comm);
	memcpy(e.b + sizeof(e.r), file, n);
	syn_put(s, &e, (sizeof(e.r) + n + 7) & ~7ul);
}

/* An exit record with the process's CPU time (0: unknown); size: the
 * record's, sizeof(struct lp_ev_exit), or offsetof(..., cpu_ns) for one as
 * traces made before the field have it. */
static inline void syn_exit_cpu(struct synth *s, uint64_t ts, uint32_t pid, int code, uint64_t cpu_ns,
				size_t size)
{
	struct lp_ev_exit r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_EV_EXIT, pid, (uint32_t)(code & 0xff) << 8, ts);
	r.cpu_ns = cpu_ns;
	syn_put(s, &r, size);
}

static inline void syn_exit(struct synth *s, uint64_t ts, uint32_t pid, int code)
{
	syn_exit_cpu(s, ts, pid, code, 0, sizeof(struct lp_ev_exit));
}

/* A syscall with up to two path strings (args index 1 and 3 as *at calls)
 * and the kernel side's LP_F_* flags in its header. */
static inline void syn_sc_f(struct synth *s, uint64_t ts, uint32_t pid, unsigned sc, int64_t ret,
			    uint64_t lat, const char *p0, int a0, const char *p1, int a1, uint64_t flags_arg2,
			    uint8_t hflags)
{
	union {
		struct lp_ev_syscall r;
		char b[sizeof(struct lp_ev_syscall) + 2 * LP_STR_MAX];
	} u;
	memset(&u, 0, sizeof(u));
	syn_hdr(&u.r.h, LP_EV_SYSCALL, pid, sc, ts);
	u.r.h.flags = hflags;
	u.r.ret = ret;
	u.r.lat_ns = lat;
	u.r.args[0] = (uint64_t)(int64_t)-100; /* AT_FDCWD */
	u.r.args[2] = flags_arg2;
	if (sc == LP_SC_RENAMEAT || sc == LP_SC_RENAMEAT2)
		u.r.args[2] = (uint64_t)(int64_t)-100;
	size_t len = 0;
	char *d = u.b + sizeof(u.r);
	if (p0) {
		size_t n = strlen(p0) + 1;
		memcpy(d, p0, n);
		u.r.str_arg[u.r.nstr] = (uint8_t)a0;
		u.r.str_len[u.r.nstr++] = (uint16_t)n;
		len += n;
	}
	if (p1) {
		size_t n = strlen(p1) + 1;
		memcpy(d + len, p1, n);
		u.r.str_arg[u.r.nstr] = (uint8_t)a1;
		u.r.str_len[u.r.nstr++] = (uint16_t)n;
		len += n;
	}
	syn_put(s, &u, (sizeof(u.r) + len + 7) & ~7ul);
}

static inline void syn_sc(struct synth *s, uint64_t ts, uint32_t pid, unsigned sc, int64_t ret,
			  uint64_t lat, const char *p0, int a0, const char *p1, int a1, uint64_t flags_arg2)
{
	syn_sc_f(s, ts, pid, sc, ret, lat, p0, a0, p1, a1, flags_arg2, 0);
}

static inline void syn_fdio(struct synth *s, uint64_t ts, uint32_t pid, int fd, uint64_t rb,
			    uint64_t wb, uint64_t ns)
{
	struct lp_ev_fd_io r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_EV_FD_IO, pid, (uint32_t)fd, ts);
	r.first_ts = ts - ns;
	r.last_ts = ts;
	r.rbytes = rb;
	r.wbytes = wb;
	r.rns = rb ? ns : 0;
	r.wns = wb ? ns : 0;
	r.rcalls = rb ? 2 : 0;
	r.wcalls = wb ? 1 : 0;
	syn_put(s, &r, sizeof(r));
}

/* Per-fd I/O drained when the recording ended (LP_FDIO_DRAINED): no close
 * was seen, the record comes with the drain's time ts. */
static inline void syn_fdio_drained(struct synth *s, uint64_t ts, uint32_t pid, int fd, uint64_t first,
				    uint64_t last, uint64_t rb, uint64_t wb)
{
	struct lp_ev_fd_io r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_EV_FD_IO, pid, (uint32_t)fd, ts);
	r.h.tid = 0;
	r.first_ts = first;
	r.last_ts = last;
	r.rbytes = rb;
	r.wbytes = wb;
	r.rns = rb ? 10000 : 0;
	r.wns = wb ? 10000 : 0;
	r.rcalls = rb ? 2 : 0;
	r.wcalls = wb ? 1 : 0;
	r.io_flags = LP_FDIO_DRAINED;
	syn_put(s, &r, sizeof(r));
}

/* open + read/write totals at close: path read (or written) fully. */
static inline void syn_file(struct synth *s, uint64_t ts, uint32_t pid, const char *path, bool write,
			    uint64_t bytes)
{
	int fd = s->next_fd++;
	uint64_t flags = write ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
	syn_sc(s, ts, pid, LP_SC_OPENAT, fd, 20000, path, 1, NULL, 0, flags);
	syn_fdio(s, ts + 50000, pid, fd, write ? 0 : bytes, write ? bytes : 0, 40000);
	/* close: the resolver forgets the fd with the fd_io record */
	syn_sc(s, ts + 60000, pid, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
}

/* A failed lookup (lstat ENOENT). */
static inline void syn_enoent(struct synth *s, uint64_t ts, uint32_t pid, const char *path)
{
	syn_sc(s, ts, pid, LP_SC_NEWFSTATAT, -ENOENT, 5000, path, 1, NULL, 0, 0);
}

static inline void syn_rename(struct synth *s, uint64_t ts, uint32_t pid, const char *from,
			      const char *to)
{
	syn_sc(s, ts, pid, LP_SC_RENAMEAT, 0, 8000, from, 1, to, 3, 0);
}

/* A RUN step's processes, as NOTES.md describes them: dockerd forks
 * `runc ... run --bundle <dr>/buildkit/executor/<id> <id>`; runc re-execs
 * `/proc/self/exe init` (comm "exe"), which makes runc:[2:INIT]; a prestart
 * hook (dockerd re-exec'd as libnetwork-setkey) runs; INIT chdirs to the
 * WORKDIR and execs /bin/sh -c SCRIPT; busybox applets are exec'd as
 * /proc/self/exe with their own argv and read RELATIVE paths with sendfile. */
/* work: what the container's command does after its reads (writes,
 * unlinks...), as pid at time t; returns the time it is done. */
typedef uint64_t (*syn_work_fn)(struct synth *s, uint32_t pid, uint64_t t, void *arg);

static inline void syn_run_work(struct synth *s, uint64_t t0, uint64_t dur, uint32_t pid0, const char *cid,
				const char *script, const char *const *reads, int code, syn_work_fn work,
				void *arg)
{
	char bundle[256];
	snprintf(bundle, sizeof(bundle), SYN_ROOT "/buildkit/executor/%s", cid);
	const char *rargv[] = { "runc", "--log", SYN_ROOT "/buildkit/executor/runc-log.json", "--log-format",
				"json", "run", "--bundle", bundle, cid, NULL };
	char rootfs[300];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	syn_sc(s, t0, 100, LP_SC_MOUNT, 0, 300000, SYN_ROOT "/overlay2/runsnap/merged", 0, rootfs, 1, 0);
	syn_fork(s, t0 + 1000, 100, pid0, "dockerd");
	syn_exec(s, t0 + 2000, pid0, 100, "/usr/sbin/runc", "runc", rargv);
	/* runc's re-exec */
	syn_fork(s, t0 + 3000, pid0, pid0 + 1, "runc");
	const char *init[] = { "/proc/self/exe", "init", NULL };
	syn_exec(s, t0 + 4000, pid0 + 1, pid0, "/proc/self/exe", "exe", init);
	/* prestart hook: not the container's work */
	syn_fork(s, t0 + 5000, pid0, pid0 + 5, "runc");
	const char *hook[] = { "libnetwork-setkey", "-exec-root=/tmp/x/exec", "abc", NULL };
	syn_exec(s, t0 + 6000, pid0 + 5, pid0, "/proc/100/exe", "exe", hook);
	syn_file(s, t0 + 7000, pid0 + 5, "/etc/hook-config", false, 4000);
	syn_exit(s, t0 + 8000, pid0 + 5, 0);
	/* runc:[2:INIT] -> sh */
	syn_fork(s, t0 + 9000, pid0 + 1, pid0 + 2, "runc:[2:INIT]");
	syn_sc(s, t0 + 9500, pid0 + 2, LP_SC_CHDIR, 0, 1000, "/app", 0, NULL, 0, 0);
	const char *shargv[] = { "/bin/sh", "-c", script, NULL };
	syn_exec(s, t0 + 10000, pid0 + 2, pid0, "/bin/sh", "sh", shargv);
	syn_fork(s, t0 + 20000, pid0 + 2, pid0 + 3, "sh");
	const char *catargv[] = { "cat", "x", NULL };
	syn_exec(s, t0 + 30000, pid0 + 3, pid0 + 2, "/proc/self/exe", "exe", catargv);
	uint64_t t = t0 + 100000;
	for (int i = 0; reads && reads[i]; i++, t += 100000) {
		/* relative to the WORKDIR, read with sendfile */
		const char *rel = !strncmp(reads[i], "/app/", 5) ? reads[i] + 5 : reads[i];
		int fd = s->next_fd++;
		syn_sc(s, t, pid0 + 3, LP_SC_OPENAT, fd, 20000, rel, 1, NULL, 0, O_RDONLY);
		struct {
			struct lp_ev_syscall r;
		} sf;
		memset(&sf, 0, sizeof(sf));
		syn_hdr(&sf.r.h, LP_EV_SYSCALL, pid0 + 3, LP_SC_SENDFILE, t + 10000);
		sf.r.ret = 300;
		sf.r.lat_ns = 30000;
		sf.r.args[0] = 1;
		sf.r.args[1] = (uint64_t)fd;
		syn_put(s, &sf, sizeof(sf));
	}
	if (work)
		t = work(s, pid0 + 3, t, arg);
	syn_file(s, t, pid0 + 3, "/etc/ld.so.cache", false, 1000);
	syn_exit(s, t + 1000, pid0 + 3, 0);
	syn_exit(s, t0 + dur - 20000, pid0 + 2, code);
	syn_exit(s, t0 + dur - 15000, pid0 + 1, 0);
	syn_exit(s, t0 + dur - 10000, pid0, code);
}

static inline void syn_run(struct synth *s, uint64_t t0, uint64_t dur, uint32_t pid0, const char *cid,
			   const char *script, const char *const *reads, int code)
{
	syn_run_work(s, t0, dur, pid0, cid, script, reads, code, NULL, NULL);
}

#endif
