/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tape (model_pass.h): pass 1's compact copy of what pass 2 needs of
 * each record. Integers are LEB128 varints (signed ones zigzag-coded),
 * times deltas from the previous record's, tgids written only when they
 * change, paths as interned ids.
 */
#include "model_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "util.h"
#include "varint.h"

#define TAPE_CHUNK (4u << 20)
#define TAPE_REC_MAX 176        /* bytes of the largest encoded record */
uint64_t lp_model_tape_max = 256ull << 20;

enum { T_END = 0, T_SYSCALL, T_FDIO, T_EXEC, T_FORK, T_EXIT };
#define T_SAME_TGID 0x80u       /* the record's tgid is the previous one's */
#define T_SAME_TID 0x40u        /* its thread is the previous kept thread */
#define T_NO_TID 0x20u          /* its thread is not kept (lp_tape_keeps_tid) */
#define T_MAIN_TID 0x10u        /* its thread is the process's first (tid == tgid) */
#define T_MORE 0x08u             /* a byte of X_* flags follows the code */
#define T_FLAGS (T_SAME_TGID | T_SAME_TID | T_NO_TID | T_MAIN_TID | T_MORE)
/* Rarely there, so in an optional byte: what lp_model_replay() gives but
 * pass 2 does not need (X_SHOWN, X_FD_MODE), and an open's flag pass 2 reads. */
#define X_SHOWN 0x01u           /* shown is not the default (shown_default()) */
#define X_FD_MODE 0x02u         /* an fd_io's fd_mode is not 0 */
#define X_OPEN_DIR 0x04u        /* a syscall's LP_F_OPEN_DIR (its only flag pass 2 reads) */

/* The record's shown path when the tape does not say: its path, a copy's
 * destination. */
static uint32_t shown_default(const struct lp_hdr *h, const struct lp_p2rec *q)
{
	return h->kind == LP_EV_SYSCALL && lp_sc_is_copy(h->aux) ? q->out : q->path;
}

bool lp_tape_keeps_tid(const struct lp_hdr *h)
{
	if (h->kind == LP_EV_FD_IO)
		return ((const struct lp_ev_fd_io *)h)->wbytes > 0;
	if (h->kind != LP_EV_SYSCALL)
		return false;
	const struct lp_ev_syscall *ev = (const void *)h;
	if (lp_sc_is_sync(h->aux) || lp_sc_is_rename(h->aux))
		return true;
	switch (h->aux) {
	case LP_SC_OPEN:
		return lp_open_writes(ev->args[1]);
	case LP_SC_OPENAT:
		return lp_open_writes(ev->args[2]);
	case LP_SC_CREAT:
		return true;
	default:
		return false;
	}
}

static void spill_free(struct lp_tape *t);

void lp_tape_free(struct lp_tape *t)
{
	spill_free(t); /* first: its thread may hold a chunk */
	for (size_t i = 0; i < t->nchunk; i++)
		free(t->chunk[i]);
	free(t->chunk);
	t->chunk = NULL;
	t->nchunk = 0;
	t->w = t->wend = NULL;
	lp_buf_free(&t->others);
}

/*
 * The spill (lp_tape_spill): as pass 2 reads a kept tape, each chunk read
 * to its end is handed to a thread of its own, which writes it to the
 * file and frees it, off pass 2's path (~0.2 s of a 10M-event trace's
 * 190 MiB); a chunk it cannot write stays in memory. Reading the tape
 * again first waits for the thread (spill_settle), then reads the file.
 */
struct lp_tape_spill {
	int fd;
	uint32_t *len;              /* [chunk]: bytes in the file, 0: in memory */
	uint8_t *buf;               /* a chunk read back */
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t *queue;              /* chunks handed over, [head, tail) to write */
	uint32_t *qlen;             /* their lengths */
	size_t head, tail;
	bool closing;
	uint8_t **chunk;            /* the tape's (complete: never moved again) */
};

static void *spill_main(void *arg)
{
	struct lp_tape_spill *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->head == s->tail && !s->closing)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->head == s->tail)
			break;
		size_t i = s->queue[s->head];
		uint32_t n = s->qlen[s->head++];
		pthread_mutex_unlock(&s->mu);
		/* the chunk is this thread's until settled: pass 2 is past it */
		uint8_t *c = s->chunk[i];
		if (pwrite(s->fd, c, n, (off_t)(i * TAPE_CHUNK)) == (ssize_t)n) {
			s->len[i] = n;
			s->chunk[i] = NULL;
			free(c);
		} /* else a full disk: it stays in memory */
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Every chunk handed over written (or kept): the thread gone. */
static void spill_settle(struct lp_tape_spill *s)
{
	if (!s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->running = false;
}

static void spill_free(struct lp_tape *t)
{
	struct lp_tape_spill *s = t->spill;
	if (!s)
		return;
	spill_settle(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	close(s->fd);
	free(s->len);
	free(s->buf);
	free(s->queue);
	free(s->qlen);
	free(s);
	t->spill = NULL;
}

bool lp_tape_spill(struct lp_tape *t)
{
	if (t->spill)
		return true;
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	/* unnamed: nothing is left behind, whatever ends the process */
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	struct lp_tape_spill *s = lp_xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->chunk = t->chunk;
	s->len = lp_xcalloc(t->nchunk + 1, sizeof(*s->len));
	s->queue = lp_xcalloc(t->nchunk + 1, sizeof(*s->queue));
	s->qlen = lp_xcalloc(t->nchunk + 1, sizeof(*s->qlen));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, spill_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		close(fd);
		free(s->len);
		free(s->queue);
		free(s->qlen);
		free(s);
		return false;
	}
	pthread_setname_np(s->thread, "lp-tape-spill");
	s->running = true;
	t->spill = s;
	return true;
}

/* Chunk i (its T_END at end) read to its end: freed, or with keep handed
 * to the spill (if any). */
static void chunk_read(struct lp_tape *t, size_t i, const uint8_t *end)
{
	if (!t->keep) {
		free(t->chunk[i]);
		t->chunk[i] = NULL;
		return;
	}
	struct lp_tape_spill *s = t->spill;
	if (!s || !s->running || !t->chunk[i] || s->len[i])
		return;
	pthread_mutex_lock(&s->mu);
	s->queue[s->tail] = i;
	s->qlen[s->tail++] = (uint32_t)(end - t->chunk[i]) + 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* The start of chunk i for reading: in memory, or read back from the file. */
static const uint8_t *chunk_at(struct lp_tape *t, size_t i)
{
	if (t->chunk[i])
		return t->chunk[i];
	struct lp_tape_spill *s = t->spill;
	if (!s->buf)
		s->buf = lp_xmalloc(TAPE_CHUNK);
	size_t n = s->len[i];
	if (pread(s->fd, s->buf, n, (off_t)(i * TAPE_CHUNK)) != (ssize_t)n) {
		/* our own file, most likely still in the page cache: as
		 * unlikely, and as fatal, as running out of memory */
		fprintf(stderr, "layerprof: cannot read back the model's tape: %s\n",
			errno ? strerror(errno) : "short read");
		exit(1);
	}
	return s->buf;
}

void lp_tape_put_other(struct lp_tape *t, const struct lp_hdr *h)
{
	if (t->dropped)
		return;
	struct lp_tape_other head = { .after = t->nput };
	size_t at = t->others.len, n = (offsetof(struct lp_tape_other, h) + h->size + 7) & ~(size_t)7;
	if (t->bytes + at + n > lp_model_tape_max) {
		lp_tape_free(t);
		t->dropped = true;
		return;
	}
	lp_buf_reserve(&t->others, n);
	memset(t->others.data + at, 0, n);
	memcpy(t->others.data + at, &head, offsetof(struct lp_tape_other, h));
	memcpy(t->others.data + at + offsetof(struct lp_tape_other, h), h, h->size);
	t->others.len += n;
}

void lp_tape_put(struct lp_tape *t, const struct lp_hdr *h, const struct lp_p2rec *q)
{
	if (t->dropped)
		return;
	t->nput++;
	if (!t->w || (size_t)(t->wend - t->w) < TAPE_REC_MAX) {
		if (t->bytes + t->others.len + TAPE_CHUNK > lp_model_tape_max) {
			lp_tape_free(t);
			t->dropped = true;
			return;
		}
		if (t->w)
			*t->w = T_END;
		t->chunk = lp_xrealloc(t->chunk, (t->nchunk + 1) * sizeof(*t->chunk));
		t->w = t->chunk[t->nchunk++] = lp_xmalloc(TAPE_CHUNK);
		t->wend = t->w + TAPE_CHUNK - 1; /* room for the final T_END */
		t->bytes += TAPE_CHUNK;
	}
	uint8_t *w = t->w;
	uint8_t code = h->kind == LP_EV_SYSCALL ? T_SYSCALL : h->kind == LP_EV_FD_IO ? T_FDIO
		       : h->kind == LP_EV_EXEC ? T_EXEC : h->kind == LP_EV_FORK ? T_FORK : T_EXIT;
	bool same = h->tgid == t->tgid, keep = t->all_tids || lp_tape_keeps_tid(h);
	uint8_t tid_code = !keep ? T_NO_TID : h->tid == h->tgid ? T_MAIN_TID : h->tid == t->tid ? T_SAME_TID : 0;
	uint8_t more = (q->shown != shown_default(h, q) ? X_SHOWN : 0) |
		       (code == T_FDIO && ((const struct lp_ev_fd_io *)h)->fd_mode ? X_FD_MODE : 0) |
		       (code == T_SYSCALL && (h->flags & LP_F_OPEN_DIR) ? X_OPEN_DIR : 0);
	*w++ = (uint8_t)(code | (same ? T_SAME_TGID : 0) | tid_code | (more ? T_MORE : 0));
	if (more) {
		*w++ = more;
		if (more & X_SHOWN)
			lp_varint_put(&w, q->shown);
		if (more & X_FD_MODE)
			lp_varint_put(&w, ((const struct lp_ev_fd_io *)h)->fd_mode);
	}
	lp_varint_put_signed(&w, (int64_t)(h->ts - t->ts));
	if (!same)
		lp_varint_put(&w, h->tgid);
	if (keep && !tid_code)
		lp_varint_put(&w, h->tid);
	t->ts = h->ts;
	t->tgid = h->tgid;
	if (keep)
		t->tid = h->tid;
	switch (code) {
	case T_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		unsigned sc = h->aux;
		lp_varint_put(&w, h->aux);
		lp_varint_put_signed(&w, ev->ret);
		lp_varint_put(&w, ev->lat_ns);
		*w++ = ev->nstr;
		*w++ = q->raw0;
		/* the arguments pass 2 reads: an open's flags, a mount's */
		lp_varint_put(&w, sc == LP_SC_MOUNT ? ev->args[3] : sc == LP_SC_OPEN ? ev->args[1] : ev->args[2]);
		lp_varint_put(&w, q->path);
		if (lp_sc_wants_str1(sc))
			lp_varint_put(&w, q->str1);
		if (sc == LP_SC_MOUNT)
			lp_varint_put(&w, q->str0);
		if (lp_sc_is_copy(sc)) {
			lp_varint_put(&w, q->in);
			lp_varint_put(&w, q->out);
		}
		break;
	}
	case T_FDIO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		lp_varint_put(&w, h->aux);
		lp_varint_put(&w, e->rbytes);
		lp_varint_put(&w, e->wbytes);
		lp_varint_put(&w, e->rns);
		lp_varint_put(&w, e->wns);
		lp_varint_put(&w, e->rcalls);
		lp_varint_put(&w, e->wcalls);
		lp_varint_put(&w, e->io_flags);
		*w++ = h->flags;
		/* the I/O's own window: lp_model_fdio_close_ts(), step times */
		lp_varint_put_signed(&w, (int64_t)(e->last_ts - h->ts));
		lp_varint_put_signed(&w, (int64_t)(e->first_ts - e->last_ts));
		lp_varint_put(&w, q->path);
		break;
	}
	case T_EXIT: {
		const struct lp_ev_exit *e = (const void *)h;
		lp_varint_put(&w, e->counts.chown);
		lp_varint_put(&w, e->counts.chmod);
		lp_varint_put(&w, e->counts.utimens);
		lp_varint_put(&w, e->counts.stat_ok);
		lp_varint_put(&w, lp_ev_exit_cpu_ns(e));
		break;
	}
	default:
		break;
	}
	t->w = w;
}

void lp_tape_rewind(struct lp_tape *t)
{
	if (t->w)
		*t->w = T_END;
	t->w = t->wend = NULL; /* written: its chunks may leave memory now */
	if (t->spill)
		spill_settle(t->spill); /* read again: all of it where it stays */
	t->rchunk = 0;
	t->r = t->nchunk ? chunk_at(t, 0) : NULL;
	t->ts = 0;
	t->tgid = 0;
	t->tid = 0;
}

/* The next record of the tape into q; false at its end. A chunk read to
 * its end is freed at once: the model grows as the tape shrinks. */
bool lp_tape_get(struct lp_tape *t, struct lp_p2rec *q)
{
	for (;;) {
		if (!t->r)
			return false;
		if (*t->r != T_END)
			break;
		chunk_read(t, t->rchunk, t->r);
		t->r = ++t->rchunk < t->nchunk ? chunk_at(t, t->rchunk) : NULL;
	}
	const uint8_t *r = t->r;
	uint8_t code = *r++;
	struct lp_hdr *h = &q->r.h;
	memset(h, 0, sizeof(*h));
	q->path = q->str0 = q->str1 = q->in = q->out = 0;
	q->raw0 = false;
	uint8_t more = code & T_MORE ? *r++ : 0;
	uint32_t shown = more & X_SHOWN ? (uint32_t)lp_varint_get(&r) : 0;
	uint32_t fd_mode = more & X_FD_MODE ? (uint32_t)lp_varint_get(&r) : 0;
	t->ts += (uint64_t)lp_varint_get_signed(&r);
	if (!(code & T_SAME_TGID))
		t->tgid = (uint32_t)lp_varint_get(&r);
	if (code & T_MAIN_TID)
		t->tid = t->tgid;
	else if (!(code & (T_NO_TID | T_SAME_TID)))
		t->tid = (uint32_t)lp_varint_get(&r);
	h->ts = t->ts;
	h->tgid = t->tgid;
	h->tid = code & T_NO_TID ? 0 : t->tid;
	switch (code & ~T_FLAGS) {
	case T_SYSCALL: {
		struct lp_ev_syscall *ev = &q->r.sc;
		memset(ev->args, 0, sizeof(ev->args)); /* those pass 2 reads are set below */
		h->kind = LP_EV_SYSCALL;
		h->size = sizeof(*ev);
		h->flags = more & X_OPEN_DIR ? LP_F_OPEN_DIR : 0;
		h->aux = (uint32_t)lp_varint_get(&r);
		unsigned sc = h->aux;
		ev->ret = lp_varint_get_signed(&r);
		ev->lat_ns = lp_varint_get(&r);
		ev->nstr = *r++;
		q->raw0 = *r++;
		uint64_t a = lp_varint_get(&r);
		if (sc == LP_SC_MOUNT)
			ev->args[3] = a;
		else
			ev->args[1] = ev->args[2] = a;
		q->path = (uint32_t)lp_varint_get(&r);
		if (lp_sc_wants_str1(sc))
			q->str1 = (uint32_t)lp_varint_get(&r);
		if (sc == LP_SC_MOUNT)
			q->str0 = (uint32_t)lp_varint_get(&r);
		if (lp_sc_is_copy(sc)) {
			q->in = (uint32_t)lp_varint_get(&r);
			q->out = (uint32_t)lp_varint_get(&r);
		}
		break;
	}
	case T_FDIO: {
		struct lp_ev_fd_io *e = &q->r.io;
		e->first_ts = e->last_ts = 0;
		h->kind = LP_EV_FD_IO;
		h->size = sizeof(*e);
		h->aux = (uint32_t)lp_varint_get(&r);
		e->rbytes = lp_varint_get(&r);
		e->wbytes = lp_varint_get(&r);
		e->rns = lp_varint_get(&r);
		e->wns = lp_varint_get(&r);
		e->rcalls = (uint32_t)lp_varint_get(&r);
		e->wcalls = (uint32_t)lp_varint_get(&r);
		e->io_flags = (uint32_t)lp_varint_get(&r);
		h->flags = *r++;
		e->last_ts = h->ts + (uint64_t)lp_varint_get_signed(&r);
		e->first_ts = e->last_ts + (uint64_t)lp_varint_get_signed(&r);
		e->fd_mode = fd_mode;
		q->path = (uint32_t)lp_varint_get(&r);
		break;
	}
	case T_EXIT:
		h->kind = LP_EV_EXIT;
		h->size = sizeof(q->r.ex);
		q->r.ex.counts.chown = (uint32_t)lp_varint_get(&r);
		q->r.ex.counts.chmod = (uint32_t)lp_varint_get(&r);
		q->r.ex.counts.utimens = (uint32_t)lp_varint_get(&r);
		q->r.ex.counts.stat_ok = (uint32_t)lp_varint_get(&r);
		q->r.ex.cpu_ns = lp_varint_get(&r);
		break;
	case T_EXEC:
		h->kind = LP_EV_EXEC;
		h->size = sizeof(*h);
		break;
	default:
		h->kind = LP_EV_FORK;
		h->size = sizeof(*h);
		break;
	}
	q->shown = more & X_SHOWN ? shown : shown_default(h, q);
	if (t->all_tids && t->pass2_tids && !lp_tape_keeps_tid(h))
		h->tid = 0;
	t->r = r;
	return true;
}

/* ------------------------------------------------------------- ahead */

#define AHEAD_BATCH 2048        /* records a batch (~300 KB) */
#define AHEAD_SLOTS 6           /* one read, one filling, four waiting: ~12,000
				 * records, ~2 ms of pass 2, so that a time slice the
				 * thread waits for its core does not stall the caller */

struct ahead_slot {
	struct lp_p2rec recs[AHEAD_BATCH];
	size_t n;
	size_t chunk;
	bool ready;                 /* filled, not yet given back by the caller */
};

/*
 * Each side sleeps only when it must (the thread: no slot free; the
 * caller: the next slot not filled) and is woken only then: the sleeping
 * thread once half the slots are free again, not at every batch. A wake-up
 * per batch made ~30,000 context switches a 10M-event pass 2, each woken
 * thread preempting the caller on its core.
 */
struct lp_tape_ahead {
	struct lp_tape *t;
	struct ahead_slot slot[AHEAD_SLOTS];
	size_t next;                /* the slot the caller gets next */
	int held;                   /* the slot the caller has (-1: none) */
	size_t nfree;               /* slots not ready */
	bool threaded, stop, ended;
	bool thread_sleeps, caller_sleeps;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t to_thread, to_caller;
};

/* One batch from the tape into s; false when the tape had no more. */
static bool fill(struct lp_tape *t, struct ahead_slot *s)
{
	s->n = 0;
	while (s->n < AHEAD_BATCH && lp_tape_get(t, &s->recs[s->n]))
		s->n++;
	s->chunk = t->rchunk;
	return s->n == AHEAD_BATCH;
}

static void *ahead_main(void *arg)
{
	struct lp_tape_ahead *a = arg;
	for (size_t i = 0;; i = (i + 1) % AHEAD_SLOTS) {
		struct ahead_slot *s = &a->slot[i];
		pthread_mutex_lock(&a->mu);
		if (s->ready && !a->stop) {
			/* the caller still has it: sleep until half are free */
			a->thread_sleeps = true;
			while ((s->ready || a->nfree < AHEAD_SLOTS / 2) && !a->stop)
				pthread_cond_wait(&a->to_thread, &a->mu);
			a->thread_sleeps = false;
		}
		bool stop = a->stop;
		pthread_mutex_unlock(&a->mu);
		if (stop)
			break;
		bool more = fill(a->t, s);
		pthread_mutex_lock(&a->mu);
		s->ready = true;
		a->nfree--;
		if (a->caller_sleeps)
			pthread_cond_signal(&a->to_caller);
		pthread_mutex_unlock(&a->mu);
		if (!more)
			break; /* a short batch (maybe empty) ends the tape */
	}
	return NULL;
}

struct lp_tape_ahead *lp_tape_ahead_start(struct lp_tape *t)
{
	struct lp_tape_ahead *a = lp_xcalloc(1, sizeof(*a));
	a->t = t;
	a->held = -1;
	a->nfree = AHEAD_SLOTS;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->to_thread, NULL);
	pthread_cond_init(&a->to_caller, NULL);
	a->threaded = pthread_create(&a->thread, NULL, ahead_main, a) == 0;
	if (a->threaded)
		pthread_setname_np(a->thread, "lp-tape-ahead");
	return a;
}

size_t lp_tape_ahead_next(struct lp_tape_ahead *a, struct lp_p2rec **recs, size_t *chunk)
{
	if (a->ended)
		return 0;
	struct ahead_slot *s = &a->slot[a->next];
	if (!a->threaded) {
		fill(a->t, s);
	} else {
		pthread_mutex_lock(&a->mu);
		if (a->held >= 0) { /* the slot given last time is free again */
			a->slot[a->held].ready = false;
			a->nfree++;
			if (a->thread_sleeps && a->nfree >= AHEAD_SLOTS / 2)
				pthread_cond_signal(&a->to_thread);
		}
		if (!s->ready) {
			a->caller_sleeps = true;
			while (!s->ready)
				pthread_cond_wait(&a->to_caller, &a->mu);
			a->caller_sleeps = false;
		}
		pthread_mutex_unlock(&a->mu);
		a->held = (int)a->next;
	}
	a->next = (a->next + 1) % AHEAD_SLOTS;
	if (s->n < AHEAD_BATCH)
		a->ended = true;
	*recs = s->recs;
	if (chunk)
		*chunk = s->chunk;
	return s->n;
}

void lp_tape_ahead_stop(struct lp_tape_ahead *a)
{
	if (!a)
		return;
	if (a->threaded) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->to_thread);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	pthread_cond_destroy(&a->to_thread);
	pthread_cond_destroy(&a->to_caller);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
