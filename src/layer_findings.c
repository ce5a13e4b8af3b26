// SPDX-License-Identifier: BSD-2-Clause
/*
 * Findings from layer provenance (layer_findings.h). Every figure comes
 * from what pass 2 measured: the versions later steps replaced or removed
 * (lp_model.layer_changes, with the bytes their writes carried), the reads
 * of replacing versions (layer_reads) and the file rows of each step.
 */
#include "layer_findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "model_int.h"
#include "util.h"

/* Bytes a pair of steps must waste to be worth a finding: below it a
 * rewritten config file or a manifest copied twice (COPY package.json,
 * then COPY . .) costs nothing worth an edit. */
#define WASTE_MIN_BYTES   (1u << 20)
/* Files a COPY must write over a RUN's output, outside installed packages,
 * to be a clobbered tree rather than one file deliberately replaced. */
#define CLOBBER_MIN_FILES 10
#define PATHS_SHOWN       20
#define GROUPS_SHOWN      8

/* ------------------------------------------------------ image stages */

/* The --target of the traced command, or NULL (allocated). */
static char *build_target(const struct lp_model *m)
{
	const char *c = m->build.command;
	for (const char *t = c ? strstr(c, "--target") : NULL; t; t = strstr(t + 8, "--target")) {
		const char *v = t + 8;
		if (*v != '=' && *v != ' ')
			continue;
		v += strspn(v, "= ");
		size_t n = strcspn(v, " ");
		if (n)
			return strndup(v, n);
	}
	return NULL;
}

/* The labels of the stages whose layers the image is made of: the target
 * stage (--target, else the last) and the stages it builds on. *all when
 * that cannot be told (no Dockerfile, one stage). */
static void image_stages(const struct lp_model *m, struct lp_strv *out, bool *all)
{
	const struct lp_dockerfile *df = m->build.dockerfile;
	size_t n = df ? lp_dockerfile_stage_count(df) : 0;
	*all = n < 2;
	if (*all)
		return;
	int k = (int)n - 1;
	char *target = build_target(m);
	if (target) {
		int t = lp_dockerfile_stage_index(df, target);
		if (t >= 0)
			k = t;
		free(target);
	}
	for (int guard = 0; k >= 0 && guard < (int)n; guard++) {
		const struct lp_dockerfile_stage *st = lp_dockerfile_stage_at(df, (size_t)k);
		lp_strv_push(out, st->label ? st->label : "");
		k = st->base_stage;
	}
}

static bool in_image(const struct lp_strv *stages, bool all, const char *stage)
{
	return all || lp_strv_has(stages, stage);
}

/* ----------------------------------------------------- pairs of steps */

/* The versions step `from` made that step `to` replaced or removed. */
struct pair {
	int from, to;
	bool cached;            /* from was cached: versions no step of the trace made */
	size_t *ch;             /* indexes in m->layer_changes */
	size_t n, cap;
	size_t over, del, installed;
	uint64_t bytes;
};

/* from: the change's step, or the cached step held to have made it */
static void pair_add(struct pair **pairs, size_t *npairs, struct lp_smap *idx, const struct lp_model *m, size_t c,
		     int from)
{
	const struct lp_layer_change *ch = &m->layer_changes[c];
	char key[32];
	snprintf(key, sizeof(key), "%d>%d", from, ch->to);
	int i = lp_smap_get(idx, key);
	if (i < 0) {
		*pairs = lp_xrealloc(*pairs, (*npairs + 1) * sizeof(**pairs));
		memset(&(*pairs)[*npairs], 0, sizeof(**pairs));
		(*pairs)[*npairs].from = from;
		(*pairs)[*npairs].to = ch->to;
		(*pairs)[*npairs].cached = ch->from < 0;
		i = (int)(*npairs)++;
		lp_smap_put(idx, key, i);
	}
	struct pair *p = &(*pairs)[i];
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->ch = lp_xrealloc(p->ch, p->cap * sizeof(*p->ch));
	}
	p->ch[p->n++] = c;
	p->bytes += ch->bytes;
	if (ch->deleted)
		p->del++;
	else
		p->over++;
	if (lp_path_installed_dir(ch->path))
		p->installed++;
}

/* The directory a changed path is shown under: its installed-packages
 * directory ("/app/node_modules"), else its parent. */
static const char *group_dir(const char *path, char *buf, size_t len)
{
	size_t n = lp_path_installed_dir(path);
	if (!n) {
		const char *sl = strrchr(path, '/');
		n = sl ? (size_t)(sl - path) : 0;
		if (!n)
			n = 1; /* "/" */
	}
	snprintf(buf, len, "%.*s", (int)n, path);
	return buf;
}

struct dirgroup {
	char *dir;
	size_t files, over, del;
	uint64_t bytes;
};

static int cmp_dirgroup(const void *a, const void *b)
{
	const struct dirgroup *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->files != y->files)
		return x->files < y->files ? 1 : -1;
	return strcmp(x->dir, y->dir);
}

/* The pair's changes by directory, most bytes first (*n groups). */
static struct dirgroup *pair_groups(const struct lp_model *m, const struct pair *p, size_t *n)
{
	struct dirgroup *g = NULL;
	struct lp_smap idx = { 0 };
	*n = 0;
	for (size_t k = 0; k < p->n; k++) {
		const struct lp_layer_change *ch = &m->layer_changes[p->ch[k]];
		char buf[4200];
		const char *d = group_dir(ch->path, buf, sizeof(buf));
		int i = lp_smap_get(&idx, d);
		if (i < 0) {
			g = lp_xrealloc(g, (*n + 1) * sizeof(*g));
			memset(&g[*n], 0, sizeof(*g));
			g[*n].dir = lp_xstrdup(d);
			i = (int)(*n)++;
			lp_smap_put(&idx, d, i);
		}
		g[i].files++;
		g[i].bytes += ch->bytes;
		if (ch->deleted)
			g[i].del++;
		else
			g[i].over++;
	}
	lp_smap_free(&idx);
	if (*n > 1)
		qsort(g, *n, sizeof(*g), cmp_dirgroup);
	return g;
}

static void groups_free(struct dirgroup *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].dir);
	free(g);
}

/* Largest versions first, for the paths a finding lists (arg: the model). */
static int cmp_change_bytes(const void *a, const void *b, void *arg)
{
	const struct lp_model *m = arg;
	const struct lp_layer_change *x = &m->layer_changes[*(const size_t *)a];
	const struct lp_layer_change *y = &m->layer_changes[*(const size_t *)b];
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->path, y->path);
}

static void add_paths(struct lp_finding *f, const struct lp_model *m, const struct pair *p, bool only_over)
{
	size_t *v = lp_xcalloc(p->n + 1, sizeof(*v));
	size_t nv = 0;
	for (size_t k = 0; k < p->n; k++)
		if (!only_over || !m->layer_changes[p->ch[k]].deleted)
			v[nv++] = p->ch[k];
	qsort_r(v, nv, sizeof(*v), cmp_change_bytes, (void *)m);
	for (size_t k = 0; k < nv && k < PATHS_SHOWN; k++)
		lp_finding_add_path(f, m->layer_changes[v[k]].path);
	f->npaths_total = nv;
	free(v);
}

/* Files a step wrote under dir (its file rows, container paths): count and
 * bytes, as measured. */
static void written_under(const struct lp_model *m, int step, const char *dir, size_t *files, uint64_t *bytes)
{
	size_t n = 0, dl = strlen(dir);
	const struct lp_file *f = lp_model_step_files(m, step, &n);
	*files = 0;
	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i].space != LP_PATH_CONTAINER || !f[i].written || strncmp(f[i].path, dir, dl) ||
		    (f[i].path[dl] != '/' && dl > 1))
			continue;
		(*files)++;
		*bytes += f[i].wbytes;
	}
}

/* "#9 [4/6] RUN npm ci (line 7)", a long instruction cut to its start
 * (the finding's edit and the step table show it whole) */
static char *step_ref(const struct lp_step *s)
{
	const size_t max = 72;
	size_t n = strlen(s->name);
	const char *dots = "";
	if (n > max) {
		n = max - 3;
		while (n && ((unsigned char)s->name[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
		dots = "...";
	}
	if (s->dockerfile_line)
		return lp_xasprintf("%s %.*s%s (line %d)", s->id, (int)n, s->name, dots, s->dockerfile_line);
	return lp_xasprintf("%s %.*s%s", s->id, (int)n, s->name, dots);
}

/* The context-relative form of a container path a COPY/ADD wrote from the
 * context, cut to its installed-packages directory or its parent; NULL. */
static char *ignore_line(const struct lp_model *m, int copy, const char *cpath)
{
	const struct lp_step *c = &m->steps[copy];
	if (c->copy_from_stage)
		return NULL;
	char buf[4200];
	const char *ctx = lp_copy_ctx_path(m, copy, cpath, buf, sizeof(buf));
	if (!ctx || !*ctx)
		return NULL;
	size_t n = lp_path_installed_dir(ctx);
	if (!n) {
		const char *sl = strrchr(ctx, '/');
		n = sl ? (size_t)(sl - ctx) : strlen(ctx);
	}
	return strndup(ctx, n);
}

/* ------------------------------------------------------ clobbered-files */

/* Does RUN r's command fill dir (as lp_path_installed_dir() ends it): does
 * it name the directory, or run an installer for it (by the tool names)? */
static bool runs_installer_for(const struct lp_step *r, const char *dir)
{
	static const struct { const char *dir, *tools[6]; } map[] = {
		{ "node_modules", { "npm ", "yarn", "pnpm", "bun ", NULL } },
		{ "site-packages", { "pip", "poetry", "uv ", "conda", NULL } },
		{ "dist-packages", { "pip", "apt", "poetry", "uv ", NULL } },
		{ ".venv", { "pip", "poetry", "uv ", "python", NULL } },
		{ "venv", { "pip", "poetry", "uv ", "python", NULL } },
		{ ".tox", { "tox", NULL } },
		{ "vendor", { "composer", "bundle", "go mod", "go ", NULL } },
		{ "target", { "cargo", "mvn", "sbt", "gradle", NULL } },
	};
	const char *name = lp_base_name(dir);
	size_t nl = strlen(name);
	/* the name as a path component ("node_modules/dep", "rm -rf target"),
	 * not a word of something else ("--mount=...,target=/x") */
	for (const char *t = r->args ? strstr(r->args, name) : NULL; t; t = strstr(t + 1, name))
		if ((t == r->args || strchr(" /'\"", t[-1])) && strchr(" /'\";&", t[nl]))
			return true;
	for (size_t i = 0; i < LP_ARRAY_SIZE(map); i++) {
		if (strcmp(name, map[i].dir))
			continue;
		for (size_t k = 0; map[i].tools[k]; k++)
			if (r->args && strstr(r->args, map[i].tools[k]))
				return true;
	}
	return false;
}

/* A COPY/ADD wrote over what a RUN of its stage made: the image's own
 * install (or build) is replaced by outside copies, and later steps use
 * those. True when the finding was made (the pair is then not repeated
 * as wasted-layer-bytes). */
static bool clobbered(struct lp_model *m, const struct pair *p, bool image)
{
	const struct lp_step *a = &m->steps[p->from], *b = &m->steps[p->to];
	if (a->kind != LP_STEPK_RUN || b->kind != LP_STEPK_COPY || !p->over)
		return false;
	size_t inst_over = 0;
	for (size_t k = 0; k < p->n; k++) {
		const struct lp_layer_change *ch = &m->layer_changes[p->ch[k]];
		inst_over += !ch->deleted && lp_path_installed_dir(ch->path);
	}
	if (!inst_over && p->over < CLOBBER_MIN_FILES)
		return false;
	/* the directory most of the overwritten files are in */
	size_t ng;
	struct dirgroup *g = pair_groups(m, p, &ng);
	size_t gi = 0;
	for (size_t i = 1; i < ng; i++)
		if (g[i].over > g[gi].over)
			gi = i;
	const char *dir = g[gi].dir;
	size_t dl = strlen(dir);
	size_t a_files = 0, b_files;
	uint64_t a_bytes = 0, b_bytes;
	if (!p->cached)
		written_under(m, p->from, dir, &a_files, &a_bytes);
	written_under(m, p->to, dir, &b_files, &b_bytes);
	uint64_t over_bytes = 0;
	const char *example = NULL;
	for (size_t k = 0; k < p->n; k++) {
		const struct lp_layer_change *ch = &m->layer_changes[p->ch[k]];
		if (ch->deleted || strncmp(ch->path, dir, dl))
			continue;
		over_bytes += ch->bytes;
		if (!example)
			example = ch->path;
	}
	struct lp_finding *f = lp_model_finding_new(m, LP_FIND_CLOBBERED, p->to);
	char *ar = step_ref(a), *br = step_ref(b);
	char b1[32], b2[32], b3[32];
	f->message = lp_xasprintf("%s wrote %zu file(s) over what %s made in %s: the %s uses the copies %s "
				  "brought (%s), not its own",
				  br, g[gi].over, ar, dir, image ? "image" : "stage", b->id,
				  b->copy_from_stage ? "from another stage" : "from the build context");
	add_paths(f, m, p, true);
	if (p->cached) {
		/* the install was cached: what it made was not seen made, but
		 * the copy removed the files it found there and wrote its own */
		lp_finding_add_evidence(f, "%s was cached: the files it made are in its layer from an earlier "
					   "build, not seen made in this one (%s)",
					ar, runs_installer_for(a, dir) ? "its command fills that directory"
								       : "the only cached RUN of the stage before the COPY");
		lp_finding_add_evidence(f, "%s wrote %zu file(s) (%s) under %s%s: %zu of them over files an earlier "
					   "layer holds (removed and written again; their bytes there are not measured)",
					br, b_files, lp_fmt_bytes(b_bytes, b2, sizeof(b2)), dir,
					b->copy_from_stage ? ", from another stage" : ", from the build context", g[gi].over);
	} else {
		lp_finding_add_evidence(f, "%s wrote %zu file(s) (%s) under %s", ar, a_files,
					lp_fmt_bytes(a_bytes, b1, sizeof(b1)), dir);
		lp_finding_add_evidence(f, "%s wrote %zu file(s) (%s) under %s%s: %zu of them over %s's (whose "
					   "versions, %s, stay unused in its layer)",
					br, b_files, lp_fmt_bytes(b_bytes, b2, sizeof(b2)), dir,
					b->copy_from_stage ? ", from another stage" : ", from the build context", g[gi].over,
					a->id, lp_fmt_bytes(over_bytes, b3, sizeof(b3)));
	}
	if (p->del)
		lp_finding_add_evidence(f, "%s also removed %zu file(s) %s had made", b->id, p->del, a->id);
	/* who used which copy */
	struct lp_smap rd = { 0 };
	struct { int step; size_t n; const char *ex; } *r = NULL;
	size_t nr = 0;
	for (size_t i = 0; i < m->nlayer_reads; i++) {
		const struct lp_layer_read *x = &m->layer_reads[i];
		if (x->copy_of != p->to || x->replaced != (p->cached ? -1 : p->from) || strncmp(x->path, dir, dl))
			continue;
		char key[16];
		snprintf(key, sizeof(key), "%d", x->step);
		int k = lp_smap_get(&rd, key);
		if (k < 0) {
			r = lp_xrealloc(r, (nr + 1) * sizeof(*r));
			r[nr].step = x->step;
			r[nr].n = 0;
			r[nr].ex = x->path;
			k = (int)nr++;
			lp_smap_put(&rd, key, k);
		}
		r[k].n++;
	}
	for (size_t i = 0; i < nr; i++) {
		char *rr = step_ref(&m->steps[r[i].step]);
		lp_finding_add_evidence(f, "%s read %zu of these file(s) in %s's copy, not %s's (e.g. %s)", rr, r[i].n,
					b->id, a->id, r[i].ex);
		free(rr);
	}
	if (!nr)
		lp_finding_add_evidence(f, "no later build step read them; what the container loads at run "
					   "time is not observed");
	free(r);
	lp_smap_free(&rd);
	char *ign = example ? ignore_line(m, p->to, example) : NULL;
	if (ign) {
		f->edit_after = lp_xasprintf("%s\n", ign);
		f->suggestion = lp_xasprintf(
			"Add to .dockerignore:\n%s\nso that %s no longer copies it over what %s made (the "
			"image keeps %s's own, and one copy instead of two); or copy only what the image "
			"needs (COPY src/ ./src/ and the like) instead of the whole context.",
			ign, b->id, a->id, a->id);
	} else {
		f->suggestion = lp_xasprintf("Copy only what the image needs in %s, not %s: it replaces what %s "
					     "made there.",
					     b->id, dir, a->id);
	}
	f->savings_bytes = (int64_t)b_bytes;
	free(ign);
	free(ar);
	free(br);
	groups_free(g, ng);
	return true;
}

/* --------------------------------------------------- wasted-layer-bytes */

static void wasted(struct lp_model *m, const struct pair *p)
{
	const struct lp_step *a = &m->steps[p->from], *b = &m->steps[p->to];
	struct lp_finding *f = lp_model_finding_new(m, LP_FIND_WASTED_LAYER, p->to);
	char *ar = step_ref(a), *br = step_ref(b);
	char b1[32];
	const char *what = p->del && p->over ? "deleted or wrote again" : p->del ? "deleted" : "wrote again";
	f->message = lp_xasprintf("%s made %zu file(s) that %s %s: the image carries %s for nothing in %s's layer", ar,
				  p->n, br, what, lp_fmt_bytes(p->bytes, b1, sizeof(b1)), a->id);
	add_paths(f, m, p, false);
	size_t ng;
	struct dirgroup *g = pair_groups(m, p, &ng);
	for (size_t i = 0; i < ng && i < GROUPS_SHOWN; i++)
		lp_finding_add_evidence(f, "%s/: %zu file(s), %s written by %s; %zu deleted, %zu written again by %s",
					strcmp(g[i].dir, "/") ? g[i].dir : "", g[i].files,
					lp_fmt_bytes(g[i].bytes, b1, sizeof(b1)), a->id, g[i].del, g[i].over, b->id);
	if (ng > GROUPS_SHOWN)
		lp_finding_add_evidence(f, "... and %zu more director%s", ng - GROUPS_SHOWN,
					ng - GROUPS_SHOWN == 1 ? "y" : "ies");
	lp_finding_add_evidence(f, "%s's layer holds %s of files in all (measured writes)", a->id,
				lp_fmt_bytes(a->layer.bytes, b1, sizeof(b1)));
	char *at = lp_finding_instr_text(m, a), *bt = lp_finding_instr_text(m, b);
	f->edit_before = lp_xasprintf("%s\n%s\n", at, bt);
	if (a->kind == LP_STEPK_RUN && b->kind == LP_STEPK_RUN) {
		f->edit_after = lp_xasprintf("RUN %s \\\n && %s\n", a->args, b->args);
		f->suggestion = lp_xasprintf(
			"Make, use and remove these files in one RUN (Dockerfile lines %d and %d), so they "
			"never reach a layer:\n%sor make them in a build stage and COPY --from=<stage> only "
			"the result; downloads and package caches can live in RUN --mount=type=cache,target=... "
			"instead of a layer.",
			a->dockerfile_line, b->dockerfile_line, f->edit_after);
	} else if (a->kind == LP_STEPK_COPY && b->kind == LP_STEPK_RUN) {
		f->suggestion = lp_xasprintf(
			"Do not copy them into a layer: let the RUN of line %d read them through a mount "
			"(RUN --mount=type=bind,source=<path in the context>,target=<path> ...), or use them "
			"in a build stage and COPY --from=<stage> only the result.",
			b->dockerfile_line);
	} else {
		f->suggestion = lp_xasprintf(
			"Make these files once: %s replaces what %s made. Copy only what the image needs, or "
			"stop making them in %s (or do it in a build stage).",
			b->id, a->id, a->id);
	}
	f->savings_bytes = (int64_t)p->bytes;
	free(at);
	free(bt);
	free(ar);
	free(br);
	groups_free(g, ng);
}

/* ----------------------------------------------------- secret-in-layer */

static void secret_in_layer(struct lp_model *m, const struct lp_layer_change *ch)
{
	const struct lp_step *a = &m->steps[ch->from], *b = &m->steps[ch->to];
	struct lp_finding *f = lp_model_finding_new(m, LP_FIND_SECRET_IN_LAYER, ch->from);
	char *ar = step_ref(a), *br = step_ref(b);
	char b1[32];
	f->message = lp_xasprintf("secret-looking file %s, put into the image by %s, was %s by %s, but it "
				  "stays in %s's layer: anyone with the image can read it",
				  ch->path, ar, ch->deleted ? "removed" : "written over", br, a->id);
	lp_finding_add_path(f, ch->path);
	const char *snap = a->snapshot_dir ? lp_base_name(a->snapshot_dir) : NULL;
	lp_finding_add_evidence(f, "%s wrote %s (%s) into its layer%s%s%s", a->id, ch->path,
				lp_fmt_bytes(ch->bytes, b1, sizeof(b1)), snap ? " (snapshot " : "", snap ? snap : "",
				snap ? ")" : "");
	lp_finding_add_evidence(f, "%s %s it: a later layer hides the file, the earlier one keeps its bytes "
				   "(docker save, docker history)",
				b->id, ch->deleted ? "removed" : "wrote over");
	/* a COPY/ADD from the context: the file's own .dockerignore line */
	char *ign = NULL;
	if (a->kind == LP_STEPK_COPY && !a->copy_from_stage) {
		char buf[4200];
		const char *ctx = lp_copy_ctx_path(m, ch->from, ch->path, buf, sizeof(buf));
		if (ctx && *ctx)
			ign = lp_xstrdup(ctx);
	}
	if (ign) {
		f->edit_after = lp_xasprintf("%s\n", ign);
		f->suggestion = lp_xasprintf(
			"Keep it out of every layer: add to .dockerignore:\n%s\nand give it to the step that "
			"needs it with RUN --mount=type=secret,id=<name>,target=%s (docker build --secret "
			"id=<name>,src=<file>). Rotate the secret: images already built contain it.",
			ign, ch->path);
	} else {
		f->suggestion = lp_xasprintf(
			"Keep it out of every layer: give it to the step that needs it with "
			"RUN --mount=type=secret,id=<name>,target=%s (docker build --secret id=<name>,src=<file>), "
			"or make and use it in one RUN. Rotate the secret: images already built contain it.",
			ch->path);
	}
	free(ign);
	free(ar);
	free(br);
}

/* For a version no step of the trace made that a COPY/ADD wrote over in
 * installed packages: the cached RUN of the COPY's stage that made it in an
 * earlier build (its layer holds it): the one whose command fills that
 * directory (runs_installer_for), else the only cached RUN before the COPY;
 * -1 when none or no telling. */
static int cached_installer(const struct lp_model *m, const struct lp_layer_change *ch)
{
	const struct lp_step *b = &m->steps[ch->to];
	size_t n = b->kind == LP_STEPK_COPY ? lp_path_installed_dir(ch->path) : 0;
	if (!n)
		return -1;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%.*s", (int)n, ch->path);
	int only = -1, runs = 0, tool = -1, tools = 0;
	for (int i = ch->to - 1; i >= 0; i--) {
		const struct lp_step *r = &m->steps[i];
		if (r->kind != LP_STEPK_RUN || !r->cached || strcmp(r->stage, b->stage) ||
		    (b->stage_step && r->stage_step >= b->stage_step))
			continue;
		only = i;
		runs++;
		if (runs_installer_for(r, dir)) {
			tool = i;
			tools++;
		}
	}
	if (tools == 1)
		return tool;
	return runs == 1 ? only : -1;
}

void lp_layer_findings(struct lp_model *m)
{
	if (!m->nlayer_changes)
		return;
	struct lp_strv stages = { 0 };
	bool all;
	image_stages(m, &stages, &all);
	struct pair *pairs = NULL;
	size_t npairs = 0;
	struct lp_smap idx = { 0 };
	for (size_t c = 0; c < m->nlayer_changes; c++) {
		const struct lp_layer_change *ch = &m->layer_changes[c];
		if (ch->to < 0 || (size_t)ch->to >= m->nsteps || (ch->from >= 0 && (size_t)ch->from >= m->nsteps))
			continue;
		if (ch->link)
			continue; /* no file data to waste or to clobber */
		if (ch->from < 0) {
			/* a version no step of the trace made: a COPY over an
			 * installer's output that a cached RUN made (clobbered-files
			 * only: its bytes are not known) */
			int run = ch->deleted ? -1 : cached_installer(m, ch);
			if (run >= 0)
				pair_add(&pairs, &npairs, &idx, m, c, run);
			continue;
		}
		pair_add(&pairs, &npairs, &idx, m, c, ch->from);
		if (lp_path_is_secret(ch->path) && in_image(&stages, all, ch->stage))
			secret_in_layer(m, ch);
	}
	for (size_t i = 0; i < npairs; i++) {
		const struct pair *p = &pairs[i];
		bool image = in_image(&stages, all, m->steps[p->to].stage);
		if (clobbered(m, p, image) || p->cached)
			continue; /* one finding per cause: its bytes are in it */
		if (image && p->bytes >= WASTE_MIN_BYTES)
			wasted(m, p);
	}
	for (size_t i = 0; i < npairs; i++)
		free(pairs[i].ch);
	free(pairs);
	lp_smap_free(&idx);
	lp_strv_free(&stages);
}
