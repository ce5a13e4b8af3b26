// SPDX-License-Identifier: BSD-2-Clause
/*
 * Provenance of container paths (provenance.h): one entry per path or
 * directory that something happened to, keyed "stage\x1f/path" (a file)
 * or "stage\x1f/dir/" (a whole tree), with the last time it was placed by
 * a COPY and the last time it went. Most paths never get an entry: a path
 * with none is as the COPY left it.
 *
 * Pass 2 asks about a file at almost every event, mostly by a path it has
 * interned (the *_id calls): the entry of a file is then found by its
 * stage and path id in an array (prov_ids), and the map, with its hash and
 * compare of the whole key, is asked only the first time. The same goes
 * for the directories above it, which lp_prov_from_copy_id() asks about
 * at each container read: each directory prefix ("/a/b/") gets an id of
 * its own (dirnames) with its parent's, so the walk up is array steps.
 * The table the path ids come from is never read here: pass 2 runs this
 * on a thread of its own (prov_queue.c) while it interns more paths.
 */
#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "util.h"

struct prov_ent {
	uint64_t placed_ts, gone_ts;
	uint32_t own;           /* its layer ownership: owns[own - 1]; 0 none yet */
};

/* Layer ownership of a file (lp_prov_write & co.), apart: most paths
 * placed or gone never get one, and the other way round. 24 bytes: a
 * build writes hundreds of thousands of files. */
struct prov_own {
	uint64_t bytes;         /* what step wrote to it (present) */
	int32_t step;           /* present: the step whose layer holds it; deleted: the step
				 * whose deletion of it was counted */
	int32_t change;         /* changes[] of the last overwrite or deletion of it, -1 */
	uint32_t ent;           /* its entry: the key idx holds is its stage and path */
	uint16_t stage;         /* stages.v[...] */
	uint8_t present : 1;    /* a version made by `step` is there */
	uint8_t over : 1;       /* that version counts as an overwrite (else created);
				 * changes[change] then says what it replaced */
	uint8_t deleted : 1;    /* absent, its deletion counted for `step` */
	uint8_t link : 1;       /* the version there is a symbolic link */
};

/* The entries of one stage by id: 0 not known yet (ask the map), else
 * its index in ents + ID_ENT. A directory prefix (trees) with none is
 * ID_NONE. A file path (ids) with none is NONE_AT(epoch): that answer holds
 * while the stage's epoch is the same; a file entry made by a key whose
 * path id is not known (a string call, a rename of a directory, a name
 * with a trailing '/') begins a new epoch, as the entry may be the one a
 * path asked about before now has (its id is not looked for: the table of
 * ids is the caller's). */
struct prov_ids {
	uint32_t *v;
	size_t n;
	uint32_t epoch;         /* ids: NONE_AT(epoch) is a valid "none" */
};
#define ID_NONE 1u
#define ID_ENT 2u
#define NONE_BIT 0x80000000u
#define NONE_AT(epoch) (NONE_BIT | (epoch))

struct lp_provenance {
	struct lp_smap idx;          /* key -> index in ents */
	struct prov_ids *ids;        /* [stage]: file entries by path id */
	const char *last_stage;      /* the stage pointer asked last, and its number */
	uint16_t last_k;
	struct prov_ent *ents;
	size_t n, cap;
	uint64_t gone;
	size_t ntrees;               /* entries whose key ends in '/': a whole tree
				      * ("stage\x1f/dir/") or the root */
	/* layer ownership */
	struct prov_own *owns;
	size_t nowns, owns_cap;
	struct lp_strv stages;       /* the stage names, each once */
	struct lp_layer_counts *counts; /* [step] */
	size_t ncounts;
	struct lp_layer_change *changes;
	size_t nchanges, changes_cap;
	struct lp_layer_read *reads;
	size_t nreads, reads_cap;
	struct lp_smap read_seen;    /* "step\x1fkey": a read noted once per step and file */
	struct lp_smap dirs;         /* "stage\x1f/dir": directories above a tracked file */
	char *last_dir;              /* the dirs key own_ent() found or put last */
	size_t last_dir_len, last_dir_cap;
	/* the walk up by ids (lp_prov_from_copy_id): a directory prefix is a
	 * path's beginning up to a '/' ("/", "/a/", "/a/b/") */
	struct lp_strtab dirnames;   /* the prefixes met, each once */
	uint32_t *dir_parent;        /* [prefix id]: the prefix above it, DIR_NONE for "/" */
	size_t ndir_parent;
	uint32_t *file_dir;          /* [path id]: the prefix right above the file, 0 unknown */
	size_t nfile_dir;
	struct prov_ids *trees;      /* [stage]: by prefix id, the entry keyed stage + prefix */
	size_t ids_hint;             /* arrays by path id: made this big at once */
};
#define DIR_NONE UINT32_MAX

struct lp_provenance *lp_prov_new(void)
{
	return lp_xcalloc(1, sizeof(struct lp_provenance));
}

void lp_prov_expect_ids(struct lp_provenance *pv, size_t n)
{
	pv->ids_hint = n;
}

void lp_prov_free(struct lp_provenance *pv)
{
	if (!pv)
		return;
	lp_smap_free(&pv->idx);
	free(pv->ents);
	free(pv->owns);
	for (size_t k = 0; k < pv->stages.n; k++) /* before stages is freed (n = 0) */
		free(pv->ids[k].v);
	for (size_t k = 0; k < pv->stages.n; k++)
		free(pv->trees[k].v);
	free(pv->trees);
	free(pv->ids);
	lp_strv_free(&pv->stages);
	free(pv->counts);
	free(pv->changes);
	free(pv->reads);
	lp_smap_free(&pv->read_seen);
	lp_smap_free(&pv->dirs);
	free(pv->last_dir);
	lp_strtab_free(&pv->dirnames);
	free(pv->dir_parent);
	free(pv->file_dir);
	free(pv);
}

/* "stage\x1f/a/b" (+ "/" for a tree) into buf; false when it does not fit. */
static bool make_key(char *buf, size_t len, const char *stage, const char *cpath, bool dir)
{
	size_t n = strlen(cpath);
	while (n > 1 && cpath[n - 1] == '/')
		n--;
	size_t sl = stage ? strlen(stage) : 0;
	if (sl + 1 + n + dir + 1 > len)
		return false;
	if (sl)
		memcpy(buf, stage, sl);
	buf[sl] = '\x1f';
	memcpy(buf + sl + 1, cpath, n);
	if (dir)
		buf[sl + 1 + n++] = '/';
	buf[sl + 1 + n] = 0;
	return true;
}

/* The number of a stage (stages.v), added on first use. The pointer
 * asked last is remembered: pass 2 gives each step's own stage string,
 * which lives as long as the provenance. */
static uint16_t stage_no(struct lp_provenance *pv, const char *stage)
{
	if (pv->stages.n && stage == pv->last_stage)
		return pv->last_k;
	const char *st = stage ? stage : "";
	size_t k = 0;
	while (k < pv->stages.n && strcmp(pv->stages.v[k], st))
		k++;
	if (k == pv->stages.n) {
		lp_strv_push(&pv->stages, st);
		pv->ids = lp_xrealloc(pv->ids, pv->stages.n * sizeof(*pv->ids));
		pv->ids[k] = (struct prov_ids){ 0 };
		pv->trees = lp_xrealloc(pv->trees, pv->stages.n * sizeof(*pv->trees));
		pv->trees[k] = (struct prov_ids){ 0 };
	}
	pv->last_stage = stage;
	pv->last_k = (uint16_t)k;
	return (uint16_t)k;
}

/* The slot of id in a, made room for (at least `want` slots). */
static uint32_t *ids_slot(struct prov_ids *a, uint32_t id, size_t want)
{
	if (id >= a->n) {
		size_t n = a->n ? a->n * 2 : 1024;
		if (n < want)
			n = want;
		while (n <= id)
			n *= 2;
		a->v = lp_xrealloc(a->v, n * sizeof(*a->v));
		memset(a->v + a->n, 0, (n - a->n) * sizeof(*a->v));
		a->n = n;
	}
	return &a->v[id];
}

/* The slot of path id in stage k's array, made room for. */
static uint32_t *id_slot(struct lp_provenance *pv, uint16_t k, uint32_t id)
{
	return ids_slot(&pv->ids[k], id, pv->ids_hint);
}

/* A file entry of stage k was made that some path ids may name without
 * knowing it: their "none" answers no longer hold. */
static void new_epoch(struct lp_provenance *pv, uint16_t k)
{
	struct prov_ids *a = &pv->ids[k];
	if (++a->epoch < NONE_BIT)
		return;
	/* (after 2^31 of them) the oldest "none" would look valid again;
	 * not 0: that says no entry of no id was made (file_ent) */
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] & NONE_BIT)
			a->v[i] = 0;
	a->epoch = 1;
}

/* The id of directory prefix s[0..len) (it ends in '/'), made on first
 * use with those above it (top down, without recursion: a path may have
 * 2,000 components), each noting its parent. 0 when too long. */
static uint32_t dir_id(struct lp_provenance *pv, const char *s, size_t len)
{
	char buf[4200];
	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = 0;
	uint32_t d = lp_strtab_find(&pv->dirnames, buf);
	if (d)
		return d;
	/* every prefix ending in '/' ("/", "/a/", "/a/b/"): the one before
	 * each is its parent */
	uint32_t up = DIR_NONE;
	for (size_t p = 1; p <= len; p++) {
		if (buf[p - 1] != '/')
			continue;
		char saved = buf[p];
		buf[p] = 0;
		size_t before = pv->dirnames.n;
		d = lp_strtab_intern(&pv->dirnames, buf);
		buf[p] = saved;
		if (pv->dirnames.n != before) {
			if (d >= pv->ndir_parent)
				lp_grow((void **)&pv->dir_parent, &pv->ndir_parent, (size_t)d + 1,
					sizeof(*pv->dir_parent));
			pv->dir_parent[d] = up;
		}
		up = d;
	}
	return d;
}

/* The prefix right above the file key path x (x as make_key() has it),
 * DIR_NONE when x has none ("/"), 0 when too long. */
static uint32_t first_dir(struct lp_provenance *pv, const char *x, size_t n)
{
	size_t p = n - 1;
	while (p > 0 && x[p - 1] != '/')
		p--;
	return p > 0 ? dir_id(pv, x, p) : DIR_NONE;
}

/* A new entry for key (its index); a file's is noted by its path's id
 * (fid) when the caller knows it, else a new epoch begins (an id asked
 * before as having none must find it now). */
static void ent_note(struct lp_provenance *pv, const char *key, uint16_t k, uint32_t fid, int i)
{
	if (key[strlen(key) - 1] == '/') {
		pv->ntrees++;
		/* a prefix met before, asked as having none, must find it now */
		uint32_t d = lp_strtab_find(&pv->dirnames, strchr(key, '\x1f') + 1);
		if (d)
			*ids_slot(&pv->trees[k], d, pv->dirnames.n) = (uint32_t)i + ID_ENT;
	} else if (fid) {
		*id_slot(pv, k, fid) = (uint32_t)i + ID_ENT;
	} else {
		new_epoch(pv, k);
	}
}

static int ent_add(struct lp_provenance *pv, const char *key, uint16_t k, uint32_t fid)
{
	lp_grow((void **)&pv->ents, &pv->cap, pv->n + 1, sizeof(*pv->ents));
	int i = (int)pv->n++;
	lp_smap_put(&pv->idx, key, i);
	ent_note(pv, key, k, fid, i);
	return i;
}

/* The entry of key, made as ent_add() makes it when it has none. */
static int ent_get_or_add(struct lp_provenance *pv, const char *key, uint16_t k, uint32_t fid)
{
	bool added;
	int i = lp_smap_get_or_put(&pv->idx, key, (int)pv->n, &added);
	if (added) {
		lp_grow((void **)&pv->ents, &pv->cap, pv->n + 1, sizeof(*pv->ents));
		pv->n++;
		ent_note(pv, key, k, fid, i);
	}
	return i;
}

static struct prov_ent *ent(struct lp_provenance *pv, const char *key, uint16_t k)
{
	int i = ent_get_or_add(pv, key, k, 0); /* (first: it may move ents) */
	return &pv->ents[i];
}

/* The entry of file cpath (id: its id, or 0) in stage: its index, -1 when
 * it has none, -2 when cpath is no container path that can have one. With
 * create, made when it has none. The key is in key (when keyed: the map
 * was asked; else key[0] is 0). */
static int file_ent(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, bool create,
		    char *key, size_t len)
{
	key[0] = 0;
	if (!cpath || cpath[0] != '/')
		return -2;
	uint16_t k = stage_no(pv, stage);
	uint32_t *slot = NULL;
	bool absent = false;    /* known to have none: the map is not asked */
	if (id) {
		slot = id_slot(pv, k, id);
		if (*slot >= ID_ENT && !(*slot & NONE_BIT))
			return (int)(*slot - ID_ENT);
		/* none: so answered in this epoch; or never asked while the
		 * stage has made no entry of no id (each entry is then in its
		 * id's slot; most paths are new, and most stages never make
		 * one), unless a trailing '/' makes the key another path's */
		absent = *slot == NONE_AT(pv->ids[k].epoch) ||
			 (!*slot && !pv->ids[k].epoch && cpath[strlen(cpath) - 1] != '/');
		if (absent && !create)
			return -1;
	}
	if (!make_key(key, len, stage, cpath, false))
		return -2;
	/* the key's path is the id's own (not a name with a trailing '/') */
	bool own = id && !strcmp(strchr(key, '\x1f') + 1, cpath);
	int i = absent ? (create ? ent_add(pv, key, k, own ? id : 0) : -1)
	       : create ? ent_get_or_add(pv, key, k, own ? id : 0) : lp_smap_get(&pv->idx, key);
	if (slot) {
		slot = id_slot(pv, k, id); /* (ent_add may have moved it) */
		if (i >= 0)
			*slot = (uint32_t)i + ID_ENT;
		else if (own)
			*slot = NONE_AT(pv->ids[k].epoch); /* (a name with a trailing '/' is another's key:
							    * never "none") */
	}
	return i;
}

void lp_prov_gone_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, bool dir,
		     uint64_t ts)
{
	char key[4200];
	int i = file_ent(pv, stage, cpath, id, true, key, sizeof(key));
	if (i < 0)
		return;
	struct prov_ent *e = &pv->ents[i];
	if (!e->gone_ts || e->gone_ts < e->placed_ts)
		pv->gone++;
	e->gone_ts = ts;
	if (dir && make_key(key, sizeof(key), stage, cpath, true))
		ent(pv, key, stage_no(pv, stage))->gone_ts = ts;
}

void lp_prov_gone(struct lp_provenance *pv, const char *stage, const char *cpath, bool dir, uint64_t ts)
{
	lp_prov_gone_id(pv, stage, cpath, 0, dir, ts);
}

void lp_prov_placed_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, uint64_t ts)
{
	char key[4200];
	int i = file_ent(pv, stage, cpath, id, true, key, sizeof(key));
	if (i >= 0)
		pv->ents[i].placed_ts = ts;
}

void lp_prov_placed(struct lp_provenance *pv, const char *stage, const char *cpath, uint64_t ts)
{
	lp_prov_placed_id(pv, stage, cpath, 0, ts);
}

/* The walk up of lp_prov_from_copy_id() for a file with a usable path id:
 * *gone raised to the latest gone_ts of the tree entries above it (the
 * same keys the walk by strings asks for). False: the path is too long
 * for keys (no entry can match it). */
static bool walk_gone(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id,
		      uint64_t *gone)
{
	uint16_t k = stage_no(pv, stage);
	uint32_t d = id < pv->nfile_dir ? pv->file_dir[id] : 0;
	if (!d) {
		size_t n = strlen(cpath);
		while (n > 1 && cpath[n - 1] == '/')
			n--;
		if (!(d = first_dir(pv, cpath, n)))
			return false;
		if (id >= pv->nfile_dir)
			lp_grow((void **)&pv->file_dir, &pv->nfile_dir,
				pv->ids_hint > id ? pv->ids_hint : (size_t)id + 1, sizeof(*pv->file_dir));
		pv->file_dir[id] = d;
	}
	size_t sl = stage ? strlen(stage) : 0;
	for (; d != DIR_NONE; d = pv->dir_parent[d]) {
		uint32_t *slot = ids_slot(&pv->trees[k], d, pv->dirnames.n);
		if (!*slot) {
			char key[4200];
			const char *pre = lp_strtab_str(&pv->dirnames, d);
			size_t pl = strlen(pre);
			if (sl + 1 + pl + 1 > sizeof(key))
				return false;
			memcpy(key, stage ? stage : "", sl);
			key[sl] = '\x1f';
			memcpy(key + sl + 1, pre, pl + 1);
			int i = lp_smap_get(&pv->idx, key);
			slot = ids_slot(&pv->trees[k], d, pv->dirnames.n);
			*slot = i >= 0 ? (uint32_t)i + ID_ENT : ID_NONE;
		}
		if (*slot >= ID_ENT && pv->ents[*slot - ID_ENT].gone_ts > *gone)
			*gone = pv->ents[*slot - ID_ENT].gone_ts;
	}
	return true;
}

bool lp_prov_from_copy_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id)
{
	if (!pv->n || !cpath || cpath[0] != '/')
		return true;
	char key[4200];
	int i = file_ent(pv, stage, cpath, id, false, key, sizeof(key));
	if (i == -2)
		return true;
	uint64_t placed = i >= 0 ? pv->ents[i].placed_ts : 0;
	uint64_t gone = i >= 0 ? pv->ents[i].gone_ts : 0;
	if (!pv->ntrees) /* no directory above it has an entry */
		return !gone || placed > gone;
	if (id && !walk_gone(pv, stage, cpath, id, &gone))
		return true;
	if (id)
		return !gone || placed > gone;
	if (!key[0] && !make_key(key, sizeof(key), stage, cpath, false))
		return true;
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

bool lp_prov_from_copy(struct lp_provenance *pv, const char *stage, const char *cpath)
{
	return lp_prov_from_copy_id(pv, stage, cpath, 0);
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
	/* (every one of them begins "/d", "/p", "/s" or "/e") */
	char c = cpath[1];
	if (c != 'd' && c != 'p' && c != 's' && c != 'e')
		return false;
	static const char *const mounts[] = { "/dev", "/proc", "/sys" };
	for (size_t i = 0; i < LP_ARRAY_SIZE(mounts); i++) {
		size_t n = strlen(mounts[i]);
		if (!strncmp(cpath, mounts[i], n) && (cpath[n] == '/' || !cpath[n]))
			return true;
	}
	return !strcmp(cpath, "/etc/hosts") || !strcmp(cpath, "/etc/resolv.conf") ||
	       !strcmp(cpath, "/etc/hostname");
}

/* The container path of an ownership entry: the map's own copy of the
 * key (entry i is the map's i-th: ent() alone puts, each key once). */
static const char *own_path(const struct lp_provenance *pv, const struct prov_own *o)
{
	return strchr(pv->idx.ents[o->ent].key, '\x1f') + 1;
}

/* The ownership of a file, made on first use; NULL when the path is not a
 * layer's. The pointer holds until the next call. */
static struct prov_own *own_ent(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id)
{
	char key[4200];
	if (!cpath || cpath[0] != '/' || not_in_layer(cpath))
		return NULL;
	int i = file_ent(pv, stage, cpath, id, true, key, sizeof(key));
	if (i < 0)
		return NULL;
	struct prov_ent *e = &pv->ents[i];
	if (e->own)
		return &pv->owns[e->own - 1];
	lp_grow((void **)&pv->owns, &pv->owns_cap, pv->nowns + 1, sizeof(*pv->owns));
	struct prov_own *o = &pv->owns[pv->nowns++];
	e->own = (uint32_t)pv->nowns;
	o->step = o->change = -1;
	o->ent = (uint32_t)i;
	o->stage = stage_no(pv, stage);
	/* its directories, for a rename of one of them (stops at the first
	 * one known: the ones above it are known too) */
	if (!key[0] && !make_key(key, sizeof(key), stage, cpath, false))
		return o;
	char *sep = strchr(key, '\x1f');
	char *sl = strrchr(sep + 1, '/');
	if (!sl || sl <= sep + 1)
		return o;
	/* the directory of the file before, most of the time (a package
	 * unpacked, a tree copied): known, with those above it */
	size_t dl = (size_t)(sl - key);
	if (dl == pv->last_dir_len && !memcmp(key, pv->last_dir, dl))
		return o;
	if (dl + 1 > pv->last_dir_cap) {
		pv->last_dir_cap = dl + 1 > 256 ? dl + 1 : 256;
		pv->last_dir = lp_xrealloc(pv->last_dir, pv->last_dir_cap);
	}
	memcpy(pv->last_dir, key, dl);
	pv->last_dir_len = dl;
	for (bool added = true; added && sl && sl > sep + 1; sl = strrchr(sep + 1, '/')) {
		*sl = 0;
		lp_smap_get_or_put(&pv->dirs, key, 1, &added);
	}
	return o;
}

static struct lp_layer_counts *counts(struct lp_provenance *pv, int step)
{
	if ((size_t)step >= pv->ncounts)
		lp_grow((void **)&pv->counts, &pv->ncounts, (size_t)step + 1, sizeof(*pv->counts));
	return &pv->counts[step];
}

static int add_change(struct lp_provenance *pv, const struct prov_own *o, int from, int to, bool deleted,
		      uint64_t bytes)
{
	lp_grow((void **)&pv->changes, &pv->changes_cap, pv->nchanges + 1, sizeof(*pv->changes));
	struct lp_layer_change *c = &pv->changes[pv->nchanges];
	c->from = from;
	c->to = to;
	c->deleted = deleted;
	c->link = o->link;
	c->bytes = bytes;
	c->stage = pv->stages.v[o->stage];
	c->path = own_path(pv, o);
	return (int)pv->nchanges++;
}

static void write_ent(struct lp_provenance *pv, struct prov_own *o, int step, uint64_t bytes)
{
	struct lp_layer_counts *c = counts(pv, step);
	if (o->present && o->step == step) {
		o->bytes += bytes;
		c->bytes += bytes;
		return;
	}
	if (o->present) {
		/* an earlier layer's version: it stays in that layer */
		o->change = add_change(pv, o, o->step, step, false, o->bytes);
		o->over = 1;
		c->overwritten++;
		c->overwritten_bytes += o->bytes;
	} else if (o->deleted && o->step == step) {
		/* removed and made again by the same step (rm -rf, then an
		 * install; a copy that unlinks first): written again */
		c->deleted--;
		c->overwritten++;
		o->over = 1;
		if (o->change >= 0) {
			struct lp_layer_change *ch = &pv->changes[o->change];
			ch->deleted = false;
			c->deleted_bytes -= ch->bytes;
			c->overwritten_bytes += ch->bytes;
		} else {
			/* a version no step of the trace made (the base image's,
			 * a cached step's): a change from no step, no bytes */
			o->change = add_change(pv, o, -1, step, false, 0);
		}
	} else {
		c->created++;
		o->change = -1;
		o->over = 0;
	}
	o->present = 1;
	o->deleted = 0;
	o->link = 0;
	o->step = step;
	o->bytes = bytes;
	c->bytes += bytes;
}

void lp_prov_write_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step,
		      uint64_t bytes)
{
	struct prov_own *o = step >= 0 ? own_ent(pv, stage, cpath, id) : NULL;
	if (o)
		write_ent(pv, o, step, bytes);
}

void lp_prov_link_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step)
{
	struct prov_own *o = step >= 0 ? own_ent(pv, stage, cpath, id) : NULL;
	if (o) {
		write_ent(pv, o, step, 0);
		o->link = 1;
		/* a version it replaced that no step of the trace made: the new
		 * one is a link, the old most likely was too */
		if (o->change >= 0 && pv->changes[o->change].to == step && pv->changes[o->change].from < 0)
			pv->changes[o->change].link = true;
	}
}

void lp_prov_write(struct lp_provenance *pv, const char *stage, const char *cpath, int step, uint64_t bytes)
{
	lp_prov_write_id(pv, stage, cpath, 0, step, bytes);
}

static void delete_ent(struct lp_provenance *pv, struct prov_own *o, int step)
{
	struct lp_layer_counts *c = counts(pv, step);
	if (o->present && o->step == step) {
		/* made by this step and gone before it ended: never in its layer */
		c->bytes -= o->bytes;
		if (o->over) {
			/* it had replaced an earlier version: that one is now deleted */
			struct lp_layer_change *ch = &pv->changes[o->change];
			c->overwritten--;
			c->deleted++;
			ch->deleted = true;
			c->overwritten_bytes -= ch->bytes;
			c->deleted_bytes += ch->bytes;
			o->deleted = 1;
		} else {
			c->created--;
			o->deleted = 0;
		}
	} else if (o->present) {
		o->change = add_change(pv, o, o->step, step, true, o->bytes);
		c->deleted++;
		c->deleted_bytes += o->bytes;
		o->deleted = 1;
	} else if (!o->deleted) {
		/* no step of the trace made it (the base image's, a cached
		 * step's): counted, no bytes; a change only when this step
		 * makes it again (write_ent) */
		c->deleted++;
		c->unsized++;
		o->change = -1;
		o->deleted = 1;
	} else {
		return; /* already gone */
	}
	o->present = 0;
	o->over = 0;
	o->step = step;
	o->bytes = 0;
}

void lp_prov_delete_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step)
{
	struct prov_own *o = step >= 0 ? own_ent(pv, stage, cpath, id) : NULL;
	if (o)
		delete_ent(pv, o, step);
}

/* A directory renamed: the tracked files under from go under to (a file
 * renamed each). False when no tracked file is under from. */
static bool rename_tree(struct lp_provenance *pv, const char *stage, const char *from, const char *to, int step)
{
	char key[4200];
	if (!from || !to || !make_key(key, sizeof(key), stage, from, false) || lp_smap_get(&pv->dirs, key) < 0)
		return false;
	const char *dir = strchr(key, '\x1f') + 1;
	size_t dl = strlen(dir), n = pv->nowns;
	const char *st = stage ? stage : "";
	for (size_t i = 0; i < n; i++) {
		struct prov_own *o = &pv->owns[i];
		const char *path = own_path(pv, o);
		if (!o->present || strcmp(pv->stages.v[o->stage], st) || strncmp(path, dir, dl) || path[dl] != '/')
			continue;
		char dst[4200];
		if (snprintf(dst, sizeof(dst), "%s%s", to, path + dl) >= (int)sizeof(dst))
			continue;
		uint64_t bytes = o->bytes;
		delete_ent(pv, o, step);
		struct prov_own *t = own_ent(pv, stage, dst, 0); /* (owns may move: o is stale) */
		if (t)
			write_ent(pv, t, step, bytes);
	}
	return true;
}

void lp_prov_delete(struct lp_provenance *pv, const char *stage, const char *cpath, int step)
{
	lp_prov_delete_id(pv, stage, cpath, 0, step);
}

void lp_prov_rename_id(struct lp_provenance *pv, const char *stage, const char *from, uint32_t from_id,
		       const char *to, uint32_t to_id, int step)
{
	if (step < 0)
		return;
	if (rename_tree(pv, stage, from, to, step))
		return;
	struct prov_own *f = own_ent(pv, stage, from, from_id);
	uint64_t bytes = 0;
	if (f) {
		bytes = f->present ? f->bytes : 0;
		delete_ent(pv, f, step);
	}
	struct prov_own *t = own_ent(pv, stage, to, to_id); /* (owns may have moved: f is stale) */
	if (t)
		write_ent(pv, t, step, bytes);
}

void lp_prov_rename(struct lp_provenance *pv, const char *stage, const char *from, const char *to, int step)
{
	lp_prov_rename_id(pv, stage, from, 0, to, 0, step);
}

void lp_prov_read_id(struct lp_provenance *pv, const char *stage, const char *cpath, uint32_t id, int step)
{
	char key[4200];
	if (step < 0)
		return;
	int i = file_ent(pv, stage, cpath, id, false, key, sizeof(key));
	if (i < 0 || !pv->ents[i].own)
		return;
	const struct prov_own *e = &pv->owns[pv->ents[i].own - 1];
	/* the versions that replaced another (of a known step or not) */
	if (!e->present || e->step == step || !e->over)
		return;
	if (!key[0] && !make_key(key, sizeof(key), stage, cpath, false))
		return;
	char seen[4300];
	snprintf(seen, sizeof(seen), "%d\x1f%s", step, key);
	if (lp_smap_get(&pv->read_seen, seen) >= 0)
		return;
	lp_smap_put(&pv->read_seen, seen, 1);
	lp_grow((void **)&pv->reads, &pv->reads_cap, pv->nreads + 1, sizeof(*pv->reads));
	pv->reads[pv->nreads++] = (struct lp_layer_read){ .step = step, .copy_of = e->step,
							  .replaced = pv->changes[e->change].from,
							  .stage = pv->stages.v[e->stage], .path = own_path(pv, e) };
}

void lp_prov_read(struct lp_provenance *pv, const char *stage, const char *cpath, int step)
{
	lp_prov_read_id(pv, stage, cpath, 0, step);
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
