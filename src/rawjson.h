/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * BuildKit's `--progress=rawjson` stream (buildx, docker CLI >= 23): one
 * SolveStatus JSON object per line, as the engine sent it:
 *
 *   {"vertexes":[{"digest":"sha256:..","name":"[2/5] RUN make",
 *                 "started":"2026-12-06T10:47:59.420247712Z",
 *                 "completed":"...","cached":false,"error":"..."}],
 *    "statuses":[{"id":"transferring context:","vertex":"sha256:..",
 *                 "current":96,"completed":"..."}],
 *    "logs":[{"vertex":"sha256:..","stream":1,"data":"<base64>",
 *             "timestamp":"..."}],
 *    "warnings":[{"vertex":"sha256:..","short":"<base64>",...}]}
 *
 * A vertex is sent again whenever it changes (started, completed, started
 * again...), so its exact times are there: when it first started, when it
 * last completed, and how long it was active (the sum of its intervals,
 * what buildx prints as DONE). Lines that are not JSON (the Dockerfile
 * snippet and "ERROR: failed to build: ..." that buildx prints as text at
 * the end) are not the translator's.
 *
 * The translator turns the stream into the lines BuildKit's plain printer
 * would have printed ("#N name", "#N 0.091 output", "#N transferring
 * context: 96B done", "#N WARN: ...", "#N DONE 0.1s", "#N CACHED",
 * "#N ERROR: msg", "#N CANCELED"), so that one parser (progress.c) reads
 * both formats and record shows the user a readable log. N is assigned
 * in order of the vertices' first start, from 1.
 *
 * Memory: one entry per vertex, the partial output line of each; no cap on
 * vertices beyond LP_PROGRESS_MAX_STEPS (the parser's). No global state.
 */
#ifndef LAYERPROF_RAWJSON_H
#define LAYERPROF_RAWJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lp_rawjson;

/* One translated line (no trailing '\n'); valid during the call only. */
typedef void (*lp_rawjson_emit_fn)(void *ctx, const char *line, size_t len);

/* The times the engine reported for a vertex, in CLOCK_REALTIME ns (the
 * engine's clock; same host for every engine layerprof supports). */
struct lp_rawjson_times {
	uint64_t started_ns;   /* first start; 0 when it never started */
	uint64_t completed_ns; /* last completion; 0 when it never completed */
	uint64_t active_ns;    /* sum of its started..completed intervals */
	bool cached;
};

struct lp_rawjson *lp_rawjson_new(void);
void lp_rawjson_free(struct lp_rawjson *t);

/* Translate one line. Returns false (and emits nothing) when the line is
 * not a SolveStatus object (a JSON object with a "vertexes", "statuses",
 * "logs" or "warnings" array): the caller treats it as a text line. */
bool lp_rawjson_feed(struct lp_rawjson *t, const char *line, size_t len, lp_rawjson_emit_fn emit,
		     void *ctx);

/* Emit the output lines still waiting for their '\n'. */
void lp_rawjson_flush(struct lp_rawjson *t, lp_rawjson_emit_fn emit, void *ctx);

/* Times of vertex #N; false when no vertex has that number. */
bool lp_rawjson_times_of(const struct lp_rawjson *t, uint32_t id, struct lp_rawjson_times *out);

/* Helpers, exposed for tests. */
/* "2026-12-06T10:47:59.420087624Z" or "...+01:00" -> ns since the epoch. */
bool lp_rawjson_parse_time(const char *s, uint64_t *out_ns);
/* Standard base64 (padding optional); returns the decoded length, or
 * (size_t)-1 on a bad character. out needs (len / 4 + 1) * 3 bytes. */
size_t lp_base64_decode(const char *in, size_t len, unsigned char *out);

#endif
