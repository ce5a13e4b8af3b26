// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the Dockerfile parser (dockerfile.h) on hostile text.
 * `record` reads the build's Dockerfile and stores it in the trace; `report`
 * parses the text it finds in a trace someone sent.
 *
 * The input is a Dockerfile (the seeds are the fixtures' and the test
 * data's real Dockerfiles). It is parsed, and every instruction, flag,
 * argument and stage is walked with the documented invariants checked;
 * then every lookup is tried: each line number, each stage name/label/
 * number, each instruction's own "[label i/n] TEXT" as a BuildKit step
 * name (it must match an instruction with the same keyword), and each
 * input line as a step name (garbage step names from a trace).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"

#include "fuzz_require.h"

static volatile size_t g_sink;

static void str(const char *s)
{
	if (s)
		g_sink += strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return -1;
	const char *text = (const char *)data;
	struct lp_dockerfile *df = lp_dockerfile_parse(text, size);
	REQUIRE(df, "parse returns NULL only when out of memory");
	char esc = lp_dockerfile_escape(df);
	REQUIRE(esc == '\\' || esc == '`', "the escape character is \\ or `");

	size_t ni = lp_dockerfile_instr_count(df), ns = lp_dockerfile_stage_count(df);
	unsigned max_line = 0;
	for (size_t i = 0; i < ni; i++) {
		const struct lp_dockerfile_instr *in = lp_dockerfile_instr_at(df, i);
		REQUIRE(in && in->line > 0 && in->end_line >= in->line, "instruction lines: 1 <= line <= end_line");
		REQUIRE(memchr(in->keyword, 0, sizeof(in->keyword)), "keyword NUL-terminated");
		for (const char *k = in->keyword; *k; k++)
			REQUIRE(!islower((unsigned char)*k), "keyword stored upper-case");
		REQUIRE(in->stage >= -1 && (in->stage < 0 || (size_t)in->stage < ns), "instruction stage index in range");
		str(in->args);
		str(in->text);
		str(in->heredoc);
		str(in->workdir);
		str(in->dst_abs);
		for (size_t f = 0; f < in->nflags; f++) {
			str(in->flags[f].name);
			str(in->flags[f].value);
			bool present = false;
			(void)lp_dockerfile_instr_flag(in, in->flags[f].name, &present);
			REQUIRE(!in->flags[f].name || present, "a flag of the instruction is found by name");
		}
		(void)lp_dockerfile_instr_flag(in, "from", NULL);
		for (size_t a = 0; a < in->nargv; a++)
			str(in->argv[a]);
		REQUIRE(in->nsrc <= in->nargv, "COPY sources point into argv");
		for (size_t s = 0; s < in->nsrc; s++)
			str(in->src[s]);
		str(in->dst);
		str(in->from);
		str(in->chown);
		str(in->chmod);
		if (in->end_line > max_line)
			max_line = in->end_line;
		const struct lp_dockerfile_instr *at = lp_dockerfile_instr_at_line(df, in->line);
		REQUIRE(at && at->line <= in->line && at->end_line >= in->line, "instr_at_line finds the instruction of its first line");
	}
	REQUIRE(!lp_dockerfile_instr_at(df, ni), "instr_at(count) is NULL");
	for (unsigned l = 0; l <= max_line + 1 && l < 100000; l++)
		(void)lp_dockerfile_instr_at_line(df, l);

	char name[64];
	for (size_t s = 0; s < ns; s++) {
		const struct lp_dockerfile_stage *st = lp_dockerfile_stage_at(df, s);
		REQUIRE(st && st->first <= ni && st->count <= ni - st->first, "stage instructions in range");
		REQUIRE(st->base_stage >= -1 && st->base_stage < (int)ns, "base stage index in range");
		str(st->name);
		str(st->label);
		str(st->base);
		str(st->platform);
		str(st->workdir);
		REQUIRE(!st->name || !st->name[0] || lp_dockerfile_stage_index(df, st->name) >= 0, "a stage's own name names a stage");
		(void)lp_dockerfile_stage_index(df, st->label ? st->label : "");
		(void)lp_dockerfile_stage_index(df, st->base ? st->base : "");
		snprintf(name, sizeof(name), "%zu", s);
		(void)lp_dockerfile_stage_index(df, name);
	}
	REQUIRE(!lp_dockerfile_stage_at(df, ns), "stage_at(count) is NULL");
	(void)lp_dockerfile_stage_index(df, "");
	(void)lp_dockerfile_stage_index(df, "-1");
	(void)lp_dockerfile_stage_index(df, "99999999999999999999");

	/* every instruction as BuildKit would print it */
	char *step = NULL;
	for (size_t i = 0; i < ni; i++) {
		const struct lp_dockerfile_instr *in = lp_dockerfile_instr_at(df, i);
		if (!in->step || in->stage < 0 || !in->text)
			continue;
		const struct lp_dockerfile_stage *st = lp_dockerfile_stage_at(df, (size_t)in->stage);
		const char *label = st->label ? st->label : "";
		size_t n = strlen(label) + strlen(in->text) + 64;
		step = realloc(step, n);
		snprintf(step, n, "[%s%s%u/%u] %s", label, *label ? " " : "", in->step, st->steps,
			 in->text);
		const struct lp_dockerfile_instr *m = lp_dockerfile_match_step(df, step);
		REQUIRE(!m || strlen(in->keyword) >= sizeof(in->keyword) - 1 || !strcmp(m->keyword, in->keyword), "match_step of an instruction's own step name has its keyword");
	}
	/* every input line as a step name */
	size_t off = 0;
	for (int k = 0; off < size && k < 256; k++) {
		const char *nl = memchr(text + off, '\n', size - off);
		size_t end = nl ? (size_t)(nl - text) : size;
		step = realloc(step, end - off + 1);
		memcpy(step, text + off, end - off);
		step[end - off] = '\0';
		(void)lp_dockerfile_match_step(df, step);
		off = end + 1;
	}
	free(step);
	(void)lp_dockerfile_match_step(df, "");
	(void)lp_dockerfile_match_step(df, "[");
	(void)lp_dockerfile_match_step(df, "[1/1]");
	(void)lp_dockerfile_match_step(df, "[ 0/0] RUN");
	lp_dockerfile_free(df);
	return 0;
}
