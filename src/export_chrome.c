/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Chrome Trace Event JSON (Object Format) for the Perfetto UI ("Open trace
 * file") and speedscope.
 *
 *   {"traceEvents":[...], "displayTimeUnit":"ms", "otherData":{...}}
 *
 * Layout (timestamps: µs since the trace start, 3 decimals = ns):
 *  - pseudo-process "docker build" (pid 1, sorted first):
 *      tid 1.. <step name>        a track per build step (in build order),
 *                                 named as BuildKit names it ("[3/5] COPY
 *                                 . ."), its slice the step's measured time
 *                                 (µs, 3 decimals: never rounded to 0);
 *                                 args: id, status, cached, time_source (and
 *                                 a note when the kernel saw no work of it),
 *                                 error...; a step with no time at all
 *                                 (cached) is an instant
 *      "build"                    one slice for the whole build, findings as instants
 *      "progress output"          each BuildKit progress line as an instant
 *      counters "I/O bytes/s" (read, written) and "open files"
 *  - every traced process is a pid (pid reuse: later ones get a synthetic
 *    pid, the real one is in args), named "comm argv..." (process_name):
 *      tid LIFE_TID "lifetime"    fork -> exec -> exit segments, one slice per
 *                                 program the process ran; flow arrows from the
 *                                 parent's fork to the child's exec
 *      tid <real tid>             its syscalls as complete events with their
 *                                 latency; tiny consecutive calls of the same
 *                                 syscall are merged into one slice with a count
 *      tid FD_TID+N "fd I/O N"    per-fd read/write totals (in-kernel
 *                                 aggregates) spanning first..last transfer
 * No two complete events of one thread overlap: a thread's syscalls are
 * clamped to start after the previous one ended; lanes only take a slice
 * that starts after their last one ends. Per-event slices are capped
 * (--max-events); otherData says how many were merged and dropped, and so
 * does a warning on stderr (the Perfetto export has no cap).
 */
#include "export.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "event.h"
#include "model.h"
#include "resolve.h"
#include "syscalls.h"
#include "rawjson.h"
#include "trace.h"
#include "util.h"
#include "version.h"

/* The build's pseudo-process takes pid 1 (a traced process with pid 1 gets a
 * synthetic pid): viewers that sort by pid (speedscope opens the lowest
 * pid/tid) then open on the first steps lane. */
#define BUILD_PID 1u
#define DUP_PID_BASE 0x10000000u    /* synthetic pids for reused pids (> pid_max) */
#define TID_LANE0 1u
#define TID_BUILD 100000u
#define TID_PROGRESS 100001u
#define LIFE_TID 0x400000u          /* > pid_max: never a real tid */
#define FD_TID0 (LIFE_TID + 1u)
#define FD_LANES_MAX 32
#define MERGE_MAX_NS 10000ull       /* merge calls shorter than 10 µs... */
#define MERGE_GAP_NS 1000000ull     /* ...when the next starts within 1 ms */
#define RUN_MAX_NS 10000000ull      /* a merged run spans at most 10 ms */
#define PROGRESS_MAX 20000u
#define NAME_MAX_CHARS 160

/* ----------------------------------------------------------- state */

/* One thread of a traced process: clamping and the pending merged slice. */
/* A path a pending run keeps: the model's own string when its record was
 * replayed (it lives as long as the model: no copy), else a copy of the
 * resolver's answer. s: NULL for none. */
struct run_path {
	const char *s;
	uint32_t id;            /* the model's id of s (display()), 0: none */
	struct lp_buf copy;
};

struct thr {
	uint32_t cpid, tid;
	int proc;               /* model proc index, -1 */
	uint64_t last_end;      /* end of the last slice (emitted or pending) */
	/* pending run of tiny calls of one syscall */
	bool pend;
	unsigned sc;
	int step;
	uint64_t s, e, n, busy_ns, fails;
	int64_t ret;
	/* the run's first and last paths, resolved but not yet made readable
	 * (lp_export_norm_target, lp_model_display_path: display()): only the
	 * flush needs that, and most runs never get a slice (merged calls, or
	 * past the cap); nor is the string itself read before (a cache miss
	 * per call on a big trace) */
	struct run_path path0, path1;
};

/* Lifetime of a model process on its LIFE_TID lane. */
struct life {
	bool open, ended, touched;
	uint64_t start;
	uint64_t last_end;      /* end of the last emitted segment (no overlap) */
	char *name;             /* slice name of the open segment */
	char *argv;             /* full command line of the segment, or NULL */
	char *exe;
	bool after_exec;
	/* fork -> exec flow */
	bool forked, flowed;
	uint64_t fork_ts;
	uint32_t parent_cpid;
	uint64_t lane_end[FD_LANES_MAX];
	int nlanes;
};

struct cx {
	const struct lp_model *m;
	struct lp_xout *o;
	const struct lp_export_opts *opt;
	struct lp_resolver *res;
	char **step_labels;     /* per step: step_label(), made on first use */
	struct lp_buf e;        /* the event being written */
	bool first;
	bool first_arg;
	uint64_t t0, t_end;
	uint64_t last_ts;           /* the latest valid record's (on_record) */
	/* processes */
	uint32_t *cpid;         /* per model proc: chrome pid, 0 until used */
	struct lp_u64map pid_owner;  /* real pid -> model proc index that got it */
	struct lp_proc_hint proc_hint; /* proc_of's */
	struct life *life;
	struct lp_u64map thr_idx;    /* (cpid << 32 | tid) -> index in thr */
	struct thr *thr;
	size_t nthr, thr_cap;
	struct lp_u64map argv_pend;  /* tgid -> index in argv_strs + 1 */
	char **argv_strs;
	/* display(): the display path of each model path id shown, once */
	struct lp_strtab disp;
	uint32_t *disp_of;           /* [model path id]: its id in disp, 0: not yet */
	size_t ndisp_of;
	size_t nargv, argv_cap;
	struct lp_iocount io;   /* counters */
	/* merging: calls shorter than tiny_ns are merged into runs of at most
	 * run_max_ns; raised above 10 us when the trace is too big for the cap */
	uint64_t tiny_ns, run_max_ns;
	/* accounting */
	uint64_t cap;
	uint64_t hidden_fdio;
	uint64_t syscall_events, fdio_events, slices, merged_calls, merged_slices, dropped;
	uint64_t progress_lines, progress_dropped;
	struct lp_rawjson *rawjson; /* rawjson progress -> plain lines */
	bool progress_in_long;      /* the last progress record continues */
	uint64_t flow_id;
};

/* --------------------------------------------------------- JSON writing */

static void ev_begin(struct cx *c)
{
	c->e.len = 0;
	lp_buf_puts(&c->e, c->first ? "\n" : ",\n");
	c->first = false;
}

static void ev_end(struct cx *c)
{
	lp_xout_write(c->o, c->e.data, c->e.len);
	lp_xout_maybe_flush(c->o);
}

static void put_ts(struct cx *c, const char *key, uint64_t ts)
{
	lp_buf_lit(&c->e, ",\"");
	lp_buf_puts(&c->e, key);
	lp_buf_lit(&c->e, "\":");
	lp_buf_us(&c->e, ts, c->t0);
}

static void put_dur(struct cx *c, uint64_t s, uint64_t e)
{
	lp_buf_lit(&c->e, ",\"dur\":");
	lp_buf_ns_as_us(&c->e, e > s ? e - s : 0);
}

/* Name cut to NAME_MAX_CHARS characters (on a UTF-8 boundary). */
static void put_name(struct cx *c, const char *name)
{
	char buf[NAME_MAX_CHARS * 4 + 8];
	const unsigned char *p = (const unsigned char *)(name ? name : "");
	size_t k = 0, chars = 0;
	while (*p && chars < NAME_MAX_CHARS && k + 4 < sizeof(buf) - 4) {
		size_t n = 1;
		if (*p >= 0xc0)
			while ((p[n] & 0xc0) == 0x80 && n < 4)
				n++;
		memcpy(buf + k, p, n);
		k += n;
		p += n;
		chars++;
	}
	if (*p) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = 0;
	lp_buf_puts(&c->e, ",\"name\":");
	lp_buf_json_str(&c->e, buf);
}

/* {"ph":"X","name":...,"cat":...,"pid":..,"tid":..,"ts":..,"dur":.. */
static void x_open(struct cx *c, const char *name, const char *cat, uint32_t pid, uint32_t tid,
		   uint64_t s, uint64_t e)
{
	ev_begin(c);
	lp_buf_puts(&c->e, "{\"ph\":\"X\"");
	put_name(c, name);
	lp_buf_puts(&c->e, ",\"cat\":");
	lp_buf_json_str(&c->e, cat);
	lp_buf_lit(&c->e, ",\"pid\":");
	lp_buf_u64(&c->e, pid);
	lp_buf_lit(&c->e, ",\"tid\":");
	lp_buf_u64(&c->e, tid);
	put_ts(c, "ts", s);
	put_dur(c, s, e);
}

static void args_open(struct cx *c)
{
	lp_buf_puts(&c->e, ",\"args\":{");
	c->first_arg = true;
}

static void arg_key(struct cx *c, const char *k)
{
	if (!c->first_arg)
		lp_buf_puts(&c->e, ",");
	c->first_arg = false;
	lp_buf_json_str(&c->e, k);
	lp_buf_puts(&c->e, ":");
}

static void arg_str(struct cx *c, const char *k, const char *v)
{
	if (!v)
		return;
	arg_key(c, k);
	lp_buf_json_str(&c->e, v);
}

static void arg_u64(struct cx *c, const char *k, uint64_t v)
{
	arg_key(c, k);
	lp_buf_u64(&c->e, v);
}

static void arg_i64(struct cx *c, const char *k, int64_t v)
{
	arg_key(c, k);
	lp_buf_i64(&c->e, v);
}

static void arg_bool(struct cx *c, const char *k, bool v)
{
	arg_key(c, k);
	lp_buf_puts(&c->e, v ? "true" : "false");
}

static void arg_us(struct cx *c, const char *k, uint64_t ns)
{
	arg_key(c, k);
	lp_buf_ns_as_us(&c->e, ns);
}

static void args_close(struct cx *c)
{
	lp_buf_puts(&c->e, "}");
}

static void ev_close(struct cx *c)
{
	lp_buf_puts(&c->e, "}");
	ev_end(c);
}

/* Metadata event: {"ph":"M","name":what,"pid":..,"tid":..,"args":{key:value}} */
static void meta_str(struct cx *c, const char *what, uint32_t pid, uint32_t tid, const char *value)
{
	ev_begin(c);
	lp_buf_printf(&c->e, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":0,\"args\":{\"name\":",
		      what, pid, tid);
	lp_buf_json_str(&c->e, value);
	lp_buf_puts(&c->e, "}}");
	ev_end(c);
}

static void meta_sort(struct cx *c, const char *what, uint32_t pid, uint32_t tid, int64_t idx)
{
	ev_begin(c);
	lp_buf_printf(&c->e,
		      "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":0,\"args\":{\"sort_index\":%lld}}",
		      what, pid, tid, (long long)idx);
	ev_end(c);
}

/* ------------------------------------------------------------ helpers */

static const struct lp_proc *proc_of(struct cx *c, uint32_t tgid, uint64_t ts)
{
	return lp_model_proc_at_hint(c->m, &c->proc_hint, tgid, ts);
}

/* Chrome pid of a process, given at first use: the real pid for the first
 * process seen with it, a synthetic one for later processes reusing it. */
static uint32_t cpid_of(struct cx *c, const struct lp_proc *p, uint32_t tgid)
{
	if (!p)
		return tgid;
	uint32_t *cp = &c->cpid[p->index];
	if (!*cp) {
		uint64_t *owner = lp_u64map_find(&c->pid_owner, p->pid);
		if (p->pid == BUILD_PID || (owner && *owner != (uint64_t)p->index)) {
			*cp = DUP_PID_BASE + (uint32_t)p->index;
		} else {
			*cp = p->pid;
			lp_u64map_put(&c->pid_owner, p->pid, (uint64_t)p->index);
		}
	}
	return *cp;
}

/* "<id> <name>" of a step (at most 511 bytes), NULL for none; made once
 * per step: every syscall slice carries it. */
static const char *step_label(struct cx *c, int step)
{
	const struct lp_model *m = c->m;
	if (step < 0 || (size_t)step >= m->nsteps)
		return NULL;
	if (!c->step_labels)
		c->step_labels = lp_xcalloc(m->nsteps, sizeof(char *));
	if (!c->step_labels[step]) {
		const struct lp_step *s = &m->steps[step];
		char buf[512];
		snprintf(buf, sizeof(buf), "%s %s", s->id, s->name ? s->name : "");
		c->step_labels[step] = lp_xstrdup(buf);
	}
	return c->step_labels[step];
}

static char *join_argv(char **argv, int argc)
{
	struct lp_buf b = { 0 };
	for (int i = 0; i < argc; i++) {
		if (i)
			lp_buf_puts(&b, " ");
		lp_buf_puts(&b, argv[i] ? argv[i] : "");
	}
	if (!b.data)
		lp_buf_puts(&b, "");
	return b.data;
}

static struct thr *thr_get(struct cx *c, uint32_t cpid, uint32_t tid, int proc)
{
	uint64_t k = ((uint64_t)cpid << 32) | tid;
	uint64_t *v = lp_u64map_find(&c->thr_idx, k);
	if (v)
		return &c->thr[*v];
	if (c->nthr == c->thr_cap) {
		c->thr_cap = c->thr_cap ? c->thr_cap * 2 : 64;
		c->thr = lp_xrealloc(c->thr, c->thr_cap * sizeof(*c->thr));
	}
	struct thr *t = &c->thr[c->nthr];
	memset(t, 0, sizeof(*t));
	t->cpid = cpid;
	t->tid = tid;
	t->proc = proc;
	lp_u64map_put(&c->thr_idx, k, c->nthr);
	c->nthr++;
	return t;
}

static bool cap_left(struct cx *c)
{
	if (c->cap && c->slices >= c->cap) {
		c->dropped++;
		return false;
	}
	c->slices++;
	return true;
}

/* ------------------------------------------------------------ counters */

static void emit_counters(struct cx *c)
{
	struct lp_iocount_it it = { 0 };
	int64_t prev_open = -1;
	double prev_r = -1, prev_w = -1;
	while (lp_iocount_next(&c->io, &it, c->t_end)) {
		if (it.read_bps != prev_r || it.write_bps != prev_w || it.is_last) {
			ev_begin(c);
			lp_buf_printf(&c->e, "{\"ph\":\"C\",\"name\":\"I/O bytes/s\",\"pid\":%u,\"tid\":%u", BUILD_PID,
				      TID_BUILD);
			put_ts(c, "ts", it.ts);
			lp_buf_printf(&c->e, ",\"args\":{\"read\":%.0f,\"written\":%.0f}}", it.read_bps, it.write_bps);
			ev_end(c);
			prev_r = it.read_bps;
			prev_w = it.write_bps;
		}
		if (it.open != prev_open || it.is_last) {
			ev_begin(c);
			lp_buf_printf(&c->e, "{\"ph\":\"C\",\"name\":\"open files\",\"pid\":%u,\"tid\":%u", BUILD_PID,
				      TID_BUILD);
			put_ts(c, "ts", it.ts);
			lp_buf_printf(&c->e, ",\"args\":{\"open\":%lld}}", (long long)it.open);
			ev_end(c);
			prev_open = it.open;
		}
	}
}

/* ----------------------------------------------------------- syscalls */

static const char *sc_name(unsigned sc, char *buf, size_t len)
{
	const char *n = lp_sc_name(sc);
	if (n)
		return n;
	snprintf(buf, len, "syscall%u", sc);
	return buf;
}

/* lp_model_display_path() of path's target (lp_export_norm_target):
 * worked out once per model path id (id: path's, or 0: each time, into
 * buf). The display path of a path depends on the path alone (and the
 * model, which no longer changes). */
static const char *display(struct cx *c, int step, const char *path, uint32_t id, char *buf, size_t len)
{
	enum lp_path_space space;
	const char *target = path ? lp_export_norm_target(path) : NULL;
	if (target != path)
		id = 0; /* "pipe", "socket": not the id's string */
	path = target;
	if (!path || !id)
		return path ? lp_model_display_path(c->m, step, path, buf, len, &space) : NULL;
	if (id < c->ndisp_of && c->disp_of[id])
		return lp_strtab_str(&c->disp, c->disp_of[id]);
	const char *d = lp_model_display_path(c->m, step, path, buf, len, &space);
	lp_grow((void **)&c->disp_of, &c->ndisp_of, (size_t)id + 1, sizeof(*c->disp_of));
	c->disp_of[id] = lp_strtab_intern(&c->disp, d);
	return lp_strtab_str(&c->disp, c->disp_of[id]);
}

static void thr_flush(struct cx *c, struct thr *t)
{
	if (!t->pend)
		return;
	t->pend = false;
	if (cap_left(c)) {
		char nb[32], d0[4096], d1[4096];
		const char *shown0 = display(c, t->step, t->path0.s, t->path0.id, d0, sizeof(d0));
		x_open(c, sc_name(t->sc, nb, sizeof(nb)), t->fails ? "syscall,failed" : "syscall", t->cpid,
		       t->tid, t->s, t->e);
		args_open(c);
		if (t->n > 1) {
			arg_u64(c, "calls", t->n);
			arg_u64(c, "failed", t->fails);
			arg_us(c, "time_in_calls_us", t->busy_ns);
			arg_str(c, "first_path", shown0);
			arg_str(c, "last_path", display(c, t->step, t->path1.s, t->path1.id, d1, sizeof(d1)));
			c->merged_slices++;
			c->merged_calls += t->n;
		} else {
			arg_str(c, "path", shown0);
			if (t->ret < 0) {
				const char *en = lp_errno_name((int)-t->ret);
				arg_str(c, "error", en ? en : "error");
			}
			arg_i64(c, "ret", t->ret);
		}
		arg_str(c, "step", step_label(c, t->step));
		args_close(c);
		ev_close(c);
	}
	t->path0.s = t->path1.s = NULL;
}

/* path: the model's (stable, its id: id) or the resolver's, to be copied. */
static void set_path(struct run_path *rp, const char *path, bool stable, uint32_t id)
{
	rp->id = stable ? id : 0;
	if (!path || stable) {
		rp->s = path;
		return;
	}
	rp->copy.len = 0;
	lp_buf_puts(&rp->copy, path);
	rp->s = rp->copy.data;
}

/* A syscall; src: the model's replay of it (its path resolved then), or
 * NULL: the trace's, resolved here (its first path argument's, when that
 * resolves, into fbuf and *first, which the resolver's feed takes). */
static void on_syscall(struct cx *c, const struct lp_ev_syscall *ev, const struct lp_model_rec *src, char *fbuf,
		       const char **first)
{
	const struct lp_hdr *h = &ev->h;
	unsigned sc = h->aux;
	c->syscall_events++;
	char pbuf[4096];
	const char *path;
	if (src) {
		path = src->shown;
	} else {
		/* the first path argument, when it resolves, is the event's path */
		*first = lp_resolver_first_path(c->res, ev, NULL, fbuf, 4096);
		path = *first ? *first : lp_resolver_event_path(c->res, ev, pbuf, sizeof(pbuf));
	}
	const struct lp_proc *p = proc_of(c, h->tgid, h->ts);
	int step = lp_model_event_step_p(c->m, h, p, path, src ? src->shown_id : 0);
	/* (its shown form only when a slice is written: thr_flush) */
	uint32_t path_id = src ? src->shown_id : 0;
	lp_iocount_syscall(&c->io, ev);     /* open files counter */

	struct thr *t = thr_get(c, cpid_of(c, p, h->tgid), h->tid, p ? p->index : -1);
	uint64_t end = h->ts < c->t0 ? c->t0 : h->ts;
	uint64_t start = ev->lat_ns < end - c->t0 ? end - ev->lat_ns : c->t0;
	if (start < t->last_end)
		start = t->last_end;
	if (end < start)
		end = start;
	bool tiny = ev->lat_ns < c->tiny_ns;
	if (t->pend && (!tiny || t->sc != sc || t->step != step || start > t->e + MERGE_GAP_NS ||
			end - t->s > c->run_max_ns))
		thr_flush(c, t);
	if (t->pend) {
		/* extend the pending run */
		t->e = end;
		t->n++;
		t->busy_ns += ev->lat_ns;
		if (ev->ret < 0)
			t->fails++;
		t->ret = ev->ret;
		set_path(&t->path1, path, src != NULL, path_id);
	} else {
		t->pend = true;
		t->sc = sc;
		t->step = step;
		t->s = start;
		t->e = end;
		t->n = 1;
		t->busy_ns = ev->lat_ns;
		t->fails = ev->ret < 0;
		t->ret = ev->ret;
		set_path(&t->path0, path, src != NULL, path_id);
		t->path1.s = NULL;
		if (!tiny)
			thr_flush(c, t);
	}
	t->last_end = end;
}

/* ------------------------------------------------------------ fd I/O */

/* An fd's I/O; src: the model's replay of it, or NULL (the trace's). */
static void on_fdio(struct cx *c, const struct lp_ev_fd_io *e, const struct lp_model_rec *src)
{
	const struct lp_hdr *h = &e->h;
	c->fdio_events++;
	const struct lp_proc *p = proc_of(c, h->tgid, h->ts);
	uint64_t a, b;
	bool still_open = lp_iocount_fdio(&c->io, c->m, e, &a, &b);
	if (!p)
		return;         /* lanes live in a model process */
	if (c->tiny_ns > MERGE_MAX_NS && b - a < c->tiny_ns && e->rns + e->wns < c->tiny_ns) {
		c->hidden_fdio++;   /* too big a trace: short transfers only count in the counters */
		return;
	}
	struct life *L = &c->life[p->index];
	int lane = -1;
	for (int i = 0; i < L->nlanes; i++)
		if (L->lane_end[i] <= a) {
			lane = i;
			break;
		}
	if (lane < 0 && L->nlanes < FD_LANES_MAX) {
		lane = L->nlanes++;
		L->lane_end[lane] = 0;
	}
	if (lane < 0) {
		/* all lanes busy: the one that frees first, start clamped */
		lane = 0;
		for (int i = 1; i < L->nlanes; i++)
			if (L->lane_end[i] < L->lane_end[lane])
				lane = i;
		if (a < L->lane_end[lane])
			a = L->lane_end[lane];
		if (b < a)
			b = a;
	}
	if (!cap_left(c))
		return;
	/* path and step only for a slice that is written: the lookups cost
	 * more than the rest, and most transfers of a big trace are not */
	const char *path = src ? src->shown : lp_resolver_fdio_path(c->res, e);
	int step = lp_model_event_step_p(c->m, h, p, path, src ? src->shown_id : 0);
	L->lane_end[lane] = b;
	const char *name = e->rbytes && e->wbytes ? "read+write" : e->wbytes || e->wcalls ? "write" : "read";
	char dbuf[4096];
	const char *shown = display(c, step, path, src ? src->shown_id : 0, dbuf, sizeof(dbuf));
	x_open(c, name, "fd_io", cpid_of(c, p, h->tgid), FD_TID0 + (uint32_t)lane, a, b);
	args_open(c);
	arg_str(c, "path", shown ? shown : "(unknown fd)");
	arg_i64(c, "fd", (int32_t)h->aux);
	arg_u64(c, "bytes_read", e->rbytes);
	arg_u64(c, "bytes_written", e->wbytes);
	arg_u64(c, "read_calls", e->rcalls);
	arg_u64(c, "write_calls", e->wcalls);
	arg_us(c, "time_in_read_us", e->rns);
	arg_us(c, "time_in_write_us", e->wns);
	if (still_open)
		arg_bool(c, "still_open", true);
	arg_str(c, "step", step_label(c, step));
	args_close(c);
	ev_close(c);
}

/* ---------------------------------------------------------- lifetimes */

static void life_emit(struct cx *c, const struct lp_proc *p, uint64_t end, bool at_exit)
{
	struct life *L = &c->life[p->index];
	if (!L->open)
		return;
	L->open = false;
	uint64_t s = L->start;
	if (end < s)
		end = s;
	L->last_end = end;
	uint32_t cpid = cpid_of(c, p, p->pid);
	x_open(c, L->name ? L->name : p->comm, at_exit ? "process" : "process,exec", cpid, LIFE_TID, s, end);
	args_open(c);
	arg_u64(c, "pid", p->pid);
	arg_u64(c, "ppid", p->ppid);
	arg_str(c, "exe", L->exe);
	arg_str(c, "argv", L->argv);
	arg_str(c, "role", lp_role_name(p->role));
	arg_str(c, "step", step_label(c, p->step));
	if (at_exit && p->exited && end == p->end_ns) {
		arg_i64(c, "exit_code", p->exit_code);
		if (p->cpu_ns) /* 0: unknown (a trace made before the field) */
			arg_us(c, "on_cpu_us", p->cpu_ns);
	}
	if (!at_exit)
		arg_str(c, "ended_by", "exec");
	if (end == c->t_end && !p->exited)
		arg_bool(c, "running_at_end", true);
	args_close(c);
	ev_close(c);
	/* the fork -> exec arrow, once the exec'd segment is known */
	if (L->after_exec && L->forked && !L->flowed) {
		L->flowed = true;
		uint64_t id = ++c->flow_id;
		uint64_t fts = s + ((end - s) / 2 < 1000 ? (end - s) / 2 : 1000);
		ev_begin(c);
		lp_buf_printf(&c->e, "{\"ph\":\"s\",\"name\":\"fork\\u2192exec\",\"cat\":\"fork\",\"id\":%llu,"
			      "\"pid\":%u,\"tid\":%u", (unsigned long long)id, L->parent_cpid, LIFE_TID);
		put_ts(c, "ts", L->fork_ts);
		lp_buf_puts(&c->e, "}");
		ev_end(c);
		ev_begin(c);
		lp_buf_printf(&c->e, "{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"fork\\u2192exec\",\"cat\":\"fork\","
			      "\"id\":%llu,\"pid\":%u,\"tid\":%u", (unsigned long long)id, cpid, LIFE_TID);
		put_ts(c, "ts", fts);
		lp_buf_puts(&c->e, "}");
		ev_end(c);
	}
	free(L->name);
	free(L->argv);
	free(L->exe);
	L->name = L->argv = L->exe = NULL;
}

static void life_open(struct cx *c, const struct lp_proc *p, uint64_t ts, const char *name,
		      const char *argv, const char *exe, bool after_exec)
{
	struct life *L = &c->life[p->index];
	L->open = true;
	L->touched = true;
	L->start = ts < c->t0 ? c->t0 : ts;
	if (L->start < L->last_end)
		L->start = L->last_end;     /* records out of order: never overlap */
	L->name = lp_xstrdup(name && *name ? name : "?");
	L->argv = argv ? lp_xstrdup(argv) : NULL;
	L->exe = exe ? lp_xstrdup(exe) : NULL;
	L->after_exec = after_exec;
}

/* First sight of a process with no fork seen (seeded, or fork lost). */
static void life_touch(struct cx *c, const struct lp_proc *p, uint64_t ts)
{
	struct life *L = &c->life[p->index];
	if (L->touched || L->open || L->ended)
		return;
	uint64_t s = p->start_ns && p->start_ns <= ts ? p->start_ns : c->t0;
	char comm[LP_COMM_LEN + 1];
	lp_comm_copy(comm, p->comm);
	char *argv = NULL;
	if (p->argc > 0 && (!p->exec_ns || p->exec_ns <= s))
		argv = join_argv(p->argv, p->argc);
	life_open(c, p, s, argv ? argv : comm, argv, p->exe, false);
	free(argv);
}

static char *take_pending_argv(struct cx *c, uint32_t tgid)
{
	uint64_t *v = lp_u64map_find(&c->argv_pend, tgid);
	if (!v)
		return NULL;
	char *s = c->argv_strs[*v - 1];
	c->argv_strs[*v - 1] = NULL;
	lp_u64map_del(&c->argv_pend, tgid);
	return s;
}

static void on_exec_argv(struct cx *c, const struct lp_ev_exec_argv *ev)
{
	struct lp_str_iter it;
	lp_ev_argv_iter(ev, &it);
	struct lp_buf b = { 0 };
	const char *s;
	bool first = true;
	s = lp_str_next(&it, NULL); /* filename */
	while ((s = lp_str_next(&it, NULL))) {
		if (!first)
			lp_buf_puts(&b, " ");
		lp_buf_puts(&b, s);
		first = false;
		if (b.len > 4096)
			break;
	}
	if (!b.data)
		return;
	uint64_t *v = lp_u64map_find(&c->argv_pend, ev->h.tgid);
	if (v) {
		free(c->argv_strs[*v - 1]);
		c->argv_strs[*v - 1] = b.data;
		return;
	}
	if (c->nargv == c->argv_cap) {
		c->argv_cap = c->argv_cap ? c->argv_cap * 2 : 64;
		c->argv_strs = lp_xrealloc(c->argv_strs, c->argv_cap * sizeof(char *));
	}
	c->argv_strs[c->nargv++] = b.data;
	lp_u64map_put(&c->argv_pend, ev->h.tgid, c->nargv);
}

static void on_fork(struct cx *c, const struct lp_ev_fork *ev)
{
	const struct lp_hdr *h = &ev->h;
	const struct lp_proc *par = proc_of(c, h->tgid, h->ts);
	if (par)
		life_touch(c, par, h->ts);
	const struct lp_proc *ch = proc_of(c, h->aux, h->ts);
	if (!ch || ch->pid != h->aux)
		return;
	struct life *L = &c->life[ch->index];
	if (L->open || L->ended)
		return;
	char comm[LP_COMM_LEN + 1];
	lp_comm_copy(comm, ev->child_comm);
	life_open(c, ch, h->ts, comm[0] ? comm : ch->comm, NULL, NULL, false);
	L->forked = true;
	L->fork_ts = h->ts < c->t0 ? c->t0 : h->ts;
	L->parent_cpid = cpid_of(c, par, h->tgid);
}

static void on_exec(struct cx *c, const struct lp_ev_exec *ev)
{
	const struct lp_hdr *h = &ev->h;
	char *argv = take_pending_argv(c, h->tgid);
	if (!argv && h->aux && h->aux != h->tgid)
		argv = take_pending_argv(c, h->aux);
	const struct lp_proc *p = proc_of(c, h->tgid, h->ts);
	if (!p) {
		free(argv);
		return;
	}
	struct life *L = &c->life[p->index];
	if (!L->open && !L->ended && !L->touched && p->start_ns && p->start_ns < h->ts)
		life_touch(c, p, h->ts);
	life_emit(c, p, h->ts, false);
	const char *fn = lp_ev_exec_filename(ev, NULL);
	char comm[LP_COMM_LEN + 1];
	lp_comm_copy(comm, ev->comm);
	bool forked = L->forked, flowed = L->flowed;
	life_open(c, p, h->ts, argv ? argv : (fn ? fn : comm), argv, fn, true);
	L->forked = forked;
	L->flowed = flowed;
	free(argv);
}

static void on_exit_ev(struct cx *c, const struct lp_ev_exit *ev)
{
	const struct lp_hdr *h = &ev->h;
	lp_iocount_exit(&c->io, h->tgid, h->ts);
	const struct lp_proc *p = proc_of(c, h->tgid, h->ts);
	if (!p)
		return;
	life_touch(c, p, h->ts);
	life_emit(c, p, h->ts, true);
	c->life[p->index].ended = true;
}

/* ------------------------------------------------------------- progress */

static void progress_instant(struct cx *c, const char *t, size_t len, uint64_t ts);

struct instant_ctx {
	struct cx *c;
	uint64_t ts;
};

static void on_plain_line(void *ctx, const char *line, size_t len)
{
	struct instant_ctx *ic = ctx;
	progress_instant(ic->c, line, len, ic->ts);
}

/* One instant per line as the plain printer shows it: a rawjson object
 * becomes its plain lines (rawjson.h); a line too long for one record
 * (a rawjson object with logs, in pieces) is left out. */
static void on_progress(struct cx *c, const struct lp_rec_progress *ev)
{
	size_t len;
	const char *t = lp_ev_progress_text(ev, &len);
	if (!t)
		return;
	bool piece = (ev->flags & LP_PROGRESS_CONTINUES) || c->progress_in_long;
	c->progress_in_long = ev->flags & LP_PROGRESS_CONTINUES;
	if (piece)
		return;
	if (!c->rawjson)
		c->rawjson = lp_rawjson_new();
	struct instant_ctx ic = { c, ev->h.ts };
	if (c->rawjson && lp_rawjson_feed(c->rawjson, t, len, on_plain_line, &ic))
		return;
	progress_instant(c, t, len, ev->h.ts);
}

static void progress_instant(struct cx *c, const char *t, size_t len, uint64_t ts)
{
	c->progress_lines++;
	if (c->progress_lines > PROGRESS_MAX) {
		c->progress_dropped++;
		return;
	}
	char buf[512];
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, t, len);
	buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = '?';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	ev_begin(c);
	lp_buf_printf(&c->e, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"progress\",\"pid\":%u,\"tid\":%u", BUILD_PID,
		      TID_PROGRESS);
	put_name(c, buf);
	put_ts(c, "ts", ts);
	lp_buf_puts(&c->e, "}");
	ev_end(c);
}

/* ------------------------------------------------------------- steps */

static int cmp_step_start(const void *a, const void *b, void *arg)
{
	const struct lp_model *m = arg;
	const struct lp_step *x = &m->steps[*(const int *)a], *y = &m->steps[*(const int *)b];
	uint64_t xa = lp_step_start_ns(x), ya = lp_step_start_ns(y);
	if (xa != ya)
		return xa < ya ? -1 : 1;
	uint64_t dx = lp_step_wall_ns(x), dy = lp_step_wall_ns(y);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return x->index - y->index;
}

/* A track (tid) per step, in build order, named as the step: steps that
 * run at the same time sit on their own tracks, and a viewer that shows
 * one track at a time (speedscope) still shows every step. */
static void emit_steps(struct cx *c)
{
	const struct lp_model *m = c->m;
	int *order = lp_xcalloc(m->nsteps + 1, sizeof(int));
	size_t n = 0, untimed;
	/* timed steps by start time, then the untimed (cached) ones in model order */
	for (size_t i = 0; i < m->nsteps; i++)
		if (lp_step_start_ns(&m->steps[i]))
			order[n++] = (int)i;
	qsort_r(order, n, sizeof(int), cmp_step_start, (void *)m);
	untimed = n;
	for (size_t i = 0; i < m->nsteps; i++)
		if (!lp_step_start_ns(&m->steps[i]))
			order[untimed++] = (int)i;
	uint64_t build_a = m->build.start_ns && m->build.start_ns >= c->t0 ? m->build.start_ns : c->t0;
	for (size_t k = 0; k < m->nsteps; k++) {
		const struct lp_step *s = &m->steps[order[k]];
		uint32_t tid = TID_LANE0 + (uint32_t)k;
		const char *name = s->name && *s->name ? s->name : s->id;
		const char *cat = s->status == LP_STEP_ERROR ? "step,error" : s->cached ? "step,cached" : "step";
		bool timed = k < n;
		uint64_t sa = timed ? lp_step_start_ns(s) : build_a;
		/* the step's time as the report has it (step_times.c) */
		uint64_t wall = timed ? lp_step_wall_ns(s) : 0;
		uint64_t a = sa < c->t0 ? c->t0 : sa;
		uint64_t b = a + wall;
		if (timed) {
			x_open(c, name, cat, BUILD_PID, tid, a, b);
		} else {
			/* no time at all (a cached step): an instant, not a slice */
			ev_begin(c);
			lp_buf_printf(&c->e, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u", cat,
				      BUILD_PID, tid);
			put_name(c, name);
			put_ts(c, "ts", a);
		}
		args_open(c);
		arg_str(c, "id", s->id);
		arg_str(c, "stage", s->stage);
		arg_str(c, "instruction", s->instruction);
		arg_str(c, "status", lp_step_status_name(s->status));
		arg_bool(c, "cached", s->cached);
		if (s->error)
			arg_str(c, "error", s->error);
		if (s->dockerfile_line > 0)
			arg_i64(c, "dockerfile_line", s->dockerfile_line);
		arg_us(c, "wall_us", wall);
		arg_str(c, "time_source", lp_time_source_name(s->time_src));
		if (s->time_src != LP_TIME_KERNEL)
			arg_str(c, "time_note", !timed ? "no time: the step did no work in this build"
				: s->time_src == LP_TIME_ENGINE ? "no kernel-timed work; BuildKit's own start and end"
				: "no kernel-timed work; timed by the build's progress lines only (coarse, may be 0)");
		if (s->reported_s >= 0) {
			arg_key(c, "reported_s");
			lp_buf_printf(&c->e, "%.3f", s->reported_s);
		}
		arg_u64(c, "processes", s->agg.procs);
		arg_u64(c, "execs", s->agg.execs);
		arg_u64(c, "files_read", s->agg.files_read);
		arg_u64(c, "bytes_read", s->agg.bytes_read);
		arg_u64(c, "files_written", s->agg.files_written);
		arg_u64(c, "bytes_written", s->agg.bytes_written);
		if (s->nreads_from_context) {
			arg_key(c, "reads_from_context");
			lp_buf_puts(&c->e, "[");
			for (size_t i = 0; i < s->nreads_from_context && i < 50; i++) {
				if (i)
					lp_buf_puts(&c->e, ",");
				lp_buf_json_str(&c->e, s->reads_from_context[i]);
			}
			lp_buf_puts(&c->e, "]");
		}
		args_close(c);
		ev_close(c);
		meta_str(c, "thread_name", BUILD_PID, tid, name);
		meta_sort(c, "thread_sort_index", BUILD_PID, tid, (int64_t)k + 1);
	}
	free(order);
}

static void emit_build(struct cx *c)
{
	const struct lp_model *m = c->m;
	const struct lp_build *b = &m->build;
	uint64_t a = b->start_ns && b->start_ns >= c->t0 ? b->start_ns : c->t0;
	uint64_t e = b->end_ns > a ? b->end_ns : c->t_end;
	char name[256];
	snprintf(name, sizeof(name), "build (%zu steps, %zu cached)%s", b->steps, b->cached_steps,
		 b->failed ? " FAILED" : "");
	x_open(c, name, b->failed ? "build,error" : "build", BUILD_PID, TID_BUILD, a, e);
	args_open(c);
	arg_str(c, "command", b->command);
	arg_str(c, "status", b->failed ? "failed" : "ok");
	if (b->error)
		arg_str(c, "error", b->error);
	arg_u64(c, "wall_ms", b->wall_ns / 1000000);
	if (b->cache_hit_rate >= 0) {
		arg_key(c, "cache_hit_rate");
		lp_buf_printf(&c->e, "%.3f", b->cache_hit_rate);
	}
	arg_u64(c, "context_bytes_sent", m->context.sent_bytes);
	arg_u64(c, "context_files_sent", m->context.sent_files);
	args_close(c);
	ev_close(c);
	/* findings as instants on the build track */
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct lp_finding *f = &m->findings[i];
		uint64_t ts = a;
		if (f->step >= 0 && (size_t)f->step < m->nsteps && lp_step_start_ns(&m->steps[f->step]))
			ts = lp_step_start_ns(&m->steps[f->step]);
		if (ts < a)
			ts = a;
		if (ts > e)
			ts = e;
		char nm[64];
		snprintf(nm, sizeof(nm), "finding: %s", lp_finding_kind_name(f->kind));
		ev_begin(c);
		lp_buf_printf(&c->e, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"finding\",\"pid\":%u,\"tid\":%u", BUILD_PID,
			      TID_BUILD);
		put_name(c, nm);
		put_ts(c, "ts", ts);
		args_open(c);
		arg_str(c, "message", f->message);
		arg_str(c, "suggestion", f->suggestion);
		if (f->npaths) {
			arg_key(c, "paths");
			lp_buf_puts(&c->e, "[");
			for (size_t k = 0; k < f->npaths && k < 20; k++) {
				if (k)
					lp_buf_puts(&c->e, ",");
				lp_buf_json_str(&c->e, f->paths[k]);
			}
			lp_buf_puts(&c->e, "]");
		}
		if (f->savings_ms)
			arg_i64(c, "estimated_savings_ms", f->savings_ms);
		args_close(c);
		ev_close(c);
	}
}

/* ------------------------------------------------------------ metadata */

static const char *meta_find(const cJSON *o, const char *const *keys, int depth)
{
	if (!o || depth > 3)
		return NULL;
	for (const char *const *k = keys; *k; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, *k);
		if (cJSON_IsString(v) && v->valuestring && *v->valuestring)
			return v->valuestring;
	}
	const cJSON *ch;
	cJSON_ArrayForEach(ch, o) {
		if (cJSON_IsObject(ch)) {
			const char *r = meta_find(ch, keys, depth + 1);
			if (r)
				return r;
		}
	}
	return NULL;
}

static void emit_metadata(struct cx *c)
{
	const struct lp_model *m = c->m;
	meta_str(c, "process_name", BUILD_PID, 0, "docker build");
	meta_sort(c, "process_sort_index", BUILD_PID, 0, -1000000);
	meta_str(c, "thread_name", BUILD_PID, TID_BUILD, "build");
	meta_sort(c, "thread_sort_index", BUILD_PID, TID_BUILD, -2);
	meta_str(c, "thread_name", BUILD_PID, TID_PROGRESS, "progress output");
	meta_sort(c, "thread_sort_index", BUILD_PID, TID_PROGRESS, 1000000);
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		uint32_t cpid = c->cpid[i];
		if (!cpid)
			continue;       /* never seen doing anything */
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, p->comm);
		struct lp_buf nm = { 0 };
		lp_buf_puts(&nm, comm[0] ? comm : "?");
		if (p->argc > 0) {
			char *a = join_argv(p->argv, p->argc);
			lp_buf_puts(&nm, ": ");
			if (strlen(a) > 200) {
				a[197] = 0;
				lp_buf_puts(&nm, a);
				lp_buf_puts(&nm, "...");
			} else {
				lp_buf_puts(&nm, a);
			}
			free(a);
		}
		if (cpid != p->pid)
			lp_buf_printf(&nm, " (pid %u%s)", p->pid, p->pid == BUILD_PID ? "" : ", reused");
		meta_str(c, "process_name", cpid, 0, nm.data);
		lp_buf_free(&nm);
		meta_sort(c, "process_sort_index", cpid, 0, (int64_t)i);
		if (c->life[i].touched) {
			meta_str(c, "thread_name", cpid, LIFE_TID, "lifetime (fork/exec/exit)");
			meta_sort(c, "thread_sort_index", cpid, LIFE_TID, -2);
		}
		for (int l = 0; l < c->life[i].nlanes; l++) {
			char ln[32];
			snprintf(ln, sizeof(ln), "fd I/O %d", l + 1);
			meta_str(c, "thread_name", cpid, FD_TID0 + (uint32_t)l, ln);
			meta_sort(c, "thread_sort_index", cpid, FD_TID0 + (uint32_t)l, 10000000 + l);
		}
	}
	for (size_t i = 0; i < c->nthr; i++) {
		const struct thr *t = &c->thr[i];
		char comm[LP_COMM_LEN + 1] = "?";
		uint32_t pid = t->cpid;
		if (t->proc >= 0) {
			lp_comm_copy(comm, m->procs[t->proc].comm);
			pid = m->procs[t->proc].pid;
		}
		char nm[64];
		if (t->tid == pid)
			snprintf(nm, sizeof(nm), "%s", comm);
		else
			snprintf(nm, sizeof(nm), "%s thread", comm);
		meta_str(c, "thread_name", t->cpid, t->tid, nm);
		meta_sort(c, "thread_sort_index", t->cpid, t->tid, t->tid == pid ? -1 : (int64_t)t->tid);
	}
}

static void emit_other_data(struct cx *c, struct lp_reader *r)
{
	const struct lp_model *m = c->m;
	const struct lp_build *b = &m->build;
	cJSON *meta = cJSON_Parse(lp_reader_meta(r) ? lp_reader_meta(r) : "{}");
	static const char *const host_keys[] = { "hostname", "host", "nodename", NULL };
	static const char *const kernel_keys[] = { "kernel", "kernel_release", "release", "uname", "kernel_version", NULL };
	const char *host = meta_find(meta, host_keys, 0);
	const char *kernel = meta_find(meta, kernel_keys, 0);
	struct lp_buf *e = &c->e;
	e->len = 0;
	lp_buf_puts(e, "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{");
	lp_buf_puts(e, "\"host\":");
	lp_buf_json_str(e, host ? host : "unknown");
	lp_buf_puts(e, ",\"kernel\":");
	lp_buf_json_str(e, kernel ? kernel : "unknown");
	lp_buf_puts(e, ",\"layerprof_version\":");
	lp_buf_json_str(e, LAYERPROF_VERSION);
	lp_buf_puts(e, ",\"command\":");
	lp_buf_json_str(e, b->command ? b->command : "");
	lp_buf_puts(e, ",\"trace\":");
	lp_buf_json_str(e, c->opt->trace_name ? c->opt->trace_name : "");
	lp_buf_puts(e, ",\"time_origin\":\"ts 0 = first record of the trace (CLOCK_MONOTONIC ");
	lp_buf_printf(e, "%llu ns)\"", (unsigned long long)c->t0);
	lp_buf_printf(e, ",\"build_status\":\"%s\",\"wall_ms\":%llu,\"steps\":%zu,\"cached_steps\":%zu",
		      b->failed ? "failed" : "ok", (unsigned long long)(b->wall_ns / 1000000), b->steps,
		      b->cached_steps);
	if (b->cache_hit_rate >= 0)
		lp_buf_printf(e, ",\"cache_hit_rate\":%.3f", b->cache_hit_rate);
	lp_buf_printf(e, ",\"events\":%llu,\"lost_events\":%llu,\"truncated\":%s",
		      (unsigned long long)b->events, (unsigned long long)b->lost_events,
		      b->truncated ? "true" : "false");
	lp_buf_puts(e, ",\"trace_message\":");
	lp_buf_json_str(e, b->trace_message);
	lp_buf_printf(e, ",\"syscall_events\":%llu,\"fd_io_events\":%llu,\"event_slices\":%llu,"
		      "\"merged_calls\":%llu,\"merged_slices\":%llu,\"event_cap\":%llu,\"dropped_events\":%llu,"
		      "\"capped\":%s,\"progress_lines\":%llu,\"progress_lines_dropped\":%llu",
		      (unsigned long long)c->syscall_events, (unsigned long long)c->fdio_events,
		      (unsigned long long)c->slices, (unsigned long long)c->merged_calls,
		      (unsigned long long)c->merged_slices, (unsigned long long)c->cap,
		      (unsigned long long)c->dropped, c->dropped ? "true" : "false",
		      (unsigned long long)c->progress_lines, (unsigned long long)c->progress_dropped);
	lp_buf_puts(e, ",\"note\":");
	char note[768];
	int nl = snprintf(note, sizeof(note),
			  "consecutive calls of one syscall under %.0f us on a thread are merged into one slice "
			  "with args.calls; read/write are per-fd totals (fd I/O tracks)",
			  (double)c->tiny_ns / 1e3);
	if (c->tiny_ns > MERGE_MAX_NS && nl > 0 && (size_t)nl < sizeof(note))
		nl += snprintf(note + nl, sizeof(note) - (size_t)nl,
			       "; big trace: the merge threshold was raised from 10 us to keep the cap of %llu "
			       "slices for the longer events, fd transfers shorter than it are only in the counters",
			       (unsigned long long)c->cap);
	if (c->dropped && nl > 0 && (size_t)nl < sizeof(note))
		snprintf(note + nl, sizeof(note) - (size_t)nl,
			 "; capped: %llu per-event slices kept, %llu dropped (raise with --max-events)",
			 (unsigned long long)c->cap, (unsigned long long)c->dropped);
	lp_buf_json_str(e, note);
	lp_buf_printf(e, ",\"counter_bucket_ms\":%.3f,\"merge_below_us\":%.3f,\"hidden_fd_io\":%llu",
		      (double)c->io.bucket_ns / 1e6, (double)c->tiny_ns / 1e3, (unsigned long long)c->hidden_fdio);
	lp_buf_puts(e, "}}\n");
	lp_xout_write(c->o, e->data, e->len);
	cJSON_Delete(meta);
}

/* --------------------------------------------------------------- main */

static unsigned log2u(uint64_t v)
{
	unsigned k = 0;
	while (v >>= 1)
		k++;
	return k;
}

/*
 * The merge threshold. Normally 10 us. When the trace holds more events
 * than half the cap, the pre-pass's histogram of durations (gathered while
 * the model reads the trace: lp_chrome_observe) sets it: the
 * threshold becomes the smallest power of two that leaves at most 3/4 of
 * the cap of longer events (which keep their own slices); everything
 * shorter is merged into runs of at most 10 ms, so the cap is not spent
 * before the end of the build.
 */
static void add_duration(uint64_t hist[64], const struct lp_hdr *h)
{
	if (!lp_ev_valid(h))
		return;
	if (h->kind == LP_EV_SYSCALL) {
		hist[log2u(((const struct lp_ev_syscall *)(const void *)h)->lat_ns)]++;
	} else if (h->kind == LP_EV_FD_IO) {
		const struct lp_ev_fd_io *e = (const void *)h;
		uint64_t d = e->last_ts > e->first_ts ? e->last_ts - e->first_ts : 0;
		if (e->rns + e->wns > d)
			d = e->rns + e->wns;
		hist[log2u(d)]++;
	}
}

void lp_chrome_observe(void *arg, const struct lp_hdr *h)
{
	struct lp_chrome_pre *pre = arg;
	if (!pre->have_first) {
		pre->have_first = true;
		pre->first_ts = h->ts;
	}
	add_duration(pre->hist, h);
}

/* The merge threshold, from the pre-pass's histogram. */
static void choose_threshold(struct cx *c, const struct lp_chrome_pre *pre)
{
	c->tiny_ns = MERGE_MAX_NS;
	if (c->cap && c->m->build.events > c->cap / 2) {
		uint64_t above = 0;
		int k = 63;
		while (k > 0 && above + pre->hist[k] <= c->cap / 4 * 3)
			above += pre->hist[k--];
		uint64_t t = 1ull << (k + 1);
		if (t > c->tiny_ns)
			c->tiny_ns = t;
	}
	c->run_max_ns = RUN_MAX_NS;
}

/* The time span: from the trace's first record (the pre-pass's) to the
 * model's last time. */
static void compute_span(struct cx *c, const struct lp_chrome_pre *pre)
{
	const struct lp_model *m = c->m;
	uint64_t t0 = UINT64_MAX, te = 0;
	if (pre->have_first && pre->first_ts)
		t0 = pre->first_ts;
#define MIN0(v) do { if ((v) && (v) < t0) t0 = (v); if ((v) > te) te = (v); } while (0)
	MIN0(m->build.start_ns);
	if (m->build.end_ns > te)
		te = m->build.end_ns;
	for (size_t i = 0; i < m->nsteps; i++) {
		MIN0(lp_step_start_ns(&m->steps[i]));
		if (lp_step_end_ns(&m->steps[i]) > te)
			te = lp_step_end_ns(&m->steps[i]);
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		MIN0(m->procs[i].start_ns);
		if (m->procs[i].end_ns > te)
			te = m->procs[i].end_ns;
	}
#undef MIN0
	if (t0 == UINT64_MAX)
		t0 = 0;
	if (te < t0)
		te = t0;
	c->t0 = t0;
	c->t_end = te;
	lp_iocount_init(&c->io, t0, te);
}

/* One valid record; src: on_syscall's. */
static void on_record(struct cx *c, const struct lp_hdr *h, const struct lp_model_rec *src, char *fbuf,
		      const char **first)
{
	if (h->ts > c->last_ts && h->ts - c->t0 < 30ull * 24 * 3600 * 1000000000ull)
		c->last_ts = h->ts;
	if (h->kind != LP_REC_PROGRESS && h->kind != LP_REC_CONTEXT_FILE && h->kind != LP_REC_TRACE_PID) {
		const struct lp_proc *p = proc_of(c, h->tgid, h->ts);
		if (p && h->kind != LP_EV_FORK && h->kind != LP_EV_EXEC)
			life_touch(c, p, h->ts);
	}
	switch (h->kind) {
	case LP_EV_SYSCALL: on_syscall(c, (const void *)h, src, fbuf, first); break;
	case LP_EV_FD_IO: on_fdio(c, (const void *)h, src); break;
	case LP_EV_FORK: on_fork(c, (const void *)h); break;
	case LP_EV_EXEC_ARGV: on_exec_argv(c, (const void *)h); break;
	case LP_EV_EXEC: on_exec(c, (const void *)h); break;
	case LP_EV_EXIT: on_exit_ev(c, (const void *)h); break;
	case LP_REC_PROGRESS: on_progress(c, (const void *)h); break;
	default: break;
	}
}

/* A record replayed by the model: paths resolved when it read the trace. */
static void on_replayed(void *arg, const struct lp_model_rec *rec)
{
	on_record(arg, rec->h, rec, NULL, NULL);
}

/* The records from the trace again, through the resolver (c->res). */
static void read_trace(struct cx *c, struct lp_reader *r)
{
	const struct lp_hdr *h;
	while (lp_reader_next(r, &h) == 1) {
		if (!lp_ev_valid(h))
			continue;
		char fbuf[4096];
		const char *first = NULL;
		on_record(c, h, NULL, fbuf, &first);
		if (h->kind == LP_EV_SYSCALL)
			lp_resolver_feed_first(c->res, h, first);
		else
			lp_resolver_feed(c->res, h);
	}
}

int lp_export_chrome(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct cx c;
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.o = o;
	c.opt = opt;
	c.first = true;
	c.cap = opt->max_events;
	/* the pre-pass: made while the model read the trace, else here */
	struct lp_chrome_pre own = { 0 };
	const struct lp_chrome_pre *pre = opt->chrome_pre;
	if (!pre) {
		const struct lp_hdr *h;
		if (lp_reader_rewind(r) == 0)
			while (lp_reader_next(r, &h) == 1)
				lp_chrome_observe(&own, h);
		pre = &own;
	}
	compute_span(&c, pre);
	choose_threshold(&c, pre);
	if (lp_reader_rewind(r) < 0) {
		snprintf(err, errlen, "cannot rewind the trace");
		return -1;
	}
	/* chrome pids: the real pid, or a synthetic one for a reused pid */
	c.cpid = lp_xcalloc(m->nprocs + 1, sizeof(uint32_t));
	c.life = lp_xcalloc(m->nprocs + 1, sizeof(struct life));

	lp_xout_puts(o, "{\"traceEvents\":[");
	c.last_ts = c.t_end;
	/* the records: the model's read of the trace replayed when it kept
	 * them all (lp_model_options.replay_all), else the trace again */
	if (!lp_model_replay(m, true, on_replayed, &c)) {
		c.res = lp_resolver_new();
		read_trace(&c, r);
	}
	c.t_end = c.last_ts;
	for (size_t i = 0; i < c.nthr; i++)
		thr_flush(&c, &c.thr[i]);
	for (size_t i = 0; i < m->nprocs; i++)
		life_emit(&c, &m->procs[i], c.t_end, true);
	emit_build(&c);
	emit_steps(&c);
	emit_counters(&c);
	emit_metadata(&c);
	emit_other_data(&c, r);
	/* a cap or a raised merge threshold leaves things out: say so where
	 * people look, not only in otherData */
	if (c.dropped)
		lp_warn("export: the Chrome trace keeps %llu of %llu per-event slices (--max-events %llu), %llu dropped; "
			"raise the cap with --max-events N (0: none), or export -o build.perfetto-trace (no cap)",
			(unsigned long long)c.slices, (unsigned long long)(c.slices + c.dropped),
			(unsigned long long)c.cap, (unsigned long long)c.dropped);
	if (c.tiny_ns > MERGE_MAX_NS)
		lp_warn("export: to fit --max-events %llu, syscalls under %.0f \xc2\xb5s (not 10) were merged: %llu calls "
			"in %llu slices, and %llu fd transfers shorter than that are only in the counters; "
			"--max-events 0 keeps each, as does export -o build.perfetto-trace",
			(unsigned long long)c.cap, (double)c.tiny_ns / 1e3, (unsigned long long)c.merged_calls,
			(unsigned long long)c.merged_slices, (unsigned long long)c.hidden_fdio);

	if (c.res)
		lp_resolver_free(c.res);
	if (c.step_labels)
		for (size_t i = 0; i < m->nsteps; i++)
			free(c.step_labels[i]);
	free(c.step_labels);
	lp_rawjson_free(c.rawjson);
	for (size_t i = 0; i < c.nthr; i++) {
		lp_buf_free(&c.thr[i].path0.copy);
		lp_buf_free(&c.thr[i].path1.copy);
	}
	free(c.thr);
	lp_u64map_free(&c.thr_idx);
	for (size_t i = 0; i < c.nargv; i++)
		free(c.argv_strs[i]);
	free(c.argv_strs);
	lp_u64map_free(&c.argv_pend);
	lp_strtab_free(&c.disp);
	free(c.disp_of);
	lp_iocount_free(&c.io);
	for (size_t i = 0; i < m->nprocs; i++) {
		free(c.life[i].name);
		free(c.life[i].argv);
		free(c.life[i].exe);
	}
	free(c.life);
	free(c.cpid);
	lp_u64map_free(&c.pid_owner);
	lp_buf_free(&c.e);
	return 0;
}
