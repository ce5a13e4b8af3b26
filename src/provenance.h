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
#include <stddef.h>
#include <stdint.h>

#include "model.h" /* struct lp_layer_counts, _change, _read */

struct lp_provenance;

struct lp_provenance *lp_prov_new(void);
void lp_prov_free(struct lp_provenance *pv);

/* cpath: an absolute container path ("/app/x"). dir: cpath names a
 * directory whose whole tree went (rmdir, rm -r, rename of a directory). */
void lp_prov_gone(struct lp_provenance *pv, const char *stage, const char *cpath, bool dir, uint64_t ts);
void lp_prov_placed(struct lp_provenance *pv, const char *stage, const char *cpath, uint64_t ts);
bool lp_prov_from_copy(struct lp_provenance *pv, const char *stage, const char *cpath);
/* Paths marked gone in all (tests, statistics). */
uint64_t lp_prov_gone_count(const struct lp_provenance *pv);

/*
 * Layer ownership: which step's layer holds the version of a file that is
 * at a container path now, and what each step did to the versions earlier
 * steps made (docs/architecture.md, "Layer provenance"). An image keeps
 * every layer: a file a later step deletes or writes again still takes its
 * bytes in the earlier step's layer. Pass 2 tells, in trace order, per
 * stage, for the files (not directories) of RUN and COPY/ADD steps:
 *   lp_prov_write()   step wrote the file (opened it for writing: bytes 0;
 *                     then the bytes its writes carried, as measured)
 *   lp_prov_delete()  step removed it (unlink)
 *   lp_prov_rename()  step renamed from over to (from goes, to is written
 *                     with from's bytes: overlayfs copies a lower file up)
 *   lp_prov_read()    step read it: noted when the version it read had
 *                     replaced an earlier step's (lp_prov_reads)
 * The results are the model's (model.h: lp_step.layer, lp_model.layer_*).
 * Steps are model step indexes (>= 0). A file no step of the trace wrote
 * (the base image's, a cached step's) has no owner: writing it counts as
 * created, removing it as deleted; removing then writing it (as a copy
 * over an existing file does) as overwritten: a change from step -1, no
 * bytes.
 */
void lp_prov_write(struct lp_provenance *pv, const char *stage, const char *cpath, int step, uint64_t bytes);
void lp_prov_delete(struct lp_provenance *pv, const char *stage, const char *cpath, int step);
void lp_prov_rename(struct lp_provenance *pv, const char *stage, const char *from, const char *to, int step);
void lp_prov_read(struct lp_provenance *pv, const char *stage, const char *cpath, int step);
/* What step did (all zero when nothing). */
struct lp_layer_counts lp_prov_step_counts(const struct lp_provenance *pv, int step);
const struct lp_layer_change *lp_prov_changes(const struct lp_provenance *pv, size_t *n);
const struct lp_layer_read *lp_prov_reads(const struct lp_provenance *pv, size_t *n);

/*
 * The same by path id: each call below may give cpath's id in the caller's
 * table of interned paths (lp_strtab: one id per string, so the same id is
 * the same path), or 0 for a path of no id. Answers are the string calls'
 * own; a file's entry is found without hashing its key. The table itself
 * is never read (it may grow on another thread meanwhile), and cpath must
 * last until the call returns.
 */
void lp_prov_gone_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, bool dir,
		     uint64_t ts);
void lp_prov_placed_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, uint64_t ts);
bool lp_prov_from_copy_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id);
/* Most ids given will be below n (the paths interned so far): the arrays
 * by id are made that big at once, not grown by doubling (memory). */
void lp_prov_expect_ids(struct lp_provenance *pv, size_t n);
void lp_prov_write_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step,
		      uint64_t bytes);
void lp_prov_delete_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step);
/* step made a symbolic link at cpath: counted as a file of its layer (created
 * or overwritten), left out of the layer findings (no file data) */
void lp_prov_link_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step);
void lp_prov_rename_id(struct lp_provenance *pv, const char *stage, const char *from, uint32_t from_id,
		       const char *to, uint32_t to_id, int step);
void lp_prov_read_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step);

#endif
