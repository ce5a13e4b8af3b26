// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the BuildKit progress parser (progress.h) on hostile
 * output. `record` feeds it whatever the traced `docker build` printed, and
 * `report` re-parses the progress lines stored in a trace someone sent.
 *
 * The input is the raw stream (the seeds are real --progress=plain
 * captures, tests/data/progress/). From a hash of the input the harness
 * picks the per-step limits (sometimes the defaults) and a chunking, then:
 *   A. feeds the stream whole with lp_progress_feed();
 *   B. feeds it in pseudo-random chunks with lp_progress_feed() (finish()
 *      called in the middle once, as the API allows);
 *   C. feeds it line by line with lp_progress_feed_line();
 * walks every step, line and accessor of each, checks the documented
 * invariants (limits, NUL-terminated strings, lookups) and that A and C
 * saw the same build (a stream's meaning does not depend on how read(2)
 * cut it). B is only walked: a finish() in the middle may legitimately
 * flush half a line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

#include "fuzz_require.h"

static volatile size_t g_sink;

static void check_str(const char *s, size_t max)
{
	REQUIRE(s, "documented non-NULL string");
	size_t n = strlen(s); /* ASan: must be terminated inside its buffer */
	REQUIRE(!max || n <= max, "line text within max_line");
	g_sink += n;
}

static void walk_lines(const struct lp_progress_lines *l, size_t max_lines, size_t max_line)
{
	REQUIRE(l->count <= max_lines && l->count <= l->total && l->dropped == l->total - l->count, "line list bounded: count <= max_lines, dropped = total - count");
	for (size_t i = 0; i < l->count; i++) {
		const struct lp_progress_line *ln = lp_progress_lines_at(l, i);
		REQUIRE(ln, "lines_at(i < count) is not NULL");
		check_str(ln->text, max_line);
	}
	REQUIRE(!lp_progress_lines_at(l, l->count), "lines_at(count) is NULL");
}

/* Walk everything; return a digest of the steps' meaning (no timestamps). */
static uint64_t walk(const struct lp_progress *p, size_t max_lines, size_t max_line)
{
	uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
	size_t n = lp_progress_step_count(p);
	REQUIRE(n <= LP_PROGRESS_MAX_STEPS, "at most LP_PROGRESS_MAX_STEPS steps");
	MIX(n);
	for (size_t i = 0; i < n; i++) {
		const struct lp_progress_step *s = lp_progress_step_at(p, i);
		REQUIRE(s, "step_at(i < count) is not NULL");
		check_str(s->name, 0);
		check_str(s->stage, 0);
		check_str(s->platform, 0);
		check_str(s->instruction, 0);
		check_str(s->text, 0);
		check_str(s->digest, 0);
		if (s->error)
			check_str(s->error, 0);
		if (s->error_text)
			check_str(s->error_text, 0);
		walk_lines(&s->output, max_lines, max_line);
		walk_lines(&s->status, max_lines, max_line);
		const struct lp_progress_step *b = lp_progress_step_by_id(p, s->id);
		REQUIRE(b && b->id == s->id, "step_by_id finds the step");
		b = lp_progress_step_by_name(p, s->name);
		REQUIRE(b && !strcmp(b->name, s->name), "step_by_name finds a step of that name");
		(void)lp_progress_step_is_instruction(s);
		MIX(s->id);
		for (const char *c = s->name; *c; c++)
			MIX((unsigned char)*c);
		MIX(s->cached | s->done << 1 | s->failed << 2 | s->canceled << 3);
		MIX(s->duration_ns);
		MIX(s->transfer_bytes);
		MIX(s->output.total);
		MIX(s->status.total);
	}
	REQUIRE(!lp_progress_step_at(p, n), "step_at(count) is NULL");
	const char *fe = lp_progress_final_error(p);
	if (fe)
		check_str(fe, 0);
	MIX(lp_progress_failed(p));
	MIX(lp_progress_context_bytes(p));
	MIX(lp_progress_line_count(p));
	MIX(lp_progress_other_line_count(p));
	(void)lp_progress_truncated_count(p);
	(void)lp_progress_first_ts(p);
	(void)lp_progress_last_ts(p);
	return h;
#undef MIX
}

static struct lp_progress *make(int custom, size_t max_lines, size_t max_line)
{
	struct lp_progress *p = lp_progress_new();
	if (!p)
		abort();
	if (custom)
		lp_progress_set_limits(p, max_lines, max_line);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return -1;
	const char *text = (const char *)data;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	int custom = h & 1;
	size_t max_lines = custom ? 2 + (h >> 1) % 9 : LP_PROGRESS_DEFAULT_MAX_LINES;
	size_t max_line = custom ? 16 + (h >> 5) % 64 : LP_PROGRESS_DEFAULT_MAX_LINE;

	/* A: whole */
	struct lp_progress *a = make(custom, max_lines, max_line);
	lp_progress_feed(a, 1000, text, size);
	lp_progress_finish(a);
	uint64_t ha = walk(a, max_lines, max_line);
	lp_progress_finish(a); /* idempotent */
	REQUIRE(walk(a, max_lines, max_line) == ha, "finish() is idempotent");

	/* B: chunks, with a finish() in the middle */
	struct lp_progress *b = make(custom, max_lines, max_line);
	uint32_t x = h | 1;
	size_t off = 0, mid = size / 2;
	bool finished_mid = false;
	uint64_t ts = 1;
	while (off < size) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t k = 1 + x % 97;
		if (k > size - off)
			k = size - off;
		lp_progress_feed(b, ts++, text + off, k);
		off += k;
		if (!finished_mid && off >= mid) {
			lp_progress_finish(b);
			(void)walk(b, max_lines, max_line);
			finished_mid = true;
		}
	}
	lp_progress_finish(b);
	(void)walk(b, max_lines, max_line);

	/* C: line by line */
	struct lp_progress *c = make(custom, max_lines, max_line);
	off = 0;
	while (off < size) {
		const char *nl = memchr(text + off, '\n', size - off);
		size_t end = nl ? (size_t)(nl - text) + 1 : size;
		lp_progress_feed_line(c, 1000, text + off, end - off);
		off = end;
	}
	lp_progress_finish(c);
	REQUIRE(walk(c, max_lines, max_line) == ha, "feed() and feed_line() of the same stream give the same build");

	/* the helpers, on the first line's words */
	uint64_t v;
	for (size_t i = 0, start = 0; i <= size && i < 4096; i++) {
		if (i == size || text[i] == ' ' || text[i] == '\n') {
			(void)lp_progress_parse_size(text + start, i - start, &v);
			(void)lp_progress_parse_duration(text + start, i - start, &v);
			start = i + 1;
		}
	}

	lp_progress_free(a);
	lp_progress_free(b);
	lp_progress_free(c);
	return 0;
}
