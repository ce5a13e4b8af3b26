/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model's data (model.h): the tables of steps, processes, files,
 * context files and findings, their constructors, lookups and destructor.
 * No stage of the pipeline lives here (docs/architecture.md): the model is
 * filled by model_load.c's stages and read by everything after.
 */
#include "model.h"
#include "model_int.h"
#include "model_pass.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "progress.h"
#include "prov_queue.h"
#include "provenance.h"
#include "util.h"

/* ------------------------------------------------------------- processes */

/* The newest process with that pid (a key: 0 is stored as UINT32_MAX), or -1. */
static int pid_last(const struct lp_priv *pv, uint32_t pid)
{
	const uint64_t *v = pid ? lp_u64map_find(&pv->pid_last, pid) : NULL;
	return v ? (int)*v : -1;
}

static void pid_set(struct lp_priv *pv, uint32_t pid, int idx)
{
	if (!pid)
		pid = UINT32_MAX; /* pid 0 (hostile input): a key of its own */
	lp_u64map_put(&pv->pid_last, pid, (uint64_t)idx);
}

struct lp_proc *lp_model_proc_new(struct lp_model *m, uint32_t pid, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	size_t cap = pv->procs_cap;
	lp_grow((void **)&m->procs, &pv->procs_cap, m->nprocs + 1, sizeof(struct lp_proc));
	if (pv->procs_cap != cap) {
		size_t c;
		c = cap;
		lp_grow((void **)&pv->pid_prev, &c, pv->procs_cap, sizeof(int));
		c = cap;
		lp_grow((void **)&pv->pend_argv, &c, pv->procs_cap, sizeof(char **));
		c = cap;
		lp_grow((void **)&pv->pend_argc, &c, pv->procs_cap, sizeof(int));
		c = cap;
		lp_grow((void **)&pv->first_cmd, &c, pv->procs_cap, sizeof(char *));
		c = cap;
		lp_grow((void **)&pv->pcache, &c, pv->procs_cap, sizeof(uint8_t));
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
	pv->pc.valid = false; /* lp_model_proc_at_cached() */
	pv->pid_prev[idx] = pid_last(pv, pid ? pid : UINT32_MAX);
	pid_set(pv, pid, idx);
	return p;
}

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

/* Any newer process with that pid would be found first: the answer
 * holds until the earliest start among them. */
const struct lp_proc *lp_model_proc_at_hint(const struct lp_model *m, struct lp_proc_hint *h, uint32_t tgid,
					    uint64_t ts)
{
	const struct lp_priv *pv = lp_priv(m);
	if (h->valid && tgid == h->tgid && ts >= h->lo && ts < h->hi)
		return &m->procs[h->idx];
	int i = pid_last(pv, tgid ? tgid : UINT32_MAX);
	uint64_t hi = UINT64_MAX;
	for (; i >= 0; i = pv->pid_prev[i]) {
		const struct lp_proc *p = &m->procs[i];
		if (p->start_ns <= ts) {
			*h = (struct lp_proc_hint){ .valid = true, .tgid = tgid, .idx = i, .lo = p->start_ns, .hi = hi };
			return p;
		}
		if (p->start_ns < hi)
			hi = p->start_ns;
	}
	return lp_model_proc_at(m, tgid, ts); /* before every start: not cached */
}

/* A new process, or a start time set, voids the model's own hint. */
const struct lp_proc *lp_model_proc_at_cached(struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	return lp_model_proc_at_hint(m, &lp_priv(m)->pc, tgid, ts);
}

struct lp_proc *lp_model_proc_get_cached(struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	const struct lp_proc *p = lp_model_proc_at_cached(m, tgid, ts);
	return p ? &m->procs[p->index] : lp_model_proc_get(m, tgid, ts);
}

int lp_model_step_of(const struct lp_model *m, uint32_t tgid, uint64_t ts)
{
	const struct lp_proc *p = lp_model_proc_at(m, tgid, ts);
	return p ? p->step : -1;
}

struct lp_agg *lp_model_step_agg(struct lp_model *m, int step)
{
	return step >= 0 && (size_t)step < m->nsteps ? &m->steps[step].agg : &m->unattributed;
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
	lp_grow((void **)&m->ctx_files, &pv->ctx_cap, m->nctx_files + 1, sizeof(struct lp_ctx_file));
	i = (int)m->nctx_files++;
	struct lp_ctx_file *c = &m->ctx_files[i];
	memset(c, 0, sizeof(*c));
	c->path = lp_xstrdup(path);
	c->first_reader = -1;
	c->secret = lp_path_is_secret(path);
	lp_smap_put(&pv->ctx_idx, path, i);
	lp_model_ctx_dir_put(m, path, false);
	return c;
}

void lp_model_ctx_dir_put(struct lp_model *m, const char *path, bool self)
{
	struct lp_priv *pv = lp_priv(m);
	char *d = lp_xstrdup(path);
	if (self && lp_smap_get(&pv->ctx_dirs, d) < 0)
		lp_smap_put(&pv->ctx_dirs, d, 1);
	for (char *s = strrchr(d, '/'); s; s = strrchr(d, '/')) {
		*s = 0;
		if (lp_smap_get(&pv->ctx_dirs, d) >= 0)
			break;
		lp_smap_put(&pv->ctx_dirs, d, 1);
	}
	free(d);
}

/* -------------------------------------------------------------- findings */

struct lp_finding *lp_model_finding_new(struct lp_model *m, enum lp_finding_kind k, int step)
{
	struct lp_priv *pv = lp_priv(m);
	lp_grow((void **)&m->findings, &pv->findings_cap, m->nfindings + 1, sizeof(struct lp_finding));
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
struct lp_sc_stat lp_agg_sc(const struct lp_agg *a, unsigned sc)
{
	struct lp_sc_stat z = { .sc = (uint16_t)sc };
	for (uint16_t i = 0; a && i < a->nsc; i++)
		if (a->sc[i].sc == sc)
			return a->sc[i];
	return z;
}
/* ----------------------------------------------------------------- steps */

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
static void priv_free(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv)
		return;
	if (pv->kept_tape) {
		lp_tape_free(pv->kept_tape);
		free(pv->kept_tape);
	}
	lp_u64map_free(&pv->pid_last);
	free(pv->pid_prev);
	lp_smap_free(&pv->step_by_num);
	lp_smap_free(&pv->ctx_idx);
	lp_smap_free(&pv->ctx_dirs);
	lp_smap_free(&pv->rfc_seen);
	lp_provq_finish(pv->provq); /* (pass 2 ends it; a model freed before that) */
	lp_prov_free(pv->prov);
	lp_smap_free(&pv->snap_idx);
	for (size_t i = 0; i < pv->nsnaps; i++) {
		free(pv->snaps[i].dir);
		lp_smap_free(&pv->snaps[i].paths);
	}
	free(pv->snaps);
	for (size_t i = 0; i < m->nprocs; i++) {
		if (pv->pend_argv)
			lp_argv_free(pv->pend_argv[i], pv->pend_argc[i]);
		if (pv->first_cmd)
			free(pv->first_cmd[i]);
	}
	free(pv->pend_argv);
	free(pv->pend_argc);
	free(pv->first_cmd);
	free(pv->pcache);
	lp_strtab_free(&pv->paths);
	free(pv->pinfo);
	lp_u64map_free(&pv->file_by_key);
	free(pv->step_mounts);
	for (size_t i = 0; i < m->nsteps; i++) {
		if (pv->step_enoent)
			lp_strv_free(&pv->step_enoent[i]);
		if (pv->step_missing)
			lp_strv_free(&pv->step_missing[i]);
		if (pv->step_rfc)
			lp_strv_free(&pv->step_rfc[i]);
	}
	free(pv->step_enoent);
	free(pv->step_missing);
	free(pv->step_rfc);
	lp_smap_free(&pv->tmp_idx);
	free(pv->tmp_bytes);
	free(pv->commit_ts);
	free(pv->dsync_ts);
	lp_model_reset_mounts(m);
	lp_u64map_free(&pv->fd_opened);
	lp_progress_free(pv->prog);
	lp_buf_free(&pv->progress_whole[0]);
	lp_buf_free(&pv->progress_whole[1]);
	free(pv);
	m->priv = NULL;
}

/* GCC says __SANITIZE_ADDRESS__, clang (the fuzzers) __has_feature */
#if defined(__SANITIZE_ADDRESS__)
#define LP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LP_ASAN 1
#endif
#endif

bool lp_model_process_ends;

void lp_model_free_at_exit(struct lp_model *m)
{
#ifndef LP_ASAN
	if (lp_model_process_ends)
		return;
#endif
	lp_model_free(m);
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
		lp_argv_free(s->copy_srcs, (int)s->ncopy_srcs);
		free(s->copy_dst);
		free(s->container_id);
		free(s->rootfs);
		free(s->snapshot_dir);
		lp_argv_free(s->reads_from_context, (int)s->nreads_from_context);
		lp_argv_free(s->log_tail, (int)s->nlog_tail);
		lp_argv_free(s->enoent_evidence, (int)s->nenoent_evidence);
		lp_argv_free(s->missing_paths, (int)s->nmissing_paths);
	}
	for (size_t i = 0; i < m->nsteps; i++)
		free(m->steps[i].agg.sc);
	free(m->steps);
	free(m->unattributed.sc);
	for (size_t i = 0; i < m->nprocs; i++) {
		free(m->procs[i].agg.sc);
		free(m->procs[i].exe);
		lp_argv_free(m->procs[i].argv, m->procs[i].argc);
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
	lp_argv_free(b->errors, (int)b->nerrors);
	lp_dockerfile_free(b->dockerfile);
	free(b->command);
	free(b->docker_host);
	free(b->builder);
	free(b->own_containers.v);
	free(b->other_containers.v);
	free(b->engine_version);
	free(b->target);
	free(b->builder_driver);
	free(b->context_dir);
	free(b->dockerfile_path);
	free(b->dockerfile_text);
	lp_argv_free(b->data_roots, (int)b->ndata_roots);
	free(b->image_ref);
	free(m);
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
						 "slow-transfer", "clobbered-files", "wasted-layer-bytes",
						 "secret-in-layer" };
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

void lp_u32v_push(struct lp_u32v *l, uint32_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = lp_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = x;
}

bool lp_u32v_has(const struct lp_u32v *l, uint32_t x)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == x)
			return true;
	return false;
}
