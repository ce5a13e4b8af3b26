/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Folded stacks, one line per distinct stack:
 *
 *   build;<step name>;<comm[pid]>;<syscall>;<display path> <count>
 *
 * count is a positive integer: µs inside the calls (--metric time), bytes
 * (bytes: read/write per-fd totals, copy_file_range/sendfile/splice), or
 * calls (ops). Read and write calls are aggregated per fd in the kernel, so
 * they appear as "read"/"write" with the fd's path. With the time metric
 * each step also gets "build;<step>;(wall time outside traced syscalls)":
 * its wall time minus the time its events spent in syscalls, so a step that
 * computes (or was cached) still has its true width.
 *
 * Frames are sanitized (no ';', no control characters, no repeated
 * spaces, valid UTF-8) so flamegraph.pl, inferno and speedscope read them.
 * Events of no step go under "(outside build steps)". A trace with more than
 * STACK_BUDGET distinct stacks folds the paths of further new stacks into
 * their directory (the directory name and a star), so memory and the file stay bounded.
 */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "model.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"
#include "util.h"

#define NO_STEP_FRAME "(outside build steps)"
#define OUTSIDE_FRAME "(wall time outside traced syscalls)"
#define FRAME_MAX 512
/* Distinct stacks kept with their own path; beyond, paths fold into their
 * directory (the directory name and a star), and beyond twice as many into one frame. */
#define STACK_BUDGET 400000u
#define OTHER_PATHS_FRAME "(other paths)"

/* ------------------------------------------------------------- index */

struct stack_index {
	uint32_t *slot;         /* stack index + 1, 0 empty */
	size_t nslot;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void index_insert(struct stack_index *ix, const struct lp_stacks *st, uint32_t i)
{
	size_t mask = ix->nslot - 1;
	size_t k = hash_str(st->v[i].key) & mask;
	while (ix->slot[k])
		k = (k + 1) & mask;
	ix->slot[k] = i + 1;
}

static void index_grow(struct stack_index *ix, const struct lp_stacks *st)
{
	free(ix->slot);
	ix->nslot = ix->nslot ? ix->nslot * 2 : 1024;
	ix->slot = lp_xcalloc(ix->nslot, sizeof(uint32_t));
	for (size_t i = 0; i < st->n; i++)
		index_insert(ix, st, (uint32_t)i);
}

static struct lp_stack *stack_find(struct lp_stacks *st, const char *key)
{
	struct stack_index *ix = st->index;
	if (!ix || !ix->nslot)
		return NULL;
	size_t mask = ix->nslot - 1;
	for (size_t k = hash_str(key) & mask; ix->slot[k]; k = (k + 1) & mask) {
		struct lp_stack *s = &st->v[ix->slot[k] - 1];
		if (!strcmp(s->key, key))
			return s;
	}
	return NULL;
}

static struct lp_stack *stack_get(struct lp_stacks *st, const char *key, int step)
{
	struct stack_index *ix = st->index;
	if (!ix)
		ix = st->index = lp_xcalloc(1, sizeof(*ix));
	if (!ix->nslot)
		index_grow(ix, st);
	size_t mask = ix->nslot - 1;
	size_t k = hash_str(key) & mask;
	while (ix->slot[k]) {
		struct lp_stack *s = &st->v[ix->slot[k] - 1];
		if (!strcmp(s->key, key))
			return s;
		k = (k + 1) & mask;
	}
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 256;
		st->v = lp_xrealloc(st->v, st->cap * sizeof(*st->v));
	}
	struct lp_stack *s = &st->v[st->n];
	memset(s, 0, sizeof(*s));
	s->key = lp_xstrdup(key);
	s->step = step;
	st->n++;
	if (st->n * 2 > ix->nslot)
		index_grow(ix, st);
	else
		index_insert(ix, st, (uint32_t)(st->n - 1));
	return s;
}

/* ------------------------------------------------------------- frames */

static const char *step_frame(const struct lp_model *m, int step, char *buf, size_t len)
{
	if (step < 0 || (size_t)step >= m->nsteps)
		return lp_folded_frame(NO_STEP_FRAME, buf, len);
	const struct lp_step *s = &m->steps[step];
	if (s->name && *s->name)
		return lp_folded_frame(s->name, buf, len);
	return lp_folded_frame(s->id, buf, len);
}

struct collect {
	const struct lp_model *m;
	struct lp_resolver *res;
	struct lp_stacks *st;
	uint64_t *step_ns;      /* per step: time inside its events' syscalls */
	struct lp_buf key;
};

/* Add to build;step;proc;what[;path]. path NULL: no path frame. */
static void add(struct collect *c, const struct lp_hdr *h, int step, const char *what,
		const char *path, bool want_path, uint64_t ns, uint64_t bytes, uint64_t ops)
{
	const struct lp_model *m = c->m;
	char f[FRAME_MAX], comm[LP_COMM_LEN + 1];
	const struct lp_proc *p = lp_model_proc_at(m, h->tgid, h->ts);
	c->key.len = 0;
	lp_buf_puts(&c->key, "build;");
	lp_buf_puts(&c->key, step_frame(m, step, f, sizeof(f)));
	lp_buf_puts(&c->key, ";");
	if (p && p->comm[0]) {
		lp_comm_copy(comm, p->comm);
	} else {
		const char *rc = lp_resolver_comm(c->res, h->tgid);
		snprintf(comm, sizeof(comm), "%s", rc && *rc ? rc : "?");
	}
	char pc[64];
	snprintf(pc, sizeof(pc), "%s[%u]", comm, p ? p->pid : h->tgid);
	lp_buf_puts(&c->key, lp_folded_frame(pc, f, sizeof(f)));
	lp_buf_puts(&c->key, ";");
	lp_buf_puts(&c->key, lp_folded_frame(what, f, sizeof(f)));
	if (want_path) {
		char dbuf[4096];
		const char *shown = "(unknown)";
		if (path) {
			enum lp_path_space space;
			shown = lp_model_display_path(m, step, lp_export_norm_target(path), dbuf, sizeof(dbuf),
						      &space);
			if (!shown || !*shown)
				shown = path;
		}
		size_t prefix = c->key.len;
		lp_buf_puts(&c->key, ";");
		lp_buf_puts(&c->key, lp_folded_frame(shown, f, sizeof(f)));
		/* past the budget, new paths fold into their directory, then into one frame */
		if (c->st->n >= STACK_BUDGET && !stack_find(c->st, c->key.data)) {
			c->key.len = prefix;
			c->key.data[prefix] = 0;
			const char *slash = strrchr(shown, '/');
			if (c->st->n < 2 * STACK_BUDGET && slash && slash != shown) {
				char dir[4096];
				snprintf(dir, sizeof(dir), "%.*s/*", (int)(slash - shown), shown);
				lp_buf_puts(&c->key, ";");
				lp_buf_puts(&c->key, lp_folded_frame(dir, f, sizeof(f)));
			} else {
				lp_buf_puts(&c->key, ";" OTHER_PATHS_FRAME);
			}
			c->st->folded_paths++;
		}
	}
	struct lp_stack *s = stack_get(c->st, c->key.data, step);
	s->time_ns += ns;
	s->bytes += bytes;
	s->ops += ops;
	if (step >= 0 && (size_t)step < m->nsteps)
		c->step_ns[step] += ns;
}

static bool is_copy(unsigned sc)
{
	return sc == LP_SC_COPY_FILE_RANGE || sc == LP_SC_SENDFILE || sc == LP_SC_SPLICE;
}

static void collect_record(struct collect *c, const struct lp_hdr *h)
{
	char pbuf[4096];
	switch (h->kind) {
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		unsigned sc = h->aux;
		const char *path = lp_export_event_path(c->res, ev, pbuf, sizeof(pbuf));
		int step = lp_model_event_step(c->m, h, path);
		const char *name = lp_sc_name(sc);
		char nbuf[32];
		if (!name) {
			snprintf(nbuf, sizeof(nbuf), "syscall%u", sc);
			name = nbuf;
		}
		uint64_t bytes = is_copy(sc) && ev->ret > 0 ? (uint64_t)ev->ret : 0;
		add(c, h, step, name, path, true, ev->lat_ns, bytes, 1);
		break;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		const char *path = lp_resolver_fdio_path(c->res, e);
		int step = lp_model_event_step(c->m, h, path);
		if (e->rcalls || e->rbytes || e->rns)
			add(c, h, step, "read", path, true, e->rns, e->rbytes, e->rcalls);
		if (e->wcalls || e->wbytes || e->wns)
			add(c, h, step, "write", path, true, e->wns, e->wbytes, e->wcalls);
		break;
	}
	case LP_EV_EXEC: {
		const struct lp_ev_exec *e = (const void *)h;
		const char *fn = lp_ev_exec_filename(e, NULL);
		int step = lp_model_event_step(c->m, h, fn);
		add(c, h, step, "execve", fn, true, 0, 0, 1);
		break;
	}
	case LP_EV_FORK: {
		int step = lp_model_event_step(c->m, h, NULL);
		add(c, h, step, "fork", NULL, false, 0, 0, 1);
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *e = (const void *)h;
		int step = lp_model_event_step(c->m, h, NULL);
		static const char *const names[] = { "chown", "chmod", "utimensat", "stat (ok)" };
		uint32_t v[] = { e->counts.chown, e->counts.chmod, e->counts.utimens, e->counts.stat_ok };
		for (size_t i = 0; i < LP_ARRAY_SIZE(v); i++)
			if (v[i])
				add(c, h, step, names[i], NULL, false, 0, 0, v[i]);
		break;
	}
	default:
		break;
	}
}

int lp_stacks_collect(const struct lp_model *m, struct lp_reader *r, struct lp_stacks *st,
		      char *err, size_t errlen)
{
	if (lp_reader_rewind(r) < 0) {
		snprintf(err, errlen, "cannot rewind the trace");
		return -1;
	}
	struct collect c = { .m = m, .st = st };
	c.res = lp_resolver_new();
	c.step_ns = lp_xcalloc(m->nsteps + 1, sizeof(uint64_t));
	const struct lp_hdr *h;
	while (lp_reader_next(r, &h) == 1) {
		if (!lp_ev_valid(h))
			continue;
		collect_record(&c, h);
		lp_resolver_feed(c.res, h);
	}
	/* steps' wall time not spent in their syscalls */
	char f[FRAME_MAX];
	for (size_t s = 0; s < m->nsteps; s++) {
		const struct lp_step *sp = &m->steps[s];
		uint64_t wall = lp_step_wall_ns(sp); /* the report's step time */
		if (wall <= c.step_ns[s])
			continue;
		c.key.len = 0;
		lp_buf_puts(&c.key, "build;");
		lp_buf_puts(&c.key, step_frame(m, (int)s, f, sizeof(f)));
		lp_buf_puts(&c.key, ";" OUTSIDE_FRAME);
		struct lp_stack *k = stack_get(st, c.key.data, (int)s);
		k->time_ns += wall - c.step_ns[s];
	}
	st->total_time_us = st->total_bytes = st->total_ops = 0;
	for (size_t i = 0; i < st->n; i++) {
		st->total_time_us += lp_stack_count(&st->v[i], LP_METRIC_TIME);
		st->total_bytes += st->v[i].bytes;
		st->total_ops += st->v[i].ops;
	}
	lp_buf_free(&c.key);
	free(c.step_ns);
	lp_resolver_free(c.res);
	return 0;
}

uint64_t lp_stack_count(const struct lp_stack *s, enum lp_export_metric metric)
{
	switch (metric) {
	case LP_METRIC_BYTES: return s->bytes;
	case LP_METRIC_OPS: return s->ops;
	default: return (s->time_ns + 500) / 1000;
	}
}

uint64_t lp_export_step_rank(const struct lp_model *m, int step)
{
	if (step < 0 || (size_t)step >= m->nsteps)
		return UINT64_MAX;
	uint64_t a = lp_step_start_ns(&m->steps[step]);
	return a ? a : UINT64_MAX - 1;
}

static int cmp_stack(const void *a, const void *b, void *arg)
{
	const struct lp_model *m = arg;
	const struct lp_stack *x = a, *y = b;
	if (x->step != y->step) {
		uint64_t rx = lp_export_step_rank(m, x->step), ry = lp_export_step_rank(m, y->step);
		if (rx != ry)
			return rx < ry ? -1 : 1;
		return x->step < y->step ? (x->step < 0 ? 1 : -1) : (y->step < 0 ? -1 : 1);
	}
	return strcmp(x->key, y->key);
}

void lp_stacks_sort(struct lp_stacks *st, const struct lp_model *m)
{
	if (st->n > 1)
		qsort_r(st->v, st->n, sizeof(*st->v), cmp_stack, (void *)m);
	struct stack_index *ix = st->index;
	if (ix && ix->nslot) {
		memset(ix->slot, 0, ix->nslot * sizeof(uint32_t));
		for (size_t i = 0; i < st->n; i++)
			index_insert(ix, st, (uint32_t)i);
	}
}

void lp_stacks_free(struct lp_stacks *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->v[i].key);
	free(st->v);
	struct stack_index *ix = st->index;
	if (ix)
		free(ix->slot);
	free(ix);
	memset(st, 0, sizeof(*st));
}

int lp_stacks_load(const struct lp_model *m, struct lp_reader *r, struct lp_stacks *st, char *err, size_t errlen)
{
	if (lp_stacks_collect(m, r, st, err, errlen) < 0) {
		lp_stacks_free(st);
		return -1;
	}
	lp_stacks_sort(st, m);
	return 0;
}

int lp_export_folded(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct lp_stacks st = { 0 };
	if (lp_stacks_load(m, r, &st, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < st.n; i++) {
		uint64_t n = lp_stack_count(&st.v[i], opt->metric);
		if (!n)
			continue;
		lp_xout_puts(o, st.v[i].key);
		lp_xout_printf(o, " %llu\n", (unsigned long long)n);
	}
	lp_stacks_free(&st);
	return 0;
}
