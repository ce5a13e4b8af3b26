/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The records of a trace reader, decoded (inflated) by a second thread
 * while the caller works on the ones before. Used by model_load.c.
 *
 *   struct lp_readahead ra;
 *   lp_readahead_start(&ra, reader);
 *   while (lp_readahead_next(&ra, &h) == 1) ...;
 *   lp_readahead_stop(&ra);
 */
#ifndef LAYERPROF_READAHEAD_H
#define LAYERPROF_READAHEAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

struct lp_reader;

#define LP_RA_NBUF 4

struct lp_readahead {
	struct lp_reader *r;
	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf[LP_RA_NBUF];
	size_t len[LP_RA_NBUF];
	unsigned head, nfull;       /* full buffers, oldest first */
	bool eof, quit;
	bool holding;               /* the consumer reads buf[head]... */
	size_t off, cur_len;        /* ...at off, of cur_len bytes */
};

/* Without a thread (it could not be made) the records are read in place. */
void lp_readahead_start(struct lp_readahead *ra, struct lp_reader *r);
/* lp_reader_next() through the read-ahead: 1 and *rec, or 0 at the end. */
int lp_readahead_next(struct lp_readahead *ra, const struct lp_hdr **rec);
void lp_readahead_stop(struct lp_readahead *ra);

#endif
