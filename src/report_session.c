// SPDX-License-Identifier: BSD-2-Clause
/*
 * The session view of `report`: several builds (one recording of a build
 * script, or several recordings) side by side, as the hand-made build
 * reports users write: per build its target, tag, time, status, image size
 * against --target, cache hit rate, cause of failure; over all of them the
 * measured hit rate and what the builds added to the build cache. Each
 * build's own report follows (report.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "report.h"
#include "report_session.h"
#include "util.h"

static double ms(uint64_t ns)
{
	return (double)(ns / 1000000ull) + (double)(ns % 1000000ull) / 1e6;
}

/* Bytes a step left in its layer (layer provenance, provenance.c: what
 * its writes put in files that are still its layer's). */
static uint64_t layer_bytes(const struct lp_model *m, int step)
{
	return m->steps[step].layer.bytes;
}

/* A step that added a layer (a build cache entry): a RUN, COPY or ADD
 * that ran (a cached one adds nothing). */
static bool adds_layer(const struct lp_step *s)
{
	return !s->cached && s->status == LP_STEP_DONE && (s->kind == LP_STEPK_RUN || s->kind == LP_STEPK_COPY);
}

/* What the build added to the build cache: the layers of its steps that
 * ran; *entries: how many. */
static uint64_t cache_added_n(const struct lp_model *m, size_t *entries)
{
	uint64_t sum = 0;
	size_t n = 0;
	for (size_t i = 0; i < m->nsteps; i++) {
		if (!adds_layer(&m->steps[i]))
			continue;
		sum += layer_bytes(m, (int)i);
		n++;
	}
	if (entries)
		*entries = n;
	return sum;
}

static uint64_t cache_added(const struct lp_model *m)
{
	return cache_added_n(m, NULL);
}

/* Why the build failed, in one line: its failed-step finding (with the
 * stages the Dockerfile does define for a missing --target stage). */
static char *failure_cause(const struct lp_model *m)
{
	if (!m->build.failed)
		return NULL;
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct lp_finding *f = &m->findings[i];
		if (f->kind != LP_FIND_FAILED_STEP)
			continue;
		for (size_t k = 0; k < f->nevidence; k++)
			if (lp_starts_with(f->evidence[k], "the Dockerfile defines"))
				return lp_xasprintf("%s; %s", f->message, f->evidence[k]);
		return lp_xstrdup(f->message);
	}
	return lp_xstrdup(m->build.error ? m->build.error : "the build command failed");
}

/* Containers that build i's daemon ran in its time for no build of the
 * session: someone else's builds on a shared daemon (foreign). */
static size_t foreign_of(const struct lp_report_session *s, size_t i, struct lp_u32v *seen)
{
	size_t n = 0;
	const struct lp_u32v *o = &s->models[i]->build.other_containers;
	for (size_t k = 0; k < o->n; k++) {
		bool own = false;
		for (size_t j = 0; j < s->n && !own; j++)
			own = lp_u32v_has(&s->models[j]->build.own_containers, o->v[k]);
		if (own || (seen && lp_u32v_has(seen, o->v[k])))
			continue;
		if (seen)
			lp_u32v_push(seen, o->v[k]);
		n++;
	}
	return n;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static cJSON *num_or_null(double v, bool known)
{
	return known ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

struct totals {
	size_t failed, cached, cacheable;
	uint64_t wall_ns, added;
	uint64_t first_ns, last_ns;
	bool one_file;
};

static void sum_up(const struct lp_report_session *s, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->one_file = true;
	for (size_t i = 0; i < s->n; i++) {
		const struct lp_build *b = &s->models[i]->build;
		t->failed += b->failed;
		if (!b->steps_inferred) {
			t->cached += b->cached_steps;
			t->cacheable += b->cacheable_steps;
		}
		t->added += cache_added(s->models[i]);
		t->wall_ns += b->wall_ns;
		if (b->start_ns && (!t->first_ns || b->start_ns < t->first_ns))
			t->first_ns = b->start_ns;
		if (b->end_ns > t->last_ns)
			t->last_ns = b->end_ns;
		if (i && strcmp(s->files[i], s->files[0]))
			t->one_file = false;
	}
	/* one recording: its builds' span (they may overlap); several: the sum */
	if (t->one_file && t->last_ns > t->first_ns)
		t->wall_ns = t->last_ns - t->first_ns;
}

static cJSON *build_obj(const struct lp_report_session *s, size_t i)
{
	const struct lp_model *m = s->models[i];
	const struct lp_build *b = &m->build;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "index", (double)i);
	cJSON_AddStringToObject(o, "file", s->files[i]);
	cJSON_AddItemToObject(o, "command", b->command ? cJSON_CreateString(b->command) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "context", b->context_dir ? cJSON_CreateString(b->context_dir) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "dockerfile",
			      b->dockerfile_path ? cJSON_CreateString(b->dockerfile_path) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "target", b->target ? cJSON_CreateString(b->target) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "tag", b->image_ref ? cJSON_CreateString(b->image_ref) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "status", b->failed ? "failed" : "ok");
	cJSON_AddNumberToObject(o, "wall_ms", ms(b->wall_ns));
	cJSON_AddNumberToObject(o, "steps", (double)b->steps);
	cJSON_AddNumberToObject(o, "cached_steps", (double)b->cached_steps);
	cJSON_AddItemToObject(o, "cache_hit_rate",
			      num_or_null(b->cache_hit_rate, b->cache_hit_rate >= 0 && !b->steps_inferred));
	cJSON_AddItemToObject(o, "image_bytes", num_or_null((double)b->image_bytes, b->image_bytes_source != NULL));
	cJSON_AddNumberToObject(o, "cache_added_bytes", (double)cache_added(m));
	/* the new layers (build cache entries), step by step: the cache's
	 * growth explained */
	cJSON *layers = cJSON_AddArrayToObject(o, "cache_added_layers");
	for (size_t k = 0; k < m->nsteps; k++) {
		if (!adds_layer(&m->steps[k]))
			continue;
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "step", m->steps[k].id);
		cJSON_AddStringToObject(l, "name", m->steps[k].name ? m->steps[k].name : "");
		cJSON_AddNumberToObject(l, "bytes", (double)layer_bytes(m, (int)k));
		cJSON_AddItemToArray(layers, l);
	}
	char *cause = failure_cause(m);
	cJSON_AddItemToObject(o, "error", cause ? cJSON_CreateString(cause) : cJSON_CreateNull());
	free(cause);
	cJSON_AddBoolToObject(o, "overlaps", b->session_overlaps);
	cJSON_AddNumberToObject(o, "foreign_containers", (double)foreign_of(s, i, NULL));
	return o;
}

/* A copy of the targets, measured on build m (or on the session: t_all). */
static struct target *eval_copy(const struct target *t, size_t nt, const struct lp_model *m, bool *ok)
{
	struct target *c = lp_xcalloc(nt ? nt : 1, sizeof(*c));
	memcpy(c, t, nt * sizeof(*c));
	*ok = lp_report_eval_targets(m, c, nt);
	return c;
}

/* The session's own account of the targets: the total time, the measured
 * hit rate over all builds, the largest image (each must fit). */
static bool eval_overall(const struct lp_report_session *s, const struct totals *tt, struct target *t, size_t nt)
{
	bool all = true;
	for (size_t i = 0; i < nt; i++) {
		switch (t[i].key) {
		case T_BUILD_TIME:
			t[i].measured = tt->wall_ns ? ms(tt->wall_ns) : -1;
			snprintf(t[i].note, sizeof(t[i].note), "wall time of the session");
			break;
		case T_CACHE_HIT:
			t[i].measured = tt->cacheable ? (double)tt->cached / (double)tt->cacheable : -1;
			snprintf(t[i].note, sizeof(t[i].note), "%zu of %zu cacheable steps cached, all builds",
				 tt->cached, tt->cacheable);
			break;
		case T_IMAGE_SIZE: {
			double max = -1;
			size_t unmeasured = 0;
			for (size_t k = 0; k < s->n; k++) {
				const struct lp_build *b = &s->models[k]->build;
				if (!b->image_bytes_source)
					unmeasured++;
				else if ((double)b->image_bytes > max)
					max = (double)b->image_bytes;
			}
			t[i].measured = unmeasured ? -1 : max;
			snprintf(t[i].note, sizeof(t[i].note), unmeasured ? "%zu build(s) without an image" : "largest image",
				 unmeasured);
			break;
		}
		}
		t[i].pass = t[i].measured >= 0 &&
			    (t[i].key == T_CACHE_HIT ? t[i].measured + 1e-9 >= t[i].limit : t[i].measured <= t[i].limit);
		all &= t[i].pass;
	}
	return all;
}

static cJSON *targets_json(const struct target *t, size_t nt)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < nt; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", lp_report_target_name(t[i].key));
		cJSON_AddStringToObject(o, "target", t[i].spec);
		cJSON_AddItemToObject(o, "measured", num_or_null(t[i].measured, t[i].measured >= 0));
		cJSON_AddBoolToObject(o, "pass", t[i].pass);
		cJSON_AddStringToObject(o, "note", t[i].note);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* Each item of doc[key], tagged with the build it belongs to. */
static void tag_items(cJSON *into, cJSON *doc, const char *key, size_t build)
{
	cJSON *arr = cJSON_DetachItemFromObjectCaseSensitive(doc, key), *e;
	cJSON_ArrayForEach(e, arr)
		cJSON_AddNumberToObject(e, "build", (double)build);
	while (arr && cJSON_GetArraySize(arr) > 0)
		cJSON_AddItemToArray(into, cJSON_DetachItemFromArray(arr, 0));
	cJSON_Delete(arr);
}

char *lp_report_session_json(const struct lp_report_session *s, const struct target *t, size_t nt, bool *ok)
{
	struct totals tt;
	sum_up(s, &tt);
	*ok = true;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", "layerprof.report/1");
	cJSON *files = cJSON_AddArrayToObject(root, "files");
	for (size_t i = 0; i < s->n; i++)
		if (!i || strcmp(s->files[i], s->files[i - 1]))
			cJSON_AddItemToArray(files, cJSON_CreateString(s->files[i]));
	cJSON *js = cJSON_AddObjectToObject(root, "session");
	cJSON_AddNumberToObject(js, "builds", (double)s->n);
	cJSON_AddNumberToObject(js, "failed", (double)tt.failed);
	cJSON_AddNumberToObject(js, "wall_ms", ms(tt.wall_ns));
	cJSON_AddItemToObject(js, "cache_hit_rate",
			      num_or_null(tt.cacheable ? (double)tt.cached / (double)tt.cacheable : 0, tt.cacheable > 0));
	cJSON_AddNumberToObject(js, "cached_steps", (double)tt.cached);
	cJSON_AddNumberToObject(js, "cacheable_steps", (double)tt.cacheable);
	cJSON_AddNumberToObject(js, "cache_added_bytes", (double)tt.added);
	size_t entries = 0;
	for (size_t i = 0; i < s->n; i++) {
		size_t e = 0;
		cache_added_n(s->models[i], &e);
		entries += e;
	}
	cJSON_AddNumberToObject(js, "cache_added_layers", (double)entries);
	struct lp_u32v seen = { 0 };
	size_t foreign = 0;
	for (size_t i = 0; i < s->n; i++)
		foreign += foreign_of(s, i, &seen);
	free(seen.v);
	/* other builds on the same daemon while these ran, not this session's:
	 * their containers are in no build's steps */
	cJSON_AddNumberToObject(js, "foreign_containers", (double)foreign);
	cJSON *jb = cJSON_AddArrayToObject(root, "builds");
	cJSON *steps = cJSON_AddArrayToObject(root, "steps");
	cJSON *finds = cJSON_AddArrayToObject(root, "findings");
	cJSON *reports = cJSON_AddArrayToObject(root, "reports");
	for (size_t i = 0; i < s->n; i++) {
		cJSON *bo = build_obj(s, i);
		bool bok = true;
		struct target *bt = eval_copy(t, nt, s->models[i], &bok);
		if (nt)
			cJSON_AddItemToObject(bo, "targets", targets_json(bt, nt));
		*ok &= bok;
		cJSON_AddItemToArray(jb, bo);
		cJSON *doc = lp_report_doc(s->models[i], s->files[i], bt, nt);
		free(bt);
		if (!doc)
			continue;
		tag_items(steps, doc, "steps", i);
		tag_items(finds, doc, "findings", i);
		cJSON_AddItemToArray(reports, doc);
	}
	if (nt) {
		struct target *ot = lp_xcalloc(nt, sizeof(*ot));
		memcpy(ot, t, nt * sizeof(*ot));
		*ok &= eval_overall(s, &tt, ot, nt);
		cJSON_AddItemToObject(js, "targets", targets_json(ot, nt));
		free(ot);
	}
	char *out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}

void lp_report_session_text(FILE *out, const struct lp_report_session *s, const struct target *t, size_t nt,
			    int top, int width, bool *ok)
{
	struct totals tt;
	sum_up(s, &tt);
	char b1[32], b2[32];
	*ok = true;
	fprintf(out, "layerprof report: %s%s, a session of %zu build%s\n", s->files[0],
		tt.one_file ? "" : " and more recordings", s->n, s->n == 1 ? "" : "s");
	fprintf(out, "\n== Session\n");
	fprintf(out, "  builds           %zu: %zu ok, %zu failed\n", s->n, s->n - tt.failed, tt.failed);
	fprintf(out, "  wall time        %s (%s)\n", lp_fmt_duration_ns(tt.wall_ns, b1, sizeof(b1)),
		tt.one_file ? "first build's start to last build's end" : "sum over the recordings");
	if (tt.cacheable)
		fprintf(out, "  cache hit rate   %.0f%% measured (%zu of %zu cacheable steps cached, all builds; FROM not counted)\n",
			100.0 * (double)tt.cached / (double)tt.cacheable, tt.cached, tt.cacheable);
	else
		fprintf(out, "  cache hit rate   unknown (no build ran a cacheable step)\n");
	size_t adders = 0, entries = 0;
	for (size_t i = 0; i < s->n; i++) {
		size_t e = 0;
		cache_added_n(s->models[i], &e);
		entries += e;
		adders += e > 0;
	}
	fprintf(out, "  build cache      +%zu layer%s, %s, by %zu build%s (the RUN/COPY steps that ran; see below)\n",
		entries, entries == 1 ? "" : "s", lp_fmt_bytes(tt.added, b1, sizeof(b1)), adders,
		adders == 1 ? "" : "s");
	bool overlap = false;
	for (size_t i = 0; i < s->n; i++)
		overlap |= s->models[i]->build.session_overlaps;
	if (overlap)
		fprintf(out, "  note             builds ran at the same time: their containers and layers are kept "
			     "apart, but each one's export may hold the others' image writes of that window\n");
	struct lp_u32v seen = { 0 };
	size_t foreign = 0;
	for (size_t i = 0; i < s->n; i++)
		foreign += foreign_of(s, i, &seen);
	free(seen.v);
	if (foreign)
		fprintf(out, "  foreign          %zu container%s of other builds ran on the same daemon meanwhile "
			     "(not this session's: in none of its steps)\n", foreign, foreign == 1 ? "" : "s");

	fprintf(out, "\n== Builds\n");
	fprintf(out, "  %-3s %-7s %9s  %-12s %-20s %10s %5s  %s\n", "#", "STATUS", "WALL", "TARGET", "TAG", "IMAGE",
		"HIT", "CAUSE / CACHE ADDED");
	for (size_t i = 0; i < s->n; i++) {
		const struct lp_model *m = s->models[i];
		const struct lp_build *b = &m->build;
		char hit[16] = "-";
		if (b->cache_hit_rate >= 0 && !b->steps_inferred)
			snprintf(hit, sizeof(hit), "%.0f%%", 100.0 * b->cache_hit_rate);
		char *cause = failure_cause(m);
		char added[48];
		snprintf(added, sizeof(added), "+%s", lp_fmt_bytes(cache_added(m), b2, sizeof(b2)));
		char cb[4096];
		/* the cause takes what is left of the width (80 columns before it) */
		fprintf(out, "  %-3zu %-7s %9s  %-12s %-20s %10s %5s  %s\n", i, b->failed ? "failed" : "ok",
			lp_fmt_duration_ns(b->wall_ns, b1, sizeof(b1)), or_dash(b->target), or_dash(b->image_ref),
			b->image_bytes_source ? lp_fmt_bytes(b->image_bytes, b2, sizeof(b2)) : "-", hit,
			lp_fit(cause ? cause : added, width ? (width > 80 + 12 ? width - 80 : 12) : 0, cb, sizeof(cb)));
		free(cause);
	}

	if (entries) {
		fprintf(out, "\n== Build cache added (new layers, by build and step)\n");
		for (size_t i = 0; i < s->n; i++) {
			const struct lp_model *m = s->models[i];
			for (size_t k = 0; k < m->nsteps; k++) {
				if (!adds_layer(&m->steps[k]))
					continue;
				fprintf(out, "  %-3zu %-6s %10s  %s\n", i, m->steps[k].id,
					lp_fmt_bytes(layer_bytes(m, (int)k), b1, sizeof(b1)),
					m->steps[k].name ? m->steps[k].name : "");
			}
		}
	}

	if (nt) {
		fprintf(out, "\n== Targets\n");
		for (size_t i = 0; i <= s->n; i++) {
			struct target *c = lp_xcalloc(nt, sizeof(*c));
			memcpy(c, t, nt * sizeof(*c));
			bool pass = i < s->n ? lp_report_eval_targets(s->models[i], c, nt) : eval_overall(s, &tt, c, nt);
			*ok &= pass;
			for (size_t k = 0; k < nt; k++) {
				char v[32] = "not measured";
				if (c[k].measured >= 0)
					lp_report_fmt_target(c[k].key, c[k].measured, v, sizeof(v));
				char who[16];
				snprintf(who, sizeof(who), i < s->n ? "build %zu" : "session", i);
				fprintf(out, "  %-9s %-15s %-18s %-14s %s  %s\n", who, lp_report_target_name(c[k].key),
					c[k].spec, v, c[k].pass ? "PASS" : "FAIL", c[k].note);
			}
			free(c);
		}
	}

	for (size_t i = 0; i < s->n; i++) {
		fprintf(out, "\n\n======== Build %zu of %zu: %s\n\n", i, s->n, or_dash(s->models[i]->build.command));
		lp_report_print_text(out, s->models[i], s->files[i], NULL, 0, top, width);
	}
}
