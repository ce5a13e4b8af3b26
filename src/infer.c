/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Attach mode: build steps from kernel evidence alone (see infer.h).
 *
 * One extra pass over the trace (only when the progress stream gave no
 * step) collects what the build daemon wrote: files and directories made
 * through a snapshot's merged/ mount (COPY, WORKDIR), files written straight
 * into a snapshot's diff/ (the context, Dockerfile and .dockerignore
 * transfers), the source each COPY destination was copied from, and the
 * export's layer tar reads and layerdb/imagedb writes. RUN steps come from
 * the process table the model already has.
 */
#include "infer.h"
#include "model_int.h"
#include "model_pass.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"
#include "util.h"

#define SEC               1000000000ull
#define BURST_GAP_NS      (5 * SEC)     /* a reused snapshot written again later: another transfer */
#define PAIR_NS           SEC           /* source open -> destination create, same thread */
#define EXPORT_START_NS   (5 * SEC)     /* export activity must begin this soon after the last step */
#define EXPORT_GAP_NS     (5 * SEC)
#define MAX_PATHS         100000        /* per snapshot */
#define MAX_PAIRS         100000
#define MAX_SRC_ENTRIES   64            /* COPY sources listed one by one */
#define SRC_SLOTS         1024

/* ------------------------------------------------------------ evidence */

struct pair {
	char *src_snap;         /* snapshot dir the source was read from */
	char *src_rel;          /* path inside it */
	char *dst;              /* container path written ("/app/src/a.js") */
};

struct burst {                  /* writes straight into diff/, close in time */
	uint64_t first, last;
	struct lp_smap files;   /* rel paths of files (not .tmp names) */
	uint64_t writes;
};

struct wsnap {
	char *dir;              /* "<root>/overlay2/<id>" */
	uint32_t writer;        /* daemon root that wrote it first */
	/* through merged/ */
	uint64_t m_first, m_last, m_writes;
	struct lp_smap m_files; /* container paths of files made */
	struct lp_smap m_dirs;  /* container paths of directories made */
	struct pair *pairs;
	size_t npairs, pairs_cap;
	/* straight into diff/ */
	struct burst *bursts;
	size_t nbursts;
};

struct src_slot {               /* the last snapshot file a daemon thread opened to read */
	uint32_t tid;
	uint64_t ts;
	char *snap, *rel;
};

struct xev {                    /* export activity */
	uint64_t ts;
	uint32_t root;
	bool write;             /* layerdb/imagedb write (else a layer tar read) */
};

struct scan {
	struct lp_model *m;
	struct lp_resolver *res;
	struct lp_smap snap_idx;
	struct wsnap *snaps;
	size_t nsnaps, snaps_cap;
	struct src_slot slots[SRC_SLOTS];
	struct xev *xevs;
	size_t nxevs, xevs_cap;
};

static struct wsnap *wsnap_get(struct scan *sc, const char *path, size_t dl, uint32_t writer)
{
	char *dir = strndup(path, dl);
	if (!dir)
		return NULL;
	int i = lp_smap_get(&sc->snap_idx, dir);
	if (i < 0) {
		if (sc->nsnaps == sc->snaps_cap) {
			sc->snaps_cap = sc->snaps_cap ? sc->snaps_cap * 2 : 16;
			sc->snaps = lp_xrealloc(sc->snaps, sc->snaps_cap * sizeof(*sc->snaps));
		}
		i = (int)sc->nsnaps++;
		memset(&sc->snaps[i], 0, sizeof(sc->snaps[i]));
		sc->snaps[i].dir = lp_xstrdup(dir);
		sc->snaps[i].writer = writer;
		lp_smap_put(&sc->snap_idx, dir, i);
	}
	free(dir);
	return &sc->snaps[i];
}

static void note_export(struct scan *sc, uint64_t ts, uint32_t root, bool write)
{
	if (sc->nxevs == sc->xevs_cap) {
		sc->xevs_cap = sc->xevs_cap ? sc->xevs_cap * 2 : 256;
		sc->xevs = lp_xrealloc(sc->xevs, sc->xevs_cap * sizeof(*sc->xevs));
	}
	sc->xevs[sc->nxevs++] = (struct xev){ .ts = ts, .root = root, .write = write };
}

static void diff_write(struct wsnap *w, const char *rel, bool file, uint64_t ts)
{
	struct burst *b = w->nbursts ? &w->bursts[w->nbursts - 1] : NULL;
	if (!b || ts > b->last + BURST_GAP_NS) {
		w->bursts = lp_xrealloc(w->bursts, (w->nbursts + 1) * sizeof(*w->bursts));
		b = &w->bursts[w->nbursts++];
		memset(b, 0, sizeof(*b));
		b->first = ts;
	}
	if (ts < b->first)
		b->first = ts;
	if (ts > b->last)
		b->last = ts;
	b->writes++;
	if (file && *rel && !lp_is_transfer_tmp_name(rel) && b->files.n < MAX_PATHS && lp_smap_get(&b->files, rel) < 0)
		lp_smap_put(&b->files, rel, 1);
}

static void merged_write(struct scan *sc, struct wsnap *w, const struct lp_hdr *h, const char *rel,
			 int what /* 0 write, 1 file made, 2 dir made */)
{
	if (!w->m_writes || h->ts < w->m_first)
		w->m_first = h->ts;
	if (h->ts > w->m_last)
		w->m_last = h->ts;
	w->m_writes++;
	if (what == 0 || !*rel)
		return;
	char cpath[4200];
	snprintf(cpath, sizeof(cpath), "/%s", rel);
	struct lp_smap *set = what == 1 ? &w->m_files : &w->m_dirs;
	if (set->n < MAX_PATHS && lp_smap_get(set, cpath) < 0)
		lp_smap_put(set, cpath, 1);
	if (what != 1)
		return;
	/* the source: the last snapshot file this thread opened to read */
	struct src_slot *s = &sc->slots[h->tid % SRC_SLOTS];
	if (s->tid != h->tid || !s->rel || h->ts - s->ts > PAIR_NS || h->ts < s->ts ||
	    strcmp(lp_base_name(s->rel), lp_base_name(rel)) || w->npairs >= MAX_PAIRS)
		return;
	if (w->npairs == w->pairs_cap) {
		w->pairs_cap = w->pairs_cap ? w->pairs_cap * 2 : 16;
		w->pairs = lp_xrealloc(w->pairs, w->pairs_cap * sizeof(*w->pairs));
	}
	w->pairs[w->npairs++] = (struct pair){ .src_snap = lp_xstrdup(s->snap), .src_rel = lp_xstrdup(s->rel),
					       .dst = lp_xstrdup(cpath) };
	free(s->rel);
	s->rel = NULL;
}

static void scan_syscall(struct scan *sc, const struct lp_proc *p, const struct lp_ev_syscall *ev)
{
	const struct lp_hdr *h = &ev->h;
	if (ev->ret < 0)
		return;
	unsigned s = h->aux;
	if (s == LP_SC_MOUNT) {
		lp_pass1_note_mount(sc->m, sc->res, ev);
		return;
	}
	int idx = -1, what = 0; /* what: 0 write, 1 file made, 2 dir made, 3 read */
	if (lp_sc_opens_path(s)) {
		if (s == LP_SC_OPENAT2)
			return;
		uint64_t fl = s == LP_SC_OPEN ? ev->args[1] : s == LP_SC_CREAT ? (O_CREAT | O_WRONLY) : ev->args[2];
		idx = 0;
		if ((fl & O_ACCMODE) != O_RDONLY || (fl & (O_CREAT | O_TRUNC)))
			what = (fl & O_CREAT) ? 1 : 0;
		else
			what = 3;
	} else if (s == LP_SC_MKDIR || s == LP_SC_MKDIRAT) {
		idx = 0;
		what = 2;
	} else if (s == LP_SC_RENAME || s == LP_SC_RENAMEAT || s == LP_SC_RENAMEAT2 || s == LP_SC_LINK ||
		   s == LP_SC_LINKAT || s == LP_SC_SYMLINK || s == LP_SC_SYMLINKAT) {
		idx = ev->nstr > 1 ? 1 : 0;
		what = 1;
	} else {
		return;
	}
	char pb[4096], tb[4096];
	const char *path = lp_resolve_path(sc->res, ev, idx, pb, sizeof(pb));
	if (!path || path[0] != '/')
		return;
	const char *seen = path;
	path = lp_model_translate(sc->m, path, tb, sizeof(tb));
	uint32_t root = lp_model_daemon_root(sc->m, p);
	size_t dl;
	const char *rel;
	enum lp_snap_part part = lp_snap_split(path, &dl, &rel);
	/* A write through a temporary mount is a write through an overlay (the
	 * bind mounts are read-only): a COPY into a snapshot with parents, as
	 * through overlay2's merged/ (containerd snapshotter, BuildKit's OCI
	 * worker), not a transfer into a parentless one. */
	if (what != 3 && path != seen && part == LP_SNAP_FS)
		part = LP_SNAP_MERGED;
	if (what == 3) {
		/* a read: a COPY source, or the export tarring a layer */
		if (part != LP_SNAP_DIFF && part != LP_SNAP_FS)
			return;
		if (*rel) {
			struct src_slot *sl = &sc->slots[h->tid % SRC_SLOTS];
			free(sl->snap);
			free(sl->rel);
			sl->tid = h->tid;
			sl->ts = h->ts;
			sl->snap = strndup(path, dl);
			sl->rel = lp_xstrdup(rel);
		}
		note_export(sc, h->ts, root, false);
		return;
	}
	if (part == LP_SNAP_MERGED) {
		struct wsnap *w = wsnap_get(sc, path, dl, root);
		if (w)
			merged_write(sc, w, h, rel, what);
	} else if (part == LP_SNAP_DIFF || part == LP_SNAP_FS) {
		struct wsnap *w = *rel ? wsnap_get(sc, path, dl, root) : NULL;
		if (w)
			diff_write(w, rel, what == 1, h->ts);
	} else if (part == LP_SNAP_NONE && lp_is_image_store_path(path)) {
		note_export(sc, h->ts, root, true);
	}
}

static void scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->nsnaps; i++) {
		struct wsnap *w = &sc->snaps[i];
		free(w->dir);
		lp_smap_free(&w->m_files);
		lp_smap_free(&w->m_dirs);
		for (size_t k = 0; k < w->npairs; k++) {
			free(w->pairs[k].src_snap);
			free(w->pairs[k].src_rel);
			free(w->pairs[k].dst);
		}
		free(w->pairs);
		for (size_t k = 0; k < w->nbursts; k++)
			lp_smap_free(&w->bursts[k].files);
		free(w->bursts);
	}
	free(sc->snaps);
	lp_smap_free(&sc->snap_idx);
	for (size_t i = 0; i < SRC_SLOTS; i++) {
		free(sc->slots[i].snap);
		free(sc->slots[i].rel);
	}
	free(sc->xevs);
}

/* ------------------------------------------------------------ candidates */

struct cand {
	enum lp_step_kind kind;
	char *name, *instruction, *args;
	uint64_t start, end;
	enum lp_step_status status;
	char *error;
	const char *snap_dir;   /* COPY/WORKDIR/context: the snapshot (owned by the scan) */
	bool dockerfile_step;   /* RUN, COPY, WORKDIR: numbered i/n */
	uint32_t root;
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

static struct cand *cand_new(struct cands *c, enum lp_step_kind kind, uint32_t root)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = lp_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	struct cand *x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->root = root;
	x->status = LP_STEP_DONE;
	return x;
}


static const char *bundle_of(const struct lp_proc *p)
{
	bool run;
	const char *bundle = lp_proc_runc_bundle(p, &run);
	if (!run || !bundle || !lp_executor_at(bundle) || lp_role_of_proc(p) != LP_ROLE_RUNC)
		return NULL;
	return bundle;
}

/* RUN: one per `runc run --bundle .../buildkit/executor/<id>`. t0: the
 * first record of the trace (a runc already running when it began). */
static void infer_runs(struct lp_model *m, struct cands *c, uint64_t t0)
{
	struct lp_priv *pv = lp_priv(m);
	size_t n = m->nprocs;
	int *root = lp_xmalloc((n + 1) * sizeof(int));
	int *first = lp_xmalloc((n + 1) * sizeof(int));     /* per root: its container's first exec */
	int *any = lp_xmalloc((n + 1) * sizeof(int));       /* ... or first process with an argv */
	uint64_t *last_end = lp_xcalloc(n + 1, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		const struct lp_proc *p = &m->procs[i];
		root[i] = first[i] = any[i] = -1;
		if (bundle_of(p)) {
			root[i] = (int)i;
			continue;
		}
		if (p->parent >= 0 && p->parent < (int)i && root[p->parent] >= 0)
			root[i] = root[p->parent];
	}
	for (size_t j = 0; j < n; j++) {
		int r = root[j];
		if (r < 0 || r == (int)j)
			continue;
		const struct lp_proc *p = &m->procs[j];
		if (p->end_ns > last_end[r])
			last_end[r] = p->end_ns;
		enum lp_role role = lp_role_of_proc(p);
		if (role == LP_ROLE_RUNC || role == LP_ROLE_DAEMON)
			continue;
		/* the container's first process (runc:[2:INIT] exec'ing the
		 * `/bin/sh -c`) names the step: the first made (procs are in fork
		 * order) that exec'd. Not the earliest exec_ns: that is a
		 * process's LAST exec, and busybox sh execs the last command of
		 * an && chain itself. */
		if (pv->first_cmd[j] && first[r] < 0)
			first[r] = (int)j;
		if (p->argc && any[r] < 0)
			any[r] = (int)j;
	}
	for (size_t i = 0; i < n; i++) {
		if (root[i] != (int)i)
			continue;
		const struct lp_proc *r = &m->procs[i];
		struct cand *x = cand_new(c, LP_STEPK_RUN, lp_model_daemon_root(m, r));
		x->dockerfile_step = true;
		x->start = r->start_ns ? r->start_ns : r->exec_ns ? r->exec_ns : t0;
		x->end = r->exited ? r->end_ns : last_end[i];
		const struct lp_proc *sh = first[i] >= 0 ? &m->procs[first[i]] : any[i] >= 0 ? &m->procs[any[i]] : NULL;
		char *text = NULL;
		if (sh && pv->first_cmd[sh->index]) {
			text = lp_collapse_ws(pv->first_cmd[sh->index], strlen(pv->first_cmd[sh->index]));
		} else if (sh) {
			char *t = lp_argv_cmd_text(sh->argv, sh->argc);
			text = lp_collapse_ws(t, strlen(t));
			free(t);
		}
		x->instruction = lp_xstrdup("RUN");
		x->args = text ? text : lp_xstrdup("");
		x->name = text ? lp_xasprintf("RUN %s", text) : lp_xstrdup("RUN (its command was not seen)");
		/* done or error: the container's first process's exit status (runc
		 * run exits with it too) */
		const struct lp_proc *who = sh && sh->exited ? sh : r->exited ? r : NULL;
		if (!who) {
			x->status = LP_STEP_UNKNOWN;
		} else if (who->exit_code) {
			x->status = LP_STEP_ERROR;
			int code = who->exit_code;
			const char *sig = (who->exit_raw & 0x7f) ? lp_signal_name((int)(who->exit_raw & 0x7f)) : NULL;
			if (sig)
				x->error = lp_xasprintf("the command was killed by %s (%s pid %u, kernel exit event)", sig,
							who == sh ? "container process" : "runc", who->pid);
			else
				x->error = lp_xasprintf("exit code: %d (%s pid %u, kernel exit event)", code,
							who == sh ? "container process" : "runc", who->pid);
		}
	}
	free(root);
	free(first);
	free(any);
	free(last_end);
}

/* Common directory of container paths ("/app" for /app/a, /app/src/b). */
static void common_dir(struct lp_smap *set, bool parents, char *out, size_t len)
{
	out[0] = 0;
	bool any = false;
	for (size_t i = 0; i < set->n; i++) {
		char d[4200];
		snprintf(d, sizeof(d), "%s", set->ents[i].key);
		if (parents) {
			char *sl = strrchr(d, '/');
			if (sl)
				*sl = 0;
		}
		if (!any) {
			snprintf(out, len, "%s", d);
			any = true;
			continue;
		}
		size_t k = 0;
		while (out[k] && d[k] && out[k] == d[k])
			k++;
		if (!(out[k] == 0 && (d[k] == '/' || d[k] == 0)) && !(d[k] == 0 && out[k] == '/')) {
			while (k > 0 && out[k - 1] != '/')
				k--;
			if (k > 0)
				k--; /* the slash itself */
		}
		out[k] = 0;
	}
	if (!out[0])
		snprintf(out, len, "/");
}

/* Is the set of dirs one chain (/a, /a/b, /a/b/c)? *deepest gets the last. */
static bool one_chain(struct lp_smap *dirs, const char **deepest)
{
	const char *d = NULL;
	for (size_t i = 0; i < dirs->n; i++)
		if (!d || strlen(dirs->ents[i].key) > strlen(d))
			d = dirs->ents[i].key;
	if (!d)
		return false;
	for (size_t i = 0; i < dirs->n; i++) {
		const char *x = dirs->ents[i].key;
		size_t n = strlen(x);
		if (strncmp(d, x, n) || (d[n] != '/' && d[n] != 0))
			return false;
	}
	*deepest = d;
	return true;
}

static size_t split_comps(char *s, char **v, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, "/", &save); t && n < max; t = strtok_r(NULL, "/", &save))
		v[n++] = t;
	return n;
}

static bool push_uniq(struct lp_strv *v, const char *s)
{
	if (lp_strv_has(v, s))
		return false;
	lp_strv_push(v, s);
	return true;
}

/*
 * The COPY's sources as an argument list parse_copy() understands, from the
 * (source, destination) pairs the daemon's reads and creates gave: each pair
 * says "context path S went to container path D"; their common trailing
 * components are the copied name, what is left the source dir and the
 * destination dir. NULL when the pairs do not say it (no pair, sources not
 * from the context snapshot, several destination dirs).
 */
static char *copy_args(const struct wsnap *w, const char *ctx_dir)
{
	if (!w->npairs || !ctx_dir)
		return NULL;
	char dst_dir[4200] = "";
	bool have_dst = false;
	struct lp_strv files = { 0 }, dirs = { 0 };
	bool ok = true;
	for (size_t i = 0; i < w->npairs && ok; i++) {
		const struct pair *pr = &w->pairs[i];
		if (strcmp(pr->src_snap, ctx_dir)) {
			ok = false;
			break;
		}
		char sbuf[4200], dbuf[4200];
		snprintf(sbuf, sizeof(sbuf), "%s", pr->src_rel);
		snprintf(dbuf, sizeof(dbuf), "%s", pr->dst);
		char *sv[256], *dv[256];
		size_t ns = split_comps(sbuf, sv, 256), nd = split_comps(dbuf, dv, 256);
		size_t k = 0;
		while (k < ns && k < nd && !strcmp(sv[ns - 1 - k], dv[nd - 1 - k]))
			k++;
		if (!k) {
			ok = false;
			break;
		}
		struct lp_buf sp = { 0 }, dp = { 0 };
		for (size_t j = 0; j + k < ns; j++)
			lp_buf_printf(&sp, "%s%s", j ? "/" : "", sv[j]);
		for (size_t j = 0; j + k < nd; j++)
			lp_buf_printf(&dp, "/%s", dv[j]);
		const char *d = dp.data ? dp.data : "/";
		if (!have_dst) {
			snprintf(dst_dir, sizeof(dst_dir), "%s", d);
			have_dst = true;
		} else if (strcmp(dst_dir, d)) {
			ok = false;
		}
		/* a copied file at the top of the source dir: name it; deeper:
		 * the source dir itself (COPY copies a dir's contents) */
		if (k == 1)
			push_uniq(&files, pr->src_rel);
		else
			push_uniq(&dirs, sp.data ? sp.data : ".");
		lp_buf_free(&sp);
		lp_buf_free(&dp);
	}
	char *out = NULL;
	if (ok && have_dst) {
		struct lp_buf b = { 0 };
		bool bracket = false;
		if (files.n + dirs.n > MAX_SRC_ENTRIES) {
			/* too many to list: their dirs */
			for (size_t i = 0; i < files.n; i++) {
				char d[4200];
				snprintf(d, sizeof(d), "%s", files.v[i]);
				char *sl = strrchr(d, '/');
				push_uniq(&dirs, sl ? (*sl = 0, d) : ".");
			}
			lp_strv_free(&files);
		}
		if (lp_strv_has(&dirs, ".")) {
			lp_strv_free(&files); /* the whole context covers them */
			lp_strv_free(&dirs);
			lp_strv_push(&dirs, ".");
		}
		for (size_t i = 0; i < files.n; i++)
			bracket |= strchr(files.v[i], ' ') || strchr(files.v[i], ',');
		for (size_t i = 0; i < dirs.n; i++)
			bracket |= strchr(dirs.v[i], ' ') || strchr(dirs.v[i], ',');
		bracket |= strchr(dst_dir, ' ') != NULL;
		const char *sep = bracket ? ", " : " ";
		if (bracket)
			lp_buf_puts(&b, "[");
		for (size_t i = 0; i < dirs.n; i++)
			lp_buf_printf(&b, "%s%s", dirs.v[i], sep);
		for (size_t i = 0; i < files.n; i++)
			lp_buf_printf(&b, "%s%s", files.v[i], sep);
		lp_buf_printf(&b, "%s%s%s", dst_dir, strcmp(dst_dir, "/") ? "/" : "", bracket ? "]" : "");
		out = b.data;
	}
	lp_strv_free(&files);
	lp_strv_free(&dirs);
	return out;
}

enum diff_kind { DK_CONTEXT, DK_DOCKERFILE, DK_DOCKERIGNORE };

/* What a burst of writes straight into a parentless snapshot was. */
static enum diff_kind diff_kind(const struct burst *b)
{
	if (b->files.n == 0 || b->files.n > 4)
		return DK_CONTEXT;
	enum diff_kind k = DK_CONTEXT;
	for (size_t i = 0; i < b->files.n; i++) {
		const char *n = lp_base_name(b->files.ents[i].key);
		if (strstr(n, ".dockerignore"))
			k = DK_DOCKERIGNORE;
		else if (strstr(n, "Dockerfile") || strstr(n, "dockerfile"))
			k = k == DK_CONTEXT ? DK_DOCKERFILE : k;
		else
			return DK_CONTEXT;
	}
	return k;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static int cmp_xev(const void *a, const void *b)
{
	const struct xev *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* ------------------------------------------------------------------ main */

size_t lp_infer_steps(struct lp_model *m, struct lp_reader *r)
{
	struct lp_priv *pv = lp_priv(m);
	if (m->nsteps || !pv)
		return 0;
	struct scan sc = { .m = m };
	if (lp_reader_rewind(r) < 0)
		return 0;
	sc.res = lp_resolver_new();
	/* the bind mounts are noted again as they come, in trace order */
	lp_model_reset_mounts(m);
	uint8_t *dcache = lp_xcalloc(m->nprocs + 1, 1); /* per proc: 1 daemon, 2 not */
	const struct lp_hdr *h;
	uint64_t t0 = 0;
	while (lp_reader_next(r, &h) == 1) {
		if (!lp_ev_valid(h))
			continue;
		if (h->ts && (!t0 || h->ts < t0))
			t0 = h->ts;
		if (h->kind == LP_EV_SYSCALL || h->kind == LP_EV_FD_IO) {
			/* only the daemons' own paths matter here: the resolver
			 * need not follow anyone else's fds and cwd */
			const struct lp_proc *p = lp_model_proc_at(m, h->tgid, h->ts);
			if (!p)
				continue;
			if (!dcache[p->index]) /* roles do not change any more: cache them */
				dcache[p->index] = lp_model_is_daemonish(m, p) ? 1 : 2;
			if (dcache[p->index] != 1)
				continue;
			if (h->kind == LP_EV_SYSCALL)
				scan_syscall(&sc, p, (const void *)h);
		}
		lp_resolver_feed(sc.res, h);
	}
	lp_resolver_free(sc.res);
	sc.res = NULL;
	free(dcache);

	struct cands c = { 0 };
	infer_runs(m, &c, t0);
	for (size_t i = 0; i < sc.nsnaps; i++) {
		struct wsnap *w = &sc.snaps[i];
		if (w->m_files.n || w->m_dirs.n) {
			const char *deep = NULL;
			struct cand *x;
			if (!w->m_files.n && one_chain(&w->m_dirs, &deep)) {
				x = cand_new(&c, LP_STEPK_OTHER, w->writer);
				x->instruction = lp_xstrdup("WORKDIR");
				x->args = lp_xstrdup(deep);
				x->name = lp_xasprintf("WORKDIR %s", deep);
			} else {
				char dst[4200];
				common_dir(w->m_files.n ? &w->m_files : &w->m_dirs, true, dst, sizeof(dst));
				x = cand_new(&c, LP_STEPK_COPY, w->writer);
				x->instruction = lp_xstrdup("COPY");
				x->name = lp_xasprintf("COPY -> %s", dst);
				/* args: filled once the context snapshot is known */
				x->args = lp_xasprintf("%s", dst);
			}
			x->dockerfile_step = true;
			x->start = w->m_first;
			x->end = w->m_last;
			x->snap_dir = w->dir;
			continue;
		}
		for (size_t k = 0; k < w->nbursts; k++) {
			const struct burst *b = &w->bursts[k];
			enum diff_kind dk = diff_kind(b);
			if (dk == DK_CONTEXT && !b->files.n)
				continue;
			struct cand *x = cand_new(&c, dk == DK_CONTEXT ? LP_STEPK_LOAD_CONTEXT
						      : dk == DK_DOCKERFILE ? LP_STEPK_LOAD_DOCKERFILE
									    : LP_STEPK_LOAD_DOCKERIGNORE,
						  w->writer);
			x->name = lp_xstrdup(dk == DK_CONTEXT ? "[internal] load build context"
					     : dk == DK_DOCKERFILE ? "[internal] load build definition from Dockerfile"
								   : "[internal] load .dockerignore");
			x->start = b->first;
			x->end = b->last;
			x->snap_dir = w->dir;
		}
	}
	/* the build's daemon: the one that did most of this work */
	uint32_t best = 0;
	size_t best_n = 0;
	for (size_t i = 0; i < c.n; i++) {
		uint32_t d = c.v[i].root;
		if (!d)
			continue;
		size_t k = 0;
		for (size_t j = 0; j < c.n; j++)
			k += c.v[j].root == d;
		if (k > best_n || (k == best_n && d < best)) {
			best_n = k;
			best = d;
		}
	}
	if (best && !pv->daemon_known) {
		pv->daemon_pid = best;
		pv->daemon_known = true;
	}
	/* keep that daemon's steps; sort by start */
	size_t keep = 0;
	for (size_t i = 0; i < c.n; i++) {
		struct cand *x = &c.v[i];
		bool mine = !pv->daemon_known || !x->root || x->root == pv->daemon_pid;
		if (mine && x->start) {
			c.v[keep++] = *x;
			continue;
		}
		free(x->name);
		free(x->instruction);
		free(x->args);
		free(x->error);
	}
	c.n = keep;
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_cand);
	/* the context snapshot: the first transfer's */
	const char *ctx_dir = NULL;
	for (size_t i = 0; i < c.n && !ctx_dir; i++)
		if (c.v[i].kind == LP_STEPK_LOAD_CONTEXT)
			ctx_dir = c.v[i].snap_dir;
	size_t ctx_known = 0; /* context files made known by COPY reads */
	for (size_t i = 0; i < c.n; i++) {
		struct cand *x = &c.v[i];
		if (x->kind != LP_STEPK_COPY)
			continue;
		const struct wsnap *w = &sc.snaps[lp_smap_get(&sc.snap_idx, x->snap_dir)];
		char *a = copy_args(w, ctx_dir);
		if (a) {
			/* what the COPY read from the context snapshot is in the
			 * context, sent in this build or not: RUN reads of the
			 * copies map back to these files */
			for (size_t k = 0; k < w->npairs; k++)
				if (!lp_model_ctx_get(m, w->pairs[k].src_rel, false)) {
					lp_model_ctx_get(m, w->pairs[k].src_rel, true);
					ctx_known++;
				}
		} else {
			/* the sources are not context files we saw sent: say so
			 * (no context attribution for this COPY) */
			a = lp_xasprintf("--from=unknown / %s%s", x->args, strcmp(x->args, "/") ? "/" : "");
		}
		free(x->args);
		x->args = a;
	}
	/* export: layer tar reads and layerdb/imagedb writes right after the
	 * last step */
	uint64_t last = 0;
	for (size_t i = 0; i < c.n; i++) {
		uint64_t e = c.v[i].end > c.v[i].start ? c.v[i].end : c.v[i].start;
		if (e > last)
			last = e;
	}
	if (c.n && sc.nxevs) {
		qsort(sc.xevs, sc.nxevs, sizeof(*sc.xevs), cmp_xev);
		uint64_t prev = 0, end = 0;
		bool started = false;
		for (size_t i = 0; i < sc.nxevs; i++) {
			const struct xev *e = &sc.xevs[i];
			if (e->ts < last || (pv->daemon_known && e->root && e->root != pv->daemon_pid))
				continue;
			if (!started) {
				if (e->ts > last + EXPORT_START_NS)
					break;
				started = true;
			} else if (e->ts > prev + EXPORT_GAP_NS) {
				break;
			}
			prev = e->ts;
			if (e->write)
				end = e->ts;
		}
		if (end) {
			struct cand *x = cand_new(&c, LP_STEPK_EXPORT, pv->daemon_pid);
			x->name = lp_xstrdup("exporting to image");
			x->start = last;
			x->end = end;
		}
	}
	/* the steps, #1.. in start order */
	size_t ndf = 0, idf = 0;
	for (size_t i = 0; i < c.n; i++)
		ndf += c.v[i].dockerfile_step;
	for (size_t i = 0; i < c.n; i++) {
		struct cand *x = &c.v[i];
		struct lp_step *s = lp_model_step_new(m, (int)i + 1, x->name, x->start);
		s->inferred = true;
		s->end_ns = x->end;
		s->status = x->status;
		s->error = x->error;
		x->error = NULL;
		s->cacheable = false; /* a cache hit leaves no evidence: unknown */
		if (x->instruction) {
			free(s->instruction);
			s->instruction = x->instruction;
			x->instruction = NULL;
			free(s->args);
			s->args = x->args ? x->args : lp_xstrdup("");
			x->args = NULL;
			s->kind = x->kind;
		}
		if (x->dockerfile_step) {
			s->stage_step = (int)++idf;
			s->stage_steps = (int)ndf;
		}
		if ((x->kind == LP_STEPK_COPY || x->kind == LP_STEPK_OTHER) && x->snap_dir) {
			int k = lp_smap_get(&pv->snap_idx, x->snap_dir);
			s->snapshot_dir = lp_xstrdup(x->snap_dir);
			if (k >= 0)
				pv->snaps[k].step = s->index;
		}
		if (x->kind == LP_STEPK_LOAD_CONTEXT && x->snap_dir == ctx_dir && pv->ctx_snap < 0) {
			int k = lp_smap_get(&pv->snap_idx, x->snap_dir);
			if (k >= 0) {
				pv->ctx_snap = k;
				/* correlate picks it by the context files it holds */
				pv->snaps[k].ctx_matches += ctx_known;
			}
		}
		free(x->name);
		free(x->instruction);
		free(x->args);
	}
	size_t added = c.n;
	if (added)
		m->build.steps_inferred = true;
	free(c.v);
	scan_free(&sc);
	return added;
}

/* ------------------------------------------------------------- findings */

void lp_infer_findings(struct lp_model *m)
{
	if (!m->build.steps_inferred)
		return;
	for (size_t i = 0; i < m->nfindings; i++) {
		struct lp_finding *f = &m->findings[i];
		if (f->step < 0 || !m->steps[f->step].inferred)
			continue;
		const struct lp_step *s = &m->steps[f->step];
		if (s->kind == LP_STEPK_RUN && s->container_id)
			lp_finding_add_evidence(f, "step inferred from kernel evidence (attach mode): runc run of "
						   "container %s; no BuildKit progress stream, so its output is not in "
						   "the trace",
						s->container_id);
		else
			lp_finding_add_evidence(f, "step inferred from kernel evidence (attach mode): no BuildKit "
						   "progress stream in this trace");
		if (f->kind == LP_FIND_FAILED_STEP && !s->dockerfile_line && s->kind == LP_STEPK_RUN) {
			free(f->suggestion);
			f->suggestion = lp_xasprintf(
				"Fix the RUN instruction `%s` (its command exited non-zero); rebuild with "
				"`layerprof record -- docker build ...` to capture its output and Dockerfile line.",
				s->args);
		}
	}
}
