/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A self-contained SVG flame graph of the flame tree (flame.h), drawn by
 * layerprof itself: no Perl, no network, inline CSS and a little inline
 * script (click to zoom, search). Root at the bottom; the steps sit on it
 * in build order, each exactly its time in `report`; then the process
 * trees and, for time, each process's own time by state (running, file
 * I/O, waiting on pipe/socket...) and syscall; for bytes and ops, syscall
 * and path. Every frame has a <title> (hover) with its name, its value in
 * the metric's unit ("1.25 s", "4.50 MB", "12 calls") and share, a
 * process its command line; the subtitle gives the total. Labels are cut
 * with ".." to fit. Colors by kind: step (blue; cached lighter, failed
 * red), process (green), states as the legend shows, syscall (orange),
 * path (yellow), time no traced process accounts for (grey violet).
 * Names are XML-escaped; invalid UTF-8 and control characters become
 * '?', so the file is always well-formed XML.
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "model.h"
#include "util.h"

#define SVG_W 1200.0
#define FRAME_H 17.0
#define FONT_PX 12.0
#define CHAR_W 7.3              /* a generous average glyph width at 12px */
#define PAD_X 10.0
#define TOP 72.0
#define BOTTOM 74.0
#define MIN_W 0.1               /* frames narrower than this are not drawn */
#define MAX_NODES 200000

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

struct draw {
	const struct lp_model *m;
	struct lp_xout *o;
	const struct lp_flame *f;
	const uint64_t *off;
	enum lp_export_metric metric;
	double scale;           /* px per unit */
	double height;
	uint64_t total;
	struct lp_buf b;
	size_t drawn;
};

static const char *kind_class(const struct lp_flame_node *x)
{
	static const char *const n[] = { "root", "step", "proc", "st", "sc", "path", "gap" };
	return (unsigned)x->kind < LP_ARRAY_SIZE(n) ? n[x->kind] : "sc";
}

/* The colors of the legend; one per state, the kinds around them. */
static void state_rgb(enum lp_flame_state st, double v, int *r, int *g, int *b)
{
	switch (st) {
	case LP_FST_RUNNING: *r = 228, *g = (int)(95 + 30 * v), *b = 60; break;
	case LP_FST_ON_CPU: *r = 235, *g = (int)(70 + 30 * v), *b = 45; break;
	case LP_FST_OFF_CPU: *r = 175, *g = (int)(190 + 15 * v), *b = 215; break;
	case LP_FST_FILE_IO: *r = 232, *g = (int)(190 + 30 * v), *b = 80; break;
	case LP_FST_PIPE: *r = 110, *g = (int)(170 + 20 * v), *b = 230; break;
	case LP_FST_SOCKET: *r = 70, *g = (int)(190 + 20 * v), *b = 190; break;
	case LP_FST_FD_UNKNOWN: *r = 160, *g = 160, *b = (int)(170 + 20 * v); break;
	case LP_FST_MOUNT: *r = 200, *g = 140, *b = (int)(200 + 20 * v); break;
	default: *r = 210, *g = (int)(200 + 20 * v), *b = 170; break;
	}
}

static void color_of(const struct draw *d, const struct lp_flame_node *x, char *buf, size_t len)
{
	double v = (double)(name_hash(x->name) % 1000) / 1000.0;
	int r, g, b;
	switch (x->kind) {
	case LP_FLAME_BUILD:
		r = g = b = 170;
		break;
	case LP_FLAME_STEP: {
		const struct lp_step *s = x->step >= 0 && (size_t)x->step < d->m->nsteps ? &d->m->steps[x->step] : NULL;
		if (s && s->status == LP_STEP_ERROR) {
			r = 225, g = (int)(70 + 40 * v), b = (int)(60 + 30 * v);
		} else if (s && s->cached) {
			r = (int)(170 + 20 * v), g = (int)(195 + 20 * v), b = 235;
		} else {
			r = (int)(80 + 40 * v), g = (int)(135 + 40 * v), b = 225;
		}
		break;
	}
	case LP_FLAME_PROC:
		r = (int)(90 + 60 * v), g = (int)(185 + 40 * v), b = (int)(90 + 30 * v);
		break;
	case LP_FLAME_STATE:
	case LP_FLAME_SYSCALL:
		if (x->state != LP_FST_NONE) {
			state_rgb(x->state, v, &r, &g, &b);
			if (x->kind == LP_FLAME_SYSCALL)
				r = (r + 255) / 2, g = (g + 255) / 2, b = (b + 255) / 2;
		} else {
			r = 240, g = (int)(135 + 60 * v), b = (int)(45 + 20 * v);
		}
		break;
	case LP_FLAME_GAP:
		r = 195, g = 185, b = 225;
		break;
	default:
		r = 232, g = (int)(200 + 35 * v), b = (int)(100 + 50 * v);
		break;
	}
	snprintf(buf, len, "rgb(%d,%d,%d)", r, g, b);
}

static void draw_node(struct draw *d, int i)
{
	const struct lp_flame_node *n = &d->f->nodes[i];
	double w = (double)n->value * d->scale;
	if (w < MIN_W || d->drawn >= MAX_NODES)
		return;
	d->drawn++;
	double x = PAD_X + (double)d->off[i] * d->scale;
	double y = d->height - BOTTOM - (n->depth + 1) * FRAME_H;
	char col[32], cnt[64];
	color_of(d, n, col, sizeof(col));
	lp_metric_fmt(d->metric, n->value, cnt, sizeof(cnt));
	struct lp_buf *b = &d->b;
	b->len = 0;
	/* data-v: the exact value (ns, bytes, calls) for tools and tests */
	lp_buf_printf(b, "<g class=\"f %s\" data-d=\"%d\" data-v=\"%llu\"><title>", kind_class(n), n->depth,
		      (unsigned long long)n->value);
	lp_xml_str(b, n->name, 0);
	lp_buf_printf(b, " \xe2\x80\x94 %s, %.2f%%", cnt, d->total ? 100.0 * (double)n->value / (double)d->total : 0.0);
	if (n->kind == LP_FLAME_STEP && n->step >= 0 && (size_t)n->step < d->m->nsteps) {
		const struct lp_step *s = &d->m->steps[n->step];
		lp_buf_puts(b, " \xe2\x80\x94 ");
		lp_xml_str(b, s->id, 0);
		lp_buf_printf(b, " %s", lp_step_status_name(s->status));
	} else if (n->kind == LP_FLAME_PROC && n->proc >= 0 && (size_t)n->proc < d->m->nprocs) {
		const struct lp_proc *p = &d->m->procs[n->proc];
		lp_buf_puts(b, " \xe2\x80\x94 ");
		for (int a = 0; a < p->argc && a < 16; a++) {
			if (a)
				lp_buf_puts(b, " ");
			lp_xml_str(b, p->argv[a], 120);
		}
		if (!p->argc)
			lp_xml_str(b, p->exe ? p->exe : lp_role_name(p->role), 120);
	}
	lp_buf_printf(b, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" rx=\"2\"/>",
		      x, y, w, FRAME_H - 1, col);
	size_t fit = (size_t)((w - 6) / CHAR_W);
	lp_buf_printf(b, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_H - 5);
	if (fit >= 3)
		lp_xml_str(b, n->name, fit);
	lp_buf_puts(b, "</text></g>\n");
	lp_xout_write(d->o, b->data, b->len);
	lp_xout_maybe_flush(d->o);
}

static const char SCRIPT[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"(function(){\n"
	"var svg=document.documentElement,W=" "1180" ",X0=10,CW=7.3;\n"
	"var fs=[].slice.call(document.querySelectorAll('g.f'));\n"
	"fs.forEach(function(g){var r=g.querySelector('rect'),t=g.querySelector('title').textContent;\n"
	" g._x=+r.getAttribute('x');g._w=+r.getAttribute('width');g._d=+g.getAttribute('data-d');\n"
	" var k=t.indexOf(' \\u2014 ');g._n=k>=0?t.substring(0,k):t;});\n"
	"function label(g,w){var t=g.querySelector('text'),n=g._n,k=Math.floor((w-6)/CW);\n"
	" t.textContent=k<3?'':(n.length>k?n.substring(0,k-2)+'..':n);}\n"
	"function zoom(z){var a=z?z._x:X0,w=z?z._w:W,s=W/w;\n"
	" fs.forEach(function(g){var r=g.querySelector('rect'),t=g.querySelector('text');\n"
	"  var inz=!z||(g._x>=a-1e-6&&g._x+g._w<=a+w+1e-6),anc=z&&g._d<z._d&&g._x<=a+1e-6&&g._x+g._w>=a+w-1e-6;\n"
	"  if(z&&!inz&&!anc){g.style.display='none';return;}g.style.display='';\n"
	"  var nx=anc?X0:X0+(g._x-a)*s,nw=anc?W:g._w*s;\n"
	"  r.setAttribute('x',nx.toFixed(2));r.setAttribute('width',nw.toFixed(2));\n"
	"  t.setAttribute('x',(nx+3).toFixed(2));label(g,nw);\n"
	"  g.style.opacity=anc?0.6:1;});\n"
	" document.getElementById('unzoom').style.display=z?'':'none';}\n"
	"fs.forEach(function(g){g.addEventListener('click',function(){zoom(g);});});\n"
	"document.getElementById('unzoom').addEventListener('click',function(){zoom(null);});\n"
	"function search(term){var re;try{re=new RegExp(term,'i');}catch(e){return;}\n"
	" var hit=0;fs.forEach(function(g){var r=g.querySelector('rect');\n"
	"  if(!r._f)r._f=r.getAttribute('fill');\n"
	"  if(term&&re.test(g._n)){r.setAttribute('fill','rgb(230,0,230)');if(g._d===1)hit+=g._w;}\n"
	"  else r.setAttribute('fill',r._f);});\n"
	" document.getElementById('matched').textContent=term?('Matched steps: '+(100*hit/W).toFixed(1)+'%'):'';}\n"
	"document.getElementById('search').addEventListener('click',function(){\n"
	" var t=window.prompt('Search (regular expression)','');if(t!==null)search(t);});\n"
	"window.addEventListener('keydown',function(e){if((e.ctrlKey||e.metaKey)&&e.key==='f'){\n"
	" e.preventDefault();var t=window.prompt('Search (regular expression)','');if(t!==null)search(t);}});\n"
	"})();\n"
	"]]></script>\n";

static void legend_item(struct draw *d, double *x, double y, const char *name, const char *col)
{
	lp_xout_printf(d->o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		       "<text class=\"lg\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
		       *x, y - 10, col, *x + 16, y, name);
	*x += 16 + CHAR_W * (double)lp_utf8_chars(name) + 14;
}

static void legend(struct draw *d, double y)
{
	static const struct { const char *name, *col; } kinds[] = {
		{ "build", "rgb(170,170,170)" },
		{ "step (ran)", "rgb(100,155,225)" },
		{ "step (cached)", "rgb(180,205,235)" },
		{ "step (failed)", "rgb(225,90,75)" },
		{ "process comm[pid]", "rgb(120,205,105)" },
	};
	double x = PAD_X;
	for (size_t i = 0; i < LP_ARRAY_SIZE(kinds); i++)
		legend_item(d, &x, y - 18, kinds[i].name, kinds[i].col);
	if (d->metric == LP_METRIC_TIME) {
		legend_item(d, &x, y - 18, "no traced process / outside steps", "rgb(195,185,225)");
		x = PAD_X;
		static const enum lp_flame_state states[] = { LP_FST_ON_CPU, LP_FST_OFF_CPU, LP_FST_RUNNING,
							      LP_FST_FILE_IO, LP_FST_PIPE, LP_FST_SOCKET,
							      LP_FST_FD_UNKNOWN, LP_FST_MOUNT, LP_FST_OTHER };
		/* a trace with CPU times lists the states it has (the row has
		 * room for about seven); one without, the fixed seven as before */
		bool present[LP_FST_NR] = { false };
		for (size_t i = 0; i < d->f->n; i++)
			if (d->f->nodes[i].kind == LP_FLAME_STATE)
				present[d->f->nodes[i].state] = true;
		bool cpu_known = present[LP_FST_ON_CPU] || present[LP_FST_OFF_CPU];
		for (size_t i = 0; i < LP_ARRAY_SIZE(states); i++) {
			bool is_cpu = states[i] == LP_FST_ON_CPU || states[i] == LP_FST_OFF_CPU;
			if (cpu_known ? !present[states[i]] : is_cpu)
				continue;
			int r, g, b;
			char col[32];
			state_rgb(states[i], 0.5, &r, &g, &b);
			snprintf(col, sizeof(col), "rgb(%d,%d,%d)", r, g, b);
			legend_item(d, &x, y, lp_flame_state_name(states[i]), col);
		}
	} else {
		legend_item(d, &x, y - 18, "syscall", "rgb(240,165,55)");
		legend_item(d, &x, y - 18, "path", "rgb(232,218,125)");
	}
}

int lp_export_svg(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		  const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct lp_flame f;
	if (lp_flame_build(m, r, opt->metric, &f, err, errlen) < 0)
		return -1;
	uint64_t *off = lp_flame_offsets(&f);
	struct draw d = { .m = m, .o = o, .f = &f, .off = off, .metric = opt->metric };
	d.total = f.nodes[0].value;
	d.height = TOP + BOTTOM + (f.max_depth + 1) * FRAME_H;
	d.scale = d.total ? (SVG_W - 2 * PAD_X) / (double)d.total : 0;

	char tot[96], wall[32];
	lp_metric_fmt(opt->metric, d.total, tot, sizeof(tot));
	struct lp_buf b = { 0 };
	lp_buf_printf(&b,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		      "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		      "viewBox=\"0 0 %.0f %.0f\">\n",
		      SVG_W, d.height, SVG_W, d.height);
	lp_buf_puts(&b, "<title>layerprof flame graph: ");
	lp_xml_str(&b, opt->trace_name ? opt->trace_name : "", 0);
	lp_buf_puts(&b, "</title>\n");
	lp_buf_puts(&b,
		    "<style type=\"text/css\">\n"
		    "text{font-family:Verdana,'DejaVu Sans',sans-serif;font-size:12px;fill:#000}\n"
		    "g.f text{pointer-events:none}\n"
		    "g.f rect{stroke:#fff;stroke-width:0.5}\n"
		    "g.f:hover rect{stroke:#000;stroke-width:1}\n"
		    "g.f{cursor:pointer}\n"
		    ".t{font-size:17px;font-weight:bold}.s{font-size:12px;fill:#333}.lg{font-size:11px;fill:#333}\n"
		    ".btn{font-size:12px;fill:#0645ad;cursor:pointer}\n"
		    "</style>\n");
	lp_buf_printf(&b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#f8f8f4\"/>\n", SVG_W, d.height);
	lp_buf_printf(&b, "<text class=\"t\" x=\"%.1f\" y=\"24\" text-anchor=\"middle\">layerprof: ", SVG_W / 2);
	lp_xml_str(&b, opt->trace_name ? opt->trace_name : "trace", 80);
	lp_buf_puts(&b, "</text>\n");
	lp_buf_printf(&b, "<text class=\"s\" id=\"subtitle\" x=\"%.1f\" y=\"44\" text-anchor=\"middle\">", SVG_W / 2);
	lp_xml_str(&b, lp_metric_what(opt->metric), 0);
	lp_buf_puts(&b, ". Total ");
	lp_xml_str(&b, tot, 0);
	if (opt->metric == LP_METRIC_TIME && f.steps_overlap)
		lp_buf_printf(&b, " (steps ran in parallel: their sum; build wall time %s)",
			      lp_fmt_duration_ns(f.wall_ns, wall, sizeof(wall)));
	else if (opt->metric == LP_METRIC_TIME)
		lp_buf_puts(&b, " (the build's wall time)");
	lp_buf_printf(&b, "; %zu steps, %zu cached.</text>\n", m->build.steps, m->build.cached_steps);
	lp_buf_printf(&b, "<text class=\"s\" x=\"%.1f\" y=\"62\">Stacks: build; step; process; its children...; %s. "
		      "Hover for details, click to zoom, Ctrl-F to search.</text>\n", PAD_X,
		      opt->metric == LP_METRIC_TIME ? "state; syscall" : "syscall; path");
	lp_buf_printf(&b, "<text class=\"btn\" id=\"unzoom\" x=\"%.1f\" y=\"24\" style=\"display:none\">Reset zoom</text>\n",
		      PAD_X);
	lp_buf_printf(&b, "<text class=\"btn\" id=\"search\" x=\"%.1f\" y=\"24\" text-anchor=\"end\">Search</text>\n",
		      SVG_W - PAD_X);
	lp_buf_printf(&b, "<text class=\"s\" id=\"matched\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\"></text>\n",
		      SVG_W - PAD_X, d.height - 8);
	lp_xout_write(o, b.data, b.len);
	lp_buf_free(&b);

	if (!d.total) {
		lp_xout_printf(o, "<text class=\"s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
			       "No %s recorded in this trace.</text>\n",
			       SVG_W / 2, TOP + 20, lp_metric_unit(opt->metric));
	} else {
		for (size_t i = 0; i < f.n; i++)
			draw_node(&d, (int)i);
	}
	legend(&d, d.height - 26);
	lp_xout_puts(o, SCRIPT);
	lp_xout_puts(o, "</svg>\n");
	lp_buf_free(&d.b);
	free(off);
	lp_flame_free(&f);
	return 0;
}
