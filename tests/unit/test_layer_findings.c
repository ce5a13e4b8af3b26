/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Layer provenance findings (layer_findings.h) on synthetic builds shaped
 * like tests/fixtures/layers-bad and layers-good: clobbered-files,
 * wasted-layer-bytes, secret-in-layer, and the step provenance they rest on.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "model.h"
#include "scenarios.h"

#define SNAP1 SYN_ROOT "/overlay2/copysnapshotid000000000c"
#define SNAP2 SYN_ROOT "/overlay2/copysnapshotid000000000d"
#define SNAP3 SYN_ROOT "/overlay2/copysnapshotid000000000e"
#define ARCHIVE (3u << 20)

static char *meta_with(const char *dockerfile, const char *target)
{
	struct lp_buf b = { 0 };
	lp_buf_puts(&b, "{\"version\":1,\"build\":{\"context\":\"/work/app\",\"dockerfile\":\"/work/app/Dockerfile\","
			"\"dockerfile_text\":");
	lp_buf_json_str(&b, dockerfile);
	lp_buf_puts(&b, "},\"daemons\":[{\"pid\":100,\"comm\":\"dockerd\",\"data_root\":\"" SYN_ROOT "\"}],"
			"\"command\":[\"docker\",\"build\",\"-t\",\"app\",");
	if (target)
		lp_buf_printf(&b, "\"--target\",\"%s\",", target);
	lp_buf_puts(&b, "\".\"]}");
	return b.data;
}

static void start(struct synth *s, const char *dockerfile, const char *target)
{
	char *meta = meta_with(dockerfile, target);
	syn_open(s, meta);
	free(meta);
	const char *dargv[] = { "/usr/sbin/dockerd", "--data-root", SYN_ROOT, NULL };
	syn_seed(s, 100, 1, "dockerd", "/usr/sbin/dockerd", dargv);
	const char *cargv[] = { "docker", "build", "-t", "app", ".", NULL };
	syn_seed_cwd(s, 200, 99, "docker", "/usr/bin/docker", "/work/app", cargv);
	syn_trace_pid(s, T0 - 50 * SYN_MS, 200, "docker");
}

static void c_write(struct synth *s, uint64_t t, uint32_t pid, const char *path, uint64_t bytes)
{
	syn_file(s, t, pid, path, true, bytes);
}

static void c_unlink(struct synth *s, uint64_t t, uint32_t pid, const char *path)
{
	syn_sc(s, t, pid, LP_SC_UNLINKAT, 0, 5000, path, 1, NULL, 0, 0);
}

/* the simulated npm ci: the image's own node_modules/ */
static uint64_t w_install(struct synth *s, uint32_t pid, uint64_t t, void *arg)
{
	(void)arg;
	c_write(s, t, pid, "/app/node_modules/dep/index.js", 500);
	c_write(s, t + 100000, pid, "/app/node_modules/dep/package.json", 50);
	c_write(s, t + 200000, pid, "/app/node_modules/.package-lock.json", 30);
	return t + 300000;
}

/* makes the archive; *(bool *)arg: unpack and delete it in the same RUN */
static uint64_t w_make(struct synth *s, uint32_t pid, uint64_t t, void *arg)
{
	bool same_run = *(bool *)arg;
	c_write(s, t, pid, "/tmp/src/blob", ARCHIVE);
	c_write(s, t + 100000, pid, "/opt/pkg.tar", ARCHIVE + 2048);
	c_unlink(s, t + 200000, pid, "/tmp/src/blob");
	if (!same_run)
		return t + 300000;
	syn_file(s, t + 300000, pid, "/opt/pkg.tar", false, ARCHIVE + 2048);
	c_write(s, t + 400000, pid, "/opt/pkg/blob", ARCHIVE);
	c_unlink(s, t + 500000, pid, "/opt/pkg.tar");
	return t + 600000;
}

static uint64_t w_unpack(struct synth *s, uint32_t pid, uint64_t t, void *arg)
{
	(void)arg;
	syn_file(s, t, pid, "/opt/pkg.tar", false, ARCHIVE + 2048);
	c_write(s, t + 100000, pid, "/opt/pkg/blob", ARCHIVE);
	c_unlink(s, t + 200000, pid, "/opt/pkg.tar");
	return t + 300000;
}

/* the app's start: reads the dependency; *(bool *)arg: and removes .env */
static uint64_t w_node(struct synth *s, uint32_t pid, uint64_t t, void *arg)
{
	syn_file(s, t, pid, "/app/node_modules/dep/index.js", false, 300);
	if (*(bool *)arg)
		c_unlink(s, t + 100000, pid, "/app/.env");
	return t + 200000;
}

#define LAYERS_DOCKERFILE                                                                      \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"COPY package.json ./\n"                                                                \
	"RUN npm ci\n"                                                                          \
	"RUN make-archive\n"                                                                    \
	"RUN unpack-archive\n"                                                                  \
	"COPY . .\n"                                                                            \
	"RUN node index.js\n"

static const char *const BAD_CTX[] = { ".env", "index.js", "node_modules/dep/index.js",
				       "node_modules/dep/package.json", "node_modules/other/a.js", "package.json",
				       NULL };
static const char *const GOOD_CTX[] = { "index.js", "package.json", NULL };

/* layers-bad (good: .dockerignore'd node_modules/ and .env, the archive
 * made, unpacked and deleted in one RUN) */
static char *scenario_layers(bool good)
{
	static struct synth s;
	start(&s, LAYERS_DOCKERFILE, NULL);
	const char *const *ctx = good ? GOOD_CTX : BAD_CTX;
	for (int i = 0; ctx[i]; i++)
		syn_ctx_file(&s, ctx[i], 300);
	internal_steps(&s, "layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/8] FROM layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	transfer(&s, 40, 5, ctx, NULL);
	syn_progress(&s, MS(70), "#6 [2/8] WORKDIR /app");
	syn_progress(&s, MS(75), "#6 DONE 0.0s");
	syn_progress(&s, MS(80), "#7 [3/8] COPY package.json ./");
	const char *man[] = { "package.json", NULL };
	copy_files(&s, 80, SNAP1, man, "/app");
	syn_progress(&s, MS(120), "#7 DONE 0.0s");
	syn_progress(&s, MS(130), "#8 [4/8] RUN npm ci");
	syn_run_work(&s, MS(140), 300 * SYN_MS, 300, "run1containerid00000000001", "npm ci", NULL, 0, w_install,
		     NULL);
	syn_progress(&s, MS(450), "#8 DONE 0.3s");
	syn_progress(&s, MS(460), "#9 [5/8] RUN make-archive");
	syn_run_work(&s, MS(470), 300 * SYN_MS, 400, "run2containerid00000000002", "make-archive", NULL, 0, w_make,
		     &good);
	syn_progress(&s, MS(780), "#9 DONE 0.3s");
	syn_progress(&s, MS(790), "#10 [6/8] RUN unpack-archive");
	/* (the good variant's unpack RUN has nothing left to do: #9 did it) */
	syn_run_work(&s, MS(800), 300 * SYN_MS, 500, "run3containerid00000000003", "unpack-archive", NULL, 0,
		     good ? NULL : w_unpack, NULL);
	syn_progress(&s, MS(1420), "#10 DONE 0.6s");
	syn_progress(&s, MS(1430), "#11 [7/8] COPY . .");
	copy_files(&s, 1430, SNAP2, ctx, "/app");
	syn_progress(&s, MS(1470), "#11 DONE 0.0s");
	syn_progress(&s, MS(1480), "#12 [8/8] RUN node index.js");
	bool rm_env = !good;
	syn_run_work(&s, MS(1490), 300 * SYN_MS, 600, "run4containerid00000000005", "node index.js", NULL, 0, w_node,
		     &rm_env);
	syn_progress(&s, MS(1800), "#12 DONE 0.3s");
	export_step(&s, 1810, 13);
	syn_close(&s, NULL);
	return strdup(s.path);
}

#define STAGES_DOCKERFILE                                                                      \
	"FROM layerprof/busybox AS fetch\n"                                                     \
	"RUN make-archive\n"                                                                    \
	"RUN unpack-archive\n"                                                                  \
	"FROM layerprof/busybox\n"                                                              \
	"COPY --from=fetch /opt/pkg /opt/pkg\n"

/* multi-stage: the archive made and deleted in separate RUNs of the build
 * stage; target: --target of the command (NULL: the last stage) */
static char *scenario_stages(const char *target)
{
	static struct synth s;
	start(&s, STAGES_DOCKERFILE, target);
	internal_steps(&s, "layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [fetch 1/3] FROM layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_progress(&s, MS(40), "#5 [fetch 2/3] RUN make-archive");
	bool same = false;
	syn_run_work(&s, MS(50), 300 * SYN_MS, 400, "run2containerid00000000002", "make-archive", NULL, 0, w_make,
		     &same);
	syn_progress(&s, MS(360), "#5 DONE 0.3s");
	syn_progress(&s, MS(370), "#6 [fetch 3/3] RUN unpack-archive");
	syn_run_work(&s, MS(380), 300 * SYN_MS, 500, "run3containerid00000000003", "unpack-archive", NULL, 0,
		     w_unpack, NULL);
	syn_progress(&s, MS(690), "#6 DONE 0.3s");
	if (!target) {
		syn_progress(&s, MS(700), "#7 [stage-1 2/2] COPY --from=fetch /opt/pkg /opt/pkg");
		syn_file(&s, MS(710), 100, SNAP3 "/merged/opt/pkg/blob", true, ARCHIVE);
		syn_progress(&s, MS(720), "#7 DONE 0.0s");
	}
	export_step(&s, 730, 8);
	syn_close(&s, NULL);
	return strdup(s.path);
}

static struct lp_model *load_free(char *path)
{
	char err[256] = "";
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "load %s: %s", path, err);
	unlink(path);
	free(path);
	return m;
}

static size_t count(const struct lp_model *m, enum lp_finding_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nfindings; i++)
		n += m->findings[i].kind == k;
	return n;
}

static const struct lp_finding *find(const struct lp_model *m, enum lp_finding_kind k)
{
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].kind == k)
			return &m->findings[i];
	return NULL;
}

static bool evidence_has(const struct lp_finding *f, const char *s)
{
	for (size_t i = 0; i < f->nevidence; i++)
		if (strstr(f->evidence[i], s))
			return true;
	return false;
}

static const struct lp_step *step(const struct lp_model *m, const char *id)
{
	int i = lp_model_find_step(m, id);
	cr_assert_geq(i, 0, "step %s", id);
	return &m->steps[i];
}

Test(layer_findings, names)
{
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_CLOBBERED), "clobbered-files");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_WASTED_LAYER), "wasted-layer-bytes");
	cr_assert_str_eq(lp_finding_kind_name(LP_FIND_SECRET_IN_LAYER), "secret-in-layer");
}

Test(layer_findings, step_provenance_counts)
{
	struct lp_model *m = load_free(scenario_layers(false));
	const struct lp_layer_counts *c = &step(m, "#8")->layer;
	cr_assert_eq(c->created, 3);
	cr_assert_eq(c->bytes, 580);
	c = &step(m, "#9")->layer; /* the blob it deleted itself is not in its layer */
	cr_assert_eq(c->created, 1);
	cr_assert_eq(c->deleted, 0);
	cr_assert_eq(c->bytes, ARCHIVE + 2048);
	c = &step(m, "#10")->layer;
	cr_assert_eq(c->created, 1);
	cr_assert_eq(c->deleted, 1);
	cr_assert_eq(c->deleted_bytes, ARCHIVE + 2048);
	c = &step(m, "#11")->layer; /* package.json again, and 2 of the install's files */
	cr_assert_eq(c->overwritten, 3, "overwritten %u", c->overwritten);
	cr_assert_eq(c->created, 3, ".env, index.js, node_modules/other/a.js");
	c = &step(m, "#12")->layer;
	cr_assert_eq(c->deleted, 1);
	cr_assert_eq(c->deleted_bytes, 300);
	lp_model_free(m);
}

Test(layer_findings, clobbered_files_names_the_copy_the_install_and_the_reader)
{
	struct lp_model *m = load_free(scenario_layers(false));
	cr_assert_eq(count(m, LP_FIND_CLOBBERED), 1);
	const struct lp_finding *f = find(m, LP_FIND_CLOBBERED);
	cr_assert_eq(f->step, lp_model_find_step(m, "#11"));
	cr_assert_eq(f->npaths_total, 2);
	cr_assert_str_eq(f->paths[0], "/app/node_modules/dep/index.js", "largest version first");
	cr_assert_str_eq(f->paths[1], "/app/node_modules/dep/package.json");
	cr_assert(strstr(f->message, "#8"), "%s", f->message);
	cr_assert(strstr(f->message, "/app/node_modules"), "%s", f->message);
	cr_assert(evidence_has(f, "#12 [8/8] RUN node index.js (line 8) read 1 of these file(s) in #11's copy, not #8's"));
	cr_assert(evidence_has(f, "wrote 3 file(s) (900 B) under /app/node_modules, from the build context: 2 of them"));
	cr_assert_str_eq(f->edit_after, "node_modules\n");
	cr_assert_eq(f->savings_bytes, 900, "what COPY . . wrote there");
	/* one finding per cause: not also wasted-layer-bytes */
	cr_assert_eq(count(m, LP_FIND_WASTED_LAYER), 1);
	cr_assert_eq(find(m, LP_FIND_WASTED_LAYER)->step, lp_model_find_step(m, "#10"));
	lp_model_free(m);
}

Test(layer_findings, wasted_layer_bytes_is_the_archive_of_the_earlier_run)
{
	struct lp_model *m = load_free(scenario_layers(false));
	const struct lp_finding *f = find(m, LP_FIND_WASTED_LAYER);
	cr_assert_not_null(f);
	cr_assert_eq(f->npaths, 1);
	cr_assert_str_eq(f->paths[0], "/opt/pkg.tar");
	cr_assert_eq(f->savings_bytes, ARCHIVE + 2048);
	cr_assert(strstr(f->message, "#9 [5/8] RUN make-archive (line 5) made 1 file(s) that #10"), "%s", f->message);
	cr_assert(strstr(f->message, "deleted"), "%s", f->message);
	cr_assert_str_eq(f->edit_before, "RUN make-archive\nRUN unpack-archive\n");
	cr_assert_str_eq(f->edit_after, "RUN make-archive \\\n && unpack-archive\n");
	cr_assert(evidence_has(f, "/opt/: 1 file(s)"));
	lp_model_free(m);
}

Test(layer_findings, secret_in_layer_names_the_copy_and_the_remover)
{
	struct lp_model *m = load_free(scenario_layers(false));
	cr_assert_eq(count(m, LP_FIND_SECRET_IN_LAYER), 1);
	const struct lp_finding *f = find(m, LP_FIND_SECRET_IN_LAYER);
	cr_assert_eq(f->step, lp_model_find_step(m, "#11"), "the layer that holds it");
	cr_assert_str_eq(f->paths[0], "/app/.env");
	cr_assert(strstr(f->message, "removed by #12"), "%s", f->message);
	cr_assert(evidence_has(f, "#11 wrote /app/.env (300 B) into its layer (snapshot copysnapshotid000000000d)"));
	cr_assert_str_eq(f->edit_after, ".env\n");
	/* ranked with the secrets, before the byte findings */
	cr_assert(m->findings[0].kind == LP_FIND_SECRET || m->findings[0].kind == LP_FIND_SECRET_IN_LAYER);
	lp_model_free(m);
}

Test(layer_findings, none_on_the_good_variant)
{
	struct lp_model *m = load_free(scenario_layers(true));
	cr_assert_eq(count(m, LP_FIND_CLOBBERED), 0);
	cr_assert_eq(count(m, LP_FIND_WASTED_LAYER), 0);
	cr_assert_eq(count(m, LP_FIND_SECRET_IN_LAYER), 0);
	/* same-RUN cleanup: only the unpacked file is in #9's layer */
	const struct lp_layer_counts *c = &step(m, "#9")->layer;
	cr_assert_eq(c->created, 1);
	cr_assert_eq(c->bytes, ARCHIVE);
	cr_assert_eq(c->deleted, 0);
	/* package.json copied twice: a change, too small to matter */
	cr_assert_eq(step(m, "#11")->layer.overwritten, 1);
	cr_assert_eq(m->nlayer_changes, 1);
	lp_model_free(m);
}

Test(layer_findings, a_stage_the_image_does_not_keep_wastes_nothing)
{
	struct lp_model *m = load_free(scenario_stages(NULL));
	cr_assert_eq(count(m, LP_FIND_WASTED_LAYER), 0);
	cr_assert_eq(step(m, "#6")->layer.deleted, 1, "the deletion is measured all the same");
	cr_assert_eq(step(m, "#6")->layer.deleted_bytes, ARCHIVE + 2048);
	lp_model_free(m);
}

Test(layer_findings, the_target_stage_is_the_image)
{
	struct lp_model *m = load_free(scenario_stages("fetch"));
	cr_assert_eq(count(m, LP_FIND_WASTED_LAYER), 1);
	cr_assert_eq(find(m, LP_FIND_WASTED_LAYER)->step, lp_model_find_step(m, "#6"));
	lp_model_free(m);
}

/* RUN --mount targets are no layer's: a cache the RUN fills and empties
 * again is no deletion */
Test(layer_findings, run_mount_targets_are_not_layers)
{
	static struct synth s;
	start(&s,
	      "FROM layerprof/busybox\n"
	      "RUN --mount=type=cache,target=/opt make-archive\n"
	      "RUN --mount=type=cache,target=/opt unpack-archive\n",
	      NULL);
	internal_steps(&s, "layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/3] FROM layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_progress(&s, MS(40), "#5 [2/3] RUN --mount=type=cache,target=/opt make-archive");
	bool same = false;
	syn_run_work(&s, MS(50), 300 * SYN_MS, 400, "run2containerid00000000002", "make-archive", NULL, 0, w_make,
		     &same);
	syn_progress(&s, MS(360), "#5 DONE 0.3s");
	syn_progress(&s, MS(370), "#6 [3/3] RUN --mount=type=cache,target=/opt unpack-archive");
	syn_run_work(&s, MS(380), 300 * SYN_MS, 500, "run3containerid00000000003", "unpack-archive", NULL, 0,
		     w_unpack, NULL);
	syn_progress(&s, MS(690), "#6 DONE 0.3s");
	export_step(&s, 700, 7);
	syn_close(&s, NULL);
	struct lp_model *m = load_free(strdup(s.path));
	cr_assert_eq(count(m, LP_FIND_WASTED_LAYER), 0);
	cr_assert_eq(m->nlayer_changes, 0);
	cr_assert_eq(step(m, "#5")->layer.created, 0, "/tmp/src/blob came and went, /opt is the cache's");
	lp_model_free(m);
}

/* ------------------------------------------- report --json and diff */

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

static const cJSON *json_step(const cJSON *steps, const char *id)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, steps)
		if (!strcmp(cJSON_GetObjectItem(s, "id")->valuestring, id))
			return s;
	return NULL;
}

static double prov(const cJSON *step, const char *k)
{
	const cJSON *p = cJSON_GetObjectItem(step, "provenance");
	cr_assert(cJSON_IsObject(p), "no provenance object");
	const cJSON *v = cJSON_GetObjectItem(p, k);
	cr_assert(cJSON_IsNumber(v), "provenance.%s", k);
	return v->valuedouble;
}

Test(layer_findings, report_json_and_diff_show_the_provenance)
{
	char *bad = scenario_layers(false), *good = scenario_layers(true);
	int rc;
	char *argv[] = { "report", "--json", bad, NULL };
	char *out = run(cmd_report, 3, argv, &rc);
	cr_assert_eq(rc, 0);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%.200s", out);
	const cJSON *s10 = json_step(cJSON_GetObjectItem(j, "steps"), "#10");
	cr_assert_not_null(s10);
	cr_assert_eq(prov(s10, "deleted"), 1);
	cr_assert_eq(prov(s10, "deleted_bytes"), ARCHIVE + 2048);
	cr_assert_eq(prov(s10, "created"), 1);
	cr_assert_eq(prov(s10, "layer_bytes"), ARCHIVE);
	const cJSON *s4 = json_step(cJSON_GetObjectItem(j, "steps"), "#4");
	cr_assert_eq(prov(s4, "created") + prov(s4, "overwritten") + prov(s4, "deleted"), 0, "FROM: zeros");
	cJSON_Delete(j);
	free(out);

	char *dargv[] = { "diff", good, bad, NULL };
	out = run(cmd_diff, 3, dargv, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out, "files: 0 created, 0 overwritten, 0 deleted (0 B) -> 1 created, 0 overwritten, 1 deleted"),
		  "%s", out);
	cr_assert(strstr(out, "+ [wasted-layer-bytes] #10"), "%s", out);
	free(out);
	char *jargv[] = { "diff", "--json", good, bad, NULL };
	out = run(cmd_diff, 4, jargv, &rc);
	cr_assert_eq(rc, 0);
	j = cJSON_Parse(out);
	cr_assert_not_null(j, "%.200s", out);
	bool seen = false;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "steps"))
	{
		const cJSON *b = cJSON_GetObjectItem(p, "b");
		if (cJSON_IsObject(b) && !strcmp(cJSON_GetObjectItem(b, "id")->valuestring, "#10")) {
			cr_assert_eq(prov(b, "deleted"), 1);
			cr_assert_eq(prov(cJSON_GetObjectItem(p, "a"), "deleted"), 0);
			seen = true;
		}
	}
	cr_assert(seen, "%.400s", out);
	cJSON_Delete(j);
	free(out);
	unlink(bad);
	unlink(good);
	free(bad);
	free(good);
}

/* The rebuild: the install is cached, COPY . . (no .dockerignore)
 * removes the node_modules/ files it finds and writes the context's */
Test(layer_findings, clobbered_files_over_a_cached_install)
{
	static struct synth s;
	start(&s, LAYERS_DOCKERFILE, NULL);
	for (int i = 0; BAD_CTX[i]; i++)
		syn_ctx_file(&s, BAD_CTX[i], 300);
	internal_steps(&s, "layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/8] FROM layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	const char *changed[] = { "index.js", NULL };
	transfer(&s, 40, 5, NULL, changed);
	syn_progress(&s, MS(70), "#6 [2/8] WORKDIR /app");
	syn_progress(&s, MS(71), "#6 CACHED");
	syn_progress(&s, MS(72), "#7 [3/8] COPY package.json ./");
	syn_progress(&s, MS(73), "#7 CACHED");
	syn_progress(&s, MS(74), "#8 [4/8] RUN npm ci");
	syn_progress(&s, MS(75), "#8 CACHED");
	syn_progress(&s, MS(76), "#9 [5/8] RUN make-archive");
	syn_progress(&s, MS(77), "#9 CACHED");
	syn_progress(&s, MS(78), "#10 [6/8] RUN unpack-archive");
	syn_progress(&s, MS(79), "#10 CACHED");
	syn_progress(&s, MS(80), "#11 [7/8] COPY . .");
	/* the copy removes what is there before it writes (existing files of
	 * earlier layers: the cached install's, the cached COPY's) */
	const char *there[] = { "node_modules/dep/index.js", "node_modules/dep/package.json", "package.json", NULL };
	for (int i = 0; there[i]; i++) {
		char p[512];
		snprintf(p, sizeof(p), SNAP2 "/merged/app/%s", there[i]);
		syn_sc(&s, MS(80) + 100000 + (uint64_t)i * 10000, 100, LP_SC_UNLINKAT, 0, 5000, p, 1, NULL, 0, 0);
	}
	copy_files(&s, 80, SNAP2, BAD_CTX, "/app");
	syn_progress(&s, MS(120), "#11 DONE 0.0s");
	syn_progress(&s, MS(130), "#12 [8/8] RUN node index.js");
	bool rm_env = false;
	syn_run_work(&s, MS(140), 300 * SYN_MS, 600, "run4containerid00000000005", "node index.js", NULL, 0, w_node,
		     &rm_env);
	syn_progress(&s, MS(450), "#12 DONE 0.3s");
	export_step(&s, 460, 13);
	syn_close(&s, NULL);
	struct lp_model *m = load_free(strdup(s.path));
	const struct lp_layer_counts *c = &step(m, "#11")->layer;
	cr_assert_eq(c->overwritten, 3, "overwritten %u created %u deleted %u", c->overwritten, c->created, c->deleted);
	cr_assert_eq(c->overwritten_bytes, 0, "not measured: made in an earlier build");
	cr_assert_eq(count(m, LP_FIND_CLOBBERED), 1);
	const struct lp_finding *f = find(m, LP_FIND_CLOBBERED);
	cr_assert_eq(f->step, lp_model_find_step(m, "#11"));
	cr_assert_eq(f->npaths_total, 2, "the installed packages only, not package.json");
	cr_assert(strstr(f->message, "over what #8 [4/8] RUN npm ci (line 4) made in /app/node_modules"), "%s",
		  f->message);
	cr_assert(evidence_has(f, "#8 [4/8] RUN npm ci (line 4) was cached"));
	cr_assert(evidence_has(f, "#12 [8/8] RUN node index.js (line 8) read 1 of these file(s) in #11's copy"));
	cr_assert_eq(count(m, LP_FIND_WASTED_LAYER), 0, "no bytes measured, no waste claimed");
	lp_model_free(m);
}
