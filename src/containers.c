/* SPDX-License-Identifier: BSD-2-Clause */
/* The generic containers (containers.h). */
#include "containers.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

uint32_t lp_hash_str(const char *s, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* A hash of len bytes, 8 at a time: interning and the string maps
 * (provenance, per-step sets) are used for nearly every event of a trace. */
static uint32_t str_hash(const char *s, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len, w;
	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static void smap_grow(struct lp_smap *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 64, mask = ns - 1;
	free(m->slots);
	m->slots = lp_xcalloc_written(ns, sizeof(*m->slots));
	m->nslots = ns;
	for (size_t k = 0; k < m->n; k++) {
		size_t i = m->ents[k].hash & mask;
		while (m->slots[i].ent)
			i = (i + 1) & mask;
		m->slots[i] = (struct lp_smap_slot){ m->ents[k].hash, (uint32_t)k + 1 };
	}
}

/* The slot of key: its entry's, or the empty one where it would go. */
static struct lp_smap_slot *smap_slot(const struct lp_smap *m, const char *key, uint32_t h)
{
	size_t mask = m->nslots - 1, i = h & mask;
	for (; m->slots[i].ent; i = (i + 1) & mask)
		if (m->slots[i].hash == h && !strcmp(m->ents[m->slots[i].ent - 1].key, key))
			break;
	return &m->slots[i];
}

int lp_smap_get(const struct lp_smap *m, const char *key)
{
	if (!m->nslots)
		return -1;
	const struct lp_smap_slot *sl = smap_slot(m, key, str_hash(key, strlen(key)));
	return sl->ent ? m->ents[sl->ent - 1].val : -1;
}

/* The slot of key, made room for one more entry first. */
static struct lp_smap_slot *smap_slot_for_put(struct lp_smap *m, const char *key, uint32_t h)
{
	if ((m->n + 1) * 2 > m->nslots)
		smap_grow(m);
	return smap_slot(m, key, h);
}

/* A new entry in the empty slot sl. */
static void smap_add(struct lp_smap *m, struct lp_smap_slot *sl, const char *key, uint32_t h, int val)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->ents = lp_xrealloc(m->ents, m->cap * sizeof(*m->ents));
	}
	struct lp_smap_ent *e = &m->ents[m->n++];
	e->key = lp_xstrdup(key);
	e->val = val;
	e->hash = h;
	*sl = (struct lp_smap_slot){ h, (uint32_t)m->n };
}

void lp_smap_put(struct lp_smap *m, const char *key, int val)
{
	uint32_t h = str_hash(key, strlen(key));
	struct lp_smap_slot *sl = smap_slot_for_put(m, key, h);
	if (sl->ent)
		m->ents[sl->ent - 1].val = val;
	else
		smap_add(m, sl, key, h, val);
}

int lp_smap_get_or_put(struct lp_smap *m, const char *key, int val, bool *added)
{
	uint32_t h = str_hash(key, strlen(key));
	struct lp_smap_slot *sl = smap_slot_for_put(m, key, h);
	*added = !sl->ent;
	if (sl->ent)
		return m->ents[sl->ent - 1].val;
	smap_add(m, sl, key, h, val);
	return val;
}

void lp_smap_free(struct lp_smap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->ents[i].key);
	free(m->ents);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------ interned strings */

#define STRTAB_CHUNK (1u << 20)

static void strtab_slots(struct lp_strtab *t, size_t nslots)
{
	struct lp_strslot *old = t->slots;
	size_t oldn = t->nslots, mask = nslots - 1;
	t->slots = lp_xcalloc_written(nslots, sizeof(*t->slots));
	t->nslots = nslots;
	for (size_t k = 0; k < oldn; k++) {
		if (!old[k].id)
			continue;
		size_t i = old[k].hash & mask;
		while (t->slots[i].id)
			i = (i + 1) & mask;
		t->slots[i] = old[k];
	}
	free(old);
}

/* A trace names the same paths again and again (an open, its stats, its
 * reads, and later the export's walk over the layer): a table of the
 * strings interned lately, direct-mapped by hash, answers most lookups
 * without a miss in the big one. It holds the string's address, so a hit
 * reads the string itself and nothing else. 64Ki entries (1 MiB): on the
 * 10M-event benchmark trace (0.7M distinct paths, 5.9M lookups) 8Ki
 * entries answered 46 % of the lookups, 256Ki 85 %. */
#define STRTAB_RECENT 65536u

static uint32_t intern_slow(struct lp_strtab *t, const char *s, size_t len, uint32_t h);

uint32_t lp_strtab_hash(const char *s, size_t len)
{
	return str_hash(s, len);
}

uint32_t lp_strtab_intern(struct lp_strtab *t, const char *s)
{
	size_t len = strlen(s);
	return lp_strtab_intern_hashed(t, s, len, str_hash(s, len));
}

uint32_t lp_strtab_intern_hashed(struct lp_strtab *t, const char *s, size_t len, uint32_t h)
{
	if (!t->n)
		t->n = 1; /* id 0 is "no string" */
	if (!t->recent)
		t->recent = lp_xcalloc(STRTAB_RECENT, sizeof(*t->recent));
	struct lp_strslot *rc = &t->recent[h % STRTAB_RECENT];
	if (rc->id && rc->hash == h && !strcmp(rc->str, s))
		return rc->id;
	uint32_t id = intern_slow(t, s, len, h);
	*rc = (struct lp_strslot){ t->str[id], id, h };
	return id;
}

uint32_t lp_strtab_prefetch(const struct lp_strtab *t, const char *s, size_t len)
{
	uint32_t h = str_hash(s, len);
	if (t->recent)
		__builtin_prefetch(&t->recent[h % STRTAB_RECENT]);
	return h;
}

void lp_strtab_prefetch_more(const struct lp_strtab *t, uint32_t h)
{
	if (!t->recent || !t->nslots)
		return;
	const struct lp_strslot *rc = &t->recent[h % STRTAB_RECENT];
	if (rc->id && rc->hash == h)
		__builtin_prefetch(rc->str);
	else
		__builtin_prefetch(&t->slots[h & (t->nslots - 1)]);
}

static uint32_t intern_slow(struct lp_strtab *t, const char *s, size_t len, uint32_t h)
{
	if ((t->n + 1) * 2 > t->nslots)
		strtab_slots(t, t->nslots ? t->nslots * 2 : 4096);
	/* a slot holds the hash next to the id: a probe touches one cache
	 * line, and the string only when the hash matches */
	size_t mask = t->nslots - 1, i = h & mask;
	for (uint32_t id; (id = t->slots[i].id); i = (i + 1) & mask)
		if (t->slots[i].hash == h && !strcmp(t->slots[i].str, s))
			return id;
	if (t->n >= t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->str = lp_xrealloc(t->str, t->cap * sizeof(*t->str));
	}
	if (len + 1 > t->free_len) {
		size_t sz = len + 1 > STRTAB_CHUNK ? len + 1 : STRTAB_CHUNK;
		t->chunks = lp_xrealloc(t->chunks, (t->nchunks + 1) * sizeof(char *));
		t->free_at = t->chunks[t->nchunks++] = lp_xmalloc(sz);
		t->free_len = sz;
		t->bytes += sz;
	}
	char *copy = t->free_at;
	memcpy(copy, s, len + 1);
	t->free_at += len + 1;
	t->free_len -= len + 1;
	uint32_t id = (uint32_t)t->n++;
	t->str[id] = copy;
	t->slots[i].id = id;
	t->slots[i].hash = h;
	t->slots[i].str = copy;
	return id;
}

uint32_t lp_strtab_find(const struct lp_strtab *t, const char *s)
{
	if (!t->nslots)
		return 0;
	uint32_t h = str_hash(s, strlen(s));
	size_t mask = t->nslots - 1, i = h & mask;
	for (uint32_t id; (id = t->slots[i].id); i = (i + 1) & mask)
		if (t->slots[i].hash == h && !strcmp(t->slots[i].str, s))
			return id;
	return 0;
}

void lp_strtab_free(struct lp_strtab *t)
{
	free(t->recent);
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->str);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

void lp_strv_push(struct lp_strv *s, const char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = lp_xrealloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = lp_xstrdup(str);
}

bool lp_strv_has(const struct lp_strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], str))
			return true;
	return false;
}

void lp_strv_free(struct lp_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void lp_strv_sort_uniq(struct lp_strv *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(char *), cmp_strp);
	size_t o = 1;
	for (size_t i = 1; i < s->n; i++) {
		if (!strcmp(s->v[i], s->v[o - 1]))
			free(s->v[i]);
		else
			s->v[o++] = s->v[i];
	}
	s->n = o;
}

/* ------------------------------------------------------ u64 -> u64 map */

static size_t u64_home(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static void u64_use(struct lp_u64map *m, size_t i, bool on)
{
	if (on)
		m->used[i >> 6] |= 1ull << (i & 63);
	else
		m->used[i >> 6] &= ~(1ull << (i & 63));
}

/* The slot of key, or of the empty slot where it would go. */
static size_t u64_slot(const struct lp_u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = u64_home(key, m->cap);
	while (lp_u64map_used(m, i) && m->slots[i].key != key)
		i = (i + 1) & mask;
	return i;
}

uint64_t *lp_u64map_find(const struct lp_u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t i = u64_slot(m, key);
	return lp_u64map_used(m, i) ? &m->slots[i].val : NULL;
}

uint64_t *lp_u64map_slot(struct lp_u64map *m, uint64_t key, bool *added)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct lp_u64map old = *m;
		m->cap = old.cap ? old.cap * 2 : 64;
		m->n = 0;
		m->slots = lp_xcalloc_written(m->cap, sizeof(*m->slots));
		m->used = lp_xcalloc_written(m->cap / 64, sizeof(*m->used));
		for (size_t i = 0; i < old.cap; i++)
			if (lp_u64map_used(&old, i))
				lp_u64map_put(m, old.slots[i].key, old.slots[i].val);
		lp_u64map_free(&old);
	}
	size_t i = u64_slot(m, key);
	*added = !lp_u64map_used(m, i);
	if (*added) {
		u64_use(m, i, true);
		m->slots[i].key = key;
		m->slots[i].val = 0;
		m->n++;
	}
	return &m->slots[i].val;
}

void lp_u64map_put(struct lp_u64map *m, uint64_t key, uint64_t val)
{
	bool added;
	*lp_u64map_slot(m, key, &added) = val;
}

/* Empty used slot i, moving back the entries that probed past it. */
static void u64_del_at(struct lp_u64map *m, size_t i)
{
	size_t mask = m->cap - 1;
	struct lp_u64slot *s = m->slots;
	u64_use(m, i, false);
	m->n--;
	for (size_t j = (i + 1) & mask; lp_u64map_used(m, j); j = (j + 1) & mask) {
		size_t home = u64_home(s[j].key, m->cap);
		/* move j into the hole at i when its home is not in (i, j] */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			s[i] = s[j];
			u64_use(m, i, true);
			u64_use(m, j, false);
			i = j;
		}
	}
}

bool lp_u64map_del(struct lp_u64map *m, uint64_t key)
{
	if (!m->cap)
		return false;
	size_t i = u64_slot(m, key);
	if (!lp_u64map_used(m, i))
		return false;
	u64_del_at(m, i);
	return true;
}

void lp_u64map_del_found(struct lp_u64map *m, uint64_t *val)
{
	u64_del_at(m, (size_t)((const char *)val - (const char *)m->slots) / sizeof(*m->slots));
}

void lp_u64map_free(struct lp_u64map *m)
{
	free(m->slots);
	free(m->used);
	memset(m, 0, sizeof(*m));
}
