// SPDX-License-Identifier: BSD-2-Clause
/*
 * Step times (model.h, lp_step_wall_ns): what the kernel saw, not when the
 * docker CLI printed. The CLI buffers BuildKit's progress and prints it in
 * bursts: every line of steps #1-#7 may carry one stamp, a COPY that wrote
 * a megabyte shows "0 us", a RUN seems to start before the steps it needs.
 * So a step's time is, when its work was seen:
 *   RUN                 its processes' lifetime (runc and everything under it)
 *   COPY/ADD, export    first to last write of its work (into its layer;
 *                       the image's stores); a COPY with the engine's
 *                       times then to its layer's commit (the daemon's
 *                       syncs after it, copy_commit_ends)
 *   load build context  the client's walk of the context, then the
 *                       transfer (first read of the CLI or write into
 *                       the context snapshot, model.h lp_context) to the
 *                       snapshot's commit (its metadata synced); with the
 *                       engine's times, its whole vertex too (the
 *                       engine's own set-up before the walk)
 *   Dockerfile, .dockerignore loads: the client's send, without the
 *                       engine's times (with them, as below)
 * else (FROM, WORKDIR and other metadata steps, steps whose work left no
 * trace) the engine's own times (rawjson), else BuildKit's "DONE 1.2s",
 * else the time between its progress lines; cached: none.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "model_int.h"

#include "step_times.h"
#include "util.h"

static void set(struct lp_step *s, uint64_t a, uint64_t b, enum lp_time_source src)
{
	s->t_start_ns = a;
	s->t_end_ns = b >= a ? b : a;
	s->time_src = src;
}

/* No kernel evidence: the engine's own times (--progress=rawjson), else
 * BuildKit's "DONE 1.2s" (printed at the end, so the step began that long
 * before its last line), else its progress lines. */
static void from_progress(struct lp_step *s)
{
	if (s->e_start_ns && s->e_end_ns >= s->e_start_ns) {
		set(s, s->e_start_ns, s->e_end_ns, LP_TIME_ENGINE);
		return;
	}
	if (s->reported_s < 0 && s->end_ns <= s->start_ns && !s->start_ns)
		return;
	uint64_t d = s->reported_s >= 0 ? (uint64_t)(s->reported_s * 1e9)
		     : s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
	uint64_t b = s->end_ns ? s->end_ns : s->start_ns;
	set(s, b > d ? b - d : b, b, LP_TIME_PROGRESS);
}

/* The context step ends when its snapshot is committed, not at the
 * transfer's last write: the syncs that follow it on the writing thread
 * (lp_priv.commit_ts) are the step's, as far as the engine's account
 * reaches. The kernel cannot tell where that thread's next vertex begins,
 * so without the engine's word (its DONE line, or its own times) the
 * step is the transfer alone. */
/* How late the context step may end, by the engine's word: its own end
 * (rawjson), else its DONE line; 0 without either. The DONE line is
 * printed after the step, maybe much later (the CLI prints in bursts): no
 * later than its duration (tenths, rounded) after the step began either. */
static uint64_t context_bound(const struct lp_step *s, uint64_t begin)
{
	if (s->e_end_ns)
		return s->e_end_ns;
	if (s->reported_s < 0 || !s->end_ns)
		return 0;
	uint64_t d = (uint64_t)(s->reported_s * 1e9) + 50000000ull;
	return begin + d < s->end_ns ? begin + d : s->end_ns;
}

/* The last of the sync ends v[0..n) (in time order) after `after`, up to
 * bound; else after. */
static uint64_t last_sync(const uint64_t *v, size_t n, uint64_t after, uint64_t bound)
{
	uint64_t end = after;
	for (size_t k = 0; k < n && v[k] <= bound; k++)
		if (v[k] > end)
			end = v[k];
	return end;
}

static uint64_t context_end(const struct lp_model *m, const struct lp_step *s)
{
	const struct lp_priv *pv = lp_priv(m);
	return last_sync(pv->commit_ts, pv->ncommit, m->context.end_ns,
			 context_bound(s, m->context.start_ns - m->context.walk_ns));
}

/* The build daemon's last sync after `after`, up to bound (lp_priv.dsync_ts,
 * sorted by lp_steps_time). */
static uint64_t last_daemon_sync(const struct lp_priv *pv, uint64_t after, uint64_t bound)
{
	return last_sync(pv->dsync_ts, pv->ndsync, after, bound);
}

/* The context step's time: what the kernel saw of it (a to b: the walk,
 * the transfer, the commit), and with the engine's times its whole
 * vertex too: before the client's walk the engine prepares the snapshot
 * and opens the session, work the kernel sees no file of (the rest is
 * lp_context.engine_ns). */
static void context_set(struct lp_step *s, uint64_t a, uint64_t b)
{
	if (s->e_start_ns && s->e_end_ns >= s->e_start_ns) {
		if (s->e_start_ns < a)
			a = s->e_start_ns;
		if (s->e_end_ns > b)
			b = s->e_end_ns;
	}
	set(s, a, b, LP_TIME_KERNEL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* A COPY's layer is committed after its last write, before the vertex is
 * done: the daemon unmounts it, BuildKit records it and syncs its metadata
 * (on a Docker 29 COPY of 1,971 files, 190 ms after the last write of a
 * 753 ms step). Its end: the daemon's last sync after the last write, as
 * far as the engine's own end (rawjson, with 20 ms for the clock pair's
 * error) and no later than a step the kernel saw begin after that write.
 * Without the engine's times the writes alone: the daemon's syncs are
 * then no one's in particular. */
#define COPY_COMMIT_SLACK_NS 20000000ull
static void copy_commit_ends(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv->ndsync)
		return;
	for (size_t i = 0; i < m->nsteps; i++) {
		struct lp_step *s = &m->steps[i];
		if (s->kind != LP_STEPK_COPY || s->cached || s->time_src != LP_TIME_KERNEL || !s->e_end_ns)
			continue;
		uint64_t last = s->t_end_ns, bound = s->e_end_ns + COPY_COMMIT_SLACK_NS, end = last;
		for (size_t j = 0; j < m->nsteps; j++) {
			const struct lp_step *o = &m->steps[j];
			if (j != i && o->time_src == LP_TIME_KERNEL && o->kind != LP_STEPK_EXPORT &&
			    o->t_start_ns > last && o->t_start_ns < bound)
				bound = o->t_start_ns;
		}
		s->t_end_ns = last_daemon_sync(pv, end, bound);
	}
}

void lp_steps_time(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (pv->ndsync > 1)
		qsort(pv->dsync_ts, pv->ndsync, sizeof(uint64_t), cmp_u64);
	/* RUN: the lifetime of its processes */
	uint64_t *pstart = lp_xcalloc(m->nsteps + 1, sizeof(uint64_t));
	uint64_t *pend = lp_xcalloc(m->nsteps + 1, sizeof(uint64_t));
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (p->step < 0 || (size_t)p->step >= m->nsteps)
			continue;
		uint64_t a = p->start_ns ? p->start_ns : p->exec_ns;
		uint64_t b = p->exited ? p->end_ns : 0;
		if (a && (!pstart[p->step] || a < pstart[p->step]))
			pstart[p->step] = a;
		if (b > pend[p->step])
			pend[p->step] = b;
	}
	for (size_t i = 0; i < m->nsteps; i++) {
		struct lp_step *s = &m->steps[i];
		set(s, 0, 0, LP_TIME_NONE);
		if (s->cached)
			continue;
		if (s->kind == LP_STEPK_RUN && pstart[i]) {
			uint64_t end = pend[i] > s->k_last_ns ? pend[i] : s->k_last_ns;
			set(s, pstart[i], end ? end : pstart[i], LP_TIME_KERNEL);
			continue;
		}
		if ((int)i == m->context.step && m->context.end_ns > m->context.start_ns &&
		    m->context.start_ns) {
			m->context.commit_end_ns = context_end(m, s);
			context_set(s, m->context.start_ns - m->context.walk_ns, m->context.commit_end_ns);
			continue;
		}
		if ((int)i == m->context.step && !m->context.start_ns && m->context.walk_ns) {
			/* nothing sent: the walk, then the daemon syncs BuildKit's
			 * metadata of the snapshot all the same (50 ms of a python
			 * rebuild's 0.1 s), as far as the engine's account reaches */
			m->context.commit_end_ns = last_daemon_sync(lp_priv(m), m->context.walk_end_ns,
								    context_bound(s, m->context.walk_start_ns));
			context_set(s, m->context.walk_start_ns, m->context.commit_end_ns);
			continue;
		}
		if (s->kind == LP_STEPK_EXPORT)
			continue; /* below, once the steps it waits for are timed */
		/* WORKDIR, ENV...: their own work is a mkdir at most; BuildKit's
		 * DONE for them is the vertex's, snapshot preparation included
		 * (1 s on a cold build when the base image is unpacked): that is
		 * the time the build spent on the step, so it stays theirs */
		/* the Dockerfile's and .dockerignore's loads: their own work is
		 * one small file sent, a few hundred us at the end of the
		 * engine's 6-60 ms (the session's set-up): with the engine's
		 * times those are the step's, as for FROM */
		bool definition = s->kind == LP_STEPK_LOAD_DOCKERFILE || s->kind == LP_STEPK_LOAD_DOCKERIGNORE;
		if (definition && s->e_start_ns && s->e_end_ns >= s->e_start_ns) {
			from_progress(s);
			continue;
		}
		if ((s->kind == LP_STEPK_COPY || s->kind == LP_STEPK_RUN || definition) && s->k_first_ns) {
			set(s, s->k_first_ns, s->k_last_ns, LP_TIME_KERNEL);
			continue;
		}
		from_progress(s);
	}
	copy_commit_ends(m);
	/* The export starts when the last step it exports has ended: daemon
	 * housekeeping caught in its window earlier (BuildKit's start-up
	 * checks, a cache db write) is not part of it. */
	uint64_t work_end = 0;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		if (s->kind != LP_STEPK_EXPORT && s->time_src == LP_TIME_KERNEL && s->t_end_ns > work_end)
			work_end = s->t_end_ns;
	}
	for (size_t i = 0; i < m->nsteps; i++) {
		struct lp_step *s = &m->steps[i];
		if (s->kind != LP_STEPK_EXPORT || s->cached)
			continue;
		uint64_t a = s->k_first_ns > work_end ? s->k_first_ns : work_end;
		/* the engine said when it began (rawjson): the commit of the
		 * last step's snapshot before that is the step's, not the export's */
		if (s->e_start_ns > a)
			a = s->e_start_ns;
		if (s->k_first_ns && s->k_last_ns > a)
			set(s, a, s->k_last_ns, LP_TIME_KERNEL);
		else
			from_progress(s);
	}
	free(pstart);
	free(pend);
}

uint64_t lp_step_wall_ns(const struct lp_step *s)
{
	if (s->cached)
		return 0;
	/* the engine's account: its active time, as BuildKit's DONE (a vertex
	 * may pause: the span from first start to last end is longer) */
	if (s->time_src == LP_TIME_ENGINE && s->e_active_ns <= s->t_end_ns - s->t_start_ns)
		return s->e_active_ns;
	if (s->time_src != LP_TIME_NONE)
		return s->t_end_ns - s->t_start_ns;
	/* not timed yet (a model being built): the progress lines' account */
	if (s->reported_s >= 0)
		return (uint64_t)(s->reported_s * 1e9);
	return s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
}

uint64_t lp_step_start_ns(const struct lp_step *s)
{
	return s->time_src != LP_TIME_NONE ? s->t_start_ns : s->start_ns;
}

uint64_t lp_step_end_ns(const struct lp_step *s)
{
	return s->time_src != LP_TIME_NONE ? s->t_end_ns : s->end_ns;
}

const char *lp_time_source_name(enum lp_time_source t)
{
	switch (t) {
	case LP_TIME_KERNEL: return "kernel";
	case LP_TIME_PROGRESS: return "progress";
	case LP_TIME_ENGINE: return "engine";
	default: return "none";
	}
}

/* Plain progress lines only tell tenths of a second: a short step timed
 * by them is "<0.1 s", never a false "0 us" (the kernel's and the
 * engine's times are exact). */
const char *lp_step_time_text(const struct lp_step *s, char *buf, size_t len)
{
	uint64_t w = lp_step_wall_ns(s);
	if (s->time_src == LP_TIME_PROGRESS && w < 100000000ull) {
		snprintf(buf, len, "<0.1 s");
		return buf;
	}
	return lp_fmt_duration_ns(w, buf, len);
}
