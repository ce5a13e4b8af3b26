/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layerprof report FILE [--json] [--target k=v,...] [--top N]
 *
 * What was slow and why the cache missed, measured: a summary, the steps,
 * the findings with their evidence and edit, and an optional pass/fail
 * table of targets (exit status 3 when one fails).
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "cmdline.h"
#include "commands.h"
#include "exitcode.h"
#include "meter.h"
#include "model.h"
#include "report.h"
#include "report_session.h"
#include "session.h"
#include "step_times.h"
#include "trace.h"
#include "util.h"


static void usage(FILE *out)
{
	fprintf(out,
		"usage: layerprof report [FILE...] [--json] [--target K=V[,K=V...]] [--top N]\n"
		"                        [--wide]\n"
		"\n"
		"Explain a recorded build: wall time, steps, measured cache hit rate, context\n"
		"transfer, and findings (layer-order, cache-miss, context-bloat,\n"
		"secret-in-context, failed-step, snapshot-cost, slow-transfer), each with the\n"
		"kernel's evidence and the edit that fixes it. FILE defaults to layerprof.data.\n"
		"A recording of a build script (several builds), or several FILEs, is shown as\n"
		"a session: every build side by side (status, target, tag, time, image, hit\n"
		"rate, cause of failure), the session's measured hit rate, then each build.\n"
		"\n"
		"  --json           print the layerprof.report/1 JSON document\n"
		"  --target LIST    pass/fail table; exit status 3 when a target is missed.\n"
		"                   Keys: build_time (5m, 90s), image_size (200MB),\n"
		"                   cache_hit_rate (85%% or 0.85); sessions: per build and\n"
		"                   overall\n"
		"  --top N          paths shown per finding and busiest files (default 10)\n"		"  --wide           do not cut table rows to the terminal's width ($COLUMNS)\n"
		"  -h, --help       this help\n");
}

/* ---------------------------------------------------------------- targets */


bool lp_report_parse_targets(const char *list, struct target **out, size_t *n)
{
	char *copy = lp_xstrdup(list), *save = NULL;
	bool ok = true;
	for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq || !eq[1]) {
			lp_error("report: bad target '%s' (want KEY=VALUE)", t);
			ok = false;
			break;
		}
		*eq = 0;
		const char *v = eq + 1;
		struct target tg = { 0 };
		if (!strcmp(t, "build_time")) {
			uint64_t ms;
			if (!lp_parse_duration_ms(v, &ms)) {
				lp_error("report: bad build_time '%s' (e.g. 5m, 90s)", v);
				ok = false;
				break;
			}
			tg.key = T_BUILD_TIME;
			tg.limit = (double)ms;
		} else if (!strcmp(t, "image_size")) {
			uint64_t b;
			if (!lp_parse_bytes(v, &b)) {
				lp_error("report: bad image_size '%s' (e.g. 200MB)", v);
				ok = false;
				break;
			}
			tg.key = T_IMAGE_SIZE;
			tg.limit = (double)b;
		} else if (!strcmp(t, "cache_hit_rate")) {
			char *end;
			double d = strtod(v, &end);
			if (end == v || (*end && strcmp(end, "%")) || d < 0) {
				lp_error("report: bad cache_hit_rate '%s' (e.g. 85%% or 0.85)", v);
				ok = false;
				break;
			}
			if (*end == '%' || d > 1)
				d /= 100.0;
			if (d > 1) {
				lp_error("report: cache_hit_rate '%s' is above 100%%", v);
				ok = false;
				break;
			}
			tg.key = T_CACHE_HIT;
			tg.limit = d;
		} else {
			lp_error("report: unknown target '%s' (build_time, image_size, cache_hit_rate)", t);
			ok = false;
			break;
		}
		tg.spec = lp_xstrdup(v);
		*out = lp_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = tg;
	}
	free(copy);
	return ok;
}

bool lp_report_eval_targets(const struct lp_model *m, struct target *t, size_t n)
{
	bool all = true;
	for (size_t i = 0; i < n; i++) {
		switch (t[i].key) {
		case T_BUILD_TIME:
			t[i].measured = m->build.wall_ns ? (double)m->build.wall_ns / 1e6 : -1;
			t[i].pass = t[i].measured >= 0 && t[i].measured <= t[i].limit;
			snprintf(t[i].note, sizeof(t[i].note), "wall time of the build");
			break;
		case T_IMAGE_SIZE: {
			/* the model gives no size for a failed build (no image) */
			t[i].measured = m->build.image_bytes_source ? (double)m->build.image_bytes : -1;
			t[i].pass = t[i].measured >= 0 && t[i].measured <= t[i].limit;
			if (m->build.failed)
				snprintf(t[i].note, sizeof(t[i].note), "not measured: the build failed, no image");
			else if (m->build.not_exported)
				snprintf(t[i].note, sizeof(t[i].note), "none: no step exported the result");
			else if (!m->build.image_bytes_source)
				snprintf(t[i].note, sizeof(t[i].note), "not measured: no image size in the trace");
			else if (!strcmp(m->build.image_bytes_source, "image inspect"))
				snprintf(t[i].note, sizeof(t[i].note), "image size (docker image inspect)");
			else
				snprintf(t[i].note, sizeof(t[i].note),
					 "bytes written into new layers (base image not included)");
			break;
		}
		case T_CACHE_HIT:
			t[i].measured = m->build.cache_hit_rate;
			t[i].pass = t[i].measured >= 0 && t[i].measured + 1e-9 >= t[i].limit;
			if (m->build.steps_inferred)
				snprintf(t[i].note, sizeof(t[i].note), "not measured: steps inferred, cache hits not visible");
			else
				snprintf(t[i].note, sizeof(t[i].note), "%zu of %zu cacheable steps cached",
					 m->build.cached_steps, m->build.cacheable_steps);
			break;
		}
		all &= t[i].pass;
	}
	return all;
}

const char *lp_report_target_name(enum tkey k)
{
	return k == T_BUILD_TIME ? "build_time" : k == T_IMAGE_SIZE ? "image_size" : "cache_hit_rate";
}

void lp_report_fmt_target(enum tkey k, double v, char *buf, size_t len)
{
	if (v < 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	if (k == T_BUILD_TIME)
		lp_fmt_duration_ns((uint64_t)(v * 1e6), buf, len);
	else if (k == T_IMAGE_SIZE)
		lp_fmt_bytes((uint64_t)v, buf, len);
	else
		snprintf(buf, len, "%.1f%%", v * 100);
}

/* ---------------------------------------------------------- busiest files */

/* A file's time in open, read and write calls: what "busiest" ranks by. */
static uint64_t busy_ns(const struct lp_file *f)
{
	return f->rns + f->wns + f->open_ns;
}

size_t lp_report_busiest_files(const struct lp_model *m, size_t top, const struct lp_file ***out)
{
	const struct lp_file **busy = lp_xcalloc(m->nfiles + 1, sizeof(*busy));
	size_t nb = 0;
	for (size_t i = 0; i < m->nfiles; i++)
		if (busy_ns(&m->files[i]) > 0)
			busy[nb++] = &m->files[i];
	/* a partial selection sort: top is small, files may be many */
	for (size_t i = 0; i < nb && i < top; i++) {
		size_t best = i;
		for (size_t k = i + 1; k < nb; k++)
			if (busy_ns(busy[k]) > busy_ns(busy[best]))
				best = k;
		const struct lp_file *x = busy[i];
		busy[i] = busy[best];
		busy[best] = x;
	}
	*out = busy;
	return nb < top ? nb : top;
}

/* ------------------------------------------------------------------- JSON */

static double ms(uint64_t ns)
{
	return (double)(ns / 1000000);
}

static cJSON *str_array(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* Did the step make or change files of its stage (layer provenance)? */
static bool layer_made(const struct lp_step *s)
{
	const struct lp_layer_counts *c = &s->layer;
	return c->created || c->overwritten || c->deleted || c->bytes;
}

/* A step's "provenance" object: what it did to the files of its stage
 * (zeros for steps that make no layer, or made nothing). */
static cJSON *provenance_json(const struct lp_step *s)
{
	const struct lp_layer_counts *c = &s->layer;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "created", c->created);
	cJSON_AddNumberToObject(o, "overwritten", c->overwritten);
	cJSON_AddNumberToObject(o, "deleted", c->deleted);
	cJSON_AddNumberToObject(o, "layer_bytes", (double)c->bytes);
	cJSON_AddNumberToObject(o, "overwritten_bytes", (double)c->overwritten_bytes);
	cJSON_AddNumberToObject(o, "deleted_bytes", (double)c->deleted_bytes);
	cJSON_AddNumberToObject(o, "unsized", c->unsized);
	return o;
}

cJSON *lp_report_doc(const struct lp_model *m, const char *file, const struct target *t, size_t nt)
{
	const struct lp_build *b = &m->build;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", "layerprof.report/1");
	cJSON_AddStringToObject(root, "file", file);
	cJSON *jb = cJSON_AddObjectToObject(root, "build");
	cJSON_AddStringToObject(jb, "status", b->failed ? "failed" : "ok");
	cJSON_AddNumberToObject(jb, "wall_ms", ms(b->wall_ns));
	cJSON_AddNumberToObject(jb, "steps", (double)b->steps);
	cJSON_AddNumberToObject(jb, "cached_steps", (double)b->cached_steps);
	cJSON_AddNumberToObject(jb, "cache_hit_rate", b->cache_hit_rate >= 0 ? b->cache_hit_rate : 0);
	cJSON_AddNumberToObject(jb, "context_bytes", (double)m->context.bytes);
	cJSON_AddNumberToObject(jb, "context_files", (double)m->context.files);
	/* "manifest": listed by record before the build; "transfer": what the
	 * kernel saw sent (attach mode, no file list) */
	cJSON_AddStringToObject(jb, "context_source", m->context.from_transfer ? "transfer" : "manifest");
	cJSON_AddNumberToObject(jb, "context_changed_files", (double)m->context.changed_files);
	cJSON_AddNumberToObject(jb, "events", (double)b->events);
	cJSON_AddNumberToObject(jb, "records", (double)b->records);
	cJSON_AddNumberToObject(jb, "lost_events", (double)b->lost_events);
	/* extras */
	/* cache_hit_rate has one definition, the model's, used by the text,
	 * this document and --target: cached_steps / cacheable_steps, where
	 * cacheable means a Dockerfile step other than FROM (steps[].cacheable);
	 * 0 with cache_hit_rate_known false when no step is cacheable */
	cJSON_AddNumberToObject(jb, "cacheable_steps", (double)b->cacheable_steps);
	cJSON_AddBoolToObject(jb, "cache_hit_rate_known", b->cache_hit_rate >= 0 && !b->steps_inferred);
	cJSON_AddBoolToObject(jb, "steps_inferred", b->steps_inferred);
	cJSON_AddStringToObject(jb, "cache_hit_rate_formula",
				"cached_steps / cacheable_steps (Dockerfile steps except FROM)");
	cJSON_AddBoolToObject(jb, "cold", b->cold && !b->steps_inferred); /* inferred: unknown */
	cJSON_AddNumberToObject(jb, "context_sent_files", (double)m->context.sent_files);
	cJSON_AddNumberToObject(jb, "context_sent_bytes", (double)m->context.sent_bytes);
	cJSON_AddNumberToObject(jb, "context_added_files", (double)m->context.added_files);
	cJSON_AddNumberToObject(jb, "context_transfer_ms", ms(m->context.transfer_ns));
	cJSON_AddNumberToObject(jb, "context_commit_ms", ms(m->context.commit_ns));
	cJSON_AddNumberToObject(jb, "context_walk_ms", ms(m->context.walk_ns));
	cJSON_AddNumberToObject(jb, "context_engine_ms", ms(m->context.engine_ns));
	if (b->image_bytes_source) {
		cJSON_AddNumberToObject(jb, "image_bytes", (double)b->image_bytes);
		cJSON_AddStringToObject(jb, "image_bytes_source", b->image_bytes_source);
	} else {
		cJSON_AddNullToObject(jb, "image_bytes");
		cJSON_AddNullToObject(jb, "image_bytes_source");
		cJSON_AddStringToObject(jb, "image_bytes_note",
					b->failed ? "not measured: the build failed, no image was produced"
					: b->not_exported ? "none: no step exported the result (it stays in the build cache)"
							  : "not measured: no image size in the trace");
	}
	cJSON_AddBoolToObject(jb, "truncated", b->truncated);
	if (b->truncated)
		cJSON_AddStringToObject(jb, "warning", b->trace_message[0] ? b->trace_message
									 : "the trace was truncated");
	if (b->error)
		cJSON_AddStringToObject(jb, "error", b->error);
	if (b->context_dir)
		cJSON_AddStringToObject(jb, "context", b->context_dir);
	if (b->command)
		cJSON_AddStringToObject(jb, "command", b->command);
	if (b->progress_format)
		cJSON_AddStringToObject(jb, "progress_format", b->progress_format);
	if (b->engine_version)
		cJSON_AddStringToObject(jb, "engine_version", b->engine_version);
	if (b->builder) {
		cJSON_AddStringToObject(jb, "builder", b->builder);
		if (b->builder_driver)
			cJSON_AddStringToObject(jb, "builder_driver", b->builder_driver);
	}
	cJSON *lr = cJSON_AddObjectToObject(jb, "lost_by_reason");
	static const char *rn[LP_LOST_NR] = { "ringbuf", "inflight", "fdio", "traced", "counts" };
	for (int i = 0; i < LP_LOST_NR; i++)
		cJSON_AddNumberToObject(lr, rn[i], (double)b->lost_by_reason[i]);

	cJSON *steps = cJSON_AddArrayToObject(root, "steps");
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		cJSON *js = cJSON_CreateObject();
		cJSON_AddStringToObject(js, "id", s->id);
		cJSON_AddStringToObject(js, "name", s->name);
		cJSON_AddStringToObject(js, "stage", s->stage);
		cJSON_AddStringToObject(js, "instruction", s->instruction);
		if (s->dockerfile_line)
			cJSON_AddNumberToObject(js, "dockerfile_line", s->dockerfile_line);
		else
			cJSON_AddNullToObject(js, "dockerfile_line");
		cJSON_AddBoolToObject(js, "cached", s->cached);
		/* counted in cache_hit_rate (a Dockerfile step other than FROM) */
		cJSON_AddBoolToObject(js, "cacheable", lp_step_counts_for_cache(s));
		uint64_t st = lp_step_start_ns(s);
		cJSON_AddNumberToObject(js, "start_ms", st > b->start_ns ? ms(st - b->start_ns) : 0);
		cJSON_AddNumberToObject(js, "wall_ms", ms(lp_step_wall_ns(s)));
		/* where the time comes from: "kernel" (its work, seen), "engine"
		 * (rawjson's started/completed), "progress" (BuildKit's lines:
		 * coarse, 0.1 s steps), "none" (cached) */
		cJSON_AddStringToObject(js, "time_source", lp_time_source_name(s->time_src));
		if (s->e_start_ns) {
			/* rawjson: the engine's own account, also where the kernel's
			 * is shown (to compare) */
			cJSON *je = cJSON_AddObjectToObject(js, "engine_time");
			cJSON_AddNumberToObject(je, "start_ms", s->e_start_ns > b->start_ns
									? ms(s->e_start_ns - b->start_ns)
									: 0);
			cJSON_AddNumberToObject(je, "end_ms", s->e_end_ns > b->start_ns
								      ? ms(s->e_end_ns - b->start_ns)
								      : 0);
			cJSON_AddNumberToObject(je, "active_ms", ms(s->e_active_ns));
		}
		cJSON_AddNumberToObject(js, "execs", (double)s->agg.execs);
		cJSON_AddNumberToObject(js, "files_read", (double)s->agg.files_read);
		cJSON_AddNumberToObject(js, "bytes_read", (double)s->agg.bytes_read);
		cJSON_AddNumberToObject(js, "files_written", (double)s->agg.files_written);
		cJSON_AddNumberToObject(js, "bytes_written", (double)s->agg.bytes_written);
		cJSON_AddItemToObject(js, "reads_from_context",
				      str_array(s->reads_from_context, s->nreads_from_context));
		cJSON_AddItemToObject(js, "provenance", provenance_json(s));
		cJSON_AddStringToObject(js, "status", lp_step_status_name(s->status));
		cJSON_AddBoolToObject(js, "inferred", s->inferred);
		if (s->error)
			cJSON_AddStringToObject(js, "error", s->error);
		cJSON_AddNumberToObject(js, "processes", (double)s->agg.procs);
		cJSON_AddNumberToObject(js, "enoent", (double)s->agg.enoent);
		cJSON_AddItemToArray(steps, js);
	}

	cJSON *fs = cJSON_AddArrayToObject(root, "findings");
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct lp_finding *f = &m->findings[i];
		cJSON *jf = cJSON_CreateObject();
		cJSON_AddStringToObject(jf, "kind", lp_finding_kind_name(f->kind));
		if (f->step >= 0)
			cJSON_AddStringToObject(jf, "step", m->steps[f->step].id);
		else
			cJSON_AddNullToObject(jf, "step");
		cJSON_AddStringToObject(jf, "message", f->message ? f->message : "");
		cJSON_AddItemToObject(jf, "paths", str_array(f->paths, f->npaths));
		/* "paths" may be cut (the largest first): how many there are in all */
		cJSON_AddNumberToObject(jf, "paths_total",
					(double)(f->npaths_total > f->npaths ? f->npaths_total : f->npaths));
		cJSON_AddStringToObject(jf, "suggestion", f->suggestion ? f->suggestion : "");
		cJSON_AddNumberToObject(jf, "estimated_savings_ms", (double)f->savings_ms);
		cJSON_AddNumberToObject(jf, "estimated_savings_bytes", (double)f->savings_bytes);
		cJSON_AddItemToObject(jf, "evidence", str_array(f->evidence, f->nevidence));
		if (f->edit_before)
			cJSON_AddStringToObject(jf, "edit_before", f->edit_before);
		if (f->edit_after)
			cJSON_AddStringToObject(jf, "edit_after", f->edit_after);
		cJSON_AddItemToArray(fs, jf);
	}

	/* the text report's "Busiest files", its default --top */
	cJSON *jfiles = cJSON_AddArrayToObject(root, "busiest_files");
	const struct lp_file **busy;
	size_t nbusy = lp_report_busiest_files(m, LP_REPORT_TOP, &busy);
	for (size_t i = 0; i < nbusy; i++) {
		const struct lp_file *f = busy[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", f->path);
		if (f->step >= 0)
			cJSON_AddStringToObject(o, "step", m->steps[f->step].id);
		else
			cJSON_AddNullToObject(o, "step");
		/* µs: most files take well under a millisecond */
		cJSON_AddNumberToObject(o, "time_us", (double)(busy_ns(f) / 1000));
		cJSON_AddNumberToObject(o, "bytes_read", (double)f->rbytes);
		cJSON_AddNumberToObject(o, "bytes_written", (double)f->wbytes);
		cJSON_AddItemToArray(jfiles, o);
	}
	free(busy);

	const struct lp_snapshot_costs *c = &m->snap;
	cJSON *sn = cJSON_AddObjectToObject(root, "snapshot");
	cJSON_AddNumberToObject(sn, "mounts", (double)c->mounts);
	cJSON_AddNumberToObject(sn, "mount_ms", ms(c->mount_ns));
	cJSON_AddNumberToObject(sn, "umounts", (double)c->umounts);
	cJSON_AddNumberToObject(sn, "umount_ms", ms(c->umount_ns));
	cJSON_AddNumberToObject(sn, "fsyncs", (double)c->fsyncs);
	cJSON_AddNumberToObject(sn, "fsync_ms", ms(c->fsync_ns));
	cJSON_AddNumberToObject(sn, "copy_bytes", (double)c->copy_bytes);
	cJSON_AddNumberToObject(sn, "export_ms", ms(c->export_ns));
	cJSON_AddNumberToObject(sn, "export_steps", (double)c->export_steps);
	cJSON_AddNumberToObject(sn, "layer_bytes_written", (double)c->layer_bytes_written);

	if (nt) {
		cJSON *jt = cJSON_AddArrayToObject(root, "targets");
		for (size_t i = 0; i < nt; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", lp_report_target_name(t[i].key));
			cJSON_AddStringToObject(o, "target", t[i].spec);
			cJSON_AddNumberToObject(o, "limit", t[i].limit);
			if (t[i].measured >= 0)
				cJSON_AddNumberToObject(o, "measured", t[i].measured);
			else
				cJSON_AddNullToObject(o, "measured");
			cJSON_AddBoolToObject(o, "pass", t[i].pass);
			cJSON_AddStringToObject(o, "note", t[i].note);
			cJSON_AddItemToArray(jt, o);
		}
	}
	return root;
}

static char *report_json(const struct lp_model *m, const char *file, struct target *t, size_t nt)
{
	cJSON *root = lp_report_doc(m, file, t, nt);
	char *out = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	return out;
}

/* ------------------------------------------------------------------- text */

static void indent_block(FILE *out, const char *text, const char *pfx)
{
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(out, "%s%.*s\n", pfx, n, p);
		p = nl ? nl + 1 : NULL;
	}
}

/*
 * A step the engine timed (its vertex, or its DONE line) and the kernel saw
 * do nothing: its row's time is not work of its own. A WORKDIR of 0.45-0.6 s
 * beside a context transfer, in a cold build, reads as a slow WORKDIR. The
 * note says where the time comes from and which steps the kernel saw at
 * work meanwhile. NULL: no note (kernel-timed, cached, short, or work seen).
 */
static const char *engine_time_note(const struct lp_model *m, size_t i, char *buf, size_t len)
{
	const struct lp_step *s = &m->steps[i];
	uint64_t w = lp_step_wall_ns(s);
	if (s->cached || (s->time_src != LP_TIME_ENGINE && s->time_src != LP_TIME_PROGRESS) ||
	    w < 100000000ull || s->agg.execs || s->agg.files_read || s->agg.files_written ||
	    s->agg.bytes_read || s->agg.bytes_written)
		return NULL;
	uint64_t a = lp_step_start_ns(s), b = lp_step_end_ns(s);
	struct lp_buf mb = { 0 };
	size_t shown = 0, more = 0;
	for (size_t j = 0; j < m->nsteps; j++) {
		const struct lp_step *o = &m->steps[j];
		if (j == i || o->cached || o->time_src != LP_TIME_KERNEL || lp_step_start_ns(o) >= b ||
		    lp_step_end_ns(o) <= a)
			continue;
		if (shown == 3) {
			more++;
			continue;
		}
		char d[32];
		lp_buf_printf(&mb, "%s%s %s", shown ? ", " : "", o->id, lp_fmt_duration_ns(lp_step_wall_ns(o), d, sizeof(d)));
		shown++;
	}
	if (more)
		lp_buf_printf(&mb, " and %zu more", more);
	snprintf(buf, len, "time: %s; the kernel saw no work of this step%s%s%s",
		 s->time_src == LP_TIME_ENGINE ? "BuildKit's own start and end of it"
		 : s->reported_s >= 0         ? "its DONE line in the progress stream"
					      : "its lines in the progress stream",
		 shown ? " (meanwhile it saw " : " (the engine's own work, or a wait, not seen in syscalls)",
		 shown ? mb.data : "", shown ? " at work)" : "");
	lp_buf_free(&mb);
	return buf;
}

/* A line under a step's row, in its name's column: label, then text cut to
 * the width left (12 columns at least; width 0: not cut). */
static void step_note(FILE *out, const char *label, const char *text, int width)
{
	int used = 27 + (int)strlen(label);
	char fb[4096];
	fprintf(out, "  %-5s %-10s %5s   %s%s\n", "", "", "", label,
		lp_fit(text, width ? (width > used + 12 ? width - used : 12) : 0, fb, sizeof(fb)));
}

void lp_report_print_text(FILE *out, const struct lp_model *m, const char *file, struct target *t, size_t nt,
		       int top, int width)
{
	const struct lp_build *b = &m->build;
	char b1[32], b2[32], b3[32];
	fprintf(out, "layerprof report: %s\n", file);
	if (b->truncated)
		fprintf(out, "WARNING: the trace was truncated (%s); this report covers what was recovered.\n",
		       b->trace_message[0] ? b->trace_message : "no trailer");
	fprintf(out, "\n== Summary\n");
	fprintf(out, "  status           %s%s%s\n", b->failed ? "FAILED" : "ok", b->error ? ": " : "",
	       b->error ? b->error : "");
	if (b->command)
		fprintf(out, "  command          %s\n", b->command);
	if (b->builder)
		fprintf(out, "  builder          %s (%s driver)\n", b->builder,
			b->builder_driver ? b->builder_driver : "unknown");
	if (b->engine_version)
		fprintf(out, "  engine           %s\n", b->engine_version);
	fprintf(out, "  wall time        %s (%s)\n", lp_fmt_duration_ns(b->wall_ns, b1, sizeof(b1)),
	       b->wall_from_command ? "the build command, start to exit"
	       : b->steps_inferred ? "first to last inferred step" : "first to last progress line");
	if (b->steps_inferred)
		fprintf(out, "  steps            %zu Dockerfile steps inferred from kernel evidence: no BuildKit progress "
		       "stream in this trace (attach mode); cache hits are not visible\n", b->steps);
	else
		fprintf(out, "  steps            %zu Dockerfile steps, %zu cached\n", b->steps, b->cached_steps);
	if (b->steps_inferred)
		fprintf(out, "  cache hit rate   unknown (a cache hit leaves no process or copy to infer a step from)\n");
	else if (b->cache_hit_rate >= 0)
		fprintf(out, "  cache hit rate   %.0f%% measured (%zu of %zu cacheable steps; FROM not counted)%s\n",
		       b->cache_hit_rate * 100, b->cached_steps, b->cacheable_steps,
		       b->cold ? " - cold build, nothing to hit yet" : "");
	else
		fprintf(out, "  cache hit rate   unknown (no cacheable step seen)\n");
	fprintf(out, "  context          %llu %s, %s%s%s%s\n", (unsigned long long)m->context.files,
	       lp_plural(m->context.files, "file", "files"),
	       lp_fmt_bytes(m->context.bytes, b1, sizeof(b1)), m->context.dir ? " in " : "",
	       m->context.dir ? m->context.dir : "",
	       m->context.from_transfer ? " (as the kernel saw them sent: no file list in attach mode)" : "");
	uint64_t tns = m->context.transfer_ns;
	/* the client's walk of the context, before the transfer (or alone) */
	char walk[96] = "", bw[32];
	if (m->context.walk_ns)
		snprintf(walk, sizeof(walk), "%s%s walking the context%s", m->context.sent_files ? ", after " : " (",
			 lp_fmt_duration_ns(m->context.walk_ns, bw, sizeof(bw)), m->context.sent_files ? "" : ")");
	/* the rest of the engine's vertex, where no file work was seen */
	char eng[96] = "", be[32];
	if (m->context.engine_ns)
		snprintf(eng, sizeof(eng), "; %s more in the engine (set-up, no file work)",
			 lp_fmt_duration_ns(m->context.engine_ns, be, sizeof(be)));
	if (!m->context.sent_files && !m->context.sent_bytes && m->context.walk_ns && m->context.commit_ns)
		fprintf(out, "  context sent     nothing: the daemon had every file already (%s walking the context, "
			     "its snapshot's metadata synced in %s)%s\n",
			lp_fmt_duration_ns(m->context.walk_ns, bw, sizeof(bw)),
			lp_fmt_duration_ns(m->context.commit_ns, b3, sizeof(b3)), eng);
	else if (!m->context.sent_files && !m->context.sent_bytes)
		fprintf(out, "  context sent     nothing: the daemon had every file already%s%s\n", walk, eng);
	else
		fprintf(out, "  context sent     %llu %s, %s (%llu added, %llu changed) in %s%s%s%s%s\n",
			(unsigned long long)m->context.sent_files, lp_plural(m->context.sent_files, "file", "files"),
			lp_fmt_bytes(m->context.sent_bytes, b1, sizeof(b1)),
			(unsigned long long)m->context.added_files, (unsigned long long)m->context.changed_files,
			lp_fmt_duration_ns(tns, b2, sizeof(b2)), walk,
			m->context.commit_ns ? ", its snapshot committed in " : "",
			m->context.commit_ns ? lp_fmt_duration_ns(m->context.commit_ns, b3, sizeof(b3)) : "", eng);
	if (b->image_bytes_source)
		fprintf(out, "  image size       %s (%s)\n", lp_fmt_bytes(b->image_bytes, b1, sizeof(b1)),
		       !strcmp(b->image_bytes_source, "image inspect")
			       ? "docker image inspect"
			       : "bytes written into new layers by this build; base image not included");
	else if (b->failed)
		fprintf(out, "  image size       not measured: the build failed, no image was produced\n");
	else if (b->not_exported)
		fprintf(out, "  image size       none: no step exported the result (it stays in the build cache)\n");
	fprintf(out, "  events           %llu recorded, %llu lost (%llu records in the file with the recorder's own)\n",
	       (unsigned long long)b->events, (unsigned long long)b->lost_events, (unsigned long long)b->records);
	if (b->lost_events)
		fprintf(out, "  WARNING          %llu events were lost: counts below are lower bounds\n",
		       (unsigned long long)b->lost_events);

	fprintf(out, "\n== Steps\n");
	fprintf(out, "  %-5s %-10s %5s %-8s %9s %6s %14s %14s  %s\n", "ID", "STAGE", "LINE", "STATUS", "WALL",
	       "EXECS", "READ", "WRITTEN", "STEP");
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		char line[8] = "-";
		if (s->dockerfile_line)
			snprintf(line, sizeof(line), "%d", s->dockerfile_line);
		char rd[48], wr[48];
		snprintf(rd, sizeof(rd), "%llu/%s", (unsigned long long)s->agg.files_read,
			 lp_fmt_bytes(s->agg.bytes_read, b1, sizeof(b1)));
		snprintf(wr, sizeof(wr), "%llu/%s", (unsigned long long)s->agg.files_written,
			 lp_fmt_bytes(s->agg.bytes_written, b2, sizeof(b2)));
		/* the name takes what is left of the width (86 columns before it) */
		char nb[4096];
		fprintf(out, "  %-5s %-10.10s %5s %-8s %9s %6llu %14s %14s  %s\n", s->id,
		       *s->stage ? s->stage : "-", line, lp_step_status_name(s->status),
		       s->cached ? "-" : lp_step_time_text(s, b3, sizeof(b3)),
		       (unsigned long long)s->agg.execs, rd, wr,
		       lp_fit(s->name, width ? (width > 86 + 12 ? width - 86 : 12) : 0, nb, sizeof(nb)));
		if (layer_made(s)) {
			const struct lp_layer_counts *c = &s->layer;
			char lb[512], un[96] = "";
			if (c->unsized)
				snprintf(un, sizeof(un), "; %u of those from a cached or base layer, sizes not seen",
					 c->unsized);
			snprintf(lb, sizeof(lb), "files: %u created, %u overwritten, %u deleted (its layer: %s; "
						 "earlier layers' bytes replaced %s, deleted %s%s)",
				 c->created, c->overwritten, c->deleted, lp_fmt_bytes(c->bytes, b1, sizeof(b1)),
				 lp_fmt_bytes(c->overwritten_bytes, b2, sizeof(b2)),
				 lp_fmt_bytes(c->deleted_bytes, b3, sizeof(b3)), un);
			step_note(out, "", lb, width);
		}
		char tn[512];
		if (engine_time_note(m, i, tn, sizeof(tn)))
			step_note(out, "", tn, width);
		if (s->nreads_from_context && s->kind == LP_STEPK_RUN) {
			struct lp_buf rb = { 0 };
			for (size_t k = 0; k < s->nreads_from_context && (int)k < top; k++)
				lp_buf_printf(&rb, "%s%s", k ? ", " : "", s->reads_from_context[k]);
			if (s->nreads_from_context > (size_t)top)
				lp_buf_printf(&rb, ", ... (%zu)", s->nreads_from_context);
			step_note(out, "read from context: ", rb.data, width);
			lp_buf_free(&rb);
		}
	}
	fprintf(out, "  (READ/WRITTEN: distinct files/bytes; RUN steps count the container's processes,\n"
	       "   COPY and context steps the daemon's work on their layer)\n");

	fprintf(out, "\n== Findings (%zu)\n", m->nfindings);
	if (!m->nfindings)
		fprintf(out, "  none: nothing slow or wrong was measured in this build\n");
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct lp_finding *f = &m->findings[i];
		fprintf(out, "\n%zu. [%s] %s\n", i + 1, lp_finding_kind_name(f->kind), f->message ? f->message : "");
		if (f->npaths) {
			/* the finding may list fewer paths than it counts */
			size_t all = f->npaths_total > f->npaths ? f->npaths_total : f->npaths;
			size_t shown = f->npaths < (size_t)top ? f->npaths : (size_t)top;
			fprintf(out, "   paths:");
			for (size_t k = 0; k < shown; k++)
				fprintf(out, "%s %s", k ? "," : "", f->paths[k]);
			if (all > shown)
				fprintf(out, ", ... (%zu in all)", all);
			fprintf(out, "\n");
		}
		if (f->nevidence) {
			fprintf(out, "   evidence:\n");
			for (size_t k = 0; k < f->nevidence; k++)
				fprintf(out, "     - %s\n", f->evidence[k]);
		}
		if (f->edit_before && f->edit_after && f->kind == LP_FIND_LAYER_ORDER) {
			fprintf(out, "   Dockerfile before:\n");
			indent_block(out, f->edit_before, "     | ");
			fprintf(out, "   Dockerfile after:\n");
			indent_block(out, f->edit_after, "     | ");
		} else if (f->suggestion) {
			fprintf(out, "   fix:\n");
			indent_block(out, f->suggestion, "     ");
		}
		if (f->savings_ms || f->savings_bytes) {
			fprintf(out, "   estimated savings:");
			if (f->savings_ms)
				fprintf(out, " %s per build", lp_fmt_duration_ns((uint64_t)f->savings_ms * 1000000ull,
									   b1, sizeof(b1)));
			if (f->savings_bytes)
				fprintf(out, "%s %s", f->savings_ms ? "," : "",
				       lp_fmt_bytes((uint64_t)f->savings_bytes, b2, sizeof(b2)));
			fprintf(out, "\n");
		}
	}

	/* busiest files: where the time went */
	const struct lp_file **busy;
	size_t nb = lp_report_busiest_files(m, (size_t)top, &busy);
	if (nb) {
		fprintf(out, "\n== Busiest files (time in open/read/write)\n");
		for (size_t i = 0; i < nb; i++) {
			const struct lp_file *f = busy[i];
			fprintf(out, "  %9s  %-5s  r %9s  w %9s  %s\n",
			       lp_fmt_duration_ns(busy_ns(f), b1, sizeof(b1)),
			       f->step >= 0 ? m->steps[f->step].id : "-",
			       lp_fmt_bytes(f->rbytes, b2, sizeof(b2)), lp_fmt_bytes(f->wbytes, b3, sizeof(b3)),
			       f->path);
		}
	}
	free(busy);

	const struct lp_snapshot_costs *c = &m->snap;
	fprintf(out, "\n== Layer machinery\n");
	char b4[32], b5[32], b6[32];
	fprintf(out, "  mount %llu (%s), umount %llu (%s), fsync family %llu (%s)\n",
	       (unsigned long long)c->mounts, lp_fmt_duration_ns(c->mount_ns, b1, sizeof(b1)),
	       (unsigned long long)c->umounts, lp_fmt_duration_ns(c->umount_ns, b2, sizeof(b2)),
	       (unsigned long long)c->fsyncs, lp_fmt_duration_ns(c->fsync_ns, b3, sizeof(b3)));
	/* no export step is not an export of no time: the result stayed in
	 * the builder's cache (a container builder without --load) */
	fprintf(out, "  in-kernel copies %s, bytes written into new layers %s, exporting to image %s\n",
	       lp_fmt_bytes(c->copy_bytes, b4, sizeof(b4)), lp_fmt_bytes(c->layer_bytes_written, b5, sizeof(b5)),
	       c->export_steps ? lp_fmt_duration_ns(c->export_ns, b6, sizeof(b6)) : "- (no export step: the result was not exported)");

	if (nt) {
		fprintf(out, "\n== Targets\n");
		fprintf(out, "  %-15s %-10s %-12s %-6s %s\n", "TARGET", "LIMIT", "MEASURED", "RESULT", "WHAT");
		for (size_t i = 0; i < nt; i++) {
			char lim[32], mea[32];
			lp_report_fmt_target(t[i].key, t[i].limit, lim, sizeof(lim));
			lp_report_fmt_target(t[i].key, t[i].measured, mea, sizeof(mea));
			fprintf(out, "  %-15s %-10s %-12s %-6s %s\n", lp_report_target_name(t[i].key), lim, mea,
			       t[i].pass ? "pass" : "FAIL", t[i].note);
		}
	}
}

/* One build's report (text or JSON); the exit status. */
static int report_one(struct lp_model *m, const char *file, struct target *targets, size_t nt, bool json,
		      int top, int width)
{
	int rc = LP_EXIT_OK;
	if (m->build.truncated)
		lp_warn("%s: the trace was truncated (%s); reporting what was recovered", file,
			m->build.trace_message[0] ? m->build.trace_message : "no trailer");
	bool ok = lp_report_eval_targets(m, targets, nt);
	if (json) {
		char *s = report_json(m, file, targets, nt);
		if (!s) {
			lp_error("report: out of memory while making the JSON document");
			return LP_EXIT_FAILURE;
		}
		struct lp_buf jb = { 0 };
		lp_buf_json_text(&jb, s);
		fputs(jb.data ? jb.data : "", stdout);
		fputc('\n', stdout);
		lp_buf_free(&jb);
		free(s);
	} else {
		/* Paths, argv and error text come from the traced build: a
		 * file named with an escape sequence must not drive the
		 * reader's terminal. */
		FILE *out = lp_sanitizing_stream(stdout);
		lp_report_print_text(out ? out : stdout, m, file, targets, nt, top, width);
		if (out)
			fclose(out);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		lp_error("report: cannot write the report");
		rc = LP_EXIT_IO;
	} else if (!ok) {
		rc = LP_EXIT_TARGET;
	}
	return rc;
}

/* Several builds: every build of every file (a recording of one build is
 * one build of the session). */
static int report_session(char **files, int nfiles, struct target *t, size_t nt, bool json, int top, int width)
{
	struct lp_report_session rs = { 0 };
	size_t cap = 0;
	int rc = LP_EXIT_OK;
	const char *dflt[] = { LP_DEFAULT_TRACE };
	if (nfiles == 0) {
		files = (char **)dflt;
		nfiles = 1;
	}
	for (int f = 0; f < nfiles && rc == LP_EXIT_OK; f++) {
		char err[512] = "";
		struct lp_model **v;
		size_t nb;
		if (lp_session_load(files[f], true, &v, &nb, err, sizeof(err)) < 0) {
			lp_error("report: %s: %s", files[f], err[0] ? err : "cannot read the trace");
			rc = LP_EXIT_BADTRACE;
			break;
		}
		for (size_t k = 0; k < nb; k++) {
			if (rs.n == cap) {
				cap = cap ? cap * 2 : 8;
				rs.models = lp_xrealloc(rs.models, cap * sizeof(*rs.models));
				rs.files = lp_xrealloc(rs.files, cap * sizeof(*rs.files));
			}
			rs.models[rs.n] = v[k];
			rs.files[rs.n++] = files[f];
		}
		free(v);
	}
	if (rc == LP_EXIT_OK && nfiles == 1 && rs.n == 1 && rs.models[0]->build.session_index < 0) {
		/* recorded with the docker shim, but the command ran no build
		 * through it: the recording as one build */
		rc = report_one(rs.models[0], files[0], t, nt, json, top, width);
	} else if (rc == LP_EXIT_OK) {
		bool ok = true;
		if (json) {
			char *s = lp_report_session_json(&rs, t, nt, &ok);
			struct lp_buf jb = { 0 };
			lp_buf_json_text(&jb, s ? s : "{}");
			fputs(jb.data ? jb.data : "", stdout);
			fputc('\n', stdout);
			lp_buf_free(&jb);
			free(s);
		} else {
			FILE *out = lp_sanitizing_stream(stdout);
			lp_report_session_text(out ? out : stdout, &rs, t, nt, top, width, &ok);
			if (out)
				fclose(out);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			lp_error("report: cannot write the report");
			rc = LP_EXIT_IO;
		} else if (!ok) {
			rc = LP_EXIT_TARGET;
		}
	}
	for (size_t i = 0; i < rs.n; i++)
		lp_model_free(rs.models[i]);
	free(rs.models);
	free(rs.files);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "target", required_argument, NULL, 't' },
		{ "top", required_argument, NULL, 'n' },
		{ "wide", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, wide = false;
	int top = LP_REPORT_TOP;
	struct target *targets = NULL;
	size_t nt = 0;
	int c, rc = LP_EXIT_OK;
	struct lp_cmdline cl = { "report", "hjt:n:w", opts };
	while ((c = lp_cmdline_next(&cl, argc, argv)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			wide = true;
			break;
		case 't':
			if (!lp_report_parse_targets(optarg, &targets, &nt)) {
				rc = LP_EXIT_USAGE;
				goto out;
			}
			break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 100000) {
				lp_error("report: --top wants a positive number, not '%s'", optarg);
				rc = LP_EXIT_USAGE;
				goto out;
			}
			top = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			goto out;
		default: /* LP_CMDLINE_ERROR, already reported */
			rc = LP_EXIT_USAGE;
			goto out;
		}
	}
	lp_meter_start();
	if (optind < argc - 1 ||
	    lp_session_recorded(lp_cmdline_trace_quiet(optind < argc ? argv[optind] : NULL))) {
		rc = report_session(argv + optind, argc - optind, targets, nt, json, top, wide ? 0 : lp_term_width());
		if (lp_meter_was_shown())
			lp_meter_done("reported %d recording%s", argc - optind > 1 ? argc - optind : 1,
				      argc - optind > 1 ? "s" : "");
		goto out;
	}
	const char *file = lp_cmdline_trace("report", optind < argc ? argv[optind] : NULL);
	if (!file) {
		rc = LP_EXIT_USAGE;
		goto out;
	}
	char err[512] = "";
	struct lp_model *m = lp_model_load(file, NULL, err, sizeof(err));
	if (!m) {
		lp_error("report: %s", err[0] ? err : "cannot read the trace");
		rc = LP_EXIT_BADTRACE;
		goto out;
	}
	rc = report_one(m, file, targets, nt, json, top, wide ? 0 : lp_term_width());
	if (lp_meter_was_shown()) /* a long load: say how long */
		lp_meter_done("reported %s (%llu events)", file, (unsigned long long)m->build.events);
	lp_model_free_at_exit(m);
out:
	for (size_t i = 0; i < nt; i++)
		free(targets[i].spec);
	free(targets);
	return rc;
}
