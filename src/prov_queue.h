/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Layer provenance (provenance.h) on a thread of its own: pass 2
 * (model_pass2.c) tells it what happened, in trace order, and goes on with
 * the next record while the other core works the provenance out; about a
 * third of pass 2's work is provenance's.
 *
 * The calls are the lp_prov_*_id() ones, queued in batches and run in the
 * order given, on the thread (or, when no thread can be started, on the
 * caller's, a batch at a time: the same calls, the same results). The
 * strings given (stages, paths) must last until lp_provq_finish(); a path
 * of id 0 (not interned) is copied.
 *
 * The one question pass 2 asks back, lp_prov_from_copy_id() (is a RUN's
 * read a COPY's file?), is queued like the rest, with what its asker
 * needs to act on the answer; answers come back in the order asked
 * (lp_provq_answer), a batch or more later. An asker that must act before
 * something else changes what its action depends on waits for them all
 * (lp_provq_settle).
 */
#ifndef LAYERPROF_PROV_QUEUE_H
#define LAYERPROF_PROV_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct lp_provenance;
struct lp_prov_queue;

/* A queue in front of pv (which it does not own); threaded: run the calls
 * on a thread of its own (else on the caller's). */
struct lp_prov_queue *lp_provq_new(struct lp_provenance *pv, bool threaded);
/* Every call queued is run, the thread stopped, q freed. Answers not
 * taken are lost: take them first (lp_provq_settle, lp_provq_answer). */
void lp_provq_finish(struct lp_prov_queue *q);

void lp_provq_gone(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, bool dir,
		   uint64_t ts);
void lp_provq_placed(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, uint64_t ts);
void lp_provq_write(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step,
		    uint64_t bytes);
void lp_provq_link(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step);
void lp_provq_delete(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step);
void lp_provq_rename(struct lp_prov_queue *q, const char *stage, const char *from, uint32_t from_id,
		     const char *to, uint32_t to_id, int step);
void lp_provq_read(struct lp_prov_queue *q, const char *stage, const char *cpath, uint32_t id, int step);

/* What the asker of lp_provq_ask_from_copy() gets back with its answer. */
struct lp_provq_ask {
	const char *cpath;
	uint32_t id;
	int step;
	uint64_t gen;
};
/* lp_prov_from_copy_id(stage, cpath, id), asked in turn; ask->cpath must
 * last (an interned path), as the caller acts on it with the answer. */
void lp_provq_ask_from_copy(struct lp_prov_queue *q, const char *stage, const struct lp_provq_ask *ask);
/* The oldest answer not taken yet, if it has come: its question in *ask,
 * the answer in *yes. False when none has (not all may have been asked
 * yet: lp_provq_settle). */
bool lp_provq_answer(struct lp_prov_queue *q, struct lp_provq_ask *ask, bool *yes);
/* Wait until every question asked so far is answered (then taken one by
 * one with lp_provq_answer). True when any is waiting to be taken. */
bool lp_provq_settle(struct lp_prov_queue *q);
/* Are answers waiting (answered or not) to be taken? Cheap. */
bool lp_provq_pending(const struct lp_prov_queue *q);

#endif
