/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layerprof record: trace a build (or the running daemons) into a trace file.
 *
 *   options -> loader (privileges and kernel checked first) -> daemons found
 *   in /proc -> docker build analysis (context, Dockerfile, .dockerignore)
 *   -> writer (META) -> seeds -> the command -> one epoll loop -> drain ->
 *   trailer -> summary.
 *
 * One thread (plus the writer's own background thread): epoll over the ring
 * buffer, the command's stdout/stderr pipes and a signalfd. The ring buffer
 * callback only redacts exec argv and appends to the writer.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "commands.h"
#include "dockerctx.h"
#include "event.h"
#include "exitcode.h"
#include "loader.h"
#include "otlp.h"
#include "procfs.h"
#include "rawjson.h"
#include "redact.h"
#include "shim.h"
#include "trace.h"
#include "util.h"
#include "version.h"

#include "record_int.h"

extern char **environ;

static const char *const default_daemons[] = {
	"dockerd", "buildkitd", "containerd", "containerd-shim", "runc",
};

static const char *const end_names[] = { "none", "command-exit", "signal", "duration", "error" };


/* ------------------------------------------------------------------ usage */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: layerprof record [-o FILE] [-p PID]... [--comm NAME]... [--no-daemons]\n"
		"                        [--duration SEC] [--ringbuf-size BYTES] [--user USER]\n"
		"                        [--no-redact] [--build-progress MODE]\n"
		"                        [--otlp-endpoint URL [--otlp-...]] [-v]\n"
		"                        [-- COMMAND [ARGS...]]\n"
		"\n"
		"Trace a build into FILE (default " LP_DEFAULT_TRACE ", mode 0600). With a COMMAND,\n"
		"trace it and the build daemons until it exits, and exit with its status.\n"
		"Without one, trace the daemons until Ctrl-C, SIGTERM or --duration.\n"
		"\n"
		"  -o, --output FILE        trace file to write (never through a symlink)\n"
		"  -p, --pid PID            also trace this process (and what it starts)\n"
		"      --comm NAME          also trace processes named NAME, now and when they start\n"
		"      --no-daemons         do not trace dockerd, buildkitd, containerd,\n"
		"                           containerd-shim, runc\n"
		"      --duration SEC       stop recording after this long (90, 90s, 5m, 250ms)\n"
		"      --ringbuf-size BYTES kernel ring buffer size, a power of two >= 4096\n"
		"                           (default 16MiB; 4k, 64MiB...)\n"
		"      --user USER          run COMMAND as this user (name or uid); under sudo\n"
		"                           the default is the invoking user, else root\n"
		"      --no-redact          keep secrets in recorded command lines\n"
		"      --build-progress MODE\n"
		"                           progress format asked of `docker build`: auto\n"
		"                           (default: rawjson when the CLI has it, for the\n"
		"                           engine's own step times; else plain), plain,\n"
		"                           or rawjson\n"
		"      --no-shim            do not put layerprof's docker shim first in the\n"
		"                           COMMAND's PATH (see below)\n"
		"  -v, --verbose            say more, show libbpf's messages, and where the\n"
		"                           start and stop time went (phases)\n"
		"  -h, --help               this help\n"
		"\n"
		"OpenTelemetry: when the trace is complete, send the build as an OTLP trace\n"
		"(the recording is over by then; a failed send is reported, the trace file is\n"
		"kept as it is and the exit status stays the command's):\n"
		"%s"
		"\n"
		"For `docker build` (also buildx build, image build, builder build), layerprof\n"
		"adds --progress=rawjson (buildx >= 0.13: docker CLI >= 23, or buildx build)\n"
		"or --progress=plain unless given, sets DOCKER_BUILDKIT=1 when unset, shows\n"
		"the output (rawjson as the plain lines it stands for), stamps each line with\n"
		"the kernel's clock, and records the Dockerfile and the build context's file\n"
		"list (after .dockerignore).\n"
		"\n"
		"Any other COMMAND (a script, make, docker-compose) finds a docker shim first\n"
		"in its PATH: each `docker build` it runs gets its own progress stream\n"
		"(--progress=plain added), its own context list and Dockerfile in the trace,\n"
		"so `report` shows every build apart (a session).\n"
		"\n"
		"Example: sudo layerprof record -o build.lprof -- docker build -t app .\n",
		lp_otlp_help);
}

/* ---------------------------------------------------------- small helpers */

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	cJSON_AddRawToObject(o, key, buf);
}

static void add_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

bool rec_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Is name runnable (as a shell would find it)? */
static bool command_exists(const char *name, int *err)
{
	*err = ENOENT;
	if (!*name)
		return false;
	if (strchr(name, '/')) {
		struct stat st;
		if (stat(name, &st) < 0) {
			*err = errno;
			return false;
		}
		if (S_ISDIR(st.st_mode)) {
			*err = EISDIR;
			return false;
		}
		return true; /* exec tells about permissions */
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *p = path;
	while (*p) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char full[PATH_MAX];
		if (n == 0)
			snprintf(full, sizeof(full), "./%s", name);
		else
			snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, name);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

/* ---------------------------------------------------------------- options */

enum {
	OPT_COMM = 256, OPT_NO_DAEMONS, OPT_DURATION, OPT_RINGBUF, OPT_USER, OPT_NO_REDACT,
	OPT_BUILD_PROGRESS, OPT_NO_SHIM,
};

static int parse_options(struct rec *r, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "no-daemons", no_argument, NULL, OPT_NO_DAEMONS },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
		{ "user", required_argument, NULL, OPT_USER },
		{ "no-redact", no_argument, NULL, OPT_NO_REDACT },
		{ "build-progress", required_argument, NULL, OPT_BUILD_PROGRESS },
		{ "no-shim", no_argument, NULL, OPT_NO_SHIM },
		LP_OTLP_LONGOPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* '+': stop at the first non-option, the command. */
	struct lp_cmdline cl = { "record", "+o:p:vh", longopts };
	while ((c = lp_cmdline_next(&cl, argc, argv)) != -1) {
		if (lp_otlp_is_opt(c)) {
			if (lp_otlp_opt(&r->otlp, "record", c, optarg) < 0)
				return LP_EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 'o':
			if (!*optarg) {
				lp_error("record: -o needs a file name");
				return LP_EXIT_USAGE;
			}
			r->out_path = optarg;
			break;
		case 'p': {
			char *end;
			errno = 0;
			unsigned long pid = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || pid == 0 || pid > INT32_MAX ||
			    optarg[0] == '-') {
				lp_error("record: -p wants a process id, not '%s'", optarg);
				return LP_EXIT_USAGE;
			}
			r->pids = lp_xrealloc(r->pids, (r->npids + 1) * sizeof(*r->pids));
			r->pids[r->npids++] = (uint32_t)pid;
			break;
		}
		case OPT_COMM:
			if (!*optarg) {
				lp_error("record: --comm needs a process name");
				return LP_EXIT_USAGE;
			}
			if (r->ncomms >= LP_MAX_COMMS - LP_ARRAY_SIZE(default_daemons)) {
				lp_error("record: at most %zu --comm names",
					 LP_MAX_COMMS - LP_ARRAY_SIZE(default_daemons));
				return LP_EXIT_USAGE;
			}
			r->comms[r->ncomms++] = optarg;
			break;
		case OPT_NO_DAEMONS:
			r->no_daemons = true;
			break;
		case OPT_DURATION:
			if (!lp_parse_duration_ms(optarg, &r->duration_ms) || r->duration_ms == 0) {
				lp_error("record: --duration wants a positive time (90, 90s, 5m, 250ms), "
					 "not '%s'", optarg);
				return LP_EXIT_USAGE;
			}
			break;
		case OPT_RINGBUF: {
			uint64_t v;
			if (!lp_parse_bytes(optarg, &v) || v < 4096 || v > MAX_RINGBUF ||
			    (v & (v - 1)) != 0) {
				lp_error("record: --ringbuf-size wants a power of two from 4096 to 1GiB "
					 "(4k, 16MiB...), not '%s'", optarg);
				return LP_EXIT_USAGE;
			}
			r->ringbuf = (uint32_t)v;
			break;
		}
		case OPT_USER:
			r->user = optarg;
			break;
		case OPT_NO_REDACT:
			r->redact = false;
			break;
		case OPT_NO_SHIM:
			r->no_shim = true;
			break;
		case OPT_BUILD_PROGRESS:
			if (!strcmp(optarg, "auto"))
				r->want_progress = PROGRESS_AUTO;
			else if (!strcmp(optarg, "plain"))
				r->want_progress = PROGRESS_PLAIN;
			else if (!strcmp(optarg, "rawjson"))
				r->want_progress = PROGRESS_RAWJSON;
			else {
				lp_error("record: --build-progress wants auto, plain or rawjson, not '%s'",
					 optarg);
				return LP_EXIT_USAGE;
			}
			break;
		case 'v':
			r->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default: /* LP_CMDLINE_ERROR, already reported */
			return LP_EXIT_USAGE;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	r->cmd_argc = argc - optind;
	r->cmd_argv = argv + optind;
	if (r->cmd_argc == 0 && r->user) {
		lp_error("record: --user applies to a COMMAND, and none was given");
		return LP_EXIT_USAGE;
	}
	if (r->cmd_argc == 0 && r->no_daemons && !r->npids && !r->ncomms) {
		lp_error("record: nothing to trace: give a COMMAND, -p PID or --comm NAME, "
			 "or drop --no-daemons");
		return LP_EXIT_USAGE;
	}
	for (size_t i = 0; i < r->npids; i++) {
		if (r->pids[i] == (uint32_t)getpid() || !lp_proc_exists(r->pids[i])) {
			lp_error("record: -p %u: no such process", r->pids[i]);
			return LP_EXIT_USAGE;
		}
	}
	return 0;
}

/* Who runs the command: --user, else the sudo caller, else ourselves. */
static int resolve_creds(struct rec *r)
{
	struct creds *c = &r->creds;
	const struct passwd *pw = NULL;
	if (r->user) {
		char *end;
		errno = 0;
		unsigned long uid = strtoul(r->user, &end, 10);
		if (*r->user && !*end && !errno && r->user[0] != '-') {
			pw = getpwuid((uid_t)uid);
			c->uid = (uid_t)uid;
			c->gid = pw ? pw->pw_gid : (gid_t)uid;
		} else {
			pw = getpwnam(r->user);
			if (!pw) {
				lp_error("record: --user %s: no such user", r->user);
				return LP_EXIT_USAGE;
			}
			c->uid = pw->pw_uid;
			c->gid = pw->pw_gid;
		}
	} else {
		const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
		if (!su || !*su || geteuid() != 0)
			return 0;
		char *end;
		unsigned long uid = strtoul(su, &end, 10);
		if (*end)
			return 0;
		c->uid = (uid_t)uid;
		pw = getpwuid(c->uid);
		unsigned long gid = sg ? strtoul(sg, &end, 10) : 0;
		c->gid = sg && !*end ? (gid_t)gid : pw ? pw->pw_gid : (gid_t)uid;
	}
	if (c->uid == geteuid() && c->gid == getegid() && !r->user)
		return 0;
	if (c->uid == 0 && (!r->user || geteuid() == 0) && c->gid == 0)
		return 0; /* root stays root */
	if (geteuid() != 0) {
		lp_error("record: --user needs root");
		return LP_EXIT_PRIVILEGE;
	}
	c->drop = true;
	if (pw) {
		c->name = lp_xstrdup(pw->pw_name);
		c->home = lp_xstrdup(pw->pw_dir);
		int n = 64;
		c->groups = lp_xcalloc((size_t)n, sizeof(gid_t));
		if (getgrouplist(pw->pw_name, c->gid, c->groups, &n) < 0) {
			c->groups = lp_xrealloc(c->groups, (size_t)n * sizeof(gid_t));
			if (getgrouplist(pw->pw_name, c->gid, c->groups, &n) < 0)
				n = 0;
		}
		c->ngroups = n;
	}
	return 0;
}

/* The command's environment: ours, with HOME/USER/LOGNAME of the user it
 * runs as and DOCKER_BUILDKIT=1 for a docker build when unset. Never
 * recorded. */
static void build_env(struct rec *r)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = lp_xcalloc(n + 5, sizeof(char *));
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];
		if (r->creds.drop && r->creds.name &&
		    (!strncmp(e, "HOME=", 5) || !strncmp(e, "USER=", 5) || !strncmp(e, "LOGNAME=", 8)))
			continue;
		env[j++] = lp_xstrdup(e);
	}
	if (r->creds.drop && r->creds.name) {
		struct lp_buf b = { 0 };
		lp_buf_printf(&b, "HOME=%s", r->creds.home);
		env[j++] = b.data;
		b = (struct lp_buf){ 0 };
		lp_buf_printf(&b, "USER=%s", r->creds.name);
		env[j++] = b.data;
		b = (struct lp_buf){ 0 };
		lp_buf_printf(&b, "LOGNAME=%s", r->creds.name);
		env[j++] = b.data;
	}
	if (r->is_build && !getenv("DOCKER_BUILDKIT")) {
		env[j++] = lp_xstrdup("DOCKER_BUILDKIT=1");
		r->buildkit_set = true;
	}
	env[j] = NULL;
	r->envp = env;
}

/* ------------------------------------------------------- the docker build */

/* A path the docker CLI running in cwd names, made absolute and real. */
static bool real_path_in(const char *cwd, const char *path, char *out)
{
	char buf[PATH_MAX];
	if (cwd && path[0] != '/') {
		if (snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= (int)sizeof(buf))
			return false;
		path = buf;
	}
	return realpath(path, out) != NULL;
}

/* The context, Dockerfile and .dockerignore of build d run in cwd (NULL:
 * ours), the files it will send. */
void rec_analyze_context(const struct lp_docker_build *d, const char *cwd, struct build_ctx *bc,
			    bool verbose)
{
	char buf[PATH_MAX];
	if (d->context && !d->context_remote && !d->context_stdin) {
		if (real_path_in(cwd, d->context, buf))
			bc->context_abs = lp_xstrdup(buf);
		else
			lp_warn("build context %s: %s", d->context, strerror(errno));
	}
	if (d->dockerfile && strcmp(d->dockerfile, "-") != 0) {
		/* the docker CLI takes -f relative to the current directory */
		if (real_path_in(cwd, d->dockerfile, buf))
			bc->dockerfile_abs = lp_xstrdup(buf);
		else
			lp_warn("Dockerfile %s: %s", d->dockerfile, strerror(errno));
	} else if (!d->dockerfile && bc->context_abs) {
		static const char *const names[] = { "Dockerfile", "dockerfile" };
		for (size_t i = 0; i < LP_ARRAY_SIZE(names) && !bc->dockerfile_abs; i++) {
			snprintf(buf, sizeof(buf), "%s/%s", bc->context_abs, names[i]);
			if (access(buf, F_OK) == 0)
				bc->dockerfile_abs = lp_xstrdup(buf);
		}
	}
	if (bc->dockerfile_abs) {
		bc->dockerfile_text =
			lp_read_text_file(bc->dockerfile_abs, DOCKERFILE_MAX, &bc->dockerfile_truncated);
		if (!bc->dockerfile_text)
			lp_warn("cannot read %s: %s", bc->dockerfile_abs, strerror(errno));
	}
	if (!bc->context_abs)
		return;

	/* BuildKit's <Dockerfile>.dockerignore wins over <context>/.dockerignore. */
	char *ignore_text = NULL;
	if (bc->dockerfile_abs) {
		snprintf(buf, sizeof(buf), "%s.dockerignore", bc->dockerfile_abs);
		ignore_text = lp_read_text_file(buf, 1u << 20, NULL);
		if (ignore_text)
			bc->dockerignore = lp_xstrdup(buf);
	}
	if (!ignore_text) {
		snprintf(buf, sizeof(buf), "%s/.dockerignore", bc->context_abs);
		ignore_text = lp_read_text_file(buf, 1u << 20, NULL);
		if (ignore_text)
			bc->dockerignore = lp_xstrdup(buf);
	}
	struct lp_ignore *ig = lp_ignore_parse(ignore_text);
	free(ignore_text);
	int err = lp_ctx_walk(bc->context_abs, ig, CONTEXT_MAX_FILES, &bc->ctx);
	lp_ignore_free(ig);
	if (err < 0) {
		lp_warn("cannot list the build context %s: %s", bc->context_abs, strerror(-err));
		return;
	}
	bc->ctx_listed = true;
	if (bc->ctx.capped)
		lp_warn("build context has more than %d files; listed the first %d only",
			CONTEXT_MAX_FILES, CONTEXT_MAX_FILES);
	if (verbose) {
		char b1[32];
		lp_error("build context %s: %zu files, %s (%llu entries ignored by %s)",
			 bc->context_abs, bc->ctx.n, lp_fmt_bytes(bc->ctx.bytes, b1, sizeof(b1)),
			 (unsigned long long)bc->ctx.ignored,
			 bc->dockerignore ? bc->dockerignore : "no .dockerignore");
	}
}

static void analyze_build(struct rec *r)
{
	rec_analyze_context(&r->docker, NULL, &r->bc, r->verbose);
}

static int write_context_entry(struct rec *r, const struct lp_ctx_file *f, uint32_t tgid, uint32_t aux, uint64_t ts)
{
	uint8_t buf[sizeof(struct lp_rec_context_file) + PATH_MAX + 8] __attribute__((aligned(8)));
	size_t plen = strlen(f->path) + 1;
	if (plen > PATH_MAX)
		return 0;
	size_t size = (sizeof(struct lp_rec_context_file) + plen + 7) & ~(size_t)7;
	memset(buf, 0, size);
	struct lp_rec_context_file *rec = (struct lp_rec_context_file *)buf;
	lp_hdr_set(&rec->h, size, LP_REC_CONTEXT_FILE, tgid, 0, aux, ts);
	rec->size = f->size;
	rec->mtime_ns = f->mtime_ns;
	rec->mode = f->mode;
	rec->path_len = (__u16)plen;
	memcpy(buf + sizeof(*rec), f->path, plen);
	return lp_writer_append(r->w, buf, size) < 0 && lp_writer_error(r->w) ? -1 : 0;
}

/* The context file list of a build, then its empty directories (mode
 * S_IFDIR: the reader keeps them apart from the files); tgid: its docker
 * CLI when it is one of the recorded command's builds (0: the recorded
 * command is the build). */
int rec_write_context_files(struct rec *r, const struct build_ctx *bc, uint32_t tgid, uint32_t aux)
{
	uint64_t ts = lp_now_ns();
	for (size_t i = 0; i < bc->ctx.n; i++)
		if (write_context_entry(r, &bc->ctx.files[i], tgid, aux, ts) < 0)
			return -1;
	for (size_t i = 0; i < bc->ctx.nempty_dirs; i++) {
		struct lp_ctx_file d = { .path = bc->ctx.empty_dirs[i], .mode = S_IFDIR | 0755 };
		if (write_context_entry(r, &d, tgid, aux, ts) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- daemons */

static void on_daemon(void *ctx, uint32_t pid, const char *comm, const char *name)
{
	(void)name;
	struct rec *r = ctx;
	r->daemons = lp_xrealloc(r->daemons, (r->ndaemons + 1) * sizeof(*r->daemons));
	struct daemon *d = &r->daemons[r->ndaemons++];
	memset(d, 0, sizeof(*d));
	d->pid = pid;
	snprintf(d->comm, sizeof(d->comm), "%s", comm);
	struct lp_procinfo pi;
	if (lp_proc_read(pid, &pi) == 0) {
		d->exe = lp_xstrdup(pi.exe);
		if (!strcmp(comm, "dockerd")) {
			d->data_root = lp_cmdline_opt(pi.cmdline, pi.cmdline_len, "--data-root", "--graph");
			if (!d->data_root)
				d->data_root = lp_cmdline_opt(pi.cmdline, pi.cmdline_len, "-g", NULL);
			if (!d->data_root) {
				/* daemon.json (or --config-file) may set it */
				char *cfg = lp_cmdline_opt(pi.cmdline, pi.cmdline_len, "--config-file", NULL);
				char *text = lp_read_text_file(cfg ? cfg : "/etc/docker/daemon.json",
							       1u << 20, NULL);
				cJSON *j = text ? cJSON_Parse(text) : NULL;
				const cJSON *dr = cJSON_GetObjectItemCaseSensitive(j, "data-root");
				if (cJSON_IsString(dr) && dr->valuestring[0])
					d->data_root = lp_xstrdup(dr->valuestring);
				cJSON_Delete(j);
				free(text);
				free(cfg);
			}
			if (!d->data_root)
				d->data_root = lp_xstrdup("/var/lib/docker");
		}
		lp_proc_free(&pi);
	} else {
		d->exe = lp_xstrdup("");
	}
}

/* Names traced by comm: the daemons (unless --no-daemons) and --comm. */
static size_t comm_names(const struct rec *r, const char **names)
{
	size_t n = 0;
	if (!r->no_daemons)
		for (size_t i = 0; i < LP_ARRAY_SIZE(default_daemons); i++)
			names[n++] = default_daemons[i];
	for (size_t i = 0; i < r->ncomms; i++)
		names[n++] = r->comms[i];
	return n;
}

/* ------------------------------------------------------------------- META */

/* Which daemon the build talks to: the docker CLI's -H/--host (global
 * options come before the subcommand), else DOCKER_HOST, else NULL (the
 * default socket). Lets a reader of the trace know which dockerd it saw. */
const char *rec_docker_host_of(int argc, char *const *argv, const char *env_host)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-H") || !strcmp(a, "--host")) && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(a, "--host=", 7))
			return a + 7;
		if (!strncmp(a, "-H", 2) && a[2])
			return a + 2;
		static const char *const with_value[] = { "-c", "--context", "--config", "-l",
							  "--log-level", "--tlscacert", "--tlscert",
							  "--tlskey" };
		for (size_t k = 0; k < LP_ARRAY_SIZE(with_value); k++)
			if (!strcmp(a, with_value[k])) {
				i++; /* skip its value */
				break;
			}
		if (a[0] != '-')
			break; /* the subcommand: global options end here */
	}
	return env_host;
}

/* META's "build" object (and a LP_REC_BUILD's): what the build is and
 * what it reads, as found before it started. */
void rec_add_build_json(cJSON *b, const struct lp_docker_build *d, const struct build_ctx *bc,
			   const char *docker_host)
{
	cJSON_AddStringToObject(b, "tool", "docker");
	add_str_or_null(b, "context", bc->context_abs ? bc->context_abs : d->context);
	cJSON_AddBoolToObject(b, "context_remote", d->context_remote);
	cJSON_AddBoolToObject(b, "context_stdin", d->context_stdin);
	add_str_or_null(b, "dockerfile", bc->dockerfile_abs);
	add_str_or_null(b, "dockerfile_text", bc->dockerfile_text);
	cJSON_AddBoolToObject(b, "dockerfile_truncated", bc->dockerfile_truncated);
	add_str_or_null(b, "dockerignore", bc->dockerignore);
	add_str_or_null(b, "tag", d->tag);
	add_str_or_null(b, "target", d->target);
	add_str_or_null(b, "docker_host", docker_host);
	if (bc->ctx_listed) {
		add_u64(b, "context_files", bc->ctx.n);
		add_u64(b, "context_bytes", bc->ctx.bytes);
		add_u64(b, "context_ignored", bc->ctx.ignored);
		add_u64(b, "context_unreadable", bc->ctx.errors);
		cJSON_AddBoolToObject(b, "context_capped", bc->ctx.capped);
		cJSON_AddNumberToObject(b, "context_max_files", CONTEXT_MAX_FILES);
	}
}

static char *make_meta(struct rec *r)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "schema", "layerprof.trace/1");
	cJSON_AddStringToObject(m, "layerprof_version", LAYERPROF_VERSION);
	cJSON_AddNumberToObject(m, "abi_version", LP_ABI_VERSION);

	struct utsname u;
	cJSON *host = cJSON_AddObjectToObject(m, "host");
	if (uname(&u) == 0) {
		cJSON_AddStringToObject(host, "hostname", u.nodename);
		cJSON_AddStringToObject(host, "kernel_release", u.release);
		cJSON_AddStringToObject(host, "kernel_version", u.version);
		cJSON_AddStringToObject(host, "machine", u.machine);
	}
	cJSON_AddNumberToObject(host, "cpus", get_nprocs_conf());

	add_u64(m, "start_monotonic_ns", r->start_mono);
	add_u64(m, "start_realtime_ns", r->start_real);
	cJSON_AddNumberToObject(m, "recorder_pid", getpid());

	if (r->cmd_argc > 0) {
		int changed = 0;
		char **red = r->redact ? lp_redact_argv(r->cmd_argc, (const char *const *)r->cmd_argv,
							&changed)
				       : NULL;
		cJSON *cmd = cJSON_AddArrayToObject(m, "command");
		for (int i = 0; i < r->cmd_argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(red ? red[i] : r->cmd_argv[i]));
		cJSON_AddBoolToObject(m, "command_redacted", changed > 0);
		lp_redact_free(red, r->cmd_argc);
	} else {
		cJSON_AddNullToObject(m, "command");
	}
	char cwd[PATH_MAX];
	add_str_or_null(m, "cwd", getcwd(cwd, sizeof(cwd)));
	const char *su = getenv("SUDO_UID");
	cJSON_AddNumberToObject(m, "uid", su && geteuid() == 0 ? strtod(su, NULL) : (double)getuid());
	cJSON_AddBoolToObject(m, "sudo", su && geteuid() == 0);
	if (r->cmd_argc > 0)
		cJSON_AddNumberToObject(m, "command_uid",
					r->creds.drop ? (double)r->creds.uid : (double)geteuid());
	cJSON_AddBoolToObject(m, "redact", r->redact);

	const struct lp_features *f = lp_loader_features(r->l);
	cJSON *feat = cJSON_AddObjectToObject(m, "features");
	if (f) {
		cJSON_AddStringToObject(feat, "proc_fork", lp_attach_kind_name(f->proc_fork));
		cJSON_AddStringToObject(feat, "proc_exec", lp_attach_kind_name(f->proc_exec));
		cJSON_AddStringToObject(feat, "proc_exit", lp_attach_kind_name(f->proc_exit));
		cJSON_AddStringToObject(feat, "syscalls", lp_attach_kind_name(f->syscalls));
		cJSON_AddNumberToObject(feat, "syscalls_attached", f->syscalls_attached);
		/* of them, on fentry/fexit (the hot file I/O path) */
		cJSON_AddNumberToObject(feat, "fentry_syscalls", f->fentry_syscalls);
		cJSON_AddNumberToObject(feat, "syscalls_missing_count", f->syscalls_missing);
		cJSON_AddNumberToObject(feat, "load_ms", f->load_ms);
		cJSON *miss = cJSON_AddArrayToObject(feat, "syscalls_missing");
		char tmp[sizeof(f->missing) + 1];
		snprintf(tmp, sizeof(tmp), "%s", f->missing);
		for (char *save, *t = strtok_r(tmp, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			cJSON_AddItemToArray(miss, cJSON_CreateString(t));
	}
	add_u64(m, "ringbuf_bytes", r->ringbuf);
	if (r->duration_ms)
		add_u64(m, "duration_limit_ms", r->duration_ms);

	const char *names[LP_MAX_COMMS];
	size_t nn = comm_names(r, names);
	cJSON *comms = cJSON_AddArrayToObject(m, "traced_comms");
	for (size_t i = 0; i < nn; i++)
		cJSON_AddItemToArray(comms, cJSON_CreateString(names[i]));
	cJSON *ds = cJSON_AddArrayToObject(m, "daemons");
	for (size_t i = 0; i < r->ndaemons; i++) {
		struct daemon *d = &r->daemons[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "pid", d->pid);
		cJSON_AddStringToObject(o, "comm", d->comm);
		cJSON_AddStringToObject(o, "exe", d->exe ? d->exe : "");
		if (d->data_root)
			cJSON_AddStringToObject(o, "data_root", d->data_root);
		cJSON_AddItemToArray(ds, o);
	}
	/* the command's docker builds are in LP_REC_BUILD records (session.h) */
	cJSON_AddBoolToObject(m, "docker_shim", r->shim_listen >= 0);
	cJSON *pids = cJSON_AddArrayToObject(m, "pids");
	for (size_t i = 0; i < r->npids; i++)
		cJSON_AddItemToArray(pids, cJSON_CreateNumber(r->pids[i]));

	if (r->is_build) {
		cJSON *b = cJSON_AddObjectToObject(m, "build");
		rec_add_build_json(b, &r->docker, &r->bc,
			       rec_docker_host_of(r->cmd_argc, r->cmd_argv, getenv("DOCKER_HOST")));
		cJSON_AddBoolToObject(b, "progress_added", r->progress_added);
		add_str_or_null(b, "progress", r->progress_format);
		if (r->cli.major > 0)
			cJSON_AddNumberToObject(b, "docker_cli_major", r->cli.major);
		if (r->cli.buildx_major >= 0) {
			char v[32];
			snprintf(v, sizeof(v), "%d.%d", r->cli.buildx_major, r->cli.buildx_minor);
			cJSON_AddStringToObject(b, "buildx_version", v);
		}
		if (r->cli.builder[0]) {
			cJSON_AddStringToObject(b, "builder", r->cli.builder);
			if (r->cli.driver[0])
				cJSON_AddStringToObject(b, "builder_driver", r->cli.driver);
		}
		cJSON_AddBoolToObject(b, "buildkit_env_set", r->buildkit_set);
		const char *bk = getenv("DOCKER_BUILDKIT");
		add_str_or_null(b, "docker_buildkit", r->buildkit_set ? "1" : bk);
	}
	char *s = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return s;
}

/* ------------------------------------------------------ ring buffer events */

int rec_on_event(void *ctx, const void *data, size_t size)
{
	struct rec *r = ctx;
	if (!r->w || r->write_failed)
		return 0;
	const struct lp_hdr *h = data;
	if (size < sizeof(*h) || h->size < sizeof(*h) || h->size > size) {
		r->malformed++;
		return 0;
	}
	size_t len = h->size;
	r->events++;
	if (h->kind == LP_EV_EXEC_ARGV && r->redact) {
		size_t n = lp_redact_exec_argv(data, len, r->redact_buf, sizeof(r->redact_buf));
		if (n == SIZE_MAX) {
			r->dropped++;
			return 0;
		}
		if (n) {
			data = r->redact_buf;
			len = n;
			r->redacted++;
		}
	}
	if (lp_writer_append(r->w, data, len) < 0) {
		if (lp_writer_error(r->w)) {
			r->write_failed = true;
			return 1; /* stop polling */
		}
		r->malformed++;
	}
	return 0;
}

/* ------------------------------------------------------ progress capture */

static void note_image_id(struct rec *r, const char *line, size_t len)
{
	/* "#12 writing image sha256:0123... done" (graphdriver store); with the
	 * containerd image store: "#10 exporting manifest list sha256:...",
	 * else "#10 exporting manifest sha256:..." (the image's id there), and
	 * "#10 naming to docker.io/x/y:latest done" */
	const char *p = memmem(line, len, "writing image sha256:", 21);
	if (p) {
		p += 14; /* at "sha256:" */
	} else if ((p = memmem(line, len, "exporting manifest list sha256:", 31))) {
		p += 24;
	} else if ((p = memmem(line, len, "exporting manifest sha256:", 26)) && !r->image_id[0]) {
		p += 19;
	} else {
		if ((p = memmem(line, len, "naming to ", 10)) && !r->image_name[0]) {
			p += 10;
			size_t k = 0;
			while (p + k < line + len && p[k] != ' ' && k < sizeof(r->image_name) - 1)
				k++;
			memcpy(r->image_name, p, k);
			r->image_name[k] = '\0';
		}
		return;
	}
	size_t n = 0;
	while (p + n < line + len && n < sizeof(r->image_id) - 1 &&
	       (isxdigit((unsigned char)p[n]) || p[n] == ':' || isalnum((unsigned char)p[n])))
		n++;
	memcpy(r->image_id, p, n);
	r->image_id[n] = '\0';
}

/* One record of a progress line; continues: the line goes on in the next. */
static void store_line_tid(struct rec *r, const struct outpipe *p, const char *text, size_t len,
			   uint64_t ts, bool continues, uint32_t tid)
{
	int stream = p->stream;
	uint32_t tgid = p->tgid ? p->tgid : (uint32_t)r->child;
	if (!r->w || r->write_failed)
		return;
	uint8_t buf[sizeof(struct lp_rec_progress) + PROGRESS_LINE_MAX + 8]
		__attribute__((aligned(8)));
	size_t size = (sizeof(struct lp_rec_progress) + len + 7) & ~(size_t)7;
	memset(buf, 0, size);
	struct lp_rec_progress *rec = (struct lp_rec_progress *)buf;
	lp_hdr_set(&rec->h, size, LP_REC_PROGRESS, tgid, tid ? tid : tgid, (uint32_t)stream, ts);
	rec->len = (__u16)len;
	rec->flags = continues ? LP_PROGRESS_CONTINUES : 0;
	memcpy(buf + sizeof(*rec), text, len);
	if (lp_writer_append(r->w, buf, size) < 0 && lp_writer_error(r->w))
		r->write_failed = true;
	r->progress_lines++;
}

static void store_line(struct rec *r, const struct outpipe *p, const char *text, size_t len,
		       uint64_t ts, bool continues)
{
	store_line_tid(r, p, text, len, ts, continues, 0);
}

/* A line of a bake: "#N [web 2/4] RUN x" is target web's vertex N, stored
 * as "#N [2/4] RUN x" with hdr.tid = 1 + web's index; its later lines
 * ("#N DONE 0.1s") follow N. Lines of no target's vertex are shared. */
static void store_bake_line(struct rec *r, struct outpipe *p, const char *text, size_t len, uint64_t ts)
{
	char buf[PROGRESS_LINE_MAX + 8];
	uint32_t tid = 0;
	size_t k = 1;
	unsigned long id = 0;
	if (len > 1 && text[0] == '#') {
		while (k < len && text[k] >= '0' && text[k] <= '9' && id < 1000000)
			id = id * 10 + (unsigned long)(text[k++] - '0');
	}
	if (k > 1 && k + 1 < len && text[k] == ' ') {
		const char *v = text + k + 1;
		size_t vl = len - k - 1;
		for (int t = 0; t < p->nbake && v[0] == '['; t++) {
			size_t tl = strlen(p->bake[t]);
			if (vl > tl + 1 && !strncmp(v + 1, p->bake[t], tl) && (v[1 + tl] == ' ' || v[1 + tl] == ']')) {
				if (id >= p->nvtx) {
					size_t n = id + 64;
					p->vtx_bake = lp_xrealloc(p->vtx_bake, n * sizeof(int));
					memset(p->vtx_bake + p->nvtx, 0, (n - p->nvtx) * sizeof(int));
					p->nvtx = n;
				}
				p->vtx_bake[id] = t + 1;
				/* "[web 2/4] x" -> "[2/4] x", "[web] x" -> "x" */
				size_t head = k + 1, cut = v[1 + tl] == ' ' ? 1 + tl + 1 : 1 + tl + 1 + (vl > tl + 2 && v[2 + tl] == ' ');
				if (len < sizeof(buf)) {
					memcpy(buf, text, head);
					if (v[1 + tl] == ' ') {
						buf[head] = '[';
						memcpy(buf + head + 1, v + cut, vl - cut);
						len = head + 1 + vl - cut;
					} else {
						memcpy(buf + head, v + cut, vl - cut);
						len = head + vl - cut;
					}
					text = buf;
				}
				break;
			}
		}
		if (id < p->nvtx && p->vtx_bake[id])
			tid = (uint32_t)p->vtx_bake[id];
	}
	store_line_tid(r, p, text, len, ts, false, tid);
}

struct shown {
	struct rec *r;
	int stream;
};

/* A line as the plain printer would show it: to the user when we turned
 * the CLI's output into rawjson, and what it tells about the image. */
static void on_plain_line(void *ctx, const char *text, size_t len)
{
	struct shown *sh = ctx;
	if (sh->r->show_translated) {
		rec_write_all(sh->stream, text, len);
		rec_write_all(sh->stream, "\n", 1);
	}
	note_image_id(sh->r, text, len);
	if (memmem(text, len, "buildx component is missing", 27))
		sh->r->no_buildx = true;
}

/* A whole line the command printed (rawjson is translated first). */
static void take_line(struct rec *r, int stream, const char *text, size_t len)
{
	struct shown sh = { r, stream };
	if (r->rj && lp_rawjson_feed(r->rj, text, len, on_plain_line, &sh))
		return;
	on_plain_line(&sh, text, len);
}

/* Split what was read into lines; a line longer than PROGRESS_LINE_MAX is
 * cut into several records (all but the last marked as continuing), and
 * taken whole (up to WHOLE_LINE_MAX) by take_line(). */
void rec_take_output(struct rec *r, struct outpipe *p, const char *data, size_t n,
			uint64_t ts, bool record)
{
	lp_buf_append(&p->line, data, n);
	size_t start = 0;
	for (;;) {
		const char *at = p->line.data + start;
		const char *nl = memchr(at, '\n', p->line.len - start);
		size_t avail = nl ? (size_t)(nl - at) : p->line.len - start;
		if (!nl && avail < PROGRESS_LINE_MAX)
			break;
		size_t take = avail < PROGRESS_LINE_MAX ? avail : PROGRESS_LINE_MAX;
		bool continues = !(nl && take == avail);
		if (record && p->nbake && !continues && !p->whole.len)
			store_bake_line(r, p, at, take, ts);
		else if (record)
			store_line(r, p, at, take, ts, continues);
		if (continues || p->whole.len) {
			if (p->whole.len + take <= WHOLE_LINE_MAX)
				lp_buf_append(&p->whole, at, take);
			if (!continues) {
				take_line(r, p->stream, p->whole.data, p->whole.len);
				p->whole.len = 0;
			}
		} else {
			take_line(r, p->stream, at, take);
		}
		start += take + (continues ? 0 : 1);
	}
	if (start) {
		memmove(p->line.data, p->line.data + start, p->line.len - start);
		p->line.len -= start;
		p->line.data[p->line.len] = '\0';
	}
}

/* The stream ended: its last line without '\n', and the translated
 * output lines still waiting for theirs. */
void rec_end_output(struct rec *r, struct outpipe *p, bool record)
{
	if (p->line.len) {
		rec_take_output(r, p, "\n", 1, lp_now_ns(), record);
	} else if (p->whole.len) {
		if (record)
			store_line(r, p, "", 0, lp_now_ns(), false);
		take_line(r, p->stream, p->whole.data, p->whole.len);
	}
	p->whole.len = 0;
	p->line.len = 0;
	struct shown sh = { r, p->stream };
	lp_rawjson_flush(r->rj, on_plain_line, &sh);
}

/* Read what the command printed; show it, record it. Returns false at EOF. */
static bool pump(struct rec *r, struct outpipe *p, bool record)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(p->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			rec_end_output(r, p, record);
			close(p->fd);
			p->fd = -1;
			return false;
		}
		uint64_t ts = lp_now_ns();
		if (!r->show_translated)
			rec_write_all(p->stream, buf, (size_t)n); /* the user sees it unchanged */
		rec_take_output(r, p, buf, (size_t)n, ts, record);
		if ((size_t)n < sizeof(buf))
			return true;
	}
}

/* ------------------------------------------------------------ the command */


/* In a forked child, before exec: the default disposition of the signals
 * the recorder handles itself, and the signal mask the command expects. */
static void child_default_signals(const sigset_t *mask)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < LP_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
}

/* In a forked child: become the command's user (under sudo, the invoking
 * one; see --user). False when the kernel refused. */
static bool child_become_user(const struct rec *r)
{
	if (!r->creds.drop)
		return true;
	return setgroups((size_t)r->creds.ngroups, r->creds.groups) == 0 &&
	       setgid(r->creds.gid) == 0 && setuid(r->creds.uid) == 0;
}

/* Fork the command; the child waits on a pipe until released. */
static int spawn_command(struct rec *r, char **argv, bool capture, const sigset_t *orig_mask,
			 struct spawn *sp)
{
	int sync[2], outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	if (capture && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
		int e = -errno;
		close(sync[0]);
		close(sync[1]);
		if (outp[0] >= 0) {
			close(outp[0]);
			close(outp[1]);
		}
		return e;
	}
	/* Messages the child may need, made before fork (only async-signal-safe
	 * calls after it). */
	char notfound[PATH_MAX + 64], noexec[PATH_MAX + 64], nocreds[128];
	snprintf(notfound, sizeof(notfound), "layerprof: %s: command not found\n", argv[0]);
	snprintf(noexec, sizeof(noexec), "layerprof: %s: cannot execute\n", argv[0]);
	snprintf(nocreds, sizeof(nocreds), "layerprof: cannot switch to uid %u gid %u\n",
		 (unsigned)r->creds.uid, (unsigned)r->creds.gid);

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(sync[0]);
		close(sync[1]);
		if (capture) {
			close(outp[0]);
			close(outp[1]);
			close(errp[0]);
			close(errp[1]);
		}
		return e;
	}
	if (pid == 0) {
		child_default_signals(orig_mask);
		if (capture) {
			if (dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
				_exit(126);
		}
		close(sync[1]);
		char c;
		ssize_t n;
		do
			n = read(sync[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(126); /* the recorder gave up before starting us */
		if (!child_become_user(r)) {
			(void)!write(2, nocreds, strlen(nocreds));
			_exit(126);
		}
		/* the command's PATH finds the command (execvpe would search
		 * ours): the docker shim first, when record put it there */
		environ = r->envp;
		execvp(argv[0], argv);
		int e = errno;
		const char *msg = e == ENOENT ? notfound : noexec;
		(void)!write(2, msg, strlen(msg));
		_exit(e == ENOENT ? 127 : 126);
	}
	close(sync[0]);
	sp->sync_w = sync[1];
	sp->pid = pid;
	if (capture) {
		close(outp[1]);
		close(errp[1]);
		r->out[0].fd = outp[0];
		r->out[1].fd = errp[0];
		fcntl(outp[0], F_SETFL, O_NONBLOCK);
		fcntl(errp[0], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* A short helper (docker image inspect, docker buildx version...) run as
 * the command's user, its stdout captured. Not traced. Several may run at
 * once: start them all, then finish each. */

void rec_capture_start(struct rec *r, char **argv, const char *cwd, struct capture *c)
{
	int p[2];
	c->pid = -1;
	c->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	sigset_t empty;
	sigemptyset(&empty);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		child_default_signals(&empty);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		dup2(p[1], 1);
		if (!child_become_user(r) || (cwd && chdir(cwd) < 0))
			_exit(126);
		/* the command's PATH finds the command (execvpe would search
		 * ours): the docker shim first, when record put it there */
		environ = r->envp;
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	c->pid = pid;
	c->fd = p[0];
}

/* Its stdout (at most 64 KiB kept), or NULL when it failed or was still
 * running at deadline_ns (then it is killed). */
char *rec_capture_finish(struct capture *c, uint64_t deadline_ns)
{
	if (c->pid < 0)
		return NULL;
	struct lp_buf out = { 0 };
	bool ok = true;
	for (;;) {
		uint64_t now = lp_now_ns();
		if (now >= deadline_ns) {
			ok = false;
			break;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000ull) + 1);
		if (n <= 0)
			continue;
		char buf[4096];
		ssize_t got = read(c->fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (out.len < 65536)
			lp_buf_append(&out, buf, (size_t)got);
	}
	close(c->fd);
	if (!ok)
		kill(c->pid, SIGKILL);
	int st;
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!ok || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		lp_buf_free(&out);
		return NULL;
	}
	return out.data ? out.data : lp_xstrdup("");
}

static char *run_capture(struct rec *r, char **argv, int timeout_ms)
{
	struct capture c;
	rec_capture_start(r, argv, NULL, &c);
	return rec_capture_finish(&c, lp_now_ns() + (uint64_t)timeout_ms * 1000000ull);
}

/* After a successful docker build: the image's size, for the report. */
/* `docker [global options] image inspect REF`: its id and size, or NULL. */
cJSON *rec_inspect_ref(struct rec *r, char *const *global, int nglobal, const char *ref)
{
	char **argv = lp_xcalloc((size_t)nglobal + 6, sizeof(char *));
	int n = 0;
	for (int i = 0; i < nglobal; i++)
		argv[n++] = global[i];
	argv[n++] = (char *)"image";
	argv[n++] = (char *)"inspect";
	argv[n++] = (char *)"--format";
	argv[n++] = (char *)"{{.Id}} {{.Size}}";
	argv[n++] = (char *)ref;
	argv[n] = NULL;
	char *out = run_capture(r, argv, 10000);
	free(argv);
	if (!out)
		return NULL;
	char id[128] = "";
	unsigned long long size = 0;
	cJSON *img = NULL;
	if (sscanf(out, "%127s %llu", id, &size) == 2) {
		img = cJSON_CreateObject();
		cJSON_AddStringToObject(img, "ref", ref);
		cJSON_AddStringToObject(img, "id", id);
		add_u64(img, "size", size);
	}
	free(out);
	return img;
}

/* After a successful docker build: the image's size, for the report. */
static cJSON *inspect_image(struct rec *r)
{
	const char *ref = r->docker.tag        ? r->docker.tag
			  : r->image_id[0]   ? r->image_id
			  : r->image_name[0] ? r->image_name
					     : NULL;
	if (!ref || !r->child_exited || !WIFEXITED(r->child_status) ||
	    WEXITSTATUS(r->child_status) != 0)
		return NULL;
	int n = r->docker.global_end < r->cmd_argc ? r->docker.global_end : r->cmd_argc;
	return rec_inspect_ref(r, r->cmd_argv, n, ref);
}


/* --------------------------------------------------------------- the end */

/* The traced daemons' own `--version` lines (dockerd, buildkitd,
 * containerd), asked at the end, all at once: the engine's version for
 * the report and the OTLP resource, without delaying the start. */
static cJSON *daemon_versions(struct rec *r)
{
	struct capture c[16];
	size_t n = 0;
	for (size_t i = 0; i < r->ndaemons && n < LP_ARRAY_SIZE(c); i++) {
		const struct daemon *d = &r->daemons[i];
		if (!d->exe || !*d->exe || (strcmp(d->comm, "dockerd") && strcmp(d->comm, "buildkitd") &&
					   strcmp(d->comm, "containerd")))
			continue;
		char *argv[] = { d->exe, (char *)"--version", NULL };
		rec_capture_start(r, argv, NULL, &c[n]);
		n++;
	}
	cJSON *arr = NULL;
	uint64_t deadline = lp_now_ns() + 2000000000ull;
	size_t k = 0;
	for (size_t i = 0; i < r->ndaemons && k < n; i++) {
		const struct daemon *d = &r->daemons[i];
		if (!d->exe || !*d->exe || (strcmp(d->comm, "dockerd") && strcmp(d->comm, "buildkitd") &&
					   strcmp(d->comm, "containerd")))
			continue;
		char *out = rec_capture_finish(&c[k++], deadline);
		if (!out)
			continue;
		out[strcspn(out, "\n")] = '\0';
		if (*out) {
			if (!arr)
				arr = cJSON_CreateArray();
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "pid", d->pid);
			cJSON_AddStringToObject(o, "comm", d->comm);
			cJSON_AddStringToObject(o, "version", out);
			cJSON_AddItemToArray(arr, o);
		}
		free(out);
	}
	return arr;
}

static char *make_trailer(struct rec *r, enum end_reason why, uint64_t end_mono,
			  const uint64_t lost[LP_LOST_NR], const uint64_t *per_cpu, int ncpu,
			  cJSON *image, cJSON *session_images, cJSON *daemon_versions)
{
	static const char *const reasons[LP_LOST_NR] = { "ringbuf", "inflight", "fdio", "traced",
							 "counts" };
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "schema", "layerprof.trailer/1");
	add_u64(t, "end_monotonic_ns", end_mono);
	add_u64(t, "end_realtime_ns", realtime_ns());
	add_u64(t, "duration_ns", end_mono - r->start_mono);
	add_u64(t, "records", r->w ? lp_writer_records(r->w) : 0);
	add_u64(t, "events", r->events);
	add_u64(t, "malformed_events", r->malformed);
	add_u64(t, "redacted_argv", r->redacted);
	add_u64(t, "dropped_argv", r->dropped);
	add_u64(t, "progress_lines", r->progress_lines);
	add_u64(t, "bytes", r->w ? lp_writer_bytes(r->w) : 0);
	cJSON *lo = cJSON_AddObjectToObject(t, "lost");
	uint64_t total = 0;
	for (int i = 0; i < LP_LOST_NR; i++)
		total += lost[i];
	add_u64(lo, "total", total);
	cJSON *by = cJSON_AddObjectToObject(lo, "by_reason");
	for (int i = 0; i < LP_LOST_NR; i++)
		add_u64(by, reasons[i], lost[i]);
	cJSON *bc = cJSON_AddArrayToObject(lo, "by_cpu");
	for (int i = 0; i < ncpu; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)per_cpu[i]);
		cJSON_AddItemToArray(bc, cJSON_CreateRaw(buf));
	}
	cJSON *wr = cJSON_AddObjectToObject(t, "writer");
	add_u64(wr, "stalls", r->w ? lp_writer_stalls(r->w) : 0);
	add_u64(wr, "invalid", r->w ? lp_writer_invalid(r->w) : 0);
	cJSON_AddStringToObject(t, "ended_by", end_names[why]);
	if (r->cmd_argc > 0) {
		cJSON *c = cJSON_AddObjectToObject(t, "command");
		cJSON_AddNumberToObject(c, "pid", r->child);
		cJSON_AddBoolToObject(c, "exited", r->child_exited);
		if (r->child_exited && WIFEXITED(r->child_status)) {
			cJSON_AddNumberToObject(c, "exit_code", WEXITSTATUS(r->child_status));
			cJSON_AddNumberToObject(t, "command_status", WEXITSTATUS(r->child_status));
		} else if (r->child_exited && WIFSIGNALED(r->child_status)) {
			cJSON_AddNumberToObject(c, "signal", WTERMSIG(r->child_status));
			cJSON_AddNumberToObject(t, "command_status", 128 + WTERMSIG(r->child_status));
		} else {
			cJSON_AddNullToObject(t, "command_status");
		}
		if (r->child_exited)
			add_u64(c, "exit_monotonic_ns", r->child_exit_ns);
	}
	if (image)
		cJSON_AddItemToObject(t, "image", image);
	if (session_images)
		cJSON_AddItemToObject(t, "session_images", session_images);
	if (daemon_versions)
		cJSON_AddItemToObject(t, "daemon_versions", daemon_versions);
	char *s = cJSON_PrintUnformatted(t);
	cJSON_Delete(t);
	return s;
}

/* After the recording: give the trace file to the sudo caller, so that
 * `layerprof report` works without sudo. fd was opened right after the
 * writer created the file; only a file we made (ours, 0600, one link) is
 * handed over. */
static void give_to_caller(int fd)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	if (fd < 0 || !su || !sg || geteuid() != 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || (st.st_mode & 07777) != 0600)
		return;
	(void)!fchown(fd, (uid_t)strtoul(su, NULL, 10), (gid_t)strtoul(sg, NULL, 10));
}

/* --------------------------------------------------------------- the loop */


static bool want_stop_signal(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
}

static void reap(struct rec *r)
{
	if (r->child <= 0 || r->child_exited)
		return;
	int st;
	pid_t p = waitpid(r->child, &st, WNOHANG);
	if (p == r->child) {
		r->child_exited = true;
		r->child_status = st;
		r->child_exit_ns = lp_now_ns();
	}
}

static int drain_ring(struct rec *r)
{
	int total = 0;
	for (int i = 0; i < 64; i++) {
		int n = lp_loader_poll(r->l, 0);
		if (n <= 0 || r->write_failed)
			break;
		total += n;
	}
	return total;
}

/* ------------------------------------------------------------ the record */

/* Every source of events of the loop, one dispatcher. recording: the loop
 * proper (output is recorded, signals may stop it); else the wait for the
 * command after recording stopped (output shown only, signals passed on). */
static void on_events(struct rec *r, const struct epoll_event *evs, int n, bool recording)
{
	for (int i = 0; i < n; i++) {
		uint32_t tag = evs[i].data.u32;
		if (tag == TAG_OUT0 || tag == TAG_OUT1) {
			struct outpipe *p = &r->out[tag - TAG_OUT0];
			if (p->fd >= 0) {
				int fd = p->fd;
				if (!pump(r, p, recording))
					epoll_ctl(r->ep, EPOLL_CTL_DEL, fd, NULL);
			}
			continue;
		}
		if (tag == TAG_SHIM) {
			rec_shim_accept(r);
			continue;
		}
		if (tag >= TAG_CONN0 && tag - TAG_CONN0 < r->nconns) {
			struct shim_conn *c = r->conns[tag - TAG_CONN0];
			if (c->p.fd >= 0)
				rec_shim_read(r, c, recording);
			continue;
		}
		if (tag != TAG_SIG)
			continue;
		struct signalfd_siginfo si;
		while (read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
			int sig = (int)si.ssi_signo;
			bool from_kill = si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE;
			if (!recording) {
				if (want_stop_signal(sig) && from_kill)
					kill(r->child, sig);
				continue;
			}
			if (sig == SIGCHLD) {
				reap(r);
				continue;
			}
			if (!want_stop_signal(sig))
				continue;
			r->last_sig = sig;
			r->interrupts++;
			if (r->cmd_argc == 0 || r->child_exited || r->interrupts > 1) {
				r->why = END_SIGNAL;
				continue;
			}
			/* First one with a command running: a terminal's Ctrl-C
			 * reached the command too (si_code SI_KERNEL); a kill(2)
			 * aimed at us is passed on. Recording goes on until the
			 * command exits. */
			if (from_kill && si.ssi_pid != (uint32_t)r->child)
				kill(r->child, sig);
			lp_error("%s: waiting for the command to exit; press Ctrl-C "
				 "again to stop recording now",
				 strsignal(sig));
		}
	}
}

/* Warn when the user the build runs as cannot reach the docker socket. */
static void check_socket_access(const struct rec *r)
{
	const char *host = getenv("DOCKER_HOST");
	const char *sock = host && !strncmp(host, "unix://", 7) ? host + 7 : host ? NULL : "/var/run/docker.sock";
	struct stat st;
	if (!sock || stat(sock, &st) != 0)
		return;
	bool member = st.st_uid == r->creds.uid || ((st.st_mode & 06) == 06);
	for (int i = 0; i < r->creds.ngroups && !member; i++)
		member = r->creds.groups[i] == st.st_gid && (st.st_mode & 060) == 060;
	if (st.st_gid == r->creds.gid && (st.st_mode & 060) == 060)
		member = true;
	if (!member)
		lp_warn("the build runs as %s (uid %u), who cannot use %s; "
			"add them to its group or use --user root",
			r->creds.name ? r->creds.name : "the invoking user", (unsigned)r->creds.uid, sock);
}

/* Setup, before any file exists: the command checked, BPF loaded (the
 * privileges and the kernel are checked there), signals and the event loop
 * made, the daemons found, the build analyzed. 0, or the exit status. */

/* Start argv[0] and docker's global options of the command, then words. */
static void cli_start(struct rec *r, struct capture *c, const char *w1, const char *w2,
		      const char *w3, const char *w4)
{
	const char *words[] = { w1, w2, w3, w4 };
	char **argv = lp_xcalloc((size_t)r->docker.global_end + 6, sizeof(char *));
	int n = 0;
	for (int i = 0; i < r->docker.global_end && i < r->cmd_argc; i++)
		argv[n++] = r->cmd_argv[i];
	for (size_t i = 0; i < LP_ARRAY_SIZE(words) && words[i]; i++)
		argv[n++] = (char *)words[i];
	argv[n] = NULL;
	rec_capture_start(r, argv, NULL, c);
	free(argv);
}

/* Where start and stop time goes (record -v prints it; bench section 7
 * reads it): a monotonic mark at the end of each phase. One recording per
 * process, so file-static. */
enum rec_phase { PH_START, PH_LOADED, PH_SETUP, PH_SEEDED, PH_RAN, PH_DRAINED, PH_QUERIED,
		 PH_WRITTEN, PH_UNLOADED, PH_NR };
static uint64_t phase_ns[PH_NR];
static struct lp_features phase_feat; /* the loader's own split of load */

static void phase_mark(enum rec_phase p)
{
	phase_ns[p] = lp_now_ns();
}

static void say_phases(const struct rec *r)
{
	if (!r->verbose || !phase_ns[PH_UNLOADED])
		return;
#define PH_MS(a, b) ((double)(phase_ns[b] - phase_ns[a]) / 1e6)
	fprintf(stderr,
		"layerprof: phases (ms): load %.1f (probes %.1f, verifier %.1f, attach %.1f), setup %.1f, "
		"seed %.1f, command %.1f, drain %.1f, queries %.1f, file %.1f, unload %.1f; "
		"start+stop %.1f\n",
		PH_MS(PH_START, PH_LOADED), phase_feat.probe_us / 1e3, phase_feat.verify_us / 1e3,
		phase_feat.attach_us / 1e3, PH_MS(PH_LOADED, PH_SETUP), PH_MS(PH_SETUP, PH_SEEDED),
		PH_MS(PH_SEEDED, PH_RAN), PH_MS(PH_RAN, PH_DRAINED), PH_MS(PH_DRAINED, PH_QUERIED),
		PH_MS(PH_QUERIED, PH_WRITTEN), PH_MS(PH_WRITTEN, PH_UNLOADED),
		PH_MS(PH_START, PH_UNLOADED) - PH_MS(PH_SEEDED, PH_RAN));
#undef PH_MS
}

/* The progress format to ask for when the user gave none. rawjson carries
 * each vertex's exact start and end times; only buildx prints it (a CLI
 * >= 23 hands `docker build` to it), so ask the CLI what it is. The three
 * questions run at once (buildx's answers take 0.1-0.3 s each). */
static const char *choose_progress(struct rec *r)
{
	r->cli.major = -1;
	r->cli.buildx_major = r->cli.buildx_minor = -1;
	if (r->want_progress == PROGRESS_PLAIN || r->docker.has_progress)
		return "plain";
	const char *bk = getenv("DOCKER_BUILDKIT");
	if (bk && (!strcmp(bk, "0") || !strcasecmp(bk, "false")))
		return "plain"; /* the classic builder */
	uint64_t t0 = lp_now_ns(), deadline = t0 + 5000000000ull;
	struct capture ver, bxver, inspect;
	cli_start(r, &ver, "--version", NULL, NULL, NULL);
	cli_start(r, &bxver, "buildx", "version", NULL, NULL);
	/* rawjson has no "#0 building with NAME instance using DRIVER driver"
	 * line: ask buildx which builder it will use */
	if (r->docker.builder)
		cli_start(r, &inspect, "buildx", "inspect", "--builder", r->docker.builder);
	else
		cli_start(r, &inspect, "buildx", "inspect", NULL, NULL);
	char *out = rec_capture_finish(&ver, deadline);
	lp_docker_cli_parse_version(out, &r->cli);
	free(out);
	out = rec_capture_finish(&bxver, deadline);
	lp_docker_cli_parse_buildx_version(out, &r->cli);
	free(out);
	out = rec_capture_finish(&inspect, deadline);
	bool rawjson = r->want_progress == PROGRESS_RAWJSON ||
		       lp_docker_cli_has_rawjson(&r->docker, &r->cli);
	if (rawjson)
		lp_docker_cli_parse_buildx_inspect(out, &r->cli);
	free(out);
	if (r->verbose)
		lp_error("docker CLI %d, buildx %d.%d, builder %s (%s): --progress=%s (asked in %.0f ms)",
			 r->cli.major, r->cli.buildx_major, r->cli.buildx_minor,
			 r->cli.builder[0] ? r->cli.builder : "?", r->cli.driver[0] ? r->cli.driver : "?",
			 rawjson ? "rawjson" : "plain", (double)(lp_now_ns() - t0) / 1e6);
	return rawjson ? "rawjson" : "plain";
}

static int record_setup(struct rec *r)
{
	if (r->cmd_argc > 0) {
		int e, rc;
		if (!command_exists(r->cmd_argv[0], &e)) {
			if (e == ENOENT)
				lp_error("%s: command not found", r->cmd_argv[0]);
			else
				lp_error("%s: %s", r->cmd_argv[0], strerror(e));
			return e == ENOENT ? 127 : 126;
		}
		if ((rc = resolve_creds(r)) != 0)
			return rc;
		r->is_build = lp_docker_parse(r->cmd_argc, r->cmd_argv, &r->docker);
		if (!r->is_build && lp_unsupported_builder(r->cmd_argc, r->cmd_argv)) {
			/* a trace of it would make a report with no steps and no
			 * findings: a wrong answer, not a partial one */
			lp_error("%s builds are not supported yet (docker build and docker buildx build are); "
				 "nothing recorded", lp_base_name(r->cmd_argv[0]));
			return LP_EXIT_USAGE;
		}
	}

	/* Privileges and kernel first: nothing is created when they are missing. */
	char err[512] = "";
	int ecode = LP_EXIT_FAILURE;
	struct lp_loader_opts lo = {
		.self_tgid = (uint32_t)getpid(),
		.ringbuf_bytes = r->ringbuf,
		.verbose = r->verbose,
	};
	r->l = lp_loader_open(&lo, rec_on_event, r, err, sizeof(err), &ecode);
	if (!r->l) {
		lp_error("%s", err[0] ? err : "cannot load the BPF programs");
		return ecode ? ecode : LP_EXIT_FAILURE;
	}
	phase_feat = *lp_loader_features(r->l);
	phase_mark(PH_LOADED);

	/* Signals: one signalfd; blocked before any thread or child exists. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &r->orig_mask);
	r->mask_set = true;
	signal(SIGPIPE, SIG_IGN);
	r->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->sfd < 0 || r->ep < 0) {
		lp_error("record: cannot set up the event loop: %s", strerror(errno));
		return LP_EXIT_FAILURE;
	}

	/* Daemons running now. */
	r->nnames = comm_names(r, r->names);
	if (r->nnames)
		lp_proc_scan(r->names, r->nnames, on_daemon, r);
	if (!r->no_daemons && (r->is_build || r->cmd_argc == 0)) {
		bool any = false;
		for (size_t i = 0; i < r->ndaemons; i++)
			any |= !strcmp(r->daemons[i].comm, "dockerd") || !strcmp(r->daemons[i].comm, "buildkitd");
		if (!any)
			lp_warn("no dockerd or buildkitd is running; they will be traced if they start");
	}

	if (r->cmd_argc > 0) {
		build_env(r);
		rec_shim_setup(r);
	}
	if (r->is_build) {
		analyze_build(r);
		const char *mode = choose_progress(r);
		bool added = false;
		r->run_argv = lp_docker_argv(r->cmd_argc, r->cmd_argv, &r->docker, mode, &added);
		r->progress_added = added;
		r->progress_format = added ? mode : r->docker.progress;
		if (r->progress_format && !strcmp(r->progress_format, "rawjson")) {
			r->rj = lp_rawjson_new();
			r->show_translated = added;
		}
	} else if (r->cmd_argc > 0) {
		r->run_argv = lp_docker_argv(r->cmd_argc, r->cmd_argv, NULL, NULL, &(bool){ false });
	}
	if (r->buildkit_set)
		lp_error("DOCKER_BUILDKIT=1 set for the build (BuildKit's progress output names "
			 "the steps)");
	else if (r->is_build && getenv("DOCKER_BUILDKIT") &&
		 (!strcmp(getenv("DOCKER_BUILDKIT"), "0") || !strcasecmp(getenv("DOCKER_BUILDKIT"), "false")))
		lp_warn("DOCKER_BUILDKIT=%s: the classic builder prints no BuildKit steps, so the "
			"report will not know the build's steps",
			getenv("DOCKER_BUILDKIT"));
	if (r->is_build && r->creds.drop)
		check_socket_access(r);
	return 0;
}

/* Seeding: the trace file created (META first), the daemons, -p processes
 * and watched names traced before their seeds are read (nothing falls
 * between the two), the context listed, the command started and traced.
 * 0; else the exit status, and *file_made says whether the file exists
 * (then it must still be finished). */
static int record_seed(struct rec *r, bool *file_made)
{
	char err[512] = "";
	*file_made = false;
	r->start_mono = lp_now_ns();
	r->start_real = realtime_ns();
	char *meta = make_meta(r);
	r->w = lp_writer_open(r->out_path, meta, err, sizeof(err));
	free(meta);
	if (!r->w) {
		lp_error("%s", err);
		return LP_EXIT_IO;
	}
	*file_made = true;
	r->own_fd = open(r->out_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	unsigned seed_flags = r->redact ? LP_SEED_REDACT : 0;
	for (size_t i = 0; i < r->ndaemons; i++) {
		struct daemon *d = &r->daemons[i];
		if (lp_loader_trace_pid(r->l, d->pid) < 0) {
			lp_warn("cannot trace %s (pid %u)", d->comm, d->pid);
			continue;
		}
		d->traced = true;
		if (lp_proc_seed(r->w, d->pid, LP_WHY_COMM, NULL, seed_flags) == -EIO)
			r->write_failed = true;
		if (r->verbose)
			lp_error("tracing %s (pid %u)", d->comm, d->pid);
	}
	for (size_t i = 0; i < r->npids; i++) {
		if (lp_loader_trace_pid(r->l, r->pids[i]) < 0) {
			lp_error("record: cannot trace pid %u", r->pids[i]);
			return LP_EXIT_FAILURE;
		}
		if (lp_proc_seed(r->w, r->pids[i], LP_WHY_PID, NULL, seed_flags) == -EIO)
			r->write_failed = true;
	}
	for (size_t i = 0; i < r->nnames; i++) {
		char comm[LP_COMM_LEN];
		snprintf(comm, sizeof(comm), "%s", r->names[i]);
		if (lp_loader_add_comm(r->l, comm) < 0)
			lp_warn("cannot watch for new '%s' processes", comm);
	}
	if (r->bc.ctx_listed && rec_write_context_files(r, &r->bc, 0, 0) < 0)
		r->write_failed = true;

	if (r->cmd_argc == 0)
		return 0;
	int e = spawn_command(r, r->run_argv, r->is_build, &r->orig_mask, &r->sp);
	if (e < 0) {
		lp_error("record: cannot start %s: %s", r->cmd_argv[0], strerror(-e));
		return LP_EXIT_FAILURE;
	}
	r->child = r->sp.pid;
	if (lp_loader_trace_pid(r->l, (uint32_t)r->sp.pid) < 0) {
		lp_error("record: cannot trace the command (pid %d)", (int)r->sp.pid);
		close(r->sp.sync_w); /* the child exits without running anything */
		r->sp.sync_w = -1;
		while (waitpid(r->sp.pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->child = 0;
		return LP_EXIT_FAILURE;
	}
	char comm[LP_COMM_LEN];
	snprintf(comm, sizeof(comm), "%s", lp_base_name(r->cmd_argv[0]));
	if (lp_proc_seed(r->w, (uint32_t)r->sp.pid, LP_WHY_COMMAND, comm, seed_flags | LP_SEED_SKIP_CLOEXEC) ==
	    -EIO)
		r->write_failed = true;
	/* Release it: from here on, everything it does is traced. */
	(void)!write(r->sp.sync_w, "g", 1);
	close(r->sp.sync_w);
	r->sp.sync_w = -1;
	return 0;
}

/* The loop: ring buffer, signals and the command's output until the
 * command exits, a signal, --duration or an error; why it ended. */
static enum end_reason record_loop(struct rec *r)
{
	int ring_fd = lp_loader_epoll_fd(r->l);
	struct epoll_event ev = { .events = EPOLLIN };
	if (ring_fd >= 0) {
		ev.data.u32 = TAG_RING;
		epoll_ctl(r->ep, EPOLL_CTL_ADD, ring_fd, &ev);
	}
	ev.data.u32 = TAG_SIG;
	epoll_ctl(r->ep, EPOLL_CTL_ADD, r->sfd, &ev);
	if (r->shim_listen >= 0) {
		ev.data.u32 = TAG_SHIM;
		epoll_ctl(r->ep, EPOLL_CTL_ADD, r->shim_listen, &ev);
	}
	for (int i = 0; i < 2; i++) {
		if (r->out[i].fd >= 0) {
			ev.data.u32 = TAG_OUT0 + (uint32_t)i;
			epoll_ctl(r->ep, EPOLL_CTL_ADD, r->out[i].fd, &ev);
		}
	}

	r->why = END_NONE;
	uint64_t next_flush = lp_now_ns() + FLUSH_INTERVAL_NS;
	uint64_t deadline = r->duration_ms ? r->start_mono + r->duration_ms * 1000000ull : 0;
	while (r->why == END_NONE) {
		uint64_t now = lp_now_ns();
		uint64_t until = next_flush;
		if (deadline && deadline < until)
			until = deadline;
		if (r->child_exited && r->child_exit_ns + EXIT_GRACE_NS < until)
			until = r->child_exit_ns + EXIT_GRACE_NS;
		int timeout = until > now ? (int)((until - now + 999999) / 1000000) : 0;
		if (timeout > POLL_INTERVAL_MS)
			timeout = POLL_INTERVAL_MS;
		if (ring_fd < 0 && timeout > POLL_FALLBACK_MS)
			timeout = POLL_FALLBACK_MS;
		struct epoll_event evs[8];
		int n = epoll_wait(r->ep, evs, 8, timeout);
		if (n < 0 && errno != EINTR) {
			lp_error("record: epoll: %s", strerror(errno));
			return END_ERROR;
		}
		/* Kernel events first, so that the file stays close to time order. */
		int polled = lp_loader_poll(r->l, 0);
		if (polled < 0 && polled != -EINTR) {
			lp_error("record: reading the ring buffer failed: %s", strerror(-polled));
			return END_ERROR;
		}
		on_events(r, evs, n, true);
		if (r->write_failed)
			return END_ERROR;
		now = lp_now_ns();
		if (now >= next_flush) {
			if (lp_writer_flush(r->w) < 0) {
				r->write_failed = true;
				return END_ERROR;
			}
			next_flush = now + FLUSH_INTERVAL_NS;
		}
		if (deadline && now >= deadline && r->why == END_NONE)
			r->why = END_DURATION;
		reap(r);
		if (r->child_exited && r->why == END_NONE &&
		    ((r->out[0].fd < 0 && r->out[1].fd < 0 && !rec_shim_streams_open(r)) ||
		     now >= r->child_exit_ns + EXIT_GRACE_NS))
			r->why = END_COMMAND;
	}
	return r->why;
}

/* One line on what was recorded (and lost). */
/* The closing line. events: the kernel side's; records: everything the
 * file holds (with the recorder's own: progress lines, the context list),
 * the names report and dump use. */
static void say_recorded(const struct rec *r, uint64_t events, uint64_t records, uint64_t end_mono,
			 const uint64_t *lost)
{
	uint64_t total_lost = 0;
	for (int i = 0; i < LP_LOST_NR; i++)
		total_lost += lost[i];
	struct stat st;
	char sz[32];
	uint64_t fsize = r->own_fd >= 0 && fstat(r->own_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	lp_fmt_bytes(fsize, sz, sizeof(sz));
	fprintf(stderr, "layerprof: recorded %llu events (%llu lost), %llu records in all, in %.1f s to %s (%s)\n",
		(unsigned long long)events, (unsigned long long)total_lost, (unsigned long long)records,
		(double)(end_mono - r->start_mono) / 1e9, r->out_path, sz);
	if (!total_lost)
		return;
	static const char *const reasons[LP_LOST_NR] = { "ring buffer full",
							 "in-flight syscall slot taken by another thread",
							 "fd map full", "traced map full", "counter map full" };
	struct lp_buf b = { 0 };
	for (int i = 0; i < LP_LOST_NR; i++)
		if (lost[i])
			lp_buf_printf(&b, "%s%llu %s", b.len ? ", " : "", (unsigned long long)lost[i], reasons[i]);
	lp_warn("%llu events lost (%s)%s", (unsigned long long)total_lost, b.data,
		lost[LP_LOST_RINGBUF] ? "; try a larger --ringbuf-size" : "");
	lp_buf_free(&b);
}

/* Finish: what is left in the ring buffer, then the per-fd totals still in
 * the kernel, then the trailer; the file closed and handed over. The exit
 * status of recording itself. */
static int record_finish(struct rec *r, enum end_reason why)
{
	if (!r->write_failed) {
		for (int i = 0; i < 2; i++)
			if (r->out[i].fd >= 0 && why == END_COMMAND)
				pump(r, &r->out[i], true);
		drain_ring(r);
		if (!r->write_failed) {
			lp_loader_drain_fd_io(r->l);
			drain_ring(r);
		}
	}
	if (r->write_failed)
		why = r->why = END_ERROR;
	phase_mark(PH_DRAINED);
	uint64_t end_mono = lp_now_ns();
	uint64_t lost[LP_LOST_NR] = { 0 };
	int ncpu_max = get_nprocs_conf();
	if (ncpu_max < 1)
		ncpu_max = 1;
	uint64_t *per_cpu = lp_xcalloc((size_t)ncpu_max, sizeof(uint64_t));
	int ncpu = lp_loader_lost(r->l, lost, per_cpu, ncpu_max);
	if (ncpu < 0)
		ncpu = 0;
	if (ncpu > ncpu_max)
		ncpu = ncpu_max;
	cJSON *image = r->is_build && why == END_COMMAND ? inspect_image(r) : NULL;
	cJSON *simages = r->nconns ? rec_inspect_session_images(r) : NULL;
	cJSON *dversions = daemon_versions(r);
	phase_mark(PH_QUERIED);
	char *trailer = make_trailer(r, why, end_mono, lost, per_cpu, ncpu, image, simages, dversions);
	free(per_cpu);
	char werr[512] = "";
	const char *first_err = r->w ? lp_writer_error(r->w) : NULL;
	char first_copy[512] = "";
	if (first_err)
		snprintf(first_copy, sizeof(first_copy), "%s", first_err);
	uint64_t records = r->w ? lp_writer_records(r->w) : 0;
	int crc = lp_writer_close(r->w, trailer, werr, sizeof(werr));
	r->w = NULL;
	free(trailer);
	phase_mark(PH_WRITTEN);
	lp_loader_close(r->l);
	r->l = NULL;
	phase_mark(PH_UNLOADED);

	if (crc < 0 || why == END_ERROR) {
		lp_error("cannot write %s: %s", r->out_path,
			 first_copy[0] ? first_copy : werr[0] ? werr : "write failed");
		return LP_EXIT_IO;
	}
	give_to_caller(r->own_fd);
	say_recorded(r, r->events, records, end_mono, lost);
	return LP_EXIT_OK;
}

/* Something failed after the file was created: still finish it. */
static void record_finish_error(struct rec *r)
{
	uint64_t nolost[LP_LOST_NR] = { 0 };
	uint64_t zero = 0;
	char *etrailer = make_trailer(r, END_ERROR, lp_now_ns(), nolost, &zero, 0, NULL, NULL, NULL);
	char eerr[512];
	lp_writer_close(r->w, etrailer, eerr, sizeof(eerr));
	r->w = NULL;
	free(etrailer);
}

/* Recording stopped while the command goes on: show its output (and pass
 * on kill(2)s) until it exits. */
static void wait_for_command(struct rec *r)
{
	while (!r->child_exited) {
		struct epoll_event evs[4];
		int n = epoll_wait(r->ep, evs, 4, 1000);
		on_events(r, evs, n, false);
		reap(r);
	}
	for (int i = 0; i < 2; i++)
		if (r->out[i].fd >= 0)
			pump(r, &r->out[i], false);
}

/* The command's status is ours (unless recording itself failed, ret). */
static int command_status(struct rec *r, enum end_reason why, int ret)
{
	if (r->cmd_argc == 0 || r->child <= 0)
		return ret;
	if (!r->child_exited && (why == END_DURATION || why == END_ERROR)) {
		if (why == END_DURATION)
			lp_error("--duration reached; recording stopped, waiting for "
				 "the command to exit");
		wait_for_command(r);
	}
	if (ret != LP_EXIT_OK)
		return ret;
	if (r->child_exited && WIFEXITED(r->child_status))
		return WEXITSTATUS(r->child_status);
	if (r->child_exited && WIFSIGNALED(r->child_status))
		return 128 + WTERMSIG(r->child_status);
	return 128 + (r->last_sig ? r->last_sig : SIGINT);
}

static void record_free(struct rec *r)
{
	if (r->w) {
		char cerr[512];
		lp_writer_close(r->w, "{}", cerr, sizeof(cerr));
	}
	lp_loader_close(r->l);
	if (r->sp.sync_w >= 0)
		close(r->sp.sync_w);
	for (int i = 0; i < 2; i++) {
		if (r->out[i].fd >= 0)
			close(r->out[i].fd);
		lp_buf_free(&r->out[i].line);
		lp_buf_free(&r->out[i].whole);
	}
	lp_rawjson_free(r->rj);
	rec_shim_teardown(r);
	if (r->own_fd >= 0)
		close(r->own_fd);
	if (r->sfd >= 0)
		close(r->sfd);
	if (r->ep >= 0)
		close(r->ep);
	if (r->mask_set)
		sigprocmask(SIG_SETMASK, &r->orig_mask, NULL);
	free(r->run_argv);
	if (r->envp) {
		for (char **e = r->envp; *e; e++)
			free(*e);
		free(r->envp);
	}
	for (size_t i = 0; i < r->ndaemons; i++) {
		free(r->daemons[i].exe);
		free(r->daemons[i].data_root);
	}
	free(r->daemons);
	free(r->pids);
	free(r->creds.groups);
	free(r->creds.name);
	free(r->creds.home);
	free(r->bc.context_abs);
	free(r->bc.dockerfile_abs);
	free(r->bc.dockerfile_text);
	free(r->bc.dockerignore);
	lp_ctx_list_free(&r->bc.ctx);
	free(r);
}

/* --otlp-endpoint: the trace is complete and handed over, the command has
 * exited; send the build. Reported either way; never changes the exit
 * status or the file. */
static void ship_otlp(struct rec *r)
{
	/* the command is over: Ctrl-C may stop the send (the file is complete) */
	if (r->mask_set) {
		sigprocmask(SIG_SETMASK, &r->orig_mask, NULL);
		r->mask_set = false;
	}
	char err[768] = "";
	size_t spans = 0, traces = 0;
	if (lp_otlp_ship_file(r->out_path, &r->otlp, &spans, &traces, err, sizeof(err)) < 0)
		lp_error("record: OTLP: %s; %s is complete, send it again with "
			 "'layerprof export %s --otlp-endpoint URL'", err, r->out_path, r->out_path);
	else
		fprintf(stderr, "layerprof: sent %zu trace%s (%zu spans) of %s to %s\n", traces, traces == 1 ? "" : "s",
			spans, r->out_path, r->otlp.endpoint);
}

int cmd_record(int argc, char **argv)
{
	struct rec *r = lp_xcalloc(1, sizeof(*r));
	r->out_path = LP_DEFAULT_TRACE;
	r->redact = true;
	r->ringbuf = DEFAULT_RINGBUF;
	r->shim_listen = -1;
	r->out[0] = (struct outpipe){ .fd = -1, .stream = 1 };
	r->out[1] = (struct outpipe){ .fd = -1, .stream = 2 };
	r->sfd = r->ep = r->own_fd = -1;
	r->sp = (struct spawn){ .sync_w = -1, .pid = -1 };
	lp_otlp_opts_init(&r->otlp);
	phase_mark(PH_START);
	int ret = parse_options(r, argc, argv);
	char otlp_err[300];
	if (ret != 0) {
		ret = ret < 0 ? LP_EXIT_OK : ret; /* < 0: --help */
	} else if (r->otlp.endpoint && lp_otlp_http_ready(otlp_err, sizeof(otlp_err)) < 0) {
		/* before the build runs, not once it is recorded */
		lp_error("record: --otlp-endpoint: %s", otlp_err);
		ret = LP_EXIT_FAILURE;
	} else if ((ret = record_setup(r)) == 0) {
		bool file_made;
		phase_mark(PH_SETUP);
		if ((ret = record_seed(r, &file_made)) != 0) {
			if (file_made)
				record_finish_error(r);
		} else {
			phase_mark(PH_SEEDED);
			enum end_reason why = record_loop(r);
			phase_mark(PH_RAN);
			ret = record_finish(r, why);
			say_phases(r);
			bool ship = ret == LP_EXIT_OK && r->otlp.endpoint;
			if (r->no_buildx)
				lp_warn("%s has no buildx component, which BuildKit builds need; on Debian use "
					"/usr/bin/docker (docker.io) instead",
					r->cmd_argv[0]);
			ret = command_status(r, r->why == END_ERROR ? END_ERROR : why, ret);
			if (ship)
				ship_otlp(r);
		}
	}
	lp_otlp_opts_free(&r->otlp);
	record_free(r);
	return ret;
}
