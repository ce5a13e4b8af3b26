// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the `--progress=rawjson` translator (rawjson.h) on
 * hostile streams. `record` feeds it whatever the traced docker CLI printed
 * (and the Chrome export whatever a trace someone sent stored), so no line
 * may crash it, leak or make it print past what it was given.
 *
 * The input is the raw stream (the seeds are real rawjson captures of the
 * engines, tests/data/progress/ENGINE/NAME.rawjson), cut at '\n' as record cuts it.
 * Each line goes to the translator; a line it declines goes to the progress
 * parser as text, and every line it emits goes there too, as in record.
 * Then:
 *   - the whole run again on a new translator emits the same lines (a
 *     translation depends on the stream alone, no hidden state);
 *   - every emitted line is its given length (no NUL inside) and holds no
 *     '\n' (record prints each on a line of its own);
 *   - vertex numbers start at 1: #0 has no times, nor has a number past
 *     the steps the parser saw plus one; a vertex's active time is 0 when
 *     it never completed;
 *   - the helpers hold on the raw input: base64 never writes past the room
 *     its header promises, a time parse of any prefix returns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "rawjson.h"

#include "fuzz_require.h"

/* A digest of what was emitted, and the parser that reads it. */
struct sink {
	uint64_t h;
	size_t lines;
	struct lp_progress *p;
};

static void on_line(void *ctx, const char *line, size_t len)
{
	struct sink *s = ctx;
	REQUIRE(line, "an emitted line is not NULL");
	REQUIRE(!memchr(line, '\0', len), "an emitted line holds no NUL inside its length");
	REQUIRE(!memchr(line, '\n', len), "an emitted line holds no newline");
	for (size_t i = 0; i < len; i++)
		s->h = (s->h ^ (uint8_t)line[i]) * 1099511628211ull;
	s->h = (s->h ^ 0x100) * 1099511628211ull; /* the line's end */
	s->lines++;
	if (s->p)
		lp_progress_feed_line(s->p, (uint64_t)s->lines, line, len);
}

/* Translate the stream; the translator stays alive for the caller's checks. */
static struct lp_rawjson *run(const uint8_t *data, size_t size, struct sink *s)
{
	struct lp_rawjson *t = lp_rawjson_new();
	REQUIRE(t, "lp_rawjson_new");
	size_t at = 0;
	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
		/* an exact-size copy: ASan sees any read past the line */
		char *line = malloc(len ? len : 1);
		REQUIRE(line, "malloc");
		memcpy(line, data + at, len);
		if (!lp_rawjson_feed(t, line, len, on_line, s) && s->p)
			lp_progress_feed_line(s->p, (uint64_t)at, line, len);
		free(line);
		at += len + (nl != NULL);
	}
	lp_rawjson_flush(t, on_line, s);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = { .h = 1469598103934665603ull, .p = lp_progress_new() };
	REQUIRE(a.p, "lp_progress_new");
	struct lp_rawjson *t = run(data, size, &a);
	lp_progress_finish(a.p);

	struct lp_rawjson_times tm;
	REQUIRE(!lp_rawjson_times_of(t, 0, &tm), "vertex numbers start at 1");
	size_t steps = lp_progress_step_count(a.p);
	for (uint32_t id = 1; id <= steps + 1 && id <= 4096; id++)
		if (lp_rawjson_times_of(t, id, &tm))
			REQUIRE(tm.completed_ns || !tm.active_ns, "a vertex that never completed was active for 0 ns");
	REQUIRE(!lp_rawjson_times_of(t, UINT32_MAX, &tm), "no vertex #4294967295");
	lp_rawjson_free(t);
	lp_progress_free(a.p);

	struct sink b = { .h = 1469598103934665603ull };
	lp_rawjson_free(run(data, size, &b));
	REQUIRE(a.h == b.h && a.lines == b.lines, "the same stream translates to the same lines");

	/* the helpers, on the raw bytes */
	size_t room = (size / 4 + 1) * 3;
	unsigned char *out = malloc(room);
	REQUIRE(out, "malloc");
	size_t n = lp_base64_decode((const char *)data, size, out);
	REQUIRE(n == (size_t)-1 || n <= room, "base64 decodes within (len / 4 + 1) * 3 bytes");
	free(out);
	char *s = malloc(size + 1);
	REQUIRE(s, "malloc");
	memcpy(s, data, size);
	s[size] = 0;
	uint64_t ns;
	(void)lp_rawjson_parse_time(s, &ns);
	free(s);
	return 0;
}
