/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A synthetic but realistic recording of `docker build` (docs/architecture.md, "How events become build steps"),
 * written with the trace writer: BuildKit progress lines, the daemons
 * seeded, the context manifest, the context transfer into a parentless
 * snapshot (.tmp.N + rename for a changed file), COPY inside dockerd
 * (open source in the context snapshot, destination under merged/,
 * copy_file_range), RUN through runc -> runc:[2:INIT] -> sh -c -> npm,
 * per-fd I/O aggregates, tiny failed lookups (to be merged), a reused pid,
 * and the export (fsync + rename). Used by tests/unit/test_export.c and by
 * tests/exports/gen_trace.c (the real-consumer test's fallback trace).
 *
 * Two variants of the same project:
 *   'A'  src/index.js changed: [3/6] COPY package.json and [4/6] RUN npm ci
 *        are CACHED; [5/6] COPY . . and [6/6] RUN ... ran
 *   'B'  package.json changed too: every step from [3/6] ran
 * Header-only (static functions) so both users compile it directly.
 */
#ifndef LP_TESTS_SYNTH_H
#define LP_TESTS_SYNTH_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerprof/abi.h"
#include "syscalls.h"
#include "trace.h"

#define SYN_ROOT "/var/lib/docker"
#define SYN_CTX_ID "kx7q2m9w4t1z8c3v6b5n0p2rs"       /* 25 chars: a BuildKit snapshot */
#define SYN_COPY1_ID "a1b2c3d4e5f6g7h8i9j0k1l2m"
#define SYN_COPY2_ID "z9y8x7w6v5u4t3s2r1q0p9o8n"
#define SYN_EXEC1_ID "r4nc1d0000000000000000001"
#define SYN_EXEC2_ID "r4nc1d0000000000000000002"
#define SYN_MS 1000000ull
#define SYN_US 1000ull

struct synth {
	struct lp_writer *w;
	uint64_t t0;
	int failed;
	char err[256];
	_Alignas(8) unsigned char buf[8192];
};

struct synth_opts {
	char variant;           /* 'A' or 'B' */
	unsigned tiny_lookups;  /* consecutive failed newfstatat of ~2 us in npm */
	unsigned bulk_files;    /* extra files npm writes (a big trace) */
	int overlap;            /* two syscalls of one thread overlapping in time */
	int evil;               /* a path with invalid UTF-8, control characters, ; < & > " */
};

static void syn_put(struct synth *s, const void *rec, size_t len)
{
	if (lp_writer_append(s->w, rec, len) < 0)
		s->failed = 1;
}

static struct lp_hdr *syn_hdr(struct synth *s, unsigned kind, uint32_t tgid, uint32_t tid, uint32_t aux,
			      uint64_t ts)
{
	memset(s->buf, 0, sizeof(s->buf));
	struct lp_hdr *h = (struct lp_hdr *)s->buf;
	h->kind = (uint8_t)kind;
	h->tgid = tgid;
	h->tid = tid;
	h->aux = aux;
	h->ts = s->t0 + ts;
	return h;
}

static void syn_progress(struct synth *s, uint64_t ts, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct lp_hdr *h = syn_hdr(s, LP_REC_PROGRESS, 0, 0, 2, ts);
	struct lp_rec_progress *p = (void *)h;
	size_t n = strlen(line);
	p->len = (uint16_t)n;
	memcpy(s->buf + sizeof(*p), line, n);
	h->size = (uint16_t)(sizeof(*p) + n);
	syn_put(s, h, h->size);
}

static void syn_trace_pid(struct synth *s, uint64_t ts, uint32_t pid, uint32_t why, const char *comm)
{
	struct lp_hdr *h = syn_hdr(s, LP_REC_TRACE_PID, pid, pid, why, ts);
	struct lp_rec_trace_pid *t = (void *)h;
	strncpy(t->comm, comm, LP_COMM_LEN - 1);
	h->size = sizeof(*t);
	syn_put(s, h, h->size);
}

static void syn_seed(struct synth *s, uint64_t ts, uint32_t pid, uint32_t ppid, const char *comm,
		     const char *exe, const char *cwd, const char *const *argv)
{
	struct lp_hdr *h = syn_hdr(s, LP_REC_PROC_SEED, pid, pid, ppid, ts);
	struct lp_rec_proc_seed *p = (void *)h;
	strncpy(p->comm, comm, LP_COMM_LEN - 1);
	size_t off = sizeof(*p);
	p->exe_len = (uint16_t)(strlen(exe) + 1);
	memcpy(s->buf + off, exe, p->exe_len);
	off += p->exe_len;
	p->cwd_len = (uint16_t)(strlen(cwd) + 1);
	memcpy(s->buf + off, cwd, p->cwd_len);
	off += p->cwd_len;
	size_t start = off;
	uint16_t argc = 0;
	for (; argv && argv[argc]; argc++) {
		size_t n = strlen(argv[argc]) + 1;
		memcpy(s->buf + off, argv[argc], n);
		off += n;
	}
	p->argc = argc;
	p->cmdline_len = (uint16_t)(off - start);
	h->size = (uint16_t)off;
	syn_put(s, h, h->size);
}

static void syn_fork(struct synth *s, uint64_t ts, uint32_t parent, uint32_t ptid, uint32_t child,
		     const char *child_comm)
{
	struct lp_hdr *h = syn_hdr(s, LP_EV_FORK, parent, ptid, child, ts);
	struct lp_ev_fork *f = (void *)h;
	strncpy(f->child_comm, child_comm, LP_COMM_LEN - 1);
	h->size = sizeof(*f);
	syn_put(s, h, h->size);
}

static void syn_exec_argv(struct synth *s, uint64_t ts, uint32_t pid, const char *filename,
			  const char *const *argv)
{
	struct lp_hdr *h = syn_hdr(s, LP_EV_EXEC_ARGV, pid, pid, LP_SC_EXECVE, ts);
	struct lp_ev_exec_argv *e = (void *)h;
	e->dirfd = -100;
	size_t off = sizeof(*e);
	size_t n = strlen(filename) + 1;
	memcpy(s->buf + off, filename, n);
	off += n;
	uint16_t argc = 0;
	for (; argv[argc]; argc++) {
		n = strlen(argv[argc]) + 1;
		memcpy(s->buf + off, argv[argc], n);
		off += n;
	}
	e->argc = argc;
	e->data_len = (uint16_t)(off - sizeof(*e));
	h->size = (uint16_t)off;
	syn_put(s, h, h->size);
}

static void syn_exec(struct synth *s, uint64_t ts, uint32_t pid, uint32_t ppid, const char *filename,
		     const char *comm, const char *const *argv)
{
	syn_exec_argv(s, ts > 20 * SYN_US ? ts - 20 * SYN_US : ts, pid, filename, argv);
	struct lp_hdr *h = syn_hdr(s, LP_EV_EXEC, pid, pid, pid, ts);
	struct lp_ev_exec *e = (void *)h;
	e->ppid = ppid;
	strncpy(e->comm, comm, LP_COMM_LEN - 1);
	size_t n = strlen(filename) + 1;
	e->filename_len = (uint16_t)n;
	memcpy(s->buf + sizeof(*e), filename, n);
	h->size = (uint16_t)(sizeof(*e) + n);
	syn_put(s, h, h->size);
}

static void syn_exit(struct synth *s, uint64_t ts, uint32_t pid, int code, const char *comm)
{
	struct lp_hdr *h = syn_hdr(s, LP_EV_EXIT, pid, pid, (uint32_t)(code & 0xff) << 8, ts);
	struct lp_ev_exit *e = (void *)h;
	strncpy(e->comm, comm, LP_COMM_LEN - 1);
	e->counts.stat_ok = 3;
	h->size = sizeof(*e);
	syn_put(s, h, h->size);
}

/* A syscall with up to 4 strings (NULL ends; they go in the order of
 * syscalls.def's string arguments). ts is the exit time. */
static void syn_sc(struct synth *s, uint64_t ts, uint32_t pid, uint32_t tid, unsigned sc, int64_t ret,
		   uint64_t lat, const uint64_t args[6], const char *s0, const char *s1)
{
	struct lp_hdr *h = syn_hdr(s, LP_EV_SYSCALL, pid, tid, sc, ts);
	struct lp_ev_syscall *e = (void *)h;
	e->ret = ret;
	e->lat_ns = lat;
	if (args)
		memcpy(e->args, args, sizeof(e->args));
	const char *strs[2] = { s0, s1 };
	size_t off = sizeof(*e);
	for (unsigned i = 0; i < 2 && strs[i]; i++) {
		int arg = lp_sc_str_arg(sc, i);
		if (arg < 0)
			break;
		size_t n = strlen(strs[i]) + 1;
		e->str_arg[i] = (uint8_t)arg;
		e->str_len[i] = (uint16_t)n;
		memcpy(s->buf + off, strs[i], n);
		off += n;
		e->nstr = (uint8_t)(i + 1);
	}
	h->size = (uint16_t)off;
	syn_put(s, h, h->size);
}

static void syn_openat(struct synth *s, uint64_t ts, uint32_t pid, uint32_t tid, const char *path,
		       int flags, int64_t ret, uint64_t lat)
{
	uint64_t a[6] = { (uint64_t)(int64_t)-100 /* AT_FDCWD */, 0, (uint64_t)flags, 0644, 0, 0 };
	syn_sc(s, ts, pid, tid, LP_SC_OPENAT, ret, lat, a, path, NULL);
}

static void syn_fdio(struct synth *s, uint64_t ts, uint32_t pid, uint32_t tid, int fd, uint64_t first,
		     uint64_t rbytes, uint64_t wbytes, uint64_t rns, uint64_t wns)
{
	struct lp_hdr *h = syn_hdr(s, LP_EV_FD_IO, pid, tid, (uint32_t)fd, ts);
	struct lp_ev_fd_io *e = (void *)h;
	e->first_ts = s->t0 + first;
	e->last_ts = s->t0 + ts;
	e->rbytes = rbytes;
	e->wbytes = wbytes;
	e->rns = rns;
	e->wns = wns;
	e->rcalls = rbytes ? (uint32_t)(rbytes / 4096 + 1) : 0;
	e->wcalls = wbytes ? (uint32_t)(wbytes / 4096 + 1) : 0;
	h->size = sizeof(*e);
	syn_put(s, h, h->size);
}

/* A process blocked reading a pipe from first to ts (one call), as a
 * recorder with fd kinds sends it (lp_ev_fd_io.fd_mode S_IFIFO). */
static void syn_pipe_wait(struct synth *s, uint64_t ts, uint32_t pid, int fd, uint64_t first)
{
	struct lp_hdr *h = syn_hdr(s, LP_EV_FD_IO, pid, pid, (uint32_t)fd, ts);
	struct lp_ev_fd_io *e = (void *)h;
	e->first_ts = s->t0 + first;
	e->last_ts = s->t0 + ts;
	e->rns = ts - first;
	e->rcalls = 1;
	e->fd_mode = LP_FDMODE_KNOWN | 0010000u; /* S_IFIFO */
	h->size = sizeof(*e);
	syn_put(s, h, h->size);
}

static void syn_ctx_file(struct synth *s, uint64_t ts, const char *path, uint64_t size)
{
	struct lp_hdr *h = syn_hdr(s, LP_REC_CONTEXT_FILE, 0, 0, 0, ts);
	struct lp_rec_context_file *c = (void *)h;
	c->size = size;
	c->mtime_ns = 1700000000000000000ll;
	c->mode = 0100644;
	size_t n = strlen(path) + 1;
	c->path_len = (uint16_t)n;
	memcpy(s->buf + sizeof(*c), path, n);
	h->size = (uint16_t)(sizeof(*c) + n);
	syn_put(s, h, h->size);
}

/* dockerd (pid 100) writes a context file into the context snapshot. */
static void syn_ctx_send(struct synth *s, uint64_t *t, const char *rel, uint64_t size, int tmpn)
{
	char tmp[512], dst[512];
	snprintf(dst, sizeof(dst), SYN_ROOT "/overlay2/" SYN_CTX_ID "/diff/%s", rel);
	snprintf(tmp, sizeof(tmp), SYN_ROOT "/overlay2/" SYN_CTX_ID "/diff/.tmp.%d", tmpn);
	uint64_t t0 = *t;
	syn_openat(s, t0 + 30 * SYN_US, 100, 104, tmp, O_WRONLY | O_CREAT | O_TRUNC, 40, 25 * SYN_US);
	syn_fdio(s, t0 + 200 * SYN_US, 100, 104, 40, t0 + 40 * SYN_US, 0, size, 0, 60 * SYN_US);
	uint64_t ra[6] = { (uint64_t)(int64_t)-100, 0, (uint64_t)(int64_t)-100, 0, 0, 0 };
	syn_sc(s, t0 + 260 * SYN_US, 100, 104, LP_SC_RENAMEAT, 0, 30 * SYN_US, ra, tmp, dst);
	*t = t0 + 300 * SYN_US;
}

/* COPY inside dockerd: source from the context snapshot, destination merged/. */
static void syn_copy(struct synth *s, uint64_t *t, const char *snap, const char *rel, const char *dst,
		     uint64_t size)
{
	char src[512], d[512];
	snprintf(src, sizeof(src), SYN_ROOT "/overlay2/" SYN_CTX_ID "/diff/%s", rel);
	snprintf(d, sizeof(d), SYN_ROOT "/overlay2/%s/merged%s", snap, dst);
	uint64_t t0 = *t;
	syn_openat(s, t0 + 20 * SYN_US, 100, 105, src, O_RDONLY, 41, 15 * SYN_US);
	syn_openat(s, t0 + 60 * SYN_US, 100, 105, d, O_WRONLY | O_CREAT | O_TRUNC, 42, 30 * SYN_US);
	uint64_t ca[6] = { 41, 0, 42, 0, size, 0 };
	syn_sc(s, t0 + 150 * SYN_US, 100, 105, LP_SC_COPY_FILE_RANGE, (int64_t)size, 80 * SYN_US, ca, NULL, NULL);
	*t = t0 + 200 * SYN_US;
}

/* runc -> runc:[2:INIT] -> sh -c TEXT; returns the time after. */
static uint64_t syn_run(struct synth *s, uint64_t t, uint32_t runc, const char *exec_id, const char *text,
			uint32_t shpid, uint32_t npmpid, const char *npm_comm, const char *const *npm_argv,
			const struct synth_opts *o, int writes_modules)
{
	char bundle[256];
	snprintf(bundle, sizeof(bundle), SYN_ROOT "/buildkit/executor/%s", exec_id);
	syn_fork(s, t, 100, 103, runc, "dockerd");
	const char *runc_argv[] = { "runc", "--root", "/var/run/docker/runtime-runc/moby", "run", "--bundle",
				    bundle, exec_id, NULL };
	syn_exec(s, t + 300 * SYN_US, runc, 100, "/usr/bin/runc", "runc", runc_argv);
	syn_fork(s, t + 2 * SYN_MS, runc, runc, shpid, "runc:[2:INIT]");
	const char *sh_argv[] = { "/bin/sh", "-c", text, NULL };
	syn_exec(s, t + 5 * SYN_MS, shpid, runc, "/bin/sh", "sh", sh_argv);
	syn_fork(s, t + 6 * SYN_MS, shpid, shpid, npmpid, "sh");
	syn_exec(s, t + 7 * SYN_MS, npmpid, shpid, "/usr/local/bin/npm", npm_comm, npm_argv);
	uint64_t u = t + 8 * SYN_MS;
	/* reads package.json (placed by COPY) */
	syn_openat(s, u + 40 * SYN_US, npmpid, npmpid, "/app/package.json", O_RDONLY, 5, 30 * SYN_US);
	syn_fdio(s, u + 400 * SYN_US, npmpid, npmpid, 5, u + 50 * SYN_US, 120, 0, 20 * SYN_US, 0);
	u += 500 * SYN_US;
	/* a run of tiny failed lookups (merged in the Chrome export) */
	for (unsigned i = 0; i < o->tiny_lookups; i++) {
		char p[128];
		snprintf(p, sizeof(p), "/app/node_modules/.bin/x%u", i);
		uint64_t a[6] = { (uint64_t)(int64_t)-100, 0, 0, 0, 0, 0 };
		syn_sc(s, u + 3 * SYN_US, npmpid, npmpid + 1, LP_SC_NEWFSTATAT, -2 /* ENOENT */, 2 * SYN_US, a, p, NULL);
		u += 3 * SYN_US;
	}
	if (o->evil) {
		syn_openat(s, u + 50 * SYN_US, npmpid, npmpid, "/app/\xff\xfe bad\x01\x7f  name;x<&>\"\xc3\xa9\xe2\x82.txt",
			   O_RDONLY, -2, 20 * SYN_US);
		u += 100 * SYN_US;
	}
	if (o->overlap) {
		/* the second call's start (exit - latency) lies before the first one's end */
		syn_openat(s, u + 100 * SYN_US, npmpid, npmpid, "/app/a.txt", O_RDONLY, 6, 90 * SYN_US);
		syn_openat(s, u + 150 * SYN_US, npmpid, npmpid, "/app/b.txt", O_RDONLY, 7, 120 * SYN_US);
		u += 200 * SYN_US;
	}
	unsigned nfiles = writes_modules ? 12 + o->bulk_files : 2;
	for (unsigned i = 0; i < nfiles; i++) {
		char p[160];
		snprintf(p, sizeof(p), writes_modules ? "/app/node_modules/pkg%u/index.js" : "/app/dist/out%u.js", i);
		syn_openat(s, u + 50 * SYN_US, npmpid, npmpid, p, O_WRONLY | O_CREAT | O_TRUNC, 8, 40 * SYN_US);
		syn_fdio(s, u + 300 * SYN_US, npmpid, npmpid, 8, u + 60 * SYN_US, 0, 4096 * (i % 5 + 1), 0,
			 100 * SYN_US);
		u += 400 * SYN_US;
	}
	syn_exit(s, u + 1 * SYN_MS, npmpid, 0, npm_comm);
	syn_exit(s, u + 2 * SYN_MS, shpid, 0, "sh");
	/* runc waited on its init's pipe while the container ran */
	syn_pipe_wait(s, u + 3 * SYN_MS, runc, 4, t + 2 * SYN_MS + 100 * SYN_US);
	syn_exit(s, u + 4 * SYN_MS, runc, 0, "runc");
	return u + 5 * SYN_MS;
}

/* Write the whole recording to path. 0 on success. */
static int synth_write(const char *path, const struct synth_opts *o)
{
	struct synth S;
	struct synth *s = &S;
	memset(s, 0, sizeof(*s));
	s->t0 = 5000ull * 1000000000ull;
	bool b = o->variant == 'B';
	const char *meta =
		"{\"format\":\"layerprof\",\"version\":1,"
		"\"command\":[\"docker\",\"build\",\"-t\",\"app\",\".\"],"
		"\"host\":{\"hostname\":\"synth-host\",\"kernel\":\"6.1.0-synthetic\"},"
		"\"daemon\":{\"data_root\":\"" SYN_ROOT "\"},"
		"\"build\":{\"context\":\"/src/app\",\"dockerfile\":\"/src/app/Dockerfile\",\"tag\":\"app\","
		"\"dockerfile_text\":\"FROM alpine:3.19\\nWORKDIR /app\\nCOPY package.json .\\n"
		"RUN npm ci; echo done\\nCOPY . .\\nRUN npm run build && echo \\\"<built> & ok\\\"\\n\"}}";
	s->w = lp_writer_open(path, meta, s->err, sizeof(s->err));
	if (!s->w)
		return -1;
	const char *dockerd_argv[] = { "/usr/bin/dockerd", "-H", "unix:///run/lp-docker.sock", NULL };
	const char *cli_argv[] = { "docker", "build", "-t", "app", ".", NULL };
	syn_trace_pid(s, 0, 100, LP_WHY_COMM, "dockerd");
	syn_seed(s, 0, 100, 1, "dockerd", "/usr/bin/dockerd", "/", dockerd_argv);
	syn_trace_pid(s, 10 * SYN_US, 200, LP_WHY_COMMAND, "docker");
	syn_seed(s, 10 * SYN_US, 200, 50, "docker", "/usr/bin/docker", "/src/app", cli_argv);
	syn_ctx_file(s, 20 * SYN_US, "package.json", 120);
	syn_ctx_file(s, 20 * SYN_US, "src/index.js", 2000);
	syn_ctx_file(s, 20 * SYN_US, "src/util.js", 800);
	syn_ctx_file(s, 20 * SYN_US, "README.md", 500);

	uint64_t t = 1 * SYN_MS;
	syn_progress(s, t, "#1 [internal] load build definition from Dockerfile");
	syn_progress(s, t + 1 * SYN_MS, "#1 transferring dockerfile: 150B done");
	syn_progress(s, t + 2 * SYN_MS, "#1 DONE 0.0s");
	t += 3 * SYN_MS;
	syn_progress(s, t, "#2 [internal] load .dockerignore");
	syn_progress(s, t + 1 * SYN_MS, "#2 DONE 0.0s");
	t += 2 * SYN_MS;
	syn_progress(s, t, "#3 [internal] load metadata for docker.io/library/alpine:3.19");
	/* the daemon's housekeeping: a bolt db write + fdatasync */
	syn_openat(s, t + 2 * SYN_MS, 100, 101, SYN_ROOT "/buildkit/cache.db", O_RDWR, 30, 20 * SYN_US);
	uint64_t fa[6] = { 30, 0, 0, 0, 0, 0 };
	syn_sc(s, t + 4 * SYN_MS, 100, 101, LP_SC_FDATASYNC, 0, 1500 * SYN_US, fa, NULL, NULL);
	syn_progress(s, t + 40 * SYN_MS, "#3 DONE 0.0s");
	t += 41 * SYN_MS;
	syn_progress(s, t, "#4 [1/6] FROM docker.io/library/alpine:3.19");
	syn_progress(s, t + 1 * SYN_MS, "#4 DONE 0.0s");
	t += 2 * SYN_MS;
	syn_progress(s, t, "#5 [internal] load build context");
	uint64_t u = t + 1 * SYN_MS;
	syn_ctx_send(s, &u, "src/index.js", 2000, 1);
	if (b)
		syn_ctx_send(s, &u, "package.json", 121, 2);
	syn_progress(s, u + 1 * SYN_MS, "#5 transferring context: %s done", b ? "2.21kB" : "2.09kB");
	syn_progress(s, u + 2 * SYN_MS, "#5 DONE 0.0s");
	t = u + 3 * SYN_MS;
	syn_progress(s, t, "#6 [2/6] WORKDIR /app");
	syn_progress(s, t + 1 * SYN_MS, "#6 CACHED");
	t += 2 * SYN_MS;
	syn_progress(s, t, "#7 [3/6] COPY package.json .");
	if (b) {
		u = t + 1 * SYN_MS;
		syn_copy(s, &u, SYN_COPY1_ID, "package.json", "/app/package.json", 121);
		syn_progress(s, u + 1 * SYN_MS, "#7 DONE 0.0s");
		t = u + 2 * SYN_MS;
	} else {
		syn_progress(s, t + 1 * SYN_MS, "#7 CACHED");
		t += 2 * SYN_MS;
	}
	syn_progress(s, t, "#8 [4/6] RUN npm ci; echo done");
	if (b) {
		const char *npm_argv[] = { "npm", "ci", NULL };
		u = syn_run(s, t + 1 * SYN_MS, 300, SYN_EXEC1_ID, "npm ci; echo done", 301, 302, "npm", npm_argv, o, 1);
		syn_progress(s, u - 2 * SYN_MS, "#8 1.234 added 12 packages in 1s");
		syn_progress(s, u, "#8 DONE %.1fs", (double)(u - t) / 1e9);
		t = u + 1 * SYN_MS;
	} else {
		syn_progress(s, t + 1 * SYN_MS, "#8 CACHED");
		t += 2 * SYN_MS;
	}
	syn_progress(s, t, "#9 [5/6] COPY . .");
	u = t + 1 * SYN_MS;
	syn_copy(s, &u, SYN_COPY2_ID, "package.json", "/app/package.json", b ? 121 : 120);
	syn_copy(s, &u, SYN_COPY2_ID, "src/index.js", "/app/src/index.js", 2000);
	syn_copy(s, &u, SYN_COPY2_ID, "src/util.js", "/app/src/util.js", 800);
	syn_copy(s, &u, SYN_COPY2_ID, "README.md", "/app/README.md", 500);
	syn_progress(s, u + 1 * SYN_MS, "#9 DONE 0.0s");
	t = u + 2 * SYN_MS;
	syn_progress(s, t, "#10 [6/6] RUN npm run build && echo \"<built> & ok\"");
	{
		const char *npm_argv[] = { "node", "build.js", NULL };
		/* pid 302 again: the pid of B's npm ci (or a fresh one in A), reused */
		u = syn_run(s, t + 1 * SYN_MS, 310, SYN_EXEC2_ID, "npm run build && echo \"<built> & ok\"", 311, 302,
			    "node", npm_argv, o, 0);
		syn_progress(s, u, "#10 DONE %.1fs", (double)(u - t) / 1e9);
		t = u + 1 * SYN_MS;
	}
	syn_progress(s, t, "#11 exporting to image");
	syn_progress(s, t + 1 * SYN_MS, "#11 exporting layers");
	{
		char p[256], q[256];
		snprintf(p, sizeof(p), SYN_ROOT "/image/overlay2/imagedb/content/sha256/.tmp-abc");
		snprintf(q, sizeof(q), SYN_ROOT "/image/overlay2/imagedb/content/sha256/abc123");
		syn_openat(s, t + 5 * SYN_MS, 100, 106, p, O_WRONLY | O_CREAT, 43, 30 * SYN_US);
		uint64_t f43[6] = { 43, 0, 0, 0, 0, 0 };
		syn_sc(s, t + 8 * SYN_MS, 100, 106, LP_SC_FSYNC, 0, 1800 * SYN_US, f43, NULL, NULL);
		/* close: the fd's I/O totals */
		syn_fdio(s, t + 8 * SYN_MS + 100 * SYN_US, 100, 106, 43, t + 5 * SYN_MS + 50 * SYN_US, 0, 1500, 0,
			 40 * SYN_US);
		uint64_t ra[6] = { (uint64_t)(int64_t)-100, 0, (uint64_t)(int64_t)-100, 0, 0, 0 };
		syn_sc(s, t + 9 * SYN_MS, 100, 106, LP_SC_RENAMEAT, 0, 40 * SYN_US, ra, p, q);
	}
	syn_progress(s, t + 10 * SYN_MS, "#11 exporting layers 0.1s done");
	syn_progress(s, t + 11 * SYN_MS, "#11 writing image sha256:abc123 done");
	syn_progress(s, t + 12 * SYN_MS, "#11 naming to docker.io/library/app done");
	syn_progress(s, t + 13 * SYN_MS, "#11 DONE 0.0s");
	syn_exit(s, t + 20 * SYN_MS, 200, 0, "docker");
	char trailer[256];
	snprintf(trailer, sizeof(trailer), "{\"command_status\":0,\"lost\":{\"total\":0}}");
	if (lp_writer_close(s->w, trailer, s->err, sizeof(s->err)) < 0)
		return -1;
	return s->failed ? -1 : 0;
}

#endif
