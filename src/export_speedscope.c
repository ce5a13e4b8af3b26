/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flame tree (flame.h) in speedscope's own file format, so its axis
 * has a unit (folded stacks have none): one "sampled" profile whose
 * samples are the tree's stacks (lp_flame_stacks, the same stacks and
 * counts as the folded export) and whose weights are in the profile's
 * unit: "microseconds" (--metric time), "bytes", or "none" (calls).
 *
 *   {"$schema": "https://www.speedscope.app/file-format-schema.json",
 *    "shared": {"frames": [{"name": ...}, ...]},
 *    "profiles": [{"type": "sampled", "name", "unit", "startValue",
 *                  "endValue", "samples": [[frame, ...], ...], "weights"}],
 *    "name", "activeProfileIndex": 0, "exporter"}
 *
 * Frames are shared by name (a syscall or state appears once in the frame
 * list however many processes it is under).
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "flame.h"
#include "model.h"
#include "util.h"
#include "version.h"

struct ss_out {
	struct lp_xout *o;
	int *frame_of;          /* tree node -> frame index */
	struct lp_buf b;
	struct lp_buf weights;
	bool first;
	uint64_t total;
};

static void ss_sample(const struct lp_flame *f, const int *frames, int depth, uint64_t count, void *arg)
{
	(void)f;
	struct ss_out *s = arg;
	struct lp_buf *b = &s->b;
	b->len = 0;
	lp_buf_puts(b, s->first ? "[" : ",[");
	for (int d = 0; d <= depth; d++)
		lp_buf_printf(b, d ? ",%d" : "%d", s->frame_of[frames[d]]);
	lp_buf_puts(b, "]");
	lp_xout_write(s->o, b->data, b->len);
	lp_xout_maybe_flush(s->o);
	lp_buf_printf(&s->weights, s->first ? "%llu" : ",%llu", (unsigned long long)count);
	s->first = false;
	s->total += count;
}

static void ss_count(const struct lp_flame *f, const int *frames, int depth, uint64_t count, void *arg)
{
	(void)f, (void)frames, (void)depth;
	*(uint64_t *)arg += count;
}

int lp_export_speedscope(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
			 const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct lp_flame f;
	if (lp_flame_build(m, r, opt->metric, &f, err, errlen) < 0)
		return -1;
	uint64_t div = lp_metric_div(opt->metric);
	const char *unit = opt->metric == LP_METRIC_TIME ? "microseconds" :
			   opt->metric == LP_METRIC_BYTES ? "bytes" : "none";
	struct ss_out s = { .o = o, .first = true };
	s.frame_of = lp_xcalloc(f.n + 1, sizeof(int));
	struct lp_smap names = { 0 };
	struct lp_buf *b = &s.b;
	lp_buf_puts(b, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"shared\":{\"frames\":[");
	int nframes = 0;
	for (size_t i = 0; i < f.n; i++) {
		int k = lp_smap_get(&names, f.nodes[i].name);
		if (k < 0) {
			k = nframes++;
			lp_smap_put(&names, f.nodes[i].name, k);
			lp_buf_puts(b, k ? ",{\"name\":" : "{\"name\":");
			lp_buf_json_str(b, f.nodes[i].name);
			lp_buf_puts(b, "}");
			if (b->len > (64u << 10)) {
				lp_xout_write(o, b->data, b->len);
				b->len = 0;
			}
		}
		s.frame_of[i] = k;
	}
	lp_smap_free(&names);
	uint64_t total = 0;
	lp_flame_stacks(&f, div, ss_count, &total);
	char title[600];
	snprintf(title, sizeof(title), "layerprof %s: %s", lp_metric_name(opt->metric),
		 opt->trace_name ? opt->trace_name : "trace");
	lp_buf_puts(b, "]},\"profiles\":[{\"type\":\"sampled\",\"name\":");
	lp_buf_json_str(b, title);
	lp_buf_printf(b, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%llu,\"samples\":[", unit,
		      (unsigned long long)total);
	lp_xout_write(o, b->data, b->len);
	lp_flame_stacks(&f, div, ss_sample, &s);
	lp_xout_puts(o, "],\"weights\":[");
	lp_xout_write(o, s.weights.data, s.weights.len);
	b->len = 0;
	lp_buf_puts(b, "]}],\"name\":");
	lp_buf_json_str(b, title);
	lp_buf_puts(b, ",\"activeProfileIndex\":0,\"exporter\":\"layerprof " LAYERPROF_VERSION "\"}\n");
	lp_xout_write(o, b->data, b->len);
	lp_buf_free(&s.b);
	lp_buf_free(&s.weights);
	free(s.frame_of);
	lp_flame_free(&f);
	return 0;
}
