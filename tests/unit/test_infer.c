/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Attach mode: steps inferred from kernel evidence (src/infer.c), on a real
 * attach-mode recording (tests/data/traces/attach-bad-order.lptrace: the
 * daemons traced with no command while bad-order was built without cache)
 * and on synthetic traces without a progress stream.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "exitcode.h"
#include "model.h"
#include "synth.h"

#define ATTACH "tests/data/traces/attach-bad-order.lptrace"
#define SEC 1000000000ull

static struct lp_model *load(const char *path)
{
	if (access(path, R_OK) != 0)
		cr_skip_test("%s not found (run the tests from the repository root)", path);
	char err[256] = "";
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s: %s", path, err);
	return m;
}

static const struct lp_step *step_named(const struct lp_model *m, enum lp_step_kind k, const char *sub)
{
	for (size_t i = 0; i < m->nsteps; i++)
		if (m->steps[i].kind == k && (!sub || strstr(m->steps[i].name, sub)))
			return &m->steps[i];
	return NULL;
}

static size_t count_kind(const struct lp_model *m, enum lp_step_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nsteps; i++)
		n += m->steps[i].kind == k;
	return n;
}

static size_t count_findings(const struct lp_model *m, enum lp_finding_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nfindings; i++)
		n += m->findings[i].kind == k;
	return n;
}

static bool evidence_has(const struct lp_finding *f, const char *s)
{
	for (size_t i = 0; i < f->nevidence; i++)
		if (strstr(f->evidence[i], s))
			return true;
	return false;
}

static char *slurp(FILE *f)
{
	struct lp_buf b = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		lp_buf_append(&b, buf, n);
	lp_buf_append(&b, "", 1);
	return b.data;
}

/* ---------------------------------------------------------- real trace */

Test(attach, steps_are_inferred_and_marked)
{
	struct lp_model *m = load(ATTACH);
	cr_assert(m->build.steps_inferred);
	cr_assert_gt(m->nsteps, 0);
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		char id[32];
		snprintf(id, sizeof(id), "#%zu", i + 1);
		cr_assert_str_eq(s->id, id, "numbered #1.. in order");
		cr_assert(s->inferred, "%s", s->name);
		cr_assert(!s->cached && !s->cacheable, "%s: a cache hit is invisible", s->name);
		if (i)
			cr_assert_geq(s->start_ns, m->steps[i - 1].start_ns, "ordered by start");
	}
	lp_model_free(m);
}

Test(attach, run_steps_with_their_command_and_duration)
{
	struct lp_model *m = load(ATTACH);
	cr_assert_eq(count_kind(m, LP_STEPK_RUN), 2);
	const struct lp_step *slow = step_named(
		m, LP_STEPK_RUN, "RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	cr_assert_not_null(slow, "the 3 s RUN, named after its sh -c text");
	cr_assert_str_eq(slow->instruction, "RUN");
	uint64_t w = lp_step_wall_ns(slow);
	/* BuildKit said DONE 3.1s for it; sleep 3 */
	cr_assert(w >= 3 * SEC - SEC / 20 && w <= 3 * SEC + SEC / 2, "wall %llu ns", (unsigned long long)w);
	cr_assert_eq(slow->status, LP_STEP_DONE);
	cr_assert_not_null(slow->container_id, "correlate tied it to its runc bundle");
	cr_assert_eq(strlen(slow->container_id), 25);
	cr_assert_not_null(slow->rootfs);
	cr_assert_geq(slow->agg.execs, 3, "its container's processes are attributed");
	cr_assert_eq(slow->nreads_from_context, 1);
	cr_assert_str_eq(slow->reads_from_context[0], "package.json");

	const struct lp_step *bundle =
		step_named(m, LP_STEPK_RUN, "RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js");
	cr_assert_not_null(bundle, "named after the sh -c text, not the last command busybox exec'd");
	cr_assert_lt(lp_step_wall_ns(bundle), SEC);
	cr_assert_eq(bundle->status, LP_STEP_DONE);
	cr_assert_eq(bundle->nreads_from_context, 2);
	cr_assert_str_eq(bundle->reads_from_context[0], "src/index.js");
	cr_assert_str_eq(bundle->reads_from_context[1], "src/util.js");
	cr_assert_gt(bundle->start_ns, slow->end_ns - SEC / 10);
	lp_model_free(m);
}

Test(attach, copy_context_and_export)
{
	struct lp_model *m = load(ATTACH);
	cr_assert_eq(count_kind(m, LP_STEPK_COPY), 1);
	const struct lp_step *c = step_named(m, LP_STEPK_COPY, NULL);
	cr_assert_str_eq(c->name, "COPY -> /app");
	cr_assert_str_eq(c->instruction, "COPY");
	cr_assert_not_null(c->snapshot_dir);
	cr_assert(strstr(c->snapshot_dir, "/overlay2/"));
	cr_assert_geq(c->agg.files_written, 5, "Dockerfile, README.md, package.json, src/index.js, src/util.js");
	cr_assert_str_eq(c->copy_dst, "/app/");
	cr_assert(!c->copy_from_stage, "its sources were read from the context snapshot");
	cr_assert_eq(c->nreads_from_context, 5);

	const struct lp_step *w = step_named(m, LP_STEPK_OTHER, "WORKDIR /app");
	cr_assert_not_null(w, "a snapshot that got only mkdir /app");
	cr_assert_eq(w->agg.bytes_written, 0);
	cr_assert_lt(w->index, c->index);

	const struct lp_step *ctx = step_named(m, LP_STEPK_LOAD_CONTEXT, NULL);
	cr_assert_not_null(ctx);
	cr_assert_eq(m->context.step, ctx->index);
	cr_assert_not_null(m->context.snapshot_dir);
	cr_assert_eq(m->context.sent_files, 5);
	cr_assert_eq(m->context.added_files, 5);
	cr_assert_lt(ctx->index, c->index);
	cr_assert_not_null(step_named(m, LP_STEPK_LOAD_DOCKERFILE, NULL), "the Dockerfile's own snapshot");

	const struct lp_step *e = step_named(m, LP_STEPK_EXPORT, NULL);
	cr_assert_not_null(e);
	cr_assert_eq((size_t)e->index, m->nsteps - 1, "exporting comes last");
	cr_assert_gt(e->end_ns, e->start_ns);
	cr_assert_lt(e->end_ns - e->start_ns, SEC);
	cr_assert_gt(m->snap.export_ns, 0);
	lp_model_free(m);
}

Test(attach, cache_hit_rate_unknown_and_no_guessed_findings)
{
	struct lp_model *m = load(ATTACH);
	cr_assert_lt(m->build.cache_hit_rate, 0, "unknown, not 0%%");
	cr_assert_eq(m->build.cacheable_steps, 0);
	cr_assert_eq(m->build.cached_steps, 0);
	cr_assert_eq(m->build.steps, 4, "WORKDIR, COPY, 2 RUN");
	cr_assert(!m->build.failed);
	cr_assert_gt(m->build.wall_ns, 3 * SEC);
	cr_assert_lt(m->build.wall_ns, 4 * SEC);
	cr_assert_eq(count_findings(m, LP_FIND_LAYER_ORDER), 0, "needs cache flags: not on guesses");
	cr_assert_eq(count_findings(m, LP_FIND_CACHE_MISS), 0, "needs cache flags: not on guesses");
	cr_assert_eq(count_findings(m, LP_FIND_FAILED_STEP), 0);
	lp_model_free(m);
}

Test(attach, report_says_so, .init = cr_redirect_stdout)
{
	if (access(ATTACH, R_OK) != 0)
		cr_skip_test("%s not found (run the tests from the repository root)", ATTACH);
	char *jargv[] = { "report", "--json", ATTACH, NULL };
	cr_assert_eq(cmd_report(3, jargv), LP_EXIT_OK);
	char *targv[] = { "report", ATTACH, NULL };
	cr_assert_eq(cmd_report(2, targv), LP_EXIT_OK);
	char *cargv[] = { "report", "--target", "cache_hit_rate=50%", ATTACH, NULL };
	cr_assert_eq(cmd_report(4, cargv), LP_EXIT_TARGET, "an unknown rate meets no target");
	fflush(stdout);
	char *out = slurp(cr_get_redirected_stdout());
	/* the JSON document comes first: up to the first line "}" */
	char *end = strstr(out, "\n}\n");
	cr_assert_not_null(end);
	end[2] = 0;
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "not JSON: %.300s", out);
	const cJSON *b = cJSON_GetObjectItem(j, "build");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(b, "steps_inferred")));
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(b, "cache_hit_rate_known")));
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(b, "cache_hit_rate")), "the contract's type is kept");
	bool run = false;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "steps"))
	{
		cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(s, "inferred")));
		run |= strstr(cJSON_GetObjectItem(s, "name")->valuestring, "sleep 3") != NULL;
	}
	cr_assert(run);
	cJSON_Delete(j);
	const char *text = end + 3;
	cr_assert(strstr(text, "steps inferred from kernel evidence: no BuildKit progress stream in this trace "
			       "(attach mode); cache hits are not visible"),
		  "%s", text);
	cr_assert(strstr(text, "cache hit rate   unknown"), "%s", text);
	cr_assert(!strstr(text, "% measured"), "%s", text);
	cr_assert(strstr(text, "not measured: steps inferred"), "%s", text);
	free(out);
}

Test(attach, recorded_builds_are_not_inferred)
{
	struct lp_model *m = load("tests/data/traces/bad-order-edit.lptrace");
	cr_assert(!m->build.steps_inferred);
	for (size_t i = 0; i < m->nsteps; i++)
		cr_assert(!m->steps[i].inferred);
	lp_model_free(m);
}

/* ----------------------------------------------------------- synthetic */

#define ST(ms) (10000 * SYN_MS + (uint64_t)(ms) * SYN_MS)
#define DR SYN_ROOT
#define CTX DR "/overlay2/ctxsnapshotid0000000000a/diff"
#define CPY DR "/overlay2/copysnapshotid000000000b"

static void attach_start(struct synth *s)
{
	syn_open(s, "{\"version\":1,\"daemons\":[{\"pid\":100,\"comm\":\"dockerd\",\"data_root\":\"" DR "\"}]}");
	const char *dargv[] = { "/usr/sbin/dockerd", "--data-root", DR, NULL };
	syn_seed(s, 100, 1, "dockerd", "/usr/sbin/dockerd", dargv);
}

/* The context transfer (two files) and `COPY package.json ./` (WORKDIR
 * /app): the daemon reads the source, then creates the destination. */
static void attach_context_and_copy(struct synth *s)
{
	syn_sc(s, ST(1), 100, LP_SC_MKDIRAT, 0, 10000, CTX, 1, NULL, 0, 0755);
	syn_file(s, ST(2), 100, CTX "/package.json", true, 299);
	syn_sc(s, ST(3), 100, LP_SC_MKDIRAT, 0, 10000, CTX "/src", 1, NULL, 0, 0755);
	syn_file(s, ST(4), 100, CTX "/src/a.js", true, 150);
	syn_sc(s, ST(20), 100, LP_SC_MKDIRAT, 0, 10000, CPY "/diff", 1, NULL, 0, 0755);
	syn_file(s, ST(21), 100, CTX "/package.json", false, 299);
	syn_file(s, ST(22), 100, CPY "/merged/app/package.json", true, 299);
}

Test(synthetic, failed_run_fires_failed_step_with_kernel_evidence)
{
	static struct synth s;
	attach_start(&s);
	attach_context_and_copy(&s);
	syn_run(&s, ST(50), 200 * SYN_MS, 300, "runcid1", "cat config/settings.yml", NULL, 1);
	syn_sc(&s, ST(50) + 40000, 303, LP_SC_OPENAT, -ENOENT, 3000, "config/settings.yml", 1, NULL, 0, 0);
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	unlink(s.path);
	cr_assert(m->build.steps_inferred);
	cr_assert(m->build.failed, "a RUN whose shell exited 1");
	const struct lp_step *r = step_named(m, LP_STEPK_RUN, "RUN cat config/settings.yml");
	cr_assert_not_null(r);
	cr_assert_eq(r->status, LP_STEP_ERROR);
	cr_assert(r->error && strstr(r->error, "exit code: 1"), "%s", r->error ? r->error : "(null)");
	cr_assert_eq(count_findings(m, LP_FIND_FAILED_STEP), 1);
	const struct lp_finding *f = NULL;
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].kind == LP_FIND_FAILED_STEP)
			f = &m->findings[i];
	cr_assert_eq(f->step, r->index);
	cr_assert(evidence_has(f, "exited with status 1"));
	cr_assert(evidence_has(f, "openat(\"/app/config/settings.yml\") = -ENOENT"));
	cr_assert(evidence_has(f, "inferred from kernel evidence"));
	cr_assert(strstr(f->suggestion, "cat config/settings.yml"), "%s", f->suggestion);
	cr_assert(!strstr(f->suggestion, "line 0"), "%s", f->suggestion);
	cr_assert_eq(count_findings(m, LP_FIND_LAYER_ORDER) + count_findings(m, LP_FIND_CACHE_MISS), 0);
	lp_model_free(m);
}

Test(synthetic, copy_sources_from_the_daemons_reads)
{
	static struct synth s;
	attach_start(&s);
	attach_context_and_copy(&s);
	const char *reads[] = { "/app/package.json", "/app/src/a.js", NULL };
	syn_run(&s, ST(50), 1500 * SYN_MS, 300, "runcid1", "cat package.json src/a.js", reads, 0);
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	unlink(s.path);
	const struct lp_step *c = step_named(m, LP_STEPK_COPY, NULL);
	cr_assert_not_null(c);
	cr_assert_str_eq(c->name, "COPY -> /app");
	cr_assert_eq(c->ncopy_srcs, 1, "exactly the file it copied, not the whole context");
	cr_assert_str_eq(c->copy_srcs[0], "package.json");
	cr_assert_str_eq(c->copy_dst, "/app/");
	const struct lp_step *r = step_named(m, LP_STEPK_RUN, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(r->status, LP_STEP_DONE);
	cr_assert_eq(r->nreads_from_context, 1, "src/a.js was sent but never copied to /app");
	cr_assert_str_eq(r->reads_from_context[0], "package.json");
	cr_assert_eq(m->context.sent_files, 2);
	cr_assert_eq(count_findings(m, LP_FIND_LAYER_ORDER), 0);
	lp_model_free(m);
}

Test(synthetic, no_build_evidence_no_steps)
{
	static struct synth s;
	attach_start(&s);
	syn_file(&s, ST(1), 100, DR "/buildkit/metadata_v2.db", true, 4096);
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	unlink(s.path);
	cr_assert_eq(m->nsteps, 0);
	cr_assert(!m->build.steps_inferred);
	lp_model_free(m);
}
