/* SPDX-License-Identifier: BSD-2-Clause */
/* Attribution (attribution.c) asked directly: which step an event belongs
 * to and how a path is shown, on the bad-order scenario (scenarios.h):
 * #5 load build context, #7 COPY . . (snapshot COPYSNAP), #8 and #9 RUN
 * (containers run1.../run2...), #10 exporting to image; dockerd is pid
 * 100, the CLI pid 200, #8's container processes pids 302-303. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "model_int.h"
#include "scenarios.h"

static char *trace_path;
static struct lp_model *model;

static void setup(void)
{
	trace_path = scenario_bad_order(false);
	char err[256] = "";
	model = lp_model_load(trace_path, NULL, err, sizeof(err));
	cr_assert_not_null(model, "load: %s", err);
}

static void teardown(void)
{
	lp_model_free(model);
	unlink(trace_path);
	free(trace_path);
}

static int step_index(const char *id)
{
	int i = lp_model_find_step(model, id);
	cr_assert_geq(i, 0, "step %s missing", id);
	return i;
}

/* A syscall record of pid at ts (only what attribution reads). */
static struct lp_ev_syscall syscall_rec(uint32_t pid, uint64_t ts, unsigned sc, uint64_t open_flags)
{
	struct lp_ev_syscall ev;
	memset(&ev, 0, sizeof(ev));
	ev.h.kind = LP_EV_SYSCALL;
	ev.h.size = sizeof(ev);
	ev.h.tgid = ev.h.tid = pid;
	ev.h.ts = ts;
	ev.h.aux = sc;
	ev.args[2] = open_flags;
	return ev;
}

static int step_of_open(uint32_t pid, uint64_t ts, const char *path, uint64_t flags)
{
	struct lp_ev_syscall ev = syscall_rec(pid, ts, LP_SC_OPENAT, flags);
	return lp_model_event_step(model, &ev.h, path);
}

TestSuite(attribution, .init = setup, .fini = teardown);

Test(attribution, a_container_process_belongs_to_its_run)
{
	int run = step_index("#8");
	cr_assert_eq(lp_model_step_of(model, 303, MS(200)), run);
	cr_assert_eq(step_of_open(303, MS(200), "/app/package.json", O_RDONLY), run);
	/* no path at all: still the process's step */
	cr_assert_eq(step_of_open(303, MS(200), NULL, O_RDONLY), run);
}

Test(attribution, the_cli_reading_the_context_is_the_transfer)
{
	int ctx = step_index("#5");
	cr_assert_eq(model->context.step, ctx);
	cr_assert_eq(step_of_open(200, MS(41), "/work/app/package.json", O_RDONLY), ctx);
	/* outside the context dir the CLI's work is no step's */
	cr_assert_eq(step_of_open(200, MS(41), "/etc/hosts", O_RDONLY), -1);
}

Test(attribution, a_write_into_a_layer_is_the_step_that_made_it)
{
	int copy = step_index("#7");
	cr_assert_str_eq(model->steps[copy].snapshot_dir, COPYSNAP);
	cr_assert_eq(step_of_open(100, MS(90), COPYSNAP "/merged/app/package.json", O_WRONLY | O_CREAT), copy);
}

Test(attribution, a_context_read_during_a_copy_that_names_it_is_the_copy)
{
	int copy = step_index("#7"), ctx = step_index("#5");
	cr_assert_eq(step_of_open(100, MS(90), SYN_CTX "/package.json", O_RDONLY), copy);
	/* the transfer's own writes into the context snapshot */
	cr_assert_eq(step_of_open(100, MS(90), SYN_CTX "/package.json", O_WRONLY | O_CREAT), ctx);
	/* through the COPY's temporary bind mount of the context */
	cr_assert_eq(step_of_open(100, MS(90), SYN_ROOT "/tmp/buildkit-mount185737053/package.json", O_RDONLY),
		     copy);
}

Test(attribution, a_path_in_a_run_rootfs_is_that_run)
{
	int run = step_index("#9");
	cr_assert_str_eq(model->steps[run].container_id, "run2containerid00000000002");
	cr_assert_eq(step_of_open(100, MS(10), SYN_ROOT "/buildkit/executor/run2containerid00000000002/rootfs/app/x",
				  O_RDONLY),
		     run);
}

Test(attribution, the_export_reads_the_layers)
{
	int exp = step_index("#10");
	cr_assert_eq(model->steps[exp].kind, LP_STEPK_EXPORT);
	/* a read of a layer once the build steps are done: the export tars it */
	cr_assert_eq(step_of_open(100, MS(3470), COPYSNAP "/diff/app/package.json", O_RDONLY), exp);
	/* snapshot machinery goes by time */
	struct lp_ev_syscall fs = syscall_rec(100, MS(3470), LP_SC_FSYNC, 0);
	cr_assert_eq(lp_model_event_step(model, &fs.h, NULL), exp);
}

Test(attribution, step_at_is_the_narrowest_window)
{
	cr_assert_eq(lp_model_step_at(model, MS(100)), step_index("#7"));
	cr_assert_eq(lp_model_step_at(model, MS(1000)), step_index("#8"));
	cr_assert_eq(lp_model_step_at(model, MS(100000)), -1);
}

Test(attribution, paths_are_shown_as_a_person_reads_them)
{
	char buf[4096];
	enum lp_path_space space;
	const char *s = lp_model_display_path(model, -1, SYN_CTX "/src/index.js", buf, sizeof(buf), &space);
	cr_assert_str_eq(s, "src/index.js");
	cr_assert_eq(space, LP_PATH_CONTEXT);
	s = lp_model_display_path(model, -1, COPYSNAP "/merged/app/package.json", buf, sizeof(buf), &space);
	cr_assert_str_eq(s, "/app/package.json");
	cr_assert_eq(space, LP_PATH_CONTAINER);
	s = lp_model_display_path(model, -1, "/work/app/README.md", buf, sizeof(buf), &space);
	cr_assert_str_eq(s, "README.md");
	cr_assert_eq(space, LP_PATH_CONTEXT);
	s = lp_model_display_path(model, -1, "/etc/passwd", buf, sizeof(buf), &space);
	cr_assert_str_eq(s, "/etc/passwd");
	cr_assert_eq(space, LP_PATH_HOST);
}

Test(attribution, copy_sources_map_container_paths_to_the_context)
{
	int copy = step_index("#7");
	char buf[4096];
	cr_assert(lp_copy_has_source(model, copy, "src/index.js"));
	const char *c = lp_copy_ctx_path(model, copy, "/app/src/index.js", buf, sizeof(buf));
	cr_assert_not_null(c);
	cr_assert_str_eq(c, "src/index.js");
	cr_assert_null(lp_copy_ctx_path(model, copy, "/etc/passwd", buf, sizeof(buf)));
}

Test(attribution, snapshot_paths_split_into_dir_and_layer_path)
{
	size_t dl;
	const char *rel;
	cr_assert_eq(lp_snap_split(COPYSNAP "/diff/app/x", &dl, &rel), LP_SNAP_DIFF);
	cr_assert_eq(dl, strlen(COPYSNAP));
	cr_assert_str_eq(rel, "app/x");
	cr_assert_eq(lp_snap_split(COPYSNAP "/merged", &dl, &rel), LP_SNAP_MERGED);
	cr_assert_str_eq(rel, "");
	cr_assert_eq(lp_snap_split("/var/lib/containerd/snapshots/12/fs/etc", &dl, &rel), LP_SNAP_FS);
	cr_assert_str_eq(rel, "etc");
	cr_assert_eq(lp_snap_split(SYN_ROOT "/buildkit/executor/abc/rootfs/bin/sh", &dl, &rel), LP_SNAP_ROOTFS);
	cr_assert_str_eq(rel, "bin/sh");
	cr_assert_eq(lp_snap_split("/etc/passwd", &dl, &rel), LP_SNAP_NONE);
}

/* The snapshot tests in one walk over a path (attribution.c) against each
 * test written out on its own, strstr by strstr, as the rules read: on every
 * path of up to four components of the names that matter (and their near
 * misses), the same kind, dir and layer path, temporary mount and bundle. */
static const char *ref_find(const char *path, const char *dir)
{
	for (const char *p = strstr(path, dir); p; p = strstr(p + 1, dir))
		return p;
	return NULL;
}

static const char *ref_executor(const char *path)
{
	for (const char *p = strstr(path, "/executor/"); p; p = strstr(p + 1, "/executor/")) {
		size_t before = (size_t)(p - path);
		if ((before >= 9 && !strncmp(p - 9, "/buildkit", 9)) || (before >= 10 && !strncmp(p - 10, "-overlayfs", 10)))
			return p + strlen("/executor/");
	}
	return NULL;
}

static const char *ref_tmpmount(const char *path)
{
	const char *p = ref_find(path, "/buildkit-mount");
	if (p)
		return p + 1;
	p = ref_find(path, "/cachemounts/buildkit");
	return p ? p + strlen("/cachemounts/") : NULL;
}

static enum lp_snap_part ref_split(const char *path, size_t *dl, const char **rel)
{
	const char *p = ref_executor(path), *sl;
	if (p && (sl = strchr(p, '/')) && !strncmp(sl, "/rootfs", 7) && (sl[7] == '/' || !sl[7])) {
		*dl = (size_t)(sl - path);
		*rel = sl[7] ? sl + 8 : sl + 7;
		return LP_SNAP_ROOTFS;
	}
	if ((p = ref_find(path, "/overlay2/"))) {
		const char *id = p + 10;
		sl = strchr(id, '/');
		if (sl && sl > id && !strncmp(sl, "/diff", 5) && (sl[5] == '/' || !sl[5])) {
			*dl = (size_t)(sl - path);
			*rel = sl[5] ? sl + 6 : sl + 5;
			return LP_SNAP_DIFF;
		}
		if (sl && sl > id && !strncmp(sl, "/merged", 7) && (sl[7] == '/' || !sl[7])) {
			*dl = (size_t)(sl - path);
			*rel = sl[7] ? sl + 8 : sl + 7;
			return LP_SNAP_MERGED;
		}
	}
	for (p = strstr(path, "/snapshots/"); p; p = strstr(p + 1, "/snapshots/")) {
		const char *q = p + 11;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 11 && !strncmp(q, "/fs", 3) && (q[3] == '/' || !q[3])) {
			*dl = (size_t)(q - path);
			*rel = q[3] ? q + 4 : q + 3;
			return LP_SNAP_FS;
		}
	}
	if ((p = ref_tmpmount(path))) {
		const char *q = p + strcspn(p, "/");
		*dl = (size_t)(q - path);
		*rel = *q ? q + 1 : q;
		return LP_SNAP_TMPMOUNT;
	}
	return LP_SNAP_NONE;
}

Test(attribution, snapshot_tests_in_one_walk_agree_with_each_rule)
{
	static const char *const w[] = {
		"buildkit", "executor", "rootfs", "overlay2", "diff", "merged", "snapshots", "12", "fs",
		"buildkit-mount7", "cachemounts", "buildkit3", "runc-overlayfs", "x", "", "executorx",
		"fsx", "overlay2x", "mergedx",
	};
	const size_t nw = sizeof(w) / sizeof(w[0]);
	size_t paths = 0, kinds[LP_SNAP_ROOTFS + 1] = { 0 };
	for (size_t n = 1; n <= 4; n++) {
		size_t total = 1;
		for (size_t k = 0; k < n; k++)
			total *= nw;
		for (size_t code = 0; code < total; code++) {
			char path[256] = "";
			size_t c = code;
			for (size_t k = 0; k < n; k++, c /= nw) {
				strcat(path, "/");
				strcat(path, w[c % nw]);
			}
			size_t dl = 0, rdl = 0;
			const char *rel = NULL, *rrel = NULL;
			enum lp_snap_part got = lp_snap_split(path, &dl, &rel), want = ref_split(path, &rdl, &rrel);
			cr_assert_eq(got, want, "%s: kind %d, want %d", path, got, want);
			if (want != LP_SNAP_NONE) {
				cr_assert_eq(dl, rdl, "%s: dir length", path);
				cr_assert_eq(rel, rrel, "%s: layer path", path);
			}
			cr_assert_eq(lp_tmpmount_at(path), ref_tmpmount(path), "%s: temporary mount", path);
			cr_assert_eq(lp_executor_at(path), ref_executor(path), "%s: bundle", path);
			kinds[want]++;
			paths++;
		}
	}
	/* every kind was met, so each rule was compared where it matches */
	for (int k = LP_SNAP_NONE; k <= LP_SNAP_ROOTFS; k++)
		cr_assert_gt(kinds[k], 0, "no path of kind %d among %zu", k, paths);
}
