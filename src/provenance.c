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
};

struct lp_provenance {
	struct lp_smap idx;          /* key -> index in ents */
	struct prov_ent *ents;
	size_t n, cap;
	uint64_t gone;
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
	free(pv->ents);
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
