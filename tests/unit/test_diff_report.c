/* SPDX-License-Identifier: BSD-2-Clause */
/* `layerprof diff` agrees with `layerprof report` on the same trace: step
 * times, build totals and context counts come from one definition. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "exitcode.h"
#include "scenarios.h"

/* Run a command with stdout in a string. */
static char *run(int (*cmd)(int, char **), int argc, char **argv, int *rc)
{
	FILE *tmp = tmpfile();
	cr_assert_not_null(tmp);
	fflush(stdout);
	int saved = dup(1);
	dup2(fileno(tmp), 1);
	*rc = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	struct lp_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), tmp)) > 0)
		lp_buf_append(&b, chunk, n);
	fclose(tmp);
	return b.data ? b.data : strdup("");
}

static cJSON *json_of(int (*cmd)(int, char **), int argc, char **argv)
{
	int rc;
	char *out = run(cmd, argc, argv, &rc);
	cr_assert_eq(rc, LP_EXIT_OK, "%s: exit %d", argv[0], rc);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s: not JSON: %.200s", argv[0], out);
	free(out);
	return j;
}

static const cJSON *report_step(const cJSON *rep, const char *id)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(rep, "steps"))
		if (!strcmp(cJSON_GetObjectItem(s, "id")->valuestring, id))
			return s;
	return NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);
	cr_assert(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

/* Every step of B in `diff A B --json` has the wall_ms that `report --json B`
 * gives it; the build and context totals of each side match its report. */
static void check_pair(const char *a, const char *b)
{
	char *ra[] = { "report", "--json", (char *)a, NULL };
	char *rb[] = { "report", "--json", (char *)b, NULL };
	char *dv[] = { "diff", "--json", (char *)a, (char *)b, NULL };
	cJSON *repa = json_of(cmd_report, 3, ra), *repb = json_of(cmd_report, 3, rb);
	cJSON *d = json_of(cmd_diff, 4, dv);
	int checked = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(d, "steps")) {
		for (int side = 0; side < 2; side++) {
			const cJSON *st = cJSON_GetObjectItem(p, side ? "b" : "a");
			if (cJSON_IsNull(st))
				continue;
			const char *id = cJSON_GetObjectItem(st, "id")->valuestring;
			const cJSON *rs = report_step(side ? repb : repa, id);
			cr_assert_not_null(rs, "%s: step %s not in the report", side ? b : a, id);
			cr_assert_eq(num(st, "wall_ms"), num(rs, "wall_ms"), "%s step %s: diff %g ms, report %g ms",
				     side ? b : a, id, num(st, "wall_ms"), num(rs, "wall_ms"));
			checked++;
		}
		const cJSON *sa = cJSON_GetObjectItem(p, "a"), *sb = cJSON_GetObjectItem(p, "b");
		if (!cJSON_IsNull(sa) && !cJSON_IsNull(sb))
			cr_assert_eq(num(p, "delta_ms"), num(sb, "wall_ms") - num(sa, "wall_ms"));
	}
	cr_assert_gt(checked, 0);
	for (int side = 0; side < 2; side++) {
		const cJSON *ds = cJSON_GetObjectItem(d, side ? "b" : "a");
		const cJSON *rbld = cJSON_GetObjectItem(side ? repb : repa, "build");
		static const char *keys[] = { "wall_ms", "steps", "cached_steps", "cacheable_steps", "context_bytes",
					      "context_files", "context_changed_files", "context_added_files",
					      "events", "lost_events" };
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			cr_assert_eq(num(ds, keys[k]), num(rbld, keys[k]), "%s: %s diff %g report %g", side ? b : a,
				     keys[k], num(ds, keys[k]), num(rbld, keys[k]));
		if (cJSON_IsTrue(cJSON_GetObjectItem(rbld, "cache_hit_rate_known")))
			cr_assert_float_eq(num(ds, "cache_hit_rate"), num(rbld, "cache_hit_rate"), 1e-4);
	}
	cJSON_Delete(repa);
	cJSON_Delete(repb);
	cJSON_Delete(d);
}

static bool have(const char *p)
{
	return access(p, R_OK) == 0;
}

#define TR "tests/data/traces/"

Test(diff_report, step_times_match_report_on_real_traces)
{
	if (!have(TR "good-order-edit.lptrace"))
		cr_skip_test("tests/data/traces not found (run from the repository root)");
	/* a step whose BuildKit time (DONE 0.1s) differs from its progress-line span */
	check_pair(TR "good-order-edit.lptrace", TR "good-order-edit.lptrace");
	check_pair(TR "bad-order-cached.lptrace", TR "bad-order-edit.lptrace");
	/* 33 added and 1 changed context files */
	check_pair(TR "bloated.lptrace", TR "run-fails.lptrace");
	check_pair(TR "missing-file.lptrace", TR "target-missing.lptrace");
}

Test(diff_report, step_times_match_report_on_synthetic_builds)
{
	char *a = scenario_bad_order(true), *b = scenario_bad_order(false);
	check_pair(a, b);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}
