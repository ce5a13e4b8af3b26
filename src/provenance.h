/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Provenance of the files a build step sees: is the file a RUN opens at a
 * container path still the one a COPY placed there from the build context?
 *
 * A read counts as "from the context" (reads_from_context, layer-order,
 * context-bloat) only when it is. An installer that deletes what COPY put
 * in node_modules/ and writes its own copies, a RUN that truncates or
 * renames over a copied file, a directory removed and re-created: the
 * file read afterwards is the step's own, not the context's.
 *
 * Pass 2 (model_pass2.c) tells it, in trace order, per stage (each stage
 * is its own file system):
 *   lp_prov_gone()    a RUN process deleted, renamed away, renamed over,
 *                     truncated, created or opened for writing a path; a
 *                     directory (removed or renamed): everything under it
 *   lp_prov_placed()  a COPY/ADD wrote the path into its layer: the
 *                     context's copy is there again
 * and asks lp_prov_from_copy() at each read: true unless the path, or a
 * directory above it, is gone since it was last placed.
 */
#ifndef LAYERPROF_PROVENANCE_H
#define LAYERPROF_PROVENANCE_H

#include <stdbool.h>
#include <stdint.h>

struct lp_provenance;

struct lp_provenance *lp_prov_new(void);
void lp_prov_free(struct lp_provenance *pv);

/* cpath: an absolute container path ("/app/x"). dir: cpath names a
 * directory whose whole tree went (rmdir, rm -r, rename of a directory). */
void lp_prov_gone(struct lp_provenance *pv, const char *stage, const char *cpath, bool dir, uint64_t ts);
void lp_prov_placed(struct lp_provenance *pv, const char *stage, const char *cpath, uint64_t ts);
bool lp_prov_from_copy(const struct lp_provenance *pv, const char *stage, const char *cpath);
/* Paths marked gone in all (tests, statistics). */
uint64_t lp_prov_gone_count(const struct lp_provenance *pv);

#endif
