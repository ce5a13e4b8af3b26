/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the BuildKit --progress=plain parser, on outputs captured from
 * real builds of tests/fixtures/ on dockerd 20.10 (tests/data/progress/) and
 * on synthetic streams for the robustness cases.
 *
 *   gcc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -Isrc \
 *       tests/unit/test_progress.c src/progress.c -lcriterion -o /tmp/t && /tmp/t
 *
 * Run from the repository root (or set LP_TEST_ROOT to it).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

#define MS 1000000ull

static char *slurp(const char *name, size_t *len)
{
	const char *root = getenv("LP_TEST_ROOT");
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/data/progress/%s", root ? root : ".", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *copy = malloc(n + 1);
	cr_assert_not_null(copy);
	memcpy(copy, buf, n + 1);
	*len = n;
	return copy;
}

/* Feeds a captured file line by line; line i (0-based) is stamped (i+1) ms. */
static struct lp_progress *parse_file(const char *name)
{
	size_t len;
	char *text = slurp(name, &len);
	struct lp_progress *p = lp_progress_new();
	cr_assert_not_null(p);
	uint64_t ts = MS;
	for (char *s = text; s < text + len; ts += MS) {
		char *nl = memchr(s, '\n', (size_t)(text + len - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(text + len - s);
		lp_progress_feed_line(p, ts, s, n);
		s += n + (nl ? 1 : 0);
	}
	lp_progress_finish(p);
	free(text);
	return p;
}

static struct lp_progress *parse_str(const char *text)
{
	struct lp_progress *p = lp_progress_new();
	cr_assert_not_null(p);
	lp_progress_feed(p, 5 * MS, text, strlen(text));
	lp_progress_finish(p);
	return p;
}

/* One NUL-free line. */
static void feed(struct lp_progress *p, uint64_t ts, const char *line)
{
	lp_progress_feed_line(p, ts, line, strlen(line));
}

static const struct lp_progress_step *step(const struct lp_progress *p, uint32_t id)
{
	const struct lp_progress_step *s = lp_progress_step_by_id(p, id);
	cr_assert_not_null(s, "no step #%u", id);
	return s;
}

static void expect_step(const struct lp_progress *p, size_t at, uint32_t id, const char *name,
			const char *instruction, const char *stage, unsigned index, unsigned total)
{
	const struct lp_progress_step *s = lp_progress_step_at(p, at);
	cr_assert_not_null(s, "no step at %zu", at);
	cr_expect_eq(s->id, id, "step %zu: id %u, want %u", at, s->id, id);
	cr_expect_str_eq(s->name, name);
	cr_expect_str_eq(s->instruction, instruction, "#%u instruction %s, want %s", id, s->instruction,
			 instruction);
	cr_expect_str_eq(s->stage, stage);
	cr_expect_eq(s->index, index);
	cr_expect_eq(s->total, total);
}

Test(progress_real, bad_order_first_build)
{
	struct lp_progress *p = parse_file("bad-order-first.txt");
	cr_assert_eq(lp_progress_step_count(p), 10);
	expect_step(p, 0, 1, "[internal] load build definition from Dockerfile", "INTERNAL", "", 0, 0);
	expect_step(p, 1, 2, "[internal] load .dockerignore", "INTERNAL", "", 0, 0);
	expect_step(p, 2, 3, "[internal] load metadata for docker.io/layerprof/busybox:latest", "INTERNAL", "", 0, 0);
	expect_step(p, 3, 9, "[1/5] FROM docker.io/layerprof/busybox", "FROM", "", 1, 5);
	expect_step(p, 4, 5, "[internal] load build context", "INTERNAL", "", 0, 0);
	expect_step(p, 5, 4, "[2/5] WORKDIR /app", "WORKDIR", "", 2, 5);
	expect_step(p, 6, 6, "[3/5] COPY . .", "COPY", "", 3, 5);
	expect_step(p, 7, 7,
		    "[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt",
		    "RUN", "", 4, 5);
	expect_step(p, 8, 8, "[5/5] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js", "RUN", "",
		    5, 5);
	expect_step(p, 9, 10, "exporting to image", "EXPORT", "", 0, 0);

	for (size_t i = 0; i < lp_progress_step_count(p); i++) {
		const struct lp_progress_step *s = lp_progress_step_at(p, i);
		cr_expect(s->done && !s->cached && !s->failed && !s->canceled, "#%u state", s->id);
		cr_expect(s->has_duration);
		cr_expect_null(s->error);
		cr_expect_null(s->error_text);
	}
	const struct lp_progress_step *run = step(p, 7);
	cr_expect_str_eq(run->text, "RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	cr_expect_eq(run->duration_ns, 3200 * MS);
	cr_expect_str_eq(run->digest, "sha256:870c65cb4e886a071a033a46b3d6cbb3faef3170257a1443fe03d66880446ac6");
	/* header on line 32, DONE on line 34 */
	cr_expect_eq(run->first_ts_ns, 32 * MS);
	cr_expect_eq(run->last_ts_ns, 34 * MS);
	cr_expect_eq(run->end_ts_ns, 34 * MS);
	cr_expect_eq(run->output.count, 0);

	const struct lp_progress_step *build = step(p, 8);
	cr_expect_eq(build->duration_ns, 300 * MS);
	cr_assert_eq(build->output.count, 1);
	const struct lp_progress_line *l = lp_progress_lines_at(&build->output, 0);
	cr_expect_str_eq(l->text, "254 bundle.js");
	cr_expect_eq(l->offset_ns, 337 * (int64_t)MS);
	cr_expect_eq(l->ts_ns, 38 * MS);
	cr_expect_null(lp_progress_lines_at(&build->output, 1));

	cr_expect_eq(step(p, 1)->transfer_bytes, 417);
	cr_expect_eq(step(p, 2)->transfer_bytes, 2);
	cr_expect(step(p, 5)->has_transfer);
	cr_expect_eq(step(p, 5)->transfer_bytes, 1340);
	cr_expect(!step(p, 3)->has_transfer);
	cr_expect_eq(lp_progress_context_bytes(p), 1340);

	const struct lp_progress_step *exp = step(p, 10);
	cr_assert_eq(exp->status.count, 3);
	cr_expect_str_eq(lp_progress_lines_at(&exp->status, 0)->text, "exporting layers 0.0s done");
	cr_expect_str_eq(lp_progress_lines_at(&exp->status, 1)->text,
			 "writing image sha256:ad1f1bf442fad21c37a793ef9ec7cdf2ba47cbb4dbf813fc401ee47615b71316 done");
	cr_expect_str_eq(lp_progress_lines_at(&exp->status, 2)->text, "naming to docker.io/library/lp-bad done");
	cr_expect_eq(lp_progress_lines_at(&exp->status, 0)->offset_ns, -1);

	cr_expect(lp_progress_step_is_instruction(step(p, 9)));
	cr_expect(!lp_progress_step_is_instruction(step(p, 5)));
	cr_expect(!lp_progress_step_is_instruction(exp));
	cr_expect(!lp_progress_failed(p));
	cr_expect_null(lp_progress_final_error(p));
	cr_expect_eq(lp_progress_line_count(p), 46);
	cr_expect_eq(lp_progress_other_line_count(p), 9); /* the blank separators */
	cr_expect_eq(lp_progress_first_ts(p), 1 * MS);
	cr_expect_eq(lp_progress_last_ts(p), 46 * MS);
	cr_expect_eq(lp_progress_step_by_name(p, "[3/5] COPY . ."), step(p, 6));
	cr_expect_null(lp_progress_step_by_name(p, "[3/5] COPY ."));
	cr_expect_null(lp_progress_step_by_id(p, 11));
	lp_progress_free(p);
}

Test(progress_real, bad_order_fully_cached)
{
	struct lp_progress *p = parse_file("bad-order-cached.txt");
	cr_assert_eq(lp_progress_step_count(p), 10);
	expect_step(p, 4, 6, "[internal] load build context", "INTERNAL", "", 0, 0);
	uint32_t cached[] = { 5, 7, 8, 9 };
	for (size_t i = 0; i < 4; i++) {
		const struct lp_progress_step *s = step(p, cached[i]);
		cr_expect(s->cached && !s->done && !s->has_duration, "#%u should be CACHED only", s->id);
		cr_expect_eq(s->end_ts_ns, s->last_ts_ns);
	}
	cr_expect(!step(p, 4)->cached && step(p, 4)->done); /* FROM */
	cr_expect_str_eq(step(p, 8)->name,
			 "[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	cr_expect_eq(lp_progress_context_bytes(p), 178);
	cr_expect_eq(step(p, 1)->transfer_bytes, 32);
	cr_expect_str_eq(lp_progress_lines_at(&step(p, 10)->status, 0)->text, "exporting layers done");
	cr_expect(!lp_progress_failed(p));
	lp_progress_free(p);
}

Test(progress_real, bad_order_rebuild_after_editing_index_js)
{
	struct lp_progress *p = parse_file("bad-order-edit-index.txt");
	cr_assert_eq(lp_progress_step_count(p), 10);
	cr_expect(step(p, 5)->cached);                       /* WORKDIR */
	cr_expect(!step(p, 7)->cached && step(p, 7)->done);  /* COPY . . re-ran */
	cr_expect_str_eq(step(p, 7)->name, "[3/5] COPY . .");
	cr_expect(!step(p, 8)->cached);                      /* the slow RUN re-ran */
	cr_expect_eq(step(p, 8)->duration_ns, 3200 * MS);
	cr_expect_eq(step(p, 9)->duration_ns, 300 * MS);
	cr_expect_str_eq(lp_progress_lines_at(&step(p, 9)->output, 0)->text, "264 bundle.js");
	cr_expect_eq(lp_progress_lines_at(&step(p, 9)->output, 0)->offset_ns, 330 * (int64_t)MS);
	cr_expect_eq(lp_progress_context_bytes(p), 357);
	lp_progress_free(p);
}

Test(progress_real, good_order_rebuild_keeps_slow_step_cached)
{
	struct lp_progress *p = parse_file("good-order-edit-index.txt");
	cr_assert_eq(lp_progress_step_count(p), 11);
	expect_step(p, 6, 7, "[3/6] COPY package.json ./", "COPY", "", 3, 6);
	expect_step(p, 8, 9, "[5/6] COPY . .", "COPY", "", 5, 6);
	cr_expect(step(p, 7)->cached);
	cr_expect(step(p, 8)->cached);
	cr_expect_str_eq(step(p, 8)->text,
			 "RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	cr_expect(!step(p, 9)->cached && step(p, 9)->done);
	cr_expect(!step(p, 10)->cached);
	cr_expect_eq(step(p, 10)->duration_ns, 200 * MS);
	cr_expect_eq(lp_progress_context_bytes(p), 357);
	lp_progress_free(p);

	p = parse_file("good-order-first.txt");
	cr_assert_eq(lp_progress_step_count(p), 11);
	/* WORKDIR /app was cached by the earlier bad-order build on that daemon */
	for (size_t i = 0; i < 11; i++)
		cr_expect_eq(lp_progress_step_at(p, i)->cached, lp_progress_step_at(p, i)->id == 5, "#%u",
			     lp_progress_step_at(p, i)->id);
	cr_expect_eq(lp_progress_context_bytes(p), 1290);
	lp_progress_free(p);
}

Test(progress_real, missing_file_fails_with_error_block)
{
	struct lp_progress *p = parse_file("missing-file.txt");
	cr_assert_eq(lp_progress_step_count(p), 7);
	expect_step(p, 6, 7, "[3/5] COPY requirements.txt /app/", "COPY", "", 3, 5);
	const struct lp_progress_step *s = step(p, 7);
	cr_expect(s->failed && !s->done && !s->cached);
	cr_expect_str_eq(s->error, "\"/requirements.txt\" not found: not found");
	cr_expect_str_eq(s->error_text, "\"/requirements.txt\" not found: not found\n"
					"> [3/5] COPY requirements.txt /app/:\n"
					"failed to compute cache key: \"/requirements.txt\" not found: not found");
	cr_expect_eq(s->end_ts_ns, 30 * MS);
	cr_expect(lp_progress_failed(p));
	cr_expect_str_eq(lp_progress_final_error(p),
			 "failed to compute cache key: \"/requirements.txt\" not found: not found");
	for (size_t i = 0; i < 6; i++) {
		const struct lp_progress_step *o = lp_progress_step_at(p, i);
		cr_expect(!o->failed && o->error == NULL && o->error_text == NULL, "#%u", o->id);
	}
	cr_expect(step(p, 5)->cached);
	cr_expect_eq(lp_progress_context_bytes(p), 96);
	lp_progress_free(p);
}

Test(progress_real, failing_run_keeps_output_and_error)
{
	struct lp_progress *p = parse_file("run-fails.txt");
	cr_assert_eq(lp_progress_step_count(p), 6);
	const struct lp_progress_step *s = step(p, 6);
	cr_expect_str_eq(s->instruction, "RUN");
	cr_expect(s->failed);
	cr_assert_eq(s->output.count, 3);
	cr_expect_str_eq(lp_progress_lines_at(&s->output, 0)->text, "warning: something");
	cr_expect_str_eq(lp_progress_lines_at(&s->output, 1)->text, "compiling...");
	cr_expect_str_eq(lp_progress_lines_at(&s->output, 2)->text, "ls: /nonexistent/dir: No such file or directory");
	cr_expect_eq(lp_progress_lines_at(&s->output, 2)->offset_ns, 166 * (int64_t)MS);
	const char *err = "executor failed running [/bin/sh -c echo \"compiling...\" && echo \"warning: something\" "
			  ">&2 && ls /nonexistent/dir && echo never]: exit code: 1";
	cr_expect_str_eq(s->error, err);
	cr_expect_str_eq(lp_progress_final_error(p), err);
	char want[1024];
	snprintf(want, sizeof(want),
		 "%s\n> [3/3] RUN echo \"compiling...\" && echo \"warning: something\" >&2 && ls /nonexistent/dir && "
		 "echo never:\n%s",
		 err, err);
	cr_expect_str_eq(s->error_text, want);
	cr_expect(step(p, 4)->cached);
	lp_progress_free(p);
}

Test(progress_real, multi_stage_names)
{
	struct lp_progress *p = parse_file("multi-stage.txt");
	cr_assert_eq(lp_progress_step_count(p), 12);
	expect_step(p, 3, 4, "[build 1/4] FROM docker.io/layerprof/busybox", "FROM", "build", 1, 4);
	expect_step(p, 5, 5, "[build 2/4] WORKDIR /src", "WORKDIR", "build", 2, 4);
	expect_step(p, 6, 7, "[build 3/4] COPY main.c lib.c ./", "COPY", "build", 3, 4);
	expect_step(p, 7, 8,
		    "[build 4/4] RUN mkdir -p /out &&     cat main.c lib.c > /out/app.txt &&     sha256sum "
		    "/out/app.txt > /out/app.sha256",
		    "RUN", "build", 4, 4);
	expect_step(p, 8, 9, "[runtime 2/4] COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/",
		    "COPY", "runtime", 2, 4);
	expect_step(p, 9, 10, "[runtime 3/4] COPY --chown=0:0 config.ini /etc/app/config.ini", "COPY", "runtime", 3, 4);
	expect_step(p, 10, 11, "[runtime 4/4] RUN [\"sh\", \"-c\", \"cat /etc/app/config.ini > /dev/null\"]", "RUN",
		    "runtime", 4, 4);
	expect_step(p, 11, 12, "exporting to image", "EXPORT", "", 0, 0);
	cr_expect(step(p, 4)->cached);
	cr_expect_str_eq(step(p, 9)->text, "COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/");
	cr_expect_str_eq(step(p, 9)->platform, "");
	cr_expect_eq(step(p, 8)->duration_ns, 200 * MS);
	cr_expect_eq(lp_progress_context_bytes(p), 292);
	lp_progress_free(p);
}

Test(progress_real, bloated_context_size)
{
	struct lp_progress *p = parse_file("bloated.txt");
	cr_expect_eq(lp_progress_context_bytes(p), 408360);
	cr_expect_str_eq(lp_progress_lines_at(&step(p, 6)->status, 0)->text, "transferring context: 408.36kB 0.0s done");
	cr_expect_str_eq(step(p, 7)->name, "[3/4] COPY . /app/");
	cr_expect_str_eq(lp_progress_lines_at(&step(p, 8)->output, 0)->text, "app: configured");
	lp_progress_free(p);
}

Test(progress_real, parallel_stages)
{
	struct lp_progress *p = parse_file("parallel.txt");
	cr_assert_eq(lp_progress_step_count(p), 9);
	expect_step(p, 3, 4, "[left 1/2] FROM docker.io/layerprof/busybox", "FROM", "left", 1, 2);
	expect_step(p, 4, 7,
		    "[right 2/2] RUN for i in 1 2 3 4; do echo \"right $i\"; sleep 1.2; done; echo right > /r.txt",
		    "RUN", "right", 2, 2);
	expect_step(p, 5, 5,
		    "[left 2/2] RUN for i in 1 2 3 4; do echo \"left $i\"; sleep 1.2; done > /dev/stderr; echo left > "
		    "/l.txt",
		    "RUN", "left", 2, 2);
	expect_step(p, 6, 6, "[stage-2 2/3] COPY --from=left /l.txt /", "COPY", "stage-2", 2, 3);
	expect_step(p, 7, 8, "[stage-2 3/3] COPY --from=right /r.txt /", "COPY", "stage-2", 3, 3);
	cr_expect_eq(step(p, 7)->duration_ns, 5100 * MS);
	cr_expect_eq(step(p, 5)->duration_ns, 5100 * MS);
	cr_assert_eq(step(p, 5)->output.count, 4);
	cr_expect_str_eq(lp_progress_lines_at(&step(p, 5)->output, 3)->text, "left 4");
	cr_expect_eq(lp_progress_lines_at(&step(p, 5)->output, 3)->offset_ns, 3836 * (int64_t)MS);
	cr_expect_eq(lp_progress_context_bytes(p), 0);
	lp_progress_free(p);
}

Test(progress_real, printed_names_keep_blanks_and_expansions)
{
	struct lp_progress *p = parse_file("normalize.txt");
	cr_expect_not_null(lp_progress_step_by_name(p, "[builder 2/8] WORKDIR /opt/x"));
	cr_expect_not_null(lp_progress_step_by_name(
		p, "[builder 3/8] RUN echo \"hello my app\" 'single $NAME'   && echo 1.2   \t&& echo done"));
	cr_expect_not_null(lp_progress_step_by_name(p, "[builder 4/8] COPY [b c.txt, a.txt, /dst/]"));
	cr_expect_not_null(lp_progress_step_by_name(p, "[builder 6/8] RUN echo  two   spaces\ttab"));
	const struct lp_progress_step *s = lp_progress_step_by_name(p, "[stage-1 1/4] COPY --from=Builder /dst/a.txt /a");
	cr_assert_not_null(s);
	cr_expect_str_eq(s->stage, "stage-1");
	cr_expect_str_eq(lp_progress_lines_at(&lp_progress_step_by_name(p, "[builder 7/8] RUN [\"echo\", \"my app\", \"x\"]")->output, 0)->text,
			 "$NAME x");
	lp_progress_free(p);
}

Test(progress_real, chunked_feed_equals_line_feed)
{
	const char *files[] = { "bad-order-first.txt", "missing-file.txt", "multi-stage.txt", "run-fails.txt" };
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct lp_progress *a = parse_file(files[f]);
		size_t len;
		char *text = slurp(files[f], &len);
		for (size_t chunk = 1; chunk < 40; chunk += 7) {
			struct lp_progress *b = lp_progress_new();
			for (size_t i = 0; i < len; i += chunk)
				lp_progress_feed(b, 1, text + i, len - i < chunk ? len - i : chunk);
			lp_progress_finish(b);
			cr_assert_eq(lp_progress_step_count(a), lp_progress_step_count(b));
			for (size_t i = 0; i < lp_progress_step_count(a); i++) {
				const struct lp_progress_step *x = lp_progress_step_at(a, i), *y = lp_progress_step_at(b, i);
				cr_expect_eq(x->id, y->id);
				cr_expect_str_eq(x->name, y->name);
				cr_expect_eq(x->cached, y->cached);
				cr_expect_eq(x->duration_ns, y->duration_ns);
				cr_expect_eq(x->transfer_bytes, y->transfer_bytes);
				cr_expect_eq(x->output.count, y->output.count);
				if (x->error_text)
					cr_expect_str_eq(x->error_text, y->error_text);
			}
			lp_progress_free(b);
		}
		free(text);
		lp_progress_free(a);
	}
}

/* ---- synthetic streams ---- */

Test(progress_synthetic, interleaved_vertices_and_repeated_headers)
{
	struct lp_progress *p = parse_str("#7 [right 2/2] RUN sleep 5\n"
					  "#7 0.230 right 1\n"
					  "\n"
					  "#5 [left 2/2] RUN sleep 5\n"
					  "#5 0.233 left 1\n"
					  "\n"
					  "#7 [right 2/2] RUN sleep 5\n"
					  "#7 3.834 right 4\n"
					  "#7 DONE 5.1s\n"
					  "\n"
					  "#5 [left 2/2] RUN sleep 5\n"
					  "#5 DONE 5.2s\n");
	cr_assert_eq(lp_progress_step_count(p), 2);
	const struct lp_progress_step *r = step(p, 7), *l = step(p, 5);
	cr_expect_eq(r->output.count, 2);
	cr_expect_eq(r->status.count, 0);
	cr_expect_str_eq(lp_progress_lines_at(&r->output, 1)->text, "right 4");
	cr_expect_eq(r->duration_ns, 5100 * MS);
	cr_expect_eq(l->output.count, 1);
	cr_expect_eq(l->status.count, 0);
	cr_expect_eq(l->duration_ns, 5200 * MS);
	lp_progress_free(p);
}

Test(progress_synthetic, buildx_style_failure)
{
	struct lp_progress *p = parse_str(
		"#0 building with \"default\" instance using docker driver\n"
		"\n"
		"#5 [2/2] RUN false\n"
		"#5 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n"
		"#6 [3/3] RUN sleep 9\n"
		"#6 CANCELED\n"
		"------\n"
		" > [2/2] RUN false:\n"
		"0.213 some output\n"
		"------\n"
		"Dockerfile:2\n"
		"--------------------\n"
		"   1 |     FROM busybox\n"
		"   2 | >>> RUN false\n"
		"--------------------\n"
		"ERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n");
	cr_assert_eq(lp_progress_step_count(p), 3);
	cr_expect_str_eq(step(p, 0)->instruction, "OTHER");
	cr_expect_str_eq(step(p, 0)->name, "building with \"default\" instance using docker driver");
	const struct lp_progress_step *s = step(p, 5);
	cr_expect(s->failed);
	cr_expect_str_eq(s->error, "process \"/bin/sh -c false\" did not complete successfully: exit code: 1");
	cr_expect_str_eq(lp_progress_final_error(p),
			 "ERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1");
	cr_expect_str_eq(s->error_text,
			 "process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n"
			 "> [2/2] RUN false:\n"
			 "0.213 some output\n"
			 "ERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1");
	cr_expect(step(p, 6)->canceled && !step(p, 6)->failed);
	cr_expect_null(step(p, 6)->error_text);
	lp_progress_free(p);
}

Test(progress_synthetic, parse_error_without_step)
{
	struct lp_progress *p = parse_str("#1 [internal] load build definition from Dockerfile\n"
					  "#1 DONE 0.0s\n"
					  "failed to solve with frontend dockerfile.v0: failed to create LLB definition: "
					  "dockerfile parse error line 19: Unknown flag: link\n");
	cr_expect(lp_progress_failed(p));
	cr_expect_str_eq(lp_progress_final_error(p), "failed to solve with frontend dockerfile.v0: failed to create LLB "
						     "definition: dockerfile parse error line 19: Unknown flag: link");
	cr_expect(!step(p, 1)->failed);
	lp_progress_free(p);

	p = parse_str("error: failed to solve: rpc error: code = Unknown desc = x\nUse 'docker scan' later\n");
	cr_expect_str_eq(lp_progress_final_error(p), "error: failed to solve: rpc error: code = Unknown desc = x");
	lp_progress_free(p);

	/* Noise after a successful build is not an error. */
	p = parse_str("#1 [1/1] FROM x\n#1 DONE 0.1s\nUse 'docker scan' to run Snyk tests\n------\nWARNING: x\n");
	cr_expect(!lp_progress_failed(p));
	cr_expect_null(lp_progress_final_error(p));
	lp_progress_free(p);
}

Test(progress_synthetic, garbage_and_edge_lines)
{
	struct lp_progress *p = lp_progress_new();
	const char nul_line[] = "#3 0.5 a\0b";
	feed(p, 1, "");
	lp_progress_feed_line(p, 1, NULL, 0);
	feed(p, 1, "#");
	feed(p, 1, "#12"); /* id alone: an empty header */
	feed(p, 1, "#5DONE 1s");
	feed(p, 1, "#x [1/2] RUN a");
	feed(p, 1, "#4294967296 [1/2] RUN a");
	feed(p, 2, "#4294967295 [linux/arm64 build 1/2] RUN a\r\n");
	feed(p, 3, "#3 [weird");
	lp_progress_feed_line(p, 3, nul_line, sizeof(nul_line) - 1);
	feed(p, 3, "#3 DONE garbage");
	feed(p, 3, "#3 ERROR");
	feed(p, 3, "#3 sha256:1234");
	feed(p, 3, "#3 1.2.3 x");
	feed(p, 3, "#3 transferring context: lots");
	feed(p, 4, "#8 [internal] load build context");
	feed(p, 4, "#8 transferring context: 35.2MB 2.0s");
	feed(p, 4, "#8 transferring context: 1.5MB 2.5s");
	feed(p, 4, "#8 transferring context: 120.5MB 6.3s done");
	feed(p, 4, "#9 [9/x] RUN b");
	lp_progress_finish(p);

	const struct lp_progress_step *big = step(p, 4294967295u);
	cr_expect_str_eq(big->platform, "linux/arm64");
	cr_expect_str_eq(big->stage, "build");
	cr_expect_eq(big->index, 1);
	cr_expect_eq(big->total, 2);
	cr_expect_str_eq(big->name, "[linux/arm64 build 1/2] RUN a");

	const struct lp_progress_step *w = step(p, 3);
	cr_expect_str_eq(w->name, "[weird");
	cr_expect_str_eq(w->instruction, "OTHER");
	cr_expect(w->done && !w->has_duration);
	cr_expect(w->failed);
	cr_expect_str_eq(w->error, "");
	cr_expect_str_eq(w->digest, "");
	cr_expect(!w->has_transfer);
	cr_assert_eq(w->output.count, 1);
	cr_expect_str_eq(lp_progress_lines_at(&w->output, 0)->text, "a?b");
	cr_expect_eq(w->status.count, 3);

	cr_expect_eq(step(p, 8)->transfer_bytes, 120500000);
	cr_expect_eq(lp_progress_context_bytes(p), 120500000);
	cr_expect_str_eq(step(p, 12)->name, "");
	cr_expect_str_eq(step(p, 9)->instruction, "OTHER");
	cr_expect_eq(step(p, 9)->total, 0);
	cr_expect_null(lp_progress_step_by_id(p, 5));
	cr_expect_eq(lp_progress_step_count(p), 5);
	cr_expect_eq(lp_progress_line_count(p), 20);
	lp_progress_free(p);
}

Test(progress_synthetic, long_lines_are_truncated)
{
	struct lp_progress *p = lp_progress_new();
	lp_progress_set_limits(p, 8, 64);
	char line[10000];
	memset(line, 'x', sizeof(line));
	memcpy(line, "#2 [1/1] RUN ", 13);
	lp_progress_feed_line(p, 1, line, sizeof(line));
	/* the same through the chunked path, split mid-line, without a final newline */
	char out[5000];
	memset(out, 'y', sizeof(out));
	memcpy(out, "#2 0.5 ", 7);
	lp_progress_feed(p, 2, out, 3000);
	lp_progress_feed(p, 2, out + 3000, 2000);
	lp_progress_feed(p, 3, "\n#2 DONE 0.1s\n#2 1.0 tail", 25);
	lp_progress_finish(p);
	const struct lp_progress_step *s = step(p, 2);
	cr_expect_eq(strlen(s->name), 61); /* 64 bytes of line minus "#2 " */
	cr_expect_str_eq(s->instruction, "RUN");
	cr_assert_eq(s->output.count, 2);
	cr_expect_eq(strlen(lp_progress_lines_at(&s->output, 0)->text), 64 - 7);
	cr_expect_str_eq(lp_progress_lines_at(&s->output, 1)->text, "tail");
	cr_expect_eq(lp_progress_lines_at(&s->output, 1)->ts_ns, 3);
	cr_expect(s->done);
	cr_expect_eq(lp_progress_truncated_count(p), 2);
	lp_progress_free(p);
}

Test(progress_synthetic, output_lines_are_bounded)
{
	struct lp_progress *p = lp_progress_new();
	feed(p, 0, "#4 [1/1] RUN seq 100");
	for (int i = 1; i <= 100; i++) {
		char l[64];
		int n = snprintf(l, sizeof(l), "#4 %d.000 line %d", i, i);
		lp_progress_feed_line(p, (uint64_t)i, l, (size_t)n);
	}
	lp_progress_finish(p);
	const struct lp_progress_step *s = step(p, 4);
	cr_assert_eq(s->output.count, LP_PROGRESS_DEFAULT_MAX_LINES);
	cr_expect_eq(s->output.total, 100);
	cr_expect_eq(s->output.dropped, 100 - LP_PROGRESS_DEFAULT_MAX_LINES);
	size_t half = LP_PROGRESS_DEFAULT_MAX_LINES / 2;
	for (size_t i = 0; i < s->output.count; i++) {
		const struct lp_progress_line *l = lp_progress_lines_at(&s->output, i);
		size_t want = i < half ? i + 1 : 100 - (LP_PROGRESS_DEFAULT_MAX_LINES - i) + 1;
		char t[32];
		snprintf(t, sizeof(t), "line %zu", want);
		cr_expect_str_eq(l->text, t, "line %zu: %s, want %s", i, l->text, t);
		cr_expect_eq(l->ts_ns, want);
		cr_expect_eq(l->offset_ns, (int64_t)want * 1000000000);
	}
	cr_expect_null(lp_progress_lines_at(&s->output, s->output.count));
	lp_progress_free(p);
}

Test(progress_synthetic, many_steps_and_null_safety)
{
	struct lp_progress *p = lp_progress_new();
	for (uint32_t id = 1; id <= 3000; id++) {
		char l[64];
		int n = snprintf(l, sizeof(l), "#%u [%u/3000] RUN step %u", id * 7919u, id, id);
		lp_progress_feed_line(p, id, l, (size_t)n);
		n = snprintf(l, sizeof(l), "#%u DONE 0.%us", id * 7919u, id % 10);
		lp_progress_feed_line(p, id, l, (size_t)n);
	}
	lp_progress_finish(p);
	lp_progress_finish(p); /* idempotent */
	cr_assert_eq(lp_progress_step_count(p), 3000);
	cr_expect_eq(step(p, 2999 * 7919u)->index, 2999);
	cr_expect_eq(step(p, 2999 * 7919u)->duration_ns, 900 * MS);
	lp_progress_free(p);

	cr_expect_eq(lp_progress_step_count(NULL), 0);
	cr_expect_null(lp_progress_step_at(NULL, 0));
	cr_expect_null(lp_progress_final_error(NULL));
	cr_expect(!lp_progress_failed(NULL));
	lp_progress_feed_line(NULL, 0, "x", 1);
	lp_progress_feed(NULL, 0, "x", 1);
	lp_progress_finish(NULL);
	lp_progress_free(NULL);
}

Test(progress_units, sizes)
{
	struct { const char *s; uint64_t v; } ok[] = {
		{ "1.34kB", 1340 }, { "2B", 2 }, { "0B", 0 }, { "408.36kB", 408360 }, { "35.2MB", 35200000 },
		{ "120.5MB", 120500000 }, { "1.2GB", 1200000000 }, { "3TB", 3000000000000ull }, { "12", 12 },
		{ "1KB", 1000 }, { "1.5KiB", 1536 }, { "1.5GiB", 1610612736 }, { "2 MiB", 2097152 },
		{ "417 bytes", 417 }, { " 7kB ", 7000 }, { ".5kB", 500 }, { "18446744073709551615B", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 1;
		cr_expect(lp_progress_parse_size(ok[i].s, strlen(ok[i].s), &v), "%s", ok[i].s);
		cr_expect_eq(v, ok[i].v, "%s -> %llu", ok[i].s, (unsigned long long)v);
	}
	const char *bad[] = { "", "kB", "1.2.3kB", "1xB", "-1B", "1kBB", "18446744073709551616B", "20000000000GB", ".kB" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		cr_expect(!lp_progress_parse_size(bad[i], strlen(bad[i]), &v), "%s", bad[i]);
	}
	cr_expect(!lp_progress_parse_size(NULL, 0, NULL));
}

Test(progress_units, durations)
{
	struct { const char *s; uint64_t v; } ok[] = {
		{ "1.2s", 1200 * MS }, { "0.0s", 0 }, { "3.2s", 3200 * MS }, { "150ms", 150 * MS }, { "1m2.5s", 62500 * MS },
		{ "2h", 7200000 * MS }, { "3", 3000 * MS }, { "12us", 12000 }, { "5ns", 5 }, { "0.000000001s", 1 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 1;
		cr_expect(lp_progress_parse_duration(ok[i].s, strlen(ok[i].s), &v), "%s", ok[i].s);
		cr_expect_eq(v, ok[i].v, "%s -> %llu", ok[i].s, (unsigned long long)v);
	}
	const char *bad[] = { "", "s", "1.5x", "1s2", "abc", "99999999999999999999s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		cr_expect(!lp_progress_parse_duration(bad[i], strlen(bad[i]), &v), "%s", bad[i]);
	}
}

/* ---- buildx (docker CLI 28.x with buildx 0.28) on the engines of
 * tools/engine.sh: tests/data/progress/<engine>/, recorded by
 * tests/engines/run.sh (LP_ENGINES_SAVE_PROGRESS=1). ---- */

Test(progress_buildx, builder_line_names_builder_and_driver)
{
	struct lp_progress *p = parse_file("docker-28.4/bad-order-edit.plain.txt");
	cr_expect_str_eq(lp_progress_builder(p), "default");
	cr_expect_str_eq(lp_progress_builder_driver(p), "docker");
	/* the #0 line stays a (non-instruction) step, as before */
	cr_expect_str_eq(step(p, 0)->instruction, "OTHER");
	cr_expect(!lp_progress_step_is_instruction(step(p, 0)));
	cr_expect_eq(lp_progress_warning_count(p), 0);
	cr_expect_eq(lp_progress_warnings_found(p), -1);
	cr_expect(!lp_progress_failed(p));
	cr_expect_null(lp_progress_final_error(p));
	const struct lp_progress_step *w = lp_progress_step_by_name(p, "[2/5] WORKDIR /app");
	const struct lp_progress_step *c = lp_progress_step_by_name(p, "[3/5] COPY . .");
	const struct lp_progress_step *r = lp_progress_step_by_name(
		p, "[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	cr_assert(w && c && r);
	cr_expect(w->cached);
	cr_expect(!c->cached && c->done);
	cr_expect(!r->cached && r->done && r->duration_ns >= 3000 * MS);
	lp_progress_free(p);

	p = parse_file("buildkitd-0.24/bad-order-edit.plain.txt");
	cr_expect_str_eq(lp_progress_builder(p), "lp-buildkitd-0.24");
	cr_expect_str_eq(lp_progress_builder_driver(p), "remote");
	/* "[internal] load build context" is one step (the CLI may print its
	 * header twice, with a second DONE, when vertices interleave) */
	size_t n = 0;
	for (size_t i = 0; i < lp_progress_step_count(p); i++)
		n += strcmp(lp_progress_step_at(p, i)->name, "[internal] load build context") == 0;
	cr_expect_eq(n, 1);
	cr_expect_eq(lp_progress_context_bytes(p), 377); /* only the edited src/index.js is re-sent */
	lp_progress_free(p);

	/* dockerd 20.10's own client prints no builder line */
	p = parse_file("docker-20.10/bad-order-edit.plain.txt");
	cr_expect_null(lp_progress_builder(p));
	cr_expect_null(lp_progress_builder_driver(p));
	lp_progress_free(p);
}

Test(progress_buildx, failed_build_error_lines)
{
	struct lp_progress *p = parse_file("buildkitd-0.24/missing-file.plain.txt");
	cr_expect(lp_progress_failed(p));
	const char *fe = lp_progress_final_error(p);
	cr_assert_not_null(fe);
	cr_expect(strncmp(fe, "ERROR: failed to build: failed to solve: failed to compute cache key: ", 70) == 0, "%s", fe);
	const struct lp_progress_step *s = lp_progress_step_by_name(p, "[3/5] COPY requirements.txt /app/");
	cr_assert_not_null(s);
	cr_expect(s->failed);
	cr_expect(strstr(s->error, "\"/requirements.txt\": not found") != NULL, "%s", s->error);
	cr_expect(strstr(s->error_text, "> [3/5] COPY requirements.txt /app/:") != NULL, "%s", s->error_text);
	/* the remote driver's "WARNING: No output specified" is not the error */
	cr_expect(strstr(fe, "No output specified") == NULL);
	lp_progress_free(p);
}

Test(progress_buildx, lint_warnings)
{
	/* The CLI prints the "#N WARN:" lines that reach it while the vertex is
	 * shown: 1 to 3 of the 3 here, run to run (seen 1 of 3 on docker 29,
	 * 3 of 3 on 28.4); the summary always has the count. */
	static const char *const files[] = { "docker-28.4/warnings-ok.plain.txt", "docker-29/warnings-ok.plain.txt",
					     "docker-28.4-containerd/warnings-ok.plain.txt",
					     "buildkitd-0.24/warnings-ok.plain.txt" };
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		struct lp_progress *p = parse_file(files[k]);
		size_t n = lp_progress_warning_count(p);
		cr_expect(n >= 1 && n <= 3, "%s: %zu WARN lines", files[k], n);
		cr_expect_eq(lp_progress_warnings_found(p), 3, "%s", files[k]);
		cr_expect(!lp_progress_failed(p), "%s", files[k]);
		cr_expect_null(lp_progress_final_error(p), "%s", files[k]);
		/* the WARN lines stay status lines of the Dockerfile's vertex */
		const struct lp_progress_step *d = step(p, 1);
		cr_expect_str_eq(d->name, "[internal] load build definition from Dockerfile");
		size_t warn = 0;
		for (size_t i = 0; i < d->status.count; i++)
			warn += strncmp(lp_progress_lines_at(&d->status, i)->text, "WARN: ", 6) == 0;
		cr_expect_eq(warn, n, "%s", files[k]);
		lp_progress_free(p);
	}

	struct lp_progress *p = parse_file("docker-29/warnings-fail.plain.txt");
	cr_expect(lp_progress_warning_count(p) >= 1 && lp_progress_warning_count(p) <= 2);
	cr_expect_eq(lp_progress_warnings_found(p), 2);
	cr_expect(lp_progress_failed(p));
	cr_expect_str_eq(lp_progress_final_error(p),
			 "ERROR: failed to build: failed to solve: process \"/bin/sh -c exit 3\" did not complete "
			 "successfully: exit code: 3");
	const struct lp_progress_step *r = lp_progress_step_by_name(p, "[3/3] RUN exit 3");
	cr_assert_not_null(r);
	cr_expect(r->failed);
	cr_expect_str_eq(r->error, "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3");
	lp_progress_free(p);
}

Test(progress_buildx, git_errors_inside_a_warning_are_not_the_error)
{
	/* buildx asks git for the commit of the context (bloated/ has a broken
	 * .git): "WARNING: current commit information was not captured ...:
	 * error: non-monotonic index ..." and more "error: ..." lines from git,
	 * on a build that succeeded */
	struct lp_progress *p = parse_file("docker-29/bloated.plain.txt");
	cr_expect(!lp_progress_failed(p));
	cr_expect_null(lp_progress_final_error(p));
	lp_progress_free(p);

	/* the 20.10 client's own "error:" final line is unchanged */
	p = parse_str("#1 [1/1] FROM x\n#1 DONE 0.1s\nWARNING: x\nerror: failed to solve: y\n");
	cr_expect_str_eq(lp_progress_final_error(p), "error: failed to solve: y");
	lp_progress_free(p);
	/* and a real buildx error after the warning still counts */
	p = parse_str("#0 building with \"default\" instance using docker driver\n#1 [1/1] FROM x\n#1 ERROR: boom\n"
		      "WARNING: current commit information was not captured by the build: error: x\nerror: y\n"
		      "ERROR: failed to build: failed to solve: boom\n");
	cr_expect_str_eq(lp_progress_final_error(p), "ERROR: failed to build: failed to solve: boom");
	lp_progress_free(p);
}

Test(progress_buildx, warning_summary_is_never_the_error)
{
	/* a failed build whose last words are the warning summary (no ERROR: line) */
	struct lp_progress *p = parse_str("#0 building with \"b\" instance using docker-container driver\n"
					  "#5 [2/2] RUN false\n"
					  "#5 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n"
					  "------\n > [2/2] RUN false:\n------\n"
					  "failed to solve: process \"/bin/sh -c false\" did not complete successfully\n"
					  "\x1b[33m1 warning found (use docker --debug to expand):\n"
					  "\x1b[0m - JSONArgsRecommended: JSON arguments recommended for CMD (line 3)\n");
	cr_expect_str_eq(lp_progress_builder(p), "b");
	cr_expect_str_eq(lp_progress_builder_driver(p), "docker-container");
	cr_expect_eq(lp_progress_warnings_found(p), 1);
	cr_expect_str_eq(lp_progress_final_error(p),
			 "failed to solve: process \"/bin/sh -c false\" did not complete successfully");
	lp_progress_free(p);

	/* malformed builder lines name nothing */
	p = parse_str("#0 building with \"x instance using docker driver\n#0 building with \"y\" instance using\n");
	cr_expect_null(lp_progress_builder(p));
	cr_expect_null(lp_progress_builder_driver(p));
	lp_progress_free(p);
}
