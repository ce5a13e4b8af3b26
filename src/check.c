/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `layerprof check`: can this host run `layerprof record`, and if not, what
 * is missing? Every line is a measurement (probe.c loads and attaches tiny
 * programs), not a guess from the kernel version.
 *
 * Exit status: 0 when record can work, LP_EXIT_PRIVILEGE without root (or
 * CAP_BPF + CAP_PERFMON), LP_EXIT_KERNEL when a required kernel feature is
 * missing. Docker findings are advice and never change the status.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "cmdline.h"
#include "commands.h"
#include "exitcode.h"
#include "layerprof/abi.h"
#include "loader.h"
#include "probe.h"
#include "util.h"
#include "version.h"

enum status {
	ST_OK,       /* works */
	ST_MISSING,  /* required and missing: record cannot work */
	ST_WARN,     /* works, with a caveat worth fixing */
	ST_INFO,     /* for information */
	ST_OPTIONAL, /* optional feature, absent */
	ST_UNKNOWN,  /* cannot tell (needs root) */
};

static const char *status_word(enum status s)
{
	switch (s) {
	case ST_OK: return "ok";
	case ST_MISSING: return "MISSING";
	case ST_WARN: return "warning";
	case ST_INFO: return "info";
	case ST_OPTIONAL: return "no";
	default: return "unknown";
	}
}

static const char *status_json(enum status s)
{
	switch (s) {
	case ST_OK: return "ok";
	case ST_MISSING: return "missing";
	case ST_WARN: return "warning";
	case ST_INFO: return "info";
	case ST_OPTIONAL: return "optional";
	default: return "unknown";
	}
}

struct row {
	char name[40];
	enum status st;
	int exit_code;        /* what a MISSING row makes check exit with */
	char detail[400];
};

struct report {
	struct row rows[48];
	size_t n;
	const char *attach;   /* kind record would use for process events */
	const char *syscalls; /* and for syscalls: "raw_tp" or "tp" */
};

static struct row *add(struct report *r, const char *name, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct row *add(struct report *r, const char *name, enum status st, const char *fmt, ...)
{
	if (r->n >= LP_ARRAY_SIZE(r->rows))
		return &r->rows[r->n - 1];
	struct row *w = &r->rows[r->n++];
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->st = st;
	w->exit_code = LP_EXIT_KERNEL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
	va_end(ap);
	return w;
}

/* ------------------------------------------------------------ helpers */

/* Find an executable by name in PATH and the usual system directories. */
static bool find_exe(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		 path && *path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", d, name);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0 &&
		    strlen(p) < len) {
			memcpy(out, p, strlen(p) + 1);
			return true;
		}
	}
	return false;
}

/* Pids of processes whose comm is exactly `comm` (at most max). */
static size_t pids_by_comm(const char *comm, int *pids, size_t max, size_t *total)
{
	size_t n = 0;
	*total = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char p[300], c[64];
		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(c, sizeof(c), f)) {
			c[strcspn(c, "\n")] = 0;
			if (!strcmp(c, comm)) {
				if (n < max)
					pids[n++] = atoi(e->d_name);
				(*total)++;
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Run `exe --version` (3 s at most) and return its first line. */
static bool run_version(const char *exe, char *out, size_t len)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 2);
		}
		execl(exe, exe, "--version", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	size_t got = 0;
	out[0] = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = 3000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		struct pollfd pf = { .fd = fds[0], .events = POLLIN };
		if (poll(&pf, 1, (int)left) <= 0)
			break;
		ssize_t k = read(fds[0], out + got, len - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		if (got >= len - 1)
			break;
	}
	out[got] = 0;
	close(fds[0]);
	int st;
	if (waitpid(pid, &st, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	out[strcspn(out, "\n")] = 0;
	return got > 0;
}

static bool buildx_plugin(char *out, size_t len)
{
	char dirs[6][512];
	size_t n = 0;
	const char *dc = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	if (dc && *dc)
		snprintf(dirs[n++], sizeof(dirs[0]), "%s/cli-plugins", dc);
	if (home && *home)
		snprintf(dirs[n++], sizeof(dirs[0]), "%s/.docker/cli-plugins", home);
	snprintf(dirs[n++], sizeof(dirs[0]), "/usr/local/lib/docker/cli-plugins");
	snprintf(dirs[n++], sizeof(dirs[0]), "/usr/local/libexec/docker/cli-plugins");
	snprintf(dirs[n++], sizeof(dirs[0]), "/usr/lib/docker/cli-plugins");
	snprintf(dirs[n++], sizeof(dirs[0]), "/usr/libexec/docker/cli-plugins");
	for (size_t i = 0; i < n; i++) {
		char p[600];
		if (snprintf(p, sizeof(p), "%s/docker-buildx", dirs[i]) >= (int)sizeof(p))
			continue;
		if (access(p, X_OK) == 0 && strlen(p) < len) {
			memcpy(out, p, strlen(p) + 1);
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ checks */

static bool check_host(struct report *r, bool *privileged)
{
	struct lp_privs pv;
	lp_probe_privs(&pv);
	*privileged = pv.enough;
	if (pv.root)
		add(r, "privileges", ST_OK, "running as root (euid 0)");
	else if (pv.enough)
		add(r, "privileges", ST_OK, "not root, but has %s",
		    pv.cap_sys_admin ? "CAP_SYS_ADMIN" : "CAP_BPF and CAP_PERFMON");
	else
		add(r, "privileges", ST_MISSING,
		    "not root and no CAP_BPF+CAP_PERFMON: record must run with sudo")
			->exit_code = LP_EXIT_PRIVILEGE;

	char rel[128];
	unsigned v = lp_probe_kernel_version(rel, sizeof(rel));
	if (v && v < LP_KERNEL_MIN)
		add(r, "kernel", ST_MISSING, "%s: Linux >= 5.8 is needed (BTF, ring buffer)", rel);
	else
		add(r, "kernel", ST_OK, "%s (>= 5.8 needed)", rel);

	if (lp_probe_btf())
		add(r, "BTF", ST_OK, "%s", LP_BTF_VMLINUX);
	else
		add(r, "BTF", ST_MISSING,
		    "no %s: the kernel needs CONFIG_DEBUG_INFO_BTF=y", LP_BTF_VMLINUX);
	return true;
}

/* Where tracefs is mounted according to /proc/self/mounts (static), or NULL. */
static const char *tracefs_in_mounts(void)
{
	static char where[256];
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f)
		return NULL;
	char line[1024];
	const char *found = NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		char dev[256], dir[256], type[64];
		if (sscanf(line, "%255s %255s %63s", dev, dir, type) == 3 && !strcmp(type, "tracefs")) {
			memcpy(where, dir, sizeof(where));
			found = where;
		}
	}
	fclose(f);
	return found;
}

static const char *check_bpf(struct report *r, bool privileged, const char **tracefs,
			     bool *we_mounted)
{
	*tracefs = NULL;
	*we_mounted = false;
	if (!privileged) {
		add(r, "bpf() syscall", ST_UNKNOWN, "needs root to test");
		add(r, "ring buffer map", ST_UNKNOWN, "needs root to test");
	} else {
		int e = lp_probe_bpf_syscall();
		if (e)
			add(r, "bpf() syscall", ST_MISSING, "cannot create a BPF map: %s%s", strerror(-e),
			    e == -EPERM ? " (a container without privileges, or lockdown?)" : "")
				->exit_code = e == -EPERM ? LP_EXIT_PRIVILEGE : LP_EXIT_KERNEL;
		else
			add(r, "bpf() syscall", ST_OK, "maps and programs can be created");
		e = e ? e : lp_probe_ringbuf();
		if (e)
			add(r, "ring buffer map", ST_MISSING, "BPF_MAP_TYPE_RINGBUF: %s (Linux >= 5.8)",
			    strerror(-e));
		else
			add(r, "ring buffer map", ST_OK, "BPF_MAP_TYPE_RINGBUF");
	}

	bool mounted_now = false;
	int err = 0;
	const char *tfs = lp_tracefs(false, NULL, NULL);
	if (tfs) {
		add(r, "tracefs", ST_OK, "mounted at %s", tfs);
	} else if (privileged) {
		tfs = lp_tracefs(true, &mounted_now, &err);
		if (tfs)
			add(r, "tracefs", ST_OK, "was not mounted: mounted it at %s for this check (record does the same)",
			    tfs);
		else
			add(r, "tracefs", ST_MISSING,
			    "not mounted, and mounting it failed: %s (CONFIG_FTRACE?)", strerror(err));
	} else {
		const char *where = tracefs_in_mounts();
		if (where)
			add(r, "tracefs", ST_UNKNOWN, "mounted at %s, not readable without root", where);
		else
			add(r, "tracefs", ST_UNKNOWN, "not mounted; record mounts it when run as root");
	}
	*tracefs = tfs;
	*we_mounted = mounted_now;
	return tfs;
}

static void check_attach(struct report *r, bool privileged, const char *tracefs)
{
	static const struct {
		enum lp_probe_kind k;
		const char *name;
		bool required_group; /* one of the process-event kinds */
	} kinds[] = {
		{ LP_PROBE_TP_BTF, "attach tp_btf", true },
		{ LP_PROBE_RAW_TP, "attach raw_tp", true },
		{ LP_PROBE_TP, "attach tp", true },
		{ LP_PROBE_KPROBE, "attach kprobe", false },
		{ LP_PROBE_FENTRY, "attach fentry", false },
	};
	const char *used = NULL;
	for (size_t i = 0; i < LP_ARRAY_SIZE(kinds); i++) {
		if (!privileged) {
			add(r, kinds[i].name, ST_UNKNOWN, "needs root to test%s",
			    kinds[i].required_group ? "" : " (optional, not required)");
			continue;
		}
		char why[128];
		int e = lp_probe_attach(kinds[i].k, tracefs, why, sizeof(why));
		const char *kn = lp_probe_kind_name(kinds[i].k);
		if (!kinds[i].required_group) {
			if (e == 0 && kinds[i].k == LP_PROBE_FENTRY)
				add(r, kinds[i].name, ST_OK, "works: record puts the file I/O path on it "
				    "(optional, not required)");
			else if (e == 0)
				add(r, kinds[i].name, ST_OK, "works (optional, not required: layerprof does "
				    "not use it)");
			else
				add(r, kinds[i].name, ST_OPTIONAL, "%s (optional, not required)", why);
			continue;
		}
		if (e == 0 && !used) {
			used = kn;
			add(r, kinds[i].name, ST_OK, "works: used for fork/exec/exit");
		} else if (e == 0) {
			add(r, kinds[i].name, ST_OK, "works (fallback, not needed here)");
		} else {
			add(r, kinds[i].name, used ? ST_INFO : ST_OPTIONAL, "%s (%s)", why,
			    kinds[i].k == LP_PROBE_TP ? "last fallback" : "a fallback is tried");
		}
	}
	r->attach = used;
	if (privileged && !used)
		add(r, "process events", ST_MISSING,
		    "no attach kind works for sched_process_fork/exec/exit");
}

/* Which syscall attach mode record would use (loader.c): raw_tp
 * sys_enter + sys_exit when they attach, else a tracepoint per syscall. */
static void check_syscall_attach(struct report *r, bool privileged)
{
	size_t n = 0;
#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3) n++;
#include "layerprof/syscalls.def"
#undef LP_SYSCALL
	if (lp_loader_syscalls_wanted() == LP_ATTACH_TP) {
		const char *f = getenv("LAYERPROF_FORCE_SYSCALLS");
		const char *why = f && !strcmp(f, "tp") ? "LAYERPROF_FORCE_SYSCALLS=tp"
				  : getenv("LAYERPROF_FORCE_ATTACH") ? "LAYERPROF_FORCE_ATTACH=tp"
								     : "no x86-64 syscall numbers in this build";
		add(r, "syscall attach", ST_INFO, "tp: one tracepoint per syscall and direction (%s)", why);
		r->syscalls = "tp";
		return;
	}
	if (!privileged) {
		add(r, "syscall attach", ST_UNKNOWN, "needs root to test (raw_tp sys_enter/sys_exit, "
		    "else one tracepoint per syscall)");
		return;
	}
	char why[128];
	if (lp_probe_raw_syscalls(why, sizeof(why)) == 0) {
		/* the BTF-typed pair where tp_btf works (loader.c) */
		bool btf = r->attach && !strcmp(r->attach, "tp_btf") &&
			   !(getenv("LAYERPROF_FORCE_SYSCALLS") &&
			     !strcmp(getenv("LAYERPROF_FORCE_SYSCALLS"), "raw_tp"));
		add(r, "syscall attach", ST_OK, "%s sys_enter + sys_exit: 2 programs for all %zu "
		    "traced syscalls", btf ? "tp_btf" : "raw_tp", n);
		r->syscalls = btf ? "tp_btf" : "raw_tp";
	} else {
		add(r, "syscall attach", ST_WARN, "raw_tp sys_enter/sys_exit: %s; record falls back to "
		    "one tracepoint per syscall (a higher cost per syscall)", why);
		r->syscalls = "tp";
	}
}

/* ---- what record's hooks cost on this host, measured ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Many short rounds, the best kept: a round of 1,000 calls (well under a
 * millisecond) mostly runs without being preempted even on a busy host,
 * where rounds of 100,000 calls all were and the "cost" was the load's. */
#define COST_CALLS 1000
#define COST_ROUNDS 200

/* Best of COST_ROUNDS: ns per call of getppid() (a syscall record does not
 * trace) or of a 1-byte read() of fd (one it aggregates). One round first,
 * untimed: the first calls of a process pay for cold caches and page
 * faults, and a baseline taken cold reads as a hook cost below zero. */
static double ns_per_call(bool rd, int fd)
{
	double best = 0;
	for (int k = -1; k < COST_ROUNDS; k++) {
		char c;
		uint64_t t0 = now_ns();
		for (int i = 0; i < COST_CALLS; i++)
			if (rd)
				(void)!read(fd, &c, 1);
			else
				(void)getppid();
		double v = (double)(now_ns() - t0) / COST_CALLS;
		if (k == 0 || (k > 0 && v < best))
			best = v;
	}
	return best;
}

/* "+212 ns per syscall (getppid 188 -> 401 ns)": a cost, or, when the
 * calls with the hooks were no slower (the host's noise is larger than the
 * cost), that nothing was measured -- never a negative cost. */
static void cost_text(char *buf, size_t len, const char *what, const char *call, double base, double hooked)
{
	if (hooked > base)
		snprintf(buf, len, "+%.0f ns per %s (%s %.0f -> %.0f ns)", hooked - base, what, call, base, hooked);
	else
		snprintf(buf, len, "no cost measured per %s (%s %.0f -> %.0f ns: within this host's noise)", what,
			 call, base, hooked);
}

/* A child that waits for a byte on go, then writes its ns per read. */
static pid_t reader_child(int go[2], int res[2], int fd)
{
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(go[1]);
		close(res[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		double v = ns_per_call(true, fd);
		(void)!write(res[1], &v, sizeof(v));
		_exit(0);
	}
	return c;
}

/* ns per read in a child process, traced by l (NULL: no recording). */
static double child_ns_per_read(struct lp_loader *l, int fd)
{
	int go[2], res[2];
	if (pipe(go) < 0)
		return -1;
	if (pipe(res) < 0) {
		close(go[0]);
		close(go[1]);
		return -1;
	}
	pid_t c = reader_child(go, res, fd);
	close(go[0]);
	close(res[1]);
	double v = -1;
	if (c > 0 && (!l || lp_loader_trace_pid(l, (uint32_t)c) == 0) && write(go[1], "g", 1) == 1 &&
	    read(res[0], &v, sizeof(v)) != sizeof(v))
		v = -1;
	close(go[1]);
	close(res[0]);
	if (c > 0)
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
	return v;
}

/*
 * Load record's own programs the way record does (so the path reported is
 * the one it will take here, not a guess), and time a few calls with and
 * without them: what every process of the host pays per syscall while a
 * recording runs, and what a traced process pays per read.
 */
static void check_hook_cost(struct report *r, bool privileged)
{
	if (!privileged) {
		add(r, "file I/O path", ST_UNKNOWN, "needs root to load record's programs");
		return;
	}
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		add(r, "hook cost", ST_UNKNOWN, "cannot open /dev/zero: %s", strerror(errno));
		return;
	}
	double base_sys = ns_per_call(false, fd), base_rd = ns_per_call(true, fd);
	double base_child = child_ns_per_read(NULL, fd);
	char err[512] = "";
	int code = 0;
	struct lp_loader_opts o = { .self_tgid = 0 };
	struct lp_loader *l = lp_loader_open(&o, NULL, NULL, err, sizeof(err), &code);
	if (!l) {
		add(r, "file I/O path", ST_WARN, "record's programs did not load: %s", err);
		close(fd);
		return;
	}
	const struct lp_features *f = lp_loader_features(l);
	if (f->fentry_syscalls)
		add(r, "file I/O path", ST_OK, "fentry/fexit on __x64_sys_* for %u syscalls (open, "
		    "read/write, close); the other %u through %s (record's programs loaded in %u ms)",
		    f->fentry_syscalls, f->syscalls_attached - f->fentry_syscalls,
		    lp_syscall_hooks_name(f->syscalls), f->load_ms);
	else
		add(r, "file I/O path", ST_OK, "through %s with the other syscalls (fentry %s; "
		    "record's programs loaded in %u ms)",
		    lp_syscall_hooks_name(f->syscalls),
		    lp_probe_load(LP_PROBE_FENTRY, NULL, err, sizeof(err)) ? err : "loads but did not attach",
		    f->load_ms);
	double hook_sys = ns_per_call(false, fd), hook_rd = ns_per_call(true, fd);
	double traced_rd = child_ns_per_read(l, fd);
	lp_loader_close(l);
	/* the baselines once more, after: the better of before and after, so
	 * that the host getting busier or quieter meanwhile does not read as
	 * the hooks' cost */
	double v;
	if ((v = ns_per_call(false, fd)) < base_sys)
		base_sys = v;
	if ((v = ns_per_call(true, fd)) < base_rd)
		base_rd = v;
	if ((v = child_ns_per_read(NULL, fd)) > 0 && (base_child <= 0 || v < base_child))
		base_child = v;
	close(fd);
	char any_sys[160], any_rd[160], traced[160];
	cost_text(any_sys, sizeof(any_sys), "syscall", "getppid", base_sys, hook_sys);
	cost_text(any_rd, sizeof(any_rd), "read", "read", base_rd, hook_rd);
	if (base_child > 0 && traced_rd > 0)
		cost_text(traced, sizeof(traced), "read", "read", base_child, traced_rd);
	else
		snprintf(traced, sizeof(traced), "not measured (the child reader failed)");
	add(r, "hook cost", ST_INFO, "while recording, any process: %s, %s; a traced process: %s "
	    "(best of %d x %d calls)", any_sys, any_rd, traced, COST_ROUNDS, COST_CALLS);
}

/* The per-syscall tracepoints: what record uses in the tp mode, and only
 * a fallback in the raw_tp mode (then their absence is not a problem). */
static void check_syscalls(struct report *r, const char *tracefs, bool privileged)
{
	bool fallback_only = r->syscalls && !strcmp(r->syscalls, "raw_tp");
	static const char *const tps[] = {
#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3) #TP,
#include "layerprof/syscalls.def"
#undef LP_SYSCALL
	};
	size_t n = LP_ARRAY_SIZE(tps), have = 0;
	char missing[400] = "";
	if (!tracefs) {
		add(r, "syscall tracepoints", !privileged ? ST_UNKNOWN : fallback_only ? ST_INFO : ST_MISSING,
		    "%s", privileged ? "tracefs is missing" : "needs root to read tracefs");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char en[96], ex[96];
		snprintf(en, sizeof(en), "sys_enter_%s", tps[i]);
		snprintf(ex, sizeof(ex), "sys_exit_%s", tps[i]);
		if (lp_tracepoint_exists(tracefs, "syscalls", en) &&
		    lp_tracepoint_exists(tracefs, "syscalls", ex)) {
			have++;
		} else {
			size_t l = strlen(missing);
			snprintf(missing + l, sizeof(missing) - l, "%s%s", l ? ", " : "", tps[i]);
		}
	}
	if (have == n)
		add(r, "syscall tracepoints", ST_OK, "all %zu of syscalls.def present%s", n,
		    fallback_only ? " (for the tp fallback)" : "");
	else if (fallback_only)
		add(r, "syscall tracepoints", ST_INFO, "%zu of %zu present, only the tp fallback needs "
		    "them; it would skip: %s", have, n, have ? missing : "all");
	else if (have)
		add(r, "syscall tracepoints", ST_WARN, "%zu of %zu present; record skips: %s", have, n,
		    missing);
	else
		add(r, "syscall tracepoints", ST_MISSING,
		    "none of events/syscalls/sys_*: the kernel needs CONFIG_FTRACE_SYSCALLS=y");
}

static void check_daemons(struct report *r)
{
	static const struct {
		const char *name;
		bool needed;
		const char *absent;
	} ds[] = {
		{ "dockerd", true, "record -- docker build needs a docker daemon" },
		{ "containerd", false, "dockerd starts its own when needed" },
		{ "buildkitd", false, "optional: dockerd has BuildKit built in" },
	};
	for (size_t i = 0; i < LP_ARRAY_SIZE(ds); i++) {
		char exe[512] = "";
		bool have = find_exe(ds[i].name, exe, sizeof(exe));
		int pids[6];
		size_t total = 0;
		size_t np = pids_by_comm(ds[i].name, pids, LP_ARRAY_SIZE(pids), &total);
		char running[128] = "";
		for (size_t k = 0; k < np; k++) {
			size_t l = strlen(running);
			snprintf(running + l, sizeof(running) - l, "%s%d", k ? " " : "", pids[k]);
		}
		if (total > np) {
			size_t l = strlen(running);
			snprintf(running + l, sizeof(running) - l, " (+%zu)", total - np);
		}
		if (np)
			add(r, ds[i].name, ST_OK, "%s, running: pid %s", have ? exe : "binary not in PATH",
			    running);
		else if (have)
			add(r, ds[i].name, ds[i].needed ? ST_WARN : ST_INFO, "%s, not running%s%s", exe,
			    ds[i].needed ? ": " : "", ds[i].needed ? ds[i].absent : "");
		else
			add(r, ds[i].name, ds[i].needed ? ST_WARN : ST_INFO, "not installed (%s)",
			    ds[i].absent);
	}
}

static int major_of(const char *version_line, char *ver, size_t len)
{
	/* "Docker version 20.10.24+dfsg1, build 297e128" */
	const char *p = strstr(version_line, "version ");
	p = p ? p + 8 : version_line;
	size_t n = strcspn(p, ", ");
	if (n >= len)
		n = len - 1;
	memcpy(ver, p, n);
	ver[n] = 0;
	return atoi(ver);
}

static void check_docker_cli(struct report *r)
{
	const char *cands[3];
	size_t nc = 0;
	char inpath[512] = "";
	if (find_exe("docker", inpath, sizeof(inpath)))
		cands[nc++] = inpath;
	static const char *const fixed[] = { "/usr/bin/docker", "/usr/local/bin/docker" };
	for (size_t i = 0; i < LP_ARRAY_SIZE(fixed); i++) {
		bool dup = false;
		for (size_t k = 0; k < nc; k++) {
			char a[4096], b[4096];
			if (realpath(cands[k], a) && realpath(fixed[i], b) && !strcmp(a, b))
				dup = true;
		}
		if (!dup && access(fixed[i], X_OK) == 0)
			cands[nc++] = fixed[i];
	}
	if (!nc) {
		add(r, "docker CLI", ST_WARN, "no docker client found: record -- docker build needs one");
		return;
	}
	char plugin[600] = "";
	bool buildx = buildx_plugin(plugin, sizeof(plugin));
	const char *good = NULL;
	for (size_t i = 0; i < nc; i++) {
		char name[64], line[256], ver[64] = "?";
		snprintf(name, sizeof(name), "docker CLI%s", i == 0 && inpath[0] ? " (PATH)" : "");
		if (!run_version(cands[i], line, sizeof(line))) {
			add(r, name, ST_WARN, "%s: '--version' failed", cands[i]);
			continue;
		}
		int major = major_of(line, ver, sizeof(ver));
		if (major > 0 && major < 23) {
			add(r, name, ST_OK, "%s %s: BuildKit builds with DOCKER_BUILDKIT=1", cands[i], ver);
			if (!good)
				good = cands[i];
		} else if (buildx) {
			add(r, name, ST_OK, "%s %s: BuildKit through buildx (%s)", cands[i], ver, plugin);
			if (!good)
				good = cands[i];
		} else {
			add(r, name, ST_WARN, "%s %s has no buildx plugin: it cannot run BuildKit builds%s",
			    cands[i], ver, "");
		}
	}
	if (good && nc > 1)
		add(r, "docker for record", ST_INFO, "use %s (e.g. DOCKER_BUILDKIT=1 %s build ...)", good,
		    good);
	else if (!good)
		add(r, "docker for record", ST_WARN,
		    "no client can run BuildKit builds: install buildx or a 20.10 docker client");
}


/* ------------------------------------------------------------ engine */

/* GET PATH from the Docker API on a unix socket (HTTP/1.0: no chunking, the
 * daemon closes). The JSON body, or NULL (no answer, not HTTP, not 200). */
static cJSON *docker_get(const char *sock, const char *path, bool *not_http)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof(a.sun_path))
		return NULL;
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cJSON *j = NULL;
	char req[128];
	int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: docker\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, req, (size_t)rl) == rl) {
		size_t cap = 1 << 18, n = 0;
		char *buf = lp_xcalloc(1, cap + 1);
		ssize_t k;
		while (n < cap && (k = read(fd, buf + n, cap - n)) > 0)
			n += (size_t)k;
		buf[n] = 0;
		char *body = strstr(buf, "\r\n\r\n");
		if (strncmp(buf, "HTTP/1.", 7) != 0)
			*not_http = n > 0;
		else if (body && !strncmp(buf + 8, " 200", 4))
			j = cJSON_Parse(body + 4);
		free(buf);
	}
	close(fd);
	return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The buildx builder BUILDX_BUILDER names: its driver from
 * $DOCKER_CONFIG/buildx/instances/NAME. */
static bool buildx_builder(char *name, size_t nlen, char *driver, size_t dlen)
{
	const char *b = getenv("BUILDX_BUILDER"), *cfg = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	if (!b || !*b || strchr(b, '/'))
		return false;
	snprintf(name, nlen, "%s", b);
	snprintf(driver, dlen, "?");
	char path[1024];
	if (cfg && *cfg)
		snprintf(path, sizeof(path), "%s/buildx/instances/%s", cfg, b);
	else
		snprintf(path, sizeof(path), "%s/.docker/buildx/instances/%s", home ? home : "/root", b);
	FILE *f = fopen(path, "r");
	if (f) {
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
		cJSON *j = cJSON_Parse(buf);
		if (j && *jstr(j, "Driver"))
			snprintf(driver, dlen, "%s", jstr(j, "Driver"));
		cJSON_Delete(j);
	}
	return true;
}

/* The engine DOCKER_HOST (or the default socket) names: which daemon and
 * version, its storage mode, the builder, and what layerprof supports of it
 * (README "Engines", tests/engines/run.sh). */
static void check_engine(struct report *r)
{
	const char *host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///var/run/docker.sock";
	char bname[128], bdriver[64];
	bool have_builder = buildx_builder(bname, sizeof(bname), bdriver, sizeof(bdriver));
	if (strncmp(host, "unix://", 7) != 0) {
		add(r, "engine", ST_INFO, "DOCKER_HOST=%s: only unix:// sockets are checked", host);
		return;
	}
	bool not_http = false;
	cJSON *ver = docker_get(host + 7, "/version", &not_http);
	if (!ver) {
		if (have_builder && !strcmp(bdriver, "remote"))
			add(r, "engine", ST_WARN,
			    "buildx builder %s (remote driver, standalone buildkitd): partly supported: "
			    "steps, cache flags and findings from the progress stream; RUN processes, "
			    "context changes and COPY writes are not attributed yet",
			    bname);
		else
			add(r, "engine", ST_INFO, "%s: %s", host,
			    not_http ? "not a Docker API (a BuildKit socket?); set BUILDX_BUILDER to check the builder"
				     : "no daemon answers");
		return;
	}
	bool not_http2 = false;
	cJSON *info = docker_get(host + 7, "/info", &not_http2);
	const char *v = jstr(ver, "Version"), *api = jstr(ver, "ApiVersion");
	const char *drv = info ? jstr(info, "Driver") : "?";
	bool snapshotter = false;
	const cJSON *ds = info ? cJSON_GetObjectItemCaseSensitive(info, "DriverStatus") : NULL;
	const cJSON *e;
	cJSON_ArrayForEach(e, ds)
	{
		const cJSON *k = cJSON_GetArrayItem(e, 0), *val = cJSON_GetArrayItem(e, 1);
		if (cJSON_IsString(k) && cJSON_IsString(val) && !strcmp(k->valuestring, "driver-type") &&
		    strstr(val->valuestring, "snapshotter"))
			snapshotter = true;
	}
	int major = atoi(v);
	char builder[256];
	if (have_builder)
		snprintf(builder, sizeof(builder), "buildx builder %s (%s driver)", bname, bdriver);
	else if (major >= 23)
		snprintf(builder, sizeof(builder), "BuildKit in dockerd through buildx (docker driver)");
	else
		snprintf(builder, sizeof(builder), "BuildKit embedded in dockerd");
	enum status st = ST_OK;
	const char *support;
	if (have_builder && strcmp(bdriver, "docker") != 0) {
		st = ST_WARN;
		support = "partly supported: this builder is not the daemon's own (not tested)";
	} else if (snapshotter) {
		st = ST_WARN;
		support = "partly supported: findings and cache facts right; COPY writes (containerd "
			  "snapshots) are not attributed yet";
	} else if (!strcmp(drv, "overlay2")) {
		support = major >= 23 ? "supported (tested: docker 28.4)" : "supported (tested: docker 20.10)";
	} else {
		st = ST_WARN;
		support = "not tested with this storage driver";
	}
	add(r, "engine", st, "dockerd %s (API %s) at %s; storage %s%s; %s: %s", v, api, host, drv,
	    snapshotter ? " (containerd image store)" : " (graphdriver)", builder, support);
	cJSON_Delete(ver);
	cJSON_Delete(info);
}

/* ------------------------------------------------------------ output */

static void print_table(const struct report *r, FILE *out)
{
	fprintf(out, "layerprof %s: can this host run 'layerprof record'?\n\n", LAYERPROF_VERSION);
	fprintf(out, "  %-22s %-8s %s\n", "CHECK", "STATUS", "DETAIL");
	for (size_t i = 0; i < r->n; i++)
		fprintf(out, "  %-22s %-8s %s\n", r->rows[i].name, status_word(r->rows[i].st),
			r->rows[i].detail);
	fputc('\n', out);
}

static void print_json(const struct report *r, int code, FILE *out)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "schema", "layerprof.check/1");
	cJSON_AddStringToObject(o, "version", LAYERPROF_VERSION);
	cJSON_AddBoolToObject(o, "record_ready", code == LP_EXIT_OK);
	cJSON_AddNumberToObject(o, "exit_status", code);
	if (r->attach)
		cJSON_AddStringToObject(o, "process_attach", r->attach);
	else
		cJSON_AddNullToObject(o, "process_attach");
	if (r->syscalls)
		cJSON_AddStringToObject(o, "syscall_attach", r->syscalls);
	else
		cJSON_AddNullToObject(o, "syscall_attach");
	cJSON *a = cJSON_AddArrayToObject(o, "checks");
	for (size_t i = 0; i < r->n; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", r->rows[i].name);
		cJSON_AddStringToObject(c, "status", status_json(r->rows[i].st));
		cJSON_AddStringToObject(c, "detail", r->rows[i].detail);
		cJSON_AddItemToArray(a, c);
	}
	char *s = cJSON_Print(o);
	if (s) {
		fprintf(out, "%s\n", s);
		free(s);
	}
	cJSON_Delete(o);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: layerprof check [--json]\n"
		"\n"
		"Tell whether this host can run 'layerprof record': privileges, kernel,\n"
		"BTF, the bpf() syscall, the ring buffer, tracefs, each BPF attach kind\n"
		"(tp_btf, raw_tp, tp for process events; kprobe and fentry are optional),\n"
		"the syscall attach mode (raw_tp sys_enter/sys_exit, else one tracepoint\n"
		"per syscall), the syscall tracepoints, the file I/O path record will take\n"
		"(fentry/fexit where the kernel allows it) and what its hooks cost here\n"
		"(record's programs loaded, a few syscalls timed with and without them),\n"
		"the docker daemons and client.\n"
		"Features are probed by loading and attaching tiny BPF programs; run it\n"
		"as root for the full picture (it mounts tracefs if it is missing).\n"
		"\n"
		"  --json       machine-readable output (schema layerprof.check/1)\n"
		"  -h, --help   this help\n"
		"\n"
		"Exit status: 0 when record can work here, 4 when privileges are missing,\n"
		"5 when the kernel lacks a required feature.\n");
}

int cmd_check(int argc, char **argv)
{
	bool json = false;
	const struct lp_cmdline_flag flags[] = { { "json", 'j', &json } };
	int rc = lp_cmdline_flags("check", argc, argv, flags, LP_ARRAY_SIZE(flags), usage);
	if (rc >= 0)
		return rc;
	if (optind < argc) {
		lp_error("check: unexpected argument '%s'; see 'layerprof check --help'", argv[optind]);
		return LP_EXIT_USAGE;
	}

	struct report *r = lp_xcalloc(1, sizeof(*r));
	bool privileged = false;
	const char *tracefs = NULL;
	bool we_mounted = false;
	check_host(r, &privileged);
	check_bpf(r, privileged, &tracefs, &we_mounted);
	check_attach(r, privileged, tracefs);
	check_syscall_attach(r, privileged);
	check_syscalls(r, tracefs, privileged);
	check_hook_cost(r, privileged);
	lp_tracefs_release(tracefs, we_mounted); /* leave the host as we found it */
	check_daemons(r);
	check_docker_cli(r);
	check_engine(r);

	/* The verdict: privileges first (without them nothing else is sure). */
	int code = LP_EXIT_OK;
	const struct row *first = NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct row *w = &r->rows[i];
		if (w->st != ST_MISSING)
			continue;
		if (!first || (w->exit_code == LP_EXIT_PRIVILEGE && code != LP_EXIT_PRIVILEGE)) {
			first = w;
			code = w->exit_code;
		}
	}
	if (json)
		print_json(r, code, stdout);
	else
		print_table(r, stdout);
	if (code == LP_EXIT_OK) {
		if (!json)
			printf("record can run here (process events via %s, syscalls via %s).\n",
			       r->attach ? r->attach : "?", r->syscalls ? r->syscalls : "?");
	} else if (code == LP_EXIT_PRIVILEGE) {
		lp_error("check: record needs root (or CAP_BPF and CAP_PERFMON): run "
			 "'sudo layerprof check' for the full picture");
	} else {
		lp_error("check: this kernel cannot run 'layerprof record': %s: %s", first->name,
			 first->detail);
	}
	free(r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		lp_error("check: cannot write the output: %s", strerror(errno));
		return LP_EXIT_IO;
	}
	return code;
}
