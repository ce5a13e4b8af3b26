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
 * Durations are the model's (lp_step_wall_ns: the same numbers as report).
 */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
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

static void gauge_u64(struct lp_xout *o, const char *name, const char *unit, const char *help, uint64_t v)
{
	family(o, name, unit, help);
	lp_xout_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge_s(struct lp_xout *o, const char *name, const char *help, uint64_t ns)
{
	family(o, name, "seconds", help);
	lp_xout_printf(o, "%s ", name);
	seconds(o, ns);
	lp_xout_puts(o, "\n");
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

int lp_export_prom(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		   const struct lp_export_opts *opt, char *err, size_t errlen)
{
	(void)opt;
	(void)err;
	(void)errlen;
	const struct lp_build *b = &m->build;
	const char *meta = lp_reader_meta(r);
	char host[256], kernel[256], ver[64];

	family(o, "layerprof_build_info", NULL, "The recorded build: host, kernel, build engine, image, builder.");
	lp_xout_puts(o, "layerprof_build_info{host=");
	label_value(o, or_s(meta_host_str(meta, "hostname", host, sizeof(host)), "unknown"));
	lp_xout_puts(o, ",kernel=");
	label_value(o, or_s(meta_host_str(meta, "kernel_release", kernel, sizeof(kernel)), "unknown"));
	lp_xout_puts(o, ",engine=");
	label_value(o, or_s(engine_name(m), "unknown"));
	lp_xout_puts(o, ",image=");
	label_value(o, or_s(b->image_ref, ""));
	lp_xout_puts(o, ",builder=");
	label_value(o, or_s(b->builder, ""));
	lp_xout_puts(o, ",layerprof_version=");
	label_value(o, or_s(meta_host_str(meta, "layerprof_version", ver, sizeof(ver)), "unknown"));
	lp_xout_puts(o, "} 1\n");

	uint64_t mono0 = meta_u64(meta, "start_monotonic_ns"), real0 = meta_u64(meta, "start_realtime_ns");
	if (real0 && b->start_ns >= mono0)
		gauge_s(o, "layerprof_build_start_timestamp_seconds", "When the build started (Unix time).",
			real0 + (b->start_ns - mono0));
	gauge_s(o, "layerprof_build_duration_seconds", "Wall time of the build.", b->wall_ns);
	gauge_u64(o, "layerprof_build_success", NULL, "1 when the build succeeded, 0 when it failed.", b->failed ? 0 : 1);
	gauge_u64(o, "layerprof_build_steps", NULL, "Dockerfile steps of the build.", b->steps);
	gauge_u64(o, "layerprof_build_cached_steps", NULL, "Steps served from the build cache.", b->cached_steps);
	gauge_u64(o, "layerprof_build_cacheable_steps", NULL, "Steps that can hit the cache (FROM not counted).",
		  b->cacheable_steps);
	if (b->cache_hit_rate >= 0 && !b->steps_inferred) {
		family(o, "layerprof_build_cache_hit_ratio", "ratio",
		       "Cached steps / cacheable steps, measured (absent when unknown).");
		lp_xout_printf(o, "layerprof_build_cache_hit_ratio %.6g\n", b->cache_hit_rate);
	}
	gauge_u64(o, "layerprof_build_context_bytes", "bytes", "Bytes in the build context.", m->context.bytes);
	gauge_u64(o, "layerprof_build_context_files", NULL, "Files in the build context.", m->context.files);
	gauge_u64(o, "layerprof_build_context_sent_bytes", "bytes", "Context bytes sent to the daemon in this build.",
		  m->context.sent_bytes);
	gauge_u64(o, "layerprof_build_context_sent_files", NULL, "Context files sent to the daemon in this build.",
		  m->context.sent_files);
	if (b->image_bytes_source)
		gauge_u64(o, "layerprof_build_image_bytes", "bytes", "Size of the image built (absent when not measured).",
			  b->image_bytes);
	gauge_u64(o, "layerprof_build_events", NULL, "Kernel events recorded.", b->events);

	static const char *const reasons[LP_LOST_NR] = { "ringbuf", "inflight", "fdio", "traced", "counts" };
	family(o, "layerprof_build_lost_events", NULL, "Kernel events lost while recording, by reason.");
	for (int i = 0; i < LP_LOST_NR; i++)
		lp_xout_printf(o, "layerprof_build_lost_events{reason=\"%s\"} %llu\n", reasons[i],
			       (unsigned long long)b->lost_by_reason[i]);

	family(o, "layerprof_step_duration_seconds", "seconds",
	       "Time of each step as the report shows it (0 when cached).");
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		char line[16];
		snprintf(line, sizeof(line), "%d", s->dockerfile_line);
		lp_xout_puts(o, "layerprof_step_duration_seconds{step=");
		label_value(o, s->id);
		lp_xout_puts(o, ",stage=");
		label_value(o, s->stage);
		lp_xout_puts(o, ",line=");
		label_value(o, s->dockerfile_line > 0 ? line : "");
		lp_xout_puts(o, ",instruction=");
		label_value(o, s->instruction);
		lp_xout_puts(o, ",name=");
		label_value(o, s->name);
		lp_xout_printf(o, ",cached=\"%s\"} ", s->cached ? "true" : "false");
		seconds(o, lp_step_wall_ns(s));
		lp_xout_puts(o, "\n");
	}

	size_t by_kind[LP_FIND_NR] = { 0 };
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].kind < LP_FIND_NR)
			by_kind[m->findings[i].kind]++;
	family(o, "layerprof_findings", NULL, "Findings of the build, by kind.");
	for (int k = 0; k < LP_FIND_NR; k++)
		lp_xout_printf(o, "layerprof_findings{kind=\"%s\"} %zu\n", lp_finding_kind_name((enum lp_finding_kind)k),
			       by_kind[k]);
	lp_xout_puts(o, "# EOF\n");
	return 0;
}
