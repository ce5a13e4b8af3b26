/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Synthetic trace of a large docker build, for the offline benchmarks
 * (report / export speed, bytes per event on disk). Uses the real trace
 * writer (src/trace.h) and the real record layouts (include/layerprof/abi.h).
 *
 *   gen_trace OUT [-n EVENTS] [-s SEED]
 *
 * The shape follows a recorded build of tests/fixtures/bad-order scaled up
 * to a node-style project (see tests/fixtures/NOTES.md):
 *   META like record's (dockerd with its data-root, the docker command, the
 *   Dockerfile text, the context size); trace_pid + proc_seed of dockerd and
 *   containerd; the docker CLI's exec; 2,000 context files;
 *   the BuildKit progress stream of a 9-step build (headers, sha256 lines,
 *   output lines, DONE);
 *   "[internal] load build context": dockerd writes the context files into
 *   <dr>/overlay2/<25-char id>/diff/... (openat O_CREAT + fd_io write);
 *   COPY steps: dockerd opens <dr>/tmp/buildkit-mountNNN/<p> and
 *   <dr>/overlay2/<id>/merged/app/<p>, copy_file_range EXDEV, fd_io;
 *   RUN steps: dockerd forks runc, runc -> runc:[2:INIT] -> sh -> a few
 *   hundred processes in all (npm/node/sh/cat...) doing openat/read/write/
 *   stat failures/mkdirat/renameat/unlinkat on container paths
 *   (/app/node_modules/<pkg>/...);
 *   export: tar walk of the upper dirs, layerdb write-sets with fsync +
 *   renameat, bolt fdatasyncs.
 * Deterministic for a given seed. Prints "records raw_bytes" on stdout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerprof/abi.h"
#include "trace.h"

#define DR "/var/lib/docker"
#define O_RDONLY_CL 0x80000ull
#define O_WRCREAT_CL 0x80241ull /* O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC */
#define O_RDWRCREAT_CL 0x80242ull
#define O_DIR_CL 0x90800ull     /* O_RDONLY|O_DIRECTORY|O_NONBLOCK|O_CLOEXEC */
#define AT_FDCWD_ (-100)

static struct lp_writer *W;
static uint64_t g_records, g_raw, g_target;
static uint64_t g_ts = 1000000000000ull; /* monotonic ns */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}
static uint32_t rndn(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

/* Time passes: mostly a few µs between events, sometimes much longer. */
static uint64_t tick(void)
{
	uint32_t r = rndn(1000);
	uint64_t d = r < 700 ? 2000 + rndn(20000) : r < 980 ? 20000 + rndn(200000) : 200000 + rndn(3000000);
	g_ts += d;
	return g_ts;
}
static uint64_t lat(void)
{
	uint32_t r = rndn(100);
	return r < 80 ? 1500 + rndn(8000) : r < 98 ? 10000 + rndn(90000) : 100000 + rndn(2000000);
}

static union {
	struct lp_hdr h;
	uint64_t align;
	char b[LP_EVENT_MAX * 2];
} rec;

static void put(size_t size)
{
	rec.h.size = (uint16_t)size;
	if (lp_writer_append(W, rec.b, size) < 0) {
		fprintf(stderr, "gen_trace: append failed: %s\n",
			lp_writer_error(W) ? lp_writer_error(W) : "invalid record");
		exit(1);
	}
	g_records++;
	g_raw += size;
}

static void hdr(uint8_t kind, uint32_t tgid, uint32_t tid, uint32_t aux, uint64_t ts)
{
	memset(&rec.h, 0, sizeof(rec.h));
	rec.h.kind = kind;
	rec.h.tgid = tgid;
	rec.h.tid = tid;
	rec.h.aux = aux;
	rec.h.ts = ts;
}

/* ---- processes ---- */

struct proc {
	uint32_t pid, ntid, tids[8];
	uint64_t ptr_base; /* where its strings live (Go heap or C stack) */
	int next_fd;
	char comm[16];
	uint32_t stat_ok;
};

static uint32_t tid_of(struct proc *p) { return p->tids[rndn(p->ntid)]; }
static uint64_t uptr(struct proc *p) { return p->ptr_base + (rnd() & 0xfffff8ull); }

static void ev_syscall(struct proc *p, uint32_t sc, int64_t ret, const uint64_t *args, int nargs,
		       const char *s0, int a0, const char *s1, int a1)
{
	uint64_t ts = tick();
	hdr(LP_EV_SYSCALL, p->pid, tid_of(p), sc, ts);
	struct lp_ev_syscall *e = (void *)rec.b;
	memset((char *)e + sizeof(e->h), 0, sizeof(*e) - sizeof(e->h));
	e->ret = ret;
	e->lat_ns = lat();
	for (int i = 0; i < nargs && i < 6; i++)
		e->args[i] = args[i];
	size_t off = sizeof(*e);
	const char *s[2] = { s0, s1 };
	int a[2] = { a0, a1 };
	for (int i = 0; i < 2; i++) {
		e->str_arg[i] = 9;
		if (!s[i])
			continue;
		size_t n = strlen(s[i]) + 1;
		if (n > LP_STR_MAX)
			n = LP_STR_MAX;
		memcpy(rec.b + off, s[i], n - 1);
		rec.b[off + n - 1] = 0;
		e->str_arg[e->nstr] = (uint8_t)a[i];
		e->str_len[e->nstr] = (uint16_t)n;
		e->nstr++;
		off += n;
	}
	for (int i = e->nstr; i < 4; i++)
		e->str_arg[i] = 9;
	put(off);
}

static void ev_fdio(struct proc *p, int fd, uint64_t rb, uint64_t wb)
{
	uint64_t first = g_ts + 1000;
	uint64_t ts = tick();
	hdr(LP_EV_FD_IO, p->pid, tid_of(p), (uint32_t)fd, ts);
	struct lp_ev_fd_io *e = (void *)rec.b;
	memset((char *)e + sizeof(e->h), 0, sizeof(*e) - sizeof(e->h));
	e->first_ts = first < ts ? first : ts;
	e->last_ts = ts - 500;
	e->rbytes = rb;
	e->wbytes = wb;
	e->rcalls = rb ? (uint32_t)(rb / 65536 + 2) : 0;
	e->wcalls = wb ? (uint32_t)(wb / 32768 + 1) : 0;
	e->rns = e->rcalls * lat() / 2;
	e->wns = e->wcalls * lat();
	put(sizeof(*e));
}

static void ev_progress(uint32_t pid, const char *text)
{
	hdr(LP_REC_PROGRESS, pid, pid, 2, tick());
	struct lp_rec_progress *e = (void *)rec.b;
	size_t n = strlen(text);
	e->len = (uint16_t)n;
	memset(e->pad, 0, sizeof(e->pad));
	memcpy(rec.b + sizeof(*e), text, n);
	put(sizeof(*e) + n);
}

static void ev_trace_pid(uint32_t pid, uint32_t why, const char *comm)
{
	hdr(LP_REC_TRACE_PID, pid, pid, why, tick());
	struct lp_rec_trace_pid *e = (void *)rec.b;
	memset(e->comm, 0, sizeof(e->comm));
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
	put(sizeof(*e));
}

static void ev_proc_seed(uint32_t pid, uint32_t ppid, const char *comm, const char *exe,
			 const char *cwd, const char *const *argv)
{
	hdr(LP_REC_PROC_SEED, pid, pid, ppid, tick());
	struct lp_rec_proc_seed *e = (void *)rec.b;
	memset(e->comm, 0, sizeof(e->comm));
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
	size_t off = sizeof(*e);
	e->exe_len = (uint16_t)(strlen(exe) + 1);
	memcpy(rec.b + off, exe, e->exe_len);
	off += e->exe_len;
	e->cwd_len = (uint16_t)(strlen(cwd) + 1);
	memcpy(rec.b + off, cwd, e->cwd_len);
	off += e->cwd_len;
	size_t c0 = off;
	e->argc = 0;
	for (; argv[e->argc]; e->argc++) {
		size_t n = strlen(argv[e->argc]) + 1;
		memcpy(rec.b + off, argv[e->argc], n);
		off += n;
	}
	e->cmdline_len = (uint16_t)(off - c0);
	put(off);
}

static void ev_fork(struct proc *parent, uint32_t child)
{
	hdr(LP_EV_FORK, parent->pid, tid_of(parent), child, tick());
	struct lp_ev_fork *e = (void *)rec.b;
	memset(e->child_comm, 0, sizeof(e->child_comm));
	snprintf(e->child_comm, sizeof(e->child_comm), "%s", parent->comm);
	put(sizeof(*e));
}

static void ev_exec(struct proc *p, uint32_t ppid, const char *comm, const char *file,
		    const char *const *argv)
{
	/* LP_EV_EXEC_ARGV at entry */
	uint64_t ts = tick();
	hdr(LP_EV_EXEC_ARGV, p->pid, p->pid, LP_SC_EXECVE, ts);
	struct lp_ev_exec_argv *a = (void *)rec.b;
	a->dirfd = AT_FDCWD_;
	size_t off = sizeof(*a);
	size_t n = strlen(file) + 1;
	memcpy(rec.b + off, file, n);
	off += n;
	a->argc = 0;
	for (; argv[a->argc]; a->argc++) {
		n = strlen(argv[a->argc]) + 1;
		memcpy(rec.b + off, argv[a->argc], n);
		off += n;
	}
	a->data_len = (uint16_t)(off - sizeof(*a));
	put(off);
	/* LP_EV_EXEC */
	hdr(LP_EV_EXEC, p->pid, p->pid, p->pid, tick());
	struct lp_ev_exec *e = (void *)rec.b;
	e->ppid = ppid;
	e->pad = 0;
	memset(e->comm, 0, sizeof(e->comm));
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	n = strlen(file) + 1;
	e->filename_len = (uint16_t)n;
	memcpy(rec.b + sizeof(*e), file, n);
	put(sizeof(*e) + n);
}

static void ev_exit(struct proc *p, uint32_t code)
{
	hdr(LP_EV_EXIT, p->pid, p->pid, code << 8, tick());
	struct lp_ev_exit *e = (void *)rec.b;
	memset(&e->counts, 0, sizeof(e->counts));
	e->counts.stat_ok = p->stat_ok;
	e->counts.chmod = rndn(4);
	memset(e->comm, 0, sizeof(e->comm));
	snprintf(e->comm, sizeof(e->comm), "%s", p->comm);
	put(sizeof(*e));
}

static void ev_context_file(const char *path, uint64_t size)
{
	hdr(LP_REC_CONTEXT_FILE, 0, 0, 0, tick());
	struct lp_rec_context_file *e = (void *)rec.b;
	e->size = size;
	e->mtime_ns = 1700000000000000000ll + (int64_t)rndn(1000000) * 1000000000ll;
	e->mode = 0100644;
	size_t n = strlen(path) + 1;
	e->path_len = (uint16_t)n;
	e->pad = 0;
	memcpy(rec.b + sizeof(*e), path, n);
	put(sizeof(*e) + n);
}

/* ---- file-level helpers ---- */

static int new_fd(struct proc *p)
{
	int fd = p->next_fd++;
	if (p->next_fd > 40)
		p->next_fd = 3 + (int)rndn(8);
	return fd;
}

/* open, read it all, close (fd_io at close) */
static void read_file(struct proc *p, const char *path, uint64_t bytes)
{
	int fd = new_fd(p);
	uint64_t args[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(p), O_RDONLY_CL, 0 };
	ev_syscall(p, LP_SC_OPENAT, fd, args, 4, path, 1, NULL, 0);
	ev_fdio(p, fd, bytes, 0);
}

static void write_file(struct proc *p, const char *path, uint64_t bytes)
{
	int fd = new_fd(p);
	uint64_t args[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(p), O_WRCREAT_CL, 0644 };
	ev_syscall(p, LP_SC_OPENAT, fd, args, 4, path, 1, NULL, 0);
	ev_fdio(p, fd, 0, bytes);
}

static void stat_fail(struct proc *p, const char *path)
{
	uint64_t args[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(p), uptr(p), 0 };
	ev_syscall(p, LP_SC_NEWFSTATAT, -2, args, 4, path, 1, NULL, 0);
}

static void path_op(struct proc *p, uint32_t sc, const char *path, uint64_t a2, int64_t ret)
{
	uint64_t args[3] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(p), a2 };
	ev_syscall(p, sc, ret, args, 3, path, 1, NULL, 0);
}

static void rename_op(struct proc *p, const char *from, const char *to)
{
	uint64_t args[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(p), (uint64_t)(int64_t)AT_FDCWD_, uptr(p) };
	ev_syscall(p, LP_SC_RENAMEAT, 0, args, 4, from, 1, to, 3);
}

static void fd_op(struct proc *p, uint32_t sc, int fd)
{
	uint64_t args[1] = { (uint64_t)fd };
	ev_syscall(p, sc, 0, args, 1, NULL, 0, NULL, 0);
}

/* ---- the project ---- */

#define NPKG 400
static char pkg[NPKG][40];
static const char *const files[] = {
	"package.json", "index.js", "lib/index.js", "lib/util.js", "README.md", "LICENSE",
	"dist/index.min.js", "lib/core/parse.js", "lib/core/emit.js", "types/index.d.ts",
	"src/main.ts", "lib/helpers/format.js", "CHANGELOG.md", "lib/compat.js",
};
#define NFILES (sizeof(files) / sizeof(files[0]))
#define NCTX 2000
static char ctx[NCTX][96];
static uint64_t ctx_size[NCTX];

static void make_names(void)
{
	static const char *const syl[] = { "lo", "da", "sh", "re", "act", "ex", "press", "ba", "bel",
					   "ts", "node", "web", "pack", "es", "lint", "jest", "chalk",
					   "yar", "gs", "mini", "mist", "glob", "semver", "uuid" };
	const size_t ns = sizeof(syl) / sizeof(syl[0]);
	for (int i = 0; i < NPKG; i++) {
		if (i % 7 == 0)
			snprintf(pkg[i], sizeof(pkg[i]), "@%s%s/%s%s", syl[rndn(ns)], syl[rndn(ns)],
				 syl[rndn(ns)], syl[rndn(ns)]);
		else
			snprintf(pkg[i], sizeof(pkg[i]), "%s%s-%s", syl[rndn(ns)], syl[rndn(ns)],
				 syl[rndn(ns)]);
	}
	static const char *const dirs[] = { "src", "src/components", "src/lib", "src/api", "test",
					    "public", "docs", ".git/objects/pack", "scripts", "config" };
	for (int i = 0; i < NCTX; i++) {
		if (i == 0)
			snprintf(ctx[i], sizeof(ctx[i]), "package.json");
		else if (i == 1)
			snprintf(ctx[i], sizeof(ctx[i]), "package-lock.json");
		else
			snprintf(ctx[i], sizeof(ctx[i]), "%s/%s%s%d.%s", dirs[rndn(10)], syl[rndn(ns)],
				 syl[rndn(ns)], i, i % 3 ? "js" : "ts");
		ctx_size[i] = 200 + rndn(20000);
	}
}

static void rand_id(char *out, int n, int hex)
{
	static const char a36[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (int i = 0; i < n; i++)
		out[i] = hex ? "0123456789abcdef"[rndn(16)] : a36[rndn(36)];
	out[n] = 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gen_trace OUT [-n EVENTS] [-s SEED]\n");
		return 2;
	}
	const char *out = argv[1];
	g_target = 10000000;
	rng_state = 88172645463325252ull;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			g_target = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-s"))
			rng_state ^= strtoull(argv[i + 1], NULL, 10) * 0x9e3779b97f4a7c15ull;
	}
	make_names();

	static const char dockerfile[] =
		"FROM layerprof/busybox\n"
		"WORKDIR /app\n"
		"COPY package.json package-lock.json ./\n"
		"RUN npm ci\n"
		"COPY . .\n"
		"RUN npm run build\n"
		"RUN npm test\n"
		"RUN rm -rf /root/.npm && npm prune --production\n";
	char meta[8192];
	snprintf(meta, sizeof(meta),
		 "{\"schema\":\"layerprof.trace/1\",\"layerprof_version\":\"0.1.0\",\"abi_version\":1,"
		 "\"host\":{\"hostname\":\"bench\",\"kernel_release\":\"6.18.0\",\"machine\":\"x86_64\",\"cpus\":2},"
		 "\"start_monotonic_ns\":%llu,\"start_realtime_ns\":1.7955e+18,\"recorder_pid\":4999,"
		 "\"command\":[\"docker\",\"build\",\"-t\",\"app\",\".\"],\"command_redacted\":false,"
		 "\"cwd\":\"/src/app\",\"uid\":0,\"sudo\":false,\"command_uid\":0,\"redact\":true,"
		 "\"features\":{\"proc_fork\":\"tp_btf\",\"proc_exec\":\"tp_btf\",\"proc_exit\":\"tp_btf\","
		 "\"syscalls_attached\":70,\"syscalls_missing_count\":0,\"load_ms\":300,\"syscalls_missing\":[]},"
		 "\"ringbuf_bytes\":16777216,\"traced_comms\":[\"dockerd\",\"buildkitd\",\"containerd\","
		 "\"containerd-shim\",\"runc\"],\"daemons\":[{\"pid\":1000,\"comm\":\"dockerd\",\"exe\":"
		 "\"/usr/sbin/dockerd\",\"data_root\":\"" DR "\"},{\"pid\":1010,\"comm\":\"containerd\","
		 "\"exe\":\"/usr/bin/containerd\"}],\"pids\":[],\"build\":{\"tool\":\"docker\",\"context\":"
		 "\"/src/app\",\"context_remote\":false,\"context_stdin\":false,\"dockerfile\":"
		 "\"/src/app/Dockerfile\",\"dockerfile_text\":\"%s\",\"dockerfile_truncated\":false,"
		 "\"dockerignore\":null,\"tag\":\"app\",\"progress_added\":true,\"buildkit_env_set\":true,"
		 "\"docker_buildkit\":\"1\",\"context_files\":%d,\"context_bytes\":%d,\"context_ignored\":0,"
		 "\"context_unreadable\":0,\"context_capped\":false,\"context_max_files\":200000}}",
		 (unsigned long long)g_ts,
		 "FROM layerprof/busybox\\nWORKDIR /app\\nCOPY package.json package-lock.json ./\\n"
		 "RUN npm ci\\nCOPY . .\\nRUN npm run build\\nRUN npm test\\n"
		 "RUN rm -rf /root/.npm && npm prune --production\\n",
		 NCTX, NCTX * 10000);
	(void)dockerfile;
	char err[512];
	W = lp_writer_open(out, meta, err, sizeof(err));
	if (!W) {
		fprintf(stderr, "gen_trace: %s\n", err);
		return 1;
	}

	/* the daemons and the command */
	struct proc dockerd = { .pid = 1000, .ntid = 8, .ptr_base = 0xc000000000ull, .next_fd = 12 };
	for (uint32_t i = 0; i < dockerd.ntid; i++)
		dockerd.tids[i] = 1000 + 3 + i * 7;
	strcpy(dockerd.comm, "dockerd");
	struct proc cli = { .pid = 5000, .ntid = 4, .ptr_base = 0xc000100000ull, .next_fd = 3 };
	for (uint32_t i = 0; i < cli.ntid; i++)
		cli.tids[i] = 5000 + i;
	strcpy(cli.comm, "layerprof");
	ev_trace_pid(1000, LP_WHY_COMM, "dockerd");
	{
		const char *av[] = { "/usr/sbin/dockerd", "--data-root", DR, "-H",
				     "unix:///run/docker.sock", NULL };
		ev_proc_seed(1000, 1, "dockerd", "/usr/sbin/dockerd", "/", av);
	}
	ev_trace_pid(1010, LP_WHY_COMM, "containerd");
	{
		const char *av[] = { "containerd", "--config", "/var/run/docker/containerd/containerd.toml",
				     NULL };
		ev_proc_seed(1010, 1000, "containerd", "/usr/bin/containerd", "/", av);
	}
	for (int i = 0; i < NCTX; i++)
		ev_context_file(ctx[i], ctx_size[i]);
	ev_trace_pid(5000, LP_WHY_COMMAND, "docker");
	{
		const char *av[] = { "docker", "build", "--progress=plain", "-t", "app", ".", NULL };
		ev_exec(&cli, 4999, "docker", "/usr/bin/docker", av);
	}

	/* budget per phase (of g_target events) */
	const uint64_t T = g_target;
	char p1[1024], p2[1024], line[512];
	char ctxsnap[32], mount[64], upper[6][32];
	rand_id(ctxsnap, 25, 0);
	snprintf(mount, sizeof(mount), DR "/tmp/buildkit-mount%u", 100000000u + rndn(800000000u));
	for (int i = 0; i < 6; i++)
		rand_id(upper[i], 25, 0);

	ev_progress(5000, "#1 [internal] load build definition from Dockerfile");
	ev_progress(5000, "#1 sha256:2766ba61b9f08f1bf80ea3217daaace7acdf41fa883999cfc724caa8e01490c2");
	ev_progress(5000, "#1 transferring dockerfile: 321B done");
	ev_progress(5000, "#1 DONE 0.0s");
	ev_progress(5000, "#2 [internal] load .dockerignore");
	ev_progress(5000, "#2 transferring context: 2B done");
	ev_progress(5000, "#2 DONE 0.0s");
	ev_progress(5000, "#3 [internal] load metadata for docker.io/layerprof/busybox:latest");
	ev_progress(5000, "#3 DONE 0.0s");
	ev_progress(5000, "#4 [1/8] FROM docker.io/layerprof/busybox");
	ev_progress(5000, "#4 CACHED");
	ev_progress(5000, "#5 [internal] load build context");

	/* the CLI walks the context, dockerd writes it (about 3% of events) */
	for (uint64_t i = 0; g_records < T * 3 / 100; i++) {
		int k = (int)(i % NCTX);
		snprintf(p1, sizeof(p1), "%s", ctx[k]);
		uint64_t args[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(&cli), uptr(&cli), 0 };
		ev_syscall(&cli, LP_SC_NEWFSTATAT, 0, args, 4, p1, 1, NULL, 0);
		read_file(&cli, ctx[k], ctx_size[k]);
		snprintf(p2, sizeof(p2), DR "/overlay2/%s/diff/%s", ctxsnap, ctx[k]);
		write_file(&dockerd, p2, ctx_size[k]);
	}
	ev_progress(5000, "#5 transferring context: 20.01MB 1.2s done");
	ev_progress(5000, "#5 DONE 1.3s");

	/* steps */
	struct step {
		const char *name, *kind;
		uint32_t share;     /* per mille of events */
		int nproc;          /* processes spawned (RUN) */
	} steps[] = {
		{ "[2/8] WORKDIR /app", "WORKDIR", 2, 0 },
		{ "[3/8] COPY package.json package-lock.json ./", "COPY", 3, 0 },
		{ "[4/8] RUN npm ci", "RUN", 520, 160 },
		{ "[5/8] COPY . .", "COPY", 40, 0 },
		{ "[6/8] RUN npm run build", "RUN", 230, 90 },
		{ "[7/8] RUN npm test", "RUN", 80, 60 },
		{ "[8/8] RUN rm -rf /root/.npm && npm prune --production", "RUN", 25, 10 },
	};
	uint32_t next_pid = 6000;
	uint64_t cum = 30;
	for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
		struct step *st = &steps[si];
		int id = 6 + (int)si;
		cum += st->share;
		uint64_t until = T * cum / 1000;
		uint64_t t_start = g_ts;
		snprintf(line, sizeof(line), "#%d %s", id, st->name);
		ev_progress(5000, line);
		snprintf(line, sizeof(line), "#%d sha256:%064llx", id, (unsigned long long)rnd());
		ev_progress(5000, line);
		if (!strcmp(st->kind, "COPY")) {
			/* dockerd mounts, then copies file by file */
			snprintf(p1, sizeof(p1), DR "/overlay2/%s/diff", ctxsnap);
			uint64_t margs[5] = { uptr(&dockerd), uptr(&dockerd), uptr(&dockerd), 0x1001, 0 };
			ev_syscall(&dockerd, LP_SC_MOUNT, 0, margs, 5, p1, 0, mount, 1);
			for (uint64_t i = 0; g_records < until; i++) {
				int k = si == 1 ? (int)(i % 2) : (int)(i % NCTX);
				snprintf(p1, sizeof(p1), "%s/%s", mount, ctx[k]);
				snprintf(p2, sizeof(p2), DR "/overlay2/%s/merged/app/%s", upper[si % 6], ctx[k]);
				int in = new_fd(&dockerd);
				uint64_t a[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(&dockerd), O_RDONLY_CL, 0 };
				ev_syscall(&dockerd, LP_SC_OPENAT, in, a, 4, p1, 1, NULL, 0);
				int outfd = new_fd(&dockerd);
				uint64_t b[4] = { (uint64_t)(int64_t)AT_FDCWD_, uptr(&dockerd), O_RDWRCREAT_CL, 0644 };
				ev_syscall(&dockerd, LP_SC_OPENAT, outfd, b, 4, p2, 1, NULL, 0);
				uint64_t c[6] = { (uint64_t)in, 0, (uint64_t)outfd, 0, ctx_size[k], 0 };
				ev_syscall(&dockerd, LP_SC_COPY_FILE_RANGE, -18, c, 6, NULL, 0, NULL, 0);
				ev_fdio(&dockerd, in, ctx_size[k], 0);
				ev_fdio(&dockerd, outfd, 0, ctx_size[k]);
				if (i % 20 == 0) {
					snprintf(p2, sizeof(p2), DR "/overlay2/%s/merged/app/src/d%llu",
						 upper[si % 6], (unsigned long long)i);
					path_op(&dockerd, LP_SC_MKDIRAT, p2, 0755, 0);
				}
			}
			uint64_t ua[2] = { uptr(&dockerd), 2 };
			ev_syscall(&dockerd, LP_SC_UMOUNT2, 0, ua, 2, mount, 0, NULL, 0);
		} else if (!strcmp(st->kind, "RUN")) {
			/* runc, runc:[2:INIT] -> sh -> workers */
			struct proc runc = { .pid = next_pid++, .ntid = 4, .ptr_base = 0xc000200000ull, .next_fd = 3 };
			for (uint32_t i = 0; i < runc.ntid; i++)
				runc.tids[i] = runc.pid + i;
			next_pid += 4;
			strcpy(runc.comm, "dockerd");
			ev_fork(&dockerd, runc.pid);
			char bundle[160], eid[32];
			rand_id(eid, 25, 0);
			snprintf(bundle, sizeof(bundle), DR "/buildkit/executor/%s", eid);
			{
				const char *av[] = { "runc", "--log", DR "/buildkit/executor/runc-log.json",
						     "--log-format", "json", "run", "--bundle", bundle, eid, NULL };
				ev_exec(&runc, 1000, "runc", "/usr/sbin/runc", av);
			}
			struct proc sh = { .pid = next_pid++, .ntid = 1, .ptr_base = 0x7ffc00000000ull, .next_fd = 3 };
			sh.tids[0] = sh.pid;
			strcpy(sh.comm, "runc:[2:INIT]");
			ev_fork(&runc, sh.pid);
			{
				const char *av[] = { "/bin/sh", "-c", st->name + 10, NULL };
				ev_exec(&sh, runc.pid, "sh", "/bin/sh", av);
			}
			uint64_t per_proc = (until - g_records) / (uint64_t)st->nproc + 1;
			for (int pi = 0; pi < st->nproc && g_records < until; pi++) {
				struct proc w = { .pid = next_pid++, .ntid = 1, .ptr_base = 0x7ffd00000000ull + ((uint64_t)rndn(4096) << 20),
						  .next_fd = 3 };
				w.tids[0] = w.pid;
				bool big = pi % 10 == 0; /* node with worker threads */
				if (big) {
					w.ntid = 6;
					for (uint32_t i = 1; i < w.ntid; i++)
						w.tids[i] = w.pid + i;
					next_pid += 6;
				}
				strcpy(w.comm, "sh");
				ev_fork(&sh, w.pid);
				static const char *const tools[] = { "node", "npm", "sh", "cat", "tar", "gzip", "esbuild" };
				const char *tool = big ? "node" : tools[rndn(7)];
				char file[64];
				snprintf(file, sizeof(file), "/usr/local/bin/%s", tool);
				{
					const char *av[] = { tool, big ? "/usr/local/lib/node_modules/npm/bin/npm-cli.js" : "run",
							     st->name + 14, NULL };
					ev_exec(&w, sh.pid, tool, file, av);
				}
				if (big) {
					read_file(&w, "/app/package.json", 1200);
					read_file(&w, "/app/package-lock.json", 250000);
				}
				uint64_t my_until = g_records + (big ? per_proc * 6 : per_proc / 2 + 1);
				if (my_until > until)
					my_until = until;
				while (g_records < my_until) {
					const char *pk = pkg[rndn(NPKG)];
					const char *f = files[rndn(NFILES)];
					uint32_t r = rndn(100);
					if (r < 45) {
						snprintf(p1, sizeof(p1), "/app/node_modules/%s/%s", pk, f);
						read_file(&w, p1, 300 + rndn(60000));
					} else if (r < 60) {
						snprintf(p1, sizeof(p1), "/app/node_modules/%s/%s", pk, f);
						write_file(&w, p1, 300 + rndn(60000));
					} else if (r < 78) {
						snprintf(p1, sizeof(p1), "/app/node_modules/%s/%s.js", pk, f);
						stat_fail(&w, p1);
						w.stat_ok += 3;
					} else if (r < 84) {
						snprintf(p1, sizeof(p1), "/app/node_modules/%s/lib", pk);
						path_op(&w, LP_SC_MKDIRAT, p1, 0755, rndn(4) ? 0 : -17);
					} else if (r < 88) {
						snprintf(p1, sizeof(p1), "/root/.npm/_cacache/tmp/%08x", (unsigned)rnd());
						snprintf(p2, sizeof(p2), "/root/.npm/_cacache/content-v2/sha512/%02x/%02x/%016llx",
							 rndn(256), rndn(256), (unsigned long long)rnd());
						write_file(&w, p1, 1000 + rndn(200000));
						rename_op(&w, p1, p2);
					} else if (r < 92) {
						snprintf(p1, sizeof(p1), "/app/node_modules/.cache/%s/%08x", pk, (unsigned)rnd());
						path_op(&w, LP_SC_UNLINKAT, p1, 0, 0);
					} else if (r < 95) {
						snprintf(p1, sizeof(p1), "/usr/local/lib/node_modules/npm/node_modules/%s/%s", pk, f);
						read_file(&w, p1, 300 + rndn(30000));
					} else if (r < 97) {
						fd_op(&w, LP_SC_DUP3, 3 + (int)rndn(20));
					} else {
						snprintf(p1, sizeof(p1), "/app/%s", ctx[rndn(NCTX)]);
						read_file(&w, p1, 300 + rndn(20000));
					}
				}
				ev_exit(&w, 0);
			}
			/* fill the rest of the step's share in sh */
			while (g_records < until) {
				snprintf(p1, sizeof(p1), "/app/node_modules/%s/%s", pkg[rndn(NPKG)], files[rndn(NFILES)]);
				read_file(&sh, p1, 300 + rndn(6000));
			}
			ev_exit(&sh, 0);
			ev_exit(&runc, 0);
			/* a few output lines */
			for (int k = 0; k < 20; k++) {
				snprintf(line, sizeof(line), "#%d %.3f added %u packages from %u contributors in %us",
					 id, (double)(g_ts - t_start) / 1e9 * (k + 1) / 20, rndn(2000), rndn(900), rndn(90));
				ev_progress(5000, line);
			}
		} else {
			snprintf(p1, sizeof(p1), DR "/overlay2/%s/merged/app", upper[si % 6]);
			path_op(&dockerd, LP_SC_MKDIRAT, p1, 0755, 0);
			while (g_records < until)
				fd_op(&dockerd, LP_SC_FDATASYNC, 20 + (int)rndn(5));
		}
		snprintf(line, sizeof(line), "#%d DONE %.1fs", id, (double)(g_ts - t_start) / 1e9);
		ev_progress(5000, line);
	}

	/* export: tar walk of the new layers, layerdb, imagedb, bolt */
	ev_progress(5000, "#13 exporting to image");
	ev_progress(5000, "#13 exporting layers");
	for (uint64_t i = 0; g_records < T; i++) {
		uint32_t r = rndn(100);
		if (r < 80) {
			snprintf(p1, sizeof(p1), DR "/overlay2/%s/diff/app/node_modules/%s/%s",
				 upper[rndn(6)], pkg[rndn(NPKG)], files[rndn(NFILES)]);
			read_file(&dockerd, p1, 300 + rndn(60000));
		} else if (r < 90) {
			snprintf(p1, sizeof(p1), DR "/image/overlay2/layerdb/tmp/write-set-%u/diff", rndn(1000000000));
			write_file(&dockerd, p1, 71);
			fd_op(&dockerd, LP_SC_FSYNC, 20);
		} else if (r < 95) {
			snprintf(p1, sizeof(p1), DR "/image/overlay2/layerdb/tmp/write-set-%u", rndn(1000000000));
			snprintf(p2, sizeof(p2), DR "/image/overlay2/layerdb/sha256/%016llx%016llx",
				 (unsigned long long)rnd(), (unsigned long long)rnd());
			rename_op(&dockerd, p1, p2);
		} else {
			fd_op(&dockerd, LP_SC_FDATASYNC, 15);
		}
	}
	ev_progress(5000, "#13 exporting layers 12.3s done");
	ev_progress(5000, "#13 writing image sha256:5e7fdce6c986b8449b9d23abd5f349d96dd77f37a7d0d8f7732d7d5aa29e0a83 done");
	ev_progress(5000, "#13 naming to docker.io/library/app done");
	ev_progress(5000, "#13 DONE 12.4s");
	ev_exit(&cli, 0);

	char trailer[1024];
	snprintf(trailer, sizeof(trailer),
		 "{\"schema\":\"layerprof.trailer/1\",\"end_monotonic_ns\":%llu,\"duration_ns\":%llu,"
		 "\"records\":%llu,\"events\":%llu,\"malformed_events\":0,\"redacted_argv\":0,"
		 "\"dropped_argv\":0,\"progress_lines\":0,\"bytes\":%llu,\"lost\":{\"total\":0,"
		 "\"by_reason\":{\"ringbuf\":0,\"inflight\":0,\"fdio\":0,\"traced\":0,\"counts\":0},"
		 "\"by_cpu\":[0,0]},\"writer\":{\"stalls\":0,\"invalid\":0},\"ended_by\":\"command-exit\","
		 "\"command\":{\"pid\":5000,\"exited\":true,\"exit_code\":0,\"exit_monotonic_ns\":%llu},"
		 "\"command_status\":0}",
		 (unsigned long long)g_ts, (unsigned long long)(g_ts - 1000000000000ull),
		 (unsigned long long)g_records, (unsigned long long)g_records,
		 (unsigned long long)g_raw, (unsigned long long)g_ts);
	if (lp_writer_close(W, trailer, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen_trace: %s\n", err);
		return 1;
	}
	printf("%llu %llu\n", (unsigned long long)g_records, (unsigned long long)g_raw);
	return 0;
}
