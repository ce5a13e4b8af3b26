/* SPDX-License-Identifier: BSD-2-Clause */
/* The model of a recording: steps, processes, attribution, context transfer,
 * on synthetic traces written with the real trace writer. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "model_int.h"
#include "scenarios.h"

static struct lp_model *load(const char *path)
{
	char err[256] = "";
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "load %s: %s", path, err);
	return m;
}

static const struct lp_step *step(const struct lp_model *m, const char *id)
{
	int i = lp_model_find_step(m, id);
	cr_assert_geq(i, 0, "step %s missing", id);
	return &m->steps[i];
}

static bool has_str(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

Test(model, steps_from_progress_and_dockerfile)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	cr_assert_eq(m->nsteps, 10);
	const struct lp_step *c = step(m, "#7");
	cr_assert_str_eq(c->name, "[3/5] COPY . .");
	cr_assert_str_eq(c->instruction, "COPY");
	cr_assert_eq(c->kind, LP_STEPK_COPY);
	cr_assert_eq(c->stage_step, 3);
	cr_assert_eq(c->stage_steps, 5);
	cr_assert_eq(c->dockerfile_line, 4);
	cr_assert_str_eq(c->copy_dst, "/app/");
	cr_assert_eq(c->status, LP_STEP_DONE);
	const struct lp_step *r = step(m, "#8");
	cr_assert_eq(r->kind, LP_STEPK_RUN);
	cr_assert_eq(r->dockerfile_line, 5);
	cr_assert_float_eq(r->reported_s, 3.1, 1e-9);
	/* its time is its processes' lifetime (3 s in the scenario), not
	 * BuildKit's "DONE 3.1s" printed by the CLI afterwards */
	cr_assert_eq(r->time_src, LP_TIME_KERNEL);
	cr_assert(lp_step_wall_ns(r) > 2999 * SYN_MS && lp_step_wall_ns(r) <= 3000 * SYN_MS, "%llu",
		  (unsigned long long)lp_step_wall_ns(r));
	cr_assert_eq(lp_step_start_ns(r), MS(140) + 1000, "starts at runc's fork");
	cr_assert(step(m, "#6")->cached);
	cr_assert_eq(step(m, "#9")->dockerfile_line, 6);
	cr_assert_eq(step(m, "#5")->kind, LP_STEPK_LOAD_CONTEXT);
	cr_assert_eq(step(m, "#10")->kind, LP_STEPK_EXPORT);
	cr_assert_eq(m->snap.export_steps, 1);
	cr_assert_eq(m->snap.export_ns, lp_step_wall_ns(step(m, "#10")));
	/* summary: FROM, WORKDIR, COPY, RUN, RUN; FROM is not cacheable */
	cr_assert_eq(m->build.steps, 5);
	cr_assert_eq(m->build.cacheable_steps, 4);
	cr_assert_eq(m->build.cached_steps, 1);
	cr_assert_float_eq(m->build.cache_hit_rate, 0.25, 1e-9);
	cr_assert(!m->build.failed);
	cr_assert(!m->build.truncated);
	cr_assert(!m->build.cold);
	cr_assert_gt(m->build.events, 100);
	cr_assert_str_eq(m->build.context_dir, "/work/app");
	cr_assert_eq(m->build.ndata_roots, 1);
	cr_assert_str_eq(m->build.data_roots[0], SYN_ROOT);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(model, processes_roles_and_steps)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	int r1 = lp_model_find_step(m, "#8"), r2 = lp_model_find_step(m, "#9");
	const struct lp_proc *d = lp_model_proc_at(m, 100, MS(500));
	cr_assert_not_null(d);
	cr_assert_eq(d->role, LP_ROLE_DAEMON);
	cr_assert_eq(d->step, -1);
	const struct lp_proc *runc = lp_model_proc_at(m, 300, MS(1000));
	cr_assert_not_null(runc);
	cr_assert_eq(runc->role, LP_ROLE_RUNC);
	cr_assert_eq(runc->step, r1);
	const struct lp_proc *init = lp_model_proc_at(m, 301, MS(1000));
	cr_assert_eq(init->role, LP_ROLE_RUNC, "runc's /proc/self/exe init is runc");
	cr_assert_eq(init->step, r1);
	const struct lp_proc *sh = lp_model_proc_at(m, 302, MS(1000));
	cr_assert_eq(sh->role, LP_ROLE_CONTAINER);
	cr_assert_str_eq(sh->exe, "/bin/sh");
	cr_assert_eq(sh->argc, 3);
	/* busybox applet exec'd as /proc/self/exe: still the container */
	const struct lp_proc *cat = lp_model_proc_at(m, 303, MS(1000));
	cr_assert_eq(cat->role, LP_ROLE_CONTAINER);
	cr_assert_str_eq(cat->argv[0], "cat");
	/* the prestart hook (dockerd re-exec'd) is not the RUN's work */
	const struct lp_proc *hook = lp_model_proc_at(m, 305, MS(1000));
	cr_assert_eq(hook->role, LP_ROLE_DAEMON);
	cr_assert_eq(hook->step, -1);
	cr_assert_eq(lp_model_step_of(m, 303, MS(500)), r1);
	cr_assert_eq(lp_model_step_of(m, 403, MS(3300)), r2);
	cr_assert_eq(lp_model_step_of(m, 100, MS(3300)), -1);
	cr_assert_str_eq(m->steps[r1].container_id, "run1containerid00000000001");
	cr_assert_eq(m->steps[r1].agg.execs, 4); /* runc, exe init, sh, cat */
	cr_assert_geq(m->steps[r1].agg.procs, 4);
	size_t n;
	const struct lp_file *f = lp_model_step_files(m, r1, &n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_neq(f[i].path, "/etc/hook-config");
	const struct lp_proc *cli = lp_model_proc_at(m, 200, MS(10));
	cr_assert_eq(cli->role, LP_ROLE_CLI);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(model, reads_from_context)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	const struct lp_step *r1 = step(m, "#8"), *r2 = step(m, "#9"), *c = step(m, "#7");
	cr_assert_eq(r1->nreads_from_context, 1);
	cr_assert_str_eq(r1->reads_from_context[0], "package.json");
	cr_assert_eq(r2->nreads_from_context, 2);
	cr_assert_str_eq(r2->reads_from_context[0], "src/index.js");
	cr_assert_str_eq(r2->reads_from_context[1], "src/util.js");
	/* the COPY read every file of the context */
	cr_assert_eq(c->nreads_from_context, 5);
	cr_assert(has_str(c->reads_from_context, c->nreads_from_context, "README.md"));
	cr_assert_eq(c->agg.files_written, 5);
	cr_assert_eq(c->agg.bytes_written, 5 * 300);
	cr_assert_not_null(c->snapshot_dir);
	cr_assert_str_eq(c->snapshot_dir, COPYSNAP);
	/* the RUN's file rows are container-relative */
	size_t n;
	const struct lp_file *f = lp_model_step_files(m, r1->index, &n);
	bool seen = false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].path, "/app/package.json")) {
			seen = true;
			cr_assert_eq(f[i].space, LP_PATH_CONTAINER);
			cr_assert_eq(f[i].opens, 2);
			cr_assert_eq(f[i].rbytes, 600);
		}
	cr_assert(seen, "RUN #8 has no /app/package.json row");
	lp_model_free(m);
	unlink(path);
	free(path);
}

/* BuildKit's copy (Docker 29) opens the snapshot's root and the COPY's
 * destination without O_DIRECTORY and reads nothing from them: "/" and
 * "/app" counted as files read made `COPY . .` of 700 files read 702. A
 * path opened for reading with nothing read and a path of its step below it
 * is a directory; a file opened and not read, with none below it, stays a
 * file opened for reading. */
Test(model, directories_opened_by_a_copy_are_no_files_read)
{
	static struct synth s;
	busybox_project_start(&s, BAD_ORDER_DOCKERFILE, 5, PROJECT, NULL);
	syn_progress(&s, MS(70), "#6 [2/5] WORKDIR /app");
	syn_sc(&s, MS(72), 100, LP_SC_MKDIRAT, 0, 10000, SYN_ROOT "/overlay2/workdirsnapshotid0000000c/merged/app", 1,
	       NULL, 0, 0755);
	syn_progress(&s, MS(75), "#6 DONE 0.0s");
	syn_progress(&s, MS(80), "#7 [3/5] COPY . .");
	/* the root and the destination, opened to create in (no bytes read) */
	syn_file(&s, MS(80) + 100000, 100, COPYSNAP "/merged", false, 0);
	syn_file(&s, MS(80) + 200000, 100, COPYSNAP "/merged/app", false, 0);
	/* a file opened and closed unread: still a file */
	syn_file(&s, MS(80) + 300000, 100, COPYSNAP "/merged/etc-hostname", false, 0);
	copy_files(&s, 80, COPYSNAP, PROJECT, "/app");
	syn_progress(&s, MS(120), "#7 DONE 0.1s");
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	const struct lp_step *c = step(m, "#7");
	cr_assert_eq(c->agg.files_written, 5);
	cr_assert_eq(c->agg.files_read, 6, "5 context files and the unread file, not the 2 directories: %llu",
		     (unsigned long long)c->agg.files_read);
	size_t n;
	const struct lp_file *f = lp_model_step_files(m, c->index, &n);
	int dirs = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].path, "/") || !strcmp(f[i].path, "/app")) {
			dirs++;
			cr_assert(!f[i].read, "%s is a directory, not a file read", f[i].path);
		}
	cr_assert_eq(dirs, 2, "the directories' rows: %d", dirs);
	lp_model_free(m);
	unlink(s.path);
}

Test(model, context_transfer_changed_vs_added)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	cr_assert_eq(m->context.manifest_files, 5);
	cr_assert_eq(m->context.manifest_bytes, 1500);
	cr_assert_eq(m->context.sent_files, 1);
	cr_assert_eq(m->context.changed_files, 1);
	cr_assert_eq(m->context.added_files, 0);
	cr_assert_eq(m->context.sent_bytes, 333);
	cr_assert_str_eq(m->context.snapshot_dir, SYN_ROOT "/overlay2/ctxsnapshotid0000000000a");
	const struct lp_ctx_file *cf = lp_model_ctx_file(m, "src/index.js");
	cr_assert_not_null(cf);
	cr_assert(cf->sent && cf->changed && !cf->added);
	cr_assert(cf->read_in_run);
	cr_assert(!lp_model_ctx_file(m, "README.md")->sent);
	cr_assert_eq(m->context.commit_ns, 0); /* no sync after the transfer */
	/* the daemon writes the changed file as src/.tmp.1000 and renames it:
	 * one file written, the temporary is none (a Docker 20.10 go build's
	 * context step showed 80 files written for 53 sent) */
	const struct lp_step *cs = step(m, "#5");
	cr_assert_eq(cs->agg.files_written, 1, "context step files written %llu",
		     (unsigned long long)cs->agg.files_written);
	cr_assert_eq(cs->agg.bytes_written, 333);
	lp_model_free(m);
	unlink(path);
	free(path);

	path = scenario_bad_order(true);
	m = load(path);
	cr_assert(m->build.cold);
	cr_assert_eq(m->context.sent_files, 5);
	cr_assert_eq(m->context.added_files, 5);
	cr_assert_eq(m->context.changed_files, 0);
	lp_model_free(m);
	unlink(path);
	free(path);
}

/* dockerd's thread `tid` syncs an fd (its metadata db), ending at ts */
static void thread_sync(struct synth *s, uint64_t ts, uint32_t tid, uint64_t lat)
{
	struct lp_ev_syscall r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_EV_SYSCALL, 100, LP_SC_FDATASYNC, ts);
	r.h.tid = tid;
	r.ret = 0;
	r.lat_ns = lat;
	r.args[0] = 17;
	syn_put(s, &r, sizeof(r));
}

/* A cold build whose context snapshot is committed after the transfer:
 * the writing thread looks up the snapshot's "lower", syncs at 50 and 80
 * ms; another thread of dockerd syncs at 85 (Go moves the committing
 * goroutine between threads: it counts); containerd, another process,
 * syncs at 87 (it does not); the DONE line comes at 90 ms; the writer
 * syncs again at 95 (the next vertex's). Before the transfer, a git the
 * CLI runs (buildx does, for its provenance labels) reads .git/HEAD in
 * the context at 35 ms: not the transfer. With other_work, the writer
 * opens something else for writing at 60 ms: the commit ended at 50. */
static char *scenario_commit(bool other_work)
{
	static struct synth s;
	common_start(&s, BAD_ORDER_DOCKERFILE);
	project_manifest(&s);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/5] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	const char *gargv[] = { "/usr/bin/git", "rev-parse", "HEAD", NULL };
	syn_fork(&s, MS(34), 200, 210, "docker");
	syn_exec(&s, MS(34) + 500000, 210, 200, "/usr/bin/git", "git", gargv);
	syn_file(&s, MS(35), 210, "/work/app/.git/HEAD", false, 21);
	uint64_t last = transfer_files(&s, 40, 5, PROJECT, NULL);
	cr_assert_lt(last, MS(43));
	syn_sc(&s, MS(43), 100, LP_SC_OPENAT, -ENOENT, 6000, SYN_ROOT "/overlay2/ctxsnapshotid0000000000a/lower",
	       1, NULL, 0, O_RDONLY | O_CLOEXEC);
	thread_sync(&s, MS(50), 100, 5 * SYN_MS);
	if (other_work)
		syn_sc(&s, MS(60), 100, LP_SC_OPENAT, 26, 6000, SYN_ROOT "/buildkit/cache.db", 1, NULL, 0,
		       O_WRONLY | O_CREAT | O_CLOEXEC);
	thread_sync(&s, MS(80), 100, 20 * SYN_MS);
	thread_sync(&s, MS(85), 101, 1 * SYN_MS);
	struct lp_ev_syscall cs;
	memset(&cs, 0, sizeof(cs));
	syn_hdr(&cs.h, LP_EV_SYSCALL, 300, LP_SC_FDATASYNC, MS(87));
	cs.lat_ns = SYN_MS;
	cs.args[0] = 9;
	syn_put(&s, &cs, sizeof(cs)); /* containerd's */
	syn_progress(&s, MS(89), "#5 transferring context: 1.5kB 0.0s done");
	syn_progress(&s, MS(90), "#5 DONE 0.1s");
	thread_sync(&s, MS(95), 100, 1 * SYN_MS);
	syn_progress(&s, MS(100), "#6 [2/5] WORKDIR /app");
	syn_progress(&s, MS(101), "#6 DONE 0.0s");
	syn_close(&s, NULL);
	return strdup(s.path);
}

Test(model, context_step_ends_with_its_snapshot_commit)
{
	for (int other = 0; other < 2; other++) {
		char *path = scenario_commit(other);
		struct lp_model *m = load(path);
		cr_assert_eq(m->context.sent_files, 5);
		const struct lp_step *cs = step(m, "#5");
		cr_assert_eq(m->context.step, (int)(cs - m->steps));
		cr_assert_eq(cs->time_src, LP_TIME_KERNEL);
		/* the transfer: from the daemon's write of the Dockerfile into
		 * the context snapshot (40.12 ms), not the CLI's read of it
		 * (40.1: it sends the Dockerfile first, on its own) */
		uint64_t transfer_end = cs->t_start_ns + m->context.transfer_ns;
		cr_assert_eq(cs->t_start_ns, MS(40) + 120000, "starts %llu", (unsigned long long)cs->t_start_ns);
		cr_assert(transfer_end > MS(41) && transfer_end < MS(43));
		uint64_t commit_end = other ? MS(50) : MS(85);
		cr_assert_eq(cs->t_end_ns, commit_end, "other=%d: ends %llu, want %llu", other,
			     (unsigned long long)cs->t_end_ns, (unsigned long long)commit_end);
		cr_assert_eq(m->context.commit_ns, commit_end - transfer_end);
		cr_assert_eq(lp_step_wall_ns(cs), m->context.transfer_ns + m->context.commit_ns);
		lp_model_free(m);
		unlink(path);
		free(path);
	}
}

/* A rebuild (-f Dockerfile.good) whose context BuildKit kept: only
 * src/index.js is sent into the context snapshot, while the Dockerfile
 * went first into a snapshot of its own. Both hold one context file: the
 * Dockerfile's is #1's. The frontend reads the Dockerfile back from its
 * snapshot at 32 ms, after #1 is done (as dockerd 29 does); a git that
 * the CLI runs reads 21 B of .git/HEAD in the context at 35 ms. */
static char *scenario_kept_context(void)
{
	static struct synth s;
	common_start(&s, BAD_ORDER_DOCKERFILE);
	project_manifest(&s);
	syn_ctx_file(&s, "Dockerfile.good", 300);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	const char *df = SYN_ROOT "/overlay2/dockerfilesnapshotid0000b/diff/Dockerfile.good";
	syn_file(&s, MS(1), 200, "Dockerfile.good", false, 300); /* the CLI sends it */
	syn_sc(&s, MS(1) + 100000, 100, LP_SC_OPENAT, 25, 9000, df, 1, NULL, 0, O_WRONLY | O_CREAT | O_CLOEXEC);
	syn_fdio(&s, MS(1) + 120000, 100, 25, 0, 300, 10000);
	syn_sc(&s, MS(1) + 130000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	syn_progress(&s, MS(30), "#4 [1/5] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_sc(&s, MS(32), 100, LP_SC_OPENAT, 26, 9000, df, 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	syn_fdio(&s, MS(32) + 20000, 100, 26, 300, 0, 10000);
	syn_sc(&s, MS(32) + 30000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	const char *gargv[] = { "/usr/bin/git", "rev-parse", "HEAD", NULL };
	syn_fork(&s, MS(34), 200, 210, "docker");
	syn_exec(&s, MS(34) + 500000, 210, 200, "/usr/bin/git", "git", gargv);
	syn_file(&s, MS(35), 210, "/work/app/.git/HEAD", false, 21);
	const char *changed[] = { "src/index.js", NULL };
	transfer(&s, 40, 5, NULL, changed);
	syn_progress(&s, MS(70), "#6 [2/5] WORKDIR /app");
	syn_progress(&s, MS(71), "#6 CACHED");
	syn_close(&s, NULL);
	return strdup(s.path);
}

Test(model, context_snapshot_is_not_the_dockerfiles)
{
	char *path = scenario_kept_context();
	struct lp_model *m = load(path);
	cr_assert_str_eq(m->context.snapshot_dir, SYN_ROOT "/overlay2/ctxsnapshotid0000000000a");
	cr_assert_eq(m->context.sent_files, 1);
	cr_assert_eq(m->context.changed_files, 1);
	cr_assert_eq(m->context.sent_bytes, 333);
	const struct lp_step *def = step(m, "#1");
	cr_assert_eq(def->agg.files_written, 1);
	cr_assert_eq(def->agg.bytes_written, 300);
	cr_assert_eq(def->agg.files_read, 1, "the frontend's read of its Dockerfile");
	cr_assert_eq(def->agg.bytes_read, 300);
	for (size_t i = 0; i < m->nsteps; i++)
		if (&m->steps[i] != def && strcmp(m->steps[i].id, "#5"))
			cr_assert_eq(m->steps[i].agg.bytes_read, 0, "%s read %llu B", m->steps[i].id,
				     (unsigned long long)m->steps[i].agg.bytes_read);
	/* the window: the CLI's read of src/index.js (40.1 ms) on, not its
	 * read of Dockerfile.good at 1 ms */
	const struct lp_step *cs = step(m, "#5");
	cr_assert_eq(cs->t_start_ns, MS(40) + 100000);
	cr_assert_lt(lp_step_wall_ns(cs), 1 * SYN_MS);
	/* the CLI's reads only (Dockerfile.good sent first, src/index.js),
	 * not its git's */
	cr_assert_eq(cs->agg.bytes_read, 300 + 333, "%llu", (unsigned long long)cs->agg.bytes_read);
	cr_assert_eq(cs->agg.files_read, 2);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(model, attribution_helpers)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	char buf[512];
	enum lp_path_space sp;
	const char *p = lp_model_display_path(m, -1, SYN_CTX "/src/index.js", buf, sizeof(buf), &sp);
	cr_assert_str_eq(p, "src/index.js");
	cr_assert_eq(sp, LP_PATH_CONTEXT);
	p = lp_model_display_path(m, -1, COPYSNAP "/merged/app/package.json", buf, sizeof(buf), &sp);
	cr_assert_str_eq(p, "/app/package.json");
	cr_assert_eq(sp, LP_PATH_CONTAINER);
	p = lp_model_display_path(m, -1, SYN_ROOT "/buildkit/executor/abc/rootfs/etc/passwd", buf,
				  sizeof(buf), &sp);
	cr_assert_str_eq(p, "/etc/passwd");
	p = lp_model_display_path(m, -1, "/work/app/src/util.js", buf, sizeof(buf), &sp);
	cr_assert_str_eq(p, "src/util.js");
	p = lp_model_display_path(m, -1, "/etc/hosts", buf, sizeof(buf), &sp);
	cr_assert_str_eq(p, "/etc/hosts");
	cr_assert_eq(sp, LP_PATH_HOST);
	/* a daemon write into the COPY's snapshot belongs to the COPY */
	struct lp_hdr h = { .kind = LP_EV_FD_IO, .tgid = 100, .ts = MS(5000) };
	struct lp_ev_fd_io io = { .h = h, .wbytes = 10 };
	cr_assert_eq(lp_model_event_step(m, &io.h, COPYSNAP "/merged/app/x"), lp_model_find_step(m, "#7"));
	/* ...into the context snapshot, to the transfer */
	cr_assert_eq(lp_model_event_step(m, &io.h, SYN_CTX "/x"), lp_model_find_step(m, "#5"));
	/* the rootfs of RUN #8's bundle, to RUN #8 */
	cr_assert_eq(lp_model_event_step(m, &io.h,
					 SYN_ROOT "/buildkit/executor/run1containerid00000000001/rootfs/x"),
		     lp_model_find_step(m, "#8"));
	/* unrelated daemon I/O outside any window: nobody */
	io.h.ts = MS(90000);
	cr_assert_eq(lp_model_event_step(m, &io.h, "/var/lib/docker/buildkit/cache.db"), -1);
	cr_assert_eq(lp_model_step_at(m, MS(2000)), lp_model_find_step(m, "#8"));
	cr_assert_eq(lp_model_find_step(m, "8"), lp_model_find_step(m, "#8"));
	cr_assert_eq(lp_model_find_step(m, "#99"), -1);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(model, failed_build)
{
	char *path = scenario_missing();
	struct lp_model *m = load(path);
	cr_assert(m->build.failed);
	const struct lp_step *c = step(m, "#7");
	cr_assert_eq(c->status, LP_STEP_ERROR);
	cr_assert_not_null(c->error);
	cr_assert(strstr(c->error, "requirements.txt"));
	cr_assert_eq(step(m, "#8")->status, LP_STEP_CANCELED);
	cr_assert_not_null(m->build.error);
	cr_assert(strstr(m->build.error, "failed to compute cache key"));
	cr_assert_eq(m->build.command_status, 1);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(model, truncated_trace_recovers)
{
	char *path = scenario_bad_order(false);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	/* cut the trailer and part of the last block */
	cr_assert_eq(truncate(path, st.st_size - 40), 0);
	char err[256] = "";
	struct lp_model *m = lp_model_load(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert(m->build.truncated);
	cr_assert_neq(m->build.trace_message[0], 0);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(model, bad_input)
{
	char err[256] = "";
	cr_assert_null(lp_model_load("/nonexistent/trace.lprof", NULL, err, sizeof(err)));
	cr_assert_neq(err[0], 0);
	char tmp[] = "/tmp/lp-garbage-XXXXXX";
	int fd = mkstemp(tmp);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "this is not a trace at all, just text\n", 38), 38);
	close(fd);
	err[0] = 0;
	cr_assert_null(lp_model_load(tmp, NULL, err, sizeof(err)));
	cr_assert_neq(err[0], 0);
	unlink(tmp);
}

/* A RUN's Go program lists an empty directory, opened as Go opens one
 * (no O_DIRECTORY). Nothing below it says it is a directory; the kernel
 * side's LP_F_OPEN_DIR does: it is no file read, in the step, the process
 * or the file's row. Without the flag (a trace made before it) the open
 * is taken for a file read, as it was. */
Test(model, an_empty_directory_the_kernel_saw_is_no_file_read)
{
	for (int flagged = 0; flagged <= 1; flagged++) {
		struct synth s;
		const char *gargv[] = { "go", "build", NULL };
		one_run_start(&s, "go build", "/usr/local/go/bin/go", "go", gargv);
		syn_file(&s, MS(5), 301, "/src/main.go", false, 120);
		syn_sc_f(&s, MS(6), 301, LP_SC_OPENAT, 7, 3000, "/src/testdata", 1, NULL, 0, O_RDONLY | O_CLOEXEC,
			 flagged ? LP_F_OPEN_DIR : 0);
		syn_sc(&s, MS(6) + 5000, 301, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
		syn_exit(&s, MS(9), 301, 0);
		syn_exit(&s, MS(10), 300, 0);
		syn_progress(&s, MS(11), "#2 DONE 0.0s");
		syn_close(&s, NULL);
		struct lp_model *m = load(s.path);
		int r = lp_model_find_step(m, "#2");
		cr_assert_geq(r, 0);
		cr_assert_eq(m->steps[r].agg.files_read, flagged ? 1 : 2, "flag %d: files read %llu", flagged,
			     (unsigned long long)m->steps[r].agg.files_read);
		cr_assert_eq(m->steps[r].agg.opens, 2, "both opens are counted as opens");
		const struct lp_proc *go = NULL;
		for (size_t i = 0; i < m->nprocs; i++)
			if (m->procs[i].pid == 301)
				go = &m->procs[i];
		cr_assert_not_null(go);
		cr_assert_eq(go->agg.files_read, flagged ? 1 : 2, "flag %d: the process's files read %llu", flagged,
			     (unsigned long long)go->agg.files_read);
		size_t n;
		const struct lp_file *f = lp_model_step_files(m, r, &n);
		bool seen = false;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(f[i].path, "/src/testdata")) {
				seen = true;
				cr_assert_eq(f[i].read, !flagged, "flag %d: the directory's row read=%d", flagged,
					     f[i].read);
			}
		cr_assert(seen, "the directory keeps its row (its open)");
		lp_model_free(m);
		unlink(s.path);
	}
}

/* Memory stays bounded by distinct paths, not events. */
Test(model, many_events_aggregate)
{
	struct synth s;
	const char *shargv[] = { "/bin/sh", "-c", "loop", NULL };
	one_run_start(&s, "loop", "/bin/sh", "sh", shargv);
	for (int i = 0; i < 60000; i++)
		syn_file(&s, MS(5) + (uint64_t)i * 1000, 301, i % 2 ? "/etc/a" : "/etc/b", false, 10);
	syn_exit(&s, MS(900), 301, 0);
	syn_exit(&s, MS(901), 300, 0);
	syn_progress(&s, MS(902), "#2 DONE 0.9s");
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	int r = lp_model_find_step(m, "#2");
	size_t n;
	lp_model_step_files(m, r, &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(m->steps[r].agg.bytes_read, 600000);
	cr_assert_eq(m->steps[r].agg.opens, 60000);
	cr_assert_eq(m->steps[r].agg.files_read, 2);
	cr_assert_lt(m->nfiles, 10);
	lp_model_free(m);
	unlink(s.path);
}

/* Named stages, COPY --from, a continued RUN and an exec-form RUN, with the
 * progress text dockerd 20.10 prints for tests/fixtures/multi-stage. */
Test(model, multi_stage_dockerfile_lines)
{
	static const char df[] =
		"# Two stages: \"build\" makes an artifact, \"runtime\" copies only the artifact.\n"
		"FROM layerprof/busybox AS build\n"
		"WORKDIR /src\n"
		"COPY main.c lib.c ./\n"
		"RUN mkdir -p /out && \\\n"
		"    cat main.c lib.c > /out/app.txt && \\\n"
		"    sha256sum /out/app.txt > /out/app.sha256\n"
		"\n"
		"FROM layerprof/busybox AS runtime\n"
		"COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/\n"
		"COPY --chown=0:0 config.ini /etc/app/config.ini\n"
		"RUN [\"sh\", \"-c\", \"cat /etc/app/config.ini > /dev/null\"]\n"
		"CMD [\"cat\", \"/usr/local/share/app/app.txt\"]\n";
	static const char *lines[] = {
		"#4 [build 1/4] FROM docker.io/layerprof/busybox", "#4 CACHED",
		"#6 [internal] load build context", "#6 transferring context: 292B done", "#6 DONE 0.0s",
		"#5 [build 2/4] WORKDIR /src", "#5 DONE 0.0s",
		"#7 [build 3/4] COPY main.c lib.c ./", "#7 DONE 0.0s",
		"#8 [build 4/4] RUN mkdir -p /out &&     cat main.c lib.c > /out/app.txt &&     sha256sum /out/app.txt > /out/app.sha256",
		"#8 DONE 0.2s",
		"#9 [runtime 2/4] COPY --from=build /out/app.txt /out/app.sha256 /usr/local/share/app/", "#9 DONE 0.0s",
		"#10 [runtime 3/4] COPY --chown=0:0 config.ini /etc/app/config.ini", "#10 DONE 0.0s",
		"#11 [runtime 4/4] RUN [\"sh\", \"-c\", \"cat /etc/app/config.ini > /dev/null\"]", "#11 DONE 0.2s",
		"#12 exporting to image", "#12 DONE 0.0s", NULL,
	};
	struct synth s;
	char *meta = json_meta(df);
	syn_open(&s, meta);
	free(meta);
	syn_ctx_file(&s, "config.ini", 43);
	syn_ctx_file(&s, "lib.c", 41);
	syn_ctx_file(&s, "main.c", 102);
	for (int i = 0; lines[i]; i++)
		syn_progress(&s, MS(i * 10), "%s", lines[i]);
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	struct {
		const char *id, *stage;
		int line;
	} want[] = { { "#4", "build", 2 },    { "#5", "build", 3 },    { "#7", "build", 4 },
		     { "#8", "build", 5 },    { "#9", "runtime", 10 }, { "#10", "runtime", 11 },
		     { "#11", "runtime", 12 } };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct lp_step *st = step(m, want[i].id);
		cr_assert_str_eq(st->stage, want[i].stage, "%s", want[i].id);
		cr_assert_eq(st->dockerfile_line, want[i].line, "%s: line %d", want[i].id, st->dockerfile_line);
	}
	cr_assert_str_eq(step(m, "#7")->copy_dst, "/src/");
	cr_assert_eq(step(m, "#7")->ncopy_srcs, 2);
	cr_assert(step(m, "#9")->copy_from_stage);
	cr_assert(!step(m, "#10")->copy_from_stage);
	cr_assert_str_eq(step(m, "#10")->copy_dst, "/etc/app/config.ini");
	char buf[256];
	cr_assert_str_eq(lp_copy_ctx_path(m, lp_model_find_step(m, "#10"), "/etc/app/config.ini", buf,
					  sizeof(buf)), "config.ini");
	cr_assert_str_eq(lp_copy_ctx_path(m, lp_model_find_step(m, "#7"), "/src/lib.c", buf, sizeof(buf)),
			 "lib.c");
	cr_assert_null(lp_copy_ctx_path(m, lp_model_find_step(m, "#7"), "/src/other.c", buf, sizeof(buf)));
	cr_assert_eq(m->build.steps, 7);
	cr_assert_eq(m->build.cacheable_steps, 6);
	cr_assert_eq(m->snap.export_steps, 1);
	lp_model_free(m);
	unlink(s.path);
}

/* A build whose result is not exported (a container builder without
 * --load) has no export step: the report must not show an export of 0 s. */
Test(model, no_export_step_is_counted_as_none)
{
	static const char *lines[] = {
		"#1 [1/2] FROM docker.io/layerprof/busybox", "#1 CACHED",
		"#2 [2/2] RUN true", "#2 DONE 0.1s", NULL,
	};
	struct synth s;
	char *meta = json_meta("FROM layerprof/busybox\nRUN true\n");
	syn_open(&s, meta);
	free(meta);
	for (int i = 0; lines[i]; i++)
		syn_progress(&s, MS(i * 10), "%s", lines[i]);
	syn_close(&s, NULL);
	struct lp_model *m = load(s.path);
	cr_assert_eq(m->nsteps, 2);
	cr_assert_eq(m->snap.export_steps, 0);
	cr_assert_eq(m->snap.export_ns, 0);
	lp_model_free(m);
	unlink(s.path);
}

/* Hostile records (valid framing, random contents) never crash the model. */
Test(model, survives_random_records)
{
	struct synth s;
	char *meta = json_meta("FROM x\nCOPY . .\nRUN y\n");
	syn_open(&s, meta);
	free(meta);
	uint64_t x = 88172645463325252ull;
	union {
		struct lp_hdr h;
		uint8_t b[1024];
	} u;
	static const uint8_t kinds[] = { LP_EV_SYSCALL, LP_EV_FORK, LP_EV_EXEC, LP_EV_EXEC_ARGV, LP_EV_EXIT,
					 LP_EV_FD_IO, LP_REC_PROC_SEED, LP_REC_FD_SEED, LP_REC_PROGRESS,
					 LP_REC_TRACE_PID, LP_REC_CONTEXT_FILE, 0x7f };
	for (int i = 0; i < 20000; i++) {
		for (size_t k = 0; k < sizeof(u.b); k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			u.b[k] = (uint8_t)x;
		}
		size_t len = sizeof(struct lp_hdr) + (x % 600);
		len &= ~7ul;
		if (len < sizeof(struct lp_hdr))
			len = sizeof(struct lp_hdr);
		u.h.kind = kinds[x % sizeof(kinds)];
		u.h.tgid = (uint32_t)(x % 50);
		u.h.aux = (uint32_t)((x >> 8) % (LP_SC_NR + 3));
		u.h.ts = (uint64_t)i * 1000;
		if (u.h.kind == LP_REC_PROGRESS && i % 3 == 0) {
			static const char *lines[] = { "#1 [1/3] FROM x", "#2 [2/3] COPY . .", "#2 DONE 0.1s",
						       "#3 [3/3] RUN y", "#3 ERROR: boom", "#9 CACHED" };
			syn_progress(&s, u.h.ts, "%s", lines[x % 6]);
			continue;
		}
		syn_put(&s, &u, len);
	}
	syn_close(&s, NULL);
	char err[256] = "";
	struct lp_model *m = lp_model_load(s.path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_geq(m->build.records, 20000);
	cr_assert_lt(m->build.events, m->build.records, "events are the kernel's records only");
	lp_model_free(m);
	unlink(s.path);
}

/* ------------------------------------------------------------------------
 * Regressions: export-phase reads, fds drained after their process exited.
 */

static uint64_t file_rbytes(const struct lp_model *m, int step, const char *path)
{
	size_t n;
	const struct lp_file *f = lp_model_step_files(m, step, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].path, path))
			return f[i].rbytes;
	return 0;
}

/* The daemon reads the last COPY's layer back to export it, before the CLI
 * prints "exporting to image": export work, not the COPY's. */
Test(model, export_reads_belong_to_the_export)
{
	char *path = scenario_last_copy(false);
	struct lp_model *m = load(path);
	int copy = lp_model_find_step(m, "#7"), exp = lp_model_find_step(m, "#8");
	cr_assert_eq(m->steps[exp].kind, LP_STEPK_EXPORT);
	/* the COPY read the 5 context files, nothing more */
	cr_assert_eq(m->steps[copy].agg.bytes_read, 5 * 300, "COPY read %llu",
		     (unsigned long long)m->steps[copy].agg.bytes_read);
	cr_assert_eq(file_rbytes(m, copy, "/app/package.json"), 0);
	/* the export read the layer and wrote the layer db */
	cr_assert_eq(m->steps[exp].agg.bytes_read, 5 * 300);
	cr_assert_eq(file_rbytes(m, exp, "/app/package.json"), 300);
	cr_assert_eq(m->steps[exp].agg.bytes_written, 71);
	cr_assert_eq(m->snap.export_bytes_read, 5 * 300);
	/* the attribution helper agrees for a read between the two lines */
	struct lp_ev_fd_io io = { .h = { .kind = LP_EV_FD_IO, .tgid = 100, .ts = MS(200) }, .rbytes = 10 };
	cr_assert_eq(lp_model_event_step(m, &io.h, COPYSNAP "/diff/app/README.md"), exp);
	/* ...while a write into the layer stays the COPY's */
	io.rbytes = 0;
	io.wbytes = 10;
	cr_assert_eq(lp_model_event_step(m, &io.h, COPYSNAP "/merged/app/x"), copy);
	lp_model_free(m);
	unlink(path);
	free(path);
}

/* A process that exited with an fd open: its I/O is drained only when the
 * recording ends, but the fd was closed at the exit. */
Test(model, fd_drained_after_exit_is_closed_at_exit)
{
	char *path = scenario_last_copy(true);
	struct lp_model *m = load(path);
	int copy = lp_model_find_step(m, "#7");
	const struct lp_proc *helper = lp_model_proc_at(m, 150, MS(95));
	cr_assert_not_null(helper);
	cr_assert(helper->exited);
	cr_assert_eq(helper->role, LP_ROLE_DAEMON);
	/* closed at its exit (100 ms), in the COPY's window: the COPY's read */
	struct lp_ev_fd_io e = { .h = { .kind = LP_EV_FD_IO, .tgid = 150, .aux = 7, .ts = MS(400) },
				 .first_ts = MS(93), .last_ts = MS(95), .rbytes = 4096,
				 .io_flags = LP_FDIO_DRAINED };
	bool open = true;
	cr_assert_eq(lp_model_fdio_close_ts(m, &e, &open), MS(100));
	cr_assert(!open, "the process exited: the fd is not still open");
	cr_assert_eq(file_rbytes(m, copy, "/app/README.md"), 4096);
	cr_assert_eq(m->steps[copy].agg.bytes_read, 5 * 300 + 4096);
	/* a process still running at the end: still open, at the drain */
	e.h.tgid = 100;
	e.h.aux = 99;
	cr_assert_eq(lp_model_fdio_close_ts(m, &e, &open), MS(400));
	cr_assert(open);
	/* a record sent at close: its own time */
	e.io_flags = 0;
	cr_assert_eq(lp_model_fdio_close_ts(m, &e, &open), MS(400));
	cr_assert(!open);
	lp_model_free(m);
	unlink(path);
	free(path);
}

/* buildx names its builder on "#0 building with ...": that is no step, and
 * the builder and driver are the build's. The standalone BuildKit OCI
 * worker's runc is buildkit-runc, with bundles under runc-overlayfs/. */
Test(model, buildx_builder_line_and_buildkit_runc)
{
	struct synth s;
	char *meta = json_meta("FROM x\nRUN make\n");
	syn_open(&s, meta);
	free(meta);
	const char *bargv[] = { "buildkitd", "--root", "/var/lib/bk", NULL };
	syn_seed(&s, 100, 1, "buildkitd", "/usr/bin/buildkitd", bargv);
	syn_progress(&s, MS(0), "#0 building with \"ci\" instance using remote driver");
	syn_progress(&s, MS(0), "");
	syn_progress(&s, MS(1), "#1 [1/2] FROM docker.io/library/x");
	syn_progress(&s, MS(1), "#1 DONE 0.0s");
	syn_progress(&s, MS(2), "#2 [2/2] RUN make");
	syn_fork(&s, MS(3), 100, 300, "buildkitd");
	const char *rargv[] = { "buildkit-runc", "run", "--bundle", "/var/lib/bk/runc-overlayfs/executor/c1", "c1",
				NULL };
	syn_exec(&s, MS(3) + 100, 300, 100, "/usr/bin/buildkit-runc", "buildkit-runc", rargv);
	syn_fork(&s, MS(4), 300, 301, "runc:[2:INIT]");
	const char *shargv[] = { "/bin/sh", "-c", "make", NULL };
	syn_exec(&s, MS(4) + 100, 301, 300, "/bin/sh", "sh", shargv);
	syn_exit(&s, MS(500), 301, 0);
	syn_exit(&s, MS(501), 300, 0);
	syn_progress(&s, MS(510), "#2 DONE 0.5s");
	syn_close(&s, NULL);
	char err[256] = "";
	struct lp_model *m = lp_model_load(s.path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(lp_model_find_step(m, "#0"), -1, "#0 is buildx's builder line, not a step");
	cr_assert_str_eq(m->build.builder, "ci");
	cr_assert_str_eq(m->build.builder_driver, "remote");
	int r = lp_model_find_step(m, "#2");
	cr_assert_geq(r, 0);
	const struct lp_step *st = &m->steps[r];
	cr_assert_str_eq(st->container_id, "c1", "buildkit-runc's bundle names the RUN's container");
	cr_assert_eq(st->time_src, LP_TIME_KERNEL);
	cr_assert(lp_step_wall_ns(st) >= 497 * SYN_MS && lp_step_wall_ns(st) <= 498 * SYN_MS, "%llu",
		  (unsigned long long)lp_step_wall_ns(st));
	lp_model_free(m);
	unlink(s.path);
}

/* A progress record as the recorder writes it, with its flags. */
static void progress_piece(struct synth *s, uint64_t ts, const char *text, size_t n, bool continues)
{
	union {
		struct lp_rec_progress r;
		char b[sizeof(struct lp_rec_progress) + 1024];
	} u;
	memset(&u, 0, sizeof(u));
	syn_hdr(&u.r.h, LP_REC_PROGRESS, 0, 2, ts);
	u.r.len = (uint16_t)n;
	u.r.flags = continues ? LP_PROGRESS_CONTINUES : 0;
	memcpy(u.b + sizeof(u.r), text, n);
	syn_put(s, &u, (sizeof(u.r) + n + 7) & ~7ul);
}

/* --progress=rawjson: steps without kernel evidence take the engine's own
 * times, put on the kernel's clock through META's clock pair; a line cut
 * into several records is read whole; the builder comes from META (record
 * asked buildx: rawjson has no "#0 building with" line). */
Test(model, rawjson_engine_times)
{
	struct synth s;
	/* T0 on the monotonic clock is 2026-12-06T10:00:00Z on the wall clock */
	struct lp_buf mb = { 0 };
	lp_buf_printf(&mb,
		      "{\"version\":1,\"start_monotonic_ns\":%llu,\"start_realtime_ns\":1796551200000000000,"
		      "\"build\":{\"context\":\"/work/app\",\"dockerfile_text\":\"FROM x\\nWORKDIR /app\\n\","
		      "\"builder\":\"ci\",\"builder_driver\":\"remote\",\"progress\":\"rawjson\"},"
		      "\"command\":[\"docker\",\"buildx\",\"build\",\".\"]}",
		      (unsigned long long)T0);
	syn_open(&s, mb.data);
	lp_buf_free(&mb);
	syn_progress(&s, MS(5), "{\"vertexes\":[{\"digest\":\"sha256:f\",\"name\":\"[1/2] FROM docker.io/library/x\","
				"\"started\":\"2026-12-06T10:00:00.010Z\",\"completed\":\"2026-12-06T10:00:00.030Z\"}]}");
	syn_progress(&s, MS(41), "{\"vertexes\":[{\"digest\":\"sha256:w\",\"name\":\"[2/2] WORKDIR /app\","
				 "\"started\":\"2026-12-06T10:00:00.040Z\",\"completed\":\"2026-12-06T10:00:00.050Z\"}]}");
	syn_progress(&s, MS(61), "{\"vertexes\":[{\"digest\":\"sha256:w\",\"name\":\"[2/2] WORKDIR /app\","
				 "\"started\":\"2026-12-06T10:00:00.060Z\"}]}");
	const char *last = "{\"vertexes\":[{\"digest\":\"sha256:w\",\"name\":\"[2/2] WORKDIR /app\","
			   "\"started\":\"2026-12-06T10:00:00.060Z\",\"completed\":\"2026-12-06T10:00:00.090Z\"}]}";
	size_t n = strlen(last);
	progress_piece(&s, MS(91), last, 30, true);
	progress_piece(&s, MS(91), last + 30, 40, true);
	progress_piece(&s, MS(91), last + 70, n - 70, false);
	syn_close(&s, NULL);

	struct lp_model *m = load(s.path);
	cr_expect_str_eq(m->build.progress_format, "rawjson");
	cr_expect_str_eq(m->build.builder, "ci");
	cr_expect_str_eq(m->build.builder_driver, "remote");
	const struct lp_step *from = step(m, "#1");
	cr_expect_eq(from->time_src, LP_TIME_ENGINE);
	cr_expect_eq(lp_step_start_ns(from), MS(10));
	cr_expect_eq(lp_step_wall_ns(from), 20 * SYN_MS);
	const struct lp_step *wd = step(m, "#2");
	cr_expect_eq(wd->status, LP_STEP_DONE, "the line cut in three records was read whole");
	cr_expect_eq(wd->time_src, LP_TIME_ENGINE);
	cr_expect_eq(lp_step_start_ns(wd), MS(40));
	cr_expect_eq(lp_step_end_ns(wd), MS(90));
	cr_expect_eq(lp_step_wall_ns(wd), 40 * SYN_MS, "active 10 + 30 ms, not the 50 ms span");
	lp_model_free(m);
	unlink(s.path);
}

/* The engine's version: the `--version` line record asked each daemon at
 * the end (trailer "daemon_versions"), by pid. */
Test(model, daemon_version_from_trailer)
{
	const char *t = "{\"daemon_versions\":[{\"pid\":100,\"comm\":\"dockerd\",\"version\":\"Docker version 28.4.0, build "
			"v28.4.0+incompatible\"},{\"pid\":200,\"comm\":\"containerd\",\"version\":\"containerd v2.1.4\"}]}";
	char *v = lp_model_daemon_version(t, 100);
	cr_assert_not_null(v);
	cr_expect_str_eq(v, "Docker version 28.4.0, build v28.4.0+incompatible");
	free(v);
	v = lp_model_daemon_version(t, 200);
	cr_expect_str_eq(v, "containerd v2.1.4");
	free(v);
	cr_expect_null(lp_model_daemon_version(t, 300));
	cr_expect_null(lp_model_daemon_version("{}", 100));
	cr_expect_null(lp_model_daemon_version("not json", 100));
	cr_expect_null(lp_model_daemon_version(NULL, 100));
}

/* The 20.10 CLI (plain progress, no engine times) walks the sources of
 * the Dockerfile and .dockerignore (2 and 6 ms: the root and its
 * directories, opened without O_DIRECTORY), then the context's (36-37
 * ms: the root, then down to src/lib), then sends the edited file at
 * 40 ms. The context step starts with the root's open before the first
 * open two levels down (36 ms), not with the definition's walks. */
Test(model, context_walk_without_engine_times)
{
	struct synth s;
	common_start(&s, BAD_ORDER_DOCKERFILE);
	project_manifest(&s);
	syn_ctx_file(&s, "src/lib/deep.js", 300);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	const uint64_t opens[] = { MS(2), MS(6), MS(36) };
	for (int i = 0; i < 3; i++) {
		syn_sc(&s, opens[i], 200, LP_SC_OPENAT, 9, 3000, ".", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
		syn_sc(&s, opens[i] + 50000, 200, LP_SC_OPENAT, 9, 3000, "src", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	}
	syn_progress(&s, MS(30), "#4 [1/5] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_sc(&s, MS(37), 200, LP_SC_OPENAT, 9, 3000, "src/lib", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	const char *changed[] = { "src/index.js", NULL };
	transfer(&s, 40, 5, NULL, changed);
	syn_close(&s, NULL);

	struct lp_model *m = load(s.path);
	const struct lp_step *cs = step(m, "#5");
	cr_assert_eq(m->context.step, (int)(cs - m->steps));
	cr_assert_eq(m->context.walk_start_ns, MS(36), "walk from %llu",
		     (unsigned long long)m->context.walk_start_ns);
	cr_assert_eq(m->context.walk_end_ns, MS(37));
	cr_assert_eq(cs->time_src, LP_TIME_KERNEL);
	cr_assert_eq(lp_step_start_ns(cs), MS(36));
	cr_assert_eq(cs->agg.files_read, 1, "the directories are no file read: %llu",
		     (unsigned long long)cs->agg.files_read);
	lp_model_free(m);
	unlink(s.path);
}

/* A build through buildx with --progress=rawjson (its engine times on the
 * kernel's clock through META's clock pair: T0 is 2026-12-06T10:00:00Z):
 * dockerd (pid 100) and the buildx plugin (pid 200) in /work/app. */
static void buildx_rawjson_start(struct synth *s, const char *dockerfile_json)
{
	struct lp_buf mb = { 0 };
	lp_buf_printf(&mb,
		      "{\"version\":1,\"start_monotonic_ns\":%llu,\"start_realtime_ns\":1796551200000000000,"
		      "\"build\":{\"context\":\"/work/app\",\"dockerfile\":\"/work/app/Dockerfile\","
		      "\"dockerfile_text\":\"%s\",\"progress\":\"rawjson\"},"
		      "\"daemons\":[{\"pid\":100,\"comm\":\"dockerd\",\"data_root\":\"" SYN_ROOT "\"}],"
		      "\"command\":[\"docker\",\"build\",\".\"]}",
		      (unsigned long long)T0, dockerfile_json);
	syn_open(s, mb.data);
	lp_buf_free(&mb);
	const char *dargv[] = { "/usr/sbin/dockerd", "--data-root", SYN_ROOT, NULL };
	syn_seed(s, 100, 1, "dockerd", "/usr/sbin/dockerd", dargv);
	const char *cargv[] = { "docker-buildx", "buildx", "build", ".", NULL };
	syn_seed_cwd(s, 200, 99, "docker-buildx", "/usr/libexec/docker/cli-plugins/docker-buildx", "/work/app",
		     cargv);
	syn_trace_pid(s, T0 - 50 * SYN_MS, 200, "docker-buildx");
}

/* A 20.10 rebuild that sends nothing: the client walks the context at
 * 36-37 ms, then dockerd syncs BuildKit's metadata at 40 and 45 ms; the
 * DONE line (0.0 s) comes at 50 ms; a sync at 120 ms is later work. The
 * step is the walk and those syncs: 36 to 45 ms. */
Test(model, context_nothing_sent_is_its_walk_and_metadata_sync)
{
	struct synth s;
	common_start(&s, BAD_ORDER_DOCKERFILE);
	project_manifest(&s);
	syn_ctx_entry(&s, "src/lib", 0, 040755); /* empty */
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/5] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_sc(&s, MS(36), 200, LP_SC_OPENAT, 9, 3000, ".", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	syn_sc(&s, MS(36) + 50000, 200, LP_SC_OPENAT, 9, 3000, "src", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	syn_sc(&s, MS(37), 200, LP_SC_OPENAT, 9, 3000, "src/lib", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	thread_sync(&s, MS(40), 100, SYN_MS);
	thread_sync(&s, MS(45), 101, SYN_MS);
	syn_progress(&s, MS(49), "#5 [internal] load build context");
	syn_progress(&s, MS(50), "#5 DONE 0.0s");
	thread_sync(&s, MS(120), 100, SYN_MS);
	syn_close(&s, NULL);

	struct lp_model *m = load(s.path);
	const struct lp_step *cs = step(m, "#5");
	cr_assert_eq(m->context.step, (int)(cs - m->steps));
	cr_assert_eq(m->context.sent_files, 0);
	cr_assert_eq(cs->time_src, LP_TIME_KERNEL, "time %d, walk %llu-%llu, start %llu", (int)cs->time_src,
		     (unsigned long long)m->context.walk_start_ns, (unsigned long long)m->context.walk_end_ns,
		     (unsigned long long)m->context.start_ns);
	cr_assert_eq(lp_step_start_ns(cs), MS(36));
	cr_assert_eq(lp_step_end_ns(cs), MS(45), "ends %llu", (unsigned long long)lp_step_end_ns(cs));
	cr_assert_eq(m->context.walk_ns, SYN_MS);
	cr_assert_eq(m->context.commit_ns, 8 * SYN_MS, "commit %llu", (unsigned long long)m->context.commit_ns);
	lp_model_free(m);
	unlink(s.path);
}

/* The client (pid 200) sends the edited src/index.js (333 B) at t ms;
 * dockerd (pid 100) writes it as .tmp.1000 at t + 1 and renames it over
 * at t + 2. */
static void send_edited_index_js(struct synth *s, uint64_t t)
{
	syn_file(s, MS(t), 200, "src/index.js", false, 333);
	const char *p = SYN_CTX "/src/index.js", *tmp = SYN_CTX "/src/.tmp.1000";
	syn_sc(s, MS(t + 1), 100, LP_SC_OPENAT, 25, 9000, tmp, 1, NULL, 0, O_WRONLY | O_CREAT | O_CLOEXEC);
	syn_fdio(s, MS(t + 1) + 50000, 100, 25, 0, 333, 10000);
	syn_sc(s, MS(t + 1) + 60000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	syn_rename(s, MS(t + 2), 100, tmp, p);
}

/* A rebuild through buildx (rawjson): the client walks the context's
 * directories (opened O_DIRECTORY) from 110 to 150 ms, then sends the one
 * edited file at 180 ms, which the daemon writes into the context
 * snapshot. The engine says the vertex ran 100-200 ms. An earlier walk at
 * 50 ms (the Dockerfile's own source) is before the engine began the step.
 * The step is the walk, then the transfer. */
Test(model, context_step_starts_with_the_clients_walk)
{
	struct synth s;
	buildx_rawjson_start(&s, "FROM x\\nCOPY . .\\n");
	syn_ctx_file(&s, "Dockerfile", 20);
	syn_ctx_file(&s, "src/index.js", 300);
	syn_ctx_file(&s, "node_modules/a/index.js", 300);
	syn_ctx_entry(&s, ".git/refs/tags", 0, 040755); /* an empty directory */
	/* the client sends the Dockerfile first, on its own */
	syn_progress(&s, MS(4), "{\"vertexes\":[{\"digest\":\"sha256:d\",\"name\":\"[internal] load build definition from Dockerfile\","
				"\"started\":\"2026-12-06T10:00:00.005Z\",\"completed\":\"2026-12-06T10:00:00.008Z\"}]}");
	syn_file(&s, MS(6), 200, "Dockerfile", false, 20);
	syn_sc(&s, MS(50), 200, LP_SC_OPENAT, 9, 3000, "src", 1, NULL, 0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	syn_progress(&s, MS(95), "{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"[internal] load build context\","
				 "\"started\":\"2026-12-06T10:00:00.100Z\"}]}");
	syn_sc(&s, MS(110), 200, LP_SC_OPENAT, 9, 3000, "src", 1, NULL, 0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	syn_sc(&s, MS(130), 200, LP_SC_OPENAT, 9, 3000, "node_modules", 1, NULL, 0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	syn_sc(&s, MS(150), 200, LP_SC_OPENAT, 9, 3000, "node_modules/a", 1, NULL, 0,
	       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* a directory opened without O_DIRECTORY (the 20.10 CLI's Go walk) */
	syn_sc(&s, MS(151), 200, LP_SC_OPENAT, 9, 3000, "node_modules", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	syn_sc(&s, MS(152), 200, LP_SC_OPENAT, 9, 3000, ".git/refs/tags", 1, NULL, 0, O_RDONLY | O_CLOEXEC);
	send_edited_index_js(&s, 180);
	syn_progress(&s, MS(201), "{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"[internal] load build context\","
				  "\"started\":\"2026-12-06T10:00:00.100Z\",\"completed\":\"2026-12-06T10:00:00.200Z\"}]}");
	syn_close(&s, NULL);

	struct lp_model *m = load(s.path);
	const struct lp_step *cs = step(m, "#2"), *def = step(m, "#1");
	cr_assert_eq(m->context.step, (int)(cs - m->steps));
	cr_assert_eq(def->kind, LP_STEPK_LOAD_DOCKERFILE);
	cr_assert_eq(def->agg.bytes_read, 20, "the client's read of the Dockerfile, sent first, is #1's: %llu",
		     (unsigned long long)def->agg.bytes_read);
	cr_assert_eq(m->context.changed_files, 1, "sent %llu, added %llu, changed %llu, snapshot %s, %zu steps",
		     (unsigned long long)m->context.sent_files, (unsigned long long)m->context.added_files,
		     (unsigned long long)m->context.changed_files,
		     m->context.snapshot_dir ? m->context.snapshot_dir : "-", m->nsteps);
	cr_assert_eq(cs->time_src, LP_TIME_KERNEL);
	cr_assert_eq(m->context.walk_start_ns, MS(110), "walk from %llu",
		     (unsigned long long)m->context.walk_start_ns);
	/* the step is the engine's vertex (100-200 ms): before the walk, the
	 * engine's own set-up */
	cr_assert_eq(lp_step_start_ns(cs), MS(100));
	cr_assert_eq(lp_step_end_ns(cs), MS(200));
	cr_assert_eq(m->context.walk_ns, 70 * SYN_MS, "walk %llu ns", (unsigned long long)m->context.walk_ns);
	cr_assert(m->context.engine_ns >= 10 * SYN_MS, "engine %llu ns", (unsigned long long)m->context.engine_ns);
	cr_assert_eq(lp_step_wall_ns(cs),
		     m->context.walk_ns + m->context.transfer_ns + m->context.commit_ns + m->context.engine_ns);
	cr_assert_eq(cs->agg.files_read, 1, "the directories opened (an empty one too) are no file read: %llu",
		     (unsigned long long)cs->agg.files_read);
	cr_assert_eq(cs->agg.bytes_read, 333, "the edited file's bytes only: %llu",
		     (unsigned long long)cs->agg.bytes_read);
	cr_assert_eq(m->context.manifest_files, 3, "the empty directory is no file of the context: %llu",
		     (unsigned long long)m->context.manifest_files);
	cr_assert_null(lp_model_ctx_file(m, ".git/refs/tags"));
	lp_model_free(m);
	unlink(s.path);
}

/* The same on a fast host: the engine loads the Dockerfile 88-92 ms and
 * begins the context at 100 ms, 8 ms later (less than the clock pair's
 * 20 ms of error). The client's walk of the Dockerfile's own source (89
 * ms) and its read of it (90 ms) lie in the load step's window: they are
 * its, not the context's; the context's walk starts at 101 ms. */
Test(model, definition_sent_just_before_the_context_is_its_load_steps)
{
	struct synth s;
	buildx_rawjson_start(&s, "FROM x\nCOPY . .\n");
	syn_ctx_file(&s, "Dockerfile", 20);
	syn_ctx_file(&s, "src/index.js", 300);
	syn_progress(&s, MS(87), "{\"vertexes\":[{\"digest\":\"sha256:d\",\"name\":\"[internal] load build definition from Dockerfile\","
				"\"started\":\"2026-12-06T10:00:00.088Z\",\"completed\":\"2026-12-06T10:00:00.092Z\"}]}");
	syn_sc(&s, MS(89), 200, LP_SC_OPENAT, 9, 3000, "src", 1, NULL, 0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	syn_file(&s, MS(90), 200, "Dockerfile", false, 20);
	/* the daemon writes it into the definition's own snapshot */
	syn_file(&s, MS(91), 100, SYN_ROOT "/overlay2/defsnapshotid000000000a/diff/Dockerfile", true, 20);
	syn_progress(&s, MS(99), "{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"[internal] load build context\","
				 "\"started\":\"2026-12-06T10:00:00.100Z\"}]}");
	syn_sc(&s, MS(101), 200, LP_SC_OPENAT, 9, 3000, "src", 1, NULL, 0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	send_edited_index_js(&s, 120);
	syn_progress(&s, MS(131), "{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"[internal] load build context\","
				  "\"started\":\"2026-12-06T10:00:00.100Z\",\"completed\":\"2026-12-06T10:00:00.130Z\"}]}");
	syn_close(&s, NULL);

	struct lp_model *m = load(s.path);
	const struct lp_step *cs = step(m, "#2"), *def = step(m, "#1");
	cr_assert_eq(m->context.step, (int)(cs - m->steps));
	cr_assert_eq(def->agg.bytes_read, 20, "the Dockerfile read 10 ms before the context is #1's: %llu",
		     (unsigned long long)def->agg.bytes_read);
	/* its time: the engine's 4 ms (session set-up, then the send), not
	 * the send's own 1 ms */
	cr_assert_eq(def->time_src, LP_TIME_ENGINE);
	cr_assert_eq(lp_step_start_ns(def), MS(88));
	cr_assert_eq(lp_step_wall_ns(def), 4 * SYN_MS, "wall %llu", (unsigned long long)lp_step_wall_ns(def));
	cr_assert_eq(cs->agg.bytes_read, 333, "the edited file's bytes only: %llu",
		     (unsigned long long)cs->agg.bytes_read);
	cr_assert_eq(m->context.walk_start_ns, MS(101), "walk from %llu",
		     (unsigned long long)m->context.walk_start_ns);
	lp_model_free(m);
	unlink(s.path);
}

/* A COPY through buildx (rawjson): its files written at 110-112 ms, then
 * the daemon unmounts and commits its layer, syncing BuildKit's metadata
 * at 200 and 290 ms; the engine says the vertex ran 100-300 ms. A sync at
 * 330 ms (past the engine's end and its 20 ms of clock error) is the next
 * work's. The COPY ends at its commit's last sync, 290 ms. */
Test(model, copy_step_ends_with_its_layers_commit)
{
	struct synth s;
	buildx_rawjson_start(&s, "FROM x\\nCOPY . /app\\n");
	project_manifest(&s);
	syn_progress(&s, MS(5), "{\"vertexes\":[{\"digest\":\"sha256:f\",\"name\":\"[1/2] FROM docker.io/library/x\","
				"\"started\":\"2026-12-06T10:00:00.010Z\",\"completed\":\"2026-12-06T10:00:00.030Z\"}]}");
	syn_progress(&s, MS(99), "{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"[2/2] COPY . /app\","
				 "\"started\":\"2026-12-06T10:00:00.100Z\"}]}");
	copy_files(&s, 110, COPYSNAP, PROJECT, "/app");
	thread_sync(&s, MS(200), 107, 2 * SYN_MS);
	thread_sync(&s, MS(290), 108, 2 * SYN_MS);
	thread_sync(&s, MS(330), 107, 2 * SYN_MS);
	syn_progress(&s, MS(301), "{\"vertexes\":[{\"digest\":\"sha256:c\",\"name\":\"[2/2] COPY . /app\","
				  "\"started\":\"2026-12-06T10:00:00.100Z\",\"completed\":\"2026-12-06T10:00:00.300Z\"}]}");
	syn_close(&s, NULL);

	struct lp_model *m = load(s.path);
	const struct lp_step *cp = step(m, "#2");
	cr_assert_eq(cp->kind, LP_STEPK_COPY);
	cr_assert_eq(cp->time_src, LP_TIME_KERNEL);
	cr_assert_gt(cp->agg.files_written, 0, "its writes are seen");
	cr_assert_lt(lp_step_start_ns(cp), MS(111));
	cr_assert_eq(lp_step_end_ns(cp), MS(290), "ends %llu", (unsigned long long)lp_step_end_ns(cp));
	/* no step exported it (a remote builder, no --output): the layer
	 * written is no image's */
	cr_assert(m->snap.layer_bytes_written > 0);
	cr_assert(m->build.not_exported);
	cr_assert_null(m->build.image_bytes_source);
	lp_model_free(m);
	unlink(s.path);
}
