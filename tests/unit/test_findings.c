/* SPDX-License-Identifier: BSD-2-Clause */
/* Findings (docs/architecture.md, "Findings") on synthetic builds shaped like the fixture projects. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "exitcode.h"
#include "model.h"
#include "scenarios.h"

static struct lp_model *load_free(char *path)
{
	char err[256] = "";
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "load %s: %s", path, err);
	unlink(path);
	free(path);
	return m;
}

static const struct lp_finding *find(const struct lp_model *m, enum lp_finding_kind k, int nth)
{
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].kind == k && nth-- == 0)
			return &m->findings[i];
	return NULL;
}

static size_t count(const struct lp_model *m, enum lp_finding_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nfindings; i++)
		n += m->findings[i].kind == k;
	return n;
}

static bool has_path(const struct lp_finding *f, const char *p)
{
	for (size_t i = 0; i < f->npaths; i++)
		if (!strcmp(f->paths[i], p))
			return true;
	return false;
}

static bool evidence_has(const struct lp_finding *f, const char *s)
{
	for (size_t i = 0; i < f->nevidence; i++)
		if (strstr(f->evidence[i], s))
			return true;
	return false;
}

Test(findings, layer_order_on_bad_order_rebuild)
{
	struct lp_model *m = load_free(scenario_bad_order(false));
	cr_assert_eq(count(m, LP_FIND_LAYER_ORDER), 1);
	const struct lp_finding *f = find(m, LP_FIND_LAYER_ORDER, 0);
	cr_assert_eq(f->step, lp_model_find_step(m, "#8"));
	cr_assert_eq(f->npaths, 1);
	cr_assert_str_eq(f->paths[0], "package.json");
	/* savings = the RUN's measured duration */
	cr_assert_geq(f->savings_ms, 2999);
	cr_assert_leq(f->savings_ms, 3000);
	/* the edit: copy package.json before the RUN, the rest after it */
	cr_assert_not_null(f->edit_before);
	cr_assert_not_null(f->edit_after);
	cr_assert(strstr(f->edit_before, "COPY . .\nRUN cat package.json"), "%s", f->edit_before);
	const char *a = f->edit_after;
	const char *cp = strstr(a, "COPY package.json ./\n");
	const char *run = strstr(a, "RUN cat package.json");
	const char *all = strstr(a, "COPY . .");
	cr_assert(cp && run && all && cp < run && run < all, "edit_after:\n%s", a);
	cr_assert(evidence_has(f, "src/index.js"), "the changed file is evidence");
	/* the second RUN read the changed file: it is not a layer-order victim */
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].kind == LP_FIND_LAYER_ORDER)
			cr_assert_neq(m->findings[i].step, lp_model_find_step(m, "#9"));
	lp_model_free(m);
}

Test(findings, cache_miss_cause_is_changed_context_file)
{
	struct lp_model *m = load_free(scenario_bad_order(false));
	cr_assert_eq(count(m, LP_FIND_CACHE_MISS), 1);
	const struct lp_finding *f = find(m, LP_FIND_CACHE_MISS, 0);
	cr_assert_eq(f->step, lp_model_find_step(m, "#7"));
	cr_assert(has_path(f, "src/index.js"));
	cr_assert(strstr(f->message, "re-sent as new or changed: src/index.js"), "%s", f->message);
	lp_model_free(m);
}

Test(findings, layer_order_on_cold_bad_order_build)
{
	struct lp_model *m = load_free(scenario_bad_order(true));
	cr_assert(m->build.cold);
	const struct lp_finding *f = find(m, LP_FIND_LAYER_ORDER, 0);
	cr_assert_not_null(f, "a cold bad-order build should still get layer-order");
	cr_assert_eq(f->step, lp_model_find_step(m, "#8"));
	cr_assert(has_path(f, "package.json"));
	cr_assert(strstr(f->message, "will re-run"), "%s", f->message);
	cr_assert_eq(count(m, LP_FIND_CACHE_MISS), 0, "a cold build has no cache to miss");
	lp_model_free(m);
}

Test(findings, no_layer_order_on_good_order)
{
	struct lp_model *m = load_free(scenario_good_order(false));
	cr_assert_eq(count(m, LP_FIND_LAYER_ORDER), 0);
	cr_assert_eq(count(m, LP_FIND_CONTEXT_BLOAT), 0);
	cr_assert_eq(count(m, LP_FIND_SECRET), 0);
	cr_assert_eq(count(m, LP_FIND_FAILED_STEP), 0);
	/* the miss is explained by the edited file */
	const struct lp_finding *f = find(m, LP_FIND_CACHE_MISS, 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->step, lp_model_find_step(m, "#9"));
	cr_assert(has_path(f, "src/index.js"));
	cr_assert_float_eq(m->build.cache_hit_rate, 3.0 / 5.0, 1e-9);
	lp_model_free(m);
}

Test(findings, none_on_fully_cached_build)
{
	struct lp_model *m = load_free(scenario_good_order(true));
	cr_assert_eq(m->nfindings, 0, "first finding: %s",
		     m->nfindings ? m->findings[0].message : "");
	cr_assert_float_eq(m->build.cache_hit_rate, 1.0, 1e-9);
	lp_model_free(m);
}

Test(findings, context_bloat_with_dockerignore_lines)
{
	struct lp_model *m = load_free(scenario_bloated());
	const struct lp_finding *f = find(m, LP_FIND_CONTEXT_BLOAT, 0);
	cr_assert_not_null(f);
	cr_assert_not_null(f->edit_after);
	cr_assert(strstr(f->edit_after, ".git/\n"), "%s", f->edit_after);
	cr_assert(strstr(f->edit_after, "node_modules/\n"), "%s", f->edit_after);
	/* grouped by top directory, largest first */
	cr_assert_lt(strstr(f->edit_after, ".git/"), strstr(f->edit_after, "node_modules/"));
	cr_assert(!strstr(f->edit_after, "app.sh"), "app.sh is read by the RUN");
	cr_assert_str_eq(f->paths[0], ".git/objects/pack/pack-9d2c.pack");
	cr_assert_eq(f->savings_bytes, 262144 + 21 + 200 + 30000 + 500 + 60000);
	cr_assert(evidence_has(f, "runtime use is not observed"));
	cr_assert(strstr(f->suggestion, ".dockerignore"));
	cr_assert_eq(count(m, LP_FIND_LAYER_ORDER), 0);
	lp_model_free(m);
}

Test(findings, secret_in_context)
{
	struct lp_model *m = load_free(scenario_bloated());
	cr_assert_eq(count(m, LP_FIND_SECRET), 1);
	const struct lp_finding *f = find(m, LP_FIND_SECRET, 0);
	cr_assert(has_path(f, ".env"));
	cr_assert(has_path(f, "id_rsa"));
	cr_assert(!has_path(f, "app.sh"));
	cr_assert_eq(f->npaths, 2);
	cr_assert(strstr(f->suggestion, "secret"));
	lp_model_free(m);
}

Test(findings, failed_step_with_enoent_evidence)
{
	struct lp_model *m = load_free(scenario_missing());
	cr_assert_eq(count(m, LP_FIND_FAILED_STEP), 1);
	const struct lp_finding *f = find(m, LP_FIND_FAILED_STEP, 0);
	cr_assert_eq(f->step, lp_model_find_step(m, "#7"));
	cr_assert(has_path(f, "requirements.txt"));
	cr_assert(evidence_has(f, "ENOENT"), "kernel evidence missing");
	cr_assert(evidence_has(f, "requirements.txt"));
	cr_assert(strstr(f->suggestion, "requirements.txt"));
	/* failures come first */
	cr_assert_eq(m->findings[0].kind, LP_FIND_FAILED_STEP);
	lp_model_free(m);
}

Test(findings, secret_names)
{
	const char *yes[] = { ".env", "config/.env.production", "id_rsa", "keys/id_ed25519", "server.pem",
			      "tls.key", ".npmrc", ".aws/credentials", "home/.docker/config.json" };
	const char *no[] = { ".env.example", "id_rsa.pub", "app.py", "credentials.md", "config.json",
			     "environment.txt" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(lp_path_is_secret(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert(!lp_path_is_secret(no[i]), "%s", no[i]);
}

Test(findings, kind_names_are_stable)
{
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_LAYER_ORDER), "layer-order");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_CACHE_MISS), "cache-miss");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_CONTEXT_BLOAT), "context-bloat");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_SECRET), "secret-in-context");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_FAILED_STEP), "failed-step");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_SNAPSHOT_COST), "snapshot-cost");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_SLOW_TRANSFER), "slow-transfer");
}

/* ------------------------------------------------------------------------
 * Real recordings (tests/data/traces/README.md): dockerd 20.10 + BuildKit
 * building the fixture projects while other private daemons were busy.
 */

static struct lp_model *load_real(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "tests/data/traces/%s", name);
	if (access(path, R_OK) != 0)
		cr_skip_test("%s not found (run the tests from the repository root)", name);
	char err[256] = "";
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s: %s", path, err);
	return m;
}

Test(real, bad_order_rebuild_gets_layer_order)
{
	struct lp_model *m = load_real("bad-order-edit.lptrace");
	cr_assert_eq(count(m, LP_FIND_LAYER_ORDER), 1);
	const struct lp_finding *f = find(m, LP_FIND_LAYER_ORDER, 0);
	const struct lp_step *r = &m->steps[f->step];
	cr_assert_str_eq(r->id, "#8");
	cr_assert_eq(r->dockerfile_line, 7);
	cr_assert_eq(f->npaths, 1);
	cr_assert_str_eq(f->paths[0], "package.json");
	cr_assert_geq(f->savings_ms, 3000, "the RUN sleeps 3 s");
	cr_assert(strstr(f->edit_after, "COPY package.json ./\nRUN cat package.json"), "%s", f->edit_after);
	/* the measured facts behind it */
	cr_assert_eq(m->context.changed_files, 1);
	const struct lp_ctx_file *cf = lp_model_ctx_file(m, "src/index.js");
	cr_assert(cf && cf->changed);
	int r2 = lp_model_find_step(m, "#9");
	cr_assert_eq(m->steps[r2].nreads_from_context, 2);
	cr_assert_float_eq(m->build.cache_hit_rate, 0.25, 1e-9);
	const struct lp_finding *c = find(m, LP_FIND_CACHE_MISS, 0);
	cr_assert_not_null(c);
	cr_assert_str_eq(m->steps[c->step].id, "#7");
	cr_assert(has_path(c, "src/index.js"));
	lp_model_free(m);
}

Test(real, good_order_rebuild_has_no_layer_order)
{
	struct lp_model *m = load_real("good-order-edit.lptrace");
	cr_assert_eq(count(m, LP_FIND_LAYER_ORDER), 0);
	cr_assert_eq(count(m, LP_FIND_CONTEXT_BLOAT), 0);
	cr_assert_eq(count(m, LP_FIND_SECRET), 0);
	cr_assert_eq(count(m, LP_FIND_FAILED_STEP), 0);
	cr_assert_eq(m->build.cached_steps, 3);
	lp_model_free(m);
}

Test(real, fully_cached_rebuild_has_no_findings)
{
	struct lp_model *m = load_real("bad-order-cached.lptrace");
	cr_assert_eq(m->nfindings, 0, "%s", m->nfindings ? m->findings[0].message : "");
	cr_assert_float_eq(m->build.cache_hit_rate, 1.0, 1e-9);
	cr_assert_eq(m->context.sent_files, 0);
	lp_model_free(m);
}

Test(real, bloated_context)
{
	struct lp_model *m = load_real("bloated.lptrace");
	const struct lp_finding *f = find(m, LP_FIND_CONTEXT_BLOAT, 0);
	cr_assert_not_null(f);
	cr_assert(strstr(f->edit_after, ".git/\n") && strstr(f->edit_after, "node_modules/\n"), "%s", f->edit_after);
	cr_assert(!strstr(f->edit_after, "app.sh"));
	cr_assert_geq(f->savings_bytes, 320518 + 82191 - 4096);
	cr_assert(strstr(f->paths[0], ".git/objects/pack/"), "largest first: %s", f->paths[0]);
	const struct lp_finding *s = find(m, LP_FIND_SECRET, 0);
	cr_assert_not_null(s);
	cr_assert(has_path(s, ".env") && has_path(s, "id_rsa"));
	int run = lp_model_find_step(m, "#8");
	cr_assert_eq(m->steps[run].nreads_from_context, 1);
	cr_assert_str_eq(m->steps[run].reads_from_context[0], "app.sh");
	cr_assert_eq(m->context.manifest_files, 34);
	lp_model_free(m);
}

Test(real, missing_file_fails_with_evidence)
{
	struct lp_model *m = load_real("missing-file.lptrace");
	cr_assert(m->build.failed);
	cr_assert_eq(count(m, LP_FIND_FAILED_STEP), 1);
	const struct lp_finding *f = find(m, LP_FIND_FAILED_STEP, 0);
	cr_assert_str_eq(m->steps[f->step].id, "#7");
	cr_assert_eq(f->npaths, 1);
	cr_assert_str_eq(f->paths[0], "requirements.txt");
	cr_assert(evidence_has(f, "ENOENT"));
	lp_model_free(m);
}

/* A build whose time goes to layer machinery and to the context transfer. */
static char *scenario_costly(void)
{
	static struct synth s;
	common_start(&s, "FROM layerprof/busybox\nCOPY . /app/\n");
	for (int i = 0; i < 40; i++) {
		char p[64];
		snprintf(p, sizeof(p), "data/blob%02d.bin", i);
		syn_ctx_file(&s, p, 1u << 20);
	}
	syn_progress(&s, MS(0), "#1 [internal] load build definition from Dockerfile");
	syn_progress(&s, MS(1), "#1 DONE 0.0s");
	syn_progress(&s, MS(2), "#2 [1/2] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(3), "#2 DONE 0.0s");
	syn_progress(&s, MS(4), "#3 [internal] load build context");
	/* 40 MiB written into the context snapshot over 2 s */
	for (int i = 0; i < 40; i++) {
		char p[128];
		snprintf(p, sizeof(p), SYN_CTX "/data/blob%02d.bin", i);
		syn_sc(&s, MS(10 + i * 50), 100, LP_SC_OPENAT, 25, 9000, p, 1, NULL, 0, O_WRONLY | O_CREAT);
		syn_fdio(&s, MS(10 + i * 50 + 40), 100, 25, 0, 1u << 20, 30 * SYN_MS);
		syn_sc(&s, MS(10 + i * 50 + 41), 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	}
	syn_progress(&s, MS(2020), "#3 transferring context: 41.94MB 2.0s done");
	syn_progress(&s, MS(2021), "#3 DONE 2.0s");
	syn_progress(&s, MS(2030), "#4 [2/2] COPY . /app/");
	syn_progress(&s, MS(2300), "#4 DONE 0.3s");
	syn_progress(&s, MS(2310), "#5 exporting to image");
	for (int i = 0; i < 4; i++)
		syn_sc(&s, MS(2320 + i * 600), 100, LP_SC_FSYNC, 0, 550 * SYN_MS, NULL, 0, NULL, 0, 0);
	syn_progress(&s, MS(4800), "#5 DONE 2.5s");
	syn_close(&s, NULL);
	return strdup(s.path);
}

Test(findings, snapshot_cost_and_slow_transfer)
{
	struct lp_model *m = load_free(scenario_costly());
	const struct lp_finding *f = find(m, LP_FIND_SNAPSHOT_COST, 0);
	cr_assert_not_null(f, "export took half of the build");
	cr_assert(evidence_has(f, "fsync family: 4 calls"), "%s", f->nevidence ? f->evidence[1] : "");
	const struct lp_finding *t = find(m, LP_FIND_SLOW_TRANSFER, 0);
	cr_assert_not_null(t, "the context transfer took 2 s of 4.8 s");
	cr_assert_eq(t->step, lp_model_find_step(m, "#3"));
	cr_assert(strstr(t->message, "41.9 MB") || strstr(t->message, "41.94 MB") || strstr(t->message, "MB"),
		  "%s", t->message);
	cr_assert_geq(m->context.transfer_ns, 1900 * SYN_MS);
	cr_assert_eq(m->context.sent_files, 40);
	lp_model_free(m);
}

Test(findings, no_cost_findings_on_small_builds)
{
	struct lp_model *m = load_free(scenario_bad_order(false));
	cr_assert_eq(count(m, LP_FIND_SNAPSHOT_COST), 0);
	cr_assert_eq(count(m, LP_FIND_SLOW_TRANSFER), 0);
	lp_model_free(m);
}

Test(real, failed_run_names_the_missing_file)
{
	struct lp_model *m = load_real("run-fails.lptrace");
	cr_assert_eq(count(m, LP_FIND_FAILED_STEP), 1);
	const struct lp_finding *f = find(m, LP_FIND_FAILED_STEP, 0);
	cr_assert_str_eq(m->steps[f->step].id, "#8");
	cr_assert_eq(f->npaths, 1, "runc's and init's lookups are not evidence");
	cr_assert_str_eq(f->paths[0], "/app/config/settings.yml");
	cr_assert(evidence_has(f, "openat(\"/app/config/settings.yml\") = -ENOENT (cat"));
	cr_assert(evidence_has(f, "config/settings.yml is not in the build context"));
	cr_assert(evidence_has(f, "exited with status 1"));
	cr_assert(strstr(f->suggestion, "Add config/settings.yml to the build context"), "%s", f->suggestion);
	lp_model_free(m);
}

/* A RUN that fails on a file the context does not have (synthetic). */
Test(findings, failed_run_with_enoent)
{
	static struct synth s;
	common_start(&s, "FROM layerprof/busybox\nWORKDIR /app\nCOPY . .\nRUN cat config/settings.yml\n");
	syn_ctx_file(&s, "app.txt", 3);
	syn_ctx_file(&s, "Dockerfile", 60);
	syn_progress(&s, MS(0), "#1 [1/4] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(1), "#1 DONE 0.0s");
	syn_progress(&s, MS(2), "#2 [2/4] WORKDIR /app");
	syn_progress(&s, MS(3), "#2 CACHED");
	syn_progress(&s, MS(4), "#3 [3/4] COPY . .");
	syn_progress(&s, MS(5), "#3 CACHED");
	syn_progress(&s, MS(10), "#4 [4/4] RUN cat config/settings.yml");
	syn_run(&s, MS(20), 100 * SYN_MS, 300, "runcid1", "cat config/settings.yml", NULL, 1);
	/* runc's own probes are not evidence; the command's are */
	syn_enoent(&s, MS(20) + 3000, 300, "/usr/local/bin/newuidmap");
	syn_sc(&s, MS(20) + 40000, 303, LP_SC_OPENAT, -ENOENT, 3000, "config/settings.yml", 1, NULL, 0, 0);
	syn_progress(&s, MS(150), "#4 0.050 cat: can't open 'config/settings.yml': No such file or directory");
	syn_progress(&s, MS(151), "#4 ERROR: executor failed running [/bin/sh -c cat config/settings.yml]: exit code: 1");
	syn_progress(&s, MS(152), "executor failed running [/bin/sh -c cat config/settings.yml]: exit code: 1");
	syn_close(&s, NULL);
	struct lp_model *m = load_free(strdup(s.path));
	const struct lp_finding *f = find(m, LP_FIND_FAILED_STEP, 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->step, lp_model_find_step(m, "#4"));
	cr_assert_eq(f->npaths, 1);
	cr_assert_str_eq(f->paths[0], "/app/config/settings.yml");
	cr_assert(evidence_has(f, "config/settings.yml is not in the build context"));
	cr_assert(evidence_has(f, "exited with status 1"));
	cr_assert(!evidence_has(f, "newuidmap"));
	lp_model_free(m);
}

Test(real, missing_target_stage)
{
	struct lp_model *m = load_real("target-missing.lptrace");
	cr_assert(m->build.failed);
	const struct lp_finding *f = find(m, LP_FIND_FAILED_STEP, 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->step, -1);
	cr_assert(has_path(f, "development"));
	cr_assert(evidence_has(f, "build (line 2), runtime (line 9)"));
	cr_assert(strstr(f->suggestion, "AS development"), "%s", f->suggestion);
	lp_model_free(m);
}

/* ------------------------------------------------------------------------
 * `layerprof report`: the JSON contract (docs/architecture.md, "Report contract") and --target.
 */
static char *slurp(FILE *f)
{
	struct lp_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lp_buf_append(&b, chunk, n);
	return b.data ? b.data : strdup("");
}

static bool has_type(const cJSON *o, const char *key, int type)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return v && (v->type & 0xff) == type;
}

Test(report, json_contract, .init = cr_redirect_stdout)
{
	char *path = scenario_bad_order(false);
	char *argv[] = { "report", "--json", path, NULL };
	int rc = cmd_report(3, argv);
	fflush(stdout);
	cr_assert_eq(rc, LP_EXIT_OK);
	char *out = slurp(cr_get_redirected_stdout());
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "not JSON: %.200s", out);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "schema")->valuestring, "layerprof.report/1");
	const cJSON *b = cJSON_GetObjectItem(j, "build");
	cr_assert_str_eq(cJSON_GetObjectItem(b, "status")->valuestring, "ok");
	const char *nums[] = { "wall_ms", "steps", "cached_steps", "cache_hit_rate", "context_bytes",
			       "context_files", "context_changed_files", "events", "lost_events" };
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		cr_assert(has_type(b, nums[i], cJSON_Number), "build.%s", nums[i]);
	cr_assert_float_eq(cJSON_GetObjectItem(b, "cache_hit_rate")->valuedouble, 0.25, 1e-9);
	cr_assert_eq(cJSON_GetObjectItem(b, "context_changed_files")->valueint, 1);
	const cJSON *steps = cJSON_GetObjectItem(j, "steps"), *s;
	cr_assert_eq(cJSON_GetArraySize(steps), 10);
	cJSON_ArrayForEach(s, steps) {
		const char *strs[] = { "id", "name", "stage", "instruction" };
		for (size_t i = 0; i < 4; i++)
			cr_assert(has_type(s, strs[i], cJSON_String), "steps[].%s", strs[i]);
		const char *sn[] = { "start_ms", "wall_ms", "execs", "files_read", "bytes_read", "files_written",
				     "bytes_written" };
		for (size_t i = 0; i < 7; i++)
			cr_assert(has_type(s, sn[i], cJSON_Number), "steps[].%s", sn[i]);
		cr_assert(has_type(s, "dockerfile_line", cJSON_Number) || has_type(s, "dockerfile_line", cJSON_NULL));
		cr_assert(cJSON_IsBool(cJSON_GetObjectItem(s, "cached")));
		cr_assert(cJSON_IsArray(cJSON_GetObjectItem(s, "reads_from_context")));
	}
	const cJSON *r8 = cJSON_GetArrayItem(steps, 7);
	cr_assert_str_eq(cJSON_GetObjectItem(r8, "id")->valuestring, "#8");
	cr_assert_eq(cJSON_GetObjectItem(r8, "dockerfile_line")->valueint, 5);
	/* the kernel's time of the RUN (its processes: 3 s), not "DONE 3.1s" */
	cr_assert(cJSON_GetObjectItem(r8, "wall_ms")->valuedouble >= 2999 &&
		  cJSON_GetObjectItem(r8, "wall_ms")->valuedouble <= 3000);
	cr_assert_str_eq(cJSON_GetObjectItem(r8, "time_source")->valuestring, "kernel");
	cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(r8, "reads_from_context"), 0)->valuestring,
			 "package.json");
	const cJSON *fs = cJSON_GetObjectItem(j, "findings"), *f;
	cr_assert_geq(cJSON_GetArraySize(fs), 2);
	bool lo = false;
	cJSON_ArrayForEach(f, fs) {
		cr_assert(has_type(f, "kind", cJSON_String));
		cr_assert(has_type(f, "step", cJSON_String) || has_type(f, "step", cJSON_NULL));
		cr_assert(has_type(f, "message", cJSON_String));
		cr_assert(cJSON_IsArray(cJSON_GetObjectItem(f, "paths")));
		cr_assert(has_type(f, "suggestion", cJSON_String));
		cr_assert(has_type(f, "estimated_savings_ms", cJSON_Number));
		cr_assert(has_type(f, "estimated_savings_bytes", cJSON_Number));
		if (!strcmp(cJSON_GetObjectItem(f, "kind")->valuestring, "layer-order")) {
			lo = true;
			cr_assert_str_eq(cJSON_GetObjectItem(f, "step")->valuestring, "#8");
		}
	}
	cr_assert(lo);
	cJSON_Delete(j);
	free(out);
	unlink(path);
	free(path);
}

Test(report, targets_exit_status, .init = cr_redirect_stdout)
{
	char *path = scenario_bad_order(false);
	char *miss[] = { "report", "--target", "build_time=5m,cache_hit_rate=85%", path, NULL };
	cr_assert_eq(cmd_report(4, miss), LP_EXIT_TARGET, "25%% < 85%%: exit 3");
	char *meet[] = { "report", "--target", "build_time=10m,cache_hit_rate=20%", path, NULL };
	cr_assert_eq(cmd_report(4, meet), LP_EXIT_OK);
	char *bad[] = { "report", "--target", "image_size=huge", path, NULL };
	cr_assert_eq(cmd_report(4, bad), LP_EXIT_USAGE);
	char *none[] = { "report", "/nonexistent.lprof", NULL };
	cr_assert_eq(cmd_report(2, none), LP_EXIT_BADTRACE);
	fflush(stdout);
	char *out = slurp(cr_get_redirected_stdout());
	cr_assert(strstr(out, "cache_hit_rate  85.0%      25.0%        FAIL"), "%s", out);
	cr_assert(strstr(out, "[layer-order]"));
	free(out);
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------------------
 * Regressions: counts, savings and evidence of findings.
 */

static uint64_t many_unread_bytes(void)
{
	uint64_t b = 0;
	for (int i = 1; i <= MANY_NM + MANY_GIT; i++)
		b += many_size(i);
	return b;
}

/* The paths are cut at 20 (largest first); the count and the bytes cover
 * all 55 unread files. */
Test(findings, context_bloat_counts_every_file)
{
	struct lp_model *m = load_free(scenario_bloated_many(false));
	const struct lp_finding *f = find(m, LP_FIND_CONTEXT_BLOAT, 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->npaths, 20);
	cr_assert_eq(f->npaths_total, MANY_NM + MANY_GIT);
	cr_assert_str_eq(f->paths[0], ".git/objects/25/obj", "largest first: %s", f->paths[0]);
	cr_assert_eq(f->savings_bytes, (int64_t)many_unread_bytes());
	cr_assert(strstr(f->message, "(55 files)"), "%s", f->message);
	/* sent in this build: time saved is their share of the measured transfer */
	cr_assert_gt(f->savings_ms, 0);
	cr_assert_leq((uint64_t)f->savings_ms, m->context.transfer_ns / 1000000);
	lp_model_free(m);
}

/* A cached rebuild sent none of the unread files: the finding still names
 * them and their bytes per full send, but claims no time. */
Test(findings, context_bloat_no_time_when_not_resent)
{
	struct lp_model *m = load_free(scenario_bloated_many(true));
	cr_assert_eq(m->context.sent_bytes, 0);
	cr_assert_gt(m->context.transfer_ns, 100 * SYN_MS, "the CLI walked the context for 0.2 s");
	const struct lp_finding *f = find(m, LP_FIND_CONTEXT_BLOAT, 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->savings_ms, 0, "no bytes re-sent, no time saved (got %lld ms)", (long long)f->savings_ms);
	cr_assert_eq(f->savings_bytes, (int64_t)many_unread_bytes());
	cr_assert(evidence_has(f, "none of these files was sent"));
	cr_assert_eq(count(m, LP_FIND_SLOW_TRANSFER), 0);
	lp_model_free(m);
}

/* Every finding of every real recording carries evidence; cache misses are
 * capped at 50 paths but count them all. */
Test(real, every_finding_has_evidence)
{
	static const char *traces[] = { "bad-order-cached.lptrace", "bad-order-edit.lptrace", "bloated.lptrace",
					"good-order-edit.lptrace", "missing-file.lptrace", "run-fails.lptrace",
					"target-missing.lptrace" };
	for (size_t t = 0; t < sizeof(traces) / sizeof(traces[0]); t++) {
		struct lp_model *m = load_real(traces[t]);
		for (size_t i = 0; i < m->nfindings; i++) {
			const struct lp_finding *f = &m->findings[i];
			cr_assert_gt(f->nevidence, 0, "%s: [%s] %s has no evidence", traces[t],
				     lp_finding_kind_name(f->kind), f->message);
			cr_assert_geq(f->npaths_total, f->npaths);
			cr_assert(f->message && *f->message);
			cr_assert(f->suggestion && *f->suggestion);
		}
		lp_model_free(m);
	}
}

/* A clean build of the good-order project: first build, nothing to fix. */
Test(findings, clean_good_order_build_has_no_findings)
{
	struct lp_model *m = load_free(scenario_good_order_cold());
	cr_assert(m->build.cold);
	cr_assert_eq(m->nfindings, 0, "first finding: [%s] %s",
		     m->nfindings ? lp_finding_kind_name(m->findings[0].kind) : "",
		     m->nfindings ? m->findings[0].message : "");
	lp_model_free(m);
}

/* The real good-order rebuild: its one finding is the miss the edit caused. */
Test(real, good_order_rebuild_only_the_explained_miss)
{
	struct lp_model *m = load_real("good-order-edit.lptrace");
	cr_assert_eq(m->nfindings, 1, "%zu findings", m->nfindings);
	const struct lp_finding *f = &m->findings[0];
	cr_assert_eq(f->kind, LP_FIND_CACHE_MISS);
	cr_assert(has_path(f, "src/index.js"));
	cr_assert(evidence_has(f, "changed/added file"));
	lp_model_free(m);
}

/* The report's text and JSON give the count of all paths, not of those shown. */
Test(report, bloat_paths_count_all, .init = cr_redirect_stdout)
{
	char *path = scenario_bloated_many(false);
	char *text[] = { "report", "--top", "5", path, NULL };
	cr_assert_eq(cmd_report(4, text), LP_EXIT_OK);
	char *json[] = { "report", "--json", path, NULL };
	cr_assert_eq(cmd_report(3, json), LP_EXIT_OK);
	fflush(stdout);
	char *out = slurp(cr_get_redirected_stdout());
	cr_assert(strstr(out, ", ... (55 in all)"), "%s", out);
	const char *js = strstr(out, "{\n\t\"schema\"");
	cr_assert_not_null(js);
	cJSON *j = cJSON_Parse(js);
	cr_assert_not_null(j);
	const cJSON *f, *bloat = NULL;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(j, "findings"))
		if (!strcmp(cJSON_GetObjectItem(f, "kind")->valuestring, "context-bloat"))
			bloat = f;
	cr_assert_not_null(bloat);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(bloat, "paths")), 20);
	cr_assert_eq(cJSON_GetObjectItem(bloat, "paths_total")->valueint, 55);
	cr_assert_eq((uint64_t)cJSON_GetObjectItem(bloat, "estimated_savings_bytes")->valuedouble,
		     many_unread_bytes());
	cJSON_Delete(j);
	free(out);
	unlink(path);
	free(path);
}

/* A failed build produced no image: no size in the text, JSON or targets,
 * even when the trailer has one (an older image of the same tag). */
/* A WORKDIR the progress stream says took 0.5 s, in which the kernel saw
 * it do nothing, while the context was being sent: its row says where its
 * time comes from and what the kernel saw at work meanwhile (a cold go
 * build on Docker 20.10 showed a 500-600 ms WORKDIR with 0 files). A step
 * the kernel timed gets no such line. */
Test(report, engine_timed_step_without_work_says_so, .init = cr_redirect_stdout)
{
	static struct synth s;
	common_start(&s, "FROM layerprof/busybox\nWORKDIR /app\nCOPY . .\n");
	project_manifest(&s);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/3] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_progress(&s, MS(35), "#6 [2/3] WORKDIR /app");
	transfer(&s, 40, 5, PROJECT, NULL);
	syn_progress(&s, MS(535), "#6 DONE 0.5s");
	syn_progress(&s, MS(540), "#7 [3/3] COPY . .");
	copy_files(&s, 540, COPYSNAP, PROJECT, "/app");
	syn_progress(&s, MS(580), "#7 DONE 0.0s");
	syn_close(&s, NULL);
	char *argv[] = { "report", "--wide", s.path, NULL };
	cr_assert_eq(cmd_report(3, argv), LP_EXIT_OK);
	fflush(stdout);
	char *out = slurp(cr_get_redirected_stdout());
	const char *w = strstr(out, "[2/3] WORKDIR /app\n");
	cr_assert_not_null(w, "%s", out);
	const char *note = strstr(w, "time: its DONE line in the progress stream; the kernel saw no work of this "
				     "step (meanwhile it saw #5 ");
	cr_assert_not_null(note, "%s", out);
	cr_assert_lt(note - w, 64, "the line under the WORKDIR row: %s", out);
	cr_assert_null(strstr(note + 1, "time: "), "one note: the kernel-timed steps get none: %s", out);
	free(out);
	unlink(s.path);
}

Test(report, failed_build_has_no_image_size, .init = cr_redirect_stdout)
{
	char *path = scenario_missing_with("{\"lost\":{\"total\":0},\"command_status\":1,"
					   "\"image\":{\"ref\":\"app\",\"size\":5000000}}");
	char err[256];
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert(m->build.failed);
	cr_assert_null(m->build.image_bytes_source);
	cr_assert_eq(m->build.image_bytes, 0);
	lp_model_free(m);
	char *text[] = { "report", "--target", "image_size=1GB", path, NULL };
	cr_assert_eq(cmd_report(4, text), LP_EXIT_TARGET, "an unmeasured size does not pass");
	char *json[] = { "report", "--json", path, NULL };
	cr_assert_eq(cmd_report(3, json), LP_EXIT_OK);
	fflush(stdout);
	char *out = slurp(cr_get_redirected_stdout());
	cr_assert(strstr(out, "image size       not measured: the build failed"), "%s", out);
	cr_assert(strstr(out, "image_size      1.00 GB    unknown      FAIL   not measured"), "%s", out);
	const char *js = strstr(out, "{\n\t\"schema\"");
	cr_assert_not_null(js);
	cJSON *j = cJSON_Parse(js);
	cr_assert_not_null(j);
	const cJSON *b = cJSON_GetObjectItem(j, "build");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(b, "image_bytes")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(b, "image_bytes_source")));
	cJSON_Delete(j);
	free(out);
	unlink(path);
	free(path);
}

Test(real, failed_builds_have_no_image_size)
{
	static const char *traces[] = { "missing-file.lptrace", "run-fails.lptrace", "target-missing.lptrace" };
	for (size_t t = 0; t < sizeof(traces) / sizeof(traces[0]); t++) {
		struct lp_model *m = load_real(traces[t]);
		cr_assert(m->build.failed, "%s", traces[t]);
		cr_assert_null(m->build.image_bytes_source, "%s: %s", traces[t], m->build.image_bytes_source);
		lp_model_free(m);
	}
	struct lp_model *m = load_real("bloated.lptrace");
	cr_assert_str_eq(m->build.image_bytes_source, "image inspect");
	lp_model_free(m);
}

/* cache_hit_rate: one definition (cached / cacheable, FROM excluded) in the
 * model, the text, the JSON (documented there) and --target. */
static void check_rate(const char *path)
{
	char err[256];
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s: %s", path, err);
	size_t cacheable = 0, cached = 0;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		bool want = s->stage_steps > 0 && strcmp(s->instruction, "FROM");
		cr_assert_eq(lp_step_counts_for_cache(s), want, "%s %s", path, s->name);
		cacheable += want;
		cached += want && s->cached;
	}
	cr_assert_eq(m->build.cacheable_steps, cacheable, "%s", path);
	cr_assert_eq(m->build.cached_steps, cached, "%s", path);
	double rate = cacheable ? (double)cached / (double)cacheable : -1;
	cr_assert_float_eq(m->build.cache_hit_rate, rate, 1e-12, "%s", path);

	/* JSON and --target, from the same run of the command */
	FILE *tmp = tmpfile();
	cr_assert_not_null(tmp);
	fflush(stdout);
	int saved = dup(1);
	dup2(fileno(tmp), 1);
	char *argv[] = { "report", "--json", "--target", "cache_hit_rate=0%", (char *)path, NULL };
	int rc = cmd_report(5, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	cr_assert(rc == LP_EXIT_OK || rc == LP_EXIT_TARGET);
	rewind(tmp);
	char *out = slurp(tmp);
	fclose(tmp);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", path);
	const cJSON *b = cJSON_GetObjectItem(j, "build");
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(b, "cache_hit_rate_formula")));
	cr_assert_eq(cJSON_GetObjectItem(b, "cacheable_steps")->valueint, (int)cacheable);
	cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(b, "cache_hit_rate_known")), cacheable > 0);
	size_t jc = 0, jcached = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "steps")) {
		cr_assert(cJSON_IsBool(cJSON_GetObjectItem(s, "cacheable")));
		if (cJSON_IsTrue(cJSON_GetObjectItem(s, "cacheable"))) {
			jc++;
			jcached += cJSON_IsTrue(cJSON_GetObjectItem(s, "cached"));
		}
	}
	cr_assert_eq(jc, cacheable, "%s", path);
	cr_assert_eq(jcached, cached, "%s", path);
	const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "targets"), 0);
	if (cacheable) {
		cr_assert_float_eq(cJSON_GetObjectItem(b, "cache_hit_rate")->valuedouble, rate, 1e-12);
		cr_assert_float_eq(cJSON_GetObjectItem(t, "measured")->valuedouble, rate, 1e-12);
		cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(t, "pass")));
	} else {
		cr_assert(cJSON_IsNull(cJSON_GetObjectItem(t, "measured")));
	}
	cJSON_Delete(j);
	free(out);
	lp_model_free(m);
}

Test(report, cache_hit_rate_one_definition)
{
	static const char *traces[] = { "bad-order-cached.lptrace", "bad-order-edit.lptrace", "bloated.lptrace",
					"good-order-edit.lptrace", "missing-file.lptrace", "run-fails.lptrace",
					"target-missing.lptrace" };
	for (size_t t = 0; t < sizeof(traces) / sizeof(traces[0]); t++) {
		char p[256];
		snprintf(p, sizeof(p), "tests/data/traces/%s", traces[t]);
		if (access(p, R_OK) == 0)
			check_rate(p);
	}
	char *path = scenario_good_order(false);
	check_rate(path);
	unlink(path);
	free(path);
}

/* A cold good-order build whose last RUN compiles the sources COPY . .
 * placed (2 s): any edit of a source must re-run it, so moving those files
 * up saves nothing. layer-order on a cold build is for installs that read
 * dependency manifests only. */
Test(findings, no_layer_order_for_a_compile_on_a_cold_good_order_build)
{
	struct lp_model *m = load_free(scenario_good_order_cold_with(2000));
	cr_assert(m->build.cold);
	const struct lp_step *c = &m->steps[lp_model_find_step(m, "#10")];
	cr_assert_geq(lp_step_wall_ns(c), 1999 * SYN_MS, "the compile is slow enough to be judged");
	cr_assert_eq(count(m, LP_FIND_LAYER_ORDER), 0);
	lp_model_free(m);
}

/* *.pem in installed packages are CA bundles (certifi's cacert.pem in every
 * venv), not the project's keys. */
Test(findings, package_ca_bundles_are_not_secrets)
{
	cr_assert_not(lp_path_is_secret(".venv/lib/python3.11/site-packages/pip/_vendor/certifi/cacert.pem"));
	cr_assert_not(lp_path_is_secret("node_modules/some-lib/test/fixtures/cert.pem"));
	cr_assert(lp_path_is_secret("certs/server.pem"));
	cr_assert(lp_path_is_secret("deploy/tls.key"));
	cr_assert(lp_path_is_secret(".env"));
}
