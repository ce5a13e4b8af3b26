/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pass 2 (model_pass.h): the activity. Every syscall and per-fd I/O
 * aggregate of a captured record is attributed to a step (attribution.c)
 * and a process, and summed per step, per process and per (step, path)
 * file row; the context transfer (which files were sent, added, changed)
 * and the evidence of failed lookups are noted on the way.
 *
 * Its tables: (tgid, fd) -> open time, to tell an inherited fd; and
 * (step, shown path id) -> file row. Paths are interned ids, so what
 * depends on a path alone is worked out once per path (lp_pinfo).
 */
#include "model_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event.h"
#include "meter.h"
#include "prov_queue.h"
#include "provenance.h"
#include "syscalls.h"
#include "util.h"

/* lp_model_translate() of an interned path; *id becomes the result's. A
 * path not under a temporary mount comes out as it went in. */
static const char *translate_id(struct lp_model *m, const char *path, uint32_t *id, char *buf, size_t len)
{
	if (!path || (*id && !lp_model_pinfo(m, *id)->bkmount))
		return path;
	uint32_t gen = lp_priv(m)->mnt_gen + 1;
	if (*id && path == lp_model_path(m, *id)) {
		/* worked out once per path while the mounts stay as they are
		 * (most records under a mount: a RUN's whole file work) */
		struct lp_pinfo *pi = lp_model_pinfo(m, *id);
		if (pi->trans_gen != gen) {
			const char *t = lp_model_translate(m, path, buf, len);
			uint32_t to = t == path ? *id : lp_model_intern(m, t);
			pi = lp_model_pinfo(m, *id); /* (the intern may have grown the table) */
			pi->trans_id = to;
			pi->trans_gen = gen;
		}
		*id = pi->trans_id;
		return lp_model_path(m, *id);
	}
	const char *t = lp_model_translate(m, path, buf, len);
	if (t == path)
		return path;
	*id = lp_model_intern(m, t);
	return lp_model_path(m, *id);
}

/* The per-syscall slot of sc in a, made on first use. */
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
		lp_grow((void **)&pv->tmp_bytes, &pv->tmp_cap, pv->ntmp + 1, sizeof(uint64_t));
		i = (int)pv->ntmp++;
		pv->tmp_bytes[i] = 0;
		lp_smap_put(&pv->tmp_idx, rel, i);
	}
	pv->tmp_bytes[i] += bytes;
}

/* A context-relative path that is one of the context's directories (or
 * its root), not a file. */
static bool ctx_is_dir(struct lp_model *m, const char *rel)
{
	if (!rel || !*rel || !strcmp(rel, "."))
		return true;
	return lp_smap_get(&lp_priv(m)->ctx_dirs, rel) >= 0;
}

/* The client opened directory rel of the context at ts: its walk, unless
 * it walked the Dockerfile's or .dockerignore's own source then. With the
 * engine's times, the load step's window nearest ts tells
 * (lp_model_definition_step). Without them, the depth does: those
 * sources name files of the root, so their walks open the root and its
 * directories, nothing deeper (the 20.10 CLI); the context's walk is
 * the first open two levels down, from the root's open before it. */
static void ctx_walk(struct lp_model *m, const char *rel, uint64_t ts)
{
	if (m->steps[m->context.step].e_start_ns) {
		if (lp_model_definition_step(m, LP_STEPK_OTHER, ts) >= 0)
			return;
	} else if (!m->context.walk_start_ns) {
		struct lp_priv *pv = lp_priv(m);
		if (!rel || !*rel || !strcmp(rel, ".")) {
			pv->ctx_root_open_ns = ts;
			return;
		}
		if (!strchr(rel, '/'))
			return;
		if (pv->ctx_root_open_ns && pv->ctx_root_open_ns <= ts)
			m->context.walk_start_ns = pv->ctx_root_open_ns;
	}
	if (!m->context.walk_start_ns || ts < m->context.walk_start_ns)
		m->context.walk_start_ns = ts;
	if (ts > m->context.walk_end_ns)
		m->context.walk_end_ns = ts;
}

static void ctx_window(struct lp_model *m, uint64_t ts)
{
	if (!m->context.start_ns || ts < m->context.start_ns)
		m->context.start_ns = ts;
	if (ts > m->context.end_ns)
		m->context.end_ns = ts;
}

/* The snapshot's commit begins after the last write into it: a write
 * starts the run of its thread afresh. */
static void commit_restart(struct lp_model *m, const struct lp_hdr *h)
{
	struct lp_priv *pv = lp_priv(m);
	pv->commit_tid = h->tid;
	pv->commit_tgid = h->tgid;
	pv->ncommit = 0;
}

/* Another record of the process of the open run: a sync (any thread's)
 * extends it; a write of the last write's thread elsewhere than the
 * snapshot's own directory (overlay's files beside its diff/) is other
 * work, the commit is over. Only the records whose thread the tape keeps
 * are looked at (lp_tape_keeps_tid), the same whether pass 2 reads the
 * tape or the trace. */
#define COMMIT_MAX 4096
static void commit_see(struct lp_model *m, const struct lp_hdr *h, const char *path)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv->commit_tid || h->tgid != pv->commit_tgid || !lp_tape_keeps_tid(h))
		return;
	unsigned sc = h->aux;
	bool sync = h->kind == LP_EV_SYSCALL && lp_sc_is_sync(sc);
	if (!sync && h->tid != pv->commit_tid)
		return;
	if (sync && pv->ncommit < COMMIT_MAX) {
		lp_grow((void **)&pv->commit_ts, &pv->commit_cap, pv->ncommit + 1, sizeof(uint64_t));
		pv->commit_ts[pv->ncommit++] = h->ts;
		return;
	}
	const char *snap = m->context.snapshot_dir; /* ".../overlay2/ID", its diff/ inside */
	size_t n = snap ? strlen(snap) : 0;
	if (h->kind == LP_EV_SYSCALL && (!path || (n && !strncmp(path, snap, n) && path[n] == '/')))
		return;
	pv->commit_tid = 0;
}

static void settle_reads(struct lp_model *m);

/* Daemon wrote into the context snapshot. */
static void ctx_sent(struct lp_model *m, const char *rel, bool changed, uint64_t bytes, uint64_t ts)
{
	settle_reads(m); /* (a new context file changes what a container read finds) */
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

static uint64_t fd_key(uint32_t tgid, int32_t fd)
{
	return (uint64_t)tgid << 32 | (uint32_t)fd;
}

static void note_fd_open(struct lp_model *m, uint32_t tgid, int64_t fd, uint64_t ts)
{
	if (fd >= 0 && fd <= INT32_MAX && tgid)
		lp_u64map_put(&lp_priv(m)->fd_opened, fd_key(tgid, (int32_t)fd), ts);
}

/* Was fd inherited across the process's exec (not opened by it since)? */
static bool fd_inherited(const struct lp_model *m, const struct lp_proc *p, uint32_t tgid, int fd,
			 uint64_t ts)
{
	if (fd <= 2)
		return false; /* stdio: redirections made before exec are the norm */
	const uint64_t *opened = lp_u64map_find(&lp_priv(m)->fd_opened, fd_key(tgid, fd));
	if (!opened)
		return true; /* never opened by this process: inherited */
	return p->exec_ns && ts >= p->exec_ns && *opened < p->exec_ns;
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
	uint32_t sid = shown == path ? id : lp_model_intern(m, shown);
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
	if (pi->bkmount || path != lp_model_path(m, id))
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

static uint64_t fid_key(int step, uint32_t sid)
{
	return ((uint64_t)(uint32_t)(step + 1) << 32) | sid;
}

/* The index of files by (step, path) made again (the files were sorted). */
static void fid_rebuild(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	lp_u64map_free(&pv->file_by_key);
	for (size_t i = 0; i < m->nfiles; i++)
		lp_u64map_put(&pv->file_by_key, fid_key(m->files[i].step, lp_model_intern(m, m->files[i].path)), i);
}

/* The file row of (step, shown path), made on first use. */
static struct lp_file *file_get_id(struct lp_model *m, int step, uint32_t sid, enum lp_path_space space,
				   uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	uint64_t key = fid_key(step, sid);
	if (!pv->file_by_key.n && m->nfiles)
		fid_rebuild(m); /* dropped by lp_pass2_end() */
	const uint64_t *found = lp_u64map_find(&pv->file_by_key, key);
	if (found)
		return &m->files[*found];
	/* not zeroed as lp_grow() would (each row is, when made): the pages
	 * of rows not made yet stay untouched, out of the resident memory
	 * (up to ~20 MiB on the 10M-event trace) */
	lp_grow_raw((void **)&m->files, &pv->files_cap, m->nfiles + 1, sizeof(struct lp_file));
	size_t idx = m->nfiles++;
	struct lp_file *f = &m->files[idx];
	memset(f, 0, sizeof(*f));
	f->step = step;
	f->path = lp_xstrdup(lp_model_path(m, sid));
	f->space = space;
	f->first_ts = ts;
	f->ctx = -1;
	if (space == LP_PATH_CONTEXT)
		f->ctx = lp_smap_get(&pv->ctx_idx, f->path);
	lp_u64map_put(&pv->file_by_key, key, idx);
	return f;
}

struct lp_file *lp_model_file_get(struct lp_model *m, int step, const char *path, enum lp_path_space space,
				  uint64_t ts)
{
	return file_get_id(m, step, lp_model_intern(m, path), space, ts);
}

/* container_read() of an interned path, when provenance says the file
 * is the one a COPY placed (not the installer's own copy: provenance.h).
 * Provenance answers on its own thread, a while later (prov_queue.h): the
 * answer is acted on then (container_read_answer). That is the same as at
 * once because what container_read() depends on and changes (the context
 * files known, what note_rfc() noted) changes nowhere else but in
 * ctx_sent() and note_rfc(), and every answer is taken before those
 * (settle_reads). Done again for the same step and path with the same
 * context files known, it would find what it found (its result depends on
 * those alone, and context files are only added), and note_rfc() would
 * note nothing new: skip it. */
static void container_read_id(struct lp_model *m, int step, const char *cpath, uint32_t id)
{
	if (!lp_priv(m)->prov)
		return; /* a view that shows no provenance (lp_model_options.no_provenance) */
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	uint32_t gen = (uint32_t)m->nctx_files;
	if (cpath == lp_model_path(m, id) && pi->read_step == step + 1 && pi->read_gen == gen)
		return;
	struct lp_provq_ask a = { .cpath = cpath, .id = id, .step = step, .gen = gen };
	lp_provq_ask_from_copy(lp_priv(m)->provq, m->steps[step].stage, &a);
}

static void container_read_answer(struct lp_model *m, const struct lp_provq_ask *a, bool from_copy)
{
	if (!from_copy)
		return;
	container_read(m, a->step, a->cpath);
	struct lp_pinfo *pi = lp_model_pinfo(m, a->id);
	pi->read_step = a->step + 1;
	pi->read_gen = (uint32_t)a->gen;
}

/* The answers provenance has given so far acted on. */
static void take_answers(struct lp_model *m)
{
	struct lp_prov_queue *q = lp_priv(m)->provq;
	struct lp_provq_ask a;
	bool yes;
	while (q && lp_provq_pending(q) && lp_provq_answer(q, &a, &yes))
		container_read_answer(m, &a, yes);
}

/* Every question asked answered and acted on: before what a
 * container_read() depends on changes. */
static void settle_reads(struct lp_model *m)
{
	struct lp_prov_queue *q = lp_priv(m)->provq;
	if (q && lp_provq_settle(q))
		take_answers(m);
}

/* The file row of an interned path for step, as process p shows it (the
 * id and space of what is shown in *sid and *space). */
static struct lp_file *file_of(struct lp_model *m, int step, const struct lp_proc *p, const char *path, uint32_t id,
			       uint64_t ts, uint32_t *sid, enum lp_path_space *space)
{
	int cont = p && p->role == LP_ROLE_CONTAINER;
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	if (!pi->bkmount && path == lp_model_path(m, id) && pi->file_step[cont] == step + 2) {
		*sid = cont ? pi->disp_cont : pi->disp_host;
		*space = (enum lp_path_space)(cont ? pi->space_cont : pi->space_host);
		return &m->files[pi->file_idx[cont]];
	}
	*sid = display_id(m, step, p, path, id, space);
	struct lp_file *f = file_get_id(m, step, *sid, *space, ts);
	pi = lp_model_pinfo(m, id);
	if (!pi->bkmount && path == lp_model_path(m, id)) {
		pi->file_step[cont] = step + 2;
		pi->file_idx[cont] = (uint32_t)(f - m->files);
	}
	return f;
}
/*
 * Pass 2 from the tape, decoded a batch ahead on a thread of its own
 * (lp_tape_ahead). P2_AHEAD records before a record's turn, the memory its
 * turn will touch is asked for (the path's pinfo; half-way, its file row):
 * the tables are far bigger than the caches and a build's paths come in no
 * order, so each would otherwise be a wait.
 */
#define P2_AHEAD 16

/* (always inlined: a function of nothing but prefetches is one GCC takes
 * for const, having no effect, and drops every call to: at -O2 this file
 * had no prefetch instruction left in it) */
static inline __attribute__((always_inline)) void prefetch_pinfo(const struct lp_model *m, const struct lp_p2rec *q)
{
	const struct lp_priv *pv = lp_priv(m);
	if (q->path < pv->npinfo)
		__builtin_prefetch(&pv->pinfo[q->path]);
	if (q->path < pv->paths.n)
		__builtin_prefetch(&pv->paths.str[q->path]);
}

/* (the lines asked for by prefetch_pinfo() have come by now) */
static inline __attribute__((always_inline)) void prefetch_file(const struct lp_model *m, const struct lp_p2rec *q)
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

void lp_pass2_replay(struct lp_model *m, struct lp_tape *t)
{
	struct lp_tape_ahead *a = lp_tape_ahead_start(t);
	struct lp_p2rec *q;
	size_t n, chunk;
	while ((n = lp_tape_ahead_next(a, &q, &chunk))) {
		for (size_t i = 0; i < n && i < P2_AHEAD; i++)
			prefetch_pinfo(m, &q[i]);
		for (size_t i = 0; i < n; i++) {
			if (i + P2_AHEAD < n)
				prefetch_pinfo(m, &q[i + P2_AHEAD]);
			if (i + P2_AHEAD / 2 < n)
				prefetch_file(m, &q[i + P2_AHEAD / 2]);
			lp_pass2_record(m, &q[i]);
		}
		lp_meter_at(chunk);
	}
	lp_tape_ahead_stop(a);
}

static void note_mount_q(struct lp_model *m, const struct lp_p2rec *q)
{
	const struct lp_ev_syscall *ev = &q->r.sc;
	if (ev->h.aux == LP_SC_MOUNT && ev->ret >= 0 && q->raw0 == LP_P2_OVERLAY) {
		const char *up = lp_model_path(m, q->str0), *dst = lp_model_path(m, q->str1);
		if (up && dst)
			lp_model_note_mount(m, dst, up);
		return;
	}
	if (ev->h.aux != LP_SC_MOUNT || ev->ret < 0 || ev->nstr < 2 || !(ev->args[3] & 4096 /* MS_BIND */) ||
	    (ev->args[3] & 32 /* MS_REMOUNT */))
		return;
	if (!q->raw0)
		return;
	const char *src = lp_model_path(m, q->str0), *dst = lp_model_path(m, q->str1);
	if (src && dst)
		lp_model_note_mount(m, dst, src);
}

/* p0: lp_model_proc_at() of the record's process (NULL: not known yet) */
/* Record h of step, on path (id pid; may be NULL), did kernel-visible work
 * between a and b (step_times.c). A daemon step's time is that of its
 * writes: into its layer's content for a COPY or WORKDIR (not the
 * snapshot's own housekeeping: its link file, the merged/ dir removed
 * when the next step starts), anywhere for the export. Its reads are
 * attributed by windows and may be early or late. The CLI's reads belong
 * to the transfer's own window (lp_context). */
static void step_saw(struct lp_model *m, int step, const struct lp_proc *p, const struct lp_hdr *h,
		     const char *path, uint32_t pid, uint64_t a, uint64_t b)
{
	if (step < 0 || (p && p->role == LP_ROLE_CLI) || !a || b < a)
		return;
	if (!p || p->role != LP_ROLE_CONTAINER) {
		if (!lp_rec_writes(h))
			return;
		if (m->steps[step].kind != LP_STEPK_EXPORT) {
			struct lp_split sp;
			if (!path)
				return;
			lp_model_split(m, path, pid, &sp);
			if ((sp.part != LP_SNAP_DIFF && sp.part != LP_SNAP_MERGED && sp.part != LP_SNAP_FS) ||
			    !*sp.rel)
				return;
		}
	}
	struct lp_step *s = &m->steps[step];
	if (!s->k_first_ns || a < s->k_first_ns)
		s->k_first_ns = a;
	if (b > s->k_last_ns)
		s->k_last_ns = b;
}

/* ------------------------------------------------------- provenance */

/* display() of a path that may be interned (id its id, or 0): the shown
 * path of an interned one is worked out once (display_id); *sid: the
 * shown path's id, or 0 (not interned: in buf). */
static const char *display_maybe_id(struct lp_model *m, int step, const struct lp_proc *p, const char *path,
				    uint32_t id, char *buf, size_t len, enum lp_path_space *space, uint32_t *sid)
{
	if (id && path && path == lp_model_path(m, id)) {
		*sid = display_id(m, step, p, path, id, space);
		return lp_model_path(m, *sid);
	}
	*sid = 0;
	return display(m, step, p, path, buf, len, space);
}

/* A RUN step's container process changed what is at container path `path`
 * (as pass 2 has it: a container path, or a host path into its rootfs;
 * id: its interned id, or 0). */
static void prov_gone(struct lp_model *m, int step, const struct lp_proc *p, const char *path, uint32_t id,
		      bool dir, uint64_t ts)
{
	if (!lp_priv(m)->prov || step < 0 || !path || !p || p->role != LP_ROLE_CONTAINER ||
	    m->steps[step].kind != LP_STEPK_RUN)
		return;
	char buf[4200];
	enum lp_path_space space;
	uint32_t sid;
	const char *c = display_maybe_id(m, step, p, path, id, buf, sizeof(buf), &space, &sid);
	lp_provq_gone(lp_priv(m)->provq, m->steps[step].stage, c, sid, dir, ts);
}

/* A COPY/ADD step's daemon wrote `shown` (a container path) into its layer. */
static void prov_placed(struct lp_model *m, int step, uint32_t sid, enum lp_path_space space, uint64_t ts)
{
	if (!lp_priv(m)->prov || step < 0 || space != LP_PATH_CONTAINER || m->steps[step].kind != LP_STEPK_COPY)
		return;
	lp_provq_placed(lp_priv(m)->provq, m->steps[step].stage, lp_model_path(m, sid), sid, ts);
}

/* Does RUN step `step`'s command have a --mount? Asked at each of its
 * container's file events: its command is searched once. */
static bool run_has_mounts(const struct lp_model *m, int step)
{
	const struct lp_step *s = &m->steps[step];
	if (s->kind != LP_STEPK_RUN || !s->args)
		return false;
	struct lp_priv *pv = lp_priv(m);
	if ((size_t)step >= pv->nstep_mounts)
		lp_grow((void **)&pv->step_mounts, &pv->nstep_mounts, m->nsteps > (size_t)step ? m->nsteps : (size_t)step + 1,
			sizeof(*pv->step_mounts));
	if (!pv->step_mounts[step])
		pv->step_mounts[step] = strstr(s->args, "--mount") ? 2 : 1;
	return pv->step_mounts[step] == 2;
}

/* Is container path cpath under one of RUN step s's --mount targets (a
 * cache, bind, tmpfs, secret or ssh mount: no layer's)? */
static bool in_run_mount(const struct lp_model *m, int step, const char *cpath)
{
	const struct lp_step *s = &m->steps[step];
	if (!run_has_mounts(m, step))
		return false;
	for (const char *a = strstr(s->args, "--mount"); a; a = strstr(a + 7, "--mount")) {
		const char *end = a + strcspn(a, " \t\n");
		bool secret = false, target = false;
		for (const char *kv = a + 7; kv < end; kv++) {
			if (*kv != '=' && *kv != ',')
				continue;
			const char *k = kv + 1;
			size_t kl = strcspn(k, "=, \t\n");
			if (k[kl] != '=')
				continue;
			const char *v = k + kl + 1;
			size_t vl = strcspn(v, ", \t\n");
			if ((kl == 6 && !strncmp(k, "target", 6)) || (kl == 3 && !strncmp(k, "dst", 3)) ||
			    (kl == 11 && !strncmp(k, "destination", 11))) {
				target = true;
				while (vl > 1 && v[vl - 1] == '/')
					vl--;
				if (v[0] == '/' && !strncmp(cpath, v, vl) && (cpath[vl] == '/' || !cpath[vl]))
					return true;
			}
			if (kl == 4 && !strncmp(k, "type", 4) && vl == 6 && !strncmp(v, "secret", 6))
				secret = true;
		}
		if (secret && !target && lp_starts_with(cpath, "/run/secrets/"))
			return true;
	}
	return false;
}

/* Layer provenance (provenance.h): a RUN's container processes and a
 * COPY/ADD's daemon work on container paths; shown is the path as pass 2
 * shows it for the step and process (a container path in space
 * LP_PATH_CONTAINER). */
static bool layer_work(const struct lp_model *m, int step, const struct lp_proc *p, const char *shown,
		       enum lp_path_space space)
{
	if (step < 0 || !p || !shown || space != LP_PATH_CONTAINER)
		return false;
	const struct lp_step *s = &m->steps[step];
	if (s->kind == LP_STEPK_RUN)
		return p->role == LP_ROLE_CONTAINER && !in_run_mount(m, step, shown);
	return s->kind == LP_STEPK_COPY && lp_model_is_build_daemon(m, p);
}

/*
 * A read is sent to provenance again only when it may find something else:
 * by another step, or after a change to the layers' files. What
 * lp_prov_read_id() looks at (a file's ownership) changes by writes, links,
 * deletions and renames alone: one by a path's id forgets that path's last
 * read; a rename (it may move a whole tree) or a change by a path of no id
 * or with a '/' at its end (its key may be another id's) forgets them all
 * (prov_epoch). A step reads most files many times: on the 10M-event bench
 * trace this sends 2.5M reads instead of 5.0M, each one a random access to
 * provenance's tables on its thread. (The steps of one stage follow one
 * another: a change between two reads of one step is that step's, and
 * changes nothing the read finds; the forgetting guards traces where
 * they seem to overlap.)
 */
static void layer_changed(struct lp_model *m, uint32_t id)
{
	const char *path = id ? lp_model_path(m, id) : NULL;
	if (path && *path && path[strlen(path) - 1] != '/')
		lp_model_pinfo(m, id)->prov_read_step = 0;
	else
		lp_priv(m)->prov_epoch++; /* (2^32 of them to wrap: not in one trace) */
}

/* (sid: the interned shown path) */
static void layer_write(struct lp_model *m, int step, const struct lp_proc *p, uint32_t sid,
			enum lp_path_space space, uint64_t bytes)
{
	const char *shown = lp_model_path(m, sid);
	if (lp_priv(m)->prov && layer_work(m, step, p, shown, space)) {
		layer_changed(m, sid);
		lp_provq_write(lp_priv(m)->provq, m->steps[step].stage, shown, sid, step, bytes);
	}
}

static void layer_read(struct lp_model *m, int step, const struct lp_proc *p, uint32_t sid,
		       enum lp_path_space space)
{
	const char *shown = lp_model_path(m, sid);
	if (!lp_priv(m)->prov || !layer_work(m, step, p, shown, space))
		return;
	struct lp_pinfo *pi = lp_model_pinfo(m, sid);
	uint32_t epoch = lp_priv(m)->prov_epoch;
	if (pi->prov_read_step == step + 1 && pi->prov_read_epoch == epoch)
		return;
	if (*shown && shown[strlen(shown) - 1] != '/') { /* ("/a/" is "/a"'s key: changed by that id) */
		pi->prov_read_step = step + 1;
		pi->prov_read_epoch = epoch;
	}
	lp_provq_read(lp_priv(m)->provq, m->steps[step].stage, shown, sid, step);
}

/* A host or container path (id: its interned id, or 0) as a container
 * path of step's (NULL: not one; *sid its id, or 0). */
static const char *layer_path(struct lp_model *m, int step, const struct lp_proc *p, const char *path, uint32_t id,
			      char *buf, size_t len, uint32_t *sid)
{
	*sid = 0;
	if (!lp_priv(m)->prov || step < 0 || !path)
		return NULL;
	enum lp_path_space space;
	const char *c = display_maybe_id(m, step, p, path, id, buf, len, &space, sid);
	return layer_work(m, step, p, c, space) ? c : NULL;
}

static void pass2_syscall(struct lp_model *m, const struct lp_p2rec *q, const struct lp_proc *p0)
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
	const char *path = translate_id(m, lp_model_path(m, pid), &pid, tbuf, sizeof(tbuf));
	if (!path && lp_sc_is_copy(sc)) {
		/* fds only: the destination decides the step (a COPY's layer) */
		pid = q->out;
		path = translate_id(m, lp_model_path(m, pid), &pid, tbuf, sizeof(tbuf));
	}
	if (sc == LP_SC_MOUNT && lp_model_is_build_daemon(m, p))
		note_mount_q(m, q);
	commit_see(m, h, path);
	if (lp_sc_is_sync(sc) && !ev->ret && lp_model_is_build_daemon(m, p)) {
		struct lp_priv *pv = lp_priv(m);
		lp_grow((void **)&pv->dsync_ts, &pv->dsync_cap, pv->ndsync + 1, sizeof(uint64_t));
		pv->dsync_ts[pv->ndsync++] = h->ts;
	}
	int step = lp_model_event_step_p(m, h, p, path, pid);
	struct lp_agg *sa = lp_model_step_agg(m, step);
	step_saw(m, step, p, h, path, pid, h->ts > ev->lat_ns ? h->ts - ev->lat_ns : h->ts, h->ts);
	agg_sc(&p->agg, sc, ev->ret, ev->lat_ns);
	agg_sc(sa, sc, ev->ret, ev->lat_ns);
	struct lp_snapshot_costs *sn = &m->snap;
	int err = ev->ret < 0 ? (int)-ev->ret : 0;

	if (lp_sc_opens_path(sc) && path) {
		enum lp_path_space space;
		uint32_t sid;
		struct lp_file *f = file_of(m, step, p, path, pid, h->ts, &sid, &space);
		const char *shown = lp_model_path(m, sid);
		uint64_t flags = sc == LP_SC_OPEN ? ev->args[1] : sc == LP_SC_CREAT ? (O_CREAT | O_WRONLY)
				 : sc == LP_SC_OPENAT ? ev->args[2] : 0;
		bool wr = lp_open_writes(flags);
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
		/* a directory is listed, not read: O_DIRECTORY says so, or the
		 * kernel did (LP_F_OPEN_DIR: Go opens directories without it);
		 * in a trace made before that flag, a directory of the context
		 * (buildkitd walks its context snapshot so, long after the
		 * transfer) is known by the files under it */
		bool opened_dir = (flags & O_DIRECTORY) || (h->flags & LP_F_OPEN_DIR);
		bool dir = opened_dir || (space == LP_PATH_CONTEXT && ctx_is_dir(m, shown));
		if (wr)
			p->agg.files_written++;
		else if (!dir)
			p->agg.files_read++;
		if (wr) {
			f->written = true;
			if (flags & O_CREAT)
				f->creates++;
			layer_write(m, step, p, sid, space, 0);
			if (p->role == LP_ROLE_CONTAINER)
				prov_gone(m, step, p, path, pid, false, h->ts);
			else if (lp_model_is_build_daemon(m, p))
				prov_placed(m, step, sid, space, h->ts);
		} else if (!dir) {
			f->read = true;
			layer_read(m, step, p, sid, space);
		}
		/* context bookkeeping */
		const char *rel;
		if (lp_model_is_build_daemon(m, p) && ctx_rel_id(m, path, pid, &rel) && *rel) {
			if (wr && (flags & O_CREAT)) {
				commit_restart(m, h);
				if (lp_is_transfer_tmp_name(rel))
					tmp_add(m, rel, 0);
				else
					ctx_sent(m, rel, false, 0, h->ts);
			} else if (!wr && step >= 0 && m->steps[step].kind == LP_STEPK_COPY) {
				settle_reads(m);
				note_rfc(m, step, rel);
			}
		}
		/* the transfer's window: the CLI opening context files; not its
		 * directories (Go opens them without O_DIRECTORY), which it
		 * also walks for .dockerignore well before the transfer, nor the
		 * Dockerfile and .dockerignore, which it sends first, on their
		 * own (when the context holds them too, the daemon's write of
		 * them is in the window), nor the reads of what the CLI runs
		 * (buildx's git reads .git/ 100-200 ms before the transfer) */
		if (p->role == LP_ROLE_CLI && lp_proc_is_build_client(p) && step >= 0 && step == m->context.step &&
		    space == LP_PATH_CONTEXT) {
			if (opened_dir || ctx_is_dir(m, shown))
				ctx_walk(m, shown, h->ts);
			else if (lp_definition_file_kind(m, shown) == LP_STEPK_OTHER)
				ctx_window(m, h->ts);
		}
		if (!wr && !opened_dir && step >= 0 && p->role == LP_ROLE_CONTAINER &&
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
			enoent_evidence(m, step, p, sc, lp_model_path(m, sid), err, h->ts);
		}
		break;
	case LP_SC_RENAME: case LP_SC_RENAMEAT: case LP_SC_RENAMEAT2: {
		sn->renames++;
		sn->rename_ns += ev->lat_ns;
		if (err || ev->nstr < 2)
			break;
		uint32_t tid = q->str1;
		char b3[4096];
		const char *to = translate_id(m, lp_model_path(m, tid), &tid, b3, sizeof(b3));
		char lf[4200], lt[4200];
		uint32_t lfid, ltid;
		const char *lfrom = layer_path(m, step, p, path, pid, lf, sizeof(lf), &lfid);
		const char *lto = layer_path(m, step, p, to, tid, lt, sizeof(lt), &ltid);
		if (lfrom && lto) {
			layer_changed(m, 0);
			lp_provq_rename(lp_priv(m)->provq, m->steps[step].stage, lfrom, lfid, lto, ltid, step);
		}
		if (p->role == LP_ROLE_CONTAINER) {
			/* both names now hold something else (either may be a tree) */
			prov_gone(m, step, p, path, pid, true, h->ts);
			prov_gone(m, step, p, to, tid, true, h->ts);
			break;
		}
		if (!lp_model_is_build_daemon(m, p))
			break;
		const char *rfrom, *rto;
		if (path && to && ctx_rel_id(m, path, pid, &rfrom) && ctx_rel_id(m, to, tid, &rto) && *rto) {
			uint64_t b = lp_is_transfer_tmp_name(rfrom) ? tmp_take(m, rfrom) : 0;
			commit_restart(m, h);
			ctx_sent(m, rto, lp_is_transfer_tmp_name(rfrom), b, h->ts);
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
		const char *ip = translate_id(m, lp_model_path(m, iid), &iid, ib, sizeof(ib));
		const char *op = translate_id(m, lp_model_path(m, oid), &oid, ob, sizeof(ob));
		enum lp_path_space space;
		uint32_t sid;
		if (ip) {
			struct lp_file *f = file_of(m, step, p, ip, iid, h->ts, &sid, &space);
			f->rbytes += n;
			f->rns += ev->lat_ns;
			f->read = true;
			layer_read(m, step, p, sid, space);
		}
		if (op) {
			struct lp_file *f = file_of(m, step, p, op, oid, h->ts, &sid, &space);
			f->wbytes += n;
			f->wns += ev->lat_ns;
			f->written = true;
			layer_write(m, step, p, sid, space, n);
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
		/* symlink's first path is the new name (its target is no path);
		 * link's is its second (a linker's output linked into place) */
		if (!err && (sc == LP_SC_SYMLINK || sc == LP_SC_SYMLINKAT)) {
			prov_gone(m, step, p, path, pid, false, h->ts);
			/* the link is an entry the step made in its layer (npm's
			 * node_modules/.bin/; a COPY that replaces one unlinks it
			 * first: not a deletion) */
			enum lp_path_space lsp;
			uint32_t lsid = path ? display_id(m, step, p, path, pid, &lsp) : 0;
			if (path && lp_priv(m)->prov && layer_work(m, step, p, lp_model_path(m, lsid), lsp)) {
				layer_changed(m, lsid);
				lp_provq_link(lp_priv(m)->provq, m->steps[step].stage, lp_model_path(m, lsid), lsid,
					      step);
			}
		} else if (!err && q->str1) {
			uint32_t lid = q->str1;
			char lb[4096];
			const char *lp = translate_id(m, lp_model_path(m, lid), &lid, lb, sizeof(lb));
			prov_gone(m, step, p, lp, lid, false, h->ts);
		}
		break;
	case LP_SC_UNLINK: case LP_SC_UNLINKAT: case LP_SC_RMDIR: {
		sn->unlinks++;
		if (err)
			break;
		bool dir = sc == LP_SC_RMDIR || (sc == LP_SC_UNLINKAT && (ev->args[2] & AT_REMOVEDIR));
		prov_gone(m, step, p, path, pid, dir, h->ts);
		/* files only: a directory rmdir removes is empty, its files went one by one */
		char lb[4200];
		uint32_t lid;
		const char *lpath = dir ? NULL : layer_path(m, step, p, path, pid, lb, sizeof(lb), &lid);
		if (lpath) {
			layer_changed(m, lid);
			lp_provq_delete(lp_priv(m)->provq, m->steps[step].stage, lpath, lid, step);
		}
		break;
	}
	default:
		break;
	}
}

/* q: hdr.ts is the fd's close time (lp_model_fdio_close_ts);
 * open_at_end: the fd was still open when the recording ended. */
static void pass2_fdio(struct lp_model *m, const struct lp_p2rec *q, const struct lp_proc *p0, bool open_at_end)
{
	const struct lp_ev_fd_io *e = &q->r.io;
	const struct lp_hdr *h = &e->h;
	struct lp_proc *p = p0 ? &m->procs[p0->index] : lp_model_proc_get(m, h->tgid, h->ts);
	uint32_t pid = q->path;
	char tbuf[4096];
	const char *path = translate_id(m, lp_model_path(m, pid), &pid, tbuf, sizeof(tbuf));
	if (path && !(lp_model_pass2_flags(m, p) & PC_DAEMONISH) && fd_inherited(m, p, h->tgid, (int)h->aux, h->ts))
		path = NULL; /* most likely a close-on-exec fd of the parent: unknown */
	if (!open_at_end)
		lp_u64map_del(&lp_priv(m)->fd_opened, fd_key(h->tgid, (int32_t)h->aux)); /* closed (by close or at exit) */
	commit_see(m, h, NULL);
	int step = lp_model_event_step_p(m, h, p, path, path ? pid : 0);
	struct lp_agg *sa = lp_model_step_agg(m, step);
	if (e->first_ts && e->first_ts <= e->last_ts && e->last_ts <= h->ts)
		step_saw(m, step, p, h, path, pid, e->first_ts, e->last_ts);
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
	if (e->rbytes) {
		f->read = true;
		layer_read(m, step, p, sid, space);
	}
	if (e->wbytes) {
		f->written = true;
		layer_write(m, step, p, sid, space, e->wbytes);
	}
	const char *rel;
	if (e->wbytes && p->role != LP_ROLE_CONTAINER) {
		struct lp_split sp;
		lp_model_split(m, path, pid, &sp);
		if (sp.part != LP_SNAP_NONE && !ctx_rel_id(m, path, pid, &rel))
			m->snap.layer_bytes_written += e->wbytes;
	}
	if (p->role == LP_ROLE_CONTAINER && e->wbytes)
		m->snap.layer_bytes_written += e->wbytes;
	if (e->wbytes && lp_model_is_build_daemon(m, p) && ctx_rel_id(m, path, pid, &rel) && *rel) {
		commit_restart(m, h);
		m->context.write_ns += e->wns;
		if (lp_is_transfer_tmp_name(rel))
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
	return p && p->role != LP_ROLE_CLI && !(lp_model_pass2_flags(m, p) & PC_INBUILD);
}

void lp_pass2_record(struct lp_model *m, struct lp_p2rec *q)
{
	take_answers(m); /* (between records: no pointer into the model is held) */
	struct lp_hdr *h = &q->r.h;
	/* per-fd I/O is accounted at its close: for an fd drained at the end
	 * of the recording after its process exited, at that exit */
	bool open_at_end = false;
	if (h->kind == LP_EV_FD_IO)
		h->ts = lp_model_fdio_close_ts(m, &q->r.io, &open_at_end);
	const struct lp_proc *p = lp_model_proc_at_cached(m, h->tgid, h->ts); /* looked up once */
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
		struct lp_agg *a = lp_model_step_agg(m, s);
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

void lp_pass2_begin(struct lp_model *m)
{
	lp_model_reset_mounts(m);
	/* room for every path at once, and no more: pass 2 interns few new
	 * ones (none on the 10M-event trace), and the quarter more that the
	 * growth for ids to come would add is 10 MiB there, zeroed, resident
	 * at the peak */
	lp_model_pinfo_reserve(m, lp_priv(m)->paths.n);
	free(lp_priv(m)->step_mounts); /* (the steps' commands are known now) */
	lp_priv(m)->step_mounts = NULL;
	lp_priv(m)->nstep_mounts = 0;
	if (!lp_priv(m)->prov && !lp_priv(m)->no_provenance)
		lp_priv(m)->prov = lp_prov_new();
	if (lp_priv(m)->prov && !lp_priv(m)->provq) {
		lp_prov_expect_ids(lp_priv(m)->prov, lp_priv(m)->paths.n);
		lp_priv(m)->provq = lp_provq_new(lp_priv(m)->prov, true);
	}
}

/* A per-step list built in pass 2, handed over to the step. */
static void give_strv(struct lp_strv *v, char ***to, size_t *n)
{
	*to = v->v;
	*n = v->n;
	memset(v, 0, sizeof(*v));
}

void lp_pass2_end(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	/* provenance's last answers acted on, its thread done */
	settle_reads(m);
	lp_provq_finish(pv->provq);
	pv->provq = NULL;
	for (size_t s = 0; s < m->nsteps; s++) {
		struct lp_step *st = &m->steps[s];
		lp_strv_sort_uniq(&pv->step_rfc[s]);
		give_strv(&pv->step_rfc[s], &st->reads_from_context, &st->nreads_from_context);
		give_strv(&pv->step_enoent[s], &st->enoent_evidence, &st->nenoent_evidence);
		give_strv(&pv->step_missing[s], &st->missing_paths, &st->nmissing_paths);
		if (pv->prov)
			st->layer = lp_prov_step_counts(pv->prov, (int)s);
	}
	/* (provenance.c keeps them, unchanged from here on, until the model is freed) */
	if (pv->prov) {
		m->layer_changes = lp_prov_changes(pv->prov, &m->nlayer_changes);
		m->layer_reads = lp_prov_reads(pv->prov, &m->nlayer_reads);
	}
	/* the files are sorted next: indexes into them go stale (made again
	 * when asked: never, for a report) */
	lp_u64map_free(&pv->file_by_key);
	free(pv->pinfo);
	pv->pinfo = NULL;
	pv->npinfo = 0;
}
