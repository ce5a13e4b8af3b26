/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layerprof diff A B [--json]: two recordings of the same project, side by
 * side. What changed, and why the second build missed the cache.
 *
 * Steps are matched by stage + instruction text ("builder" + "RUN npm ci"),
 * never by BuildKit's #N (which shifts when a step is added). FROM steps
 * match by stage alone so that a changed base image shows as a change of
 * the same step. A repeated instruction in one stage matches in order.
 *
 * For every cacheable step of B that ran (not CACHED) while its match in A
 * was cached, or that has no match, the cause, most fundamental first:
 *   base-image           the stage's FROM changed (name/digest) or was pulled
 *   upstream-miss        an earlier step of the same stage missed first
 *   instruction-changed  the instruction text is new (edited Dockerfile line)
 *   context-files        COPY/ADD whose source files B's context transfer
 *                        re-sent (the files the daemon received = the files
 *                        that changed since its last sync)
 *   source-stage         COPY --from a stage that itself missed
 *   unknown              inputs look unchanged (build arg, secret, --no-cache,
 *                        cache eviction...)
 * A step's time change is significant when |B - A| >= 500 ms and at least
 * 25% of the larger of the two.
 *
 * --json prints one object, schema "layerprof.diff/1" (docs/diff-json.md):
 * { "schema": "layerprof.diff/1",
 *   "a": SIDE, "b": SIDE,            SIDE = { "file", "status", "wall_ms",
 *                                      "steps", "cached_steps", "cacheable_steps",
 *                                      "cache_hit_rate" (0..1|null), "context_bytes",
 *                                      "context_files", "context_sent_bytes",
 *                                      "context_sent_files", "context_changed_files",
 *                                      "context_added_files", "events", "lost_events",
 *                                      "truncated" }
 *   "totals": { "wall_ms_delta", "cache_hit_rate_delta"|null, "context_sent_bytes_delta",
 *               "steps_delta" },
 *   "context_resent": ["path", ...],   files B's transfer re-sent (changed or added)
 *   "summary": { "new_misses", "now_cached", "slower", "faster", "added", "removed",
 *                "failed", "fixed" },
 *   "steps": [ { "key": "stage|INSTR args", "stage", "instruction", "change":
 *                "new-miss"|"now-cached"|"failed"|"fixed"|"slower"|"faster"|"added"|
 *                "removed"|"same",
 *                "a": STEP|null, "b": STEP|null, "delta_ms": n|null,
 *                "cause": null | { "kind", "message", "files": [...],
 *                                  "upstream_step": "#N"|null, "was": "text"|null } } ],
 *              STEP = { "id", "name", "status", "cached", "wall_ms", "dockerfile_line"|null,
 *                       "provenance" (as in `layerprof report --json`) }
 *              (wall_ms: lp_step_wall_ns, the step time of `layerprof report`)
 *   "findings": { "new": [FINDING], "resolved": [FINDING] }
 *              FINDING = { "kind", "step": "#N"|null, "step_name", "message", "paths",
 *                          "paths_total" } }
 */
#include <ctype.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "commands.h"
#include "exitcode.h"
#include "export.h"
#include "model.h"
#include "session.h"
#include "step_times.h"
#include "util.h"

#define SIG_MIN_NS 500000000ull
#define SIG_FRAC 0.25

enum change { CH_SAME = 0, CH_NEW_MISS, CH_NOW_CACHED, CH_FAILED, CH_FIXED, CH_SLOWER, CH_FASTER,
	      CH_ADDED, CH_REMOVED };
static const char *const change_names[] = { "same", "new-miss", "now-cached", "failed", "fixed",
					    "slower", "faster", "added", "removed" };

enum cause { CA_NONE = 0, CA_BASE, CA_UPSTREAM, CA_INSTR, CA_CONTEXT, CA_SRC_STAGE, CA_UNKNOWN };
static const char *const cause_names[] = { "none", "base-image", "upstream-miss", "instruction-changed",
					   "context-files", "source-stage", "unknown" };

struct pair {
	int a, b;               /* step indexes, -1 none */
	char *key;
	enum change ch;
	enum cause cause;
	char *cause_msg;
	char **files;           /* context files behind a COPY miss */
	size_t nfiles;
	int upstream;           /* B step index of the upstream miss */
	char *was;              /* instruction-changed: A's text at that position */
};

struct diff {
	const char *fa, *fb;
	struct lp_model *A, *B;
	struct pair *p;
	size_t np, cap;
	char **resent;          /* B's context files re-sent */
	size_t nresent;
	int n[CH_REMOVED + 1];
};

/* ------------------------------------------------------------- helpers */

/* s (NULL: "") on one line, white space runs as one blank. */
static char *collapse(const char *s)
{
	return lp_collapse_ws(s, s ? strlen(s) : 0);
}

/* "[3/5] COPY . ." -> "COPY . ."; "[builder 2/4] RUN x" -> "RUN x" */
static const char *strip_prefix(const char *name)
{
	if (name && name[0] == '[') {
		const char *e = strstr(name, "] ");
		if (e)
			return e + 2;
	}
	return name ? name : "";
}

static bool is_internal(const struct lp_step *s)
{
	return s->kind == LP_STEPK_LOAD_DOCKERFILE || s->kind == LP_STEPK_LOAD_DOCKERIGNORE ||
	       s->kind == LP_STEPK_LOAD_CONTEXT || s->kind == LP_STEPK_LOAD_METADATA ||
	       s->kind == LP_STEPK_EXPORT || s->kind == LP_STEPK_INTERNAL;
}

static char *step_text(const struct lp_step *s)
{
	if (s->instruction && *s->instruction) {
		struct lp_buf b = { 0 };
		lp_buf_puts(&b, s->instruction);
		if (s->args && *s->args) {
			char *a = collapse(s->args);
			lp_buf_puts(&b, " ");
			lp_buf_puts(&b, a);
			free(a);
		}
		return b.data;
	}
	return collapse(strip_prefix(s->name));
}

static char *step_key(const struct lp_step *s)
{
	struct lp_buf b = { 0 };
	lp_buf_puts(&b, s->stage ? s->stage : "");
	lp_buf_puts(&b, "|");
	if (s->kind == LP_STEPK_FROM) {
		lp_buf_puts(&b, "FROM");
	} else {
		char *t = step_text(s);
		lp_buf_puts(&b, t);
		free(t);
	}
	return b.data;
}

/* A step's time: the same definition as `layerprof report` (model.h), so
 * the two commands agree on every step of a trace. */
static uint64_t wall(const struct lp_step *s)
{
	return lp_step_wall_ns(s);
}

static const char *status_word(const struct lp_step *s)
{
	if (!s)
		return "-";
	if (s->status == LP_STEP_ERROR)
		return "error";
	if (s->cached)
		return "cached";
	if (s->status == LP_STEP_DONE)
		return "ran";
	return lp_step_status_name(s->status);
}

static bool ran(const struct lp_step *s)
{
	return s && !s->cached && (s->status == LP_STEP_DONE || s->status == LP_STEP_ERROR ||
				   s->status == LP_STEP_UNKNOWN || s->status == LP_STEP_CANCELED);
}

static void add_file(struct pair *p, const char *f)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (!strcmp(p->files[i], f))
			return;
	p->files = lp_xrealloc(p->files, (p->nfiles + 1) * sizeof(char *));
	p->files[p->nfiles++] = lp_xstrdup(f);
}

/* Does a context-relative path come from COPY source pattern src? */
static bool src_matches(const char *src, const char *path)
{
	while (src[0] == '.' && src[1] == '/')
		src += 2;
	while (*src == '/')
		src++;
	if (!*src || !strcmp(src, "."))
		return true;
	char pat[4096];
	snprintf(pat, sizeof(pat), "%s", src);
	size_t n = strlen(pat);
	while (n > 1 && pat[n - 1] == '/')
		pat[--n] = 0;
	if (!fnmatch(pat, path, FNM_PATHNAME | FNM_PERIOD))
		return true;
	/* a directory source copies everything below it */
	if (!strncmp(path, pat, n) && path[n] == '/')
		return true;
	/* a glob on the directory part: "src/x*" matches "src/x1/b" */
	const char *slash = path;
	while ((slash = strchr(slash, '/'))) {
		char head[4096];
		size_t k = (size_t)(slash - path);
		if (k >= sizeof(head))
			break;
		memcpy(head, path, k);
		head[k] = 0;
		if (!fnmatch(pat, head, FNM_PATHNAME | FNM_PERIOD))
			return true;
		slash++;
	}
	return false;
}

/* ---------------------------------------------------------- matching */

struct keyed {
	char *key;
	int idx;
	bool used;
};

static void match_steps(struct diff *d)
{
	const struct lp_model *A = d->A, *B = d->B;
	struct keyed *ka = lp_xcalloc(A->nsteps + 1, sizeof(*ka));
	for (size_t i = 0; i < A->nsteps; i++) {
		ka[i].key = step_key(&A->steps[i]);
		ka[i].idx = (int)i;
	}
	for (size_t j = 0; j < B->nsteps; j++) {
		char *k = step_key(&B->steps[j]);
		int a = -1;
		for (size_t i = 0; i < A->nsteps; i++)
			if (!ka[i].used && !strcmp(ka[i].key, k)) {
				ka[i].used = true;
				a = ka[i].idx;
				break;
			}
		if (d->np == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 32;
			d->p = lp_xrealloc(d->p, d->cap * sizeof(*d->p));
		}
		struct pair *p = &d->p[d->np++];
		memset(p, 0, sizeof(*p));
		p->a = a;
		p->b = (int)j;
		p->key = k;
		p->upstream = -1;
	}
	for (size_t i = 0; i < A->nsteps; i++) {
		if (!ka[i].used) {
			if (d->np == d->cap) {
				d->cap = d->cap ? d->cap * 2 : 32;
				d->p = lp_xrealloc(d->p, d->cap * sizeof(*d->p));
			}
			struct pair *p = &d->p[d->np++];
			memset(p, 0, sizeof(*p));
			p->a = (int)i;
			p->b = -1;
			p->key = lp_xstrdup(ka[i].key);
			p->upstream = -1;
		}
		free(ka[i].key);
	}
	free(ka);
}

static bool stage_eq(const char *x, const char *y)
{
	return !strcmp(x ? x : "", y ? y : "");
}

/* The pair of the FROM of B's stage, or NULL. */
static const struct pair *from_of_stage(const struct diff *d, const char *stage)
{
	for (size_t i = 0; i < d->np; i++) {
		const struct pair *p = &d->p[i];
		if (p->b >= 0 && d->B->steps[p->b].kind == LP_STEPK_FROM && stage_eq(d->B->steps[p->b].stage, stage))
			return p;
	}
	return NULL;
}

static bool base_changed(const struct diff *d, const char *stage)
{
	const struct pair *f = from_of_stage(d, stage);
	if (!f || f->a < 0)
		return false;
	const struct lp_step *a = &d->A->steps[f->a], *b = &d->B->steps[f->b];
	char *ta = collapse(strip_prefix(a->name)), *tb = collapse(strip_prefix(b->name));
	bool changed = strcmp(ta, tb) != 0;
	free(ta);
	free(tb);
	return changed;
}

static void context_files_of(struct diff *d, struct pair *p)
{
	const struct lp_model *B = d->B;
	const struct lp_step *s = &B->steps[p->b];
	if (s->kind != LP_STEPK_COPY || s->copy_from_stage)
		return;
	/* what the COPY read that was re-sent */
	for (size_t i = 0; i < s->nreads_from_context; i++) {
		const struct lp_ctx_file *cf = lp_model_ctx_file(B, s->reads_from_context[i]);
		if (cf && cf->sent && (cf->changed || cf->added))
			add_file(p, cf->path);
	}
	if (p->nfiles)
		return;
	/* not observed reading: re-sent files its sources name */
	for (size_t i = 0; i < B->nctx_files; i++) {
		const struct lp_ctx_file *cf = &B->ctx_files[i];
		if (!cf->sent || !(cf->changed || cf->added))
			continue;
		for (size_t k = 0; k < s->ncopy_srcs; k++)
			if (src_matches(s->copy_srcs[k], cf->path)) {
				add_file(p, cf->path);
				break;
			}
	}
}

static void classify(struct diff *d)
{
	const struct lp_model *A = d->A, *B = d->B;
	for (size_t i = 0; i < B->nctx_files; i++) {
		const struct lp_ctx_file *cf = &B->ctx_files[i];
		if (cf->sent && (cf->changed || cf->added)) {
			d->resent = lp_xrealloc(d->resent, (d->nresent + 1) * sizeof(char *));
			d->resent[d->nresent++] = cf->path;
		}
	}
	for (size_t i = 0; i < d->np; i++) {
		struct pair *p = &d->p[i];
		const struct lp_step *a = p->a >= 0 ? &A->steps[p->a] : NULL;
		const struct lp_step *b = p->b >= 0 ? &B->steps[p->b] : NULL;
		if (!b) {
			p->ch = CH_REMOVED;
		} else if (!a) {
			p->ch = CH_ADDED;
		} else if (b->status == LP_STEP_ERROR && a->status != LP_STEP_ERROR) {
			p->ch = CH_FAILED;
		} else if (a->status == LP_STEP_ERROR && b->status != LP_STEP_ERROR) {
			p->ch = CH_FIXED;
		} else if (a->cached && ran(b) && (b->cacheable || a->cacheable)) {
			p->ch = CH_NEW_MISS;
		} else if (ran(a) && b->cached) {
			p->ch = CH_NOW_CACHED;
		} else {
			uint64_t wa = wall(a), wb = wall(b);
			uint64_t dd = wa > wb ? wa - wb : wb - wa, mx = wa > wb ? wa : wb;
			if (dd >= SIG_MIN_NS && (double)dd >= SIG_FRAC * (double)mx)
				p->ch = wb > wa ? CH_SLOWER : CH_FASTER;
			else
				p->ch = CH_SAME;
		}
		d->n[p->ch]++;
	}
	/* causes, in B's order (earlier steps first) */
	for (size_t i = 0; i < d->np; i++) {
		struct pair *p = &d->p[i];
		if (p->b < 0)
			continue;
		const struct lp_step *b = &B->steps[p->b];
		bool missed = p->ch == CH_NEW_MISS || (p->ch == CH_ADDED && ran(b) && b->cacheable) ||
			      (p->ch == CH_FAILED && p->a >= 0 && A->steps[p->a].cached);
		if (!missed || is_internal(b))
			continue;
		context_files_of(d, p);
		/* an earlier miss in the same stage */
		int up = -1;
		for (size_t k = 0; k < i; k++) {
			const struct pair *q = &d->p[k];
			if (q->b < 0 || q->cause == CA_NONE)
				continue;
			const struct lp_step *qb = &B->steps[q->b];
			if (stage_eq(qb->stage, b->stage) && qb->stage_step < b->stage_step) {
				up = q->upstream >= 0 ? q->upstream : q->b;
				break;
			}
		}
		char buf[1024];
		if (b->kind != LP_STEPK_FROM && base_changed(d, b->stage)) {
			const struct pair *f = from_of_stage(d, b->stage);
			p->cause = CA_BASE;
			snprintf(buf, sizeof(buf), "base image changed: %s (was %s)", strip_prefix(B->steps[f->b].name),
				 strip_prefix(A->steps[f->a].name));
		} else if (up >= 0) {
			p->cause = CA_UPSTREAM;
			p->upstream = up;
			snprintf(buf, sizeof(buf), "upstream miss: %s %s missed first", B->steps[up].id,
				 B->steps[up].name ? B->steps[up].name : "");
		} else if (p->a < 0) {
			p->cause = CA_INSTR;
			/* A's step at the same position of the stage, unmatched */
			for (size_t k = 0; k < d->np; k++) {
				const struct pair *q = &d->p[k];
				if (q->b >= 0 || q->a < 0)
					continue;
				const struct lp_step *qa = &A->steps[q->a];
				if (stage_eq(qa->stage, b->stage) && qa->stage_step == b->stage_step) {
					p->was = step_text(qa);
					break;
				}
			}
			if (p->was)
				snprintf(buf, sizeof(buf), "instruction changed (was: %s)", p->was);
			else
				snprintf(buf, sizeof(buf), "new instruction in the Dockerfile");
		} else if (b->kind == LP_STEPK_FROM) {
			p->cause = CA_BASE;
			snprintf(buf, sizeof(buf), "base image was resolved again: %s", strip_prefix(b->name));
		} else if (p->nfiles) {
			p->cause = CA_CONTEXT;
			struct lp_buf fb = { 0 };
			for (size_t k = 0; k < p->nfiles && k < 8; k++) {
				if (k)
					lp_buf_puts(&fb, ", ");
				lp_buf_puts(&fb, p->files[k]);
			}
			if (p->nfiles > 8)
				lp_buf_printf(&fb, " and %zu more", p->nfiles - 8);
			snprintf(buf, sizeof(buf), "context files changed (re-sent to the daemon): %s", fb.data);
			lp_buf_free(&fb);
		} else if (b->kind == LP_STEPK_COPY && b->copy_from_stage) {
			p->cause = CA_SRC_STAGE;
			snprintf(buf, sizeof(buf), "copies from another stage, whose output changed");
		} else if (b->kind == LP_STEPK_COPY && d->nresent) {
			p->cause = CA_CONTEXT;
			snprintf(buf, sizeof(buf), "context changed (%zu files re-sent), none traced to this COPY's sources",
				 d->nresent);
		} else {
			p->cause = CA_UNKNOWN;
			snprintf(buf, sizeof(buf), "inputs look unchanged: a --build-arg, secret, --no-cache or cache "
				 "eviction?");
		}
		p->cause_msg = lp_xstrdup(buf);
	}
}

/* ------------------------------------------------------------ findings */

static char *finding_key(const struct lp_model *m, const struct lp_finding *f)
{
	struct lp_buf b = { 0 };
	lp_buf_puts(&b, lp_finding_kind_name(f->kind));
	lp_buf_puts(&b, "|");
	if (f->step >= 0 && (size_t)f->step < m->nsteps) {
		char *k = step_key(&m->steps[f->step]);
		lp_buf_puts(&b, k);
		free(k);
	}
	lp_buf_puts(&b, "|");
	if (f->npaths)
		lp_buf_puts(&b, f->paths[0]);
	return b.data;
}

/* Findings of x that y has not (by kind, step and first path). */
static size_t findings_only(const struct lp_model *x, const struct lp_model *y, const struct lp_finding **out)
{
	size_t n = 0;
	for (size_t i = 0; i < x->nfindings; i++) {
		char *kx = finding_key(x, &x->findings[i]);
		bool found = false;
		for (size_t j = 0; j < y->nfindings && !found; j++) {
			char *ky = finding_key(y, &y->findings[j]);
			found = !strcmp(kx, ky);
			free(ky);
		}
		free(kx);
		if (!found)
			out[n++] = &x->findings[i];
	}
	return n;
}

/* ------------------------------------------------------------- text */

static void fmt_ms(uint64_t ns, char *buf, size_t len)
{
	lp_fmt_duration_ns(ns, buf, len);
}

/* A step's time as `layerprof report` shows it ("-" when cached). */
static void fmt_step_time(const struct lp_step *s, char *buf, size_t len)
{
	if (!s || s->cached)
		snprintf(buf, len, "-");
	else
		lp_step_time_text(s, buf, len);
}

/* "5 created, 4 overwritten, 1 deleted (10.5 MB)": a step's layer provenance */
static void fmt_layer(const struct lp_step *s, char *buf, size_t len)
{
	if (!s) {
		snprintf(buf, len, "-");
		return;
	}
	char b1[32];
	const struct lp_layer_counts *c = &s->layer;
	snprintf(buf, len, "%u created, %u overwritten, %u deleted (%s)", c->created, c->overwritten, c->deleted,
		 lp_fmt_bytes(c->bytes, b1, sizeof(b1)));
}

static bool layer_differs(const struct lp_step *a, const struct lp_step *b)
{
	const struct lp_layer_counts *x = a ? &a->layer : NULL, *y = b ? &b->layer : NULL;
	if (!x || !y)
		return (x && (x->created || x->overwritten || x->deleted)) ||
		       (y && (y->created || y->overwritten || y->deleted));
	return x->created != y->created || x->overwritten != y->overwritten || x->deleted != y->deleted;
}

static void print_side_row(FILE *out, const char *label, const char *a, const char *b, const char *chg)
{
	fprintf(out, "  %-22s %-20s %-20s %s\n", label, a, b, chg ? chg : "");
}

static void print_text(FILE *out, struct diff *d)
{
	const struct lp_model *A = d->A, *B = d->B;
	const struct lp_build *ba = &A->build, *bb = &B->build;
	char x[64], y[64], z[96];
	fprintf(out, "layerprof diff: %s -> %s\n\n", d->fa, d->fb);
	print_side_row(out, "", lp_base_name(d->fa), lp_base_name(d->fb), "change");
	print_side_row(out, "status", ba->failed ? "FAILED" : "ok", bb->failed ? "FAILED" : "ok", NULL);
	fmt_ms(ba->wall_ns, x, sizeof(x));
	fmt_ms(bb->wall_ns, y, sizeof(y));
	{
		char dd[64];
		int64_t delta = (int64_t)bb->wall_ns - (int64_t)ba->wall_ns;
		fmt_ms((uint64_t)(delta < 0 ? -delta : delta), dd, sizeof(dd));
		if (ba->wall_ns)
			snprintf(z, sizeof(z), "%s%s (%+.0f%%)", delta < 0 ? "-" : "+", dd,
				 100.0 * (double)delta / (double)ba->wall_ns);
		else
			snprintf(z, sizeof(z), "%s%s", delta < 0 ? "-" : "+", dd);
	}
	print_side_row(out, "wall time", x, y, z);
	snprintf(x, sizeof(x), "%zu (%zu cached)", ba->steps, ba->cached_steps);
	snprintf(y, sizeof(y), "%zu (%zu cached)", bb->steps, bb->cached_steps);
	print_side_row(out, "steps", x, y, NULL);
	if (ba->cache_hit_rate >= 0)
		snprintf(x, sizeof(x), "%.0f%% (%zu/%zu)", 100 * ba->cache_hit_rate, ba->cached_steps, ba->cacheable_steps);
	else
		snprintf(x, sizeof(x), "n/a");
	if (bb->cache_hit_rate >= 0)
		snprintf(y, sizeof(y), "%.0f%% (%zu/%zu)", 100 * bb->cache_hit_rate, bb->cached_steps, bb->cacheable_steps);
	else
		snprintf(y, sizeof(y), "n/a");
	if (ba->cache_hit_rate >= 0 && bb->cache_hit_rate >= 0)
		snprintf(z, sizeof(z), "%+.0f pts", 100 * (bb->cache_hit_rate - ba->cache_hit_rate));
	else
		z[0] = 0;
	print_side_row(out, "cache hit rate", x, y, z);
	char s1[32], s2[32];
	snprintf(x, sizeof(x), "%llu file%s, %s", (unsigned long long)A->context.sent_files, A->context.sent_files == 1 ? "" : "s",
		 lp_fmt_bytes(A->context.sent_bytes, s1, sizeof(s1)));
	snprintf(y, sizeof(y), "%llu file%s, %s", (unsigned long long)B->context.sent_files, B->context.sent_files == 1 ? "" : "s",
		 lp_fmt_bytes(B->context.sent_bytes, s2, sizeof(s2)));
	print_side_row(out, "context sent", x, y, NULL);
	if (A->context.files || B->context.files) {
		snprintf(x, sizeof(x), "%llu %s, %s", (unsigned long long)A->context.files,
			 lp_plural(A->context.files, "file", "files"),
			 lp_fmt_bytes(A->context.bytes, s1, sizeof(s1)));
		snprintf(y, sizeof(y), "%llu %s, %s", (unsigned long long)B->context.files,
			 lp_plural(B->context.files, "file", "files"),
			 lp_fmt_bytes(B->context.bytes, s2, sizeof(s2)));
		print_side_row(out, "context size", x, y, NULL);
	}
	if (ba->lost_events || bb->lost_events || ba->truncated || bb->truncated) {
		snprintf(x, sizeof(x), "%llu lost%s", (unsigned long long)ba->lost_events, ba->truncated ? ", cut" : "");
		snprintf(y, sizeof(y), "%llu lost%s", (unsigned long long)bb->lost_events, bb->truncated ? ", cut" : "");
		print_side_row(out, "recording", x, y, NULL);
	}

	if (d->nresent) {
		fprintf(out, "\nContext files re-sent in %s (changed or added since the daemon's last sync): ",
		       lp_base_name(d->fb));
		for (size_t i = 0; i < d->nresent && i < 20; i++)
			fprintf(out, "%s%s", i ? ", " : "", d->resent[i]);
		if (d->nresent > 20)
			fprintf(out, " and %zu more", d->nresent - 20);
		fprintf(out, "\n");
	}

	static const struct { enum change ch; const char *title; } sections[] = {
		{ CH_NEW_MISS, "New cache misses" },
		{ CH_FAILED, "Now failing" },
		{ CH_ADDED, "Added or edited steps" },
		{ CH_REMOVED, "Removed or edited steps" },
		{ CH_NOW_CACHED, "Now cached" },
		{ CH_FIXED, "Fixed" },
		{ CH_SLOWER, "Slower" },
		{ CH_FASTER, "Faster" },
	};
	for (size_t s = 0; s < LP_ARRAY_SIZE(sections); s++) {
		if (!d->n[sections[s].ch])
			continue;
		fprintf(out, "\n%s (%d):\n", sections[s].title, d->n[sections[s].ch]);
		for (size_t i = 0; i < d->np; i++) {
			const struct pair *p = &d->p[i];
			if (p->ch != sections[s].ch)
				continue;
			const struct lp_step *a = p->a >= 0 ? &A->steps[p->a] : NULL;
			const struct lp_step *b = p->b >= 0 ? &B->steps[p->b] : NULL;
			const struct lp_step *sh = b ? b : a;
			char ta[32], tb[32];
			fmt_step_time(a, ta, sizeof(ta));
			fmt_step_time(b, tb, sizeof(tb));
			fprintf(out, "  %-5s %-44s %s -> %s  (%s -> %s)\n", sh->id, sh->name ? sh->name : "",
			       status_word(a), status_word(b), ta, tb);
			if (p->cause_msg)
				fprintf(out, "        cause: %s\n", p->cause_msg);
			if (p->cause == CA_UPSTREAM && p->nfiles) {
				fprintf(out, "        also re-sent for it: ");
				for (size_t k = 0; k < p->nfiles && k < 8; k++)
					fprintf(out, "%s%s", k ? ", " : "", p->files[k]);
				fprintf(out, "\n");
			}
			if (p->ch == CH_FAILED && b && b->error)
				fprintf(out, "        error: %.200s\n", b->error);
		}
	}
	bool any = false;
	for (int c = CH_NEW_MISS; c <= CH_REMOVED; c++)
		any |= d->n[c] > 0;
	if (!any)
		fprintf(out, "\nNo step changed its cache status, result or time significantly.\n");

	fprintf(out, "\nSteps (in %s's order):\n", lp_base_name(d->fb));
	for (size_t i = 0; i < d->np; i++) {
		const struct pair *p = &d->p[i];
		const struct lp_step *a = p->a >= 0 ? &A->steps[p->a] : NULL;
		const struct lp_step *b = p->b >= 0 ? &B->steps[p->b] : NULL;
		const struct lp_step *sh = b ? b : a;
		char ta[32], tb[32];
		fmt_step_time(a, ta, sizeof(ta));
		fmt_step_time(b, tb, sizeof(tb));
		char st[48];
		snprintf(st, sizeof(st), "%s -> %s", status_word(a), status_word(b));
		char nb[256];
		/* a long name is cut with "..." (it is whole in --json) */
		fprintf(out, "  %-5s %-44s %-18s %9s -> %-9s %s\n", sh->id, lp_fit(sh->name, 44, nb, sizeof(nb)), st, ta,
			tb, p->ch == CH_SAME ? "" : change_names[p->ch]);
		/* what it did to the files of its stage, when that changed (a
		 * cached step did nothing this time: not a change) */
		if ((!a || !a->cached) && (!b || !b->cached) && layer_differs(a, b)) {
			char la[96], lb[96];
			fmt_layer(a, la, sizeof(la));
			fmt_layer(b, lb, sizeof(lb));
			fprintf(out, "        files: %s -> %s\n", la, lb);
		}
	}

	const struct lp_finding **fn = lp_xcalloc(B->nfindings + 1, sizeof(*fn));
	const struct lp_finding **fr = lp_xcalloc(A->nfindings + 1, sizeof(*fr));
	size_t nn = findings_only(B, A, fn), nr = findings_only(A, B, fr);
	fprintf(out, "\nFindings: %zu new, %zu resolved\n", nn, nr);
	for (size_t i = 0; i < nn; i++) {
		const struct lp_finding *f = fn[i];
		fprintf(out, "  + [%s] %s%s%s\n", lp_finding_kind_name(f->kind),
		       f->step >= 0 ? B->steps[f->step].id : "", f->step >= 0 ? ": " : "", f->message ? f->message : "");
	}
	for (size_t i = 0; i < nr; i++) {
		const struct lp_finding *f = fr[i];
		fprintf(out, "  - [%s] %s%s%s\n", lp_finding_kind_name(f->kind),
		       f->step >= 0 ? A->steps[f->step].id : "", f->step >= 0 ? ": " : "", f->message ? f->message : "");
	}
	free(fn);
	free(fr);
}

/* ------------------------------------------------------------- JSON */

static void j_side(struct lp_buf *b, const char *file, const struct lp_model *m)
{
	const struct lp_build *x = &m->build;
	lp_buf_puts(b, "{\"file\":");
	lp_buf_json_str(b, file);
	lp_buf_printf(b, ",\"status\":\"%s\",\"wall_ms\":%llu,\"steps\":%zu,\"cached_steps\":%zu,"
		      "\"cacheable_steps\":%zu,\"cache_hit_rate\":",
		      x->failed ? "failed" : "ok", (unsigned long long)(x->wall_ns / 1000000), x->steps, x->cached_steps,
		      x->cacheable_steps);
	if (x->cache_hit_rate >= 0)
		lp_buf_printf(b, "%.4f", x->cache_hit_rate);
	else
		lp_buf_puts(b, "null");
	/* context_changed_files as `layerprof report --json` counts it (files
	 * re-sent replacing an older copy); the new ones are context_added_files */
	lp_buf_printf(b, ",\"context_bytes\":%llu,\"context_files\":%llu,\"context_sent_bytes\":%llu,"
		      "\"context_sent_files\":%llu,\"context_changed_files\":%llu,\"context_added_files\":%llu,"
		      "\"events\":%llu,\"lost_events\":%llu,\"truncated\":%s}",
		      (unsigned long long)m->context.bytes, (unsigned long long)m->context.files,
		      (unsigned long long)m->context.sent_bytes, (unsigned long long)m->context.sent_files,
		      (unsigned long long)m->context.changed_files, (unsigned long long)m->context.added_files,
		      (unsigned long long)x->events, (unsigned long long)x->lost_events, x->truncated ? "true" : "false");
}

static void j_step(struct lp_buf *b, const struct lp_step *s)
{
	if (!s) {
		lp_buf_puts(b, "null");
		return;
	}
	lp_buf_puts(b, "{\"id\":");
	lp_buf_json_str(b, s->id);
	lp_buf_puts(b, ",\"name\":");
	lp_buf_json_str(b, s->name ? s->name : "");
	lp_buf_printf(b, ",\"status\":\"%s\",\"cached\":%s,\"wall_ms\":%llu,\"dockerfile_line\":",
		      status_word(s), s->cached ? "true" : "false", (unsigned long long)(wall(s) / 1000000));
	if (s->dockerfile_line > 0)
		lp_buf_printf(b, "%d", s->dockerfile_line);
	else
		lp_buf_puts(b, "null");
	/* layer provenance, as `layerprof report --json` has it per step */
	const struct lp_layer_counts *c = &s->layer;
	lp_buf_printf(b, ",\"provenance\":{\"created\":%u,\"overwritten\":%u,\"deleted\":%u,\"layer_bytes\":%llu,"
			 "\"overwritten_bytes\":%llu,\"deleted_bytes\":%llu,\"unsized\":%u}}",
		      c->created, c->overwritten, c->deleted, (unsigned long long)c->bytes,
		      (unsigned long long)c->overwritten_bytes, (unsigned long long)c->deleted_bytes, c->unsized);
}

static void j_findings(struct lp_buf *b, const struct lp_model *m, const struct lp_finding **f, size_t n)
{
	lp_buf_puts(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			lp_buf_puts(b, ",");
		lp_buf_puts(b, "{\"kind\":");
		lp_buf_json_str(b, lp_finding_kind_name(f[i]->kind));
		lp_buf_puts(b, ",\"step\":");
		if (f[i]->step >= 0 && (size_t)f[i]->step < m->nsteps) {
			lp_buf_json_str(b, m->steps[f[i]->step].id);
			lp_buf_puts(b, ",\"step_name\":");
			lp_buf_json_str(b, m->steps[f[i]->step].name ? m->steps[f[i]->step].name : "");
		} else {
			lp_buf_puts(b, "null,\"step_name\":null");
		}
		lp_buf_puts(b, ",\"message\":");
		lp_buf_json_str(b, f[i]->message ? f[i]->message : "");
		lp_buf_puts(b, ",\"paths\":[");
		for (size_t k = 0; k < f[i]->npaths; k++) {
			if (k)
				lp_buf_puts(b, ",");
			lp_buf_json_str(b, f[i]->paths[k]);
		}
		lp_buf_printf(b, "],\"paths_total\":%zu}",
			      f[i]->npaths_total > f[i]->npaths ? f[i]->npaths_total : f[i]->npaths);
	}
	lp_buf_puts(b, "]");
}

/* The layerprof.diff/1 document of d, appended to *out. */
static void diff_json(struct lp_buf *out, struct diff *d)
{
	const struct lp_model *A = d->A, *B = d->B;
	struct lp_buf b = { 0 };
	lp_buf_puts(&b, "{\"schema\":\"layerprof.diff/1\",\"a\":");
	j_side(&b, d->fa, A);
	lp_buf_puts(&b, ",\"b\":");
	j_side(&b, d->fb, B);
	lp_buf_printf(&b, ",\"totals\":{\"wall_ms_delta\":%lld,\"cache_hit_rate_delta\":",
		      (long long)((int64_t)B->build.wall_ns / 1000000 - (int64_t)A->build.wall_ns / 1000000));
	if (A->build.cache_hit_rate >= 0 && B->build.cache_hit_rate >= 0)
		lp_buf_printf(&b, "%.4f", B->build.cache_hit_rate - A->build.cache_hit_rate);
	else
		lp_buf_puts(&b, "null");
	lp_buf_printf(&b, ",\"context_sent_bytes_delta\":%lld,\"steps_delta\":%lld}",
		      (long long)B->context.sent_bytes - (long long)A->context.sent_bytes,
		      (long long)B->build.steps - (long long)A->build.steps);
	lp_buf_puts(&b, ",\"context_resent\":[");
	for (size_t i = 0; i < d->nresent; i++) {
		if (i)
			lp_buf_puts(&b, ",");
		lp_buf_json_str(&b, d->resent[i]);
	}
	lp_buf_printf(&b, "],\"summary\":{\"new_misses\":%d,\"now_cached\":%d,\"slower\":%d,\"faster\":%d,"
		      "\"added\":%d,\"removed\":%d,\"failed\":%d,\"fixed\":%d}",
		      d->n[CH_NEW_MISS], d->n[CH_NOW_CACHED], d->n[CH_SLOWER], d->n[CH_FASTER], d->n[CH_ADDED],
		      d->n[CH_REMOVED], d->n[CH_FAILED], d->n[CH_FIXED]);
	lp_buf_puts(&b, ",\"steps\":[");
	for (size_t i = 0; i < d->np; i++) {
		const struct pair *p = &d->p[i];
		const struct lp_step *a = p->a >= 0 ? &A->steps[p->a] : NULL;
		const struct lp_step *s = p->b >= 0 ? &B->steps[p->b] : NULL;
		const struct lp_step *sh = s ? s : a;
		if (i)
			lp_buf_puts(&b, ",");
		lp_buf_puts(&b, "\n{\"key\":");
		lp_buf_json_str(&b, p->key);
		lp_buf_puts(&b, ",\"stage\":");
		lp_buf_json_str(&b, sh->stage ? sh->stage : "");
		lp_buf_puts(&b, ",\"instruction\":");
		char *t = step_text(sh);
		lp_buf_json_str(&b, t);
		free(t);
		lp_buf_printf(&b, ",\"change\":\"%s\",\"a\":", change_names[p->ch]);
		j_step(&b, a);
		lp_buf_puts(&b, ",\"b\":");
		j_step(&b, s);
		if (a && s)
			lp_buf_printf(&b, ",\"delta_ms\":%lld",
				      (long long)(wall(s) / 1000000) - (long long)(wall(a) / 1000000));
		else
			lp_buf_puts(&b, ",\"delta_ms\":null");
		lp_buf_puts(&b, ",\"cause\":");
		if (p->cause == CA_NONE) {
			lp_buf_puts(&b, "null");
		} else {
			lp_buf_printf(&b, "{\"kind\":\"%s\",\"message\":", cause_names[p->cause]);
			lp_buf_json_str(&b, p->cause_msg ? p->cause_msg : "");
			lp_buf_puts(&b, ",\"files\":[");
			for (size_t k = 0; k < p->nfiles; k++) {
				if (k)
					lp_buf_puts(&b, ",");
				lp_buf_json_str(&b, p->files[k]);
			}
			lp_buf_puts(&b, "],\"upstream_step\":");
			if (p->upstream >= 0)
				lp_buf_json_str(&b, B->steps[p->upstream].id);
			else
				lp_buf_puts(&b, "null");
			lp_buf_puts(&b, ",\"was\":");
			if (p->was)
				lp_buf_json_str(&b, p->was);
			else
				lp_buf_puts(&b, "null");
			lp_buf_puts(&b, "}");
		}
		lp_buf_puts(&b, "}");
	}
	lp_buf_puts(&b, "],\n\"findings\":{\"new\":");
	const struct lp_finding **fn = lp_xcalloc(B->nfindings + 1, sizeof(*fn));
	const struct lp_finding **fr = lp_xcalloc(A->nfindings + 1, sizeof(*fr));
	size_t nn = findings_only(B, A, fn), nr = findings_only(A, B, fr);
	j_findings(&b, B, fn, nn);
	lp_buf_puts(&b, ",\"resolved\":");
	j_findings(&b, A, fr, nr);
	lp_buf_puts(&b, "}}");
	free(fn);
	free(fr);
	lp_buf_append(out, b.data, b.len);
	lp_buf_free(&b);
}

static void print_json(struct diff *d)
{
	struct lp_buf b = { 0 };
	diff_json(&b, d);
	lp_buf_puts(&b, "\n");
	fwrite(b.data, 1, b.len, stdout);
	lp_buf_free(&b);
}

static void diff_free(struct diff *d)
{
	for (size_t i = 0; i < d->np; i++) {
		free(d->p[i].key);
		free(d->p[i].cause_msg);
		free(d->p[i].was);
		for (size_t k = 0; k < d->p[i].nfiles; k++)
			free(d->p[i].files[k]);
		free(d->p[i].files);
	}
	free(d->p);
	free(d->resent);
}

/* ------------------------------------------------------ sessions */

/* What makes two builds of two sessions the same build: the tag, else the
 * target and the context. */
static bool same_build(const struct lp_build *a, const struct lp_build *b)
{
	if (a->image_ref || b->image_ref)
		return a->image_ref && b->image_ref && !strcmp(a->image_ref, b->image_ref);
	bool t = (!a->target && !b->target) || (a->target && b->target && !strcmp(a->target, b->target));
	bool c = a->context_dir && b->context_dir && !strcmp(a->context_dir, b->context_dir);
	return t && c;
}

static const char *build_name(const struct lp_build *b)
{
	return b->image_ref ? b->image_ref : b->target ? b->target : b->context_dir ? b->context_dir : "(untagged)";
}

/* Two recordings of several builds (the script run twice): each build of
 * AFTER against its match in BEFORE (tag, else target and context). */
static int diff_sessions(const char *fa, const char *fb, bool json)
{
	struct lp_model **A, **B;
	size_t na, nb;
	char err[512] = "";
	if (lp_session_load(fa, true, &A, &na, err, sizeof(err)) < 0) {
		lp_error("diff: %s: %s", fa, err[0] ? err : "not a readable layerprof trace");
		return LP_EXIT_BADTRACE;
	}
	if (lp_session_load(fb, true, &B, &nb, err, sizeof(err)) < 0) {
		lp_error("diff: %s: %s", fb, err[0] ? err : "not a readable layerprof trace");
		for (size_t i = 0; i < na; i++)
			lp_model_free(A[i]);
		free(A);
		return LP_EXIT_BADTRACE;
	}
	bool *used = lp_xcalloc(na + 1, sizeof(bool));
	struct lp_buf js = { 0 };
	FILE *out = json ? NULL : lp_sanitizing_stream(stdout);
	FILE *o = out ? out : stdout;
	if (json)
		lp_buf_printf(&js, "{\"schema\":\"layerprof.diff/1\",\"session\":true,\"a_builds\":%zu,"
				   "\"b_builds\":%zu,\"pairs\":[",
			      na, nb);
	else
		fprintf(o, "layerprof diff: %s (%zu build%s) -> %s (%zu build%s), build by build\n", fa, na,
			na == 1 ? "" : "s", fb, nb, nb == 1 ? "" : "s");
	size_t npairs = 0;
	for (size_t j = 0; j < nb; j++) {
		size_t i;
		for (i = 0; i < na && (used[i] || !same_build(&A[i]->build, &B[j]->build)); i++)
			;
		if (i == na)
			continue;
		used[i] = true;
		struct diff d;
		memset(&d, 0, sizeof(d));
		d.fa = fa;
		d.fb = fb;
		d.A = A[i];
		d.B = B[j];
		match_steps(&d);
		classify(&d);
		if (json) {
			lp_buf_printf(&js, "%s\n{\"a_build\":%zu,\"b_build\":%zu,\"build\":", npairs ? "," : "", i, j);
			lp_buf_json_str(&js, build_name(&B[j]->build));
			lp_buf_puts(&js, ",\"diff\":");
			diff_json(&js, &d);
			lp_buf_puts(&js, "}");
		} else {
			fprintf(o, "\n======== %s: build %zu -> build %zu\n\n", build_name(&B[j]->build), i, j);
			print_text(o, &d);
		}
		npairs++;
		diff_free(&d);
	}
	/* builds on one side only */
	if (json)
		lp_buf_puts(&js, "],\"only_a\":[");
	size_t k = 0;
	for (size_t i = 0; i < na; i++) {
		if (used[i])
			continue;
		if (json) {
			lp_buf_printf(&js, "%s{\"build\":%zu,\"name\":", k++ ? "," : "", i);
			lp_buf_json_str(&js, build_name(&A[i]->build));
			lp_buf_puts(&js, "}");
		} else {
			fprintf(o, "\nonly in %s: build %zu (%s)\n", fa, i, build_name(&A[i]->build));
		}
	}
	if (json)
		lp_buf_puts(&js, "],\"only_b\":[");
	k = 0;
	for (size_t j = 0; j < nb; j++) {
		bool matched = false;
		for (size_t i = 0; i < na && !matched; i++)
			matched = used[i] && same_build(&A[i]->build, &B[j]->build);
		if (matched)
			continue;
		if (json) {
			lp_buf_printf(&js, "%s{\"build\":%zu,\"name\":", k++ ? "," : "", j);
			lp_buf_json_str(&js, build_name(&B[j]->build));
			lp_buf_puts(&js, "}");
		} else {
			fprintf(o, "\nonly in %s: build %zu (%s)\n", fb, j, build_name(&B[j]->build));
		}
	}
	if (json) {
		lp_buf_puts(&js, "]}\n");
		fwrite(js.data, 1, js.len, stdout);
	}
	if (out)
		fclose(out);
	lp_buf_free(&js);
	int status = LP_EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		lp_error("diff: cannot write the output");
		status = LP_EXIT_IO;
	}
	free(used);
	for (size_t i = 0; i < na; i++)
		lp_model_free(A[i]);
	for (size_t j = 0; j < nb; j++)
		lp_model_free(B[j]);
	free(A);
	free(B);
	return status;
}

/* ------------------------------------------------------------- main */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: layerprof diff BEFORE AFTER [--json]\n"
		"\n"
		"Compare two recordings of the same project: steps whose cache status or time\n"
		"changed, the cause of each new cache miss, new and resolved findings, totals.\n"
		"\n"
		"  --json      one JSON object, schema \"layerprof.diff/1\" (docs/diff-json.md)\n"
		"  -h, --help  this help\n"
		"\n"
		"Steps are matched by stage and instruction text, not by BuildKit's #N. Causes of\n"
		"a new miss: base-image, upstream-miss, instruction-changed, context-files (the\n"
		"files AFTER's context transfer re-sent), source-stage, unknown. A time change is\n"
		"significant from 500 ms and 25%%.\n");
}

int cmd_diff(int argc, char **argv)
{
	bool json = false;
	const struct lp_cmdline_flag flags[] = { { "json", 'j', &json } };
	int rc = lp_cmdline_flags("diff", argc, argv, flags, LP_ARRAY_SIZE(flags), usage);
	if (rc >= 0)
		return rc;
	if (argc - optind != 2) {
		lp_error("diff: needs two trace files; usage: layerprof diff BEFORE AFTER [--json]");
		return LP_EXIT_USAGE;
	}
	if (lp_session_recorded(argv[optind]) || lp_session_recorded(argv[optind + 1]))
		return diff_sessions(argv[optind], argv[optind + 1], json);
	struct diff d;
	memset(&d, 0, sizeof(d));
	d.fa = argv[optind];
	d.fb = argv[optind + 1];
	char err[512] = "";
	struct lp_model_options mo = { .no_findings = false };
	d.A = lp_model_load(d.fa, &mo, err, sizeof(err));
	if (!d.A) {
		lp_error("diff: %s: %s", d.fa, err[0] ? err : "not a readable layerprof trace");
		return LP_EXIT_BADTRACE;
	}
	err[0] = 0;
	d.B = lp_model_load(d.fb, &mo, err, sizeof(err));
	if (!d.B) {
		lp_error("diff: %s: %s", d.fb, err[0] ? err : "not a readable layerprof trace");
		lp_model_free(d.A);
		return LP_EXIT_BADTRACE;
	}
	match_steps(&d);
	classify(&d);
	if (json)
		print_json(&d);
	else {
		FILE *out = lp_sanitizing_stream(stdout); /* see report.c */
		print_text(out ? out : stdout, &d);
		if (out)
			fclose(out);
	}
	int status = LP_EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		lp_error("diff: cannot write the output");
		status = LP_EXIT_IO;
	}
	diff_free(&d);
	lp_model_free(d.A);
	lp_model_free(d.B);
	return status;
}
