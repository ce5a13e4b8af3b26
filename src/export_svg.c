/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A self-contained SVG flame graph of the folded stacks (export_folded.c),
 * drawn by layerprof itself: no Perl, no network, inline CSS and a little
 * inline script (click to zoom, search). Root at the bottom; the steps sit
 * on it in build order; then processes, syscalls and paths. Every frame has
 * a <title> (hover) with its name, count and share; labels are cut with
 * ".." to fit. Colors by kind: step (blue; cached lighter, failed red),
 * process (green), syscall (orange), path (yellow), time outside syscalls
 * (grey violet). Names are XML-escaped; invalid UTF-8 and control
 * characters become '?', so the file is always well-formed XML.
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

#define SVG_W 1200.0
#define FRAME_H 17.0
#define FONT_PX 12.0
#define CHAR_W 7.3              /* a generous average glyph width at 12px */
#define PAD_X 10.0
#define TOP 72.0
#define BOTTOM 56.0
#define MIN_W 0.1               /* frames narrower than this are not drawn */
#define MAX_NODES 200000

enum kind { K_ROOT, K_STEP, K_PROC, K_SYSCALL, K_PATH, K_OUTSIDE };

struct node {
	char *name;
	int depth;
	int step;               /* depth 1: model step index */
	uint64_t value;
	int first, last, next;  /* children list */
};

struct tree {
	struct node *v;
	size_t n, cap;
	int maxdepth;
};

static int node_new(struct tree *t, const char *name, size_t len, int depth)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = lp_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	struct node *x = &t->v[t->n];
	memset(x, 0, sizeof(*x));
	x->name = lp_xmalloc(len + 1);
	memcpy(x->name, name, len);
	x->name[len] = 0;
	x->depth = depth;
	x->step = -1;
	x->first = x->last = x->next = -1;
	if (depth > t->maxdepth)
		t->maxdepth = depth;
	return (int)t->n++;
}

/* Stacks are sorted by key, so an existing child is always the last one. */
static void tree_add(struct tree *t, const char *key, int step, uint64_t count)
{
	int cur = 0;
	t->v[0].value += count;
	const char *p = key;
	/* the first frame is the root ("build") */
	const char *semi = strchr(p, ';');
	if (!semi)
		return;
	p = semi + 1;
	int depth = 1;
	while (*p) {
		semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		int last = t->v[cur].last;
		int child;
		if (last >= 0 && strlen(t->v[last].name) == len && !memcmp(t->v[last].name, p, len)) {
			child = last;
		} else {
			child = node_new(t, p, len, depth);
			if (t->v[cur].last >= 0)
				t->v[t->v[cur].last].next = child;
			else
				t->v[cur].first = child;
			t->v[cur].last = child;
			if (depth == 1)
				t->v[child].step = step;
		}
		t->v[child].value += count;
		cur = child;
		depth++;
		if (!semi)
			break;
		p = semi + 1;
	}
}

struct order_ctx {
	const struct tree *t;
	const struct lp_model *m;
};

static int cmp_steps(const void *a, const void *b, void *arg)
{
	const struct order_ctx *o = arg;
	const struct node *x = &o->t->v[*(const int *)a], *y = &o->t->v[*(const int *)b];
	/* steps in build order (start time), then "(outside build steps)" */
	uint64_t rx = lp_export_step_rank(o->m, x->step), ry = lp_export_step_rank(o->m, y->step);
	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void order_steps(struct tree *t, const struct lp_model *m)
{
	size_t n = 0;
	for (int c = t->v[0].first; c >= 0; c = t->v[c].next)
		n++;
	if (n < 2)
		return;
	int *a = lp_xmalloc(n * sizeof(int));
	n = 0;
	for (int c = t->v[0].first; c >= 0; c = t->v[c].next)
		a[n++] = c;
	struct order_ctx oc = { t, m };
	qsort_r(a, n, sizeof(int), cmp_steps, &oc);
	t->v[0].first = a[0];
	for (size_t i = 0; i + 1 < n; i++)
		t->v[a[i]].next = a[i + 1];
	t->v[a[n - 1]].next = -1;
	t->v[0].last = a[n - 1];
	free(a);
}

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
	const struct tree *t;
	enum lp_export_metric metric;
	double scale;           /* px per count */
	double height;
	uint64_t total;
	struct lp_buf b;
	size_t drawn;
};

static enum kind kind_of(const struct node *x)
{
	if (x->depth == 0)
		return K_ROOT;
	if (x->depth == 1)
		return K_STEP;
	if (x->depth == 2 && x->name[0] == '(')
		return K_OUTSIDE;
	if (x->depth == 2)
		return K_PROC;
	if (x->depth == 3)
		return K_SYSCALL;
	return K_PATH;
}

static void color_of(const struct draw *d, const struct node *x, char *buf, size_t len)
{
	double v = (double)(name_hash(x->name) % 1000) / 1000.0;
	int r, g, b;
	switch (kind_of(x)) {
	case K_ROOT:
		r = g = b = 170;
		break;
	case K_STEP: {
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
	case K_PROC:
		r = (int)(90 + 60 * v), g = (int)(185 + 40 * v), b = (int)(90 + 30 * v);
		break;
	case K_SYSCALL:
		r = 240, g = (int)(135 + 60 * v), b = (int)(45 + 20 * v);
		break;
	case K_OUTSIDE:
		r = 195, g = 185, b = 225;
		break;
	default:
		r = 232, g = (int)(200 + 35 * v), b = (int)(100 + 50 * v);
		break;
	}
	snprintf(buf, len, "rgb(%d,%d,%d)", r, g, b);
}

static const char *kind_class(enum kind k)
{
	static const char *const n[] = { "root", "step", "proc", "sc", "path", "out" };
	return n[k];
}

static void fmt_count(uint64_t n, enum lp_export_metric metric, char *buf, size_t len)
{
	char tmp[64];
	switch (metric) {
	case LP_METRIC_BYTES:
		snprintf(buf, len, "%llu bytes (%s)", (unsigned long long)n, lp_fmt_bytes(n, tmp, sizeof(tmp)));
		break;
	case LP_METRIC_OPS:
		snprintf(buf, len, "%llu calls", (unsigned long long)n);
		break;
	default:
		snprintf(buf, len, "%llu \xc2\xb5s (%s)", (unsigned long long)n,
			 lp_fmt_duration_ns(n * 1000, tmp, sizeof(tmp)));
		break;
	}
}

static void draw_node(struct draw *d, int i, double x)
{
	const struct node *n = &d->t->v[i];
	double w = (double)n->value * d->scale;
	if (w < MIN_W || d->drawn >= MAX_NODES)
		return;
	d->drawn++;
	double y = d->height - BOTTOM - (n->depth + 1) * FRAME_H;
	char col[32], cnt[96];
	color_of(d, n, col, sizeof(col));
	fmt_count(n->value, d->metric, cnt, sizeof(cnt));
	enum kind k = kind_of(n);
	/* steps under their own name (folded frames had ';' replaced) */
	const char *name = n->name;
	if (k == K_STEP && n->step >= 0 && (size_t)n->step < d->m->nsteps && d->m->steps[n->step].name &&
	    *d->m->steps[n->step].name)
		name = d->m->steps[n->step].name;
	struct lp_buf *b = &d->b;
	b->len = 0;
	lp_buf_printf(b, "<g class=\"f %s\" data-d=\"%d\"><title>", kind_class(k), n->depth);
	lp_xml_str(b, name, 0);
	lp_buf_printf(b, " \xe2\x80\x94 %s, %.2f%%", cnt, d->total ? 100.0 * (double)n->value / (double)d->total : 0.0);
	if (k == K_STEP && n->step >= 0 && (size_t)n->step < d->m->nsteps) {
		const struct lp_step *s = &d->m->steps[n->step];
		lp_buf_puts(b, " \xe2\x80\x94 ");
		lp_xml_str(b, s->id, 0);
		lp_buf_printf(b, " %s", lp_step_status_name(s->status));
	}
	lp_buf_printf(b, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" rx=\"2\"/>",
		      x, y, w, FRAME_H - 1, col);
	size_t fit = (size_t)((w - 6) / CHAR_W);
	lp_buf_printf(b, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_H - 5);
	if (fit >= 3)
		lp_xml_str(b, name, fit);
	lp_buf_puts(b, "</text></g>\n");
	lp_xout_write(d->o, b->data, b->len);
	lp_xout_maybe_flush(d->o);
	double cx = x;
	for (int c = n->first; c >= 0; c = d->t->v[c].next) {
		draw_node(d, c, cx);
		cx += (double)d->t->v[c].value * d->scale;
	}
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

static void legend(struct draw *d, double y)
{
	static const struct { const char *name, *col; } items[] = {
		{ "build", "rgb(170,170,170)" },
		{ "step (ran)", "rgb(100,155,225)" },
		{ "step (cached)", "rgb(180,205,235)" },
		{ "step (failed)", "rgb(225,90,75)" },
		{ "process comm[pid]", "rgb(120,205,105)" },
		{ "syscall", "rgb(240,165,55)" },
		{ "path", "rgb(232,218,125)" },
		{ "outside traced syscalls", "rgb(195,185,225)" },
	};
	double x = PAD_X;
	for (size_t i = 0; i < LP_ARRAY_SIZE(items); i++) {
		lp_xout_printf(d->o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			       "<text class=\"lg\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
			       x, y - 10, items[i].col, x + 16, y, items[i].name);
		x += 16 + CHAR_W * (double)strlen(items[i].name) + 18;
	}
}

int lp_export_svg(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		  const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct lp_stacks st = { 0 };
	if (lp_stacks_load(m, r, &st, err, errlen) < 0)
		return -1;
	struct tree t = { 0 };
	node_new(&t, "build", 5, 0);
	for (size_t i = 0; i < st.n; i++) {
		uint64_t n = lp_stack_count(&st.v[i], opt->metric);
		if (n)
			tree_add(&t, st.v[i].key, st.v[i].step, n);
	}
	order_steps(&t, m);
	lp_stacks_free(&st);

	struct draw d = { .m = m, .o = o, .t = &t, .metric = opt->metric };
	d.total = t.v[0].value;
	d.height = TOP + BOTTOM + (t.maxdepth + 1) * FRAME_H;
	d.scale = d.total ? (SVG_W - 2 * PAD_X) / (double)d.total : 0;

	char tot[96];
	fmt_count(d.total, opt->metric, tot, sizeof(tot));
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
	lp_buf_printf(&b, "; %zu steps, %zu cached; trace ", m->build.steps, m->build.cached_steps);
	lp_xml_str(&b, opt->trace_name ? opt->trace_name : "", 60);
	lp_buf_puts(&b, ".</text>\n");
	lp_buf_printf(&b, "<text class=\"s\" x=\"%.1f\" y=\"62\">Stacks: build; step; process; syscall; path. "
		      "Hover for details, click to zoom, Ctrl-F to search.</text>\n", PAD_X);
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
		draw_node(&d, 0, PAD_X);
	}
	legend(&d, d.height - 26);
	lp_xout_puts(o, SCRIPT);
	lp_xout_puts(o, "</svg>\n");
	lp_buf_free(&d.b);
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].name);
	free(t.v);
	return 0;
}
