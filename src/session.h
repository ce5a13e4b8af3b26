/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A session: the docker builds one recording holds when the recorded
 * command ran several (a script, make, docker-compose), each seen through
 * record's docker shim (shim.h) as LP_REC_BUILD records around its own
 * progress stream. report models each build apart (lp_model_options.build):
 * only its progress lines and context list, and only the kernel's file and
 * syscall events between its start and end (the process tree is kept
 * whole: it is needed to know who is who).
 *
 * Builds that ran in parallel overlap in time: each one's model then also
 * holds the other's daemon-side events of the common window (a known
 * limit, said in the report).
 */
#ifndef LAYERPROF_SESSION_H
#define LAYERPROF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lp_hdr;
struct lp_reader;

struct lp_session_build {
	int index;          /* 0-based, in start order */
	uint32_t pid;       /* its docker CLI */
	uint64_t begin_ns;  /* LP_REC_BUILD BEGIN / END times; end 0 when none */
	uint64_t end_ns;
	char *json;         /* the BEGIN record's JSON (META "build" shape) */
	bool overlaps;      /* another build of the session ran at the same time */
	uint32_t bake_index; /* a target of `docker buildx bake`: 1 + its index
			      * (its progress records' hdr.tid), 0 otherwise */
};

struct lp_session {
	struct lp_session_build *builds;
	size_t n;
};

/* The builds of the trace open in r (read to its end, then rewound).
 * Returns 0 (n may be 0: not a session), -1 when it cannot be read. */
int lp_session_list(struct lp_reader *r, struct lp_session *out);
void lp_session_free(struct lp_session *s);

struct lp_model;

/* Was the trace at path recorded with record's docker shim (META
 * "docker_shim": its builds are in LP_REC_BUILD records)? Reads only
 * the file's META. */
bool lp_session_recorded(const char *path);

/* The models of the builds of the trace at path, in start order: one per
 * session build, or one of the whole recording when it holds none. 0, or
 * -1 with one line in err. progress: say "build k of n" on stderr (tty). */
int lp_session_load(const char *path, bool progress, struct lp_model ***models, size_t *n, char *err,
		    size_t errlen);

/* Does record h belong to the model of build b? */
bool lp_session_keeps(const struct lp_session_build *b, const struct lp_hdr *h);

#endif
