/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Folded stacks of the flame tree (flame.h), one line per stack with a
 * count of its own:
 *
 *   build;<step>;<comm[pid]>;<child comm[pid]>...;<state>;<syscall> <count>   (time)
 *   build;<step>;<comm[pid]>...;<syscall>;<path> <count>                      (bytes, ops)
 *
 * count is a positive integer: µs (--metric time), bytes or calls. The
 * format has no place for a unit: `export --help` names it. Counts are
 * the tree's values rounded so that the lines under a step add up to the
 * step's time as `report` shows it (lp_flame_rounded).
 *
 * Frames are sanitized (no ';', no control characters, no repeated
 * spaces, valid UTF-8) so flamegraph.pl, inferno and speedscope read them.
 * Also here: the walk over a tree's stacks that folded and speedscope
 * share (lp_flame_stacks).
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "util.h"

uint64_t lp_metric_div(enum lp_export_metric m)
{
	return m == LP_METRIC_TIME ? 1000 : 1;
}

void lp_flame_stacks(const struct lp_flame *f, uint64_t div, lp_stack_fn fn, void *arg)
{
	if (!f->n)
		return;
	uint64_t *off = lp_flame_offsets(f);
	int *frames = lp_xcalloc((size_t)f->max_depth + 2, sizeof(int));
	/* depth-first, iterative: frames[] is the path to the current node */
	int depth = 0;
	frames[0] = 0;
	int cur = 0;
	for (;;) {
		uint64_t own = lp_flame_rounded(f, off, cur, div);
		for (int c = f->nodes[cur].first_child; c >= 0; c = f->nodes[c].next_sibling) {
			uint64_t k = lp_flame_rounded(f, off, c, div);
			own = own > k ? own - k : 0;
		}
		if (own)
			fn(f, frames, depth, own, arg);
		/* next: first child, else next sibling of the nearest ancestor */
		if (f->nodes[cur].first_child >= 0) {
			cur = f->nodes[cur].first_child;
			frames[++depth] = cur;
			continue;
		}
		while (depth > 0 && f->nodes[cur].next_sibling < 0)
			cur = frames[--depth];
		if (depth == 0)
			break;
		cur = f->nodes[cur].next_sibling;
		frames[depth] = cur;
	}
	free(frames);
	free(off);
}

struct folded_out {
	struct lp_xout *o;
	struct lp_buf line;
	size_t *len_at;         /* line length after each depth's frame */
	int depth_ok;           /* frames 0..depth_ok of line are current */
	const int *last;        /* the frames line holds */
	int *held;
};

static void folded_line(const struct lp_flame *f, const int *frames, int depth, uint64_t count, void *arg)
{
	struct folded_out *fo = arg;
	char buf[512];
	/* keep the prefix the previous line shares with this one */
	int d = 0;
	while (d <= fo->depth_ok && d <= depth && fo->held[d] == frames[d])
		d++;
	fo->line.len = d ? fo->len_at[d - 1] : 0;
	for (; d <= depth; d++) {
		if (d)
			lp_buf_puts(&fo->line, ";");
		lp_buf_puts(&fo->line, lp_folded_frame(f->nodes[frames[d]].name, buf, sizeof(buf)));
		fo->len_at[d] = fo->line.len;
		fo->held[d] = frames[d];
	}
	fo->depth_ok = depth;
	lp_xout_write(fo->o, fo->line.data, fo->line.len);
	lp_xout_printf(fo->o, " %llu\n", (unsigned long long)count);
}

int lp_export_folded(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct lp_flame f;
	if (lp_flame_build(m, r, opt->metric, &f, err, errlen) < 0)
		return -1;
	struct folded_out fo = { .o = o, .depth_ok = -1 };
	fo.len_at = lp_xcalloc((size_t)f.max_depth + 2, sizeof(size_t));
	fo.held = lp_xcalloc((size_t)f.max_depth + 2, sizeof(int));
	lp_flame_stacks(&f, lp_metric_div(opt->metric), folded_line, &fo);
	lp_buf_free(&fo.line);
	free(fo.len_at);
	free(fo.held);
	lp_flame_free(&f);
	return 0;
}
