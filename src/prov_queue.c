// SPDX-License-Identifier: BSD-2-Clause
/*
 * Layer provenance on a thread of its own (prov_queue.h). The calls are
 * written into batches of BATCH_MSGS; a full batch goes to the thread, which
 * runs the batches in the order sent. NBATCH batches in a ring bound the
 * memory and how far ahead pass 2 may run; when the next batch to write is
 * still being run, the caller waits for it.
 *
 * Questions (lp_prov_from_copy_id) are kept in order in a list of their
 * own on the caller's side; the thread writes each answer into its
 * message, and the caller copies the answers of the batches run so far
 * into the list ("harvests" them) when it looks for an answer or needs a
 * batch again, so that no answer is lost when a batch is reused.
 *
 * The batches sent and run are counted under a mutex (to sleep on); the
 * count of batches run is also read without it (an atomic), so that
 * looking for an answer costs a load.
 */
#include "prov_queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "provenance.h"
#include "model_int.h"
#include "util.h"

enum provq_op { OP_GONE, OP_PLACED, OP_WRITE, OP_LINK, OP_DELETE, OP_RENAME, OP_READ, OP_ASK };

struct provq_msg {
	const char *stage;
	const char *path, *path2;   /* path2: a rename's new name */
	uint64_t v;                 /* ts, bytes, or an ask's number in the list */
	uint32_t id, id2;
	int32_t step;
	uint8_t op;
	uint8_t flag;               /* gone: a directory; ask: the answer */
};

/* 32 batches of 4,096 (6 MiB): the thread may fall that far behind (a
 * burst of provenance work, or the thread not scheduled on a busy
 * machine) before pass 2 waits for it; with 8, pass 2 waited 0.27-0.52 s
 * of a report of the 10M-event trace, with 32, 0.02-0.06 s */
#define BATCH_MSGS 4096
#define NBATCH 32

struct provq_batch {
	struct provq_msg m[BATCH_MSGS];
	size_t n;
	uint16_t ask[BATCH_MSGS];   /* where its questions are in m, in order */
	size_t nask;
	char **owned;               /* copies of paths of no id, freed when reused */
	size_t nowned, owned_cap;
};

struct provq_ask_ent {
	struct lp_provq_ask ask;
	bool answered, yes;
};

struct lp_prov_queue {
	struct lp_provenance *pv;
	struct provq_batch *b;      /* [NBATCH] */
	uint64_t sent;              /* batches sent (the caller's count) */
	uint64_t harvested;         /* batches whose answers are in the list */
	_Atomic uint64_t done;      /* batches run */
	/* the thread */
	bool threaded;
	bool stop;                  /* under mu */
	uint64_t sent_shared;       /* = sent, under mu: what the thread may run */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, ran;
	/* the questions, oldest first: asks[head..tail) of a ring of cap */
	struct provq_ask_ent *asks;
	uint64_t head, tail;
	size_t cap;
};

/* The calls of one batch, in order. */
static void run_batch(struct lp_provenance *pv, struct provq_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct provq_msg *x = &b->m[i];
		switch (x->op) {
		case OP_GONE:
			lp_prov_gone_id(pv, x->stage, x->path, x->id, x->flag, x->v);
			break;
		case OP_PLACED:
			lp_prov_placed_id(pv, x->stage, x->path, x->id, x->v);
			break;
		case OP_WRITE:
			lp_prov_write_id(pv, x->stage, x->path, x->id, x->step, x->v);
			break;
		case OP_LINK:
			lp_prov_link_id(pv, x->stage, x->path, x->id, x->step);
			break;
		case OP_DELETE:
			lp_prov_delete_id(pv, x->stage, x->path, x->id, x->step);
			break;
		case OP_RENAME:
			lp_prov_rename_id(pv, x->stage, x->path, x->id, x->path2, x->id2, x->step);
			break;
		case OP_READ:
			lp_prov_read_id(pv, x->stage, x->path, x->id, x->step);
			break;
		case OP_ASK:
			x->flag = lp_prov_from_copy_id(pv, x->stage, x->path, x->id);
			break;
		}
	}
}

static void *provq_main(void *arg)
{
	struct lp_prov_queue *q = arg;
	uint64_t next = 0;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (next == q->sent_shared && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		bool have = next < q->sent_shared;
		pthread_mutex_unlock(&q->mu);
		if (!have)
			break;
		run_batch(q->pv, &q->b[next % NBATCH]);
		next++;
		pthread_mutex_lock(&q->mu);
		atomic_store_explicit(&q->done, next, memory_order_release);
		pthread_cond_signal(&q->ran);
		pthread_mutex_unlock(&q->mu);
	}
	return NULL;
}

struct lp_prov_queue *lp_provq_new(struct lp_provenance *pv, bool threaded)
{
	struct lp_prov_queue *q = lp_xcalloc(1, sizeof(*q));
	q->pv = pv;
	q->b = lp_xcalloc(NBATCH, sizeof(*q->b));
	atomic_init(&q->done, 0);
	if (threaded) {
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->work, NULL);
		pthread_cond_init(&q->ran, NULL);
		q->threaded = pthread_create(&q->thread, NULL, provq_main, q) == 0;
		if (q->threaded) {
			pthread_setname_np(q->thread, "lp-provenance");
		} else {
			pthread_cond_destroy(&q->ran);
			pthread_cond_destroy(&q->work);
			pthread_mutex_destroy(&q->mu);
		}
	}
	return q;
}

/* The answers of the batches run so far into the list of questions. */
static void harvest(struct lp_prov_queue *q)
{
	uint64_t done = atomic_load_explicit(&q->done, memory_order_acquire);
	for (; q->harvested < done; q->harvested++) {
		const struct provq_batch *b = &q->b[q->harvested % NBATCH];
		for (size_t i = 0; i < b->nask; i++) {
			const struct provq_msg *x = &b->m[b->ask[i]];
			struct provq_ask_ent *e = &q->asks[x->v % q->cap];
			e->yes = x->flag;
			e->answered = true;
		}
	}
}

/* Wait until at least `want` batches have been run, and harvest them. */
static void wait_done(struct lp_prov_queue *q, uint64_t want)
{
	if (atomic_load_explicit(&q->done, memory_order_acquire) < want) {
		pthread_mutex_lock(&q->mu);
		while (atomic_load_explicit(&q->done, memory_order_relaxed) < want)
			pthread_cond_wait(&q->ran, &q->mu);
		pthread_mutex_unlock(&q->mu);
	}
	harvest(q);
}

/* The batch being written goes to be run (without a thread: is run now). */
static void send_batch(struct lp_prov_queue *q)
{
	struct provq_batch *b = &q->b[q->sent % NBATCH];
	if (!b->n)
		return;
	q->sent++;
	if (q->threaded) {
		pthread_mutex_lock(&q->mu);
		q->sent_shared = q->sent;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->mu);
	} else {
		run_batch(q->pv, b);
		atomic_store_explicit(&q->done, q->sent, memory_order_relaxed);
		harvest(q);
	}
	/* the next one to write: run and harvested before it is reused */
	if (q->sent >= NBATCH && q->harvested <= q->sent - NBATCH)
		wait_done(q, q->sent - NBATCH + 1);
	b = &q->b[q->sent % NBATCH];
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	b->nowned = 0;
	b->n = 0;
	b->nask = 0;
}

/* Room for one more call: its message. */
static struct provq_msg *put(struct lp_prov_queue *q, enum provq_op op, const char *stage, int step)
{
	struct provq_batch *b = &q->b[q->sent % NBATCH];
	if (b->n == BATCH_MSGS) {
		send_batch(q);
		b = &q->b[q->sent % NBATCH];
	}
	struct provq_msg *x = &b->m[b->n++];
	memset(x, 0, sizeof(*x));
	x->op = (uint8_t)op;
	x->stage = stage;
	x->step = step;
	return x;
}

/* A path that lasts until its batch is run: interned ones do, others
 * (id 0) are copied. */
static const char *keep(struct lp_prov_queue *q, const char *path, uint32_t id)
{
	if (!path || id)
		return path;
	struct provq_batch *b = &q->b[q->sent % NBATCH];
	lp_grow((void **)&b->owned, &b->owned_cap, b->nowned + 1, sizeof(*b->owned));
	return b->owned[b->nowned++] = lp_xstrdup(path);
}

void lp_provq_gone(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, bool dir,
		   uint64_t ts)
{
	struct provq_msg *x = put(q, OP_GONE, stage, 0);
	x->path = keep(q, cpath, id);
	x->id = id;
	x->flag = dir;
	x->v = ts;
}

void lp_provq_placed(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, uint64_t ts)
{
	struct provq_msg *x = put(q, OP_PLACED, stage, 0);
	x->path = keep(q, cpath, id);
	x->id = id;
	x->v = ts;
}

void lp_provq_write(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step,
		    uint64_t bytes)
{
	struct provq_msg *x = put(q, OP_WRITE, stage, step);
	x->path = keep(q, cpath, id);
	x->id = id;
	x->v = bytes;
}

void lp_provq_link(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step)
{
	struct provq_msg *x = put(q, OP_LINK, stage, step);
	x->path = keep(q, cpath, id);
	x->id = id;
}

void lp_provq_delete(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step)
{
	struct provq_msg *x = put(q, OP_DELETE, stage, step);
	x->path = keep(q, cpath, id);
	x->id = id;
}

void lp_provq_rename(struct lp_prov_queue *q, const char *stage, const char *from, uint32_t from_id,
		     const char *to, uint32_t to_id, int step)
{
	struct provq_msg *x = put(q, OP_RENAME, stage, step);
	x->path = keep(q, from, from_id);
	x->id = from_id;
	x->path2 = keep(q, to, to_id);
	x->id2 = to_id;
}

void lp_provq_read(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step)
{
	struct provq_msg *x = put(q, OP_READ, stage, step);
	x->path = keep(q, cpath, id);
	x->id = id;
}

void lp_provq_ask_from_copy(struct lp_prov_queue *q, const char *stage, const struct lp_provq_ask *ask)
{
	if (q->tail - q->head == q->cap) {
		/* the ring, twice as big, its questions from 0 on in order */
		size_t nc = q->cap ? q->cap * 2 : 1024;
		struct provq_ask_ent *v = lp_xcalloc(nc, sizeof(*v));
		for (uint64_t i = q->head; i < q->tail; i++)
			v[i % nc] = q->asks[i % q->cap];
		free(q->asks);
		q->asks = v;
		q->cap = nc;
	}
	struct provq_msg *x = put(q, OP_ASK, stage, ask->step);
	struct provq_batch *b = &q->b[q->sent % NBATCH];
	b->ask[b->nask++] = (uint16_t)(x - b->m);
	x->path = ask->cpath;
	x->id = ask->id;
	x->v = q->tail;
	struct provq_ask_ent *e = &q->asks[q->tail++ % q->cap];
	e->ask = *ask;
	e->answered = false;
}

bool lp_provq_pending(const struct lp_prov_queue *q)
{
	return q->tail != q->head;
}

bool lp_provq_answer(struct lp_prov_queue *q, struct lp_provq_ask *ask, bool *yes)
{
	if (q->head == q->tail)
		return false;
	struct provq_ask_ent *e = &q->asks[q->head % q->cap];
	if (!e->answered) {
		harvest(q);
		if (!e->answered)
			return false;
	}
	*ask = e->ask;
	*yes = e->yes;
	q->head++;
	return true;
}

bool lp_provq_settle(struct lp_prov_queue *q)
{
	if (q->head == q->tail)
		return false;
	send_batch(q);
	wait_done(q, q->sent);
	return true;
}

void lp_provq_finish(struct lp_prov_queue *q)
{
	if (!q)
		return;
	send_batch(q);
	if (q->threaded) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->thread, NULL);
		pthread_cond_destroy(&q->ran);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
	}
	for (size_t k = 0; k < NBATCH; k++) {
		for (size_t i = 0; i < q->b[k].nowned; i++)
			free(q->b[k].owned[i]);
		free(q->b[k].owned);
	}
	free(q->b);
	free(q->asks);
	free(q);
}
