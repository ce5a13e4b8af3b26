/* SPDX-License-Identifier: BSD-2-Clause */
/* docker build command lines, .dockerignore and the build context walk
 * (the rules and their approximations are in dockerctx.h). */
#include "dockerctx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* ------------------------------------------------- the docker command line */

static bool in_list(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(s, *list, n))
			return true;
	return false;
}

/* docker's global options that take a value (docker -H x build ...). */
static const char *const global_value_opts[] = {
	"-H", "--host", "-c", "--context", "--config", "-l", "--log-level",
	"--tlscacert", "--tlscert", "--tlskey", NULL,
};
/* buildx's own options before "build" (docker buildx --builder x build). */
static const char *const buildx_value_opts[] = { "--builder", NULL };
/* build options (classic builder, BuildKit and buildx) that take a value. */
static const char *const build_value_long[] = {
	"--add-host", "--allow", "--annotation", "--attest", "--build-arg",
	"--build-context", "--builder", "--cache-from", "--cache-to", "--call",
	"--cgroup-parent", "--cpu-period", "--cpu-quota", "--cpu-shares", "--cpuset-cpus",
	"--cpuset-mems", "--file", "--iidfile", "--isolation", "--label", "--memory",
	"--memory-swap", "--metadata-file", "--network", "--no-cache-filter", "--output",
	"--platform", "--progress", "--provenance", "--sbom", "--secret", "--security-opt",
	"--shm-size", "--ssh", "--tag", "--target", "--ulimit", "--userns", NULL,
};
/* short options of docker build / buildx build that take a value */
static const char build_value_short[] = "cfmot";

static bool is_remote_context(const char *c)
{
	static const char *const prefixes[] = {
		"http://", "https://", "git://", "git@", "github.com/", "ssh://",
	};
	for (size_t i = 0; i < LP_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(c, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

bool lp_docker_is_bake(int argc, char *const *argv, int *bake_idx, bool *has_progress)
{
	if (argc < 3 || strcmp(lp_base_name(argv[0]), "docker") != 0)
		return false;
	int i = 1;
	bool buildx = false;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-') {
			const char *const *vals = buildx ? buildx_value_opts : global_value_opts;
			if (!strchr(a, '=') && in_list(a, strlen(a), vals))
				i++;
			continue;
		}
		if (!buildx && !strcmp(a, "buildx")) {
			buildx = true;
			continue;
		}
		if (buildx && !strcmp(a, "bake"))
			break;
		return false;
	}
	if (i >= argc)
		return false;
	*bake_idx = i;
	*has_progress = false;
	for (int k = i + 1; k < argc; k++)
		if (!strncmp(argv[k], "--progress", 10) && (argv[k][10] == '=' || !argv[k][10]))
			*has_progress = true;
	return true;
}

bool lp_docker_parse(int argc, char *const *argv, struct lp_docker_build *b)
{
	memset(b, 0, sizeof(*b));
	b->build_idx = -1;
	if (argc < 2 || strcmp(lp_base_name(argv[0]), "docker") != 0)
		return false;

	/* docker [global options] <word>... */
	int i = 1;
	int state = 0; /* 0: want a command, 1: after "buildx", 2: after image/builder */
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' && !b->global_end)
			b->global_end = i;
		if (a[0] == '-') {
			if (!strcmp(a, "--"))
				return false;
			const char *const *vals = state == 1 ? buildx_value_opts : global_value_opts;
			if (state == 1 && !strncmp(a, "--builder=", 10))
				b->builder = a + 10;
			else if (!strchr(a, '=') && in_list(a, strlen(a), vals)) {
				if (state == 1 && !strcmp(a, "--builder") && i + 1 < argc)
					b->builder = argv[i + 1];
				i++;
			}
			continue;
		}
		if (state == 0 && !strcmp(a, "build"))
			break;
		if (state == 0 && !strcmp(a, "buildx")) {
			state = 1;
			continue;
		}
		if (state == 0 && (!strcmp(a, "image") || !strcmp(a, "builder"))) {
			state = 2;
			continue;
		}
		if (state == 1 && (!strcmp(a, "build") || !strcmp(a, "b")))
			break;
		if (state == 2 && !strcmp(a, "build"))
			break;
		return false;
	}
	if (i >= argc)
		return false;
	b->is_build = true;
	b->build_idx = i;
	b->is_buildx = state == 1;

	/* build options and the context argument */
	bool opts_done = false;
	for (i = b->build_idx + 1; i < argc; i++) {
		const char *a = argv[i];
		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a, '=');
			size_t n = eq ? (size_t)(eq - a) : strlen(a);
			bool takes = in_list(a, n, build_value_long);
			const char *val = NULL;
			if (eq)
				val = eq + 1;
			else if (takes && i + 1 < argc)
				val = argv[++i];
			if (n == 10 && !strncmp(a, "--progress", 10)) {
				b->has_progress = true;
				b->progress = val;
			}
			if (n == 9 && !strncmp(a, "--builder", 9) && val)
				b->builder = val;
			if (n == 6 && !strncmp(a, "--file", 6) && val)
				b->dockerfile = val;
			if (n == 5 && !strncmp(a, "--tag", 5) && val && !b->tag)
				b->tag = val;
			if (n == 8 && !strncmp(a, "--target", 8) && val)
				b->target = val;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			/* -q, -qt tag, -tTAG, -f FILE, -fFILE */
			for (const char *p = a + 1; *p; p++) {
				if (strchr(build_value_short, *p)) {
					const char *val = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
					if (*p == 'f' && val)
						b->dockerfile = val;
					if (*p == 't' && val && !b->tag)
						b->tag = val;
					break;
				}
			}
			continue;
		}
		if (!b->context) {
			b->context = a;
			if (!strcmp(a, "-"))
				b->context_stdin = true;
			else if (is_remote_context(a))
				b->context_remote = true;
		}
	}
	return true;
}

char **lp_docker_argv(int argc, char *const *argv, const struct lp_docker_build *b,
		      const char *progress, bool *added)
{
	static char plain[] = "--progress=plain", rawjson[] = "--progress=rawjson";
	char **v = lp_xcalloc((size_t)argc + 2, sizeof(char *));
	int j = 0;
	*added = false;
	for (int i = 0; i < argc; i++) {
		v[j++] = argv[i];
		if (b && b->is_build && i == b->build_idx && !b->has_progress) {
			v[j++] = progress && !strcmp(progress, "rawjson") ? rawjson : plain;
			*added = true;
		}
	}
	v[j] = NULL;
	return v;
}

/* ------------------------------------------ what the docker CLI supports */

bool lp_docker_cli_parse_version(const char *out, struct lp_docker_cli *cli)
{
	/* "Docker version 28.4.0, build d8eb465" (Debian: "20.10.24+dfsg1") */
	const char *p = out ? strstr(out, "version ") : NULL;
	int major;
	if (!p || sscanf(p + 8, "%d.", &major) != 1 || major < 1)
		return false;
	cli->major = major;
	return true;
}

bool lp_docker_cli_parse_buildx_version(const char *out, struct lp_docker_cli *cli)
{
	/* "github.com/docker/buildx v0.28.0 <commit>" (distributions: "0.28.0+ds1") */
	const char *p = out ? strstr(out, "buildx ") : NULL;
	int ma, mi;
	if (!p)
		return false;
	p += 7;
	if (*p == 'v')
		p++;
	if (sscanf(p, "%d.%d", &ma, &mi) != 2 || ma < 0 || mi < 0)
		return false;
	cli->buildx_major = ma;
	cli->buildx_minor = mi;
	return true;
}

/* The value of the first "Key:   value" line of out, into buf. */
static bool field_value(const char *out, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, kl) != 0 || l[kl] != ':')
			continue;
		const char *v = l + kl + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t n = strcspn(v, "\r\n");
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (!n || n >= len)
			return false;
		memcpy(buf, v, n);
		buf[n] = '\0';
		return true;
	}
	return false;
}

bool lp_docker_cli_parse_buildx_inspect(const char *out, struct lp_docker_cli *cli)
{
	/* "Name:          default\nDriver:        docker\n..." */
	if (!out || !field_value(out, "Name", cli->builder, sizeof(cli->builder)))
		return false;
	if (!field_value(out, "Driver", cli->driver, sizeof(cli->driver)))
		cli->driver[0] = '\0';
	return true;
}

bool lp_docker_cli_has_rawjson(const struct lp_docker_build *b, const struct lp_docker_cli *cli)
{
	if (!b || !b->is_build || !cli)
		return false;
	bool buildx_ok = cli->buildx_major > 0 || (cli->buildx_major == 0 && cli->buildx_minor >= 13);
	if (!buildx_ok)
		return false;
	return b->is_buildx || cli->major >= 23;
}

/* --------------------------------------------------------- .dockerignore */

/* A path cut into its '/'-separated segments. */
struct segs {
	char *buf;
	const char **s;
	size_t n;
};

static void split(const char *path, struct segs *sg)
{
	sg->buf = lp_xstrdup(path);
	size_t cap = 1;
	for (const char *p = path; *p; p++)
		cap += *p == '/';
	sg->s = lp_xcalloc(cap, sizeof(char *));
	sg->n = 0;
	char *p = sg->buf;
	while (*p) {
		char *e = strchr(p, '/');
		if (e)
			*e = '\0';
		if (*p)
			sg->s[sg->n++] = p;
		if (!e)
			break;
		p = e + 1;
	}
}

static void segs_free(struct segs *sg)
{
	free(sg->buf);
	free(sg->s);
	sg->buf = NULL;
	sg->s = NULL;
	sg->n = 0;
}

struct pattern {
	char *text;       /* cleaned, '/'-separated */
	struct segs segs; /* text, split */
	bool exception;   /* "!pattern" */
};

struct lp_ignore {
	struct pattern *p;
	size_t n;
	bool has_exceptions;
};

/* Go's filepath.Clean, for '/'-separated relative patterns; the result has
 * no leading '/'. */
static char *clean_path(const char *in)
{
	size_t len = strlen(in);
	char *out = lp_xmalloc(len + 2);
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* drop the last segment; ".." above the root stays at the root */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return out;
}

struct lp_ignore *lp_ignore_parse(const char *text)
{
	struct lp_ignore *ig = lp_xcalloc(1, sizeof(*ig));
	size_t cap = 0;
	const char *p = text ? text : "";
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *line = lp_xmalloc(n + 1);
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (e ? 1 : 0);
		/* trim (\r of CRLF files included) */
		char *s = line;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		size_t l = strlen(s);
		while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
			s[--l] = '\0';
		if (!l || s[0] == '#') {
			free(line);
			continue;
		}
		bool exc = false;
		if (s[0] == '!') {
			exc = true;
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		char *clean = clean_path(s);
		free(line);
		if (!*clean) {
			free(clean);
			continue;
		}
		if (ig->n == cap) {
			cap = cap ? cap * 2 : 16;
			ig->p = lp_xrealloc(ig->p, cap * sizeof(*ig->p));
		}
		struct pattern *pt = &ig->p[ig->n++];
		pt->text = clean;
		pt->exception = exc;
		split(clean, &pt->segs);
		if (exc)
			ig->has_exceptions = true;
	}
	return ig;
}

void lp_ignore_free(struct lp_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->p[i].text);
		segs_free(&ig->p[i].segs);
	}
	free(ig->p);
	free(ig);
}

/*
 * Pattern segments p against path segments s: "**" matches any number of
 * segments (none included), any other segment exactly one (fnmatch).
 * Wildcard matching with "**" as the star: on a mismatch, only the last
 * "**" seen needs to take one more segment (an earlier one could only
 * take what the later one can), so the work is at most np * ns segment
 * matches. Trying every split at every "**" instead was exponential in
 * their number: one .dockerignore line of "**" and "*" segments in turn
 * took over 10 s on one deep path of the context (found by
 * fuzz/fuzz_dockerctx.c), and record walks the context before the build.
 */
static bool match_segs(const char *const *p, size_t np, const char *const *s, size_t ns)
{
	size_t i = 0, j = 0;
	size_t star = (size_t)-1, taken = 0; /* the last "**" and where its segments end */
	while (j < ns) {
		if (i < np && !strcmp(p[i], "**")) {
			star = i++;
			taken = j;
		} else if (i < np && fnmatch(p[i], s[j], 0) == 0) {
			i++;
			j++;
		} else if (star != (size_t)-1) {
			i = star + 1;
			j = ++taken;
		} else {
			return false;
		}
	}
	while (i < np && !strcmp(p[i], "**"))
		i++;
	return i == np;
}

bool lp_ignore_match(const char *pattern, const char *path)
{
	struct segs ps, ss;
	split(pattern, &ps);
	split(path, &ss);
	bool m = match_segs(ps.s, ps.n, ss.s, ss.n);
	segs_free(&ps);
	segs_free(&ss);
	return m;
}

/* Does the pattern match path or one of its parent directories? */
static bool match_or_parent(const struct segs *ps, const struct segs *ss)
{
	for (size_t k = ss->n; k > 0; k--)
		if (match_segs(ps->s, ps->n, ss->s, k))
			return true;
	return false;
}

bool lp_ignore_excluded(const struct lp_ignore *ig, const char *path)
{
	if (!ig || !ig->n)
		return false;
	struct segs ss;
	split(path, &ss);
	bool excluded = false;
	for (size_t i = 0; i < ig->n; i++) {
		/* only a pattern that can change the answer needs matching */
		if (ig->p[i].exception != excluded)
			continue;
		if (match_or_parent(&ig->p[i].segs, &ss))
			excluded = !ig->p[i].exception;
	}
	segs_free(&ss);
	return excluded;
}

/* Could pattern p match a path strictly below directory segments s? */
static bool may_match_below(const char *const *p, size_t np, const char *const *s, size_t ns)
{
	while (ns > 0) {
		if (np == 0)
			return true; /* matched the dir or a parent: all below */
		if (!strcmp(p[0], "**"))
			return true;
		if (fnmatch(p[0], s[0], 0) != 0)
			return false;
		p++, np--, s++, ns--;
	}
	return true;
}

bool lp_ignore_may_include_below(const struct lp_ignore *ig, const char *dir)
{
	if (!ig || !ig->has_exceptions)
		return false;
	struct segs ss;
	split(dir, &ss);
	bool may = false;
	for (size_t i = 0; i < ig->n && !may; i++)
		if (ig->p[i].exception)
			may = may_match_below(ig->p[i].segs.s, ig->p[i].segs.n, ss.s, ss.n);
	segs_free(&ss);
	return may;
}

/* ------------------------------------------------------ the context walk */

struct walk {
	const struct lp_ignore *ig;
	size_t max;
	struct lp_ctx_list *out;
	char path[PATH_MAX];
};

static void add_file(struct walk *w, const char *rel, const struct stat *st)
{
	struct lp_ctx_list *l = w->out;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->files = lp_xrealloc(l->files, l->cap * sizeof(*l->files));
	}
	struct lp_ctx_file *f = &l->files[l->n++];
	f->path = lp_xstrdup(rel);
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
	f->mode = st->st_mode;
	if (S_ISREG(st->st_mode))
		l->bytes += (uint64_t)st->st_size;
}

static void add_empty_dir(struct walk *w, const char *rel)
{
	struct lp_ctx_list *l = w->out;
	if (l->nempty_dirs == l->empty_dirs_cap) {
		l->empty_dirs_cap = l->empty_dirs_cap ? l->empty_dirs_cap * 2 : 64;
		l->empty_dirs = lp_xrealloc(l->empty_dirs, l->empty_dirs_cap * sizeof(*l->empty_dirs));
	}
	l->empty_dirs[l->nempty_dirs++] = lp_xstrdup(rel);
}

/* Walk directory fd whose context-relative path is w->path[0..plen);
 * listed: the directory itself is sent (not excluded by .dockerignore). */
static void walk_dir(struct walk *w, int dfd, size_t plen, int depth, bool listed)
{
	size_t n0 = w->out->n, e0 = w->out->nempty_dirs;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		w->out->errors++;
		return;
	}
	struct dirent *de;
	while (!w->out->capped && (de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		size_t nlen = strlen(name);
		size_t sep = plen ? 1 : 0;
		if (plen + sep + nlen + 1 > sizeof(w->path)) {
			w->out->errors++;
			continue;
		}
		if (sep)
			w->path[plen] = '/';
		memcpy(w->path + plen + sep, name, nlen + 1);
		size_t clen = plen + sep + nlen;

		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			w->out->errors++;
			continue;
		}
		bool excluded = lp_ignore_excluded(w->ig, w->path);
		if (S_ISDIR(st.st_mode)) {
			if (excluded && !lp_ignore_may_include_below(w->ig, w->path)) {
				w->out->ignored++;
				continue;
			}
			if (depth > 256) {
				w->out->errors++;
				continue;
			}
			int sub = openat(dirfd(d), name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				w->out->errors++;
				continue;
			}
			walk_dir(w, sub, clen, depth + 1, !excluded);
			w->path[plen] = '\0';
			continue;
		}
		if (excluded) {
			w->out->ignored++;
			continue;
		}
		if (w->out->n >= w->max) {
			w->out->capped = true;
			break;
		}
		add_file(w, w->path, &st);
	}
	closedir(d);
	w->path[plen] = '\0';
	if (plen && listed && !w->out->capped && w->out->n == n0 && w->out->nempty_dirs == e0)
		add_empty_dir(w, w->path);
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct lp_ctx_file *)a)->path, ((const struct lp_ctx_file *)b)->path);
}

static int cmp_strs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lp_ctx_walk(const char *root, const struct lp_ignore *ig, size_t max_files,
		struct lp_ctx_list *out)
{
	memset(out, 0, sizeof(*out));
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct walk *w = lp_xcalloc(1, sizeof(*w));
	w->ig = ig;
	w->max = max_files;
	w->out = out;
	walk_dir(w, fd, 0, 0, true);
	free(w);
	if (out->n > 1)
		qsort(out->files, out->n, sizeof(*out->files), cmp_files);
	if (out->nempty_dirs > 1)
		qsort(out->empty_dirs, out->nempty_dirs, sizeof(*out->empty_dirs), cmp_strs);
	return 0;
}

void lp_ctx_list_free(struct lp_ctx_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->files[i].path);
	free(l->files);
	for (size_t i = 0; i < l->nempty_dirs; i++)
		free(l->empty_dirs[i]);
	free(l->empty_dirs);
	memset(l, 0, sizeof(*l));
}

char *lp_read_text_file(const char *path, size_t max, bool *truncated)
{
	if (truncated)
		*truncated = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	char *buf = lp_xmalloc(max + 1);
	size_t n = 0;
	while (n < max) {
		ssize_t r = read(fd, buf + n, max - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (n == max && truncated) {
		char c;
		*truncated = read(fd, &c, 1) == 1;
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

bool lp_unsupported_builder(int argc, char *const *argv)
{
	if (argc < 2)
		return false;
	const char *b = strrchr(argv[0], '/');
	b = b ? b + 1 : argv[0];
	bool podman = !strcmp(b, "podman"), buildah = !strcmp(b, "buildah");
	if (!podman && !buildah)
		return false;
	/* the first operand is the subcommand (options before it take no
	 * value in the common cases: --log-level=x, --root=x) */
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		return !strcmp(argv[i], "build") || (buildah && !strcmp(argv[i], "bud")) ||
		       (podman && !strcmp(argv[i], "image") && i + 1 < argc && !strcmp(argv[i + 1], "build"));
	}
	return false;
}
