/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `layerprof diff` on two real recordings of the same fixture
 * (tests/data/traces/README.md): bad-order rebuilt with nothing changed
 * (bad-order-cached) and rebuilt after editing src/index.js
 * (bad-order-edit). The diff must name the edited file as the cause of the
 * first new miss and blame the later misses on it.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#define BEFORE "tests/data/traces/bad-order-cached.lptrace"
#define AFTER "tests/data/traces/bad-order-edit.lptrace"

/* Run cmd_diff with stdout captured; returns the exit status, *out the text. */
static int run_diff(const char *const *args, char **out)
{
	char path[] = "/tmp/lp-test-diff.XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	char *argv[8];
	int argc = 0;
	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	int rc = cmd_diff(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	*out = calloc(1, (size_t)n + 1);
	cr_assert(pread(fd, *out, (size_t)n, 0) == n);
	close(fd);
	unlink(path);
	return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

Test(diff_real, text_names_the_edited_file)
{
	char *txt;
	cr_assert_eq(run_diff((const char *const[]){ "diff", BEFORE, AFTER, NULL }, &txt), 0);
	cr_expect_not_null(strstr(txt, "Context files re-sent in bad-order-edit.lptrace"), "%s", txt);
	cr_expect_not_null(strstr(txt, "context files changed (re-sent to the daemon): src/index.js"),
			   "%s", txt);
	cr_expect_not_null(strstr(txt, "New cache misses (3)"), "%s", txt);
	cr_expect_not_null(strstr(txt, "upstream miss: #7 [3/5] COPY . . missed first"), "%s", txt);
	free(txt);
}

Test(diff_real, json_causes)
{
	char *txt;
	cr_assert_eq(run_diff((const char *const[]){ "diff", "--json", BEFORE, AFTER, NULL }, &txt), 0);
	cJSON *j = cJSON_Parse(txt);
	cr_assert_not_null(j, "not JSON: %.200s", txt);
	cr_assert_str_eq(jstr(j, "schema"), "layerprof.diff/1");
	const cJSON *resent = cJSON_GetObjectItemCaseSensitive(j, "context_resent");
	cr_assert_eq(cJSON_GetArraySize(resent), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(resent, 0)->valuestring, "src/index.js");

	int ctx = 0, upstream = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "steps")) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "cause");
		if (!cJSON_IsObject(c))
			continue;
		cr_assert_str_eq(jstr(s, "change"), "new-miss");
		if (!strcmp(jstr(c, "kind"), "context-files")) {
			cr_assert_str_eq(jstr(s, "instruction"), "COPY . .");
			const cJSON *files = cJSON_GetObjectItemCaseSensitive(c, "files");
			cr_assert_eq(cJSON_GetArraySize(files), 1);
			cr_assert_str_eq(cJSON_GetArrayItem(files, 0)->valuestring, "src/index.js");
			ctx++;
		} else if (!strcmp(jstr(c, "kind"), "upstream-miss")) {
			cr_assert_str_eq(jstr(c, "upstream_step"), "#7");
			upstream++;
		}
	}
	cr_assert_eq(ctx, 1, "one context-files cause (the COPY), got %d", ctx);
	cr_assert_eq(upstream, 2, "two upstream misses (the RUNs), got %d", upstream);

	/* the new findings: the layer-order naming package.json */
	const cJSON *f, *fnew = cJSON_GetObjectItemCaseSensitive(
				 cJSON_GetObjectItemCaseSensitive(j, "findings"), "new");
	bool layer_order = false;
	cJSON_ArrayForEach(f, fnew) {
		if (strcmp(jstr(f, "kind"), "layer-order"))
			continue;
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "paths");
		layer_order = cJSON_GetArraySize(p) == 1 &&
			      !strcmp(cJSON_GetArrayItem(p, 0)->valuestring, "package.json");
	}
	cr_assert(layer_order, "no new layer-order finding naming package.json");
	cJSON_Delete(j);
	free(txt);
}

Test(diff_real, same_recording_twice_changes_nothing)
{
	char *txt;
	cr_assert_eq(run_diff((const char *const[]){ "diff", "--json", AFTER, AFTER, NULL }, &txt), 0);
	cJSON *j = cJSON_Parse(txt);
	cr_assert_not_null(j);
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary"), *v;
	cJSON_ArrayForEach(v, sum)
		cr_expect_eq(v->valuedouble, 0, "summary.%s is %g for a trace against itself",
			     v->string, v->valuedouble);
	cJSON_Delete(j);
	free(txt);
}
