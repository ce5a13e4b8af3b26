// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: what `record -- docker build ...` reads before the
 * build starts (dockerctx.h): the user's .dockerignore, the docker command
 * line, and what the docker CLI says of itself (`docker --version`,
 * `docker buildx version`, `docker buildx inspect`). All of it is someone
 * else's text; none of it may crash record, loop on a pattern or read past
 * a string.
 *
 * The input is NUL-separated parts: .dockerignore text, context paths (one
 * a line), the command line (one argument a line), then the three CLI
 * outputs. Checks:
 *   - a .dockerignore without a '!' (no exceptions): a path below an
 *     excluded one is excluded (a pattern matching a directory matches
 *     everything below it), and nothing is re-included below it;
 *   - a plain path (letters, digits, '.', '-', '_' segments) matches itself
 *     as a pattern;
 *   - a command line taken for a build: its indexes inside argv, its values
 *     argv's own strings (or their tails, "--tag=x"); the argv to run is
 *     argv, plus one "--progress=..." right after the build word when added;
 *   - the CLI's builder and driver names end inside their fields.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerctx.h"

#include "fuzz_require.h"

#define MAX_ARGS 64
#define MAX_PATHS 64

/* Part i of the input (NUL-separated), as a new NUL-terminated string. */
static char *part(const uint8_t *data, size_t size, int i)
{
	size_t at = 0;
	for (int k = 0; k < i; k++) {
		const uint8_t *z = memchr(data + at, 0, size - at);
		if (!z)
			return NULL;
		at = (size_t)(z - data) + 1;
	}
	const uint8_t *z = memchr(data + at, 0, size - at);
	size_t n = z ? (size_t)(z - (data + at)) : size - at;
	char *s = malloc(n + 1);
	REQUIRE(s, "malloc");
	memcpy(s, data + at, n);
	s[n] = 0;
	return s;
}

/* Split s at '\n' in place: at most max pieces. */
static int split_lines(char *s, char **v, int max)
{
	int n = 0;
	if (!s)
		return 0;
	for (char *p = s; n < max;) {
		v[n++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	return n;
}

static bool plain_path(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *c = p; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			  *c == '-' || *c == '_' || (*c == '/' && c[1] && c[1] != '/') || (*c == '.' && c != p && c[-1] != '/');
		if (!ok)
			return false;
	}
	return p[strlen(p) - 1] != '/';
}

/* Is q one of argv's strings, or a tail of one? */
static bool inside_argv(const char *q, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (q >= argv[i] && q <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

static void check_ignore(const char *text, char *paths_text)
{
	struct lp_ignore *ig = lp_ignore_parse(text);
	REQUIRE(ig, "lp_ignore_parse never fails");
	char *paths[MAX_PATHS];
	int np = split_lines(paths_text, paths, MAX_PATHS);
	bool exceptions = strchr(text, '!') != NULL;
	for (int i = 0; i < np; i++) {
		const char *p = paths[i];
		bool ex = lp_ignore_excluded(ig, p);
		(void)lp_ignore_may_include_below(ig, p);
		REQUIRE(ex == lp_ignore_excluded(ig, p), "exclusion is a function of the path");
		if (!exceptions && ex && *p) {
			char below[600];
			snprintf(below, sizeof(below), "%s/x", p);
			REQUIRE(strlen(p) > 500 || lp_ignore_excluded(ig, below),
				"without exceptions, what is below an excluded path is excluded");
			REQUIRE(!lp_ignore_may_include_below(ig, p), "without exceptions, nothing is re-included below");
		}
		if (plain_path(p) && strlen(p) < 200)
			REQUIRE(lp_ignore_match(p, p), "a plain path matches itself as a pattern");
		for (int j = 0; j < np && j < 8; j++)
			(void)lp_ignore_match(paths[j], p);
	}
	lp_ignore_free(ig);
}

static void check_command(char *argv_text)
{
	char *argv[MAX_ARGS + 1];
	int argc = split_lines(argv_text, argv, MAX_ARGS);
	argv[argc] = NULL;
	if (!argc)
		return;
	int bake_idx = -1;
	bool has_progress = false;
	if (lp_docker_is_bake(argc, argv, &bake_idx, &has_progress))
		REQUIRE(bake_idx > 0 && bake_idx < argc, "bake's word inside argv");
	(void)lp_unsupported_builder(argc, argv);
	struct lp_docker_build b;
	memset(&b, 0, sizeof(b));
	if (!lp_docker_parse(argc, argv, &b))
		return;
	REQUIRE(b.build_idx > 0 && b.build_idx < argc, "the build word inside argv");
	REQUIRE(b.global_end >= 1 && b.global_end <= b.build_idx, "global options before the build word");
	const char *vals[] = { b.tag, b.target, b.progress, b.builder, b.context, b.dockerfile };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		REQUIRE(!vals[i] || inside_argv(vals[i], argc, argv), "values point into argv");
	static const char *const progress[] = { "plain", "rawjson" };
	for (int k = 0; k < 2; k++) {
		bool added = false;
		char **run = lp_docker_argv(argc, argv, &b, progress[k], &added);
		REQUIRE(run, "lp_docker_argv");
		int n = 0;
		while (run[n])
			n++;
		REQUIRE(n == argc + (added ? 1 : 0), "the argv to run is argv plus what was added");
		REQUIRE(!added || !b.has_progress, "--progress is added only when the user gave none");
		for (int i = 0, j = 0; i < n; i++) {
			if (added && i == b.build_idx + 1) {
				REQUIRE(!strncmp(run[i], "--progress=", 11), "the added argument is --progress=...");
				continue;
			}
			REQUIRE(run[i] == argv[j], "argv kept in order");
			j++;
		}
		free(run);
	}
	struct lp_docker_cli cli = { .major = -1, .buildx_major = -1, .buildx_minor = -1 };
	(void)lp_docker_cli_has_rawjson(&b, &cli);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ignore = part(data, size, 0), *paths = part(data, size, 1), *cmd = part(data, size, 2);
	if (ignore)
		check_ignore(ignore, paths);
	if (cmd)
		check_command(cmd);
	struct lp_docker_cli cli = { .major = -1, .buildx_major = -1, .buildx_minor = -1 };
	for (int i = 3; i < 6; i++) {
		char *out = part(data, size, i);
		if (!out)
			break;
		if (i == 3)
			(void)lp_docker_cli_parse_version(out, &cli);
		else if (i == 4)
			(void)lp_docker_cli_parse_buildx_version(out, &cli);
		else
			(void)lp_docker_cli_parse_buildx_inspect(out, &cli);
		free(out);
	}
	REQUIRE(memchr(cli.builder, 0, sizeof(cli.builder)) && memchr(cli.driver, 0, sizeof(cli.driver)),
		"builder and driver names end inside their fields");
	free(ignore);
	free(paths);
	free(cmd);
	return 0;
}
