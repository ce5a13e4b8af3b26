/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The two passes over a trace that model_load.c drives (docs/architecture.md,
 * "The offline pipeline"), and what travels between them:
 *
 *   model_pass1.c    structure: processes, progress lines, context manifest,
 *                    snapshot dirs written
 *   model_capture.c  what pass 2 needs of each record, captured while pass 1
 *                    reads it (paths resolved and interned): an lp_p2rec
 *   model_tape.c     the lp_p2recs kept in memory, compactly, for pass 2
 *   model_pass2.c    activity: every syscall and fd aggregate summed per
 *                    step, process and (step, path)
 *
 * Internal to the model loader; not an API.
 */
#ifndef LAYERPROF_MODEL_PASS_H
#define LAYERPROF_MODEL_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"
#include "model_int.h"
#include "syscalls.h"

struct lp_resolver;

/* ------------------------------------------------------------ pass 1 */

/* A mount(2) record: a temporary mount's target shows a bind mount's
 * source or an overlay's upperdir (lp_model_note_mount). Attach-mode
 * inference (infer.c) notes mounts the same way. res: before ev. */
void lp_pass1_note_mount(struct lp_model *m, struct lp_resolver *res, const struct lp_ev_syscall *ev);
/* Pass 1 of one valid record; res is in the state before h. */
void lp_pass1_record(struct lp_model *m, struct lp_resolver *res, const struct lp_hdr *h);

/* ------------------------------------------------------------ capture */

/*
 * Pass 2 sees each record as an lp_p2rec: its fixed part (no strings) and
 * its paths, resolved in trace order by pass 1's resolver (before the
 * record itself was fed to it) and interned. Pass 1 keeps them on a tape in
 * memory, so the trace is decoded once; paths being numbers, what depends
 * on a path alone (its display form, its snapshot, whether a RUN's read of
 * it came from the context...) is worked out once per path.
 */
#define LP_P2_OVERLAY 2

struct lp_p2rec {
	union {
		struct lp_hdr h;
		struct lp_ev_syscall sc;
		struct lp_ev_fd_io io;
		struct lp_ev_exit ex;
	} r;
	uint32_t path;          /* syscall: its first path argument that resolves;
				 * fd_io: the path open on the fd */
	uint32_t str0, str1;    /* syscall strings 0 and 1 resolved: rename's new
				 * name (1); mount's source (0) and target (1) */
	uint32_t in, out;       /* copy_file_range/sendfile/splice: the fds' paths */
	uint8_t raw0;           /* mount: string 0 is there and not empty (1), or
				 * str0 is an overlay's upperdir (LP_P2_OVERLAY) */
	uint32_t shown;         /* what the views name the record by (for
				 * lp_model_replay): a syscall's
				 * lp_resolver_event_path(), an fd_io's
				 * lp_resolver_fdio_path(); mostly path (or a
				 * copy's out) */
};

/* Syscalls whose second path pass 2 needs (str1): rename's and link's new
 * name, mount's target. */
static inline bool lp_sc_wants_str1(unsigned sc)
{
	return lp_sc_is_rename(sc) || sc == LP_SC_MOUNT || sc == LP_SC_LINK || sc == LP_SC_LINKAT;
}

/*
 * The paths pass 2 needs of record h (valid), with res in the state before
 * h, into q's path fields (q->r is left alone: the tape takes the rest from
 * h itself). False for kinds pass 2 does not look at. For a syscall, *first
 * gets what the resolver's feed of h would resolve (lp_resolver_first_path_raw():
 * in fbuf, or h's own string, valid as long as h) and *have_first is set, so
 * the feed does not resolve it again. first_hash (may be NULL): the
 * lp_strtab_hash() of h's string 0 (all of its str_len[0] - 1 bytes), when
 * the caller has it.
 */
bool lp_p2_capture(struct lp_model *m, struct lp_resolver *res, const struct lp_hdr *h, struct lp_p2rec *q,
		   char *fbuf, size_t flen, const char **first, bool *have_first, const uint32_t *first_hash);
/* The fixed part of a captured record, for pass 2 straight from the trace. */
void lp_p2_fill(struct lp_p2rec *q, const struct lp_hdr *h);
/* Feed the resolver h, captured as q (have_first, first: lp_p2_capture()). */
void lp_p2_feed(struct lp_resolver *res, const struct lp_hdr *h, const struct lp_p2rec *q, bool have_first,
		const char *first);

/* --------------------------------------------------------------- tape */

/*
 * Pass 1 writes each lp_p2rec onto a tape in memory (a few bytes a record:
 * varints, times as deltas, paths as ids) so that pass 2 need not decode
 * the trace again. A tape that would grow past lp_model_tape_max (a huge
 * trace) is dropped, and pass 2 reads the trace a second time instead.
 */
struct lp_tape {
	uint8_t **chunk;
	size_t nchunk;
	uint8_t *w;                 /* writing: next byte, room up to wend */
	uint8_t *wend;
	uint64_t bytes;
	bool dropped;
	bool keep;                  /* reading frees no chunk (read again later) */
	/* keep: chunks read to their end go to an unnamed temporary file and
	 * leave memory (lp_tape_spill, model_tape.c); NULL: they stay */
	struct lp_tape_spill *spill;
	bool all_tids;              /* every record's thread is written, not only
				     * those lp_tape_keeps_tid() names */
	/* lp_tape_put_other(): copies of records the tape holds in part or
	 * not at all, each after the count of records put before it */
	struct lp_buf others;
	uint64_t nput;              /* records put */
	bool pass2_tids;            /* reading: a thread lp_tape_keeps_tid() does
				     * not name comes back 0 even if written
				     * (pass 2 sees the same either way) */
	uint64_t ts;                /* previous record's, writing or reading */
	uint32_t tgid, tid;         /* and its process and thread */
	size_t rchunk;              /* reading: chunk and position */
	const uint8_t *r;
};
/* Its budget, lp_model_tape_max: model_int.h. */
/* Record h (valid, a kind lp_p2_capture() takes), with its paths in q. */
void lp_tape_put(struct lp_tape *t, const struct lp_hdr *h, const struct lp_p2rec *q);
/* A copy of valid record h as it is, beside the tape (before lp_tape_put
 * of the same record, if it has its place on the tape too); within the
 * tape's budget. */
void lp_tape_put_other(struct lp_tape *t, const struct lp_hdr *h);
/* The records lp_tape_put_other() copied: each follows the count of
 * records put before it, and its size is padded to 8. */
struct lp_tape_other {
	uint64_t after;
	struct lp_hdr h;            /* the record, h.size bytes */
};
static inline size_t lp_tape_other_size(const struct lp_tape_other *o)
{
	return (offsetof(struct lp_tape_other, h) + o->h.size + 7) & ~(size_t)7;
}
/* The tape keeps a record's thread only where pass 2 asks for it (the
 * context snapshot's commit, model_pass2.c): writes, renames and syncs.
 * Others come back with tid 0 (18 MB more on a 10M-event trace for all,
 * which all_tids asks for). */
bool lp_tape_keeps_tid(const struct lp_hdr *h);
void lp_tape_rewind(struct lp_tape *t);
/* Before a read with keep: the chunks go to an unnamed file under TMPDIR
 * (else /var/tmp) as they are read, so that a tape kept for a view costs
 * page cache, not the process's memory, while the model grows (a 10M-event
 * trace: ~190 MiB). False (they stay in memory) when no such file can be
 * made. */
bool lp_tape_spill(struct lp_tape *t);
/* The next record of the tape into q; false at its end. A chunk read to
 * its end is freed at once (unless keep): the model grows as the tape
 * shrinks. */
bool lp_tape_get(struct lp_tape *t, struct lp_p2rec *q);
void lp_tape_free(struct lp_tape *t);

/*
 * The tape read on a thread of its own, a batch of records at a time,
 * while the caller works on the batch before: the decoding (~20 ns a
 * record), reading back a spilled chunk and handing one to the spill leave
 * the caller's path (pass 2, a view's replay), on the other core. The
 * records are the ones lp_tape_get() gives, in order. Without a thread
 * (none could be made) the caller's own call decodes the batch.
 */
struct lp_tape_ahead;
/* From t, rewound. */
struct lp_tape_ahead *lp_tape_ahead_start(struct lp_tape *t);
/* The next records (recs, their count; 0 at the tape's end), the caller's
 * to change until the next call; *chunk: the tape's chunk they end in. */
size_t lp_tape_ahead_next(struct lp_tape_ahead *a, struct lp_p2rec **recs, size_t *chunk);
/* The thread gone (whether or not the tape was read to its end). */
void lp_tape_ahead_stop(struct lp_tape_ahead *a);

/* ------------------------------------------------------------- pass 2 */

/* Before pass 2 (after correlation): mounts forgotten (pass 2 sees them
 * again in order), room for every path's pinfo at once. */
void lp_pass2_begin(struct lp_model *m);
/* Pass 2 of one captured record (its ts may be changed: fd I/O is
 * accounted at its close). */
void lp_pass2_record(struct lp_model *m, struct lp_p2rec *q);
/* Pass 2 of every record of the tape. */
void lp_pass2_replay(struct lp_model *m, struct lp_tape *t);
/* After pass 2: per-step evidence and reads_from_context onto the steps,
 * the indexes of pass 2 dropped (the files are sorted next). */
void lp_pass2_end(struct lp_model *m);

/* ------------------------------------------------- model_summary.c */

/* After pass 2: per-step counts, tables sorted, the build's summary. */
void lp_model_summarize(struct lp_model *m);

#endif
