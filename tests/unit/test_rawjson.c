// SPDX-License-Identifier: BSD-2-Clause
/*
 * --progress=rawjson: the translator (rawjson.c) and the parser reading it
 * (progress.c), on the engines' real transcripts (tests/data/progress/
 * <engine>/NAME.rawjson, recorded by tests/engines/run.sh) and synthetic
 * streams. Expected times are the engine's own, read off the files.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "rawjson.h"

#define MS 1000000ull

static struct lp_progress *parse_file(const char *name)
{
	const char *root = getenv("LP_TEST_ROOT");
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/data/progress/%s", root ? root : ".", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	struct lp_progress *p = lp_progress_new();
	cr_assert_not_null(p);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t ts = MS;
	while ((n = getline(&line, &cap, f)) > 0) {
		lp_progress_feed_line(p, ts, line, (size_t)n);
		ts += MS;
	}
	free(line);
	fclose(f);
	lp_progress_finish(p);
	return p;
}

static uint64_t t(const char *rfc3339)
{
	uint64_t ns = 0;
	cr_assert(lp_rawjson_parse_time(rfc3339, &ns), "%s", rfc3339);
	return ns;
}

Test(rawjson, time_and_base64)
{
	cr_expect_eq(t("1970-01-01T00:00:00Z"), 0);
	cr_expect_eq(t("2026-12-06T10:47:59.420087624Z"), 1796554079420087624ull);
	cr_expect_eq(t("2026-12-06T11:47:59.42Z"), 1796557679420000000ull);
	cr_expect_eq(t("2026-12-06T12:47:59.420087624+01:00"), 1796557679420087624ull);
	cr_expect_eq(t("2026-12-06T09:47:59.420087624-01:00"), 1796554079420087624ull);
	uint64_t x;
	const char *bad[] = { "", "2026-12-06", "2026-12-06T10:47:59", "2026-13-06T10:47:59Z",
			      "2026-12-06T10:47:59.Z", "2026-12-06T10:47:59Zjunk", "2026-12-06 10:47:59Z" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!lp_rawjson_parse_time(bad[i], &x), "%s", bad[i]);

	unsigned char out[64];
	size_t n = lp_base64_decode("aGVsbG8K", 8, out);
	cr_assert_eq(n, 6);
	cr_expect(memcmp(out, "hello\n", 6) == 0);
	cr_expect_eq(lp_base64_decode("YQ==", 4, out), 1);
	cr_expect_eq(out[0], 'a');
	cr_expect_eq(lp_base64_decode("YWI", 3, out), 2);
	cr_expect_eq(lp_base64_decode("Y!Q=", 4, out), (size_t)-1);
}

/* The same failed build on every engine that prints rawjson: the failed
 * step, its exact error, the final error line, the lint warnings. */
Test(rawjson, failed_build_on_every_engine)
{
	static const char *const engines[] = { "docker-28.4", "docker-28.4-containerd", "docker-29",
					       "buildkitd-0.24" };
	for (size_t k = 0; k < sizeof(engines) / sizeof(engines[0]); k++) {
		char name[128];
		snprintf(name, sizeof(name), "%s/warnings-fail.rawjson", engines[k]);
		struct lp_progress *p = parse_file(name);
		cr_expect(lp_progress_is_rawjson(p), "%s", name);
		cr_expect(lp_progress_failed(p), "%s", name);
		cr_expect_str_eq(lp_progress_final_error(p),
				 "ERROR: failed to build: failed to solve: process \"/bin/sh -c exit 3\" did not "
				 "complete successfully: exit code: 3",
				 "%s", name);
		const struct lp_progress_step *r = lp_progress_step_by_name(p, "[3/3] RUN exit 3");
		cr_assert_not_null(r, "%s", name);
		cr_expect(r->failed && !r->done && !r->cached, "%s", name);
		cr_expect_str_eq(r->error,
				 "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3");
		cr_expect(r->has_engine_time && r->engine_end_ns > r->engine_start_ns, "%s", name);
		/* both lint warnings arrive as structured messages: none is lost */
		cr_expect_eq(lp_progress_warning_count(p), 2, "%s: %zu", name, lp_progress_warning_count(p));
		const struct lp_progress_step *d =
			lp_progress_step_by_name(p, "[internal] load build definition from Dockerfile");
		cr_assert_not_null(d);
		cr_expect_eq(d->id, 1);
		/* rawjson has no "#0 building with ..." line */
		cr_expect_null(lp_progress_builder(p));
		lp_progress_free(p);
	}
}

Test(rawjson, missing_file)
{
	struct lp_progress *p = parse_file("docker-28.4/missing-file.rawjson");
	const struct lp_progress_step *c = lp_progress_step_by_name(p, "[3/5] COPY requirements.txt /app/");
	cr_assert_not_null(c);
	cr_expect(c->failed);
	cr_expect(strstr(c->error, "\"/requirements.txt\": not found") != NULL, "%s", c->error);
	/* the engine's own times of the failed vertex, as in the file */
	cr_expect_eq(c->engine_start_ns, t("2026-12-06T10:47:59.475096428Z"));
	cr_expect_eq(c->engine_end_ns, t("2026-12-06T10:47:59.475104864Z"));
	cr_expect_eq(c->engine_active_ns, 8436);
	cr_expect(strncmp(lp_progress_final_error(p), "ERROR: failed to build: failed to solve: failed to compute cache key: ",
			  70) == 0);
	lp_progress_free(p);
}

/* buildkitd 0.24 (remote driver), a cold multi-stage build: every step,
 * its cache state and its engine times (first start, last completion,
 * the sum of its active intervals) as the file has them. */
Test(rawjson, multi_stage_times)
{
	struct lp_progress *p = parse_file("buildkitd-0.24/multi-stage-nocache.rawjson");
	cr_expect(!lp_progress_failed(p));
	const struct lp_progress_step *from =
		lp_progress_step_by_name(p, "[build 1/4] FROM docker.io/layerprof/busybox:latest@sha256:"
					    "56e581d5f401c3556e4b4d6f32414f811f1981c5cf20ec8833625069303b1544");
	cr_assert_not_null(from);
	cr_expect(from->cached);
	const struct lp_progress_step *run = lp_progress_step_by_name(
		p, "[build 4/4] RUN mkdir -p /out &&     cat main.c lib.c > /out/app.txt &&     sha256sum "
		   "/out/app.txt > /out/app.sha256");
	cr_assert_not_null(run);
	cr_expect(run->done && !run->cached && !run->failed);
	cr_expect_eq(run->id, 8);
	cr_expect_eq(run->engine_active_ns, 329554557);
	cr_expect_eq(run->engine_end_ns - run->engine_start_ns, 329554557);
	cr_expect(run->has_duration);
	cr_expect_eq(run->duration_ns, 300 * MS); /* "DONE 0.3s", as buildx prints */
	const struct lp_progress_step *cp =
		lp_progress_step_by_name(p, "[runtime 2/4] COPY --from=build /out/app.txt /out/app.sha256 "
					    "/usr/local/share/app/");
	cr_assert_not_null(cp);
	cr_expect_str_eq(cp->stage, "runtime");
	cr_expect_eq(cp->engine_active_ns, 32599684);
	size_t cached = 0, steps = lp_progress_step_count(p);
	for (size_t i = 0; i < steps; i++)
		cached += lp_progress_step_at(p, i)->cached;
	cr_expect_eq(steps, 12);
	cr_expect_eq(cached, 2); /* the FROM and the WORKDIR */
	lp_progress_free(p);
}

Test(rawjson, transfer_and_image_lines)
{
	struct lp_progress *p = parse_file("docker-28.4/bloated-nocache.rawjson");
	cr_expect_eq(lp_progress_context_bytes(p), 2713); /* exact bytes: rawjson has no rounding */
	const struct lp_progress_step *e = lp_progress_step_by_name(p, "exporting to image");
	cr_assert_not_null(e);
	bool image = false;
	for (size_t i = 0; i < e->status.count; i++)
		image |= !strcmp(lp_progress_lines_at(&e->status, i)->text,
				 "writing image sha256:54c3b284a2ccd4e20bb7b61e481b9128d7ae0bc1832fdcc3395dbde08ba6770f done");
	cr_expect(image);
	const struct lp_progress_step *r = lp_progress_step_by_name(p, "[4/4] RUN sh /app/app.sh");
	cr_assert_not_null(r);
	cr_assert_eq(r->output.count, 1);
	cr_expect_str_eq(lp_progress_lines_at(&r->output, 0)->text, "app: configured");
	lp_progress_free(p);
}

/* buildx asks git for the context's commit; a broken .git makes it print
 * "WARNING: ..." and git's "error:"/"fatal:" lines after the rawjson, on a
 * build that succeeded: they are not the build's error. */
Test(rawjson, git_warning_is_not_an_error)
{
	static const char *const files[] = { "docker-29/bloated-nocache.rawjson",
					     "docker-28.4/bloated-nocache.rawjson" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct lp_progress *p = parse_file(files[i]);
		cr_expect(lp_progress_is_rawjson(p), "%s", files[i]);
		cr_expect(!lp_progress_failed(p), "%s", files[i]);
		cr_expect_null(lp_progress_final_error(p), "%s: %s", files[i], lp_progress_final_error(p));
		lp_progress_free(p);
	}
}

struct lines {
	char buf[4096];
	size_t n;
};

static void collect(void *ctx, const char *line, size_t len)
{
	struct lines *l = ctx;
	int w = snprintf(l->buf + l->n, sizeof(l->buf) - l->n, "%.*s\n", (int)len, line);
	if (w > 0)
		l->n += (size_t)w;
}

/* A vertex started twice (BuildKit re-runs a vertex's function), updates
 * repeated, output split across log messages: active time counts each
 * interval once, lines are joined. */
Test(rawjson, intervals_and_split_output)
{
	struct lp_rawjson *tr = lp_rawjson_new();
	struct lines l = { .n = 0 };
	static const char *const in[] = {
		"{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/2] RUN x\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/2] RUN x\",\"started\":\"2026-01-01T00:00:01Z\"}]}",
		"{\"logs\":[{\"vertex\":\"sha256:a\",\"stream\":1,\"data\":\"aGVs\",\"timestamp\":\"2026-01-01T00:00:01.5Z\"}]}",
		"{\"logs\":[{\"vertex\":\"sha256:a\",\"stream\":1,\"data\":\"bG8Kd29y\",\"timestamp\":\"2026-01-01T00:00:02Z\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/2] RUN x\",\"started\":\"2026-01-01T00:00:01Z\",\"completed\":\"2026-01-01T00:00:03Z\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/2] RUN x\",\"started\":\"2026-01-01T00:00:01Z\",\"completed\":\"2026-01-01T00:00:03Z\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/2] RUN x\",\"started\":\"2026-01-01T00:00:05Z\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/2] RUN x\",\"started\":\"2026-01-01T00:00:05Z\",\"completed\":\"2026-01-01T00:00:06.5Z\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:b\",\"name\":\"[2/2] COPY y .\",\"cached\":true,\"started\":\"2026-01-01T00:00:06Z\",\"completed\":\"2026-01-01T00:00:06Z\"}]}",
		"{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"never started\"}]}",
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert(lp_rawjson_feed(tr, in[i], strlen(in[i]), collect, &l), "line %zu", i);
	lp_rawjson_flush(tr, collect, &l);
	/* an unfinished output line is shown when its vertex completes */
	cr_expect_str_eq(l.buf, "#1 [1/2] RUN x\n"
				"#1 1.000 hello\n"
				"#1 2.000 wor\n"
				"#1 DONE 2.0s\n"
				"#1 DONE 3.5s\n"
				"#2 [2/2] COPY y .\n"
				"#2 CACHED\n");
	struct lp_rawjson_times tm;
	cr_assert(lp_rawjson_times_of(tr, 1, &tm));
	cr_expect_eq(tm.active_ns, 3500 * MS);
	cr_expect_eq(tm.started_ns, t("2026-01-01T00:00:01Z"));
	cr_expect_eq(tm.completed_ns, t("2026-01-01T00:00:06.5Z"));
	cr_expect(!tm.cached);
	cr_assert(lp_rawjson_times_of(tr, 2, &tm));
	cr_expect(tm.cached);
	cr_expect(!lp_rawjson_times_of(tr, 3, &tm)); /* the vertex that never started has no #N */
	lp_rawjson_free(tr);
}

/* Lines that are not SolveStatus objects are the caller's text lines; a
 * stream mixing both (buildx prints its final error as text) parses. */
Test(rawjson, not_status_lines)
{
	struct lp_rawjson *tr = lp_rawjson_new();
	struct lines l = { .n = 0 };
	static const char *const text[] = {
		"ERROR: failed to build: failed to solve: x", "{\"vertexes\":[{\"digest\":", "{}",
		"{\"foo\":[1]}", "[1,2]", "", "{\"vertexes\":{}}",
	};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		cr_expect(!lp_rawjson_feed(tr, text[i], strlen(text[i]), collect, &l), "%s", text[i]);
	cr_expect_eq(l.n, 0);
	/* junk inside a status object is skipped, the rest is used */
	const char *odd = "{\"vertexes\":[1,{\"name\":\"no digest\"},{\"digest\":\"sha256:d\",\"name\":\"ok\","
			  "\"started\":\"not a time\",\"completed\":\"2026-01-01T00:00:01Z\",\"error\":\"boom\"}],"
			  "\"logs\":[{\"vertex\":\"sha256:d\",\"data\":\"!!!\"}],\"statuses\":[{\"vertex\":\"sha256:zz\"}]}";
	cr_expect(lp_rawjson_feed(tr, odd, strlen(odd), collect, &l));
	cr_expect_str_eq(l.buf, "#1 ok\n#1 ERROR: boom\n");
	lp_rawjson_free(tr);

	struct lp_progress *p = lp_progress_new();
	const char *a = "{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/1] RUN false\","
			"\"started\":\"2026-01-01T00:00:01Z\",\"completed\":\"2026-01-01T00:00:02Z\","
			"\"error\":\"process \\\"/bin/sh -c false\\\" did not complete successfully: exit code: 1\"}]}";
	lp_progress_feed_line(p, MS, a, strlen(a));
	const char *e = "ERROR: failed to build: failed to solve: process \"/bin/sh -c false\" did not complete "
			"successfully: exit code: 1";
	lp_progress_feed_line(p, 2 * MS, e, strlen(e));
	lp_progress_finish(p);
	cr_expect(lp_progress_is_rawjson(p));
	cr_expect(lp_progress_failed(p));
	cr_expect_str_eq(lp_progress_final_error(p), e);
	const struct lp_progress_step *s = lp_progress_step_by_id(p, 1);
	cr_assert_not_null(s);
	cr_expect(s->failed);
	cr_expect_eq(s->engine_end_ns - s->engine_start_ns, 1000 * MS);
	lp_progress_free(p);
}

/* A name or error with a newline in it (a heredoc's text, a multi-line
 * error) comes out as that many lines, as the plain printer
 * prints it: every emitted line is one line, and the parser reads the
 * step's name from the first. */
Test(rawjson, multi_line_texts_are_lines)
{
	struct lp_rawjson *tr = lp_rawjson_new();
	struct lines l = { .n = 0 };
	const char *in = "{\"vertexes\":[{\"digest\":\"sha256:a\",\"name\":\"[1/1] RUN <<EOF\\necho hi\\nEOF\","
			 "\"started\":\"2026-01-01T00:00:01Z\",\"completed\":\"2026-01-01T00:00:02Z\","
			 "\"error\":\"one\\ntwo\"}],"
			 "\"warnings\":[{\"vertex\":\"sha256:a\",\"short\":\"d2FybiAxCndhcm4gMg==\"}]}";
	cr_assert(lp_rawjson_feed(tr, in, strlen(in), collect, &l));
	lp_rawjson_flush(tr, collect, &l);
	cr_expect_str_eq(l.buf, "#1 [1/1] RUN <<EOF\n"
				"echo hi\n"
				"EOF\n"
				"#1 ERROR: one\n"
				"two\n"
				"#1 WARN: warn 1 warn 2\n"); /* (a warning is one line already) */
	lp_rawjson_free(tr);

	struct lp_progress *p = lp_progress_new();
	lp_progress_feed_line(p, MS, in, strlen(in));
	lp_progress_finish(p);
	const struct lp_progress_step *s = lp_progress_step_by_id(p, 1);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "[1/1] RUN <<EOF");
	cr_expect(s->failed);
	lp_progress_free(p);
}
