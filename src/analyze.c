/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Findings (docs/architecture.md, "Findings"). Each one is built from measurements in the model
 * and carries its evidence; a clean build gets none.
 */
#include "model.h"
#include "model_int.h"
#include "dockerfile.h"
#include "infer.h"
#include "layer_findings.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Thresholds. */
#define LAYER_ORDER_MIN_NS   1000000000ull /* a RUN worth reordering: 1 s */
#define BLOAT_MIN_BYTES      (64u << 10)    /* unread context worth a finding */
#define BLOAT_BIG_GROUP      (1u << 20)     /* a non-junk unread group worth naming */
#define COST_MIN_NS          1000000000ull  /* snapshot/transfer cost worth a finding */
#define COST_SHARE           0.20
#define BLOAT_PATHS_SHOWN    20             /* paths listed (the count covers all) */

/* Installed third-party packages (a venv, node_modules, vendor/...): an
 * installer's output. Their *.pem files are public CA bundles and test
 * certificates (certifi's cacert.pem in every Python venv), not the
 * project's secrets; layer_findings.c names the directory a COPY clobbered. */
size_t lp_path_installed_dir(const char *path)
{
	static const char *dirs[] = { "site-packages/", "dist-packages/", "node_modules/", "vendor/",
				      ".venv/", "venv/", ".tox/", "target/" };
	size_t best = 0;
	for (size_t i = 0; i < LP_ARRAY_SIZE(dirs); i++) {
		for (const char *p = strstr(path, dirs[i]); p; p = strstr(p + 1, dirs[i]))
			if (p == path || p[-1] == '/') {
				size_t n = (size_t)(p - path) + strlen(dirs[i]) - 1;
				if (!best || n < best)
					best = n;
				break;
			}
	}
	return best;
}

bool lp_path_in_installed_packages(const char *path)
{
	return lp_path_installed_dir(path) > 0;
}

bool lp_path_is_secret(const char *path)
{
	const char *b = lp_base_name(path);
	static const char *exact[] = { ".env", ".npmrc", ".pypirc", ".netrc", ".git-credentials",
				       ".htpasswd", ".dockercfg", "credentials.json", "secrets.json",
				       "secrets.yml", "secrets.yaml", "service-account.json" };
	for (size_t i = 0; i < LP_ARRAY_SIZE(exact); i++)
		if (!strcmp(b, exact[i]))
			return true;
	if (!strncmp(b, ".env.", 5)) {
		const char *sfx = b + 5;
		return strcmp(sfx, "example") && strcmp(sfx, "sample") && strcmp(sfx, "template") &&
		       strcmp(sfx, "dist");
	}
	static const char *globs[] = { "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
				       "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*" };
	for (size_t i = 0; i < LP_ARRAY_SIZE(globs); i++)
		if (!fnmatch(globs[i], b, 0)) {
			size_t n = strlen(b);
			if (n > 4 && !strcmp(b + n - 4, ".pub"))
				return false;
			if (i == 0 && lp_path_in_installed_packages(path))
				return false; /* a package's CA bundle */
			return true;
		}
	if (!strcmp(b, "credentials") && strstr(path, ".aws/"))
		return true;
	if (!strcmp(b, "config.json") && strstr(path, ".docker/"))
		return true;
	return false;
}

static const char *fmt_ms(uint64_t ns, char *buf, size_t len)
{
	return lp_fmt_duration_ns(ns, buf, len);
}

static const char *fmt_b(uint64_t n, char *buf, size_t len)
{
	return lp_fmt_bytes(n, buf, len);
}

static bool is_regular(const struct lp_ctx_file *c)
{
	return !c->mode || S_ISREG(c->mode);
}

/* Dockerfile text of one line number (first line only), or NULL. */
static char *df_line_text(const struct lp_model *m, int line)
{
	const char *t = m->build.dockerfile_text;
	if (!t || line <= 0)
		return NULL;
	for (int l = 1; l < line && t; l++) {
		t = strchr(t, '\n');
		if (t)
			t++;
	}
	if (!t)
		return NULL;
	const char *e = strchr(t, '\n');
	return strndup(t, e ? (size_t)(e - t) : strlen(t));
}

char *lp_finding_instr_text(const struct lp_model *m, const struct lp_step *s)
{
	char *t = df_line_text(m, s->dockerfile_line);
	if (t) {
		size_t n = strlen(t);
		while (n && (t[n - 1] == '\r' || t[n - 1] == ' '))
			t[--n] = 0;
		if (n && t[n - 1] == '\\') /* continued: show the step text */
			free(t), t = NULL;
	}
	return t ? t : lp_xasprintf("%s %s", s->instruction, s->args);
}

/* Files the COPY step s copies from the context (regular manifest or sent
 * files matching its sources). */
static void copy_set(const struct lp_model *m, int s, struct lp_strv *out)
{
	for (size_t i = 0; i < m->nctx_files; i++) {
		const struct lp_ctx_file *c = &m->ctx_files[i];
		if (!is_regular(c) || !(c->in_manifest || c->sent))
			continue;
		if (lp_copy_has_source(m, s, c->path))
			lp_strv_push(out, c->path);
	}
}

static bool step_reads(const struct lp_step *r, const char *ctx)
{
	for (size_t i = 0; i < r->nreads_from_context; i++)
		if (!strcmp(r->reads_from_context[i], ctx))
			return true;
	return false;
}

static bool ctx_changed(const struct lp_ctx_file *c)
{
	return c && (c->changed || c->added);
}

/* "./", "./src/" relative to workdir, for a container dir. */
static char *rel_dst(const char *dir, const char *workdir)
{
	size_t n = strlen(workdir);
	while (n > 1 && workdir[n - 1] == '/')
		n--;
	if (!strcmp(dir, workdir) || (n == 1 && !strcmp(dir, "/")))
		return lp_xstrdup("./");
	if (n > 1 && !strncmp(dir, workdir, n) && dir[n] == '/')
		return lp_xasprintf("./%s/", dir + n + 1);
	return lp_xasprintf("%s/", dir);
}

/* ------------------------------------------------------------ layer-order */

/* Dependency manifests and lockfiles by their well-known names: what an
 * install step reads, and what rarely changes. */
static bool is_manifest(const char *ctx_path)
{
	static const char *names[] = {
		"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
		".npmrc", ".yarnrc", ".yarnrc.yml", "Pipfile", "Pipfile.lock", "pyproject.toml", "poetry.lock",
		"setup.py", "setup.cfg", "uv.lock", "go.mod", "go.sum", "Cargo.toml", "Cargo.lock", "pom.xml",
		"build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts",
		"gradle.properties", "Gemfile", "Gemfile.lock", "composer.json", "composer.lock",
		"packages.config", "mix.exs", "mix.lock", "Directory.Packages.props",
	};
	const char *b = lp_base_name(ctx_path);
	for (size_t i = 0; i < LP_ARRAY_SIZE(names); i++)
		if (!strcmp(b, names[i]))
			return true;
	return !fnmatch("requirements*.txt", b, 0) || !fnmatch("*.csproj", b, 0);
}

/* Files that describe the build rather than feed it: a change to them
 * re-runs what follows the line they change, whatever order the COPYs. */
static bool is_build_description(const char *ctx_path)
{
	const char *b = lp_base_name(ctx_path);
	return !fnmatch("Dockerfile*", b, 0) || !fnmatch("*.Dockerfile", b, 0) || !fnmatch("*.dockerfile", b, 0) ||
	       !fnmatch("*.dockerignore", b, 0) || !strcmp(b, ".dockerignore") || !fnmatch("Containerfile*", b, 0);
}

static void layer_order(struct lp_model *m)
{
	for (size_t ri = 0; ri < m->nsteps; ri++) {
		const struct lp_step *r = &m->steps[ri];
		if (r->kind != LP_STEPK_RUN || r->cached || r->status == LP_STEP_ERROR)
			continue;
		uint64_t rwall = lp_step_wall_ns(r);
		if (rwall < LAYER_ORDER_MIN_NS)
			continue;
		/* the latest broad context COPY before it in the stage */
		for (int ci = (int)ri - 1; ci >= 0; ci--) {
			const struct lp_step *c = &m->steps[ci];
			if (c->kind != LP_STEPK_COPY || c->copy_from_stage || strcmp(c->stage, r->stage) ||
			    (r->stage_step && c->stage_step >= r->stage_step))
				continue;
			if (c->cached)
				break; /* an earlier COPY that hit: this RUN did not re-run because of it */
			struct lp_strv set = { 0 }, read = { 0 }, changed = { 0 };
			copy_set(m, ci, &set);
			uint64_t set_bytes = 0;
			for (size_t i = 0; i < set.n; i++) {
				const struct lp_ctx_file *cf = lp_model_ctx_file(m, set.v[i]);
				if (cf)
					set_bytes += cf->size ? cf->size : cf->sent_bytes;
				if (step_reads(r, set.v[i]))
					lp_strv_push(&read, set.v[i]);
				else if (ctx_changed(cf) && !m->build.cold && !is_build_description(set.v[i]))
					lp_strv_push(&changed, set.v[i]);
			}
			bool changed_read = false;
			for (size_t i = 0; i < read.n; i++)
				changed_read |= !m->build.cold && ctx_changed(lp_model_ctx_file(m, read.v[i]));
			/* A cold build re-ran nothing: it can only be told that its
			 * RUN would re-run on any change, which is worth saying for
			 * an install that reads the dependency manifests, not for a
			 * compile that reads the sources (every edit must re-run it). */
			bool manifests = true;
			for (size_t i = 0; i < read.n; i++)
				manifests &= is_manifest(read.v[i]);
			bool applies = set.n > read.n && !changed_read &&
				       (m->build.cold ? manifests : changed.n > 0);
			if (!applies) {
				lp_strv_free(&set);
				lp_strv_free(&read);
				lp_strv_free(&changed);
				break;
			}
			/* later RUNs of the stage that read none of the changed files */
			uint64_t save = rwall;
			int also = 0;
			for (size_t k = ri + 1; k < m->nsteps && !m->build.cold; k++) {
				const struct lp_step *o = &m->steps[k];
				if (o->kind != LP_STEPK_RUN || o->cached || strcmp(o->stage, r->stage))
					continue;
				bool dep = false;
				for (size_t i = 0; i < changed.n; i++)
					dep |= step_reads(o, changed.v[i]);
				if (dep || o->nreads_from_context == 0)
					break;
				bool sub = true; /* reads only what moves up */
				for (size_t i = 0; i < o->nreads_from_context; i++)
					sub &= lp_strv_has(&read, o->reads_from_context[i]);
				if (!sub)
					break;
				save += lp_step_wall_ns(o);
				also++;
			}
			struct lp_finding *f = lp_model_finding_new(m, LP_FIND_LAYER_ORDER, (int)ri);
			char b1[32], b2[32];
			for (size_t i = 0; i < read.n; i++)
				lp_finding_add_path(f, read.v[i]);
			char *rtext = lp_finding_instr_text(m, r), *ctext = lp_finding_instr_text(m, c);
			if (m->build.cold)
				f->message = lp_xasprintf(
					"%s %s (%s) depends on %zu of the %zu files that %s %s copies: it will re-run "
					"on any change to the other %zu",
					r->id, r->name, fmt_ms(rwall, b1, sizeof(b1)), read.n, set.n, c->id, c->name,
					set.n - read.n);
			else
				f->message = lp_xasprintf(
					"%s %s re-ran (%s) because %s %s changed, but it read only %zu of the %zu "
					"files that COPY placed, none of them changed",
					r->id, r->name, fmt_ms(rwall, b1, sizeof(b1)), c->id, c->name, read.n, set.n);
			lp_finding_add_evidence(f, "%s (Dockerfile line %d) copied %zu context files (%s)", c->id,
						c->dockerfile_line, set.n, fmt_b(set_bytes, b2, sizeof(b2)));
			if (changed.n) {
				struct lp_buf b = { 0 };
				for (size_t i = 0; i < changed.n && i < 10; i++)
					lp_buf_printf(&b, "%s%s", i ? ", " : "", changed.v[i]);
				if (changed.n > 10)
					lp_buf_printf(&b, ", ... (%zu in all)", changed.n);
				lp_finding_add_evidence(f, "context files re-sent since the last build (changed): %s",
							b.data);
				lp_buf_free(&b);
			}
			{
				struct lp_buf b = { 0 };
				for (size_t i = 0; i < read.n && i < 20; i++)
					lp_buf_printf(&b, "%s%s", i ? ", " : "", read.v[i]);
				lp_finding_add_evidence(f, "%s (line %d, %s, %llu %s) opened %s: %s", r->id,
							r->dockerfile_line, fmt_ms(rwall, b1, sizeof(b1)),
							(unsigned long long)r->agg.procs,
							lp_plural(r->agg.procs, "process", "processes"),
							read.n ? "only these copied files" : "none of the copied files",
							read.n ? b.data : "-");
				lp_buf_free(&b);
			}
			if (also)
				lp_finding_add_evidence(f, "%d later RUN step(s) read only those files too", also);
			/* the edit */
			const char *wd = "/";
			char wdbuf[4096] = "/";
			if (c->copy_dst) {
				/* workdir: the COPY destination dir when it is "." */
				snprintf(wdbuf, sizeof(wdbuf), "%s", c->copy_dst);
				size_t n = strlen(wdbuf);
				if (n > 1 && wdbuf[n - 1] == '/')
					wdbuf[n - 1] = 0;
				wd = wdbuf;
			}
			struct lp_buf ins = { 0 };
			if (read.n) {
				/* group by destination dir */
				struct lp_strv dirs = { 0 };
				char buf[4096];
				for (size_t i = 0; i < read.n; i++) {
					const char *sl = strrchr(read.v[i], '/');
					snprintf(buf, sizeof(buf), "%.*s", sl ? (int)(sl - read.v[i]) : 0, read.v[i]);
					if (!lp_strv_has(&dirs, buf))
						lp_strv_push(&dirs, buf);
				}
				for (size_t d = 0; d < dirs.n; d++) {
					lp_buf_puts(&ins, "COPY");
					for (size_t i = 0; i < read.n; i++) {
						const char *sl = strrchr(read.v[i], '/');
						snprintf(buf, sizeof(buf), "%.*s", sl ? (int)(sl - read.v[i]) : 0,
							 read.v[i]);
						if (!strcmp(buf, dirs.v[d]))
							lp_buf_printf(&ins, " %s", read.v[i]);
					}
					char full[8192];
					if (dirs.v[d][0])
						snprintf(full, sizeof(full), "%s/%s", strcmp(wd, "/") ? wd : "", dirs.v[d]);
					else
						snprintf(full, sizeof(full), "%s", wd);
					char *dst = rel_dst(full, wd);
					lp_buf_printf(&ins, " %s\n", dst);
					free(dst);
				}
				lp_strv_free(&dirs);
			}
			f->edit_before = lp_xasprintf("%s\n%s\n", ctext, rtext);
			f->edit_after = lp_xasprintf("%s%s\n%s\n", ins.data ? ins.data : "", rtext, ctext);
			if (read.n)
				f->suggestion = lp_xasprintf(
					"Copy only what %s reads before it, and the rest after it (Dockerfile lines %d-%d):\n%s",
					r->id, c->dockerfile_line, r->dockerfile_line, f->edit_after);
			else
				f->suggestion = lp_xasprintf(
					"%s reads nothing that %s copies: move it above the COPY (Dockerfile lines %d-%d):\n%s",
					r->id, c->id, c->dockerfile_line, r->dockerfile_line, f->edit_after);
			f->savings_ms = (int64_t)(save / 1000000);
			lp_buf_free(&ins);
			free(rtext);
			free(ctext);
			lp_strv_free(&set);
			lp_strv_free(&read);
			lp_strv_free(&changed);
			break;
		}
	}
}

/* ------------------------------------------------------------- cache-miss */

static void cache_miss(struct lp_model *m)
{
	if (m->build.cold)
		return;
	struct lp_strv stages = { 0 };
	for (size_t i = 0; i < m->nsteps; i++)
		if (m->steps[i].stage_steps && !lp_strv_has(&stages, m->steps[i].stage))
			lp_strv_push(&stages, m->steps[i].stage);
	for (size_t st = 0; st < stages.n; st++) {
		int first = -1;
		for (size_t i = 0; i < m->nsteps; i++) {
			const struct lp_step *s = &m->steps[i];
			if (strcmp(s->stage, stages.v[st]) || !s->cacheable || s->cached)
				continue;
			if (first < 0 || s->stage_step < m->steps[first].stage_step)
				first = (int)i;
		}
		if (first < 0)
			continue;
		const struct lp_step *s = &m->steps[first];
		if (s->status == LP_STEP_ERROR || s->status == LP_STEP_CANCELED)
			continue; /* a failure, not a miss: failed-step explains it */
		/* the cost of the miss: this step and the rest of the stage */
		uint64_t cost = 0;
		int reran = 0;
		for (size_t i = 0; i < m->nsteps; i++) {
			const struct lp_step *o = &m->steps[i];
			if (!strcmp(o->stage, s->stage) && o->stage_step >= s->stage_step && !o->cached &&
			    o->cacheable && o->status == LP_STEP_DONE) {
				cost += lp_step_wall_ns(o);
				reran++;
			}
		}
		struct lp_finding *f = lp_model_finding_new(m, LP_FIND_CACHE_MISS, first);
		char b1[32], b2[32];
		struct lp_strv changed = { 0 };
		char *cause = NULL;
		if (s->kind == LP_STEPK_COPY && !s->copy_from_stage) {
			for (size_t i = 0; i < m->nctx_files; i++) {
				const struct lp_ctx_file *c = &m->ctx_files[i];
				if (ctx_changed(c) && lp_copy_has_source(m, first, c->path))
					lp_strv_push(&changed, c->path);
			}
		}
		if (changed.n) {
			uint64_t bytes = 0;
			for (size_t i = 0; i < changed.n; i++) {
				const struct lp_ctx_file *c = lp_model_ctx_file(m, changed.v[i]);
				bytes += c ? c->sent_bytes : 0;
				if (i < 50)
					lp_finding_add_path(f, changed.v[i]);
			}
			f->npaths_total = changed.n; /* the list stops at 50, the count does not */
			struct lp_buf b = { 0 };
			for (size_t i = 0; i < changed.n && i < 5; i++)
				lp_buf_printf(&b, "%s%s", i ? ", " : "", changed.v[i]);
			if (changed.n > 5)
				lp_buf_printf(&b, " and %zu more", changed.n - 5);
			cause = lp_xasprintf("its input files were re-sent as new or changed: %s", b.data);
			lp_buf_free(&b);
			lp_finding_add_evidence(f,
						"the daemon received %zu changed/added file(s) (%s) during %s",
						changed.n, fmt_b(bytes, b1, sizeof(b1)),
						m->context.step >= 0 ? m->steps[m->context.step].id : "the context transfer");
			f->suggestion = lp_xasprintf(
				"Expected when these files are inputs of the build. If they are not, exclude them "
				"(.dockerignore) or copy them later; see layer-order findings.");
		} else if (s->kind == LP_STEPK_COPY && s->copy_from_stage) {
			cause = lp_xstrdup("upstream miss: the stage it copies from was rebuilt");
			f->suggestion = lp_xstrdup("Fix the first miss of the upstream stage.");
		} else {
			int from = -1;
			for (size_t i = 0; i < m->nsteps; i++)
				if (m->steps[i].kind == LP_STEPK_FROM && !strcmp(m->steps[i].stage, s->stage))
					from = (int)i;
			if (from >= 0 && !m->steps[from].cached && m->steps[from].reported_s > 0.05 &&
			    s->stage_step == 2) {
				cause = lp_xasprintf("base image changed or was pulled (%s took %.1fs)",
						     m->steps[from].id, m->steps[from].reported_s);
				f->suggestion = lp_xstrdup("Pin the base image by digest (FROM image@sha256:...) "
							   "so builds reuse the cache until you update it.");
			} else if (s->kind == LP_STEPK_COPY) {
				cause = lp_xstrdup("no context file it copies was re-sent: the instruction changed, "
						   "an earlier layer changed, or its cache was pruned");
				f->suggestion = lp_xstrdup("Compare with the previous recording: layerprof diff BEFORE AFTER.");
			} else {
				cause = lp_xasprintf("the instruction or an input outside the context changed "
						     "(Dockerfile line %d, build args, or the cache was pruned)",
						     s->dockerfile_line);
				f->suggestion = lp_xstrdup("Compare with the previous recording: layerprof diff BEFORE AFTER.");
			}
		}
		f->message = lp_xasprintf("%s %s is the first cache miss of %s%s: %s; %d step(s) re-ran (%s)",
					  s->id, s->name, *s->stage ? "stage " : "the unnamed stage",
					  *s->stage ? s->stage : "", cause, reran,
					  fmt_ms(cost, b2, sizeof(b2)));
		lp_finding_add_evidence(f, "progress: %s %s (no CACHED line), Dockerfile line %d", s->id,
					lp_step_status_name(s->status), s->dockerfile_line);
		free(cause);
		lp_strv_free(&changed);
	}
	lp_strv_free(&stages);
}

/* ------------------------------------------------------- context checks */

/* Is ctx file c part of what the daemon receives? Files outside every
 * COPY source are not sent when the transfer is filtered; we know it is
 * not filtered when a file outside them was written into the snapshot. */
static bool in_scope(const struct lp_model *m, const struct lp_ctx_file *c, bool filtered)
{
	if (!filtered)
		return true;
	for (size_t s = 0; s < m->nsteps; s++)
		if (m->steps[s].kind == LP_STEPK_COPY && lp_copy_has_source(m, (int)s, c->path))
			return true;
	return false;
}

static bool transfer_filtered(const struct lp_model *m)
{
	bool any_copy = false, sent = false;
	for (size_t s = 0; s < m->nsteps; s++)
		if (m->steps[s].kind == LP_STEPK_COPY && !m->steps[s].copy_from_stage) {
			any_copy = true;
			for (size_t i = 0; i < m->steps[s].ncopy_srcs; i++)
				if (!m->steps[s].copy_srcs[i][0])
					return false; /* COPY . : everything */
		}
	if (!any_copy)
		return false;
	for (size_t i = 0; i < m->nctx_files; i++) {
		const struct lp_ctx_file *c = &m->ctx_files[i];
		if (!c->sent)
			continue;
		sent = true;
		if (!in_scope(m, c, true))
			return false; /* the daemon got a file no COPY names */
	}
	return sent;
}

static const char *junk_dirs[] = { ".git", "node_modules", "__pycache__", ".venv", "venv", ".tox",
				   ".pytest_cache", ".mypy_cache", "coverage", ".cache", ".idea",
				   ".vscode", ".next", ".nuxt", "target", "dist", "build", "tmp",
				   "logs", ".svn", ".hg", ".terraform", ".gradle" };
static const char *junk_files[] = { "*.log", "*.tar", "*.tar.gz", "*.tgz", "*.zip", "*.iso",
				    "*.img", ".DS_Store", "*.swp", "*.pyc", "*.core", "core" };

static bool is_junk(const char *group, bool dir)
{
	if (dir) {
		for (size_t i = 0; i < LP_ARRAY_SIZE(junk_dirs); i++)
			if (!strcmp(group, junk_dirs[i]))
				return true;
		return false;
	}
	for (size_t i = 0; i < LP_ARRAY_SIZE(junk_files); i++)
		if (!fnmatch(junk_files[i], group, 0))
			return true;
	return false;
}

struct group {
	char *name;
	bool dir, junk, read, take, secret;
	uint64_t bytes;
	size_t files;
	uint64_t read_bytes;    /* of its files a step read */
	size_t read_files;
	const char *first_read; /* one of them (a ctx file's path) */
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : strcmp(x->name, y->name);
}

static int cmp_ctx_size(const void *a, const void *b)
{
	const struct lp_ctx_file *x = *(const struct lp_ctx_file *const *)a;
	const struct lp_ctx_file *y = *(const struct lp_ctx_file *const *)b;
	return x->size < y->size ? 1 : x->size > y->size ? -1 : strcmp(x->path, y->path);
}

static uint64_t ctx_transfer_ns(const struct lp_model *m)
{
	return m->context.transfer_ns;
}

/* A context file's size: the manifest's, else the bytes sent for it. */
static uint64_t ctx_size(const struct lp_ctx_file *c)
{
	return c->size ? c->size : c->sent_bytes;
}

/* The group of a context path: its top-level name, "name/" for a
 * directory (key in buf). */
static const char *group_key(const char *path, char *buf, size_t len)
{
	const char *sl = strchr(path, '/');
	snprintf(buf, len, "%.*s%s", sl ? (int)(sl - path) : (int)strlen(path), path, sl ? "/" : "");
	return buf;
}

static void context_checks(struct lp_model *m)
{
	if (!m->nctx_files)
		return;
	bool filtered = transfer_filtered(m);
	/* secrets */
	struct lp_finding *sf = NULL;
	uint64_t sbytes = 0;
	struct lp_buf ignore = { 0 };
	for (size_t i = 0; i < m->nctx_files; i++) {
		const struct lp_ctx_file *c = &m->ctx_files[i];
		if (!c->secret || !is_regular(c) || !(c->in_manifest || c->sent) || !in_scope(m, c, filtered))
			continue;
		if (!sf)
			sf = lp_model_finding_new(m, LP_FIND_SECRET, -1);
		lp_finding_add_path(sf, c->path);
		sbytes += c->size;
		char b[32];
		int copier = -1;
		for (size_t s = 0; s < m->nsteps && copier < 0; s++)
			if (m->steps[s].kind == LP_STEPK_COPY && lp_copy_has_source(m, (int)s, c->path))
				copier = (int)s;
		lp_finding_add_evidence(sf, "%s (%s)%s%s%s", c->path, fmt_b(c->size, b, sizeof(b)),
					c->sent ? ", written into the daemon's context snapshot in this build"
						: ", part of the context the daemon receives",
					copier >= 0 ? ", copied into the image by " : "",
					copier >= 0 ? m->steps[copier].id : "");
		lp_buf_printf(&ignore, "%s\n", c->path);
	}
	if (sf) {
		sf->message = lp_xasprintf("%zu secret-looking file(s) are sent to the Docker daemon with the "
					   "build context: %s%s",
					   sf->npaths, sf->paths[0], sf->npaths > 1 ? ", ..." : "");
		sf->suggestion = lp_xasprintf(
			"Add to .dockerignore:\n%sand pass secrets with `RUN --mount=type=secret,id=...` "
			"(docker build --secret) instead of the context.",
			ignore.data);
		sf->edit_after = lp_xstrdup(ignore.data);
		sf->savings_bytes = (int64_t)sbytes;
	}
	lp_buf_free(&ignore);

	/* bloat: files the daemon receives that no step read (beyond the copy),
	 * grouped by their top-level name (what a .dockerignore line names) */
	struct group *g = NULL;
	size_t ng = 0;
	struct lp_smap gidx = { 0 }; /* "name" or "name/" -> index in g */
	uint64_t total = 0;
	for (size_t i = 0; i < m->nctx_files; i++) {
		const struct lp_ctx_file *c = &m->ctx_files[i];
		if (!is_regular(c) || !(c->in_manifest || c->sent) || !in_scope(m, c, filtered))
			continue;
		uint64_t sz = ctx_size(c);
		total += sz;
		char key[1100];
		int k = lp_smap_get(&gidx, group_key(c->path, key, sizeof(key)));
		if (k < 0) {
			g = lp_xrealloc(g, (ng + 1) * sizeof(*g));
			memset(&g[ng], 0, sizeof(*g));
			const char *sl = strchr(c->path, '/');
			g[ng].name = strndup(c->path, sl ? (size_t)(sl - c->path) : strlen(c->path));
			if (!g[ng].name)
				g[ng].name = lp_xstrdup("");
			g[ng].dir = sl != NULL;
			g[ng].junk = is_junk(g[ng].name, g[ng].dir);
			k = (int)ng++;
			lp_smap_put(&gidx, key, k);
		}
		if (c->read_in_run || c->secret)
			g[k].read = true; /* secrets have their own finding */
		g[k].secret |= c->secret;
		if (c->read_in_run) {
			g[k].read_bytes += sz;
			g[k].read_files++;
			if (!g[k].first_read)
				g[k].first_read = c->path;
		}
		g[k].bytes += sz;
		g[k].files++;
	}
	/* largest first (the .dockerignore lines and evidence in that order) */
	if (ng > 1) {
		qsort(g, ng, sizeof(*g), cmp_group);
		lp_smap_free(&gidx);
		for (size_t k = 0; k < ng; k++) {
			char key[1100];
			snprintf(key, sizeof(key), "%s%s", g[k].name, g[k].dir ? "/" : "");
			lp_smap_put(&gidx, key, (int)k);
		}
	}
	/* the groups worth a .dockerignore line: read by no step, and junk by
	 * name or big */
	for (size_t k = 0; k < ng; k++) {
		g[k].take = !g[k].read && (g[k].junk || (g[k].bytes >= BLOAT_BIG_GROUP &&
							   g[k].bytes * 10 >= total));
		/* a build-artefact or dependency dir of the host (target/,
		 * node_modules/...) of which a step read a sliver, e.g. cargo's
		 * target/.rustc_info.json, a cache it rewrites: still bloat */
		if (!g[k].take && g[k].junk && g[k].dir && !g[k].secret &&
		    g[k].read_bytes * 20 <= g[k].bytes && g[k].read_files * 20 <= g[k].files)
			g[k].take = true;
	}
	/* Their files, largest first: the paths, the count and the bytes of the
	 * finding all come from this one list (the paths shown are cut, the
	 * count and the bytes are not). */
	const struct lp_ctx_file **v = lp_xcalloc(m->nctx_files + 1, sizeof(*v));
	size_t nv = 0;
	uint64_t bytes = 0, sent_bytes = 0, sent_files = 0;
	bool verify = false;
	for (size_t i = 0; i < m->nctx_files; i++) {
		const struct lp_ctx_file *c = &m->ctx_files[i];
		if (!is_regular(c) || !(c->in_manifest || c->sent) || !in_scope(m, c, filtered))
			continue;
		char key[1100];
		int k = lp_smap_get(&gidx, group_key(c->path, key, sizeof(key)));
		if (k < 0 || !g[k].take)
			continue;
		v[nv++] = c;
		bytes += ctx_size(c);
		if (c->sent) {
			sent_files++;
			sent_bytes += c->sent_bytes;
		}
		verify |= !g[k].junk;
	}
	if (bytes >= BLOAT_MIN_BYTES || (bytes && nv >= 20)) {
		struct lp_finding *f = lp_model_finding_new(m, LP_FIND_CONTEXT_BLOAT, m->context.step);
		char b1[32], b2[32], b3[32];
		f->message = lp_xasprintf(
			"%s of the %s build context (%zu %s) is never read by any build step; "
			"the daemon receives it for nothing",
			fmt_b(bytes, b1, sizeof(b1)), fmt_b(total, b2, sizeof(b2)), nv, lp_plural(nv, "file", "files"));
		if (nv > 1)
			qsort(v, nv, sizeof(*v), cmp_ctx_size);
		for (size_t i = 0; i < nv && f->npaths < BLOAT_PATHS_SHOWN; i++)
			lp_finding_add_path(f, v[i]->path);
		f->npaths_total = nv;
		struct lp_buf lines = { 0 };
		for (size_t k = 0; k < ng; k++) {
			if (!g[k].take)
				continue;
			lp_buf_printf(&lines, "%s%s\n", g[k].name, g[k].dir ? "/" : "");
			if (g[k].read_files)
				lp_finding_add_evidence(f, "%s%s: %zu file(s), %s; a step read only %zu of them "
							   "(%s, e.g. %s): a cache it can rebuild, or copy that one alone",
							g[k].name, g[k].dir ? "/" : "", g[k].files,
							fmt_b(g[k].bytes, b3, sizeof(b3)), g[k].read_files,
							fmt_b(g[k].read_bytes, b1, sizeof(b1)), g[k].first_read);
			else
				lp_finding_add_evidence(f, "%s%s: %zu file(s), %s, read by no step", g[k].name,
							g[k].dir ? "/" : "", g[k].files, fmt_b(g[k].bytes, b3, sizeof(b3)));
		}
		/* Time saved: only what this build measurably spent sending these
		 * bytes (their share of the bytes written into the daemon's
		 * context snapshot, times the measured transfer time). A build
		 * that did not re-send them (cached rebuild) saves no time now;
		 * the bytes are still what every full send of the context carries. */
		/* and the client's walk of the context before the transfer (known
		 * with the engine's times), every build, sent or not: their share
		 * of the context's files, times the walk's measured time */
		uint64_t walk_save = 0;
		if (m->context.walk_ns && m->context.files) {
			double share = (double)nv / (double)m->context.files;
			walk_save = (uint64_t)((double)m->context.walk_ns * (share > 1 ? 1 : share));
			lp_finding_add_evidence(f, "the client's walk of the context (%s), which every build "
						   "makes, took %s; %zu of its %llu files are these",
						m->context.step >= 0 ? m->steps[m->context.step].id : "-",
						fmt_ms(m->context.walk_ns, b3, sizeof(b3)), nv,
						(unsigned long long)m->context.files);
			f->savings_ms = (int64_t)(walk_save / 1000000);
		}
		uint64_t tns = ctx_transfer_ns(m);
		if (sent_bytes && m->context.sent_bytes && tns) {
			double share = (double)sent_bytes / (double)m->context.sent_bytes;
			if (share > 1)
				share = 1;
			f->savings_ms = (int64_t)(((double)tns * share + (double)walk_save) / 1e6);
			lp_finding_add_evidence(f, "context transfer (%s) took %s; %llu files (%s) were written "
						   "into the daemon's context snapshot in this build, %llu of them "
						   "(%s) are these unread files",
						m->context.step >= 0 ? m->steps[m->context.step].id : "-",
						fmt_ms(tns, b3, sizeof(b3)),
						(unsigned long long)m->context.sent_files,
						fmt_b(m->context.sent_bytes, b1, sizeof(b1)),
						(unsigned long long)sent_files, fmt_b(sent_bytes, b2, sizeof(b2)));
		} else {
			lp_finding_add_evidence(f, "none of these files was sent to the daemon in this build (it "
						   "had them from an earlier build): %severy full send of the "
						   "context carries these %s",
						walk_save ? "" : "no transfer time to save now; ", fmt_b(bytes, b1, sizeof(b1)));
		}
		lp_finding_add_evidence(f, "runtime use is not observed: only reads during the build count");
		f->suggestion = lp_xasprintf(
			"Add to .dockerignore:\n%s%s", lines.data,
			verify ? "(check first that the image does not need these at run time: layerprof only "
				 "sees what the build reads, not what the container reads later)"
			       : "(runtime use is not observed; these are development files)");
		f->edit_after = lp_xstrdup(lines.data);
		f->savings_bytes = (int64_t)bytes;
		lp_buf_free(&lines);
	}
	free(v);
	lp_smap_free(&gidx);
	for (size_t k = 0; k < ng; k++)
		free(g[k].name);
	free(g);
}

/* ------------------------------------------------------------ failed-step */

static void failed_steps(struct lp_model *m)
{
	bool any = false;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		if (s->status != LP_STEP_ERROR)
			continue;
		any = true;
		struct lp_finding *f = lp_model_finding_new(m, LP_FIND_FAILED_STEP, (int)i);
		f->message = lp_xasprintf("%s %s failed: %s", s->id, s->name, s->error ? s->error : "error");
		/* kernel evidence: ENOENT of this step, and ENOENT under the
		 * context for the files this COPY names */
		struct lp_strv missing = { 0 };
		for (size_t k = 0; k < s->nenoent_evidence; k++)
			lp_finding_add_evidence(f, "%s", s->enoent_evidence[k]);
		/* RUN: what the command looked for and did not find, and where
		 * in the context it would have come from */
		char *not_in_ctx = NULL;
		for (size_t k = 0; k < s->nmissing_paths; k++) {
			const char *cp = s->missing_paths[k];
			lp_strv_push(&missing, cp);
			for (int c = (int)i - 1; c >= 0; c--) {
				const struct lp_step *cs = &m->steps[c];
				if (cs->kind != LP_STEPK_COPY || cs->copy_from_stage || strcmp(cs->stage, s->stage) ||
				    !cs->copy_dst)
					continue;
				size_t dl = strlen(cs->copy_dst);
				bool whole = false;
				for (size_t q = 0; q < cs->ncopy_srcs; q++)
					whole |= !cs->copy_srcs[q][0];
				if (whole && cs->copy_dst[dl - 1] == '/' && !strncmp(cp, cs->copy_dst, dl) &&
				    !lp_model_ctx_file(m, cp + dl) && m->nctx_files) {
					lp_finding_add_evidence(f, "%s is not in the build context: %s (line %d) copies "
								   "the context to %s",
								cp + dl, cs->id, cs->dockerfile_line, cs->copy_dst);
					if (!not_in_ctx)
						not_in_ctx = lp_xstrdup(cp + dl);
					break;
				}
			}
		}
		for (size_t k = 0; k < m->nfiles; k++) {
			const struct lp_file *fl = &m->files[k];
			if (fl->first_errno != ENOENT || fl->opens)
				continue;
			bool mine = s->kind == LP_STEPK_COPY && fl->space == LP_PATH_CONTEXT &&
				    lp_copy_has_source(m, (int)i, fl->path);
			if (!mine || lp_strv_has(&missing, fl->path))
				continue;
			lp_strv_push(&missing, fl->path);
			if (fl->step != (int)i)
				lp_finding_add_evidence(
					f, "lookup of %s in the build context failed with ENOENT (%u time%s%s%s)",
					fl->path, fl->open_fails, fl->open_fails == 1 ? "" : "s",
					fl->step >= 0 ? ", during " : "",
					fl->step >= 0 ? m->steps[fl->step].name : "");
		}
		/* COPY sources absent from the context manifest */
		if (s->kind == LP_STEPK_COPY && !s->copy_from_stage && m->nctx_files) {
			for (size_t k = 0; k < s->ncopy_srcs; k++) {
				const char *src = s->copy_srcs[k];
				bool found = !*src;
				for (size_t c = 0; c < m->nctx_files && !found; c++)
					found = lp_copy_has_source(m, (int)i, m->ctx_files[c].path) &&
						(!strcmp(m->ctx_files[c].path, src) ||
						 !strncmp(m->ctx_files[c].path, src, strlen(src)) ||
						 strpbrk(src, "*?["));
				if (!found) {
					/* files as `find -type f` counts them; symlinks apart */
					size_t nreg = 0;
					for (size_t c = 0; c < m->nctx_files; c++)
						nreg += is_regular(&m->ctx_files[c]);
					char other[64] = "";
					if (nreg < m->nctx_files)
						snprintf(other, sizeof(other), " and %zu other entr%s (symlinks...)",
							 m->nctx_files - nreg, m->nctx_files - nreg == 1 ? "y" : "ies");
					lp_finding_add_evidence(f, "%s is not in the build context (%zu file%s%s listed%s%s)",
								src, nreg, nreg == 1 ? "" : "s", other,
								m->context.dir ? " in " : "",
								m->context.dir ? m->context.dir : "");
					if (!lp_strv_has(&missing, src))
						lp_strv_push(&missing, src);
				}
			}
		}
		for (size_t k = 0; k < missing.n; k++)
			lp_finding_add_path(f, missing.v[k]);
		/* the failing process of a RUN */
		for (size_t p = 0; p < m->nprocs; p++) {
			const struct lp_proc *pr = &m->procs[p];
			if (pr->step == (int)i && pr->role == LP_ROLE_CONTAINER && pr->exited && pr->exit_code) {
				struct lp_buf b = { 0 };
				for (int a = 0; a < pr->argc && a < 6; a++)
					lp_buf_printf(&b, "%s%s", a ? " " : "", pr->argv[a]);
				lp_finding_add_evidence(f, "pid %u (%s) exited with status %d", pr->pid,
							b.data ? b.data : pr->comm, pr->exit_code);
				lp_buf_free(&b);
				break;
			}
		}
		for (size_t k = s->nlog_tail > 5 ? s->nlog_tail - 5 : 0; k < s->nlog_tail; k++)
			lp_finding_add_evidence(f, "progress: %s %s", s->id, s->log_tail[k]);
		if (m->build.error)
			lp_finding_add_evidence(f, "build error: %s", m->build.error);
		if (!f->nevidence) /* at least the progress stream's own word */
			lp_finding_add_evidence(f, "progress: %s ERROR %s", s->id, s->error ? s->error : "");
		if (s->kind == LP_STEPK_COPY && missing.n)
			f->suggestion = lp_xasprintf(
				"Create %s in the build context%s%s, or fix the path on Dockerfile line %d "
				"(and check that .dockerignore does not exclude it).",
				missing.v[0], m->context.dir ? " " : "", m->context.dir ? m->context.dir : "",
				s->dockerfile_line);
		else if (s->kind == LP_STEPK_RUN && not_in_ctx)
			f->suggestion = lp_xasprintf("Add %s to the build context%s%s (or fix the path the command "
						     "on Dockerfile line %d uses); check .dockerignore too.",
						     not_in_ctx, m->context.dir ? " " : "",
						     m->context.dir ? m->context.dir : "", s->dockerfile_line);
		else if (s->kind == LP_STEPK_RUN && missing.n)
			f->suggestion = lp_xasprintf("The command on Dockerfile line %d looked for %s and did not find "
						     "it: create it in an earlier step or fix the path.",
						     s->dockerfile_line, missing.v[0]);
		else if (s->kind == LP_STEPK_RUN)
			f->suggestion = lp_xasprintf("Fix the command on Dockerfile line %d; its output is above "
						     "(docker build --progress=plain).",
						     s->dockerfile_line);
		else
			f->suggestion = lp_xasprintf("Fix Dockerfile line %d.", s->dockerfile_line);
		lp_strv_free(&missing);
		free(not_in_ctx);
	}
	if (!any && m->build.error) {
		struct lp_finding *f = lp_model_finding_new(m, LP_FIND_FAILED_STEP, -1);
		f->message = lp_xasprintf("the build failed before any step ran: %s", m->build.error);
		for (size_t k = 0; k < m->build.nerrors && k < 5; k++)
			lp_finding_add_evidence(f, "progress: %s", m->build.errors[k]);
		const char *e = m->build.error;
		const char *ts = strstr(e, "target stage ");
		char want[128] = "";
		if (ts && sscanf(ts, "target stage %127s could not be found", want) == 1) {
			/* the stages the Dockerfile does define */
			struct lp_buf st = { 0 };
			int nst = 0;
			const struct lp_dockerfile *df = m->build.dockerfile;
			for (size_t k = 0; df && k < lp_dockerfile_stage_count(df); k++) {
				const struct lp_dockerfile_stage *d = lp_dockerfile_stage_at(df, k);
				if (d->name[0])
					lp_buf_printf(&st, "%s%s (line %u)", nst ? ", " : "", d->name, d->line);
				else
					lp_buf_printf(&st, "%sstage-%zu, unnamed (line %u)", nst ? ", " : "", k, d->line);
				nst++;
			}
			if (nst)
				lp_finding_add_evidence(f, "the Dockerfile defines %d stage(s): %s", nst, st.data);
			lp_finding_add_path(f, want);
			f->suggestion = lp_xasprintf(
				"--target %s names no stage of the Dockerfile: build one of its stages%s%s, or name "
				"the stage you want with `FROM <image> AS %s`.",
				want, nst ? ": " : "", nst ? st.data : "", want);
			lp_buf_free(&st);
		} else if (strstr(e, "target stage") || strstr(e, "stage") || strstr(e, "not found"))
			f->suggestion = lp_xstrdup("Check the stage names (FROM ... AS name, --target, "
						   "COPY --from=name) and the files the Dockerfile names.");
		else
			f->suggestion = lp_xstrdup("Fix the Dockerfile or the build command (see the error).");
	}
}

/* -------------------------------------------------- snapshot and transfer */

static void costs(struct lp_model *m)
{
	const struct lp_snapshot_costs *c = &m->snap;
	uint64_t wall = m->build.wall_ns;
	if (!wall)
		return;
	char b1[32], b2[32], b3[32], b4[32];
	/* fsyncs inside the export are part of its wall time */
	uint64_t exp_fsync = 0;
	for (size_t i = 0; i < m->nsteps; i++)
		if (m->steps[i].kind == LP_STEPK_EXPORT) {
			const struct lp_agg *a = &m->steps[i].agg;
			exp_fsync += lp_agg_sc(a, LP_SC_FSYNC).ns + lp_agg_sc(a, LP_SC_FDATASYNC).ns +
				     lp_agg_sc(a, LP_SC_SYNCFS).ns + lp_agg_sc(a, LP_SC_SYNC_FILE_RANGE).ns;
		}
	uint64_t fs_out = c->fsync_ns > exp_fsync ? c->fsync_ns - exp_fsync : 0;
	uint64_t snap = c->mount_ns + c->umount_ns + fs_out + c->export_ns;
	if (snap >= COST_MIN_NS && (double)snap >= COST_SHARE * (double)wall) {
		struct lp_finding *f = lp_model_finding_new(m, LP_FIND_SNAPSHOT_COST, -1);
		f->message = lp_xasprintf("layer snapshots cost %s of the %s build (%.0f%%)",
					  fmt_ms(snap, b1, sizeof(b1)), fmt_ms(wall, b2, sizeof(b2)),
					  100.0 * (double)snap / (double)wall);
		lp_finding_add_evidence(f, "mount: %llu calls, %s; umount: %llu calls, %s",
					(unsigned long long)c->mounts, fmt_ms(c->mount_ns, b1, sizeof(b1)),
					(unsigned long long)c->umounts, fmt_ms(c->umount_ns, b2, sizeof(b2)));
		lp_finding_add_evidence(f, "fsync family: %llu calls, %s", (unsigned long long)c->fsyncs,
					fmt_ms(c->fsync_ns, b3, sizeof(b3)));
		if (c->export_steps)
			lp_finding_add_evidence(f, "exporting to image: %s (read %s, wrote %s)",
						fmt_ms(c->export_ns, b4, sizeof(b4)),
						fmt_b(c->export_bytes_read, b1, sizeof(b1)),
						fmt_b(c->export_bytes_written, b2, sizeof(b2)));
		else
			lp_finding_add_evidence(f, "exporting to image: no export step (the result was not exported)");
		lp_finding_add_evidence(f, "bytes written into layers: %s",
					fmt_b(c->layer_bytes_written, b3, sizeof(b3)));
		f->suggestion = lp_xstrdup("Make fewer and smaller layers: merge consecutive RUN steps, "
					   "delete temporary files in the same RUN that makes them, and keep "
					   "large generated files out of the image (multi-stage builds).");
	}
	uint64_t t = ctx_transfer_ns(m);
	if (t >= COST_MIN_NS && (double)t >= COST_SHARE * (double)wall) {
		struct lp_finding *f = lp_model_finding_new(m, LP_FIND_SLOW_TRANSFER, m->context.step);
		double secs = (double)t / 1e9;
		uint64_t bytes = m->context.sent_bytes ? m->context.sent_bytes : m->context.manifest_bytes;
		f->message = lp_xasprintf("sending the build context took %s of the %s build (%s, %.1f MB/s)",
					  fmt_ms(t, b1, sizeof(b1)), fmt_ms(wall, b2, sizeof(b2)),
					  fmt_b(bytes, b3, sizeof(b3)), secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
		lp_finding_add_evidence(f, "%llu files (%s) written into the context snapshot, %llu added, "
					   "%llu changed; context: %llu files, %s",
					(unsigned long long)m->context.sent_files,
					fmt_b(m->context.sent_bytes, b1, sizeof(b1)),
					(unsigned long long)m->context.added_files,
					(unsigned long long)m->context.changed_files,
					(unsigned long long)m->context.files,
					fmt_b(m->context.bytes, b2, sizeof(b2)));
		f->suggestion = lp_xstrdup("Shrink the context with .dockerignore (see context-bloat), or "
					   "build from a smaller directory.");
		for (size_t i = 0; i < m->nfindings; i++)
			if (m->findings[i].kind == LP_FIND_CONTEXT_BLOAT)
				f->savings_ms = m->findings[i].savings_ms;
	}
}

static int finding_rank(const struct lp_finding *f)
{
	switch (f->kind) {
	case LP_FIND_FAILED_STEP: return 0;
	case LP_FIND_SECRET: return 1;
	case LP_FIND_SECRET_IN_LAYER: return 1;
	default: return 2;
	}
}

static int cmp_finding(const void *a, const void *b)
{
	const struct lp_finding *x = a, *y = b;
	int rx = finding_rank(x), ry = finding_rank(y);
	if (rx != ry)
		return rx - ry;
	if (x->savings_ms != y->savings_ms)
		return x->savings_ms < y->savings_ms ? 1 : -1;
	return (int)x->kind - (int)y->kind;
}

void lp_finding_free(struct lp_finding *f)
{
	free(f->message);
	lp_argv_free(f->paths, (int)f->npaths);
	free(f->suggestion);
	lp_argv_free(f->evidence, (int)f->nevidence);
	free(f->edit_before);
	free(f->edit_after);
}

void lp_analyze(struct lp_model *m)
{
	failed_steps(m);
	if (!m->build.steps_inferred) { /* both need BuildKit's cache flags (progress) */
		layer_order(m);
		cache_miss(m);
	}
	context_checks(m);
	costs(m);
	lp_infer_findings(m);
	lp_layer_findings(m);
	/* A finding is a measurement: one without kernel or progress evidence
	 * is not reported (every kind above adds some; this keeps it so). */
	size_t o = 0;
	for (size_t i = 0; i < m->nfindings; i++) {
		if (m->findings[i].nevidence)
			m->findings[o++] = m->findings[i];
		else
			lp_finding_free(&m->findings[i]);
	}
	m->nfindings = o;
	if (m->nfindings > 1)
		qsort(m->findings, m->nfindings, sizeof(struct lp_finding), cmp_finding);
}
