/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parser for BuildKit's `--progress=plain` output (docker build with BuildKit,
 * dockerd 20.10 and buildx alike), and of `--progress=rawjson` (buildx): a
 * line that is a SolveStatus JSON object is translated into the plain lines
 * it stands for (rawjson.h) and those are parsed; the vertices then also
 * carry the engine's exact times (has_engine_time).
 *
 * The caller feeds the lines it captured from the docker CLI, each stamped
 * with a monotonic timestamp (CLOCK_MONOTONIC ns, the clock BPF uses), and
 * gets back the build's vertices ("steps") in order of first appearance:
 *
 *   struct lp_progress *p = lp_progress_new();
 *   lp_progress_feed(p, ts_ns, chunk, n);         // raw bytes; split on '\n'
 *   lp_progress_feed_line(p, ts_ns, line, len);   // or one line at a time
 *   lp_progress_finish(p);                        // flush, compose error texts
 *   for (size_t i = 0; i < lp_progress_step_count(p); i++) {
 *           const struct lp_progress_step *s = lp_progress_step_at(p, i);
 *           printf("#%u %s cached=%d\n", s->id, s->name, s->cached);
 *   }
 *   lp_progress_free(p);
 *
 * What the plain stream looks like (real dockerd 20.10 output, see
 * tests/data/progress/):
 *
 *   #5 [internal] load build context          <- vertex header: "#N NAME"
 *   #5 sha256:08cf...                         <- vertex digest (20.10)
 *   #5 transferring context: 1.34kB done      <- status line
 *   #5 DONE 0.0s                              <- completion + duration
 *   #8 [5/5] RUN cat src/index.js > b         <- "[stage i/n] INSTRUCTION"
 *   #8 0.337 254 bundle.js                    <- output: seconds since start, text
 *   #7 CACHED                                 <- cache hit
 *   #7 ERROR: "/requirements.txt" not found: not found
 *   ------                                    <- error block: the failed step's
 *    > [3/5] COPY requirements.txt /app/:        name, then its last output
 *   ------
 *   failed to compute cache key: ...          <- final error (20.10), or
 *   ERROR: failed to solve: ...                  "error:"/"ERROR:" (buildx)
 *
 * Timing caveat: the CLI prints one vertex at a time and buffers the others,
 * so when steps run in parallel a vertex's lines may all arrive when it ends.
 * first_ts_ns is when its header was printed, not necessarily when it began;
 * end_ts_ns - duration_ns is the better start estimate for finished steps.
 *
 * Robustness: lines may be garbage, arbitrarily long (stored truncated to
 * max_line bytes, see lp_progress_set_limits), contain NUL bytes (stored as
 * '?'), end in "\r\n", and vertices may interleave (a repeated header line
 * continues the same step). Memory is bounded: at most LP_PROGRESS_MAX_STEPS
 * steps, a bounded number of output/status lines per step (the first half and
 * the most recent half are kept, the rest counted in `dropped`).
 *
 * Thread safety: none; one parser per build. No global state.
 */
#ifndef LAYERPROF_PROGRESS_H
#define LAYERPROF_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_PROGRESS_MAX_STEPS 65536
#define LP_PROGRESS_DEFAULT_MAX_LINES 64    /* output/status lines kept per step */
#define LP_PROGRESS_DEFAULT_MAX_LINE 4096   /* bytes kept per line */

/* One output ("#N 0.337 text") or status ("#N transferring ...") line. */
struct lp_progress_line {
	uint64_t ts_ns;    /* caller's timestamp of the line */
	int64_t offset_ns; /* output lines: the "0.337" (ns since step start); -1 for status lines */
	char *text;        /* the text after the offset (or after "#N ") */
};

/* A bounded line list: the first max/2 lines, then a ring of the latest ones. */
struct lp_progress_lines {
	struct lp_progress_line *v; /* private storage; use lp_progress_lines_at() */
	size_t count;               /* lines currently kept (<= the limit) */
	size_t total;               /* lines seen */
	size_t dropped;             /* lines seen but not kept (total - count) */
	size_t cap_, head_, ring_pos_;
};

/* One BuildKit vertex. Strings are never NULL unless documented; all are
 * owned by the parser and valid until lp_progress_free(). */
struct lp_progress_step {
	uint32_t id;              /* N of "#N" */
	char *name;               /* full vertex name: "[build 2/4] RUN make" */
	char *stage;              /* "build", "stage-1", "" when unnamed/none */
	char *platform;           /* "linux/amd64" when printed, else "" */
	unsigned index, total;    /* i/n of "[stage i/n]"; 0/0 when absent */
	/* "FROM", "RUN", "COPY", "ADD", "WORKDIR", ... (any Dockerfile keyword),
	 * "INTERNAL" for "[internal] ...", "EXPORT" for "exporting to image" (and
	 * other "exporting ..."), "OTHER" for anything else. Static string. */
	const char *instruction;
	char *text;               /* name without the "[...] " prefix: "RUN make" */
	char *digest;             /* "sha256:..." line (20.10), "" when none */
	bool cached;              /* "#N CACHED" */
	bool done;                /* "#N DONE ..." */
	bool failed;              /* "#N ERROR..." */
	bool canceled;            /* "#N CANCELED" */
	bool has_duration;
	uint64_t duration_ns;     /* "#N DONE 1.2s" -> 1200000000 */
	char *error;              /* message of "#N ERROR: msg", NULL when none */
	/* After lp_progress_finish(): error + "\n" + the lines of its "------"
	 * block (the " > [name]:" line included) + "\n" + the final error line
	 * (when one was printed). NULL when the step did not fail. */
	char *error_text;
	uint64_t first_ts_ns;     /* timestamp of the first "#N" line */
	uint64_t last_ts_ns;      /* timestamp of the last "#N" line */
	uint64_t end_ts_ns;       /* timestamp of DONE/CACHED/ERROR/CANCELED; 0 if none */
	/* --progress=rawjson only (after lp_progress_finish()): the engine's own
	 * times of the vertex, CLOCK_REALTIME ns: first start, last completion
	 * (0 when it never completed), and the sum of its active intervals
	 * (what DONE prints). has_engine_time is false for plain streams. */
	bool has_engine_time;
	uint64_t engine_start_ns, engine_end_ns, engine_active_ns;
	bool has_transfer;
	uint64_t transfer_bytes;  /* max of "transferring context|dockerfile: 1.34kB" */
	struct lp_progress_lines output; /* "#N 0.123 text" lines */
	struct lp_progress_lines status; /* other "#N text" lines */
	struct lp_progress_lines block_; /* private: error block lines */
};

struct lp_progress;

/* A new parser, or NULL when out of memory. */
struct lp_progress *lp_progress_new(void);
/* Per-step line limit (>= 2) and bytes kept per line (>= 16); call before feeding. */
void lp_progress_set_limits(struct lp_progress *p, size_t max_lines, size_t max_line);
void lp_progress_free(struct lp_progress *p);

/* Feed one line (without or with its trailing "\n" / "\r\n"). */
void lp_progress_feed_line(struct lp_progress *p, uint64_t ts_ns, const char *line, size_t len);
/* Feed raw bytes; lines are split on '\n', a partial last line is kept until
 * more bytes or lp_progress_finish(). ts_ns stamps the lines completed by it. */
void lp_progress_feed(struct lp_progress *p, uint64_t ts_ns, const char *data, size_t len);
/* Flush a partial line and compose error_text. Idempotent; feeding after it
 * is allowed (call it again). */
void lp_progress_finish(struct lp_progress *p);

size_t lp_progress_step_count(const struct lp_progress *p);
const struct lp_progress_step *lp_progress_step_at(const struct lp_progress *p, size_t i);
const struct lp_progress_step *lp_progress_step_by_id(const struct lp_progress *p, uint32_t id);
/* The first step whose name is exactly `name`, or NULL. */
const struct lp_progress_step *lp_progress_step_by_name(const struct lp_progress *p, const char *name);
/* Line i (0 = oldest kept) of a step's output/status list, NULL when out of range. */
const struct lp_progress_line *lp_progress_lines_at(const struct lp_progress_lines *l, size_t i);

/* True for steps that are Dockerfile instructions ("[i/n] ..." present). */
bool lp_progress_step_is_instruction(const struct lp_progress_step *s);
/* A vertex name parsed alone, as the parser parses the names of its steps
 * (name, stage, platform, index/total, instruction and text set; nothing
 * else): the one step-name parser, also for names that come from elsewhere
 * (the model's steps, infer.c's). NULL when out of memory; free it with
 * lp_progress_step_name_free(). */
struct lp_progress_step *lp_progress_parse_step_name(const char *name);
void lp_progress_step_name_free(struct lp_progress_step *s);

/* Whole-build facts. */
/* True when the stream was --progress=rawjson (SolveStatus JSON lines,
 * translated to plain lines by rawjson.h before parsing). */
bool lp_progress_is_rawjson(const struct lp_progress *p);
/* True when a step failed or a final error line was seen. */
bool lp_progress_failed(const struct lp_progress *p);
/* The final error line as printed ("failed to compute cache key: ...",
 * "ERROR: failed to solve: ..."), or NULL. */
const char *lp_progress_final_error(const struct lp_progress *p);
/* buildx: the builder and its driver of "#0 building with "NAME" instance
 * using DRIVER driver" ("default"/"docker", "mybuilder"/"remote", ...); NULL
 * when not printed (dockerd 20.10's own client). The #0 line is also a step. */
const char *lp_progress_builder(const struct lp_progress *p);
const char *lp_progress_builder_driver(const struct lp_progress *p);
/* buildx: "#N WARN: Rule: text" lines (Dockerfile lint warnings; each is
 * also a status line of #N), and N of the trailing "N warnings found"
 * summary (-1 when not printed). The CLI may print fewer WARN lines than
 * the summary counts (seen on docker 29: 1 of 3); the summary is exact.
 * Nor is the final error taken from the "error: ..."/"fatal: ..." lines of
 * git that follow buildx's "WARNING: current commit information was not
 * captured by the build: ..." (a context with a broken .git). The summary and its " - Rule: ..." lines
 * are never taken for the final error. */
size_t lp_progress_warning_count(const struct lp_progress *p);
long lp_progress_warnings_found(const struct lp_progress *p);
/* Bytes of "[internal] load build context" (sum over such vertices of the max
 * "transferring context:" size of each); 0 when none. */
uint64_t lp_progress_context_bytes(const struct lp_progress *p);
/* Timestamps of the first and last line fed (0 when none). */
uint64_t lp_progress_first_ts(const struct lp_progress *p);
uint64_t lp_progress_last_ts(const struct lp_progress *p);
/* Lines fed, lines that were not "#N ..." vertex lines, lines truncated. */
size_t lp_progress_line_count(const struct lp_progress *p);
size_t lp_progress_other_line_count(const struct lp_progress *p);
size_t lp_progress_truncated_count(const struct lp_progress *p);

/* Helpers, exposed for tests and other parsers. */
/* "1.34kB" -> 1340, "2B" -> 2, "35.2MB", "1.5GiB"; false on junk. */
bool lp_progress_parse_size(const char *s, size_t len, uint64_t *out);
/* "1.2s" -> 1200000000, "0.0s", "150ms", "1m2.5s"; false on junk. */
bool lp_progress_parse_duration(const char *s, size_t len, uint64_t *out_ns);

#endif
