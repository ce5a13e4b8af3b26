/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The driver of the offline pipeline (docs/architecture.md, "The offline
 * pipeline"): the only place that knows the order of the stages.
 *
 *   META            model_meta.c
 *   pass 1          model_pass1.c (+ model_capture.c onto model_tape.c)
 *   steps           correlate.c (progress lines), else infer.c (attach mode)
 *   correlate       correlate.c
 *   pass 2          model_pass2.c, asking attribution.c for each event's step
 *   summary         model_summary.c
 *   findings        analyze.c
 *
 * Data flows one way: each stage fills the model for the next and calls
 * nothing above it.
 *
 * The trace is decoded once, by the reader's own thread ahead of pass 1
 * (trace_reader.c, for a trace over 4 MiB); pass 1 also writes what pass 2 needs of each record
 * onto a compact tape in memory, with its paths already resolved and
 * interned, and pass 2 replays the tape, its layer provenance on a thread
 * of its own (prov_queue.c). A tape that would outgrow its
 * budget (a huge trace) is dropped: pass 2 then reads the trace a second
 * time, and memory stays bounded. Otherwise memory grows with processes,
 * distinct paths and steps, not with the number of events. A view that
 * asks (lp_model_options.keep_tape) gets the tape kept for its own pass
 * (lp_model_replay), so the trace is not decoded again for it.
 */
#include "model.h"
#include "model_int.h"
#include "model_pass.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "event.h"
#include "infer.h"
#include "meter.h"
#include "resolve.h"
#include "session.h"
#include "trace.h"
#include "util.h"

static struct lp_model *model_new(void)
{
	struct lp_model *m = lp_xcalloc(1, sizeof(*m));
	struct lp_priv *pv = lp_xcalloc(1, sizeof(*pv));
	m->priv = pv;
	m->context.step = -1;
	m->build.command_status = -1;
	m->build.session_index = -1;
	pv->ctx_snap = -1;
	pv->lag_ns = 300000000ull;
	return m;
}

/*
 * Interning a record's path (model_capture.c) mostly waits for memory: the
 * table of recent strings, then the string itself, both far bigger than the
 * cache on a big trace. The records a few places ahead are already decoded
 * (lp_reader_lookahead): an absolute first string is most often the path
 * that will be interned, so its table line is fetched PF_FAR records ahead
 * and what that line points at PF_NEAR records ahead, while the records in
 * between are worked on. A guess that is wrong costs a wasted fetch.
 */
#define PF_FAR 8
#define PF_NEAR 4

struct prefetch {
	uint64_t block;            /* the reader's block count at the last record */
	const uint8_t *base;       /* lookahead at the last record */
	const uint8_t *far;        /* the record PF_FAR after it, or NULL */
	uint64_t far_no;           /* its number (lp_reader_status()->records once read) */
	/* by record number % PF_FAR: the number of the record hashed (0:
	 * nothing) and the hash of its absolute first string */
	uint64_t rec_no[PF_FAR];
	uint32_t hash[PF_FAR];
	/* the record being read, when it was hashed ahead: its first string's
	 * hash serves its interning too (lp_p2_capture's first_hash) */
	uint64_t cur_no;
	uint32_t cur_hash;
};

static uint16_t raw_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* The hash of the absolute first string (all its str_len[0] - 1 bytes) of
 * the raw syscall record at p (len bytes left) into *hash, after
 * lp_strtab_prefetch(); false when there is none. */
static bool prefetch_far(const struct lp_strtab *paths, const uint8_t *p, size_t len, uint32_t *hash)
{
	const size_t fixed = sizeof(struct lp_ev_syscall);
	uint16_t size = raw_u16(p + offsetof(struct lp_hdr, size));
	if (size > len || size <= fixed || p[offsetof(struct lp_hdr, kind)] != LP_EV_SYSCALL ||
	    p[offsetof(struct lp_ev_syscall, nstr)] == 0)
		return false;
	uint16_t n = raw_u16(p + offsetof(struct lp_ev_syscall, str_len));
	if (n < 2 || n > size - fixed || p[fixed] != '/')
		return false;
	*hash = lp_strtab_prefetch(paths, (const char *)p + fixed, n - 1u);
	return true;
}

static void prefetch_step(struct prefetch *pf, const struct lp_strtab *paths, const struct lp_reader *r)
{
	size_t len;
	const uint8_t *base = lp_reader_lookahead(r, &len), *end = base ? base + len : NULL;
	/* the same block, one record on: the far record moves one on too */
	const uint8_t *far = NULL;
	uint64_t block = lp_reader_status(r)->blocks, no = lp_reader_status(r)->records, far_no = 0;
	if (block == pf->block && pf->base && base && pf->far && base == pf->base + raw_u16(pf->base)) {
		uint16_t sz = raw_u16(pf->far);
		far = sz && (size_t)(end - pf->far) > sz ? pf->far + sz : NULL;
		far_no = pf->far_no + 1;
	} else if (base) {
		/* base is the record after the one read (number no) */
		far = base;
		for (int i = 1; far && i < PF_FAR; i++) {
			uint16_t sz = raw_u16(far);
			far = sz && (size_t)(end - far) > sz ? far + sz : NULL;
		}
		far_no = no + PF_FAR;
	}
	pf->block = block;
	pf->base = base;
	pf->far = far;
	pf->far_no = far_no;
	/* slots by record number: far (no + PF_FAR) goes in the slot of the
	 * record being read (hashed PF_FAR records ago, when it was one):
	 * that one's is taken out first */
	size_t slot = no % PF_FAR;
	pf->cur_no = pf->rec_no[slot] == no ? no : 0;
	pf->cur_hash = pf->hash[slot];
	uint32_t h = 0;
	bool hashed = far && prefetch_far(paths, far, (size_t)(end - far), &h);
	pf->rec_no[slot] = hashed ? far_no : 0;
	pf->hash[slot] = h;
	/* the one PF_NEAR on was hashed before */
	size_t near = (no + PF_NEAR) % PF_FAR;
	if (pf->rec_no[near])
		lp_strtab_prefetch_more(paths, pf->hash[near]);
}

/* The hash of the absolute first string of the record just read, worked
 * out ahead (prefetch_step): *have says whether it was (its number in the
 * trace is the one hashed). The record is its raw bytes, copied. */
static uint32_t prefetched_hash(const struct prefetch *pf, const struct lp_reader *r, bool *have)
{
	*have = pf->cur_no && pf->cur_no == lp_reader_status(r)->records;
	return *have ? pf->cur_hash : 0;
}

/* Pass 1 over the whole trace, the tape filled on the way; the last
 * timestamp seen in *last_ts. */
static void read_pass1(struct lp_model *m, struct lp_reader *r, struct lp_tape *tape, uint64_t *last_ts)
{
	struct lp_resolver *res = lp_resolver_new();
	const struct lp_hdr *h;
	uint64_t events = 0, records = 0;
	const struct lp_priv *pv = lp_priv(m);
	struct prefetch pf = { 0 };
	while (lp_reader_next(r, &h) == 1) {
		records++;
		if (!tape->dropped)
			prefetch_step(&pf, &pv->paths, r);
		if (pv->observe)
			pv->observe(pv->observe_arg, h);
		if (h->kind < 0x80)
			events++;
		if (h->ts > *last_ts)
			*last_ts = h->ts;
		if (!lp_ev_valid(h))
			continue;
		if (!lp_session_keeps(lp_priv(m)->only, h)) {
			lp_resolver_feed(res, h); /* paths stay right for what is kept */
			continue;
		}
		char fbuf[4096];
		const char *first = NULL;
		bool have_first = false;
		struct lp_p2rec q;
		bool have_hash = false;
		uint32_t hash = tape->dropped ? 0 : prefetched_hash(&pf, r, &have_hash);
		bool taped = !tape->dropped && lp_p2_capture(m, res, h, &q, fbuf, sizeof(fbuf), &first, &have_first,
							     have_hash ? &hash : NULL);
		if (pv->replay_all && (!taped || h->kind == LP_EV_EXEC || h->kind == LP_EV_FORK))
			lp_tape_put_other(tape, h);
		if (taped)
			lp_tape_put(tape, h, &q);
		lp_pass1_record(m, res, h);
		lp_p2_feed(res, h, &q, have_first, first);
	}
	lp_resolver_free(res);
	m->build.events = events;
	m->build.records = records;
}

/* Pass 2 straight from the trace (its tape was dropped). */
static void reread_pass2(struct lp_model *m, struct lp_reader *r)
{
	struct lp_resolver *res = lp_resolver_new();
	const struct lp_hdr *h;
	struct lp_p2rec q;
	while (lp_reader_next(r, &h) == 1) {
		if (!lp_ev_valid(h))
			continue;
		char fbuf[4096];
		const char *first = NULL;
		bool have_first = false;
		if (lp_session_keeps(lp_priv(m)->only, h) &&
		    lp_p2_capture(m, res, h, &q, fbuf, sizeof(fbuf), &first, &have_first, NULL)) {
			lp_p2_fill(&q, h);
			lp_pass2_record(m, &q);
			lp_p2_feed(res, h, &q, have_first, first);
		} else {
			lp_resolver_feed(res, h);
		}
	}
	lp_resolver_free(res);
}

/* A session build: its status is its docker CLI's, its image is the one
 * record inspected for it (the trailer's "session_images"), not the
 * recorded command's. */
static void session_build_facts(struct lp_model *m, const char *trailer)
{
	m->build.command_status = -1;
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (p->pid == m->build.session_pid && p->exited)
			m->build.command_status = p->exit_code;
	}
	m->build.image_bytes = 0;
	m->build.image_bytes_source = NULL;
	lp_model_parse_session_image(m, trailer);
}

/* "reading", or "reading build 2 of 3" for a session's build. */
static void phase_name(char *buf, size_t len, const char *what, const struct lp_model_options *opt)
{
	if (opt && opt->build && opt->nbuilds > 1)
		snprintf(buf, len, "%s build %d of %zu", what, opt->build->index + 1, opt->nbuilds);
	else
		snprintf(buf, len, "%s", what);
}

struct lp_model *lp_model_from_reader(struct lp_reader *r, const struct lp_model_options *opt,
				      char *err, size_t errlen)
{
	struct lp_model *m = model_new();
	struct lp_priv *pv = lp_priv(m);

	lp_model_parse_meta(m, lp_reader_meta(r));
	if (opt) {
		pv->observe = opt->observe;
		pv->observe_arg = opt->observe_arg;
		pv->no_provenance = opt->no_provenance;
	}
	bool keep_tape = opt && opt->keep_tape && !opt->build;
	if (opt && opt->build) {
		pv->only = opt->build;
		lp_model_parse_session_build(m, opt->build->json);
		m->build.session_index = opt->build->index;
		m->build.session_pid = opt->build->pid;
		m->build.session_overlaps = opt->build->overlaps;
	}
	if (m->build.context_dir)
		m->context.dir = lp_xstrdup(m->build.context_dir);
	if (m->build.dockerfile_text)
		m->build.dockerfile = lp_dockerfile_parse(m->build.dockerfile_text,
							  strlen(m->build.dockerfile_text));

	if (lp_reader_rewind(r) < 0) {
		snprintf(err, errlen, "cannot rewind the trace");
		lp_model_free(m);
		return NULL;
	}
	pv->replay_all = keep_tape && opt->replay_all;
	struct lp_tape tape = { .all_tids = pv->replay_all };
	uint64_t last_ts = 0;
	char phase[64];
	phase_name(phase, sizeof(phase), "reading", opt);
	lp_meter_phase(phase, lp_reader_status(r)->file_size, true);
	read_pass1(m, r, &tape, &last_ts);
	const struct lp_reader_status *st = lp_reader_status(r);
	lp_model_parse_trailer(m, lp_reader_trailer(r));
	if (pv->only)
		session_build_facts(m, lp_reader_trailer(r));
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
	if (pv->daemon_known)
		m->build.engine_version = lp_model_daemon_version(lp_reader_trailer(r), pv->daemon_pid);

	/* pass 2: from the tape, or (too big a trace) from the trace again */
	lp_pass2_begin(m);
	if (!tape.dropped) {
		phase_name(phase, sizeof(phase), "analysing", opt);
		lp_meter_phase(phase, tape.nchunk, false); /* lp_pass2_replay() says which chunk */
		lp_tape_rewind(&tape);
		tape.keep = keep_tape;
		if (keep_tape)
			lp_tape_spill(&tape);
		tape.pass2_tids = true;
		lp_pass2_replay(m, &tape);
		tape.pass2_tids = false;
		if (keep_tape) {
			pv->kept_tape = lp_xmalloc(sizeof(tape));
			*pv->kept_tape = tape;
		} else {
			lp_tape_free(&tape);
		}
	} else {
		if (lp_reader_rewind(r) < 0) {
			snprintf(err, errlen, "cannot rewind the trace");
			lp_model_free(m);
			return NULL;
		}
		phase_name(phase, sizeof(phase), "analysing", opt);
		lp_meter_phase(phase, st->file_size, true);
		reread_pass2(m, r);
	}
	lp_pass2_end(m);

	lp_model_summarize(m);
	if (!opt || (!opt->no_findings && !opt->no_provenance))
		lp_analyze(m);
	lp_meter_clear();
	return m;
}

/* The records copied aside from o on that come before the tape's record
 * number i (all that are left: UINT64_MAX) to fn; where they stop. */
static const char *replay_others(const char *o, const char *end, uint64_t i,
				 void (*fn)(void *arg, const struct lp_model_rec *rec), void *arg)
{
	for (; o < end && ((const struct lp_tape_other *)o)->after <= i; o += lp_tape_other_size((const void *)o)) {
		struct lp_model_rec rec = { .h = &((const struct lp_tape_other *)o)->h };
		fn(arg, &rec);
	}
	return o;
}

#define REPLAY_AHEAD 16

bool lp_model_replay(const struct lp_model *m, bool all, void (*fn)(void *arg, const struct lp_model_rec *rec),
		     void *arg)
{
	struct lp_tape *t = lp_priv(m)->kept_tape;
	if (!t || (all && !lp_priv(m)->replay_all))
		return false;
	lp_tape_rewind(t);
	/* the records copied aside go in their places between the tape's */
	const char *o = t->others.data, *oend = o + t->others.len;
	uint64_t i = 0;
	struct lp_tape_ahead *a = lp_tape_ahead_start(t);
	struct lp_p2rec *batch;
	size_t n;
	const struct lp_strtab *paths = &lp_priv(m)->paths;
	while ((n = lp_tape_ahead_next(a, &batch, NULL))) {
		for (size_t k = 0; k < n; k++, i++) {
			/* the path's entry REPLAY_AHEAD records before its turn: the
			 * table is far bigger than the caches (as pass 2's) */
			if (k + REPLAY_AHEAD < n && batch[k + REPLAY_AHEAD].shown < paths->n)
				__builtin_prefetch(&paths->str[batch[k + REPLAY_AHEAD].shown]);
			o = replay_others(o, oend, i, fn, arg);
			const struct lp_p2rec *q = &batch[k];
			/* an exec's or fork's whole record is among those (replay_all) */
			if (q->r.h.kind != LP_EV_SYSCALL && q->r.h.kind != LP_EV_FD_IO && q->r.h.kind != LP_EV_EXIT)
				continue;
			struct lp_model_rec rec = { .h = &q->r.h, .shown = lp_model_path(m, q->shown),
						    .shown_id = q->shown };
			if (q->r.h.kind == LP_EV_FD_IO)
				rec.fd_path = lp_model_path(m, q->path);
			fn(arg, &rec);
		}
	}
	replay_others(o, oend, UINT64_MAX, fn, arg);
	lp_tape_ahead_stop(a);
	return true;
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
