/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the Dockerfile parser and of the BuildKit step matcher. The
 * step names are the ones dockerd 20.10 printed for these very files (see
 * tests/data/progress/ and tests/data/dockerfile/).
 *
 *   gcc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -Isrc \
 *       tests/unit/test_dockerfile.c src/dockerfile.c -lcriterion -o /tmp/t && /tmp/t
 *
 * Run from the repository root (or set LP_TEST_ROOT to it).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"

static struct lp_dockerfile *load(const char *rel)
{
	const char *root = getenv("LP_TEST_ROOT");
	char path[512];
	int err = -1;
	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	struct lp_dockerfile *df = lp_dockerfile_load(path, &err);
	cr_assert_not_null(df, "cannot load %s: %s (run from the repository root)", path, strerror(err));
	cr_assert_eq(err, 0);
	return df;
}

static struct lp_dockerfile *parse(const char *text)
{
	struct lp_dockerfile *df = lp_dockerfile_parse(text, strlen(text));
	cr_assert_not_null(df);
	return df;
}

static const struct lp_dockerfile_instr *in_at(const struct lp_dockerfile *df, size_t i)
{
	const struct lp_dockerfile_instr *in = lp_dockerfile_instr_at(df, i);
	cr_assert_not_null(in, "no instruction %zu", i);
	return in;
}

/* The step name must match the instruction starting at `line`. */
static void expect_match(const struct lp_dockerfile *df, const char *step, unsigned line)
{
	const struct lp_dockerfile_instr *in = lp_dockerfile_match_step(df, step);
	cr_expect_not_null(in, "no match for %s", step);
	if (in)
		cr_expect_eq(in->line, line, "%s matched line %u, want %u", step, in->line, line);
}

struct instr_want {
	unsigned line, end_line;
	const char *keyword;
	int stage;
	unsigned step;
	const char *text;
};

static void expect_instrs(const struct lp_dockerfile *df, const struct instr_want *w, size_t n)
{
	cr_assert_eq(lp_dockerfile_instr_count(df), n);
	for (size_t i = 0; i < n; i++) {
		const struct lp_dockerfile_instr *in = in_at(df, i);
		cr_expect_eq(in->line, w[i].line, "instr %zu line %u want %u", i, in->line, w[i].line);
		cr_expect_eq(in->end_line, w[i].end_line, "instr %zu end_line %u want %u", i, in->end_line, w[i].end_line);
		cr_expect_str_eq(in->keyword, w[i].keyword);
		cr_expect_eq(in->stage, w[i].stage, "instr %zu stage %d want %d", i, in->stage, w[i].stage);
		cr_expect_eq(in->step, w[i].step, "instr %zu step %u want %u", i, in->step, w[i].step);
		cr_expect_str_eq(in->text, w[i].text);
	}
}

Test(dockerfile_fixtures, bad_order)
{
	struct lp_dockerfile *df = load("tests/fixtures/bad-order/Dockerfile");
	const struct instr_want w[] = {
		{ 3, 3, "FROM", 0, 1, "FROM layerprof/busybox" },
		{ 4, 4, "WORKDIR", 0, 2, "WORKDIR /app" },
		{ 5, 5, "COPY", 0, 3, "COPY . ." },
		{ 7, 7, "RUN", 0, 4, "RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt" },
		{ 8, 8, "RUN", 0, 5, "RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js" },
	};
	expect_instrs(df, w, sizeof(w) / sizeof(w[0]));
	cr_assert_eq(lp_dockerfile_stage_count(df), 1);
	const struct lp_dockerfile_stage *st = lp_dockerfile_stage_at(df, 0);
	cr_expect_str_eq(st->name, "");
	cr_expect_str_eq(st->label, "");
	cr_expect_str_eq(st->base, "layerprof/busybox");
	cr_expect_eq(st->base_stage, -1);
	cr_expect_eq(st->line, 3);
	cr_expect_eq(st->first, 0);
	cr_expect_eq(st->count, 5);
	cr_expect_eq(st->steps, 5);
	const struct lp_dockerfile_instr *copy = in_at(df, 2);
	cr_assert_eq(copy->nsrc, 1);
	cr_expect_str_eq(copy->src[0], ".");
	cr_expect_str_eq(copy->dst, ".");
	cr_expect_null(copy->from);
	cr_expect(!copy->json && !copy->link);
	cr_expect_str_eq(copy->workdir, "/app");
	cr_expect_str_eq(copy->dst_abs, "/app");
	cr_expect_str_eq(in_at(df, 0)->workdir, "/");
	cr_expect_str_eq(in_at(df, 1)->workdir, "/app");
	cr_expect_str_eq(in_at(df, 3)->workdir, "/app");
	cr_expect_str_eq(st->workdir, "/app");

	expect_match(df, "[1/5] FROM docker.io/layerprof/busybox", 3);
	expect_match(df, "[2/5] WORKDIR /app", 4);
	expect_match(df, "[3/5] COPY . .", 5);
	expect_match(df, "[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt", 7);
	expect_match(df, "[5/5] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js", 8);
	cr_expect_null(lp_dockerfile_match_step(df, "[internal] load build context"));
	cr_expect_null(lp_dockerfile_match_step(df, "exporting to image"));
	cr_expect_null(lp_dockerfile_match_step(df, "[internal] load metadata for docker.io/layerprof/busybox:latest"));
	lp_dockerfile_free(df);
}

Test(dockerfile_fixtures, good_order_and_missing_file)
{
	struct lp_dockerfile *df = load("tests/fixtures/good-order/Dockerfile");
	expect_match(df, "[1/6] FROM docker.io/layerprof/busybox", 2);
	expect_match(df, "[3/6] COPY package.json ./", 4);
	expect_match(df, "[4/6] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt", 6);
	expect_match(df, "[5/6] COPY . .", 7);
	expect_match(df, "[6/6] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js", 8);
	cr_expect_str_eq(in_at(df, 2)->src[0], "package.json");
	cr_expect_str_eq(in_at(df, 2)->dst, "./");
	lp_dockerfile_free(df);

	df = load("tests/fixtures/missing-file/Dockerfile");
	expect_match(df, "[3/5] COPY requirements.txt /app/", 4);
	expect_match(df, "[2/5] WORKDIR /app", 2);
	const struct lp_dockerfile_instr *in = lp_dockerfile_match_step(df, "[3/5] COPY requirements.txt /app/");
	cr_assert_not_null(in);
	cr_expect_str_eq(in->src[0], "requirements.txt");
	cr_expect_str_eq(in->dst, "/app/");
	lp_dockerfile_free(df);

	df = load("tests/fixtures/bloated/Dockerfile");
	expect_match(df, "[3/4] COPY . /app/", 6);
	expect_match(df, "[4/4] RUN sh /app/app.sh", 7);
	lp_dockerfile_free(df);
}

Test(dockerfile_fixtures, multi_stage)
{
	struct lp_dockerfile *df = load("tests/fixtures/multi-stage/Dockerfile");
	const char *run = "RUN mkdir -p /out &&     cat main.c lib.c > /out/app.txt &&     sha256sum /out/app.txt > "
			  "/out/app.sha256";
	const struct instr_want w[] = {
		{ 2, 2, "FROM", 0, 1, "FROM layerprof/busybox AS build" },
		{ 3, 3, "WORKDIR", 0, 2, "WORKDIR /src" },
		{ 4, 4, "COPY", 0, 3, "COPY main.c lib.c ./" },
		{ 5, 7, "RUN", 0, 4, run },
		{ 9, 9, "FROM", 1, 1, "FROM layerprof/busybox AS runtime" },
		{ 10, 10, "COPY", 1, 2, "COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/" },
		{ 11, 11, "COPY", 1, 3, "COPY --chown=0:0 config.ini /etc/app/config.ini" },
		{ 12, 12, "RUN", 1, 4, "RUN [\"sh\", \"-c\", \"cat /etc/app/config.ini > /dev/null\"]" },
		{ 13, 13, "CMD", 1, 0, "CMD [\"cat\", \"/usr/local/share/app/app.txt\"]" },
	};
	expect_instrs(df, w, sizeof(w) / sizeof(w[0]));
	cr_assert_eq(lp_dockerfile_stage_count(df), 2);
	const struct lp_dockerfile_stage *b = lp_dockerfile_stage_at(df, 0), *r = lp_dockerfile_stage_at(df, 1);
	cr_expect_str_eq(b->name, "build");
	cr_expect_str_eq(b->label, "build");
	cr_expect_eq(b->steps, 4);
	cr_expect_eq(b->count, 4);
	cr_expect_str_eq(r->name, "runtime");
	cr_expect_eq(r->first, 4);
	cr_expect_eq(r->count, 5);
	cr_expect_eq(r->steps, 4);
	cr_expect_eq(r->base_stage, -1);
	cr_expect_eq(lp_dockerfile_stage_index(df, "build"), 0);
	cr_expect_eq(lp_dockerfile_stage_index(df, "RUNTIME"), 1);
	cr_expect_eq(lp_dockerfile_stage_index(df, "1"), 1);
	cr_expect_eq(lp_dockerfile_stage_index(df, "2"), -1);
	cr_expect_eq(lp_dockerfile_stage_index(df, "layerprof/busybox"), -1);

	const struct lp_dockerfile_instr *cf = in_at(df, 5);
	cr_expect_str_eq(cf->from, "build");
	cr_assert_eq(cf->nflags, 1);
	cr_expect_str_eq(cf->flags[0].name, "from");
	cr_assert_eq(cf->nsrc, 2);
	cr_expect_str_eq(cf->src[0], "/out/app.txt");
	cr_expect_str_eq(cf->src[1], "/out/app.sha256");
	cr_expect_str_eq(cf->dst, "/usr/local/share/app/");
	cr_expect_str_eq(cf->dst_abs, "/usr/local/share/app");
	cr_expect_str_eq(cf->workdir, "/");
	cr_expect_str_eq(in_at(df, 2)->dst_abs, "/src");
	cr_expect_str_eq(in_at(df, 3)->workdir, "/src");
	cr_expect_str_eq(in_at(df, 6)->chown, "0:0");
	cr_expect_null(in_at(df, 6)->from);
	const struct lp_dockerfile_instr *ex = in_at(df, 7);
	cr_expect(ex->json);
	cr_assert_eq(ex->nargv, 3);
	cr_expect_str_eq(ex->argv[2], "cat /etc/app/config.ini > /dev/null");
	cr_expect_eq(lp_dockerfile_instr_at_line(df, 6), in_at(df, 3));
	cr_expect_null(lp_dockerfile_instr_at_line(df, 8));
	cr_expect_null(lp_dockerfile_instr_at_line(df, 1));

	/* every step dockerd printed for this file */
	expect_match(df, "[build 1/4] FROM docker.io/layerprof/busybox", 2);
	expect_match(df, "[build 2/4] WORKDIR /src", 3);
	expect_match(df, "[build 3/4] COPY main.c lib.c ./", 4);
	expect_match(df, "[build 4/4] RUN mkdir -p /out &&     cat main.c lib.c > /out/app.txt &&     sha256sum "
			 "/out/app.txt > /out/app.sha256",
		     5);
	expect_match(df, "[runtime 2/4] COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/", 10);
	expect_match(df, "[runtime 3/4] COPY --chown=0:0 config.ini /etc/app/config.ini", 11);
	expect_match(df, "[runtime 4/4] RUN [\"sh\", \"-c\", \"cat /etc/app/config.ini > /dev/null\"]", 12);
	/* the shared FROM vertex, had it been printed for the second stage */
	expect_match(df, "[runtime 1/4] FROM docker.io/layerprof/busybox", 9);
	lp_dockerfile_free(df);
}

Test(dockerfile_real, expansions_json_and_unnamed_stage)
{
	struct lp_dockerfile *df = load("tests/data/dockerfile/normalize.Dockerfile");
	cr_assert_eq(lp_dockerfile_stage_count(df), 2);
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 0)->name, "builder");
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 1)->name, "");
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 1)->label, "stage-1");
	cr_expect_eq(lp_dockerfile_stage_at(df, 1)->base_stage, 0);
	cr_expect_eq(lp_dockerfile_stage_at(df, 0)->steps, 8);
	cr_expect_eq(lp_dockerfile_stage_at(df, 1)->steps, 4);

	const struct lp_dockerfile_instr *run = in_at(df, 4);
	cr_expect_eq(run->line, 5);
	cr_expect_eq(run->end_line, 8);
	cr_expect_str_eq(run->keyword, "RUN");
	cr_expect_str_eq(run->text, "RUN echo \"hello $NAME\" 'single $NAME'   && echo ${VER}   \t&& echo done");
	cr_expect_str_eq(in_at(df, 1)->keyword, "ENV");
	cr_expect_eq(in_at(df, 1)->step, 0);
	cr_assert_eq(in_at(df, 1)->nargv, 2);
	cr_expect_str_eq(in_at(df, 1)->argv[1], "NAME=my app");
	const struct lp_dockerfile_instr *jc = in_at(df, 5);
	cr_expect(jc->json);
	cr_assert_eq(jc->nsrc, 2);
	cr_expect_str_eq(jc->src[0], "b c.txt");
	cr_expect_str_eq(jc->dst, "/dst/");
	cr_expect_str_eq(in_at(df, 7)->text, "RUN echo  two   spaces\ttab");
	cr_expect_str_eq(in_at(df, 9)->text, "RUN echo ab");
	cr_expect_eq(in_at(df, 10)->step, 0); /* FROM builder: no vertex */
	cr_expect_str_eq(in_at(df, 11)->from, "Builder");
	cr_expect_eq(lp_dockerfile_stage_index(df, in_at(df, 11)->from), 0);
	cr_expect_eq(lp_dockerfile_stage_index(df, in_at(df, 12)->from), 0);

	expect_match(df, "[builder 1/8] FROM docker.io/layerprof/busybox", 1);
	expect_match(df, "[builder 2/8] WORKDIR /opt/x", 4);
	expect_match(df, "[builder 3/8] RUN echo \"hello my app\" 'single $NAME'   && echo 1.2   \t&& echo done", 5);
	expect_match(df, "[builder 4/8] COPY [b c.txt, a.txt, /dst/]", 9);
	expect_match(df, "[builder 5/8] ADD --chown=1:1 a.txt /opt/x/", 10);
	expect_match(df, "[builder 6/8] RUN echo  two   spaces\ttab", 11);
	expect_match(df, "[builder 7/8] RUN [\"echo\", \"my app\", \"x\"]", 12);
	expect_match(df, "[builder 8/8] RUN echo ab", 13);
	expect_match(df, "[stage-1 1/4] COPY --from=Builder /dst/a.txt /a", 17);
	expect_match(df, "[stage-1 2/4] COPY --from=0 /dst/a.txt /a0", 18);
	expect_match(df, "[stage-1 3/4] COPY a.txt /l", 19);
	expect_match(df, "[stage-1 4/4] RUN false || true", 20);
	lp_dockerfile_free(df);
}

Test(dockerfile_real, escape_directive_scratch_and_arg)
{
	struct lp_dockerfile *df = load("tests/data/dockerfile/escape.Dockerfile");
	cr_expect_eq(lp_dockerfile_escape(df), '`');
	const struct instr_want w[] = {
		{ 2, 2, "ARG", -1, 0, "ARG BASE=layerprof/busybox" },
		{ 3, 3, "FROM", 0, 0, "FROM scratch AS s0" },
		{ 4, 4, "COPY", 0, 1, "COPY x /x" },
		{ 6, 6, "FROM", 1, 1, "FROM ${BASE}" },
		{ 7, 7, "USER", 1, 0, "USER root" },
		{ 8, 8, "LABEL", 1, 0, "LABEL a=b" },
		{ 9, 9, "EXPOSE", 1, 0, "EXPOSE 80" },
		{ 10, 10, "COPY", 1, 2, "COPY --from=s0 /x /y" },
		{ 11, 12, "RUN", 1, 3, "RUN echo one     two" },
		{ 13, 13, "RUN", 1, 4, "RUN echo a\\b" },
	};
	expect_instrs(df, w, sizeof(w) / sizeof(w[0]));
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 0)->label, "s0");
	cr_expect_eq(lp_dockerfile_stage_at(df, 0)->steps, 1);
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 1)->label, "stage-1");
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 1)->base, "${BASE}");
	expect_match(df, "[stage-1 1/4] FROM docker.io/layerprof/busybox", 6);
	expect_match(df, "[s0 1/1] COPY x /x", 4);
	expect_match(df, "[stage-1 2/4] COPY --from=s0 /x /y", 10);
	expect_match(df, "[stage-1 3/4] RUN echo one     two", 11);
	expect_match(df, "[stage-1 4/4] RUN echo a\\b", 13);
	lp_dockerfile_free(df);

	df = load("tests/data/dockerfile/parallel.Dockerfile");
	expect_match(df, "[left 1/2] FROM docker.io/layerprof/busybox", 1);
	expect_match(df, "[right 2/2] RUN for i in 1 2 3 4; do echo \"right $i\"; sleep 1.2; done; echo right > /r.txt", 5);
	expect_match(df, "[left 2/2] RUN for i in 1 2 3 4; do echo \"left $i\"; sleep 1.2; done > /dev/stderr; echo left > "
			 "/l.txt",
		     2);
	expect_match(df, "[stage-2 2/3] COPY --from=left /l.txt /", 8);
	expect_match(df, "[stage-2 3/3] COPY --from=right /r.txt /", 9);
	lp_dockerfile_free(df);

	df = load("tests/data/dockerfile/run-fails.Dockerfile");
	expect_match(df,
		     "[3/3] RUN echo \"compiling...\" && echo \"warning: something\" >&2 && ls /nonexistent/dir && echo never",
		     3);
	lp_dockerfile_free(df);
}

Test(dockerfile_syntax, heredocs_are_skipped)
{
	struct lp_dockerfile *df = parse("# syntax=docker/dockerfile:1\n"
					 "FROM alpine\n"
					 "RUN <<EOF\n"
					 "apk add curl\n"
					 "FROM not-an-instruction\n"
					 "EOF\n"
					 "COPY <<-'END' /etc/motd\n"
					 "\t\thello\n"
					 "\tEND\n"
					 "RUN cat <<A <<B > /out\n"
					 "a\n"
					 "A\n"
					 "b\n"
					 "B\n"
					 "RUN echo $((1<<2)) && echo done\n"
					 "WORKDIR /w\n");
	const struct instr_want w[] = {
		{ 2, 2, "FROM", 0, 1, "FROM alpine" },
		{ 3, 6, "RUN", 0, 2, "RUN <<EOF" },
		{ 7, 9, "COPY", 0, 3, "COPY <<-'END' /etc/motd" },
		{ 10, 14, "RUN", 0, 4, "RUN cat <<A <<B > /out" },
		{ 15, 15, "RUN", 0, 5, "RUN echo $((1<<2)) && echo done" },
		{ 16, 16, "WORKDIR", 0, 6, "WORKDIR /w" },
	};
	expect_instrs(df, w, sizeof(w) / sizeof(w[0]));
	cr_expect_str_eq(in_at(df, 1)->heredoc, "apk add curl\nFROM not-an-instruction\n");
	cr_expect_str_eq(in_at(df, 2)->heredoc, "\t\thello\n");
	cr_expect_str_eq(in_at(df, 3)->heredoc, "a\nb\n");
	cr_expect_null(in_at(df, 4)->heredoc);
	cr_expect_eq(lp_dockerfile_stage_count(df), 1);
	expect_match(df, "[6/6] WORKDIR /w", 16);

	/* an unterminated heredoc swallows the rest, without a crash */
	lp_dockerfile_free(df);
	df = parse("FROM a\nRUN <<EOF\necho\n");
	cr_expect_eq(lp_dockerfile_instr_count(df), 2);
	cr_expect_eq(in_at(df, 1)->end_line, 3);
	lp_dockerfile_free(df);
}

Test(dockerfile_syntax, continuations_comments_and_line_endings)
{
	struct lp_dockerfile *df = parse("\xef\xbb\xbf# escape=\\\r\n"
					 "\r\n"
					 "  from --platform=linux/amd64 Golang:1.22 As Build\r\n"
					 "run apt-get update \\\r\n"
					 "\r\n"
					 "    # comment in the middle\r\n"
					 "   && apt-get install -y x \\   \r\n"
					 "  # trailing comment\r\n"
					 "   && true\r\n"
					 "  # indented comment\r\n"
					 "Copy --link --chmod=755 --from=build /a \"/b c\" /dst/\r\n"
					 "ADD [\"x\", \"y\\u00e9\", \"/z\"]\r\n"
					 "ONBUILD RUN make\r\n"
					 "FROBNICATE now\r\n"
					 "RUN [\"broken\", \r\n"
					 "healthcheck --interval=5s CMD true\r\n"
					 "RUN tail \\");
	const struct instr_want w[] = {
		{ 3, 3, "FROM", 0, 1, "FROM --platform=linux/amd64 Golang:1.22 As Build" },
		{ 4, 9, "RUN", 0, 2, "RUN apt-get update    && apt-get install -y x    && true" },
		{ 11, 11, "COPY", 0, 3, "COPY --link --chmod=755 --from=build /a \"/b c\" /dst/" },
		{ 12, 12, "ADD", 0, 4, "ADD [\"x\", \"y\\u00e9\", \"/z\"]" },
		{ 13, 13, "ONBUILD", 0, 0, "ONBUILD RUN make" },
		{ 14, 14, "FROBNICATE", 0, 0, "FROBNICATE now" },
		{ 15, 15, "RUN", 0, 5, "RUN [\"broken\"," },
		{ 16, 16, "HEALTHCHECK", 0, 0, "HEALTHCHECK --interval=5s CMD true" },
		{ 17, 17, "RUN", 0, 6, "RUN tail" },
	};
	expect_instrs(df, w, sizeof(w) / sizeof(w[0]));
	const struct lp_dockerfile_stage *st = lp_dockerfile_stage_at(df, 0);
	cr_expect_str_eq(st->name, "build");
	cr_expect_str_eq(st->label, "build");
	cr_expect_str_eq(st->base, "Golang:1.22");
	cr_expect_str_eq(st->platform, "linux/amd64");

	const struct lp_dockerfile_instr *c = in_at(df, 2);
	cr_expect(c->link);
	cr_expect_str_eq(c->chmod, "755");
	cr_expect_str_eq(c->from, "build");
	cr_assert_eq(c->nsrc, 2);
	cr_expect_str_eq(c->src[1], "/b c");
	cr_expect_str_eq(c->dst, "/dst/");
	bool present = false;
	cr_expect_null(lp_dockerfile_instr_flag(c, "link", &present));
	cr_expect(present);
	cr_expect_null(lp_dockerfile_instr_flag(c, "chown", &present));
	cr_expect(!present);
	cr_expect_str_eq(lp_dockerfile_instr_flag(c, "CHMOD", NULL), "755");

	const struct lp_dockerfile_instr *a = in_at(df, 3);
	cr_expect(a->json);
	cr_assert_eq(a->nsrc, 2);
	cr_expect_str_eq(a->src[1], "y\xc3\xa9");
	cr_expect(!in_at(df, 6)->json);
	cr_expect_str_eq(in_at(df, 7)->flags[0].name, "interval");
	cr_expect_str_eq(in_at(df, 7)->flags[0].value, "5s");

	expect_match(df, "[build 1/6] FROM docker.io/library/golang:1.22", 3);
	expect_match(df, "[linux/amd64 build 2/6] RUN apt-get update    && apt-get install -y x    && true", 4);
	expect_match(df, "[build 3/6] COPY --link --chmod=755 --from=build /a /b c /dst/", 11);
	expect_match(df, "[build 4/6] ADD [x, y\xc3\xa9, /z]", 12);
	lp_dockerfile_free(df);
}

Test(dockerfile_syntax, workdir_tracking)
{
	struct lp_dockerfile *df = parse("WORKDIR /ignored-before-from\n"
					 "FROM a AS one\n"
					 "WORKDIR /x\n"
					 "WORKDIR y/../z//w/.\n"
					 "COPY f .\n"
					 "COPY g ../h/\n"
					 "ADD k /abs/\n"
					 "FROM one AS two\n"
					 "RUN true\n"
					 "WORKDIR ../../..\n"
					 "COPY --from=one /x/z/w/f rel\n"
					 "FROM scratch\n"
					 "COPY x y\n");
	cr_expect_str_eq(in_at(df, 0)->workdir, "/ignored-before-from");
	cr_expect_str_eq(in_at(df, 1)->workdir, "/");
	cr_expect_str_eq(in_at(df, 2)->workdir, "/x");
	cr_expect_str_eq(in_at(df, 3)->workdir, "/x/z/w");
	cr_expect_str_eq(in_at(df, 4)->dst_abs, "/x/z/w");
	cr_expect_str_eq(in_at(df, 5)->dst_abs, "/x/z/h");
	cr_expect_str_eq(in_at(df, 6)->dst_abs, "/abs");
	cr_expect_str_eq(lp_dockerfile_stage_at(df, 0)->workdir, "/x/z/w");
	cr_expect_str_eq(in_at(df, 7)->workdir, "/x/z/w"); /* FROM one: inherited */
	cr_expect_str_eq(in_at(df, 8)->workdir, "/x/z/w");
	cr_expect_str_eq(in_at(df, 9)->workdir, "/");
	cr_expect_str_eq(in_at(df, 10)->dst_abs, "/rel");
	cr_expect_str_eq(in_at(df, 12)->dst_abs, "/y");
	cr_expect_null(in_at(df, 8)->dst_abs);
	lp_dockerfile_free(df);
}

Test(dockerfile_match, ordinal_fallback_and_ties)
{
	struct lp_dockerfile *df = parse("FROM alpine AS a\n"
					 "ARG V=1\n"
					 "RUN make\n"
					 "RUN make\n"
					 "RUN echo ${V:-x} $V\n"
					 "FROM a AS b\n"
					 "RUN make\n");
	expect_match(df, "[a 2/4] RUN make", 3);
	expect_match(df, "[a 3/4] RUN make", 4);
	expect_match(df, "[a 4/4] RUN echo 1 1", 5);
	expect_match(df, "[b 1/1] RUN make", 7);
	/* text changed since the build: the ordinal still finds it */
	expect_match(df, "[a 4/4] RUN echo something else", 5);
	/* wrong keyword: no match */
	cr_expect_null(lp_dockerfile_match_step(df, "[a 2/4] COPY make"));
	/* unknown stage label: all stages are searched */
	expect_match(df, "[zz 9/9] RUN echo 2 3", 5);
	cr_expect_null(lp_dockerfile_match_step(df, "[zz 9/9] RUN nothing like it"));
	/* malformed names */
	const char *bad[] = { "", "[", "[]", "[1/", "[a 1/x] RUN make", "[a 2/4]", "[a 2/4] ", "RUN make", "[/] RUN make",
			      "[a 2/4 RUN make" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_null(lp_dockerfile_match_step(df, bad[i]), "%s", bad[i]);
	cr_expect_null(lp_dockerfile_match_step(df, NULL));
	cr_expect_null(lp_dockerfile_match_step(NULL, "[a 2/4] RUN make"));
	lp_dockerfile_free(df);

	/* FROM references: tags, digests, library images */
	df = parse("FROM busybox:latest\nFROM ghcr.io/acme/base@sha256:abcd AS x\nFROM debian:12\n");
	expect_match(df, "[stage-0 1/1] FROM docker.io/library/busybox:latest", 1);
	expect_match(df, "[x 1/1] FROM ghcr.io/acme/base@sha256:abcd", 2);
	expect_match(df, "[stage-2 1/1] FROM docker.io/library/debian:12", 3);
	cr_expect_null(lp_dockerfile_match_step(df, "[stage-2 1/2] FROM docker.io/library/debian:11"));
	lp_dockerfile_free(df);
}

Test(dockerfile_robustness, empty_garbage_and_errors)
{
	struct lp_dockerfile *df = lp_dockerfile_parse("", 0);
	cr_assert_not_null(df);
	cr_expect_eq(lp_dockerfile_instr_count(df), 0);
	cr_expect_eq(lp_dockerfile_stage_count(df), 0);
	cr_expect_null(lp_dockerfile_instr_at(df, 0));
	cr_expect_null(lp_dockerfile_stage_at(df, 0));
	cr_expect_null(lp_dockerfile_match_step(df, "[1/1] RUN x"));
	lp_dockerfile_free(df);

	df = lp_dockerfile_parse(NULL, 10);
	cr_assert_not_null(df);
	cr_expect_eq(lp_dockerfile_instr_count(df), 0);
	lp_dockerfile_free(df);

	df = parse("# only a comment\n\n   \n# another\n");
	cr_expect_eq(lp_dockerfile_instr_count(df), 0);
	lp_dockerfile_free(df);

	df = parse("RUN before any FROM\nCOPY a b\n");
	cr_expect_eq(in_at(df, 0)->stage, -1);
	cr_expect_eq(in_at(df, 0)->step, 0);
	cr_expect_eq(in_at(df, 1)->stage, -1);
	lp_dockerfile_free(df);

	int err = 0;
	cr_expect_null(lp_dockerfile_load("/nonexistent/Dockerfile", &err));
	cr_expect_eq(err, ENOENT);
	cr_expect_null(lp_dockerfile_load("/", &err));
	cr_expect_neq(err, 0);
	cr_expect_null(lp_dockerfile_load(NULL, &err));
	cr_expect_eq(err, EINVAL);

	/* hostile bytes: must not crash or leak (ASan) */
	unsigned seed = 12345;
	char buf[4096];
	const char alphabet[] = "FROMRUNCOPYADD AS --from=[]\"'\\`$<{}\n\r\t #=-0123456789abc/\xff";
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(round * 13) % sizeof(buf);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (round % 5 == 0) ? (char)(seed >> 16) : alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		df = lp_dockerfile_parse(buf, n);
		cr_assert_not_null(df);
		for (size_t i = 0; i < lp_dockerfile_instr_count(df); i++) {
			const struct lp_dockerfile_instr *in = lp_dockerfile_instr_at(df, i);
			char name[300];
			snprintf(name, sizeof(name), "[%u/%u] %.200s", in->step, in->step + 1, in->text);
			(void)lp_dockerfile_match_step(df, name);
			cr_assert(in->line >= 1 && in->line <= in->end_line);
		}
		lp_dockerfile_free(df);
	}
}
