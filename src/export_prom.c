/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `layerprof export FILE -o metrics.prom`: the build's numbers as
 * OpenMetrics text, for node_exporter's textfile collector (write it into
 * the collector's directory; the file name must end in .prom) or any
 * scraper. Every family is a gauge (these are one build's values, not
 * running counters), no sample has a timestamp (the textfile collector
 * rejects them), and the text ends with "# EOF". `promtool check metrics`
 * accepts it (tests/fleet/run.sh checks).
 *
 *   layerprof_build_info{host,kernel,engine,image,builder,layerprof_version} 1
 *   layerprof_build_start_timestamp_seconds, layerprof_build_duration_seconds,
 *   layerprof_build_success (1 ok, 0 failed), layerprof_build_steps,
 *   layerprof_build_cached_steps, layerprof_build_cacheable_steps,
 *   layerprof_build_cache_hit_ratio (absent when unknown: attach mode, no
 *   cacheable step), layerprof_build_context_bytes/_files,
 *   layerprof_build_context_sent_bytes/_files, layerprof_build_image_bytes
 *   (absent when not measured), layerprof_build_events,
 *   layerprof_build_lost_events{reason}
 *   layerprof_step_duration_seconds{step,stage,line,instruction,name,cached}
 *   layerprof_findings{kind}   one sample per kind, 0 included
 *
 * A recording of several builds (a session, session.h) gives every sample
 * a build="K" label (0-based, in start order; build_info also names its
 * target). Durations are the model's (lp_step_wall_ns: the same numbers as
 * report).
 */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "session.h"
#include "trace.h"

/* A label value: \, " and newline escaped, invalid UTF-8 as U+FFFD, other
 * control characters as spaces. */
static void label_value(struct lp_xout *o, const char *s)
{
	struct lp_buf b = { 0 };
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '\\' || c == '"') {
			lp_buf_append(&b, "\\", 1);
			lp_buf_append(&b, &c, 1);
			i++;
		} else if (c == '\n') {
			lp_buf_puts(&b, "\\n");
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			lp_buf_puts(&b, " ");
			i++;
		} else if (c < 0x80) {
			lp_buf_append(&b, &c, 1);
			i++;
		} else {
			size_t k = lp_utf8_seq_len(p + i, n - i);
			if (k) {
				lp_buf_append(&b, p + i, k);
				i += k;
			} else {
				lp_buf_puts(&b, "\xef\xbf\xbd");
				i++;
			}
		}
	}
	lp_xout_write(o, "\"", 1);
	if (b.len)
		lp_xout_write(o, b.data, b.len);
	lp_xout_write(o, "\"", 1);
	lp_buf_free(&b);
}

/* ns as seconds, exactly ("3.090123456" -> trailing zeros dropped; "0"). */
static void seconds(struct lp_xout *o, uint64_t ns)
{
	char frac[16];
	snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)(ns % 1000000000ull));
	size_t k = strlen(frac);
	while (k && frac[k - 1] == '0')
		frac[--k] = 0;
	lp_xout_printf(o, "%llu%s%s", (unsigned long long)(ns / 1000000000ull), k ? "." : "", frac);
}

static void family(struct lp_xout *o, const char *name, const char *unit, const char *help)
{
	lp_xout_printf(o, "# TYPE %s gauge\n", name);
	if (unit)
		lp_xout_printf(o, "# UNIT %s %s\n", name, unit);
	lp_xout_printf(o, "# HELP %s %s\n", name, help);
}

/* The META's exact number of key (see export_otlp.c's reason: ns values). */
static uint64_t meta_u64(const char *meta, const char *key)
{
	char pat[96];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = meta ? strstr(meta, pat) : NULL;
	return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* A string of the META's "host" object, or NULL (a small scan: the keys
 * are record's own). */
static char *meta_host_str(const char *meta, const char *key, char *buf, size_t len)
{
	char pat[96];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = meta ? strstr(meta, pat) : NULL;
	if (!p)
		return NULL;
	p += strlen(pat);
	size_t k = 0;
	while (*p && *p != '"' && k + 1 < len) {
		if (*p == '\\' && p[1])
			p++;
		buf[k++] = *p++;
	}
	buf[k] = 0;
	return buf;
}

static const char *or_s(const char *a, const char *b)
{
	return a ? a : b;
}

/* The daemon that served the build (above a RUN's processes), or NULL. */
static const char *engine_name(const struct lp_model *m)
{
	for (size_t i = 0; i < m->nsteps; i++)
		for (int pi = m->steps[i].first_proc, g = 0; pi >= 0 && (size_t)pi < m->nprocs && g < 64; g++) {
			const struct lp_proc *p = &m->procs[pi];
			if (p->role == LP_ROLE_DAEMON &&
			    (!strncmp(p->comm, "dockerd", 7) || !strncmp(p->comm, "buildkitd", 9)))
				return p->comm;
			pi = p->parent;
		}
	return NULL;
}

/* One build's models and its label: build="K" when the recording is a
 * session of several builds (session.h), else none. */
struct pbuild {
	const struct lp_model *m;
	struct lp_model *own;       /* loaded here (a build of a session) */
	char label[32];             /* `build="3"` or "" */
};

/* name{LABEL,extra} for every build; extra (may be NULL) is printed raw. */
static void sample_start(struct lp_xout *o, const char *name, const struct pbuild *pb, const char *extra)
{
	bool any = pb->label[0] || (extra && *extra);
	lp_xout_printf(o, "%s%s%s%s%s%s", name, any ? "{" : "", pb->label,
		       pb->label[0] && extra && *extra ? "," : "", extra ? extra : "", any ? "} " : " ");
}

enum pval { PV_SUCCESS, PV_STEPS, PV_CACHED, PV_CACHEABLE, PV_CTX_BYTES, PV_CTX_FILES, PV_SENT_BYTES,
	    PV_SENT_FILES, PV_EVENTS };

static uint64_t pvalue(const struct lp_model *m, enum pval v)
{
	const struct lp_build *b = &m->build;
	switch (v) {
	case PV_SUCCESS: return b->failed ? 0 : 1;
	case PV_STEPS: return b->steps;
	case PV_CACHED: return b->cached_steps;
	case PV_CACHEABLE: return b->cacheable_steps;
	case PV_CTX_BYTES: return m->context.bytes;
	case PV_CTX_FILES: return m->context.files;
	case PV_SENT_BYTES: return m->context.sent_bytes;
	case PV_SENT_FILES: return m->context.sent_files;
	case PV_EVENTS: return b->events;
	}
	return 0;
}

int lp_export_prom(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		   const struct lp_export_opts *opt, char *err, size_t errlen)
{
	const char *meta = lp_reader_meta(r);
	char host[256], kernel[256], ver[64];

	/* the builds: each build of a session apart (lp_session_load), else
	 * the recording */
	struct lp_model **models = NULL;
	size_t nb = 1;
	bool session = opt->trace_name && lp_session_recorded(opt->trace_name);
	if (session && lp_session_load(opt->trace_name, false, &models, &nb, err, errlen) < 0)
		return -1;
	struct pbuild *pbs = lp_xcalloc(nb, sizeof(*pbs));
	for (size_t k = 0; k < nb; k++) {
		pbs[k].m = session ? models[k] : m;
		pbs[k].own = session ? models[k] : NULL;
		if (nb > 1)
			snprintf(pbs[k].label, sizeof(pbs[k].label), "build=\"%zu\"", k);
	}
	free(models);

	family(o, "layerprof_build_info", NULL,
	       "The recorded build: host, kernel, build engine, image, target, builder.");
	for (size_t k = 0; k < nb; k++) {
		const struct lp_build *b = &pbs[k].m->build;
		lp_xout_printf(o, "layerprof_build_info{%s%shost=", pbs[k].label, pbs[k].label[0] ? "," : "");
		label_value(o, or_s(meta_host_str(meta, "hostname", host, sizeof(host)), "unknown"));
		lp_xout_puts(o, ",kernel=");
		label_value(o, or_s(meta_host_str(meta, "kernel_release", kernel, sizeof(kernel)), "unknown"));
		lp_xout_puts(o, ",engine=");
		label_value(o, or_s(engine_name(pbs[k].m), "unknown"));
		lp_xout_puts(o, ",image=");
		label_value(o, or_s(b->image_ref, ""));
		if (b->target) {
			lp_xout_puts(o, ",target=");
			label_value(o, b->target);
		}
		lp_xout_puts(o, ",builder=");
		label_value(o, or_s(b->builder, ""));
		lp_xout_puts(o, ",layerprof_version=");
		label_value(o, or_s(meta_host_str(meta, "layerprof_version", ver, sizeof(ver)), "unknown"));
		lp_xout_puts(o, "} 1\n");
	}

	uint64_t mono0 = meta_u64(meta, "start_monotonic_ns"), real0 = meta_u64(meta, "start_realtime_ns");
	if (real0) {
		family(o, "layerprof_build_start_timestamp_seconds", "seconds", "When the build started (Unix time).");
		for (size_t k = 0; k < nb; k++) {
			const struct lp_build *b = &pbs[k].m->build;
			if (b->start_ns < mono0)
				continue;
			sample_start(o, "layerprof_build_start_timestamp_seconds", &pbs[k], NULL);
			seconds(o, real0 + (b->start_ns - mono0));
			lp_xout_puts(o, "\n");
		}
	}
	family(o, "layerprof_build_duration_seconds", "seconds", "Wall time of the build.");
	for (size_t k = 0; k < nb; k++) {
		sample_start(o, "layerprof_build_duration_seconds", &pbs[k], NULL);
		seconds(o, pbs[k].m->build.wall_ns);
		lp_xout_puts(o, "\n");
	}
	static const struct {
		const char *name, *unit, *help;
		enum pval v;
	} simple[] = {
		{ "layerprof_build_success", NULL, "1 when the build succeeded, 0 when it failed.", PV_SUCCESS },
		{ "layerprof_build_steps", NULL, "Dockerfile steps of the build.", PV_STEPS },
		{ "layerprof_build_cached_steps", NULL, "Steps served from the build cache.", PV_CACHED },
		{ "layerprof_build_cacheable_steps", NULL, "Steps that can hit the cache (FROM not counted).", PV_CACHEABLE },
	};
	for (size_t i = 0; i < LP_ARRAY_SIZE(simple); i++) {
		family(o, simple[i].name, simple[i].unit, simple[i].help);
		for (size_t k = 0; k < nb; k++) {
			sample_start(o, simple[i].name, &pbs[k], NULL);
			lp_xout_printf(o, "%llu\n", (unsigned long long)pvalue(pbs[k].m, simple[i].v));
		}
	}
	bool any_rate = false;
	for (size_t k = 0; k < nb; k++)
		any_rate = any_rate || (pbs[k].m->build.cache_hit_rate >= 0 && !pbs[k].m->build.steps_inferred);
	if (any_rate) {
		family(o, "layerprof_build_cache_hit_ratio", "ratio",
		       "Cached steps / cacheable steps, measured (absent when unknown).");
		for (size_t k = 0; k < nb; k++) {
			const struct lp_build *b = &pbs[k].m->build;
			if (b->cache_hit_rate < 0 || b->steps_inferred)
				continue;
			sample_start(o, "layerprof_build_cache_hit_ratio", &pbs[k], NULL);
			lp_xout_printf(o, "%.6g\n", b->cache_hit_rate);
		}
	}
	static const struct {
		const char *name, *unit, *help;
		enum pval v;
	} ctx[] = {
		{ "layerprof_build_context_bytes", "bytes", "Bytes in the build context.", PV_CTX_BYTES },
		{ "layerprof_build_context_files", NULL, "Files in the build context.", PV_CTX_FILES },
		{ "layerprof_build_context_sent_bytes", "bytes", "Context bytes sent to the daemon in this build.", PV_SENT_BYTES },
		{ "layerprof_build_context_sent_files", NULL, "Context files sent to the daemon in this build.", PV_SENT_FILES },
	};
	for (size_t i = 0; i < LP_ARRAY_SIZE(ctx); i++) {
		family(o, ctx[i].name, ctx[i].unit, ctx[i].help);
		for (size_t k = 0; k < nb; k++) {
			sample_start(o, ctx[i].name, &pbs[k], NULL);
			lp_xout_printf(o, "%llu\n", (unsigned long long)pvalue(pbs[k].m, ctx[i].v));
		}
	}
	bool any_image = false;
	for (size_t k = 0; k < nb; k++)
		any_image = any_image || pbs[k].m->build.image_bytes_source;
	if (any_image) {
		family(o, "layerprof_build_image_bytes", "bytes", "Size of the image built (absent when not measured).");
		for (size_t k = 0; k < nb; k++) {
			if (!pbs[k].m->build.image_bytes_source)
				continue;
			sample_start(o, "layerprof_build_image_bytes", &pbs[k], NULL);
			lp_xout_printf(o, "%llu\n", (unsigned long long)pbs[k].m->build.image_bytes);
		}
	}
	family(o, "layerprof_build_events", NULL, "Kernel events recorded.");
	for (size_t k = 0; k < nb; k++) {
		sample_start(o, "layerprof_build_events", &pbs[k], NULL);
		lp_xout_printf(o, "%llu\n", (unsigned long long)pvalue(pbs[k].m, PV_EVENTS));
	}

	static const char *const reasons[LP_LOST_NR] = { "ringbuf", "inflight", "fdio", "traced", "counts" };
	family(o, "layerprof_build_lost_events", NULL, "Kernel events lost while recording, by reason.");
	for (size_t k = 0; k < nb; k++)
		for (int i = 0; i < LP_LOST_NR; i++) {
			char extra[48];
			snprintf(extra, sizeof(extra), "reason=\"%s\"", reasons[i]);
			sample_start(o, "layerprof_build_lost_events", &pbs[k], extra);
			lp_xout_printf(o, "%llu\n", (unsigned long long)pbs[k].m->build.lost_by_reason[i]);
		}

	family(o, "layerprof_step_duration_seconds", "seconds",
	       "Time of each step as the report shows it (0 when cached).");
	for (size_t k = 0; k < nb; k++) {
		const struct lp_model *bm = pbs[k].m;
		for (size_t i = 0; i < bm->nsteps; i++) {
			const struct lp_step *st = &bm->steps[i];
			char line[16];
			snprintf(line, sizeof(line), "%d", st->dockerfile_line);
			lp_xout_printf(o, "layerprof_step_duration_seconds{%s%sstep=", pbs[k].label, pbs[k].label[0] ? "," : "");
			label_value(o, st->id);
			lp_xout_puts(o, ",stage=");
			label_value(o, st->stage);
			lp_xout_puts(o, ",line=");
			label_value(o, st->dockerfile_line > 0 ? line : "");
			lp_xout_puts(o, ",instruction=");
			label_value(o, st->instruction);
			lp_xout_puts(o, ",name=");
			label_value(o, st->name);
			lp_xout_printf(o, ",cached=\"%s\"} ", st->cached ? "true" : "false");
			seconds(o, lp_step_wall_ns(st));
			lp_xout_puts(o, "\n");
		}
	}

	family(o, "layerprof_findings", NULL, "Findings of the build, by kind.");
	for (size_t k = 0; k < nb; k++) {
		const struct lp_model *bm = pbs[k].m;
		size_t by_kind[LP_FIND_NR] = { 0 };
		for (size_t i = 0; i < bm->nfindings; i++)
			if (bm->findings[i].kind < LP_FIND_NR)
				by_kind[bm->findings[i].kind]++;
		for (int f = 0; f < LP_FIND_NR; f++) {
			char extra[64];
			snprintf(extra, sizeof(extra), "kind=\"%s\"", lp_finding_kind_name((enum lp_finding_kind)f));
			sample_start(o, "layerprof_findings", &pbs[k], extra);
			lp_xout_printf(o, "%zu\n", by_kind[f]);
		}
	}
	lp_xout_puts(o, "# EOF\n");
	for (size_t k = 0; k < nb; k++)
		lp_model_free(pbs[k].own);
	free(pbs);
	return 0;
}
