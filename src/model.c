/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Loading the model of one recording (model.h) in two passes:
 *
 *  pass 1  structure: META, progress lines (steps), the process tree
 *          (seed/fork/exec/exit), the context manifest, and which layer
 *          snapshot dirs the daemon wrote (resolved paths);
 *  then    correlate.c attributes processes and snapshots to steps;
 *  pass 2  activity: every syscall and per-fd I/O aggregate is attributed
 *          to a step and a process and summed per (step, path).
 *
 * The trace is decoded once. A second thread inflates it while pass 1
 * works (read-ahead); pass 1 also writes what pass 2 needs of each record
 * onto a compact tape in memory, with its paths already resolved and
 * turned into numbers (interned), and pass 2 replays the tape. So pass 2
 * works out what depends on a path alone (display form, snapshot, context
 * file...) once per distinct path, not once per event. A tape that would
 * outgrow its budget (a huge trace) is dropped: pass 2 then reads the
 * trace a second time, and memory stays bounded.
 *
 * Otherwise memory grows with processes, distinct paths and steps, not
 * with the number of events.
 */
#include "model.h"
#include "model_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event.h"
#include "infer.h"
#include "progress.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"
#include "util.h"

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	*p = lp_xrealloc(*p, nc * elem);
	memset((char *)*p + *cap * elem, 0, (nc - *cap) * elem);
	*cap = nc;
}

/* ------------------------------------------------------------- processes */

static size_t pid_slot(const struct lp_priv *pv, uint32_t pid)
{
	size_t mask = pv->pid_cap - 1;
	size_t i = (size_t)((pid * 2654435761u) >> 3) & mask;
	while (pv->pid_keys[i] && pv->pid_keys[i] != pid)
		i = (i + 1) & mask;
	return i;
}

static int pid_last(const struct lp_priv *pv, uint32_t pid)
{
	if (!pv->pid_cap || !pid)
		return -1;
	size_t i = pid_slot(pv, pid);
	return pv->pid_keys[i] ? pv->pid_vals[i] : -1;
}

static void pid_set(struct lp_priv *pv, uint32_t pid, int idx)
{
	if (!pid)
		pid = UINT32_MAX; /* pid 0 (hostile input): a key of its own */
	if ((pv->pid_n + 1) * 2 > pv->pid_cap) {
		uint32_t *ok = pv->pid_keys;
		int *ov = pv->pid_vals;
		size_t oc = pv->pid_cap;
		pv->pid_cap = oc ? oc * 2 : 1024;
		pv->pid_keys = lp_xcalloc(pv->pid_cap, sizeof(uint32_t));
		pv->pid_vals = lp_xcalloc(pv->pid_cap, sizeof(int));
		for (size_t i = 0; i < oc; i++)
			if (ok[i]) {
				size_t j = pid_slot(pv, ok[i]);
				pv->pid_keys[j] = ok[i];
				pv->pid_vals[j] = ov[i];
			}
		free(ok);
		free(ov);
	}
	size_t i = pid_slot(pv, pid);
	if (!pv->pid_keys[i]) {
		pv->pid_keys[i] = pid;
		pv->pid_n++;
	}
	pv->pid_vals[i] = idx;
}

struct lp_proc *lp_model_proc_new(struct lp_model *m, uint32_t pid, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	size_t cap = pv->procs_cap;
	grow((void **)&m->procs, &pv->procs_cap, m->nprocs + 1, sizeof(struct lp_proc));
	if (pv->procs_cap != cap) {
		size_t c;
		c = cap;
		grow((void **)&pv->pid_prev, &c, pv->procs_cap, sizeof(int));
		c = cap;
		grow((void **)&pv->pend_argv, &c, pv->procs_cap, sizeof(char **));
		c = cap;
		grow((void **)&pv->pend_argc, &c, pv->procs_cap, sizeof(int));
		c = cap;
		grow((void **)&pv->first_cmd, &c, pv->procs_cap, sizeof(char *));
		c = cap;
		grow((void **)&pv->pcache, &c, pv->procs_cap, sizeof(uint8_t));
	}
	int idx = (int)m->nprocs++;
	struct lp_proc *p = &m->procs[idx];
	memset(p, 0, sizeof(*p));
	p->index = idx;
	p->pid = pid;
	p->parent = -1;
	p->step = -1;
	p->start_ns = ts;
	pv->pcache[idx] = 0;
	pv->pc_valid = false; /* proc_at_cached() */
	pv->pid_prev[idx] = pid_last(pv, pid ? pid : UINT32_MAX);
	pid_set(pv, pid, idx);
	return p;
}

/* The proc with that pid at ts, created (unknown origin) when absent. */
struct lp_proc *lp_model_proc_get(struct lp_model *m, uint32_t pid, uint64_t ts)
{
	const struct lp_proc *p = lp_model_proc_at(m, pid, ts);
	if (p)
		return &m->procs[p->index];
	struct lp_proc *n = lp_model_proc_new(m, pid, 0);
	n->seeded = true;
	return n;
}

const struct lp_proc *lp_model_proc_at(const struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	int i = pid_last(pv, tgid ? tgid : UINT32_MAX);
	int last = i;
	while (i >= 0) {
		const struct lp_proc *p = &m->procs[i];
		if (p->start_ns <= ts)
			return p;
		i = pv->pid_prev[i];
	}
	/* Before the first known start (clock skew): the oldest one. */
	if (last >= 0) {
		i = last;
		while (pv->pid_prev[i] >= 0)
			i = pv->pid_prev[i];
		return &m->procs[i];
	}
	return NULL;
}

/* lp_model_proc_at() for the passes, where a process's records come in
 * runs: the last answer holds for the same tgid while ts is at or after
 * the process's start and before the start of every newer process with
 * that pid (any of them would be found first). A new process, or a start
 * time set, voids it. */
static const struct lp_proc *proc_at_cached(struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	if (pv->pc_valid && tgid == pv->pc_tgid && ts >= pv->pc_lo && ts < pv->pc_hi)
		return &m->procs[pv->pc_idx];
	int i = pid_last(pv, tgid ? tgid : UINT32_MAX);
	uint64_t hi = UINT64_MAX;
	for (; i >= 0; i = pv->pid_prev[i]) {
		const struct lp_proc *p = &m->procs[i];
		if (p->start_ns <= ts) {
			pv->pc_valid = true;
			pv->pc_tgid = tgid;
			pv->pc_idx = i;
			pv->pc_lo = p->start_ns;
			pv->pc_hi = hi;
			return p;
		}
		if (p->start_ns < hi)
			hi = p->start_ns;
	}
	return lp_model_proc_at(m, tgid, ts); /* before every start: not cached */
}

/* lp_model_proc_get() through proc_at_cached(). */
static struct lp_proc *proc_get_cached(struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	const struct lp_proc *p = proc_at_cached(m, tgid, ts);
	return p ? &m->procs[p->index] : lp_model_proc_get(m, tgid, ts);
}

int lp_model_step_of(const struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	const struct lp_proc *p = lp_model_proc_at(m, tgid, ts);
	return p ? p->step : -1;
}

/* ----------------------------------------------------------------- files */

struct lp_ctx_file *lp_model_ctx_get(struct lp_model *m, const char *path, bool create)
{
	struct lp_priv *pv = lp_priv(m);
	int i = lp_smap_get(&pv->ctx_idx, path);
	if (i >= 0)
		return &m->ctx_files[i];
	if (!create)
		return NULL;
	grow((void **)&m->ctx_files, &pv->ctx_cap, m->nctx_files + 1, sizeof(struct lp_ctx_file));
	i = (int)m->nctx_files++;
	struct lp_ctx_file *c = &m->ctx_files[i];
	memset(c, 0, sizeof(*c));
	c->path = lp_xstrdup(path);
	c->first_reader = -1;
	c->secret = lp_path_is_secret(path);
	lp_smap_put(&pv->ctx_idx, path, i);
	/* every ancestor directory */
	char *d = lp_xstrdup(path);
	for (char *s = strrchr(d, '/'); s; s = strrchr(d, '/')) {
		*s = 0;
		if (lp_smap_get(&pv->ctx_dirs, d) >= 0)
			break;
		lp_smap_put(&pv->ctx_dirs, d, 1);
	}
	free(d);
	return c;
}

/* -------------------------------------------------------------- findings */

struct lp_finding *lp_model_finding_new(struct lp_model *m, enum lp_finding_kind k, int step)
{
	struct lp_priv *pv = lp_priv(m);
	grow((void **)&m->findings, &pv->findings_cap, m->nfindings + 1, sizeof(struct lp_finding));
	struct lp_finding *f = &m->findings[m->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = k;
	f->step = step;
	return f;
}

void lp_finding_add_path(struct lp_finding *f, const char *path)
{
	f->paths = lp_xrealloc(f->paths, (f->npaths + 1) * sizeof(char *));
	f->paths[f->npaths++] = lp_xstrdup(path);
	if (f->npaths_total < f->npaths)
		f->npaths_total = f->npaths;
}

void lp_finding_add_evidence(struct lp_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	f->evidence = lp_xrealloc(f->evidence, (f->nevidence + 1) * sizeof(char *));
	f->evidence[f->nevidence++] = s;
}

/* ------------------------------------------------------------ META JSON */

static char *json_str_dup(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && v->valuestring ? lp_xstrdup(v->valuestring) : NULL;
}

static void add_data_root(struct lp_model *m, const char *root)
{
	if (!root || !*root)
		return;
	for (size_t i = 0; i < m->build.ndata_roots; i++)
		if (!strcmp(m->build.data_roots[i], root))
			return;
	m->build.data_roots = lp_xrealloc(m->build.data_roots,
					  (m->build.ndata_roots + 1) * sizeof(char *));
	m->build.data_roots[m->build.ndata_roots++] = lp_xstrdup(root);
}

/* Any "data_root"/"data-root"/"dataRoot" string, at any depth. */
static void find_data_roots(struct lp_model *m, const cJSON *o, int depth)
{
	if (!o || depth > 6)
		return;
	const cJSON *c;
	cJSON_ArrayForEach(c, o) {
		if (c->string && cJSON_IsString(c) &&
		    (!strcmp(c->string, "data_root") || !strcmp(c->string, "data-root") ||
		     !strcmp(c->string, "dataRoot") || !strcmp(c->string, "DockerRootDir")))
			add_data_root(m, c->valuestring);
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			find_data_roots(m, c, depth + 1);
	}
}

/* Image size from an "image" object ({"size": n} / {"Size": n}). */
static void find_image(struct lp_model *m, const cJSON *root)
{
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(root, "image");
	if (!cJSON_IsObject(img))
		return;
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(img, "size");
	if (!sz)
		sz = cJSON_GetObjectItemCaseSensitive(img, "Size");
	if (cJSON_IsNumber(sz) && sz->valuedouble > 0) {
		m->build.image_bytes = (uint64_t)sz->valuedouble;
		m->build.image_bytes_source = "image inspect";
	}
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(img, "ref");
	if (!ref)
		ref = cJSON_GetObjectItemCaseSensitive(img, "tag");
	if (cJSON_IsString(ref) && !m->build.image_ref)
		m->build.image_ref = lp_xstrdup(ref->valuestring);
}

static void parse_meta(struct lp_model *m, const char *meta)
{
	cJSON *root = meta ? cJSON_Parse(meta) : NULL;
	if (!root)
		return;
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "build");
	if (cJSON_IsObject(b)) {
		m->build.context_dir = json_str_dup(b, "context");
		m->build.dockerfile_path = json_str_dup(b, "dockerfile");
		m->build.dockerfile_text = json_str_dup(b, "dockerfile_text");
		if (!m->build.image_ref)
			m->build.image_ref = json_str_dup(b, "tag");
	}
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "command");
	if (cJSON_IsArray(cmd)) {
		struct lp_buf buf = { 0 };
		const cJSON *a;
		cJSON_ArrayForEach(a, cmd) {
			if (!cJSON_IsString(a))
				continue;
			if (buf.len)
				lp_buf_puts(&buf, " ");
			lp_buf_puts(&buf, a->valuestring);
		}
		m->build.command = buf.data;
	} else if (cJSON_IsString(cmd)) {
		m->build.command = lp_xstrdup(cmd->valuestring);
	}
	find_data_roots(m, root, 0);
	find_image(m, root);
	cJSON_Delete(root);
}

static uint64_t sum_numbers(const cJSON *o, int depth)
{
	uint64_t s = 0;
	if (!o || depth > 4)
		return 0;
	if (cJSON_IsNumber(o))
		return o->valuedouble > 0 ? (uint64_t)o->valuedouble : 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, o) s += sum_numbers(c, depth + 1);
	return s;
}

static void parse_trailer(struct lp_model *m, const char *trailer)
{
	cJSON *root = trailer ? cJSON_Parse(trailer) : NULL;
	if (!root)
		return;
	static const char *reason_names[LP_LOST_NR] = { "ringbuf", "inflight", "fdio", "traced",
							 "counts" };
	const cJSON *lost = cJSON_GetObjectItemCaseSensitive(root, "lost");
	if (!lost)
		lost = cJSON_GetObjectItemCaseSensitive(root, "lost_events");
	if (cJSON_IsNumber(lost)) {
		m->build.lost_events = (uint64_t)lost->valuedouble;
	} else if (cJSON_IsObject(lost)) {
		const cJSON *tot = cJSON_GetObjectItemCaseSensitive(lost, "total");
		const cJSON *by = cJSON_GetObjectItemCaseSensitive(lost, "by_reason");
		if (!by)
			by = lost;
		uint64_t sum = 0;
		for (int i = 0; i < LP_LOST_NR; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(by, reason_names[i]);
			m->build.lost_by_reason[i] = sum_numbers(v, 0);
			sum += m->build.lost_by_reason[i];
		}
		m->build.lost_events = cJSON_IsNumber(tot) ? (uint64_t)tot->valuedouble : sum;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "command_status");
	if (!st)
		st = cJSON_GetObjectItemCaseSensitive(root, "exit_status");
	if (cJSON_IsNumber(st))
		m->build.command_status = (int)st->valuedouble;
	find_data_roots(m, root, 0);
	find_image(m, root);
	cJSON_Delete(root);
}

/* ----------------------------------------------------------- bind mounts */

void lp_model_note_mount(struct lp_model *m, const char *target, const char *source)
{
	struct lp_priv *pv = lp_priv(m);
	if (!strstr(target, "/buildkit-mount"))
		return; /* only temporary mounts are looked through */
	int i = lp_smap_get(&pv->mnt_idx, target);
	if (i < 0) {
		grow((void **)&pv->mnt_src, &pv->mnt_cap, pv->nmnt + 1, sizeof(char *));
		i = (int)pv->nmnt++;
		lp_smap_put(&pv->mnt_idx, target, i);
	}
	free(pv->mnt_src[i]);
	pv->mnt_src[i] = lp_xstrdup(source);
}

void lp_model_reset_mounts(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	for (size_t i = 0; i < pv->nmnt; i++)
		free(pv->mnt_src[i]);
	free(pv->mnt_src);
	pv->mnt_src = NULL;
	pv->nmnt = pv->mnt_cap = 0;
	lp_smap_free(&pv->mnt_idx);
}

const char *lp_model_translate(const struct lp_model *m, const char *path, char *buf, size_t len)
{
	struct lp_priv *pv = lp_priv(m);
	if (!path || !pv->nmnt || !strstr(path, "/buildkit-mount"))
		return path;
	size_t dl;
	const char *rel;
	if (lp_snap_split(path, &dl, &rel) != LP_SNAP_TMPMOUNT)
		return path;
	char *dir = strndup(path, dl);
	int i = dir ? lp_smap_get(&pv->mnt_idx, dir) : -1;
	free(dir);
	if (i < 0)
		return path;
	snprintf(buf, len, "%s%s%s", pv->mnt_src[i], *rel ? "/" : "", rel);
	return buf;
}

/* A successful bind mount: remember where a temporary mount points. */
static void note_mount_ev(struct lp_model *m, struct lp_resolver *res, const struct lp_ev_syscall *ev)
{
	if (ev->h.aux != LP_SC_MOUNT || ev->ret < 0 || ev->nstr < 2 || !(ev->args[3] & 4096 /* MS_BIND */) ||
	    (ev->args[3] & 32 /* MS_REMOUNT */))
		return;
	const char *raw = lp_ev_syscall_str(ev, 0, NULL);
	if (!raw || !*raw)
		return;
	char sb[4096], tb[4096];
	const char *src = lp_resolve_path(res, ev, 0, sb, sizeof(sb));
	const char *dst = lp_resolve_path(res, ev, 1, tb, sizeof(tb));
	if (src && dst)
		lp_model_note_mount(m, dst, src);
}

/* ---------------------------------------------------------------- pass 1 */

static char **argv_from_iter(struct lp_str_iter *it, int *argc, bool skip_first, char **first)
{
	char **v = NULL;
	int n = 0;
	const char *s;
	size_t len;
	bool skipped = !skip_first;
	while ((s = lp_str_next(it, &len))) {
		if (!skipped) {
			skipped = true;
			if (first)
				*first = lp_xstrdup(s);
			continue;
		}
		v = lp_xrealloc(v, (size_t)(n + 2) * sizeof(char *));
		v[n++] = lp_xstrdup(s);
		v[n] = NULL;
	}
	*argc = n;
	return v;
}

static void free_argv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The script of "sh -c SCRIPT" or the argv joined. */
static char *cmd_text(char **argv, int argc)
{
	if (argc >= 3 && !strcmp(argv[1], "-c"))
		return lp_xstrdup(argv[2]);
	struct lp_buf b = { 0 };
	for (int i = 0; i < argc; i++) {
		if (i)
			lp_buf_puts(&b, " ");
		lp_buf_puts(&b, argv[i]);
	}
	return b.data ? b.data : lp_xstrdup("");
}

static bool is_write_open(uint64_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

static struct lp_snap *snap_get(struct lp_model *m, const char *path, size_t dir_len,
				enum lp_snap_part part, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	char *dir = strndup(path, dir_len);
	if (!dir)
		return NULL;
	int i = lp_smap_get(&pv->snap_idx, dir);
	if (i < 0) {
		grow((void **)&pv->snaps, &pv->snaps_cap, pv->nsnaps + 1, sizeof(struct lp_snap));
		i = (int)pv->nsnaps++;
		struct lp_snap *s = &pv->snaps[i];
		memset(s, 0, sizeof(*s));
		s->dir = lp_xstrdup(dir);
		s->part = part;
		s->first_ts = ts;
		s->step = -1;
		lp_smap_put(&pv->snap_idx, dir, i);
	}
	free(dir);
	struct lp_snap *s = &pv->snaps[i];
	if (ts < s->first_ts)
		s->first_ts = ts;
	if (ts > s->last_ts)
		s->last_ts = ts;
	return s;
}

#define SNAP_PATHS_MAX 200000

/* Pass 1: a daemon wrote (created, renamed into, mkdir'ed) path. */
static void note_snap_write(struct lp_model *m, const struct lp_proc *p, const char *path, uint64_t ts)
{
	if (!lp_model_in_build_daemon(m, p))
		return;
	size_t dl;
	const char *rel;
	enum lp_snap_part part = lp_snap_split(path, &dl, &rel);
	if (part == LP_SNAP_NONE || part == LP_SNAP_ROOTFS)
		return;
	struct lp_snap *s = snap_get(m, path, dl, part, ts);
	if (!s)
		return;
	s->writes++;
	if (!s->writer)
		s->writer = lp_model_daemon_root(m, p);
	if (*rel && s->paths.n < SNAP_PATHS_MAX && lp_smap_get(&s->paths, rel) < 0) {
		lp_smap_put(&s->paths, rel, 1);
		/* the Dockerfile and .dockerignore go to snapshots of their own */
		const char *b = strrchr(rel, '/');
		b = b ? b + 1 : rel;
		if (lp_smap_get(&lp_priv(m)->ctx_idx, rel) >= 0 && strcmp(b, "Dockerfile") &&
		    strcmp(b, ".dockerignore"))
			s->ctx_matches++;
	}
}

/* pcache bits (per proc) */
#define PC_ROLE_OK   0x80u  /* bits 0-2 hold lp_role_of_proc() */
#define PC_ROLE_MASK 0x07u
#define PC_P2        0x08u  /* pass 2: the two bits below are set */
#define PC_DAEMONISH 0x10u
#define PC_INBUILD   0x20u

/* lp_role_of_proc(p), worked out again only after p's comm, exe or argv
 * changed (role_changed): it is asked for nearly every event. */
static enum lp_role role_of(const struct lp_model *m, const struct lp_proc *p)
{
	uint8_t *c = &lp_priv(m)->pcache[p->index];
	if (!(*c & PC_ROLE_OK))
		*c = (uint8_t)((*c & ~(PC_ROLE_OK | PC_ROLE_MASK)) | PC_ROLE_OK | (unsigned)lp_role_of_proc(p));
	return (enum lp_role)(*c & PC_ROLE_MASK);
}

static void role_changed(struct lp_model *m, const struct lp_proc *p)
{
	lp_priv(m)->pcache[p->index] &= (uint8_t)~PC_ROLE_OK;
}

static bool is_daemonish(const struct lp_model *m, const struct lp_proc *p)
{
	return p->role == LP_ROLE_DAEMON || role_of(m, p) == LP_ROLE_DAEMON;
}

uint32_t lp_model_daemon_root(const struct lp_model *m, const struct lp_proc *p)
{
	uint32_t root = 0;
	for (int depth = 0; p && depth < 64; depth++) {
		if (is_daemonish(m, p))
			root = p->pid;
		p = p->parent >= 0 && p->parent != p->index ? &m->procs[p->parent] : NULL;
	}
	return root;
}

bool lp_model_in_build_daemon(const struct lp_model *m, const struct lp_proc *p)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv->daemon_known)
		return true;
	for (int depth = 0; p && depth < 64; depth++) {
		if (p->pid == pv->daemon_pid)
			return true;
		p = p->parent >= 0 && p->parent != p->index ? &m->procs[p->parent] : NULL;
	}
	return false;
}

/* The value of -H/--host in argv (split on spaces when argc is 1). */
static const char *host_arg(char **argv, int argc, char *buf, size_t len)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-H") || !strcmp(a, "--host")) && i + 1 < argc)
			a = argv[i + 1];
		else if (!strncmp(a, "--host=", 7))
			a += 7;
		else if (!strncmp(a, "-H=", 3))
			a += 3;
		else
			continue;
		if (!strncmp(a, "unix://", 7))
			a += 7;
		snprintf(buf, len, "%s", a);
		return buf;
	}
	return NULL;
}

/* Which traced daemon serves the build: the one listening where the CLI's
 * -H points (default socket when neither says). */
static void identify_daemon(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (pv->daemon_tried)
		return;
	pv->daemon_tried = true;
	if (!m->build.command)
		return;
	char *cmd = lp_xstrdup(m->build.command), *save = NULL;
	char *v[256];
	int n = 0;
	for (char *t = strtok_r(cmd, " ", &save); t && n < 256; t = strtok_r(NULL, " ", &save))
		v[n++] = t;
	char cb[1024], db[1024];
	const char *want = host_arg(v, n, cb, sizeof(cb));
	if (!want)
		want = "/var/run/docker.sock";
	int found = 0;
	uint32_t pid = 0;
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (strncmp(p->comm, "dockerd", 7) || !p->argc || !p->seeded)
			continue;
		const char *have = host_arg(p->argv, p->argc, db, sizeof(db));
		if (!have || !strncmp(have, "fd://", 5))
			have = "/var/run/docker.sock";
		if (!strcmp(have, want) || (!strcmp(want, "/var/run/docker.sock") && !strcmp(have, "/run/docker.sock"))) {
			found++;
			pid = p->pid;
		}
	}
	if (found == 1) {
		pv->daemon_pid = pid;
		pv->daemon_known = true;
	}
	free(cmd);
}

static void pass1_record(struct lp_model *m, struct lp_resolver *res, const struct lp_hdr *h)
{
	struct lp_priv *pv = lp_priv(m);
	switch (h->kind) {
	case LP_REC_PROC_SEED: {
		const struct lp_rec_proc_seed *e = (const void *)h;
		/* reuse a placeholder made by an earlier record of this pid */
		const struct lp_proc *old = lp_model_proc_at(m, h->tgid, h->ts);
		struct lp_proc *p = old && !old->exe && !old->argc && !old->exited
					    ? &m->procs[old->index]
					    : lp_model_proc_new(m, h->tgid, 0);
		p->seeded = true;
		p->ppid = h->aux;
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, e->comm);
		memcpy(p->comm, comm, LP_COMM_LEN);
		p->comm[LP_COMM_LEN - 1] = 0;
		const char *exe = lp_ev_seed_exe(e, NULL);
		if (exe && *exe)
			p->exe = lp_xstrdup(exe);
		struct lp_str_iter it;
		lp_ev_seed_cmdline_iter(e, &it);
		p->argv = argv_from_iter(&it, &p->argc, false, NULL);
		role_changed(m, p);
		if (p->role != LP_ROLE_CLI)
			p->role = lp_role_of_proc(p);
		const struct lp_proc *par = lp_model_proc_at(m, p->ppid, h->ts);
		if (par && par->index != p->index)
			p->parent = par->index;
		break;
	}
	case LP_REC_TRACE_PID: {
		const struct lp_rec_trace_pid *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		if (!p->comm[0]) {
			char comm[LP_COMM_LEN + 1];
			lp_comm_copy(comm, e->comm);
			memcpy(p->comm, comm, LP_COMM_LEN);
			p->comm[LP_COMM_LEN - 1] = 0;
			role_changed(m, p);
		}
		if (h->aux == LP_WHY_COMMAND) {
			p->role = LP_ROLE_CLI;
			if (!p->start_ns) {
				p->start_ns = h->ts; /* started by record just now */
				pv->pc_valid = false; /* proc_at_cached() */
			}
		}
		else if (p->role == LP_ROLE_OTHER)
			p->role = lp_role_of_proc(p);
		break;
	}
	case LP_EV_FORK: {
		const struct lp_ev_fork *e = (const void *)h;
		struct lp_proc *par = lp_model_proc_get(m, h->tgid, h->ts);
		int pidx = par->index;
		struct lp_proc *c = lp_model_proc_new(m, h->aux, h->ts);
		par = &m->procs[pidx];
		c->ppid = h->tgid;
		c->parent = pidx;
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, e->child_comm);
		memcpy(c->comm, comm, LP_COMM_LEN);
		c->comm[LP_COMM_LEN - 1] = 0;
		if (par->exe)
			c->exe = lp_xstrdup(par->exe);
		if (par->argc) {
			c->argv = lp_xcalloc((size_t)par->argc + 1, sizeof(char *));
			for (int i = 0; i < par->argc; i++)
				c->argv[i] = lp_xstrdup(par->argv[i]);
			c->argc = par->argc;
		}
		c->role = par->role == LP_ROLE_CLI ? LP_ROLE_CLI : lp_role_of_proc(c);
		par->agg.forks++;
		break;
	}
	case LP_EV_EXEC_ARGV: {
		const struct lp_ev_exec_argv *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		free_argv(pv->pend_argv[p->index], pv->pend_argc[p->index]);
		struct lp_str_iter it;
		lp_ev_argv_iter(e, &it);
		pv->pend_argv[p->index] = argv_from_iter(&it, &pv->pend_argc[p->index], true, NULL);
		break;
	}
	case LP_EV_EXEC: {
		const struct lp_ev_exec *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		const char *fn = lp_ev_exec_filename(e, NULL);
		free(p->exe);
		p->exe = fn ? lp_xstrdup(fn) : NULL;
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, e->comm);
		memcpy(p->comm, comm, LP_COMM_LEN);
		p->comm[LP_COMM_LEN - 1] = 0;
		if (pv->pend_argv[p->index] || pv->pend_argc[p->index] == 0) {
			free_argv(p->argv, p->argc);
			p->argv = pv->pend_argv[p->index];
			p->argc = pv->pend_argc[p->index];
			pv->pend_argv[p->index] = NULL;
			pv->pend_argc[p->index] = 0;
		}
		if (!pv->first_cmd[p->index] && p->argc)
			pv->first_cmd[p->index] = cmd_text(p->argv, p->argc);
		p->exec_ns = h->ts;
		if (!p->ppid && e->ppid)
			p->ppid = e->ppid;
		role_changed(m, p);
		if (p->role != LP_ROLE_CLI)
			p->role = lp_role_of_proc(p);
		p->agg.execs++;
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		p->exited = true;
		p->end_ns = h->ts;
		p->exit_raw = h->aux;
		if (h->aux & 0x7f)
			p->exit_code = 128 + (int)(h->aux & 0x7f);
		else
			p->exit_code = (int)((h->aux >> 8) & 0xff);
		p->agg.chown += e->counts.chown;
		p->agg.chmod += e->counts.chmod;
		p->agg.utimens += e->counts.utimens;
		p->agg.stat_ok += e->counts.stat_ok;
		break;
	}
	case LP_REC_PROGRESS: {
		size_t len;
		const char *t = lp_ev_progress_text((const void *)h, &len);
		if (t)
			lp_progress_line(m, t, len, h->ts);
		break;
	}
	case LP_REC_CONTEXT_FILE: {
		const struct lp_rec_context_file *e = (const void *)h;
		const char *path = lp_ev_context_path(e, NULL);
		if (!path || !*path)
			break;
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		struct lp_ctx_file *c = lp_model_ctx_get(m, path, true);
		if (!c->in_manifest) {
			c->in_manifest = true;
			c->size = e->size;
			c->mtime_ns = e->mtime_ns;
			c->mode = e->mode;
			if (!e->mode || S_ISREG(e->mode)) {
				m->context.manifest_files++;
				m->context.manifest_bytes += e->size;
			}
		}
		break;
	}
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		identify_daemon(m);
		struct lp_proc *p = proc_get_cached(m, h->tgid, h->ts);
		if (!is_daemonish(m, p) || ev->ret < 0)
			break;
		note_mount_ev(m, res, ev);
		unsigned sc = h->aux;
		char buf[4096];
		const char *path = NULL;
		if (lp_sc_opens_path(sc)) {
			if (sc == LP_SC_OPENAT2 || is_write_open(sc == LP_SC_OPEN ? ev->args[1]
							    : sc == LP_SC_CREAT ? O_CREAT | O_WRONLY
							    : ev->args[2]))
				path = lp_resolve_path(res, ev, 0, buf, sizeof(buf));
			if (sc == LP_SC_OPENAT2)
				path = NULL;
		} else if (sc == LP_SC_MKDIR || sc == LP_SC_MKDIRAT || sc == LP_SC_MKNOD ||
			   sc == LP_SC_MKNODAT) {
			path = lp_resolve_path(res, ev, 0, buf, sizeof(buf));
		} else if (sc == LP_SC_RENAME || sc == LP_SC_RENAMEAT || sc == LP_SC_RENAMEAT2 ||
			   sc == LP_SC_LINK || sc == LP_SC_LINKAT || sc == LP_SC_SYMLINK ||
			   sc == LP_SC_SYMLINKAT) {
			path = lp_resolve_path(res, ev, ev->nstr > 1 ? 1 : 0, buf, sizeof(buf));
		}
		char tb[4096];
		if (path)
			note_snap_write(m, p, lp_model_translate(m, path, tb, sizeof(tb)), h->ts);
		break;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		if (!e->wbytes)
			break;
		struct lp_proc *p = proc_get_cached(m, h->tgid, h->ts);
		if (!is_daemonish(m, p))
			break;
		const char *path = lp_resolver_fd_path(res, h->tgid, (int)h->aux);
		char tb[4096];
		if (path)
			note_snap_write(m, p, lp_model_translate(m, path, tb, sizeof(tb)), h->ts);
		break;
	}
	default:
		break;
	}
}

/* ---------------------------------------------------------------- pass 2 */

/*
 * Pass 2 sees each record as a p2rec: its fixed part (no strings) and its
 * paths, resolved in trace order by pass 1's resolver (before the record
 * itself was fed to it) and interned. Pass 1 keeps them on a tape in
 * memory (below), so the trace is decoded once; paths being numbers, what
 * depends on a path alone (its display form, its snapshot, whether a RUN's
 * read of it came from the context...) is worked out once per path.
 */
struct p2rec {
	union {
		struct lp_hdr h;
		struct lp_ev_syscall sc;
		struct lp_ev_fd_io io;
		struct lp_ev_exit ex;
	} r;
	uint32_t path;          /* syscall: its first path argument that resolves;
				 * fd_io: the path open on the fd */
	uint32_t str0, str1;    /* syscall strings 0 and 1 resolved: rename's new
				 * name (1); mount's source (0) and target (1) */
	uint32_t in, out;       /* copy_file_range/sendfile/splice: the fds' paths */
	bool raw0;              /* mount: string 0 is there and not empty */
};

static const char *pstr(const struct lp_model *m, uint32_t id)
{
	return lp_strtab_str(&lp_priv(m)->paths, id);
}

static uint32_t pintern(struct lp_model *m, const char *s)
{
	return s ? lp_strtab_intern(&lp_priv(m)->paths, s) : 0;
}

struct lp_pinfo *lp_model_pinfo_slow(const struct lp_model *m, uint32_t id)
{
	struct lp_priv *pv = lp_priv(m);
	if (id >= pv->npinfo) {
		/* ids come in order: grow by a quarter (an entry per path) */
		size_t n = (size_t)id + 1 + ((size_t)id + 1) / 4 + 4096;
		pv->pinfo = lp_xrealloc(pv->pinfo, n * sizeof(*pv->pinfo));
		memset(pv->pinfo + pv->npinfo, 0, (n - pv->npinfo) * sizeof(*pv->pinfo));
		pv->npinfo = n;
	}
	struct lp_pinfo *pi = &pv->pinfo[id];
	if (!(pi->known & PI_BASE)) {
		const char *s = pstr(m, id);
		pi->known |= PI_BASE;
		pi->bkmount = s && strstr(s, "/buildkit-mount") != NULL;
	}
	return pi;
}

/* lp_model_translate() of an interned path; *id becomes the result's. A
 * path not under a temporary mount comes out as it went in. */
static const char *translate_id(struct lp_model *m, const char *path, uint32_t *id, char *buf, size_t len)
{
	if (!path || (*id && !lp_model_pinfo(m, *id)->bkmount))
		return path;
	const char *t = lp_model_translate(m, path, buf, len);
	if (t == path)
		return path;
	*id = pintern(m, t);
	return pstr(m, *id);
}

/* Pass 2's daemon tests of p, worked out once (roles and the process tree
 * are final by then): PC_DAEMONISH, PC_INBUILD. */
static uint8_t p2flags(const struct lp_model *m, const struct lp_proc *p)
{
	uint8_t *c = &lp_priv(m)->pcache[p->index];
	if (!(*c & PC_P2)) {
		bool d = is_daemonish(m, p), b = lp_model_in_build_daemon(m, p);
		*c = (uint8_t)(*c | PC_P2 | (d ? PC_DAEMONISH : 0) | (b ? PC_INBUILD : 0));
	}
	return *c;
}

/* A process of the daemon serving this build. */
static bool is_build_daemon(const struct lp_model *m, const struct lp_proc *p)
{
	uint8_t f = p2flags(m, p);
	return (f & PC_DAEMONISH) && (f & PC_INBUILD);
}


static struct lp_sc_stat *agg_slot(struct lp_agg *a, unsigned sc)
{
	for (uint16_t i = 0; i < a->nsc; i++)
		if (a->sc[i].sc == sc)
			return &a->sc[i];
	if (a->nsc == a->capsc) {
		uint16_t nc = a->capsc ? (uint16_t)(a->capsc * 2) : 4;
		a->sc = lp_xrealloc(a->sc, nc * sizeof(*a->sc));
		a->capsc = nc;
	}
	struct lp_sc_stat *st = &a->sc[a->nsc++];
	memset(st, 0, sizeof(*st));
	st->sc = (uint16_t)sc;
	return st;
}

struct lp_sc_stat lp_agg_sc(const struct lp_agg *a, unsigned sc)
{
	struct lp_sc_stat z = { .sc = (uint16_t)sc };
	for (uint16_t i = 0; a && i < a->nsc; i++)
		if (a->sc[i].sc == sc)
			return a->sc[i];
	return z;
}

static void agg_sc_add(struct lp_agg *a, unsigned sc, uint64_t calls, uint64_t fails, uint64_t ns)
{
	if (sc >= LP_SC_NR || !calls)
		return;
	struct lp_sc_stat *st = agg_slot(a, sc);
	st->calls += (uint32_t)calls;
	st->fails += (uint32_t)fails;
	st->ns += ns;
}

static void agg_sc(struct lp_agg *a, unsigned sc, int64_t ret, uint64_t lat)
{
	agg_sc_add(a, sc, 1, ret < 0, lat);
}

static struct lp_agg *step_agg(struct lp_model *m, int step)
{
	return step >= 0 && (size_t)step < m->nsteps ? &m->steps[step].agg : &m->unattributed;
}

/* Path as displayed for this step and process. */
static const char *display(struct lp_model *m, int step, const struct lp_proc *p, const char *path,
			   char *buf, size_t len, enum lp_path_space *space)
{
	if (p && p->role == LP_ROLE_CONTAINER) {
		*space = LP_PATH_CONTAINER;
		size_t dl;
		const char *rel;
		if (lp_snap_split(path, &dl, &rel) != LP_SNAP_NONE) {
			snprintf(buf, len, "/%s", rel);
			return buf;
		}
		return path;
	}
	return lp_model_display_path(m, step, path, buf, len, space);
}

static void note_rfc(struct lp_model *m, int step, const char *ctx_path)
{
	struct lp_priv *pv = lp_priv(m);
	/* files only: a directory of the context, or a path the manifest does
	 * not list (when there is one), is not a file read from it */
	if (lp_smap_get(&pv->ctx_dirs, ctx_path) >= 0)
		return;
	if (m->context.manifest_files) {
		const struct lp_ctx_file *cf = lp_model_ctx_get(m, ctx_path, false);
		if (!cf || (cf->mode && !S_ISREG(cf->mode)))
			return;
	}
	char key[4200];
	snprintf(key, sizeof(key), "%d\x1f%s", step, ctx_path);
	if (lp_smap_get(&pv->rfc_seen, key) >= 0)
		return;
	lp_smap_put(&pv->rfc_seen, key, 1);
	lp_strv_push(&pv->step_rfc[step], ctx_path);
	struct lp_ctx_file *c = lp_model_ctx_get(m, ctx_path, false);
	if (c) {
		c->readers++;
		if (c->first_reader < 0)
			c->first_reader = step;
		if (m->steps[step].kind == LP_STEPK_RUN)
			c->read_in_run = true;
		else if (m->steps[step].kind == LP_STEPK_COPY)
			c->copied = true;
	}
}

/* A container process of RUN step `step` read container path cpath: if a
 * COPY of the same stage before it put a context file there, note it. */
static void container_read(struct lp_model *m, int step, const char *cpath)
{
	const struct lp_step *r = &m->steps[step];
	char buf[4096];
	for (int s = step - 1; s >= 0; s--) {
		const struct lp_step *c = &m->steps[s];
		if (c->kind != LP_STEPK_COPY || c->copy_from_stage || strcmp(c->stage, r->stage) ||
		    (r->stage_step && c->stage_step >= r->stage_step))
			continue;
		const char *ctx = lp_copy_ctx_path(m, s, cpath, buf, sizeof(buf));
		if (ctx) {
			const struct lp_ctx_file *cf = lp_model_ctx_get(m, ctx, false);
			if (cf && cf->mode && !S_ISREG(cf->mode))
				return;
			if (cf || !m->nctx_files)
				note_rfc(m, step, ctx);
			return;
		}
	}
}

static uint64_t tmp_take(struct lp_model *m, const char *rel)
{
	struct lp_priv *pv = lp_priv(m);
	int i = lp_smap_get(&pv->tmp_idx, rel);
	if (i < 0)
		return 0;
	uint64_t b = pv->tmp_bytes[i];
	pv->tmp_bytes[i] = 0;
	return b;
}

static void tmp_add(struct lp_model *m, const char *rel, uint64_t bytes)
{
	struct lp_priv *pv = lp_priv(m);
	int i = lp_smap_get(&pv->tmp_idx, rel);
	if (i < 0) {
		grow((void **)&pv->tmp_bytes, &pv->tmp_cap, pv->ntmp + 1, sizeof(uint64_t));
		i = (int)pv->ntmp++;
		pv->tmp_bytes[i] = 0;
		lp_smap_put(&pv->tmp_idx, rel, i);
	}
	pv->tmp_bytes[i] += bytes;
}

static bool is_tmp_name(const char *rel)
{
	const char *b = strrchr(rel, '/');
	b = b ? b + 1 : rel;
	return !strncmp(b, ".tmp.", 5);
}

static void ctx_window(struct lp_model *m, uint64_t ts)
{
	if (!m->context.start_ns || ts < m->context.start_ns)
		m->context.start_ns = ts;
	if (ts > m->context.end_ns)
		m->context.end_ns = ts;
}

/* Daemon wrote into the context snapshot. */
static void ctx_sent(struct lp_model *m, const char *rel, bool changed, uint64_t bytes, uint64_t ts)
{
	struct lp_ctx_file *c = lp_model_ctx_get(m, rel, true);
	if (!c->sent) {
		c->sent = true;
		m->context.sent_files++;
	}
	if (changed && !c->changed) {
		c->changed = true;
		if (c->added) {
			c->added = false;
			m->context.added_files--;
		}
		m->context.changed_files++;
	} else if (!changed && !c->changed && !c->added) {
		c->added = true;
		m->context.added_files++;
	}
	c->sent_bytes += bytes;
	m->context.sent_bytes += bytes;
	ctx_window(m, ts);
}

static void enoent_evidence(struct lp_model *m, int step, const struct lp_proc *p, unsigned sc,
			    const char *shown, int err, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	if (step < 0 || (size_t)step >= m->nsteps || !p || p->step != step || p->role != LP_ROLE_CONTAINER)
		return; /* only the step's own command: runc's and the daemon's lookups are not evidence */
	/* the command itself: after the container's exec (runc init probes
	 * /dev, /sys... before it), or a forked subshell of it */
	const struct lp_proc *par = p->parent >= 0 ? &m->procs[p->parent] : NULL;
	if (p->exec_ns ? ts < p->exec_ns : !(par && par->role == LP_ROLE_CONTAINER))
		return;
	struct lp_strv *v = &pv->step_enoent[step];
	if (v->n >= 50)
		return;
	if (!lp_strv_has(&pv->step_missing[step], shown))
		lp_strv_push(&pv->step_missing[step], shown);
	const char *name = lp_sc_name(sc);
	const char *en = lp_errno_name(err);
	char line[4400];
	const char *who = p->argc > 0 ? p->argv[0] : p->comm;
	const char *sl = strrchr(who, '/');
	snprintf(line, sizeof(line), "%s(\"%s\") = -%s (%s, pid %u)", name ? name : "?", shown,
		 en ? en : "?", sl && sl[1] ? sl + 1 : who, p->pid);
	if (!lp_strv_has(v, line))
		lp_strv_push(v, line);
}

static size_t fd_hash(uint32_t tgid, int32_t fd)
{
	return (size_t)(((uint64_t)tgid * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(uint32_t)fd * 0xC2B2AE3D27D4EB4Full)) >> 7;
}

static struct lp_fdent *fd_find(struct lp_priv *pv, uint32_t tgid, int32_t fd)
{
	if (!pv->fdtab_cap)
		return NULL;
	size_t mask = pv->fdtab_cap - 1;
	for (size_t i = fd_hash(tgid, fd) & mask; pv->fdtab[i].tgid; i = (i + 1) & mask)
		if (pv->fdtab[i].tgid == tgid && pv->fdtab[i].fd == fd)
			return &pv->fdtab[i];
	return NULL;
}

static void fd_put(struct lp_priv *pv, uint32_t tgid, int32_t fd, uint64_t ts)
{
	if ((pv->fdtab_n + 1) * 2 > pv->fdtab_cap) {
		struct lp_fdent *old = pv->fdtab;
		size_t oc = pv->fdtab_cap;
		pv->fdtab_cap = oc ? oc * 2 : 1024;
		pv->fdtab = lp_xcalloc(pv->fdtab_cap, sizeof(*pv->fdtab));
		pv->fdtab_n = 0;
		for (size_t i = 0; i < oc; i++)
			if (old[i].tgid)
				fd_put(pv, old[i].tgid, old[i].fd, old[i].ts);
		free(old);
	}
	size_t mask = pv->fdtab_cap - 1;
	size_t i = fd_hash(tgid, fd) & mask;
	for (; pv->fdtab[i].tgid; i = (i + 1) & mask)
		if (pv->fdtab[i].tgid == tgid && pv->fdtab[i].fd == fd) {
			pv->fdtab[i].ts = ts;
			return;
		}
	pv->fdtab[i] = (struct lp_fdent){ .tgid = tgid, .fd = fd, .ts = ts };
	pv->fdtab_n++;
}

/* Remove with backward shift, so memory stays bounded by open fds. */
static void fd_del(struct lp_priv *pv, uint32_t tgid, int32_t fd)
{
	struct lp_fdent *e = fd_find(pv, tgid, fd);
	if (!e)
		return;
	size_t mask = pv->fdtab_cap - 1;
	size_t i = (size_t)(e - pv->fdtab);
	pv->fdtab[i].tgid = 0;
	pv->fdtab_n--;
	for (size_t j = (i + 1) & mask; pv->fdtab[j].tgid; j = (j + 1) & mask) {
		size_t home = fd_hash(pv->fdtab[j].tgid, pv->fdtab[j].fd) & mask;
		/* move j back to i when its home is not in (i, j] */
		bool move = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (move) {
			pv->fdtab[i] = pv->fdtab[j];
			pv->fdtab[j].tgid = 0;
			i = j;
		}
	}
}

static void note_fd_open(struct lp_model *m, uint32_t tgid, int64_t fd, uint64_t ts)
{
	if (fd >= 0 && fd <= INT32_MAX && tgid)
		fd_put(lp_priv(m), tgid, (int32_t)fd, ts);
}

/* Was fd inherited across the process's exec (not opened by it since)? */
static bool fd_inherited(const struct lp_model *m, const struct lp_proc *p, uint32_t tgid, int fd,
			 uint64_t ts)
{
	if (fd <= 2)
		return false; /* stdio: redirections made before exec are the norm */
	const struct lp_fdent *e = fd_find(lp_priv(m), tgid, fd);
	if (!e)
		return true; /* never opened by this process: inherited */
	return p->exec_ns && ts >= p->exec_ns && e->ts < p->exec_ns;
}

/* display() of an interned path: the id of what is shown, and its space. */
static uint32_t display_id(struct lp_model *m, int step, const struct lp_proc *p, const char *path, uint32_t id,
			   enum lp_path_space *space)
{
	bool cont = p && p->role == LP_ROLE_CONTAINER;
	unsigned bit = cont ? PI_DISP_CONT : PI_DISP_HOST;
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	if (!pi->bkmount && (pi->known & bit)) {
		*space = (enum lp_path_space)(cont ? pi->space_cont : pi->space_host);
		return cont ? pi->disp_cont : pi->disp_host;
	}
	char buf[4096];
	const char *shown = display(m, step, p, path, buf, sizeof(buf), space);
	uint32_t sid = shown == path ? id : pintern(m, shown);
	pi = lp_model_pinfo(m, id);
	if (!pi->bkmount) {
		pi->known |= bit;
		if (cont) {
			pi->disp_cont = sid;
			pi->space_cont = (uint8_t)*space;
		} else {
			pi->disp_host = sid;
			pi->space_host = (uint8_t)*space;
		}
	}
	return sid;
}

/* lp_model_is_ctx_snapshot_path() of an interned path. */
static bool ctx_rel_id(struct lp_model *m, const char *path, uint32_t id, const char **rel)
{
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	if (pi->bkmount || path != pstr(m, id))
		return lp_model_is_ctx_snapshot_path(m, path, rel);
	if (!(pi->known & PI_CTXREL)) {
		const char *r;
		pi->ctx_rel = lp_model_is_ctx_snapshot_path(m, path, &r) ? (int16_t)(r - path) : -1;
		pi->known |= PI_CTXREL;
	}
	if (pi->ctx_rel < 0)
		return false;
	*rel = path + pi->ctx_rel;
	return true;
}

/* ---- files by (step, shown path id) */

static size_t fid_hash(uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17);
}

static uint64_t fid_key(int step, uint32_t sid)
{
	return ((uint64_t)(uint32_t)(step + 1) << 32) | sid;
}

static void fid_insert(struct lp_priv *pv, uint64_t key, uint32_t idx)
{
	size_t mask = pv->fid_cap - 1;
	size_t i = fid_hash(key) & mask;
	while (pv->fid_keys[i])
		i = (i + 1) & mask;
	pv->fid_keys[i] = key;
	pv->fid_vals[i] = idx;
}

/* A bigger index of files by (step, path): the same entries. */
static void fid_grow(struct lp_priv *pv)
{
	uint64_t *ok = pv->fid_keys;
	uint32_t *ov = pv->fid_vals;
	size_t oc = pv->fid_cap;
	pv->fid_cap = oc ? oc * 2 : 4096;
	pv->fid_keys = lp_xcalloc(pv->fid_cap, sizeof(uint64_t));
	pv->fid_vals = lp_xcalloc(pv->fid_cap, sizeof(uint32_t));
	for (size_t i = 0; i < oc; i++)
		if (ok[i])
			fid_insert(pv, ok[i], ov[i]);
	free(ok);
	free(ov);
}

/* The index of files by (step, path) made again (the files were sorted). */
static void fid_rebuild(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	size_t cap = 4096;
	while (cap < (m->nfiles + 1) * 2)
		cap *= 2;
	free(pv->fid_keys);
	free(pv->fid_vals);
	pv->fid_keys = lp_xcalloc(cap, sizeof(uint64_t));
	pv->fid_vals = lp_xcalloc(cap, sizeof(uint32_t));
	pv->fid_cap = cap;
	for (size_t i = 0; i < m->nfiles; i++)
		fid_insert(pv, fid_key(m->files[i].step, pintern(m, m->files[i].path)), (uint32_t)i);
}

/* The file row of (step, shown path), made on first use. */
static struct lp_file *file_get_id(struct lp_model *m, int step, uint32_t sid, enum lp_path_space space,
				   uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	uint64_t key = fid_key(step, sid);
	if (!pv->fid_cap && m->nfiles)
		fid_rebuild(m); /* dropped by finish() */
	if (pv->fid_cap) {
		size_t mask = pv->fid_cap - 1;
		for (size_t i = fid_hash(key) & mask; pv->fid_keys[i]; i = (i + 1) & mask)
			if (pv->fid_keys[i] == key)
				return &m->files[pv->fid_vals[i]];
	}
	if ((m->nfiles + 1) * 2 > pv->fid_cap)
		fid_grow(pv);
	grow((void **)&m->files, &pv->files_cap, m->nfiles + 1, sizeof(struct lp_file));
	size_t idx = m->nfiles++;
	struct lp_file *f = &m->files[idx];
	memset(f, 0, sizeof(*f));
	f->step = step;
	f->path = lp_xstrdup(pstr(m, sid));
	f->space = space;
	f->first_ts = ts;
	f->ctx = -1;
	if (space == LP_PATH_CONTEXT)
		f->ctx = lp_smap_get(&pv->ctx_idx, f->path);
	fid_insert(pv, key, (uint32_t)idx);
	return f;
}

struct lp_file *lp_model_file_get(struct lp_model *m, int step, const char *path, enum lp_path_space space,
				  uint64_t ts)
{
	return file_get_id(m, step, pintern(m, path), space, ts);
}

/* container_read() of an interned path. Done again for the same step and
 * path with the same context files known, it would find what it found
 * (its result depends on those alone, and context files are only added),
 * and note_rfc() would note nothing new: skip it. */
static void container_read_id(struct lp_model *m, int step, const char *cpath, uint32_t id)
{
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	uint32_t gen = (uint32_t)m->nctx_files;
	if (cpath == pstr(m, id) && pi->read_step == step + 1 && pi->read_gen == gen)
		return;
	container_read(m, step, cpath);
	pi = lp_model_pinfo(m, id);
	pi->read_step = step + 1;
	pi->read_gen = gen;
}

/* The file row of an interned path for step, as process p shows it (the
 * id and space of what is shown in *sid and *space). */
static struct lp_file *file_of(struct lp_model *m, int step, const struct lp_proc *p, const char *path, uint32_t id,
			       uint64_t ts, uint32_t *sid, enum lp_path_space *space)
{
	int cont = p && p->role == LP_ROLE_CONTAINER;
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	if (!pi->bkmount && path == pstr(m, id) && pi->file_step[cont] == step + 2) {
		*sid = cont ? pi->disp_cont : pi->disp_host;
		*space = (enum lp_path_space)(cont ? pi->space_cont : pi->space_host);
		return &m->files[pi->file_idx[cont]];
	}
	*sid = display_id(m, step, p, path, id, space);
	struct lp_file *f = file_get_id(m, step, *sid, *space, ts);
	pi = lp_model_pinfo(m, id);
	if (!pi->bkmount && path == pstr(m, id)) {
		pi->file_step[cont] = step + 2;
		pi->file_idx[cont] = (uint32_t)(f - m->files);
	}
	return f;
}

/* ------------------------------------------------------------- capture */

static bool is_copy_sc(unsigned sc)
{
	return sc == LP_SC_COPY_FILE_RANGE || sc == LP_SC_SENDFILE || sc == LP_SC_SPLICE;
}

static bool is_rename_sc(unsigned sc)
{
	return sc == LP_SC_RENAME || sc == LP_SC_RENAMEAT || sc == LP_SC_RENAMEAT2;
}

/* The id of the path open on fd, interned once per open (kept with the
 * resolver's path), 0 when unknown. */
static uint32_t fd_path_id(struct lp_model *m, struct lp_resolver *res, uint32_t tgid, int fd)
{
	uint32_t *tag;
	const char *s = lp_resolver_fd_tag(res, tgid, fd, &tag);
	if (!s)
		return 0;
	if (!*tag)
		*tag = pintern(m, s);
	return *tag;
}

/*
 * The paths pass 2 needs of record h (valid), with res in the state before
 * h, into q's path fields (q->r is left alone: the tape takes the rest from
 * h itself). False for kinds pass 2 does not look at. For a syscall, *first
 * gets what the resolver's feed of h would resolve (lp_resolver_first_path(),
 * in fbuf) and *have_first is set, so the feed does not resolve it again.
 */
static bool p2_capture(struct lp_model *m, struct lp_resolver *res, const struct lp_hdr *h, struct p2rec *q,
		       char *fbuf, size_t flen, const char **first, bool *have_first)
{
	q->path = q->str0 = q->str1 = q->in = q->out = 0;
	q->raw0 = false;
	*have_first = false;
	char buf[4096];
	switch (h->kind) {
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		unsigned sc = h->aux;
		int i0;
		*first = lp_resolver_first_path(res, ev, &i0, fbuf, flen);
		*have_first = true;
		q->path = pintern(m, *first);
		/* pass 2 takes the first path argument that resolves */
		for (unsigned i = (unsigned)i0 + 1; i0 >= 0 && !*first && !q->path && i < ev->nstr &&
		     i < LP_SYSCALL_MAX_STRS; i++)
			if (lp_sc_arg_is_path(sc, (unsigned)ev->str_arg[i], ev->args))
				q->path = pintern(m, lp_resolve_path(res, ev, (int)i, buf, sizeof(buf)));
		if (ev->ret >= 0 && ev->nstr >= 2 && (is_rename_sc(sc) || sc == LP_SC_MOUNT))
			q->str1 = pintern(m, lp_resolve_path(res, ev, 1, buf, sizeof(buf)));
		if (ev->ret >= 0 && ev->nstr >= 2 && sc == LP_SC_MOUNT) {
			const char *raw = lp_ev_syscall_str(ev, 0, NULL);
			q->raw0 = raw && *raw;
			q->str0 = pintern(m, lp_resolve_path(res, ev, 0, buf, sizeof(buf)));
		}
		if (is_copy_sc(sc)) {
			int in_fd = (int)ev->args[0], out_fd = (int)ev->args[2];
			if (sc == LP_SC_SENDFILE) {
				out_fd = (int)ev->args[0];
				in_fd = (int)ev->args[1];
			}
			q->in = fd_path_id(m, res, h->tgid, in_fd);
			q->out = fd_path_id(m, res, h->tgid, out_fd);
		}
		return true;
	}
	case LP_EV_FD_IO:
		q->path = fd_path_id(m, res, h->tgid, (int)h->aux);
		return true;
	case LP_EV_EXIT:
	case LP_EV_EXEC:
	case LP_EV_FORK:
		return true;
	default:
		return false;
	}
}

/* The fixed part of a captured record, for pass 2 straight from the trace. */
static void p2_fill(struct p2rec *q, const struct lp_hdr *h)
{
	size_t n = h->kind == LP_EV_SYSCALL ? sizeof(q->r.sc) : h->kind == LP_EV_FD_IO ? sizeof(q->r.io)
		   : h->kind == LP_EV_EXIT ? sizeof(q->r.ex) : sizeof(q->r.h);
	memset(&q->r, 0, sizeof(q->r));
	memcpy(&q->r, h, n);
}

/* Feed the resolver h, captured as q (have_first, first: p2_capture()).
 * An open's new fd gets the id of its path as the resolver's tag: its
 * fd_io records need not intern the same string again. */
static void feed_captured(struct lp_resolver *res, const struct lp_hdr *h, const struct p2rec *q, bool have_first,
			  const char *first)
{
	if (!have_first) {
		lp_resolver_feed(res, h);
		return;
	}
	lp_resolver_feed_first(res, h, first);
	const struct lp_ev_syscall *ev = (const void *)h;
	if (first && q->path && ev->ret >= 0 && lp_sc_opens_path(h->aux)) {
		uint32_t *tag;
		if (lp_resolver_fd_tag(res, h->tgid, (int)ev->ret, &tag) && tag && !*tag)
			*tag = q->path;
	}
}

/* ------------------------------------------------------------- the tape */

/*
 * Pass 1 writes each p2rec onto a tape in memory (a few bytes a record:
 * varints, times as deltas, paths as ids) so that pass 2 need not decode
 * the trace again. A tape that would grow past lp_model_tape_max (a huge
 * trace) is dropped, and pass 2 reads the trace a second time instead.
 */
#define TAPE_CHUNK (4u << 20)
#define TAPE_REC_MAX 160        /* bytes of the largest encoded record */
uint64_t lp_model_tape_max = 256ull << 20;

enum { T_END = 0, T_SYSCALL, T_FDIO, T_EXEC, T_FORK, T_EXIT };
#define T_SAME_TGID 0x80u       /* the record's tgid is the previous one's */

struct tape {
	uint8_t **chunk;
	size_t nchunk;
	uint8_t *w;                 /* writing: next byte, room up to wend */
	uint8_t *wend;
	uint64_t bytes;
	bool dropped;
	uint64_t ts;                /* previous record's, writing or reading */
	uint32_t tgid;
	size_t rchunk;              /* reading: chunk and position */
	const uint8_t *r;
};

static void put_u(uint8_t **p, uint64_t v)
{
	while (v >= 0x80) {
		*(*p)++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*(*p)++ = (uint8_t)v;
}

static void put_s(uint8_t **p, int64_t v)
{
	put_u(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); /* zigzag */
}

static uint64_t get_u(const uint8_t **p)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t get_s(const uint8_t **p)
{
	uint64_t v = get_u(p);
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void tape_free(struct tape *t)
{
	for (size_t i = 0; i < t->nchunk; i++)
		free(t->chunk[i]);
	free(t->chunk);
	t->chunk = NULL;
	t->nchunk = 0;
	t->w = t->wend = NULL;
}

/* Record h (valid, a kind p2_capture() takes), with its paths in q. */
static void tape_put(struct tape *t, const struct lp_hdr *h, const struct p2rec *q)
{
	if (t->dropped)
		return;
	if (!t->w || (size_t)(t->wend - t->w) < TAPE_REC_MAX) {
		if (t->bytes + TAPE_CHUNK > lp_model_tape_max) {
			tape_free(t);
			t->dropped = true;
			return;
		}
		if (t->w)
			*t->w = T_END;
		t->chunk = lp_xrealloc(t->chunk, (t->nchunk + 1) * sizeof(*t->chunk));
		t->w = t->chunk[t->nchunk++] = lp_xmalloc(TAPE_CHUNK);
		t->wend = t->w + TAPE_CHUNK - 1; /* room for the final T_END */
		t->bytes += TAPE_CHUNK;
	}
	uint8_t *w = t->w;
	uint8_t code = h->kind == LP_EV_SYSCALL ? T_SYSCALL : h->kind == LP_EV_FD_IO ? T_FDIO
		       : h->kind == LP_EV_EXEC ? T_EXEC : h->kind == LP_EV_FORK ? T_FORK : T_EXIT;
	bool same = h->tgid == t->tgid;
	*w++ = (uint8_t)(code | (same ? T_SAME_TGID : 0));
	put_s(&w, (int64_t)(h->ts - t->ts));
	if (!same)
		put_u(&w, h->tgid);
	t->ts = h->ts;
	t->tgid = h->tgid;
	switch (code) {
	case T_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		unsigned sc = h->aux;
		put_u(&w, h->aux);
		put_s(&w, ev->ret);
		put_u(&w, ev->lat_ns);
		*w++ = ev->nstr;
		*w++ = q->raw0;
		/* the arguments pass 2 reads: an open's flags, a mount's */
		put_u(&w, sc == LP_SC_MOUNT ? ev->args[3] : sc == LP_SC_OPEN ? ev->args[1] : ev->args[2]);
		put_u(&w, q->path);
		if (is_rename_sc(sc) || sc == LP_SC_MOUNT)
			put_u(&w, q->str1);
		if (sc == LP_SC_MOUNT)
			put_u(&w, q->str0);
		if (is_copy_sc(sc)) {
			put_u(&w, q->in);
			put_u(&w, q->out);
		}
		break;
	}
	case T_FDIO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		put_u(&w, h->aux);
		put_u(&w, e->rbytes);
		put_u(&w, e->wbytes);
		put_u(&w, e->rns);
		put_u(&w, e->wns);
		put_u(&w, e->rcalls);
		put_u(&w, e->wcalls);
		put_u(&w, e->io_flags);
		*w++ = h->flags;
		if ((e->io_flags | h->flags) & LP_FDIO_DRAINED)
			put_s(&w, (int64_t)(e->last_ts - h->ts)); /* lp_model_fdio_close_ts() */
		put_u(&w, q->path);
		break;
	}
	case T_EXIT: {
		const struct lp_ev_exit *e = (const void *)h;
		put_u(&w, e->counts.chown);
		put_u(&w, e->counts.chmod);
		put_u(&w, e->counts.utimens);
		put_u(&w, e->counts.stat_ok);
		break;
	}
	default:
		break;
	}
	t->w = w;
}

static void tape_rewind(struct tape *t)
{
	if (t->w)
		*t->w = T_END;
	t->rchunk = 0;
	t->r = t->nchunk ? t->chunk[0] : NULL;
	t->ts = 0;
	t->tgid = 0;
}

/* The next record of the tape into q; false at its end. A chunk read to
 * its end is freed at once: the model grows as the tape shrinks. */
static bool tape_get(struct tape *t, struct p2rec *q)
{
	for (;;) {
		if (!t->r)
			return false;
		if (*t->r != T_END)
			break;
		free(t->chunk[t->rchunk]);
		t->chunk[t->rchunk] = NULL;
		t->r = ++t->rchunk < t->nchunk ? t->chunk[t->rchunk] : NULL;
	}
	const uint8_t *r = t->r;
	uint8_t code = *r++;
	struct lp_hdr *h = &q->r.h;
	memset(h, 0, sizeof(*h));
	q->path = q->str0 = q->str1 = q->in = q->out = 0;
	q->raw0 = false;
	t->ts += (uint64_t)get_s(&r);
	if (!(code & T_SAME_TGID))
		t->tgid = (uint32_t)get_u(&r);
	h->ts = t->ts;
	h->tgid = t->tgid;
	h->tid = t->tgid;
	switch (code & ~T_SAME_TGID) {
	case T_SYSCALL: {
		struct lp_ev_syscall *ev = &q->r.sc;
		memset(ev->args, 0, sizeof(ev->args)); /* those pass 2 reads are set below */
		h->kind = LP_EV_SYSCALL;
		h->size = sizeof(*ev);
		h->aux = (uint32_t)get_u(&r);
		unsigned sc = h->aux;
		ev->ret = get_s(&r);
		ev->lat_ns = get_u(&r);
		ev->nstr = *r++;
		q->raw0 = *r++;
		uint64_t a = get_u(&r);
		if (sc == LP_SC_MOUNT)
			ev->args[3] = a;
		else
			ev->args[1] = ev->args[2] = a;
		q->path = (uint32_t)get_u(&r);
		if (is_rename_sc(sc) || sc == LP_SC_MOUNT)
			q->str1 = (uint32_t)get_u(&r);
		if (sc == LP_SC_MOUNT)
			q->str0 = (uint32_t)get_u(&r);
		if (is_copy_sc(sc)) {
			q->in = (uint32_t)get_u(&r);
			q->out = (uint32_t)get_u(&r);
		}
		break;
	}
	case T_FDIO: {
		struct lp_ev_fd_io *e = &q->r.io;
		e->first_ts = e->last_ts = 0;
		h->kind = LP_EV_FD_IO;
		h->size = sizeof(*e);
		h->aux = (uint32_t)get_u(&r);
		e->rbytes = get_u(&r);
		e->wbytes = get_u(&r);
		e->rns = get_u(&r);
		e->wns = get_u(&r);
		e->rcalls = (uint32_t)get_u(&r);
		e->wcalls = (uint32_t)get_u(&r);
		e->io_flags = (uint32_t)get_u(&r);
		h->flags = *r++;
		if ((e->io_flags | h->flags) & LP_FDIO_DRAINED)
			e->last_ts = h->ts + (uint64_t)get_s(&r);
		q->path = (uint32_t)get_u(&r);
		break;
	}
	case T_EXIT:
		h->kind = LP_EV_EXIT;
		h->size = sizeof(q->r.ex);
		q->r.ex.counts.chown = (uint32_t)get_u(&r);
		q->r.ex.counts.chmod = (uint32_t)get_u(&r);
		q->r.ex.counts.utimens = (uint32_t)get_u(&r);
		q->r.ex.counts.stat_ok = (uint32_t)get_u(&r);
		break;
	case T_EXEC:
		h->kind = LP_EV_EXEC;
		h->size = sizeof(*h);
		break;
	default:
		h->kind = LP_EV_FORK;
		h->size = sizeof(*h);
		break;
	}
	t->r = r;
	return true;
}

/*
 * Pass 2 from the tape. Records are decoded P2_AHEAD before their turn and
 * the memory their turn will touch is asked for then (the path's pinfo;
 * half-way, its file row): the tables are far bigger than the caches and
 * a build's paths come in no order, so each would otherwise be a wait.
 */
#define P2_AHEAD 16

static void prefetch_pinfo(const struct lp_model *m, const struct p2rec *q)
{
	const struct lp_priv *pv = lp_priv(m);
	if (q->path < pv->npinfo)
		__builtin_prefetch(&pv->pinfo[q->path]);
	if (q->path < pv->paths.n)
		__builtin_prefetch(&pv->paths.str[q->path]);
}

/* (the lines asked for by prefetch_pinfo() have come by now) */
static void prefetch_file(const struct lp_model *m, const struct p2rec *q)
{
	const struct lp_priv *pv = lp_priv(m);
	if (q->path < pv->paths.n)
		__builtin_prefetch(pv->paths.str[q->path]);
	if (q->path >= pv->npinfo)
		return;
	const struct lp_pinfo *pi = &pv->pinfo[q->path];
	for (int c = 0; c < 2; c++)
		if (pi->file_step[c] && pi->file_idx[c] < m->nfiles)
			__builtin_prefetch(&m->files[pi->file_idx[c]]);
}

static void pass2_record(struct lp_model *m, struct p2rec *q);

static void replay(struct lp_model *m, struct tape *t)
{
	struct p2rec ring[P2_AHEAD];
	size_t n = 0, head = 0;
	while (n < P2_AHEAD && tape_get(t, &ring[n]))
		prefetch_pinfo(m, &ring[n++]);
	while (n) {
		if (n > P2_AHEAD / 2)
			prefetch_file(m, &ring[(head + P2_AHEAD / 2) % P2_AHEAD]);
		pass2_record(m, &ring[head]);
		if (tape_get(t, &ring[head]))
			prefetch_pinfo(m, &ring[head]);
		else
			n--;
		head = (head + 1) % P2_AHEAD;
	}
}

/* ----------------------------------------------------------- read-ahead */

/*
 * The records of a reader, decoded (inflated) by a second thread while the
 * model works on the ones before: the thread copies batches of records into
 * a few buffers the two hand back and forth. Without a thread (it could not
 * be made) the records are read in place.
 */
#define RA_NBUF 4
#define RA_BUF (1u << 20)
#define RA_REC_MAX (65536u + 8) /* lp_hdr.size is 16 bits */

struct readahead {
	struct lp_reader *r;
	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf[RA_NBUF];
	size_t len[RA_NBUF];
	unsigned head, nfull;       /* full buffers, oldest first */
	bool eof, quit;
	bool holding;               /* the consumer reads buf[head]... */
	size_t off, cur_len;        /* ...at off, of cur_len bytes */
};

static void *ra_main(void *arg)
{
	struct readahead *ra = arg;
	for (;;) {
		pthread_mutex_lock(&ra->mu);
		while (ra->nfull == RA_NBUF && !ra->quit)
			pthread_cond_wait(&ra->cv, &ra->mu);
		bool quit = ra->quit;
		unsigned slot = (ra->head + ra->nfull) % RA_NBUF;
		pthread_mutex_unlock(&ra->mu);
		if (quit)
			break;
		uint8_t *b = ra->buf[slot];
		size_t len = 0;
		bool eof = false;
		while (len + RA_REC_MAX <= RA_BUF) {
			const struct lp_hdr *h;
			if (lp_reader_next(ra->r, &h) != 1) {
				eof = true;
				break;
			}
			memcpy(b + len, h, h->size);
			len += ((size_t)h->size + 7) & ~(size_t)7; /* records stay 8-aligned */
		}
		pthread_mutex_lock(&ra->mu);
		ra->len[slot] = len;
		ra->nfull++;
		ra->eof = eof;
		pthread_cond_broadcast(&ra->cv);
		pthread_mutex_unlock(&ra->mu);
		if (eof)
			break;
	}
	return NULL;
}

static void ra_start(struct readahead *ra, struct lp_reader *r)
{
	memset(ra, 0, sizeof(*ra));
	ra->r = r;
	for (int i = 0; i < RA_NBUF; i++)
		ra->buf[i] = lp_xmalloc(RA_BUF);
	if (pthread_mutex_init(&ra->mu, NULL))
		return;
	if (pthread_cond_init(&ra->cv, NULL)) {
		pthread_mutex_destroy(&ra->mu);
		return;
	}
	if (pthread_create(&ra->thread, NULL, ra_main, ra)) {
		pthread_cond_destroy(&ra->cv);
		pthread_mutex_destroy(&ra->mu);
		return;
	}
	ra->threaded = true;
}

/* lp_reader_next() through the read-ahead. The records of the buffer the
 * consumer holds are read without the lock: the thread fills only the
 * others. */
static int ra_next(struct readahead *ra, const struct lp_hdr **rec)
{
	if (!ra->threaded)
		return lp_reader_next(ra->r, rec);
	for (;;) {
		if (ra->holding && ra->off < ra->cur_len) {
			const struct lp_hdr *h = (const void *)(ra->buf[ra->head] + ra->off);
			ra->off += ((size_t)h->size + 7) & ~(size_t)7;
			*rec = h;
			return 1;
		}
		pthread_mutex_lock(&ra->mu);
		if (ra->holding) { /* done with it: back to the thread */
			ra->holding = false;
			ra->head = (ra->head + 1) % RA_NBUF;
			ra->nfull--;
			pthread_cond_broadcast(&ra->cv);
		}
		while (!ra->nfull && !ra->eof)
			pthread_cond_wait(&ra->cv, &ra->mu);
		if (!ra->nfull) {
			pthread_mutex_unlock(&ra->mu);
			return 0;
		}
		ra->holding = true;
		ra->off = 0;
		ra->cur_len = ra->len[ra->head];
		pthread_mutex_unlock(&ra->mu);
	}
}

static void ra_stop(struct readahead *ra)
{
	if (ra->threaded) {
		pthread_mutex_lock(&ra->mu);
		ra->quit = true;
		pthread_cond_broadcast(&ra->cv);
		pthread_mutex_unlock(&ra->mu);
		pthread_join(ra->thread, NULL);
		pthread_cond_destroy(&ra->cv);
		pthread_mutex_destroy(&ra->mu);
	}
	for (int i = 0; i < RA_NBUF; i++)
		free(ra->buf[i]);
	memset(ra, 0, sizeof(*ra));
}

/* A bind mount in pass 2 (note_mount_ev() of a captured record). */
static void note_mount_q(struct lp_model *m, const struct p2rec *q)
{
	const struct lp_ev_syscall *ev = &q->r.sc;
	if (ev->h.aux != LP_SC_MOUNT || ev->ret < 0 || ev->nstr < 2 || !(ev->args[3] & 4096 /* MS_BIND */) ||
	    (ev->args[3] & 32 /* MS_REMOUNT */))
		return;
	if (!q->raw0)
		return;
	const char *src = pstr(m, q->str0), *dst = pstr(m, q->str1);
	if (src && dst)
		lp_model_note_mount(m, dst, src);
}

/* p0: lp_model_proc_at() of the record's process (NULL: not known yet) */
static void pass2_syscall(struct lp_model *m, const struct p2rec *q, const struct lp_proc *p0)
{
	const struct lp_ev_syscall *ev = &q->r.sc;
	if (ev->ret >= 0 && (lp_sc_opens_path(ev->h.aux) || ev->h.aux == LP_SC_DUP || ev->h.aux == LP_SC_DUP2 ||
			     ev->h.aux == LP_SC_DUP3 || ev->h.aux == LP_SC_FCNTL))
		note_fd_open(m, ev->h.tgid, ev->ret, ev->h.ts);
	const struct lp_hdr *h = &ev->h;
	unsigned sc = h->aux;
	struct lp_proc *p = p0 ? &m->procs[p0->index] : lp_model_proc_get(m, h->tgid, h->ts);
	uint32_t pid = q->path;
	char tbuf[4096];
	const char *path = translate_id(m, pstr(m, pid), &pid, tbuf, sizeof(tbuf));
	if (!path && is_copy_sc(sc)) {
		/* fds only: the destination decides the step (a COPY's layer) */
		pid = q->out;
		path = translate_id(m, pstr(m, pid), &pid, tbuf, sizeof(tbuf));
	}
	if (sc == LP_SC_MOUNT && is_build_daemon(m, p))
		note_mount_q(m, q);
	int step = lp_model_event_step_p(m, h, p, path, pid);
	struct lp_agg *sa = step_agg(m, step);
	agg_sc(&p->agg, sc, ev->ret, ev->lat_ns);
	agg_sc(sa, sc, ev->ret, ev->lat_ns);
	struct lp_snapshot_costs *sn = &m->snap;
	int err = ev->ret < 0 ? (int)-ev->ret : 0;

	if (lp_sc_opens_path(sc) && path) {
		enum lp_path_space space;
		uint32_t sid;
		struct lp_file *f = file_of(m, step, p, path, pid, h->ts, &sid, &space);
		const char *shown = pstr(m, sid);
		uint64_t flags = sc == LP_SC_OPEN ? ev->args[1] : sc == LP_SC_CREAT ? (O_CREAT | O_WRONLY)
				 : sc == LP_SC_OPENAT ? ev->args[2] : 0;
		bool wr = is_write_open(flags);
		f->open_ns += ev->lat_ns;
		p->agg.opens++;
		sa->opens++;
		if (err) {
			f->open_fails++;
			if (!f->first_errno)
				f->first_errno = err;
			p->agg.open_fails++;
			sa->open_fails++;
			if (err == ENOENT) {
				p->agg.enoent++;
				sa->enoent++;
				enoent_evidence(m, step, p, sc, shown, err, h->ts);
			}
			return;
		}
		f->opens++;
		if (wr)
			p->agg.files_written++;
		else if (!(flags & O_DIRECTORY))
			p->agg.files_read++;
		if (wr) {
			f->written = true;
			if (flags & O_CREAT)
				f->creates++;
		} else if (!(flags & O_DIRECTORY)) {
			f->read = true;
		}
		/* context bookkeeping */
		const char *rel;
		if (is_build_daemon(m, p) && ctx_rel_id(m, path, pid, &rel) && *rel) {
			if (wr && (flags & O_CREAT)) {
				if (is_tmp_name(rel))
					tmp_add(m, rel, 0);
				else
					ctx_sent(m, rel, false, 0, h->ts);
			} else if (!wr && step >= 0 && m->steps[step].kind == LP_STEPK_COPY) {
				note_rfc(m, step, rel);
			}
		}
		if (p->role == LP_ROLE_CLI && step >= 0 && step == m->context.step && space == LP_PATH_CONTEXT &&
		    !(flags & O_DIRECTORY))
			ctx_window(m, h->ts);
		if (!wr && !(flags & O_DIRECTORY) && step >= 0 && p->role == LP_ROLE_CONTAINER &&
		    m->steps[step].kind == LP_STEPK_RUN)
			container_read_id(m, step, path, pid);
		return;
	}

	switch (sc) {
	case LP_SC_STAT: case LP_SC_LSTAT: case LP_SC_NEWFSTATAT: case LP_SC_STATX:
	case LP_SC_ACCESS: case LP_SC_FACCESSAT: case LP_SC_FACCESSAT2: case LP_SC_READLINKAT:
	case LP_SC_EXECVE: case LP_SC_EXECVEAT:
		if (err == ENOENT && path) {
			enum lp_path_space space;
			uint32_t sid;
			struct lp_file *f = file_of(m, step, p, path, pid, h->ts, &sid, &space);
			f->open_fails++;
			if (!f->first_errno)
				f->first_errno = err;
			p->agg.enoent++;
			sa->enoent++;
			enoent_evidence(m, step, p, sc, pstr(m, sid), err, h->ts);
		}
		break;
	case LP_SC_RENAME: case LP_SC_RENAMEAT: case LP_SC_RENAMEAT2: {
		sn->renames++;
		sn->rename_ns += ev->lat_ns;
		if (err || ev->nstr < 2 || !is_build_daemon(m, p))
			break;
		uint32_t tid = q->str1;
		char b3[4096];
		const char *to = translate_id(m, pstr(m, tid), &tid, b3, sizeof(b3));
		const char *rfrom, *rto;
		if (path && to && ctx_rel_id(m, path, pid, &rfrom) && ctx_rel_id(m, to, tid, &rto) && *rto) {
			uint64_t b = is_tmp_name(rfrom) ? tmp_take(m, rfrom) : 0;
			ctx_sent(m, rto, is_tmp_name(rfrom), b, h->ts);
			enum lp_path_space space;
			uint32_t sid;
			struct lp_file *f = file_of(m, step, p, to, tid, h->ts, &sid, &space);
			f->written = true;
			f->wbytes += b;
		}
		break;
	}
	case LP_SC_MOUNT: case LP_SC_MOVE_MOUNT: case LP_SC_FSMOUNT:
		sn->mounts++;
		sn->mount_ns += ev->lat_ns;
		break;
	case LP_SC_UMOUNT2:
		sn->umounts++;
		sn->umount_ns += ev->lat_ns;
		break;
	case LP_SC_FSYNC: case LP_SC_FDATASYNC: case LP_SC_SYNCFS: case LP_SC_SYNC_FILE_RANGE:
		sn->fsyncs++;
		sn->fsync_ns += ev->lat_ns;
		break;
	case LP_SC_COPY_FILE_RANGE: case LP_SC_SENDFILE: case LP_SC_SPLICE: {
		sn->copies++;
		sn->copy_ns += ev->lat_ns;
		if (ev->ret <= 0)
			break;
		uint64_t n = (uint64_t)ev->ret;
		sn->copy_bytes += n;
		p->agg.copy_bytes += n;
		sa->copy_bytes += n;
		uint32_t iid = q->in, oid = q->out;
		char ib[4096], ob[4096];
		const char *ip = translate_id(m, pstr(m, iid), &iid, ib, sizeof(ib));
		const char *op = translate_id(m, pstr(m, oid), &oid, ob, sizeof(ob));
		enum lp_path_space space;
		uint32_t sid;
		if (ip) {
			struct lp_file *f = file_of(m, step, p, ip, iid, h->ts, &sid, &space);
			f->rbytes += n;
			f->rns += ev->lat_ns;
			f->read = true;
		}
		if (op) {
			struct lp_file *f = file_of(m, step, p, op, oid, h->ts, &sid, &space);
			f->wbytes += n;
			f->wns += ev->lat_ns;
			f->written = true;
			struct lp_split sp;
			lp_model_split(m, op, oid, &sp);
			if (sp.part != LP_SNAP_NONE)
				sn->layer_bytes_written += n;
		}
		p->agg.bytes_read += n;
		p->agg.bytes_written += n;
		sa->bytes_read += n;
		sa->bytes_written += n;
		break;
	}
	case LP_SC_SETXATTR: case LP_SC_LSETXATTR: case LP_SC_FSETXATTR:
		sn->xattrs++;
		break;
	case LP_SC_MKNOD: case LP_SC_MKNODAT:
		sn->mknods++;
		break;
	case LP_SC_LINK: case LP_SC_LINKAT: case LP_SC_SYMLINK: case LP_SC_SYMLINKAT:
		sn->links++;
		break;
	case LP_SC_UNLINK: case LP_SC_UNLINKAT: case LP_SC_RMDIR:
		sn->unlinks++;
		break;
	default:
		break;
	}
}

uint64_t lp_model_fdio_close_ts(const struct lp_model *m, const struct lp_ev_fd_io *e, bool *still_open)
{
	const struct lp_hdr *h = &e->h;
	if (still_open)
		*still_open = false;
	if (!((e->io_flags | h->flags) & LP_FDIO_DRAINED))
		return h->ts; /* sent at close */
	/* Drained at the end of the recording. The process that did the I/O
	 * is the one alive at its last read/write (the pid may be reused
	 * since); if it exited before the drain, its fds closed at exit. */
	uint64_t at = e->last_ts && e->last_ts <= h->ts ? e->last_ts : h->ts;
	const struct lp_proc *p = lp_model_proc_at(m, h->tgid, at);
	if (p && p->exited && p->end_ns && p->end_ns <= h->ts)
		return p->end_ns;
	if (still_open)
		*still_open = true;
	return h->ts;
}

/* q: hdr.ts is the fd's close time (lp_model_fdio_close_ts);
 * open_at_end: the fd was still open when the recording ended. */
static void pass2_fdio(struct lp_model *m, const struct p2rec *q, const struct lp_proc *p0, bool open_at_end)
{
	const struct lp_ev_fd_io *e = &q->r.io;
	const struct lp_hdr *h = &e->h;
	struct lp_proc *p = p0 ? &m->procs[p0->index] : lp_model_proc_get(m, h->tgid, h->ts);
	uint32_t pid = q->path;
	char tbuf[4096];
	const char *path = translate_id(m, pstr(m, pid), &pid, tbuf, sizeof(tbuf));
	if (path && !(p2flags(m, p) & PC_DAEMONISH) && fd_inherited(m, p, h->tgid, (int)h->aux, h->ts))
		path = NULL; /* most likely a close-on-exec fd of the parent: unknown */
	if (!open_at_end)
		fd_del(lp_priv(m), h->tgid, (int32_t)h->aux); /* closed (by close or at exit) */
	int step = lp_model_event_step_p(m, h, p, path, path ? pid : 0);
	struct lp_agg *sa = step_agg(m, step);
	struct lp_agg *as[2] = { &p->agg, sa };
	for (int i = 0; i < 2; i++) {
		as[i]->bytes_read += e->rbytes;
		as[i]->bytes_written += e->wbytes;
		as[i]->read_ns += e->rns;
		as[i]->write_ns += e->wns;
		agg_sc_add(as[i], LP_SC_READ, e->rcalls, 0, e->rns);
		agg_sc_add(as[i], LP_SC_WRITE, e->wcalls, 0, e->wns);
	}
	if (!path)
		return;
	/* pipes, sockets, anon inodes: not files */
	if (path[0] != '/')
		return;
	enum lp_path_space space;
	uint32_t sid;
	struct lp_file *f = file_of(m, step, p, path, pid, h->ts, &sid, &space);
	f->rbytes += e->rbytes;
	f->wbytes += e->wbytes;
	f->rns += e->rns;
	f->wns += e->wns;
	if (e->rbytes)
		f->read = true;
	if (e->wbytes)
		f->written = true;
	const char *rel;
	if (e->wbytes && p->role != LP_ROLE_CONTAINER) {
		struct lp_split sp;
		lp_model_split(m, path, pid, &sp);
		if (sp.part != LP_SNAP_NONE && !ctx_rel_id(m, path, pid, &rel))
			m->snap.layer_bytes_written += e->wbytes;
	}
	if (p->role == LP_ROLE_CONTAINER && e->wbytes)
		m->snap.layer_bytes_written += e->wbytes;
	if (e->wbytes && is_build_daemon(m, p) && ctx_rel_id(m, path, pid, &rel) && *rel) {
		m->context.write_ns += e->wns;
		if (is_tmp_name(rel))
			tmp_add(m, rel, e->wbytes);
		else
			ctx_sent(m, rel, false, e->wbytes, h->ts);
	}
	if (e->rbytes && step >= 0 && p->role == LP_ROLE_CONTAINER && m->steps[step].kind == LP_STEPK_RUN)
		container_read_id(m, step, path, pid);
}

/* A process of another traced daemon (several may run side by side): its
 * work is not this build's, not even unattributed housekeeping.
 * p: lp_model_proc_at() of the record's process. */
static bool foreign(const struct lp_model *m, const struct lp_hdr *h, const struct lp_proc *p)
{
	if (!lp_priv(m)->daemon_known || (h->kind != LP_EV_SYSCALL && h->kind != LP_EV_FD_IO))
		return false;
	return p && p->role != LP_ROLE_CLI && !(p2flags(m, p) & PC_INBUILD);
}

static void pass2_record(struct lp_model *m, struct p2rec *q)
{
	struct lp_hdr *h = &q->r.h;
	/* per-fd I/O is accounted at its close: for an fd drained at the end
	 * of the recording after its process exited, at that exit */
	bool open_at_end = false;
	if (h->kind == LP_EV_FD_IO)
		h->ts = lp_model_fdio_close_ts(m, &q->r.io, &open_at_end);
	const struct lp_proc *p = proc_at_cached(m, h->tgid, h->ts); /* looked up once */
	if (foreign(m, h, p))
		return;
	switch (h->kind) {
	case LP_EV_SYSCALL:
		pass2_syscall(m, q, p);
		break;
	case LP_EV_FD_IO:
		pass2_fdio(m, q, p, open_at_end);
		break;
	case LP_EV_EXEC: {
		int s = p ? p->step : -1;
		if (s >= 0)
			m->steps[s].agg.execs++;
		break;
	}
	case LP_EV_FORK: {
		int s = p ? p->step : -1;
		if (s >= 0)
			m->steps[s].agg.forks++;
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *e = &q->r.ex;
		int s = p ? p->step : -1;
		struct lp_agg *a = step_agg(m, s);
		a->chown += e->counts.chown;
		a->chmod += e->counts.chmod;
		a->utimens += e->counts.utimens;
		a->stat_ok += e->counts.stat_ok;
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------ finishing */

bool lp_step_is_dockerfile(const struct lp_step *s)
{
	switch (s->kind) {
	case LP_STEPK_RUN: case LP_STEPK_COPY: case LP_STEPK_FROM:
		return s->stage_steps > 0;
	case LP_STEPK_OTHER:
		return true;
	default:
		return false;
	}
}

bool lp_step_counts_for_cache(const struct lp_step *s)
{
	return lp_step_is_dockerfile(s) && s->cacheable;
}

static int cmp_file(const void *a, const void *b)
{
	const struct lp_file *x = a, *y = b;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int cmp_ctx(const void *a, const void *b)
{
	const struct lp_ctx_file *x = a, *y = b;
	return strcmp(x->path, y->path);
}

static void finish(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	/* per-step file counts, process counts */
	for (size_t i = 0; i < m->nfiles; i++) {
		struct lp_file *f = &m->files[i];
		struct lp_agg *a = step_agg(m, f->step);
		if (f->read && (f->opens || f->rbytes))
			a->files_read++;
		if (f->written)
			a->files_written++;
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		struct lp_proc *p = &m->procs[i];
		if (p->step >= 0)
			m->steps[p->step].agg.procs++;
	}
	/* reads_from_context */
	for (size_t s = 0; s < m->nsteps; s++) {
		struct lp_strv *v = &pv->step_rfc[s];
		lp_strv_sort_uniq(v);
		m->steps[s].reads_from_context = v->v;
		m->steps[s].nreads_from_context = v->n;
		memset(v, 0, sizeof(*v));
	}
	/* sort files by (step, path) and ctx files by path; rebuild indexes */
	if (m->nfiles > 1)
		qsort(m->files, m->nfiles, sizeof(struct lp_file), cmp_file);
	/* indexes into files are stale now: made again when asked (never, for
	 * a report) */
	free(pv->fid_keys);
	free(pv->fid_vals);
	pv->fid_keys = NULL;
	pv->fid_vals = NULL;
	pv->fid_cap = 0;
	free(pv->pinfo);
	pv->pinfo = NULL;
	pv->npinfo = 0;
	if (m->nctx_files > 1)
		qsort(m->ctx_files, m->nctx_files, sizeof(struct lp_ctx_file), cmp_ctx);
	lp_smap_free(&pv->ctx_idx);
	for (size_t i = 0; i < m->nctx_files; i++)
		lp_smap_put(&pv->ctx_idx, m->ctx_files[i].path, (int)i);
	for (size_t i = 0; i < m->nfiles; i++)
		if (m->files[i].space == LP_PATH_CONTEXT)
			m->files[i].ctx = lp_smap_get(&pv->ctx_idx, m->files[i].path);
	/* data root: the build daemon's, from its context snapshot or runc bundle */
	const char *evid = m->context.snapshot_dir;
	const char *cut = evid ? strstr(evid, "/overlay2/") : NULL;
	for (size_t s = 0; s < m->nsteps && !cut; s++)
		if (m->steps[s].rootfs) {
			evid = m->steps[s].rootfs;
			cut = strstr(evid, "/buildkit/executor/");
		}
	if (cut) {
		for (size_t i = 0; i < m->build.ndata_roots; i++)
			free(m->build.data_roots[i]);
		m->build.data_roots = lp_xrealloc(m->build.data_roots, sizeof(char *));
		m->build.data_roots[0] = strndup(evid, (size_t)(cut - evid));
		m->build.ndata_roots = m->build.data_roots[0] ? 1 : 0;
	}
	/* summary */
	struct lp_build *b = &m->build;
	uint64_t first = 0, last = 0;
	for (size_t s = 0; s < m->nsteps; s++) {
		const struct lp_step *st = &m->steps[s];
		if (st->start_ns && (!first || st->start_ns < first))
			first = st->start_ns;
		if (st->end_ns > last)
			last = st->end_ns;
		if (lp_step_is_dockerfile(st))
			b->steps++;
		if (lp_step_counts_for_cache(st)) {
			b->cacheable_steps++;
			if (st->cached)
				b->cached_steps++;
		}
		if (st->status == LP_STEP_ERROR)
			b->failed = true;
	}
	/* the traced command's own lifetime, when it is in the trace: what the
	 * user waited for (the CLI prints progress lines late and in batches) */
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (p->role != LP_ROLE_CLI || (p->parent >= 0 && m->procs[p->parent].role == LP_ROLE_CLI))
			continue;
		uint64_t st = p->start_ns ? p->start_ns : p->exec_ns;
		if (st && first && st < first && first - st < 3600ull * 1000000000ull) {
			first = st;
			b->wall_from_command = true;
		}
		if (p->exited && p->end_ns > last && last && p->end_ns - last < 3600ull * 1000000000ull)
			last = p->end_ns;
	}
	b->start_ns = first;
	b->end_ns = last;
	b->wall_ns = last > first ? last - first : 0;
	b->cache_hit_rate = b->cacheable_steps ? (double)b->cached_steps / (double)b->cacheable_steps : -1;
	if (b->command_status > 0 || b->error)
		b->failed = true;
	b->cold = b->cached_steps == 0 && m->context.changed_files == 0;
	if (b->failed) {
		/* no image came out of this build: a size from `image inspect`
		 * is an older image of the same tag, and the layer bytes are of
		 * layers no image uses */
		b->image_bytes = 0;
		b->image_bytes_source = NULL;
	} else if (!b->image_bytes_source && m->snap.layer_bytes_written) {
		b->image_bytes = m->snap.layer_bytes_written;
		b->image_bytes_source = "layer bytes written";
	}
	if (m->context.end_ns > m->context.start_ns)
		m->context.transfer_ns = m->context.end_ns - m->context.start_ns;
	if (m->context.step >= 0) {
		const struct lp_step *cs = &m->steps[m->context.step];
		uint64_t w = lp_step_wall_ns(cs);
		if (!m->context.transfer_ns)
			m->context.transfer_ns = w;
		if (cs->start_ns && (!m->context.start_ns || cs->start_ns < m->context.start_ns))
			m->context.start_ns = cs->start_ns;
		if (cs->end_ns > m->context.end_ns)
			m->context.end_ns = cs->end_ns;
	}
	for (size_t s = 0; s < m->nsteps; s++)
		if (m->steps[s].kind == LP_STEPK_EXPORT && m->steps[s].end_ns > m->steps[s].start_ns)
			m->snap.export_ns += m->steps[s].end_ns - m->steps[s].start_ns;
	for (size_t s = 0; s < m->nsteps; s++)
		if (m->steps[s].kind == LP_STEPK_EXPORT) {
			m->snap.export_bytes_read += m->steps[s].agg.bytes_read;
			m->snap.export_bytes_written += m->steps[s].agg.bytes_written;
		}
}

static void priv_free(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv)
		return;
	free(pv->pid_keys);
	free(pv->pid_vals);
	free(pv->pid_prev);
	lp_smap_free(&pv->step_by_num);
	lp_smap_free(&pv->ctx_idx);
	lp_smap_free(&pv->ctx_dirs);
	lp_smap_free(&pv->rfc_seen);
	lp_smap_free(&pv->snap_idx);
	for (size_t i = 0; i < pv->nsnaps; i++) {
		free(pv->snaps[i].dir);
		lp_smap_free(&pv->snaps[i].paths);
	}
	free(pv->snaps);
	for (size_t i = 0; i < m->nprocs; i++) {
		if (pv->pend_argv)
			free_argv(pv->pend_argv[i], pv->pend_argc[i]);
		if (pv->first_cmd)
			free(pv->first_cmd[i]);
	}
	free(pv->pend_argv);
	free(pv->pend_argc);
	free(pv->first_cmd);
	free(pv->pcache);
	lp_strtab_free(&pv->paths);
	free(pv->pinfo);
	free(pv->fid_keys);
	free(pv->fid_vals);
	for (size_t i = 0; i < m->nsteps; i++) {
		if (pv->step_log)
			lp_strv_free(&pv->step_log[i]);
		if (pv->step_enoent)
			lp_strv_free(&pv->step_enoent[i]);
		if (pv->step_missing)
			lp_strv_free(&pv->step_missing[i]);
		if (pv->step_rfc)
			lp_strv_free(&pv->step_rfc[i]);
	}
	free(pv->step_log);
	free(pv->step_enoent);
	free(pv->step_missing);
	free(pv->step_rfc);
	for (size_t i = 0; i < pv->ndf; i++) {
		free(pv->df[i].stage_name);
		free(pv->df[i].keyword);
		free(pv->df[i].args);
		free(pv->df[i].workdir);
	}
	free(pv->df);
	lp_smap_free(&pv->tmp_idx);
	free(pv->tmp_bytes);
	lp_model_reset_mounts(m);
	free(pv->fdtab);
	lp_strv_free(&pv->build_errors);
	lp_progress_free(pv->prog);
	free(pv);
	m->priv = NULL;
}

void lp_model_free(struct lp_model *m)
{
	if (!m)
		return;
	priv_free(m);
	for (size_t i = 0; i < m->nsteps; i++) {
		struct lp_step *s = &m->steps[i];
		free(s->name);
		free(s->stage);
		free(s->instruction);
		free(s->args);
		free(s->error);
		for (size_t j = 0; j < s->ncopy_srcs; j++)
			free(s->copy_srcs[j]);
		free(s->copy_srcs);
		free(s->copy_dst);
		free(s->container_id);
		free(s->rootfs);
		free(s->snapshot_dir);
		for (size_t j = 0; j < s->nreads_from_context; j++)
			free(s->reads_from_context[j]);
		free(s->reads_from_context);
	}
	for (size_t i = 0; i < m->nsteps; i++)
		free(m->steps[i].agg.sc);
	free(m->steps);
	free(m->unattributed.sc);
	for (size_t i = 0; i < m->nprocs; i++) {
		free(m->procs[i].agg.sc);
		free(m->procs[i].exe);
		free_argv(m->procs[i].argv, m->procs[i].argc);
	}
	free(m->procs);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->files);
	for (size_t i = 0; i < m->nctx_files; i++)
		free(m->ctx_files[i].path);
	free(m->ctx_files);
	free(m->context.dir);
	free(m->context.snapshot_dir);
	for (size_t i = 0; i < m->nfindings; i++)
		lp_finding_free(&m->findings[i]);
	free(m->findings);
	struct lp_build *b = &m->build;
	free(b->error);
	free(b->command);
	free(b->context_dir);
	free(b->dockerfile_path);
	free(b->dockerfile_text);
	for (size_t i = 0; i < b->ndata_roots; i++)
		free(b->data_roots[i]);
	free(b->data_roots);
	free(b->image_ref);
	free(m);
}


struct lp_model *lp_model_from_reader(struct lp_reader *r, const struct lp_model_options *opt,
				      char *err, size_t errlen)
{
	struct lp_model *m = lp_xcalloc(1, sizeof(*m));
	struct lp_priv *pv = lp_xcalloc(1, sizeof(*pv));
	m->priv = pv;
	m->context.step = -1;
	m->build.command_status = -1;
	pv->ctx_snap = -1;
	pv->lag_ns = 300000000ull;

	parse_meta(m, lp_reader_meta(r));
	if (m->build.context_dir)
		m->context.dir = lp_xstrdup(m->build.context_dir);

	if (lp_reader_rewind(r) < 0) {
		snprintf(err, errlen, "cannot rewind the trace");
		lp_model_free(m);
		return NULL;
	}
	/* pass 1, and the tape of what pass 2 needs */
	struct lp_resolver *res = lp_resolver_new();
	struct readahead ra;
	struct tape tape = { 0 };
	const struct lp_hdr *h;
	uint64_t events = 0, last_ts = 0;
	ra_start(&ra, r);
	while (ra_next(&ra, &h) == 1) {
		events++;
		if (h->ts > last_ts)
			last_ts = h->ts;
		if (!lp_ev_valid(h))
			continue;
		char fbuf[4096];
		const char *first = NULL;
		bool have_first = false;
		struct p2rec q;
		if (!tape.dropped && p2_capture(m, res, h, &q, fbuf, sizeof(fbuf), &first, &have_first))
			tape_put(&tape, h, &q);
		pass1_record(m, res, h);
		feed_captured(res, h, &q, have_first, first);
	}
	ra_stop(&ra);
	lp_resolver_free(res);
	m->build.events = events;
	const struct lp_reader_status *st = lp_reader_status(r);
	parse_trailer(m, lp_reader_trailer(r));
	m->build.truncated = st->damaged || !st->has_trailer;
	snprintf(m->build.trace_message, sizeof(m->build.trace_message), "%s", st->message);

	lp_progress_steps(m);
	if (!m->nsteps)
		lp_infer_steps(m, r); /* attach mode: steps from kernel evidence (infer.h) */
	/* steps that never finished end with the recording */
	for (size_t s = 0; s < m->nsteps; s++)
		if (!m->steps[s].end_ns)
			m->steps[s].end_ns = last_ts > m->steps[s].start_ns ? last_ts : m->steps[s].start_ns;
	pv->step_enoent = lp_xcalloc(m->nsteps + 1, sizeof(struct lp_strv));
	pv->step_missing = lp_xcalloc(m->nsteps + 1, sizeof(struct lp_strv));
	pv->step_rfc = lp_xcalloc(m->nsteps + 1, sizeof(struct lp_strv));

	lp_correlate(m);

	/* pass 2: from the tape, or (too big a trace) from the trace again */
	lp_model_reset_mounts(m);
	lp_model_pinfo(m, (uint32_t)pv->paths.n); /* room for every path at once */
	struct p2rec q;
	if (!tape.dropped) {
		tape_rewind(&tape);
		replay(m, &tape);
		tape_free(&tape);
	} else {
		if (lp_reader_rewind(r) < 0) {
			snprintf(err, errlen, "cannot rewind the trace");
			lp_model_free(m);
			return NULL;
		}
		res = lp_resolver_new();
		ra_start(&ra, r);
		while (ra_next(&ra, &h) == 1) {
			if (!lp_ev_valid(h))
				continue;
			char fbuf[4096];
			const char *first = NULL;
			bool have_first = false;
			if (p2_capture(m, res, h, &q, fbuf, sizeof(fbuf), &first, &have_first)) {
				p2_fill(&q, h);
				pass2_record(m, &q);
				feed_captured(res, h, &q, have_first, first);
			} else {
				lp_resolver_feed(res, h);
			}
		}
		ra_stop(&ra);
		lp_resolver_free(res);
	}

	finish(m);
	if (!opt || !opt->no_findings)
		lp_analyze(m);
	return m;
}

struct lp_model *lp_model_load(const char *path, const struct lp_model_options *opt, char *err,
			       size_t errlen)
{
	struct lp_reader *r = lp_reader_open(path, err, errlen);
	if (!r)
		return NULL;
	struct lp_model *m = lp_model_from_reader(r, opt, err, errlen);
	lp_reader_close(r);
	return m;
}

/* ---------------------------------------------------------------- lookups */

int lp_model_find_step(const struct lp_model *m, const char *id)
{
	if (!id)
		return -1;
	if (*id == '#')
		id++;
	return lp_smap_get(&lp_priv(m)->step_by_num, id);
}

const struct lp_ctx_file *lp_model_ctx_file(const struct lp_model *m, const char *path)
{
	int i = lp_smap_get(&lp_priv(m)->ctx_idx, path);
	return i >= 0 ? &m->ctx_files[i] : NULL;
}

const struct lp_file *lp_model_step_files(const struct lp_model *m, int step, size_t *n)
{
	size_t lo = 0, hi = m->nfiles;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->files[mid].step < step)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t e = lo;
	while (e < m->nfiles && m->files[e].step == step)
		e++;
	*n = e - lo;
	return *n ? &m->files[lo] : NULL;
}

const char *lp_finding_kind_name(enum lp_finding_kind k)
{
	static const char *names[LP_FIND_NR] = { "layer-order", "cache-miss", "context-bloat",
						 "secret-in-context", "failed-step", "snapshot-cost",
						 "slow-transfer" };
	return (unsigned)k < LP_FIND_NR ? names[k] : "unknown";
}

const char *lp_role_name(enum lp_role r)
{
	static const char *names[] = { "other", "daemon", "runc", "container", "cli" };
	return (unsigned)r < LP_ARRAY_SIZE(names) ? names[r] : "other";
}

const char *lp_step_status_name(enum lp_step_status s)
{
	static const char *names[] = { "unknown", "done", "cached", "error", "canceled" };
	return (unsigned)s < LP_ARRAY_SIZE(names) ? names[s] : "unknown";
}
