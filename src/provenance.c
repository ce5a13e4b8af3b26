// SPDX-License-Identifier: BSD-2-Clause
/*
 * Provenance of container paths (provenance.h): one entry per path or
 * directory that something happened to, keyed "stage\x1f/path" (a file)
 * or "stage\x1f/dir/" (a whole tree), with the last time it was placed by
 * a COPY and the last time it went. Most paths never get an entry: a path
 * with none is as the COPY left it.
 */
#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "util.h"

struct prov_ent {
	uint64_t placed_ts, gone_ts;
	/* layer ownership (lp_prov_write & co.; zero until one of them
	 * touches the entry: `tracked`) */
	bool tracked;
	bool present;           /* a version made by `owner` is there */
	bool over;              /* owner's version counts as an overwrite (else created) */
	int owner;              /* the step whose layer holds it, -1 */
	int replaced;           /* the step whose version owner's replaced, -1 */
	int deleted_by;         /* the step whose deletion of it was counted (while absent), -1 */
	int change;             /* changes[] of the last overwrite or deletion of it, -1 */
	uint64_t bytes;         /* what owner wrote to it */
	const char *stage;      /* stages.v[...] */
	char *path;
};

struct lp_provenance {
	struct lp_smap idx;          /* key -> index in ents */
	struct prov_ent *ents;
	size_t n, cap;
	uint64_t gone;
	/* layer ownership */
	struct lp_strv stages;       /* the stage names, each once */
	struct lp_layer_counts *counts; /* [step] */
	size_t ncounts;
	struct lp_layer_change *changes;
	size_t nchanges, changes_cap;
	struct lp_layer_read *reads;
	size_t nreads, reads_cap;
	struct lp_smap read_seen;    /* "step\x1fkey": a read noted once per step and file */
	struct lp_smap dirs;         /* "stage\x1f/dir": directories above a tracked file */
};

struct lp_provenance *lp_prov_new(void)
{
	return lp_xcalloc(1, sizeof(struct lp_provenance));
}

void lp_prov_free(struct lp_provenance *pv)
{
	if (!pv)
		return;
	lp_smap_free(&pv->idx);
	for (size_t i = 0; i < pv->n; i++)
		free(pv->ents[i].path);
	free(pv->ents);
	lp_strv_free(&pv->stages);
	free(pv->counts);
	free(pv->changes);
	free(pv->reads);
	lp_smap_free(&pv->read_seen);
	lp_smap_free(&pv->dirs);
	free(pv);
}

/* "stage\x1f/a/b" (+ "/" for a tree) into buf; false when it does not fit. */
static bool make_key(char *buf, size_t len, const char *stage, const char *cpath, bool dir)
{
	size_t n = strlen(cpath);
	while (n > 1 && cpath[n - 1] == '/')
		n--;
	int w = snprintf(buf, len, "%s\x1f%.*s%s", stage ? stage : "", (int)n, cpath, dir ? "/" : "");
	return w > 0 && (size_t)w < len;
}

static struct prov_ent *ent(struct lp_provenance *pv, const char *key)
{
	int i = lp_smap_get(&pv->idx, key);
	if (i < 0) {
		lp_grow((void **)&pv->ents, &pv->cap, pv->n + 1, sizeof(*pv->ents));
		i = (int)pv->n++;
		lp_smap_put(&pv->idx, key, i);
	}
	return &pv->ents[i];
}

void lp_prov_gone(struct lp_provenance *pv, const char *stage, const char *cpath, bool dir, uint64_t ts)
{
	char key[4200];
	if (!cpath || cpath[0] != '/' || !make_key(key, sizeof(key), stage, cpath, false))
		return;
	struct prov_ent *e = ent(pv, key);
	if (!e->gone_ts || e->gone_ts < e->placed_ts)
		pv->gone++;
	e->gone_ts = ts;
	if (dir && make_key(key, sizeof(key), stage, cpath, true))
		ent(pv, key)->gone_ts = ts;
}

void lp_prov_placed(struct lp_provenance *pv, const char *stage, const char *cpath, uint64_t ts)
{
	char key[4200];
	if (!cpath || cpath[0] != '/' || !make_key(key, sizeof(key), stage, cpath, false))
		return;
	ent(pv, key)->placed_ts = ts;
}

bool lp_prov_from_copy(const struct lp_provenance *pv, const char *stage, const char *cpath)
{
	if (!pv->n || !cpath || cpath[0] != '/')
		return true;
	char key[4200];
	if (!make_key(key, sizeof(key), stage, cpath, false))
		return true;
	int i = lp_smap_get(&pv->idx, key);
	uint64_t placed = i >= 0 ? pv->ents[i].placed_ts : 0;
	uint64_t gone = i >= 0 ? pv->ents[i].gone_ts : 0;
	/* every directory above it: "stage\x1f/a/", "stage\x1f/" ... */
	char *sep = strchr(key, '\x1f');
	char *end = key + strlen(key);
	for (char *p = end - 1; p > sep + 1; p--) {
		if (p[-1] != '/')
			continue;
		char saved = *p;
		*p = 0;
		int d = lp_smap_get(&pv->idx, key);
		*p = saved;
		if (d >= 0 && pv->ents[d].gone_ts > gone)
			gone = pv->ents[d].gone_ts;
	}
	return !gone || placed > gone;
}

uint64_t lp_prov_gone_count(const struct lp_provenance *pv)
{
	return pv->gone;
}

/* ------------------------------------------------------ layer ownership */

/* Paths that are no layer's: runc's mounts and the files it binds in. A
 * RUN's --mount targets are the caller's to leave out (it knows the step). */
static bool not_in_layer(const char *cpath)
{
	static const char *const mounts[] = { "/dev", "/proc", "/sys" };
	for (size_t i = 0; i < LP_ARRAY_SIZE(mounts); i++) {
		size_t n = strlen(mounts[i]);
		if (!strncmp(cpath, mounts[i], n) && (cpath[n] == '/' || !cpath[n]))
			return true;
	}
	return !strcmp(cpath, "/etc/hosts") || !strcmp(cpath, "/etc/resolv.conf") ||
	       !strcmp(cpath, "/etc/hostname");
}

/* The entry of a file for the ownership calls, made on first use; NULL
 * when the path is not a layer's. */
static struct prov_ent *own_ent(struct lp_provenance *pv, const char *stage, const char *cpath)
{
	char key[4200];
	if (!cpath || cpath[0] != '/' || not_in_layer(cpath) || !make_key(key, sizeof(key), stage, cpath, false))
		return NULL;
	struct prov_ent *e = ent(pv, key);
	if (!e->tracked) {
		e->tracked = true;
		e->owner = e->replaced = e->deleted_by = e->change = -1;
		const char *st = stage ? stage : "";
		size_t k = 0;
		while (k < pv->stages.n && strcmp(pv->stages.v[k], st))
			k++;
		if (k == pv->stages.n)
			lp_strv_push(&pv->stages, st);
		e->stage = pv->stages.v[k];
		/* the path as the key has it (trailing slashes dropped) */
		e->path = lp_xstrdup(strchr(key, '\x1f') + 1);
		/* its directories, for a rename of one of them (stops at the
		 * first one known: the ones above it are known too) */
		char *sep = strchr(key, '\x1f');
		for (char *sl = strrchr(sep + 1, '/'); sl && sl > sep + 1; sl = strrchr(sep + 1, '/')) {
			*sl = 0;
			if (lp_smap_get(&pv->dirs, key) >= 0)
				break;
			lp_smap_put(&pv->dirs, key, 1);
		}
	}
	return e;
}

static struct lp_layer_counts *counts(struct lp_provenance *pv, int step)
{
	if ((size_t)step >= pv->ncounts)
		lp_grow((void **)&pv->counts, &pv->ncounts, (size_t)step + 1, sizeof(*pv->counts));
	return &pv->counts[step];
}

static int add_change(struct lp_provenance *pv, const struct prov_ent *e, int to, bool deleted)
{
	lp_grow((void **)&pv->changes, &pv->changes_cap, pv->nchanges + 1, sizeof(*pv->changes));
	struct lp_layer_change *c = &pv->changes[pv->nchanges];
	c->from = e->owner;
	c->to = to;
	c->deleted = deleted;
	c->bytes = e->bytes;
	c->stage = e->stage;
	c->path = e->path;
	return (int)pv->nchanges++;
}

static void write_ent(struct lp_provenance *pv, struct prov_ent *e, int step, uint64_t bytes)
{
	struct lp_layer_counts *c = counts(pv, step);
	if (e->present && e->owner == step) {
		e->bytes += bytes;
		c->bytes += bytes;
		return;
	}
	if (e->present && e->owner >= 0) {
		/* an earlier layer's version: it stays in that layer */
		e->change = add_change(pv, e, step, false);
		e->replaced = e->owner;
		e->over = true;
		c->overwritten++;
		c->overwritten_bytes += e->bytes;
	} else if (!e->present && e->deleted_by == step) {
		/* removed and made again by the same step (rm -rf, then an
		 * install; a copy that unlinks first): written again */
		c->deleted--;
		c->overwritten++;
		e->over = true;
		if (e->change >= 0) {
			struct lp_layer_change *ch = &pv->changes[e->change];
			ch->deleted = false;
			c->deleted_bytes -= ch->bytes;
			c->overwritten_bytes += ch->bytes;
			e->replaced = ch->from;
		}
	} else {
		c->created++;
		e->replaced = -1;
		e->change = -1;
		e->over = false;
	}
	e->present = true;
	e->owner = step;
	e->deleted_by = -1;
	e->bytes = bytes;
	c->bytes += bytes;
}

void lp_prov_write(struct lp_provenance *pv, const char *stage, const char *cpath, int step, uint64_t bytes)
{
	struct prov_ent *e = step >= 0 ? own_ent(pv, stage, cpath) : NULL;
	if (e)
		write_ent(pv, e, step, bytes);
}

static void delete_ent(struct lp_provenance *pv, struct prov_ent *e, int step)
{
	struct lp_layer_counts *c = counts(pv, step);
	if (e->present && e->owner == step) {
		/* made by this step and gone before it ended: never in its layer */
		c->bytes -= e->bytes;
		if (e->over) {
			/* it had replaced an earlier version: that one is now deleted */
			c->overwritten--;
			c->deleted++;
			if (e->change >= 0) {
				struct lp_layer_change *ch = &pv->changes[e->change];
				ch->deleted = true;
				c->overwritten_bytes -= ch->bytes;
				c->deleted_bytes += ch->bytes;
			}
			e->deleted_by = step;
		} else {
			c->created--;
			e->deleted_by = -1;
		}
	} else if (e->present && e->owner >= 0) {
		e->change = add_change(pv, e, step, true);
		c->deleted++;
		c->deleted_bytes += e->bytes;
		e->deleted_by = step;
	} else if (e->deleted_by < 0) {
		/* no step of the trace made it (the base image's, a cached
		 * step's): a change from no known step, no bytes known */
		c->deleted++;
		e->change = add_change(pv, e, step, true);
		e->deleted_by = step;
	} else {
		return; /* already gone */
	}
	e->present = false;
	e->over = false;
	e->owner = -1;
	e->replaced = -1;
	e->bytes = 0;
}

void lp_prov_delete(struct lp_provenance *pv, const char *stage, const char *cpath, int step)
{
	struct prov_ent *e = step >= 0 ? own_ent(pv, stage, cpath) : NULL;
	if (e)
		delete_ent(pv, e, step);
}

/* A directory renamed: the tracked files under from go under to (a file
 * renamed each). False when no tracked file is under from. */
static bool rename_tree(struct lp_provenance *pv, const char *stage, const char *from, const char *to, int step)
{
	char key[4200];
	if (!from || !to || !make_key(key, sizeof(key), stage, from, false) || lp_smap_get(&pv->dirs, key) < 0)
		return false;
	const char *dir = strchr(key, '\x1f') + 1;
	size_t dl = strlen(dir), n = pv->n;
	const char *st = stage ? stage : "";
	for (size_t i = 0; i < n; i++) {
		struct prov_ent *e = &pv->ents[i];
		if (!e->tracked || !e->present || strcmp(e->stage, st) || strncmp(e->path, dir, dl) ||
		    e->path[dl] != '/')
			continue;
		char dst[4200];
		if (snprintf(dst, sizeof(dst), "%s%s", to, e->path + dl) >= (int)sizeof(dst))
			continue;
		uint64_t bytes = e->bytes;
		delete_ent(pv, e, step);
		struct prov_ent *t = own_ent(pv, stage, dst); /* (ents may move) */
		if (t)
			write_ent(pv, t, step, bytes);
	}
	return true;
}

void lp_prov_rename(struct lp_provenance *pv, const char *stage, const char *from, const char *to, int step)
{
	if (step < 0)
		return;
	if (rename_tree(pv, stage, from, to, step))
		return;
	struct prov_ent *f = own_ent(pv, stage, from);
	uint64_t bytes = 0;
	if (f) {
		bytes = f->present ? f->bytes : 0;
		delete_ent(pv, f, step);
	}
	struct prov_ent *t = own_ent(pv, stage, to); /* (ents may have moved: f is stale) */
	if (t)
		write_ent(pv, t, step, bytes);
}

void lp_prov_read(struct lp_provenance *pv, const char *stage, const char *cpath, int step)
{
	char key[4200];
	if (step < 0 || !cpath || cpath[0] != '/' || !make_key(key, sizeof(key), stage, cpath, false))
		return;
	int i = lp_smap_get(&pv->idx, key);
	if (i < 0)
		return;
	const struct prov_ent *e = &pv->ents[i];
	/* the versions that replaced another (of a known step or not) */
	if (!e->tracked || !e->present || e->owner < 0 || e->owner == step || !e->over)
		return;
	char seen[4300];
	snprintf(seen, sizeof(seen), "%d\x1f%s", step, key);
	if (lp_smap_get(&pv->read_seen, seen) >= 0)
		return;
	lp_smap_put(&pv->read_seen, seen, 1);
	lp_grow((void **)&pv->reads, &pv->reads_cap, pv->nreads + 1, sizeof(*pv->reads));
	pv->reads[pv->nreads++] = (struct lp_layer_read){ .step = step, .copy_of = e->owner,
							 .replaced = e->replaced, .stage = e->stage,
							 .path = e->path };
}

struct lp_layer_counts lp_prov_step_counts(const struct lp_provenance *pv, int step)
{
	if (step < 0 || (size_t)step >= pv->ncounts)
		return (struct lp_layer_counts){ 0 };
	return pv->counts[step];
}

const struct lp_layer_change *lp_prov_changes(const struct lp_provenance *pv, size_t *n)
{
	*n = pv->nchanges;
	return pv->changes;
}

const struct lp_layer_read *lp_prov_reads(const struct lp_provenance *pv, size_t *n)
{
	*n = pv->nreads;
	return pv->reads;
}
