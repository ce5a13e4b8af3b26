/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Read-ahead (readahead.h): a second thread copies batches of records into
 * a few buffers the two hand back and forth.
 */
#include "readahead.h"

#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "util.h"

#define RA_BUF (1u << 20)
#define RA_REC_MAX (65536u + 8) /* lp_hdr.size is 16 bits */

static void *ra_main(void *arg)
{
	struct lp_readahead *ra = arg;
	for (;;) {
		pthread_mutex_lock(&ra->mu);
		while (ra->nfull == LP_RA_NBUF && !ra->quit)
			pthread_cond_wait(&ra->cv, &ra->mu);
		bool quit = ra->quit;
		unsigned slot = (ra->head + ra->nfull) % LP_RA_NBUF;
		pthread_mutex_unlock(&ra->mu);
		if (quit)
			break;
		uint8_t *b = ra->buf[slot];
		size_t len = 0;
		bool eof = false;
		while (len + RA_REC_MAX <= RA_BUF) {
			const struct lp_hdr *h;
			if (lp_reader_next(ra->r, &h) != 1) {
				eof = true;
				break;
			}
			memcpy(b + len, h, h->size);
			len += ((size_t)h->size + 7) & ~(size_t)7; /* records stay 8-aligned */
		}
		pthread_mutex_lock(&ra->mu);
		ra->len[slot] = len;
		ra->nfull++;
		ra->eof = eof;
		pthread_cond_broadcast(&ra->cv);
		pthread_mutex_unlock(&ra->mu);
		if (eof)
			break;
	}
	return NULL;
}

void lp_readahead_start(struct lp_readahead *ra, struct lp_reader *r)
{
	memset(ra, 0, sizeof(*ra));
	ra->r = r;
	for (int i = 0; i < LP_RA_NBUF; i++)
		ra->buf[i] = lp_xmalloc(RA_BUF);
	if (pthread_mutex_init(&ra->mu, NULL))
		return;
	if (pthread_cond_init(&ra->cv, NULL)) {
		pthread_mutex_destroy(&ra->mu);
		return;
	}
	if (pthread_create(&ra->thread, NULL, ra_main, ra)) {
		pthread_cond_destroy(&ra->cv);
		pthread_mutex_destroy(&ra->mu);
		return;
	}
	ra->threaded = true;
}

/* lp_reader_next() through the read-ahead. The records of the buffer the
 * consumer holds are read without the lock: the thread fills only the
 * others. */
int lp_readahead_next(struct lp_readahead *ra, const struct lp_hdr **rec)
{
	if (!ra->threaded)
		return lp_reader_next(ra->r, rec);
	for (;;) {
		if (ra->holding && ra->off < ra->cur_len) {
			const struct lp_hdr *h = (const void *)(ra->buf[ra->head] + ra->off);
			ra->off += ((size_t)h->size + 7) & ~(size_t)7;
			*rec = h;
			return 1;
		}
		pthread_mutex_lock(&ra->mu);
		if (ra->holding) { /* done with it: back to the thread */
			ra->holding = false;
			ra->head = (ra->head + 1) % LP_RA_NBUF;
			ra->nfull--;
			pthread_cond_broadcast(&ra->cv);
		}
		while (!ra->nfull && !ra->eof)
			pthread_cond_wait(&ra->cv, &ra->mu);
		if (!ra->nfull) {
			pthread_mutex_unlock(&ra->mu);
			return 0;
		}
		ra->holding = true;
		ra->off = 0;
		ra->cur_len = ra->len[ra->head];
		pthread_mutex_unlock(&ra->mu);
	}
}

void lp_readahead_stop(struct lp_readahead *ra)
{
	if (ra->threaded) {
		pthread_mutex_lock(&ra->mu);
		ra->quit = true;
		pthread_cond_broadcast(&ra->cv);
		pthread_mutex_unlock(&ra->mu);
		pthread_join(ra->thread, NULL);
		pthread_cond_destroy(&ra->cv);
		pthread_mutex_destroy(&ra->mu);
	}
	for (int i = 0; i < LP_RA_NBUF; i++)
		free(ra->buf[i]);
	memset(ra, 0, sizeof(*ra));
}

/* A bind mount in pass 2 (note_mount_ev() of a captured record). */
