/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Attribution: the one place where the step of an event, and the display
 * form of a path, are decided (docs/architecture.md, "Attribution"). Pass 2
 * asks it for every record; exporters ask it through model.h
 * (lp_model_event_step, lp_model_display_path, lp_model_step_at).
 *
 * The decision, in order: a process attributed to a step (a RUN's tree,
 * correlate.c) owns its events; the CLI's reads of the context are the
 * context step's; a path under a RUN's rootfs is that RUN's; a path in the
 * context snapshot is the context transfer's (or, read during a COPY that
 * names it, the COPY's); other layer snapshot paths are the step that wrote
 * that snapshot, or the export that tars it, or the step whose window holds
 * the time; snapshot machinery (mounts, syncs) goes by time alone.
 *
 * It reads the model (steps, processes, snapshots, mounts) and calls
 * nothing above it.
 */
#include "model_int.h"

#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "syscalls.h"
#include "util.h"

/* ------------------------------------------------------------ snapshots */

/* At a '/' of a path: does dir (which starts with '/') start there? */
static inline bool dir_at(const char *p, const char *dir)
{
	size_t n = strlen(dir); /* (a constant: folded) */
	return p[1] == dir[1] && !strncmp(p + 2, dir + 2, n - 2);
}

/* strstr(path, dir) for a dir that starts with '/': tried at each '/' of
 * path only (a generic strstr per test was a tenth of an export). */
static const char *find_dir(const char *path, const char *dir)
{
	for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (dir_at(p, dir))
			return p;
	return NULL;
}

/*
 * The directories that place a host path in a snapshot, found in one walk
 * over its slashes: every event's path is asked where it falls, in pass 2
 * and again in an export, and a walk per kind of directory (six of them)
 * was a twentieth of an export. Each field is the '/' that starts the
 * first such directory that passes its test, or NULL:
 *   executor   "/executor/" after "/buildkit" (dockerd's <data-root>/buildkit,
 *              buildkitd's <root>) or "-overlayfs" (buildkitd's
 *              runc-overlayfs/, containerd-overlayfs/)
 *   overlay2   "/overlay2/" (the first, whatever follows it)
 *   snapshots  "/snapshots/<digits>/fs", ending at or before a '/'
 *              (containerd's .../snapshots/<n>/fs, buildkitd's
 *              .../snapshots/snapshots/<n>/fs); snap_end: after the digits
 *   bkmount    "/buildkit-mount" (BuildKit's bind mounts of a snapshot)
 *   cachemount "/cachemounts/buildkit" (its overlays of one)
 * BuildKit looks at snapshots through two kinds of temporary mounts: bind
 * mounts at <root>/tmp/buildkit-mountNNN (a snapshot's files, read-only),
 * and, with the containerd snapshotter or the OCI worker, overlays at
 * <root>/buildkit/<worker>-overlayfs/cachemounts/buildkitNNN (a snapshot
 * with parents, written through by COPY).
 */
struct snap_dirs {
	const char *executor, *overlay2, *snapshots, *snap_end, *bkmount, *cachemount;
};

static void snap_dirs_of(const char *path, struct snap_dirs *d)
{
	memset(d, 0, sizeof(*d));
	for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
		switch (p[1]) {
		case 'e':
			if (!d->executor && dir_at(p, "/executor/")) {
				size_t before = (size_t)(p - path);
				if ((before >= 9 && !strncmp(p - 9, "/buildkit", 9)) ||
				    (before >= 10 && !strncmp(p - 10, "-overlayfs", 10)))
					d->executor = p;
			}
			break;
		case 'o':
			if (!d->overlay2 && dir_at(p, "/overlay2/"))
				d->overlay2 = p;
			break;
		case 's':
			if (!d->snapshots && dir_at(p, "/snapshots/")) {
				const char *id = p + strlen("/snapshots/"), *q = id;
				while (isdigit((unsigned char)*q))
					q++;
				if (q > id && lp_starts_with(q, "/fs") && (q[3] == '/' || q[3] == 0)) {
					d->snapshots = p;
					d->snap_end = q;
				}
			}
			break;
		case 'b':
			if (!d->bkmount && dir_at(p, "/buildkit-mount"))
				d->bkmount = p;
			break;
		case 'c':
			if (!d->cachemount && dir_at(p, "/cachemounts/buildkit"))
				d->cachemount = p;
			break;
		default:
			break;
		}
	}
}

/* Where a temporary mount's dir name starts, of a walk's findings. */
static const char *tmpmount_of(const struct snap_dirs *d)
{
	if (d->bkmount)
		return d->bkmount + 1;
	return d->cachemount ? d->cachemount + strlen("/cachemounts/") : NULL;
}

/* Where a temporary mount dir's name starts in path, or NULL. */
const char *lp_tmpmount_at(const char *path)
{
	struct snap_dirs d;
	snap_dirs_of(path, &d);
	return tmpmount_of(&d);
}

bool lp_is_image_store_path(const char *path)
{
	return (find_dir(path, "/image/") &&
		(find_dir(path, "/layerdb/") || find_dir(path, "/imagedb/") || strstr(path, "repositories.json"))) ||
	       find_dir(path, "/io.containerd.content.v1.content/");
}

const char *lp_executor_at(const char *path)
{
	struct snap_dirs d;
	snap_dirs_of(path, &d);
	return d.executor ? d.executor + strlen("/executor/") : NULL;
}

/* lp_snap_split() of a walk's findings. */
static enum lp_snap_part split_of(const char *path, const struct snap_dirs *dd, size_t *dir_len, const char **rel)
{
	const struct snap_dirs d = *dd;
	const char *p;
	if (d.executor) {
		const char *id = d.executor + strlen("/executor/");
		const char *sl = strchr(id, '/');
		if (sl && lp_starts_with(sl, "/rootfs") && (sl[7] == '/' || sl[7] == 0)) {
			*dir_len = (size_t)(sl - path);
			*rel = sl[7] ? sl + 8 : sl + 7;
			return LP_SNAP_ROOTFS;
		}
	}
	if (d.overlay2) {
		const char *id = d.overlay2 + strlen("/overlay2/");
		const char *sl = strchr(id, '/');
		if (sl && sl > id) {
			if (lp_starts_with(sl, "/diff") && (sl[5] == '/' || sl[5] == 0)) {
				*dir_len = (size_t)(sl - path);
				*rel = sl[5] ? sl + 6 : sl + 5;
				return LP_SNAP_DIFF;
			}
			if (lp_starts_with(sl, "/merged") && (sl[7] == '/' || sl[7] == 0)) {
				*dir_len = (size_t)(sl - path);
				*rel = sl[7] ? sl + 8 : sl + 7;
				return LP_SNAP_MERGED;
			}
		}
	}
	if (d.snapshots) {
		const char *q = d.snap_end;
		*dir_len = (size_t)(q - path);
		*rel = q[3] ? q + 4 : q + 3;
		return LP_SNAP_FS;
	}
	if ((p = tmpmount_of(&d))) {
		const char *q = p;
		while (*q && *q != '/')
			q++;
		*dir_len = (size_t)(q - path);
		*rel = *q ? q + 1 : q;
		return LP_SNAP_TMPMOUNT;
	}
	return LP_SNAP_NONE;
}

enum lp_snap_part lp_snap_split(const char *path, size_t *dir_len, const char **rel)
{
	struct snap_dirs d;
	snap_dirs_of(path, &d);
	return split_of(path, &d, dir_len, rel);
}

bool lp_model_is_ctx_snapshot_path(const struct lp_model *m, const char *path, const char **rel)
{
	struct lp_priv *pv = lp_priv(m);
	if (pv->ctx_snap < 0 || !path)
		return false;
	if (lp_tmpmount_at(path)) {
		/* only an untranslated temp mount reaches here: translate
		 * into a static per-thread buffer (rel must outlive us) */
		static __thread char tbuf[4096];
		const char *t = lp_model_translate(m, path, tbuf, sizeof(tbuf));
		if (t == tbuf)
			path = tbuf;
	}
	size_t dl;
	const char *r;
	enum lp_snap_part part = lp_snap_split(path, &dl, &r);
	if (part == LP_SNAP_NONE || part == LP_SNAP_ROOTFS)
		return false;
	const char *dir = pv->snaps[pv->ctx_snap].dir;
	if (strlen(dir) != dl || strncmp(dir, path, dl))
		return false;
	*rel = r;
	return true;
}


/* ----------------------------------------------------------- bind mounts */

const char *lp_mount_upperdir(const struct lp_ev_syscall *ev, char *buf, size_t len)
{
	if (ev->h.aux != LP_SC_MOUNT || ev->ret < 0 || (ev->args[3] & (4096 /* MS_BIND */ | 32 /* MS_REMOUNT */)))
		return NULL;
	const char *fstype = lp_ev_syscall_arg_str(ev, 2, NULL, NULL);
	unsigned di = 0;
	const char *data = lp_ev_syscall_arg_str(ev, 4, &di, NULL);
	if (!fstype || strcmp(fstype, "overlay") || !data)
		return NULL;
	for (const char *p = data; (p = strstr(p, "upperdir=")); p++) {
		if (p != data && p[-1] != ',')
			continue;
		p += strlen("upperdir=");
		size_t n = strcspn(p, ",");
		if (!n || (p[n] == 0 && lp_ev_syscall_str_truncated(ev, di)))
			return NULL; /* cut: a partial path would be a wrong one */
		if (n >= len || p[0] != '/')
			return NULL;
		memcpy(buf, p, n);
		buf[n] = 0;
		return buf;
	}
	return NULL;
}

void lp_model_note_mount(struct lp_model *m, const char *target, const char *source)
{
	struct lp_priv *pv = lp_priv(m);
	if (!lp_tmpmount_at(target))
		return; /* only temporary mounts are looked through */
	int i = lp_smap_get(&pv->mnt_idx, target);
	if (i < 0) {
		lp_grow((void **)&pv->mnt_src, &pv->mnt_cap, pv->nmnt + 1, sizeof(char *));
		i = (int)pv->nmnt++;
		lp_smap_put(&pv->mnt_idx, target, i);
	}
	free(pv->mnt_src[i]);
	pv->mnt_src[i] = lp_xstrdup(source);
	pv->mnt_gen++;
}

void lp_model_reset_mounts(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	for (size_t i = 0; i < pv->nmnt; i++)
		free(pv->mnt_src[i]);
	free(pv->mnt_src);
	pv->mnt_src = NULL;
	pv->nmnt = pv->mnt_cap = 0;
	lp_smap_free(&pv->mnt_idx);
	pv->mnt_gen++;
}

const char *lp_model_translate(const struct lp_model *m, const char *path, char *buf, size_t len)
{
	struct lp_priv *pv = lp_priv(m);
	size_t dl;
	const char *rel;
	/* (one walk over the path: not lp_tmpmount_at() first) */
	if (!path || !pv->nmnt || lp_snap_split(path, &dl, &rel) != LP_SNAP_TMPMOUNT)
		return path;
	char dir[4096]; /* (no allocation: pass 2 asks for every record under a mount) */
	if (dl >= sizeof(dir))
		return path;
	memcpy(dir, path, dl);
	dir[dl] = 0;
	int i = lp_smap_get(&pv->mnt_idx, dir);
	if (i < 0)
		return path;
	snprintf(buf, len, "%s%s%s", pv->mnt_src[i], *rel ? "/" : "", rel);
	return buf;
}


/* ------------------------------------------------------ interned paths */

void lp_model_pinfo_reserve(const struct lp_model *m, size_t n)
{
	struct lp_priv *pv = lp_priv(m);
	if (n <= pv->npinfo)
		return;
	pv->pinfo = lp_xrealloc(pv->pinfo, n * sizeof(*pv->pinfo));
	memset(pv->pinfo + pv->npinfo, 0, (n - pv->npinfo) * sizeof(*pv->pinfo));
	pv->npinfo = n;
}

struct lp_pinfo *lp_model_pinfo_slow(const struct lp_model *m, uint32_t id)
{
	struct lp_priv *pv = lp_priv(m);
	/* ids come in order: grow by a quarter (an entry per path) */
	if (id >= pv->npinfo)
		lp_model_pinfo_reserve(m, (size_t)id + 1 + ((size_t)id + 1) / 4 + 4096);
	struct lp_pinfo *pi = &pv->pinfo[id];
	if (!(pi->known & PI_BASE)) {
		const char *s = lp_model_path(m, id);
		pi->known |= PI_BASE;
		pi->bkmount = s && lp_tmpmount_at(s) != NULL;
	}
	return pi;
}

/* -------------------------------------------------------- COPY sources */

static bool has_wild(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool ctx_known(const struct lp_model *m, const char *p)
{
	return !m->nctx_files || lp_smap_get(&lp_priv(m)->ctx_idx, p) >= 0;
}

static bool ctx_is_dir(const struct lp_model *m, const char *p)
{
	return lp_smap_get(&lp_priv(m)->ctx_dirs, p) >= 0;
}

const char *lp_copy_ctx_path(const struct lp_model *m, int si, const char *cpath, char *buf,
			     size_t len)
{
	const struct lp_step *s = &m->steps[si];
	if (!s->copy_dst || s->copy_from_stage)
		return NULL;
	char c[4096], d[4096];
	lp_norm_abs_path(cpath, c, sizeof(c));
	lp_norm_abs_path(s->copy_dst, d, sizeof(d));
	size_t dl = strlen(d);
	bool dst_dir = s->copy_dst[strlen(s->copy_dst) - 1] == '/';
	const char *rest = NULL; /* cpath relative to d */
	if (!strncmp(c, d, dl) && c[dl] == '/')
		rest = c + dl + 1;
	for (size_t i = 0; i < s->ncopy_srcs; i++) {
		const char *src = s->copy_srcs[i];
		if (!*src) {
			if (rest && ctx_known(m, rest)) {
				snprintf(buf, len, "%s", rest);
				return buf;
			}
			continue;
		}
		if (has_wild(src)) {
			if (!rest)
				continue;
			char sdir[4096];
			snprintf(sdir, sizeof(sdir), "%s", src);
			char *sl = strrchr(sdir, '/');
			const char *pat = sl ? sl + 1 : sdir;
			char first[4096];
			snprintf(first, sizeof(first), "%s", rest);
			char *fs = strchr(first, '/');
			if (fs)
				*fs = 0;
			if (fnmatch(pat, first, 0))
				continue;
			if (sl) {
				*sl = 0;
				snprintf(buf, len, "%s/%s", sdir, rest);
			} else {
				snprintf(buf, len, "%s", rest);
			}
			if (ctx_known(m, buf))
				return buf;
			continue;
		}
		bool is_dir = ctx_is_dir(m, src);
		if ((is_dir || !m->nctx_files) && rest) {
			snprintf(buf, len, "%s/%s", src, rest);
			if (ctx_known(m, buf))
				return buf;
		}
		if (!is_dir) {
			bool hit = dst_dir ? (rest && !strcmp(rest, lp_base_name(src))) : !strcmp(c, d);
			if (hit) {
				snprintf(buf, len, "%s", src);
				return buf;
			}
		}
	}
	return NULL;
}

bool lp_copy_has_source(const struct lp_model *m, int si, const char *ctx)
{
	const struct lp_step *s = &m->steps[si];
	if (s->copy_from_stage)
		return false;
	for (size_t i = 0; i < s->ncopy_srcs; i++) {
		const char *src = s->copy_srcs[i];
		size_t n = strlen(src);
		if (!n)
			return true;
		if (has_wild(src)) {
			int comps = 1;
			for (const char *p = src; *p; p++)
				comps += *p == '/';
			char pre[4096];
			snprintf(pre, sizeof(pre), "%s", ctx);
			char *p = pre;
			for (int k = 0; k < comps && p; k++) {
				p = strchr(p, '/');
				if (p && k + 1 < comps)
					p++;
			}
			if (p)
				*p = 0;
			if (!fnmatch(src, pre, FNM_PATHNAME))
				return true;
			continue;
		}
		if (!strncmp(ctx, src, n) && (ctx[n] == 0 || ctx[n] == '/'))
			return true;
	}
	return false;
}

/* ------------------------------------------------------- event -> step */

static int step_at_filtered(const struct lp_model *m, uint64_t ts, bool work_only, uint64_t lag)
{
	int best = -1;
	uint64_t best_len = UINT64_MAX;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		if (work_only && (s->cached || (s->kind != LP_STEPK_RUN && s->kind != LP_STEPK_COPY &&
						s->kind != LP_STEPK_OTHER && s->kind != LP_STEPK_FROM &&
						s->kind != LP_STEPK_EXPORT)))
			continue;
		/* a FROM of a local image, a WORKDIR: no layer work of their own
		 * (a WORKDIR's mkdir is found by its snapshot) */
		if (work_only && (s->kind == LP_STEPK_FROM || s->kind == LP_STEPK_OTHER) && s->reported_s < 0.05)
			continue;
		uint64_t lo = s->start_ns > lag ? s->start_ns - lag : 0;
		if (ts < lo || ts > s->end_ns)
			continue;
		uint64_t len = s->end_ns - lo;
		if (len < best_len) {
			best_len = len;
			best = (int)i;
		}
	}
	return best;
}

int lp_model_step_at(const struct lp_model *m, uint64_t ts)
{
	return step_at_filtered(m, ts, false, 0);
}

bool lp_rec_writes(const struct lp_hdr *rec)
{
	if (rec->kind == LP_EV_FD_IO)
		return ((const struct lp_ev_fd_io *)rec)->wbytes > 0;
	if (rec->kind != LP_EV_SYSCALL)
		return false;
	const struct lp_ev_syscall *ev = (const void *)rec;
	unsigned sc = rec->aux;
	if (lp_sc_opens_path(sc)) {
		uint64_t fl = sc == LP_SC_OPEN ? ev->args[1] : sc == LP_SC_CREAT ? O_WRONLY : ev->args[2];
		return (fl & O_ACCMODE) != O_RDONLY || (fl & O_CREAT);
	}
	int cls = lp_sc_class(sc);
	if (cls == LP_CLS_FAILONLY || cls == LP_CLS_EXEC)
		return false;
	switch (sc) {
	case LP_SC_RENAME: case LP_SC_RENAMEAT: case LP_SC_RENAMEAT2: case LP_SC_LINK:
	case LP_SC_LINKAT: case LP_SC_SYMLINK: case LP_SC_SYMLINKAT: case LP_SC_UNLINK:
	case LP_SC_UNLINKAT: case LP_SC_RMDIR: case LP_SC_MKDIR: case LP_SC_MKDIRAT:
	case LP_SC_MKNOD: case LP_SC_MKNODAT: case LP_SC_SETXATTR: case LP_SC_LSETXATTR:
	case LP_SC_FSETXATTR:
	/* in-kernel copies are attributed by their destination (model_pass2.c) */
	case LP_SC_COPY_FILE_RANGE: case LP_SC_SENDFILE: case LP_SC_SPLICE:
		return true;
	default:
		return false;
	}
}

static bool is_snapshot_sc(unsigned sc)
{
	if (lp_sc_is_sync(sc))
		return true;
	switch (sc) {
	case LP_SC_MOUNT: case LP_SC_UMOUNT2: case LP_SC_MOVE_MOUNT: case LP_SC_FSMOUNT:
	case LP_SC_FSCONFIG: case LP_SC_FSOPEN: case LP_SC_OPEN_TREE:
		return true;
	default:
		return false;
	}
}

/*
 * The export step whose phase contains ts, or -1. The daemon starts
 * exporting as soon as the last build step ends, but the CLI prints
 * "exporting to image" late, and "DONE 0.0s" tells no start: the phase of
 * an export reaches back to the end of the last other step (after which
 * the daemon has nothing else to do for the build).
 */
static int export_at(const struct lp_model *m, uint64_t ts)
{
	uint64_t work_end = lp_priv(m)->work_end_ns;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		if (s->kind != LP_STEPK_EXPORT)
			continue;
		uint64_t lo = work_end && work_end < s->start_ns ? work_end : s->start_ns;
		if (ts >= lo && ts <= s->end_ns)
			return (int)i;
	}
	return -1;
}

void lp_model_split(const struct lp_model *m, const char *path, uint32_t id, struct lp_split *sp)
{
	struct lp_priv *pv = lp_priv(m);
	/* cached per interned path (the offsets are into that very string) */
	struct lp_pinfo *pi = id && path == lp_strtab_str(&pv->paths, id) ? lp_model_pinfo(m, id) : NULL;
	if (pi && (pi->known & PI_SPLIT)) {
		sp->part = (enum lp_snap_part)pi->part;
		sp->dir_len = pi->dir_len;
		sp->rel = path + pi->rel_off;
		sp->snap = pi->snap;
		sp->rootfs_step = pi->rootfs_step;
		return;
	}
	sp->dir_len = 0;
	sp->rel = path;
	sp->snap = sp->rootfs_step = -1;
	sp->part = lp_snap_split(path, &sp->dir_len, &sp->rel);
	if (sp->part == LP_SNAP_ROOTFS) {
		/* <data-root>/buildkit/executor/<id>/rootfs: the RUN with that id */
		const char *cid = path + sp->dir_len;
		while (cid > path && cid[-1] != '/')
			cid--;
		size_t n = (size_t)(path + sp->dir_len - cid);
		for (size_t i = 0; i < m->nsteps && sp->rootfs_step < 0; i++)
			if (m->steps[i].container_id && strlen(m->steps[i].container_id) == n &&
			    !strncmp(m->steps[i].container_id, cid, n))
				sp->rootfs_step = (int)i;
	} else if (sp->part != LP_SNAP_NONE) {
		char *dir = strndup(path, sp->dir_len);
		sp->snap = dir ? lp_smap_get(&pv->snap_idx, dir) : -1;
		free(dir);
	}
	if (pi && sp->dir_len <= UINT16_MAX && (size_t)(sp->rel - path) <= UINT16_MAX) {
		pi->part = (uint8_t)sp->part;
		pi->dir_len = (uint16_t)sp->dir_len;
		pi->rel_off = (uint16_t)(sp->rel - path);
		pi->snap = sp->snap;
		pi->rootfs_step = sp->rootfs_step;
		pi->known |= PI_SPLIT;
	}
}

int lp_model_event_step(const struct lp_model *m, const struct lp_hdr *rec, const char *path)
{
	return lp_model_event_step_p(m, rec, lp_model_proc_at(m, rec->tgid, rec->ts), path, 0);
}

/* How far ts lies from a step's engine window (rawjson), 0 inside it;
 * UINT64_MAX without the engine's times. */
static uint64_t engine_window_gap(const struct lp_step *s, uint64_t ts)
{
	if (!s->e_start_ns)
		return UINT64_MAX;
	uint64_t end = s->e_end_ns > s->e_start_ns ? s->e_end_ns : s->e_start_ns;
	return ts < s->e_start_ns ? s->e_start_ns - ts : ts > end ? ts - end : 0;
}

/* The client sends the build definition (the Dockerfile, .dockerignore)
 * on sessions of their own before the engine asks for the context; the
 * three share the context's directory. What the client read or opened
 * there at ts is the load step's of kind k (LP_STEPK_OTHER: either load
 * step) when that step's engine window is nearer ts than the context
 * step's: the engine begins the context a few ms after the definition on
 * a fast host, so no fixed margin tells them apart. Without the load
 * steps' times, a read more than 20 ms (the clock pair's error) before
 * the engine began the context is the first load step's. -1: the
 * context's. */
#define DEFINITION_SLACK_NS 20000000ull
int lp_model_definition_step(const struct lp_model *m, enum lp_step_kind k, uint64_t ts)
{
	if (m->context.step < 0)
		return -1;
	const struct lp_step *cs = &m->steps[m->context.step];
	if (!cs->e_start_ns)
		return -1;
	int best = -1, first = -1;
	uint64_t best_gap = UINT64_MAX;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		bool want = k == LP_STEPK_OTHER ? (s->kind == LP_STEPK_LOAD_DOCKERFILE || s->kind == LP_STEPK_LOAD_DOCKERIGNORE)
						: s->kind == k;
		if (!want || s->cached)
			continue;
		if (first < 0)
			first = (int)i;
		uint64_t gap = engine_window_gap(s, ts);
		if (gap < best_gap) {
			best_gap = gap;
			best = (int)i;
		}
	}
	if (best >= 0)
		return best_gap < engine_window_gap(cs, ts) ? best : -1;
	return first >= 0 && ts + DEFINITION_SLACK_NS < cs->e_start_ns ? first : -1;
}

/* lp_is_image_store_path() of path, cached per interned path (id: its id,
 * or 0): asked of every write the build daemon makes. */
static bool image_store(const struct lp_model *m, const char *path, uint32_t id)
{
	if (!id || path != lp_strtab_str(&lp_priv(m)->paths, id))
		return lp_is_image_store_path(path);
	struct lp_pinfo *pi = lp_model_pinfo(m, id);
	if (!(pi->known & PI_IMAGE_STORE)) {
		pi->image_store = lp_is_image_store_path(path);
		pi->known |= PI_IMAGE_STORE;
	}
	return pi->image_store;
}

int lp_model_event_step_p(const struct lp_model *m, const struct lp_hdr *rec, const struct lp_proc *p,
			  const char *path, uint32_t id)
{
	struct lp_priv *pv = lp_priv(m);
	uint64_t ts = rec->ts, lag = pv->lag_ns;
	/* a step's process's, or a container's outside any step: whatever
	 * the path (the lookups below are most of the cost) */
	if (p && p->step >= 0)
		return p->step;
	if (p && p->role == LP_ROLE_CONTAINER)
		return -1;
	char tbuf[4096];
	/* a path under no temporary mount translates to itself */
	if (path && (!id || lp_model_pinfo(m, id)->bkmount)) {
		const char *t = lp_model_translate(m, path, tbuf, sizeof(tbuf));
		if (t != path)
			id = 0;
		path = t;
	}
	if (p && p->role == LP_ROLE_CLI) {
		/* the client's reads of the context are the transfer; what else
		 * the traced command runs (a script around the CLI, buildx's
		 * git) is no step's work */
		if (path && m->context.dir && m->context.step >= 0 && lp_proc_is_build_client(p)) {
			size_t n = strlen(m->context.dir);
			if (strncmp(path, m->context.dir, n) || (path[n] != '/' && path[n]))
				return -1;
			/* the Dockerfile (or .dockerignore) the client sends
			 * first, on its own, is its load step's */
			enum lp_step_kind k = path[n] ? lp_definition_file_kind(m, path + n + 1) : LP_STEPK_OTHER;
			int load = k == LP_STEPK_OTHER ? -1 : lp_model_definition_step(m, k, ts);
			return load >= 0 ? load : m->context.step;
		}
		return -1;
	}
	if (p && !lp_model_in_build_daemon(m, p))
		return -1; /* another daemon's work (several may be traced) */
	int exp = export_at(m, ts);
	/* The image store is written by the export alone, whenever the CLI
	 * printed its lines (they are stamped late, in bursts) */
	if (path && lp_rec_writes(rec) && image_store(m, path, id)) {
		for (size_t i = m->nsteps; i-- > 0;)
			if (m->steps[i].kind == LP_STEPK_EXPORT && !m->steps[i].cached)
				return (int)i;
	}
	if (path) {
		struct lp_split sp;
		lp_model_split(m, path, id, &sp);
		if (sp.part == LP_SNAP_ROOTFS) {
			if (sp.rootfs_step >= 0)
				return sp.rootfs_step;
		} else if (sp.part != LP_SNAP_NONE) {
			int si = sp.snap;
			if (si >= 0 && si == pv->ctx_snap) {
				if (!lp_rec_writes(rec)) {
					for (size_t i = 0; i < m->nsteps; i++) {
						const struct lp_step *s = &m->steps[i];
						uint64_t lo = s->start_ns > lag * 4 ? s->start_ns - lag * 4 : 0;
						if (s->kind == LP_STEPK_COPY && !s->cached && ts >= lo &&
						    ts <= s->end_ns + lag && lp_copy_has_source(m, (int)i, sp.rel))
							return (int)i;
					}
				}
				return m->context.step;
			}
			bool wr = lp_rec_writes(rec);
			if (exp >= 0 && !wr)
				return exp; /* the export tars the new layers */
			int own = si >= 0 ? pv->snaps[si].step : -1;
			/* Writes into a layer are its step's. A read of it after that
			 * step ended (its DONE line comes after the real end) is not
			 * the step's own work: the next step's (COPY --from...). But
			 * the Dockerfile's and .dockerignore's own snapshots are read
			 * by the frontend alone, which parses them just after their
			 * vertex is done (dockerd 29: 15 ms after, while the next
			 * steps show): still their load's work. */
			if (own >= 0 && (wr || ts <= m->steps[own].end_ns ||
					 m->steps[own].kind == LP_STEPK_LOAD_DOCKERFILE ||
					 m->steps[own].kind == LP_STEPK_LOAD_DOCKERIGNORE))
				return own;
			/* builds of a session running at the same time write into
			 * their own snapshots in the same windows: a layer none of
			 * this build's steps owns is another build's */
			if (own < 0 && m->build.session_overlaps)
				return -1;
			/* a .dockerignore in a snapshot no step owns: BuildKit's
			 * local source for "load .dockerignore", re-synced (an old
			 * copy removed) while the next steps already show */
			size_t rl = sp.rel ? strlen(sp.rel) : 0;
			if (own < 0 && rl >= 13 && !strcmp(sp.rel + rl - 13, ".dockerignore")) {
				for (size_t i = 0; i < m->nsteps; i++)
					if (m->steps[i].kind == LP_STEPK_LOAD_DOCKERIGNORE && !m->steps[i].cached)
						return (int)i;
			}
			int s = step_at_filtered(m, ts, true, lag);
			if (s >= 0 && s != own)
				return s;
		}
	}
	if (exp >= 0)
		return exp;
	if (rec->kind == LP_EV_SYSCALL && is_snapshot_sc(rec->aux))
		return step_at_filtered(m, ts, true, lag);
	return -1;
}

const char *lp_model_display_path(const struct lp_model *m, int step, const char *path, char *buf,
				  size_t len, enum lp_path_space *space)
{
	(void)step;
	enum lp_path_space dummy;
	if (!space)
		space = &dummy;
	*space = LP_PATH_HOST;
	if (!path)
		return path;
	char tbuf[4096];
	path = lp_model_translate(m, path, tbuf, sizeof(tbuf));
	const char *rel;
	size_t dl;
	struct snap_dirs d;
	snap_dirs_of(path, &d);
	enum lp_snap_part part = split_of(path, &d, &dl, &rel);
	/* the context snapshot's files: lp_model_is_ctx_snapshot_path(), from
	 * the walk just made unless a temporary mount is left in the path
	 * (which that translates again) */
	bool in_ctx;
	if (tmpmount_of(&d)) {
		const char *r;
		in_ctx = lp_model_is_ctx_snapshot_path(m, path, &r);
		if (in_ctx)
			rel = r;
	} else {
		const struct lp_priv *pv = lp_priv(m);
		const char *dir = pv->ctx_snap >= 0 ? pv->snaps[pv->ctx_snap].dir : NULL;
		in_ctx = dir && part != LP_SNAP_NONE && part != LP_SNAP_ROOTFS && strlen(dir) == dl &&
			 !strncmp(dir, path, dl);
	}
	if (in_ctx) {
		*space = LP_PATH_CONTEXT;
		snprintf(buf, len, "%s", rel);
		return buf;
	}
	if (part != LP_SNAP_NONE) {
		*space = LP_PATH_CONTAINER;
		snprintf(buf, len, "/%s", rel);
		return buf;
	}
	if (m->context.dir) {
		size_t n = strlen(m->context.dir);
		while (n > 1 && m->context.dir[n - 1] == '/')
			n--;
		if (!strncmp(path, m->context.dir, n) && (path[n] == '/' || !path[n])) {
			/* the context's root is "." (a directory, no file) */
			*space = LP_PATH_CONTEXT;
			snprintf(buf, len, "%s", path[n] ? path + n + 1 : ".");
			return buf;
		}
	}
	return path;
}

/* --------------------------------------------------------- fd I/O time */

uint64_t lp_model_fdio_close_ts(const struct lp_model *m, const struct lp_ev_fd_io *e, bool *still_open)
{
	const struct lp_hdr *h = &e->h;
	if (still_open)
		*still_open = false;
	if (!((e->io_flags | h->flags) & LP_FDIO_DRAINED))
		return h->ts; /* sent at close */
	/* Drained at the end of the recording. The process that did the I/O
	 * is the one alive at its last read/write (the pid may be reused
	 * since); if it exited before the drain, its fds closed at exit. */
	uint64_t at = e->last_ts && e->last_ts <= h->ts ? e->last_ts : h->ts;
	const struct lp_proc *p = lp_model_proc_at(m, h->tgid, at);
	if (p && p->exited && p->end_ns && p->end_ns <= h->ts)
		return p->end_ns;
	if (still_open)
		*still_open = true;
	return h->ts;
}

