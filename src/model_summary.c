/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * After pass 2 (model_pass.h): per-step file and process counts, the files
 * sorted by (step, path) and the context files by path, the data root
 * confirmed, and the build's summary (wall time, cache hit rate, cold,
 * image size, context transfer and export times).
 */
#include "model_pass.h"
#include "step_times.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

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

/*
 * Is files[i] (sorted by step and path) a directory its step opened to list
 * or to create in (Go's os.Open and BuildKit's copy open a directory
 * without O_DIRECTORY: the COPY's destination and the snapshot's root)?
 * Opened for reading, nothing read from it, and a path of the same step
 * and space below it: only a directory has one.
 */
static bool opened_dir(const struct lp_model *m, size_t i)
{
	const struct lp_file *f = &m->files[i];
	if (!f->read || f->written || f->rbytes)
		return false;
	size_t n = strlen(f->path);
	if (n && f->path[n - 1] == '/')
		return true; /* "/" */
	/* the paths that start with it come right after it */
	for (size_t j = i + 1; j < m->nfiles && m->files[j].step == f->step; j++) {
		const struct lp_file *g = &m->files[j];
		if (strncmp(g->path, f->path, n))
			break;
		if (g->path[n] == '/' && g->space == f->space)
			return true;
	}
	return false;
}

void lp_model_summarize(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	/* sort files by (step, path) and ctx files by path; rebuild indexes */
	if (m->nfiles > 1)
		qsort(m->files, m->nfiles, sizeof(struct lp_file), cmp_file);
	/* per-step file counts, process counts */
	for (size_t i = 0; i < m->nfiles; i++) {
		struct lp_file *f = &m->files[i];
		struct lp_agg *a = lp_model_step_agg(m, f->step);
		if (opened_dir(m, i))
			f->read = false; /* no file read */
		if (f->read && (f->opens || f->rbytes))
			a->files_read++;
		/* the transfer's temporary (.tmp.N, renamed to the file sent,
		 * which has its own row) is no file of the context */
		if (f->written && !(f->space == LP_PATH_CONTEXT && lp_is_transfer_tmp_name(f->path)))
			a->files_written++;
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		struct lp_proc *p = &m->procs[i];
		if (p->step >= 0)
			m->steps[p->step].agg.procs++;
	}
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
			cut = lp_executor_at(evid) ? strstr(evid, "/buildkit/") : NULL;
		}
	if (cut) {
		for (size_t i = 0; i < m->build.ndata_roots; i++)
			free(m->build.data_roots[i]);
		m->build.data_roots = lp_xrealloc(m->build.data_roots, sizeof(char *));
		m->build.data_roots[0] = strndup(evid, (size_t)(cut - evid));
		m->build.ndata_roots = m->build.data_roots[0] ? 1 : 0;
	}
	/* the context: the manifest's, else the transfer's (attach mode); a
	 * file only seen sent is as big as what was written of it */
	if (m->context.manifest_files) {
		m->context.files = m->context.manifest_files;
		m->context.bytes = m->context.manifest_bytes;
	} else if (m->context.sent_files) {
		m->context.files = m->context.sent_files;
		m->context.bytes = m->context.sent_bytes;
		m->context.from_transfer = true;
	}
	for (size_t i = 0; i < m->nctx_files; i++) {
		struct lp_ctx_file *c = &m->ctx_files[i];
		if (!c->in_manifest && c->sent && !c->size)
			c->size = c->sent_bytes;
	}
	/* the context transfer's kernel window, before anything widens it */
	if (m->context.end_ns > m->context.start_ns)
		m->context.transfer_ns = m->context.end_ns - m->context.start_ns;
	/* the walk before it (or alone: nothing sent) */
	struct lp_context *cx = &m->context;
	if (cx->walk_start_ns && cx->start_ns && cx->walk_start_ns < cx->start_ns)
		cx->walk_ns = cx->start_ns - cx->walk_start_ns;
	else if (cx->walk_start_ns && !cx->start_ns && cx->walk_end_ns > cx->walk_start_ns)
		cx->walk_ns = cx->walk_end_ns - cx->walk_start_ns;
	/* every step's time, from the kernel where its work was seen */
	lp_steps_time(m);
	if (m->context.step >= 0) {
		const struct lp_step *cs = &m->steps[m->context.step];
		struct lp_context *c = &m->context;
		if (cs->time_src == LP_TIME_KERNEL && c->transfer_ns && c->commit_end_ns > c->end_ns)
			c->commit_ns = c->commit_end_ns - c->end_ns;
		else if (cs->time_src == LP_TIME_KERNEL && !c->start_ns && c->commit_end_ns > c->walk_end_ns)
			c->commit_ns = c->commit_end_ns - c->walk_end_ns; /* nothing sent */
		uint64_t seen = c->walk_ns + c->transfer_ns + c->commit_ns, wall = lp_step_wall_ns(cs);
		if (cs->time_src == LP_TIME_KERNEL && cs->e_start_ns && seen && wall > seen)
			c->engine_ns = wall - seen;
	}
	/* summary */
	struct lp_build *b = &m->build;
	uint64_t first = 0, last = 0;
	for (size_t s = 0; s < m->nsteps; s++) {
		const struct lp_step *st = &m->steps[s];
		uint64_t a = lp_step_start_ns(st), z = lp_step_end_ns(st);
		if (a && (!first || a < first))
			first = a;
		if (z > last)
			last = z;
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
		if (p->role != LP_ROLE_CLI || (p->parent >= 0 && m->procs[p->parent].role == LP_ROLE_CLI &&
						 !b->session_pid))
			continue;
		/* a session's build: its own docker CLI, not the script around it */
		if (b->session_pid && p->pid != b->session_pid)
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
		/* the layers written are an image's only if one was exported */
		bool exported = false;
		for (size_t s = 0; s < m->nsteps; s++)
			exported |= m->steps[s].kind == LP_STEPK_EXPORT;
		if (exported || b->steps_inferred) {
			b->image_bytes = m->snap.layer_bytes_written;
			b->image_bytes_source = "layer bytes written";
		} else {
			b->not_exported = true;
		}
	}
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
		if (m->steps[s].kind == LP_STEPK_EXPORT) {
			m->snap.export_ns += lp_step_wall_ns(&m->steps[s]);
			m->snap.export_steps++;
		}
	for (size_t s = 0; s < m->nsteps; s++)
		if (m->steps[s].kind == LP_STEPK_EXPORT) {
			m->snap.export_bytes_read += m->steps[s].agg.bytes_read;
			m->snap.export_bytes_written += m->steps[s].agg.bytes_written;
		}
}

