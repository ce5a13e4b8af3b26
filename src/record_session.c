// SPDX-License-Identifier: BSD-2-Clause
/*
 * record's side of the docker shim (shim.h): the socket each docker build
 * of a recorded script connects to. A build's header names it (its argv,
 * cwd, DOCKER_HOST); record lists its context and Dockerfile into an
 * LP_REC_BUILD record (a bake: one per target, from `bake --print`) and
 * records its progress stream apart (session.h reads them back).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "event.h"
#include "record_int.h"
#include "shim.h"


/* The real docker the command would run: "docker" in its PATH. */
static char *find_docker(char *const *envp)
{
	const char *path = NULL;
	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char buf[PATH_MAX];
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		if (n && n + 8 < sizeof(buf)) {
			memcpy(buf, p, n);
			strcpy(buf + n, "/docker");
			if (access(buf, X_OK) == 0)
				return lp_xstrdup(buf);
		}
		p += n + (p[n] == ':');
	}
	return NULL;
}

/* Put the shim first in the command's PATH (shim.h). Only for a command
 * that is not itself a build: a script, make, docker-compose... */
void rec_shim_setup(struct rec *r)
{
	r->shim_listen = -1;
	if (r->no_shim || r->is_build || r->cmd_argc == 0)
		return;
	char *docker = find_docker(r->envp);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!docker || n <= 0) {
		free(docker);
		return; /* nothing to intercept */
	}
	self[n] = '\0';
	char tmpl[] = "/tmp/layerprof-shim.XXXXXX";
	if (!mkdtemp(tmpl)) {
		lp_warn("no docker shim (%s): builds the command runs will share one stream",
			strerror(errno));
		free(docker);
		return;
	}
	r->shim_dir = lp_xstrdup(tmpl);
	r->shim_docker = docker;
	char link[sizeof(tmpl) + 8], sock[sizeof(tmpl) + 8];
	snprintf(link, sizeof(link), "%s/docker", tmpl);
	snprintf(sock, sizeof(sock), "%s/sock", tmpl);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (symlink(self, link) < 0 || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 64) < 0) {
		lp_warn("no docker shim (%s): builds the command runs will share one stream",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	/* the command runs as its user: it must reach the shim and the socket */
	if (r->creds.drop) {
		if (chown(tmpl, r->creds.uid, r->creds.gid) < 0 || chown(sock, r->creds.uid, r->creds.gid) < 0)
			lp_warn("docker shim: chown: %s", strerror(errno));
	}
	chmod(tmpl, 0700);
	r->shim_listen = fd;
	/* PATH=<shim>:..., LP_SHIM_SOCK, LP_SHIM_DOCKER */
	size_t ne = 0;
	while (r->envp[ne])
		ne++;
	r->envp = lp_xrealloc(r->envp, (ne + 4) * sizeof(char *));
	bool path_set = false;
	for (size_t i = 0; i < ne; i++) {
		if (!strncmp(r->envp[i], "PATH=", 5)) {
			char *np = lp_xasprintf("PATH=%s:%s", tmpl, r->envp[i] + 5);
			free(r->envp[i]);
			r->envp[i] = np;
			path_set = true;
		}
	}
	if (!path_set)
		r->envp[ne++] = lp_xasprintf("PATH=%s:/usr/local/bin:/usr/bin:/bin", tmpl);
	r->envp[ne++] = lp_xasprintf("%s=%s", LP_SHIM_SOCK_ENV, sock);
	r->envp[ne++] = lp_xasprintf("%s=%s", LP_SHIM_DOCKER_ENV, docker);
	r->envp[ne] = NULL;
	if (r->verbose)
		lp_error("docker shim in %s (real docker: %s): each build gets its own stream", tmpl,
			 docker);
}

void rec_shim_teardown(struct rec *r)
{
	if (r->shim_listen >= 0)
		close(r->shim_listen);
	r->shim_listen = -1;
	if (r->shim_dir) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/sock", r->shim_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/docker", r->shim_dir);
		unlink(p);
		rmdir(r->shim_dir);
		free(r->shim_dir);
		r->shim_dir = NULL;
	}
	free(r->shim_docker);
	r->shim_docker = NULL;
	for (size_t i = 0; i < r->nconns; i++) {
		struct shim_conn *c = r->conns[i];
		if (c->p.fd >= 0)
			close(c->p.fd);
		lp_buf_free(&c->p.line);
		lp_buf_free(&c->p.whole);
		lp_buf_free(&c->head);
		for (int k = 0; k < c->p.nbake; k++) {
			free(c->p.bake[k]);
			free(c->bake_tags[k]);
		}
		free(c->bake_tags);
		free(c->p.bake);
		free(c->p.vtx_bake);
		for (int k = 0; k < c->argc; k++)
			free(c->argv[k]);
		free(c->argv);
		free(c->docker_host);
		free(c);
	}
	free(r->conns);
	r->conns = NULL;
	r->nconns = 0;
}

static void write_build_record(struct rec *r, uint32_t pid, uint32_t tid, uint32_t what, const char *json)
{
	if (!r->w || r->write_failed)
		return;
	size_t len = strlen(json) + 1;
	size_t size = (sizeof(struct lp_rec_build) + len + 7) & ~(size_t)7;
	if (size > UINT16_MAX)
		return;
	uint8_t *buf = lp_xcalloc(1, size);
	struct lp_rec_build *rec = (struct lp_rec_build *)buf;
	lp_hdr_set(&rec->h, size, LP_REC_BUILD, pid, tid ? tid : pid, what, lp_now_ns());
	rec->len = (__u16)len;
	memcpy(buf + sizeof(*rec), json, len);
	if (lp_writer_append(r->w, buf, size) < 0 && lp_writer_error(r->w))
		r->write_failed = true;
	free(buf);
}

/* The BEGIN record of one build: its JSON (META "build" shape) made of
 * d and bc, the command, the cwd; too big a record drops the Dockerfile. */
static void begin_build(struct rec *r, uint32_t pid, uint32_t tid, cJSON *b)
{
	char *json = cJSON_PrintUnformatted(b);
	if (json && strlen(json) + 1 + sizeof(struct lp_rec_build) > UINT16_MAX) {
		/* a record holds 64 KiB: the Dockerfile's text goes first */
		cJSON_ReplaceItemInObject(b, "dockerfile_text", cJSON_CreateNull());
		cJSON_ReplaceItemInObject(b, "dockerfile_truncated", cJSON_CreateTrue());
		free(json);
		json = cJSON_PrintUnformatted(b);
	}
	if (json)
		write_build_record(r, pid, tid, LP_BUILD_BEGIN, json);
	free(json);
}

static void free_build_ctx(struct build_ctx *bc)
{
	free(bc->context_abs);
	free(bc->dockerfile_abs);
	free(bc->dockerfile_text);
	free(bc->dockerignore);
	lp_ctx_list_free(&bc->ctx);
	memset(bc, 0, sizeof(*bc));
}

/* `docker buildx bake`: ask it what it will build (`bake --print`, in
 * the command's directory), and note each target as a build of its own
 * (hdr.tid = 1 + its index). Returns how many. */
static int shim_bake(struct rec *r, struct shim_conn *c, char **av, int argc, const char *cwd,
		     const char *host, const cJSON *command)
{
	char **pv = lp_xcalloc((size_t)argc + 3, sizeof(char *));
	int n = 0;
	pv[n++] = r->shim_docker;
	for (int i = 1; i < argc; i++)
		if (strncmp(av[i], "--progress", 10) != 0)
			pv[n++] = av[i];
	pv[n++] = (char *)"--print";
	struct capture cap;
	rec_capture_start(r, pv, cwd, &cap);
	char *out = rec_capture_finish(&cap, lp_now_ns() + 10000000000ull);
	free(pv);
	cJSON *doc = out ? cJSON_Parse(out) : NULL;
	free(out);
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(doc, "target"), *t;
	int nt = 0;
	cJSON_ArrayForEach(t, targets) {
		if (!t->string || !cJSON_IsObject(t))
			continue;
		const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "context"));
		const char *df = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "dockerfile"));
		const cJSON *tags = cJSON_GetObjectItemCaseSensitive(t, "tags");
		const char *tag = cJSON_IsArray(tags) ? cJSON_GetStringValue(cJSON_GetArrayItem(tags, 0)) : NULL;
		struct lp_docker_build d = { .is_build = true };
		d.context = ctx ? ctx : ".";
		/* bake's dockerfile is relative to the context, the CLI's -f to the cwd */
		char *dfpath = df && df[0] != '/' ? lp_xasprintf("%s/%s", d.context, df) : (df ? lp_xstrdup(df) : NULL);
		d.dockerfile = dfpath;
		d.tag = tag;
		d.target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "target"));
		struct build_ctx bc = { 0 };
		rec_analyze_context(&d, cwd, &bc, r->verbose);
		cJSON *b = cJSON_CreateObject();
		cJSON_AddNumberToObject(b, "index", r->nbuilds);
		cJSON_AddNumberToObject(b, "pid", c->pid);
		rec_add_build_json(b, &d, &bc, rec_docker_host_of(argc, av, host));
		cJSON_AddStringToObject(b, "bake_target", t->string);
		cJSON_AddNumberToObject(b, "bake_index", nt + 1);
		cJSON_AddItemToObject(b, "command", cJSON_Duplicate(command, true));
		if (cwd)
			cJSON_AddStringToObject(b, "cwd", cwd);
		begin_build(r, c->pid, (uint32_t)nt + 1, b);
		cJSON_Delete(b);
		if (bc.ctx_listed && rec_write_context_files(r, &bc, c->pid, (uint32_t)nt + 1) < 0)
			r->write_failed = true;
		free_build_ctx(&bc);
		free(dfpath);
		c->p.bake = lp_xrealloc(c->p.bake, (size_t)(nt + 1) * sizeof(char *));
		c->bake_tags = lp_xrealloc(c->bake_tags, (size_t)(nt + 1) * sizeof(char *));
		c->bake_tags[nt] = tag ? lp_xstrdup(tag) : NULL;
		c->p.bake[nt++] = lp_xstrdup(t->string);
		c->p.nbake = nt;
		r->nbuilds++;
	}
	cJSON_Delete(doc);
	return nt;
}

/* A build's header line: note the build (LP_REC_BUILD), list its context. */
static void shim_header(struct rec *r, struct shim_conn *c, const char *line)
{
	cJSON *h = lp_starts_with(line, LP_SHIM_MAGIC) ? cJSON_Parse(line + strlen(LP_SHIM_MAGIC)) : NULL;
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(h, "argv");
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(h, "cwd");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(h, "docker_host");
	int argc = cJSON_GetArraySize(argv);
	char **av = lp_xcalloc((size_t)argc + 1, sizeof(char *));
	int k = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, argv)
		if (cJSON_IsString(e) && k < argc)
			av[k++] = e->valuestring;
	struct lp_docker_build d;
	struct build_ctx bc = { 0 };
	int bake_idx;
	bool bake_progress;
	c->argv = lp_xcalloc((size_t)k + 1, sizeof(char *));
	for (int i = 0; i < k; i++)
		c->argv[i] = lp_xstrdup(av[i]);
	c->argc = k;
	if (cJSON_IsString(host))
		c->docker_host = lp_xstrdup(host->valuestring);
	if (k > 0 && lp_docker_is_bake(k, av, &bake_idx, &bake_progress)) {
		c->index = r->nbuilds;
		cJSON *cmd = cJSON_CreateArray();
		char **red = r->redact ? lp_redact_argv(k, (const char *const *)av, NULL) : NULL;
		for (int i = 0; i < k; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(red ? red[i] : av[i]));
		lp_redact_free(red, k);
		int n = shim_bake(r, c, av, k, cJSON_IsString(cwd) ? cwd->valuestring : NULL,
				  cJSON_IsString(host) ? host->valuestring : NULL, cmd);
		cJSON_Delete(cmd);
		if (r->verbose)
			lp_error("bake (pid %u): %d target%s", c->pid, n, n == 1 ? "" : "s");
		if (n > 0) {
			free(av);
			cJSON_Delete(h);
			return;
		}
		/* bake --print said nothing usable: one build of unknown shape */
	}
	c->index = r->nbuilds++;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddNumberToObject(b, "index", c->index);
	cJSON_AddNumberToObject(b, "pid", c->pid);
	if (k > 0 && lp_docker_parse(k, av, &d)) {
		rec_analyze_context(&d, cJSON_IsString(cwd) ? cwd->valuestring : NULL, &bc, r->verbose);
		rec_add_build_json(b, &d, &bc,
			       rec_docker_host_of(k, av, cJSON_IsString(host) ? host->valuestring : NULL));
	}
	cJSON *ca = cJSON_AddArrayToObject(b, "command");
	char **red = r->redact ? lp_redact_argv(k, (const char *const *)av, NULL) : NULL;
	for (int i = 0; i < k; i++)
		cJSON_AddItemToArray(ca, cJSON_CreateString(red ? red[i] : av[i]));
	lp_redact_free(red, k);
	if (cJSON_IsString(cwd))
		cJSON_AddStringToObject(b, "cwd", cwd->valuestring);
	begin_build(r, c->pid, 0, b);
	cJSON_Delete(b);
	if (bc.ctx_listed && rec_write_context_files(r, &bc, c->pid, 0) < 0)
		r->write_failed = true;
	if (r->verbose)
		lp_error("build %d (pid %u): %s", c->index, c->pid, bc.context_abs ? bc.context_abs : "?");
	free_build_ctx(&bc);
	free(av);
	cJSON_Delete(h);
}

void rec_shim_accept(struct rec *r)
{
	for (;;) {
		int fd = accept4(r->shim_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
		    r->nconns >= 1024 * 1024) {
			close(fd);
			continue;
		}
		struct shim_conn *c = lp_xcalloc(1, sizeof(*c));
		c->pid = (uint32_t)cred.pid;
		c->index = -1;
		c->p = (struct outpipe){ .fd = fd, .stream = 2, .tgid = (uint32_t)cred.pid };
		r->conns = lp_xrealloc(r->conns, (r->nconns + 1) * sizeof(*r->conns));
		r->conns[r->nconns] = c;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_CONN0 + (uint32_t)r->nconns };
		r->nconns++;
		epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Read a build's stream: its header line first, then its progress. */
void rec_shim_read(struct rec *r, struct shim_conn *c, bool record)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(c->p.fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (c->index >= 0) {
				rec_end_output(r, &c->p, record);
				char *json = lp_xasprintf("{\"index\":%d}", c->index);
				write_build_record(r, c->pid, 0, LP_BUILD_END, json);
				free(json);
			}
			epoll_ctl(r->ep, EPOLL_CTL_DEL, c->p.fd, NULL);
			close(c->p.fd);
			c->p.fd = -1;
			return;
		}
		size_t off = 0;
		if (c->index < 0) {
			const char *nl = memchr(buf, '\n', (size_t)n);
			size_t take = nl ? (size_t)(nl - buf) : (size_t)n;
			if (c->head.len + take < 1 << 20)
				lp_buf_append(&c->head, buf, take);
			if (!nl)
				continue;
			shim_header(r, c, c->head.data ? c->head.data : "");
			off = take + 1;
		}
		uint64_t ts = lp_now_ns();
		if (!r->show_translated)
			rec_write_all(2, buf + off, (size_t)n - off);
		rec_take_output(r, &c->p, buf + off, (size_t)n - off, ts, record);
	}
}

bool rec_shim_streams_open(const struct rec *r)
{
	for (size_t i = 0; i < r->nconns; i++)
		if (r->conns[i]->p.fd >= 0)
			return true;
	return false;
}


/* The images of the session's builds (by tag; a failed build's is an
 * older image of that tag: the model ignores it). */
cJSON *rec_inspect_session_images(struct rec *r)
{
	cJSON *arr = NULL;
	for (size_t i = 0; i < r->nconns; i++) {
		struct shim_conn *c = r->conns[i];
		struct lp_docker_build d = { 0 };
		int bake_idx;
		bool bp;
		if (c->index < 0 || !c->argc)
			continue;
		bool bake = lp_docker_is_bake(c->argc, c->argv, &bake_idx, &bp);
		if (bake)
			d.global_end = 1;
		else if (!lp_docker_parse(c->argc, c->argv, &d) || !d.tag)
			continue;
		/* a bake: docker's own options are those before "buildx" */
		for (int k = 1; bake && k < bake_idx; k++) {
			if (!strcmp(c->argv[k], "buildx")) {
				d.global_end = k;
				break;
			}
		}
		char **g = lp_xcalloc((size_t)d.global_end + 3, sizeof(char *));
		int n = 0;
		g[n++] = r->shim_docker;
		for (int k = 1; k < d.global_end; k++)
			g[n++] = c->argv[k];
		if (c->docker_host && !rec_docker_host_of(c->argc, c->argv, NULL)) {
			g[n++] = (char *)"-H";
			g[n++] = c->docker_host;
		}
		/* a build: its tag; a bake: each target's */
		int ntags = bake ? c->p.nbake : 1;
		for (int t = 0; t < ntags; t++) {
			const char *tag = bake ? c->bake_tags[t] : d.tag;
			cJSON *img = tag ? rec_inspect_ref(r, g, n, tag) : NULL;
			if (!img)
				continue;
			cJSON_AddNumberToObject(img, "index", c->index + t);
			if (!arr)
				arr = cJSON_CreateArray();
			cJSON_AddItemToArray(arr, img);
		}
		free(g);
	}
	return arr;
}
