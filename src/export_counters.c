/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The I/O counters over time that the Chrome and Perfetto exports draw
 * (export.h, struct lp_iocount): bytes read and written, each fd's total
 * spread evenly over its first..last transfer, and the files open at once,
 * in fixed buckets from t0 (about 1000 over the trace, 1 ms at least), so
 * memory does not grow with the events.
 */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "model.h"
#include "syscalls.h"
#include "util.h"

/* Far-off timestamps (damage) all go to this bucket: a few thousand at most. */
#define BUCKETS_MAX 100000u

void lp_iocount_init(struct lp_iocount *c, uint64_t t0, uint64_t t_end)
{
	memset(c, 0, sizeof(*c));
	c->t0 = t0;
	c->bucket_ns = (t_end > t0 ? t_end - t0 : 0) / 1000;
	if (c->bucket_ns < 1000000)
		c->bucket_ns = 1000000;     /* 1 ms at least */
}

static size_t bucket_of(struct lp_iocount *c, uint64_t ts)
{
	uint64_t d = ts > c->t0 ? ts - c->t0 : 0;
	uint64_t b = d / c->bucket_ns;
	if (b > BUCKETS_MAX)
		b = BUCKETS_MAX;
	size_t need = (size_t)b + 2;
	if (need > c->nbuckets) {
		size_t n = c->nbuckets ? c->nbuckets : 64;
		while (n < need)
			n *= 2;
		c->rd = lp_xrealloc(c->rd, n * sizeof(double));
		c->wr = lp_xrealloc(c->wr, n * sizeof(double));
		c->rd_diff = lp_xrealloc(c->rd_diff, n * sizeof(double));
		c->wr_diff = lp_xrealloc(c->wr_diff, n * sizeof(double));
		c->open_max = lp_xrealloc(c->open_max, n * sizeof(int64_t));
		c->open_last = lp_xrealloc(c->open_last, n * sizeof(int64_t));
		c->open_touched = lp_xrealloc(c->open_touched, n);
		for (size_t i = c->nbuckets; i < n; i++) {
			c->rd[i] = c->wr[i] = c->rd_diff[i] = c->wr_diff[i] = 0;
			c->open_max[i] = c->open_last[i] = 0;
			c->open_touched[i] = 0;
		}
		c->nbuckets = n;
	}
	return (size_t)b;
}

/* Spread bytes uniformly over [a, b] (written: the write counters). */
static void spread(struct lp_iocount *c, bool written, uint64_t a, uint64_t b, uint64_t bytes)
{
	if (!bytes)
		return;
	if (a < c->t0)
		a = c->t0;
	if (b < a)
		b = a;
	size_t ba = bucket_of(c, a), bb = bucket_of(c, b);
	/* after bucket_of: it may move the arrays */
	double *amt = written ? c->wr : c->rd, *diff = written ? c->wr_diff : c->rd_diff;
	if (ba == bb || b == a) {
		amt[ba] += (double)bytes;
		return;
	}
	double rate = (double)bytes / (double)(b - a);
	uint64_t ba_end = c->t0 + (uint64_t)(ba + 1) * c->bucket_ns;
	uint64_t bb_start = c->t0 + (uint64_t)bb * c->bucket_ns;
	amt[ba] += rate * (double)(ba_end > a ? ba_end - a : 0);
	amt[bb] += rate * (double)(b > bb_start ? b - bb_start : 0);
	if (bb > ba + 1) {
		double per = rate * (double)c->bucket_ns;
		diff[ba + 1] += per;
		diff[bb] -= per;
	}
}

static void open_set(struct lp_iocount *c, uint64_t ts, int64_t delta)
{
	size_t b = bucket_of(c, ts);
	c->open_cur += delta;
	if (c->open_cur < 0)
		c->open_cur = 0;
	if (!c->open_touched[b] || c->open_cur > c->open_max[b])
		c->open_max[b] = c->open_cur;
	c->open_last[b] = c->open_cur;
	c->open_touched[b] = 1;
}

static void fd_opened(struct lp_iocount *c, uint32_t tgid, int32_t fd, uint64_t ts)
{
	uint64_t k = ((uint64_t)tgid << 32) | (uint32_t)fd;
	bool added;
	uint64_t *v = lp_u64map_slot(&c->open_fds, k, &added);
	if (!added)
		return;         /* fd reused: the old file was closed unseen */
	*v = 1;
	(*lp_u64map_slot(&c->open_per_tgid, tgid, &added))++;
	open_set(c, ts, 1);
}

static void fd_closed(struct lp_iocount *c, uint32_t tgid, int32_t fd, uint64_t ts)
{
	uint64_t k = ((uint64_t)tgid << 32) | (uint32_t)fd;
	if (!lp_u64map_del(&c->open_fds, k))
		return;
	uint64_t *n = lp_u64map_find(&c->open_per_tgid, tgid);
	if (n && *n)
		(*n)--;
	open_set(c, ts, -1);
}

void lp_iocount_syscall(struct lp_iocount *c, const struct lp_ev_syscall *ev)
{
	unsigned sc = ev->h.aux;
	if (ev->ret >= 0 && lp_sc_opens_path(sc) && sc != LP_SC_OPEN_TREE)
		fd_opened(c, ev->h.tgid, (int32_t)ev->ret, ev->h.ts);
}

bool lp_iocount_fdio(struct lp_iocount *c, const struct lp_model *m, const struct lp_ev_fd_io *e,
		     uint64_t *first, uint64_t *last)
{
	const struct lp_hdr *h = &e->h;
	uint64_t a = e->first_ts, b = e->last_ts;
	if (!a || !b || a > b || b > h->ts + 1000000000ull) {
		b = h->ts;
		uint64_t busy = e->rns + e->wns;
		a = busy < b ? b - busy : 0;
	}
	if (a < c->t0)
		a = c->t0;
	if (b < a)
		b = a;
	spread(c, false, a, b, e->rbytes);
	spread(c, true, a, b, e->wbytes);
	c->rbytes += e->rbytes;
	c->wbytes += e->wbytes;
	/* closed: at close, or at its process's exit when drained after it;
	 * not when "reused" (the fd is open again) */
	bool still_open = false;
	uint64_t closed_at = lp_model_fdio_close_ts(m, e, &still_open);
	if (!still_open && !(e->io_flags & LP_FDIO_REUSED))
		fd_closed(c, h->tgid, (int32_t)h->aux, closed_at);
	*first = a;
	*last = b;
	return still_open;
}

void lp_iocount_exit(struct lp_iocount *c, uint32_t tgid, uint64_t ts)
{
	uint64_t *n = lp_u64map_find(&c->open_per_tgid, tgid);
	if (!n || !*n)
		return;
	int64_t closed = 0;
	/* a deletion may move a later entry into slot i: look at it again */
	for (size_t i = 0; i < c->open_fds.cap;) {
		if (lp_u64map_used(&c->open_fds, i) && (lp_u64map_key(&c->open_fds, i) >> 32) == tgid) {
			lp_u64map_del(&c->open_fds, lp_u64map_key(&c->open_fds, i));
			closed++;
		} else {
			i++;
		}
	}
	lp_u64map_del(&c->open_per_tgid, tgid);
	if (closed)
		open_set(c, ts, -closed);
}

bool lp_iocount_next(struct lp_iocount *c, struct lp_iocount_it *it, uint64_t t_end)
{
	if (!c->nbuckets)
		return false;
	if (!it->started) {
		memset(it, 0, sizeof(*it));
		it->started = true;
		it->last = bucket_of(c, t_end);
	} else {
		if (c->open_touched[it->b])
			it->carry = c->open_last[it->b];
		it->b++;
	}
	size_t b = it->b;
	if (b > it->last || b >= c->nbuckets)
		return false;
	double secs = (double)c->bucket_ns / 1e9;
	it->rdc += c->rd_diff[b];
	it->wrc += c->wr_diff[b];
	it->read_bps = (c->rd[b] + it->rdc) / secs;
	it->write_bps = (c->wr[b] + it->wrc) / secs;
	if (it->read_bps < 0.5)
		it->read_bps = 0;
	if (it->write_bps < 0.5)
		it->write_bps = 0;
	it->ts = c->t0 + (uint64_t)b * c->bucket_ns;
	it->open = c->open_touched[b] ? (c->open_max[b] > it->carry ? c->open_max[b] : it->carry) : it->carry;
	it->is_last = b == it->last;
	return true;
}

void lp_iocount_free(struct lp_iocount *c)
{
	free(c->rd);
	free(c->wr);
	free(c->rd_diff);
	free(c->wr_diff);
	free(c->open_max);
	free(c->open_last);
	free(c->open_touched);
	lp_u64map_free(&c->open_fds);
	lp_u64map_free(&c->open_per_tgid);
	memset(c, 0, sizeof(*c));
}
