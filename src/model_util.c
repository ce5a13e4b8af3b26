/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model's small containers (model_int.h): a string -> int map, interned
 * strings, string vectors, and lp_xasprintf. Plain and generic; model.c,
 * correlate.c, analyze.c and infer.c build on them.
 */
#include "model_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ------------------------------------------------------------ utilities */

char *lp_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = lp_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	return s;
}

uint32_t lp_hash_str(const char *s, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static void smap_grow(struct lp_smap *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
	free(m->buckets);
	m->buckets = lp_xmalloc(nb * sizeof(int));
	for (size_t i = 0; i < nb; i++)
		m->buckets[i] = -1;
	m->nbuckets = nb;
	for (size_t i = 0; i < m->n; i++) {
		size_t b = m->ents[i].hash & (nb - 1);
		m->ents[i].next = m->buckets[b];
		m->buckets[b] = (int)i;
	}
}

int lp_smap_get(const struct lp_smap *m, const char *key)
{
	if (!m->nbuckets)
		return -1;
	uint32_t h = lp_hash_str(key, 0);
	for (int i = m->buckets[h & (m->nbuckets - 1)]; i >= 0; i = m->ents[i].next)
		if (m->ents[i].hash == h && !strcmp(m->ents[i].key, key))
			return m->ents[i].val;
	return -1;
}

void lp_smap_put(struct lp_smap *m, const char *key, int val)
{
	uint32_t h = lp_hash_str(key, 0);
	if (m->nbuckets)
		for (int i = m->buckets[h & (m->nbuckets - 1)]; i >= 0; i = m->ents[i].next)
			if (m->ents[i].hash == h && !strcmp(m->ents[i].key, key)) {
				m->ents[i].val = val;
				return;
			}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->ents = lp_xrealloc(m->ents, m->cap * sizeof(*m->ents));
	}
	struct lp_smap_ent *e = &m->ents[m->n];
	e->key = lp_xstrdup(key);
	e->val = val;
	e->hash = h;
	m->n++;
	if (m->n > m->nbuckets) {
		smap_grow(m);
	} else {
		size_t b = h & (m->nbuckets - 1);
		e->next = m->buckets[b];
		m->buckets[b] = (int)(m->n - 1);
	}
}

void lp_smap_free(struct lp_smap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->ents[i].key);
	free(m->ents);
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------ interned strings */

#define STRTAB_CHUNK (1u << 20)

static void strtab_slots(struct lp_strtab *t, size_t nslots)
{
	struct lp_strslot *old = t->slots;
	size_t oldn = t->nslots, mask = nslots - 1;
	t->slots = lp_xcalloc(nslots, sizeof(*t->slots));
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

/* A hash of len bytes, 8 at a time: interning is done for nearly every
 * event of a trace. */
static uint32_t strtab_hash(const char *s, size_t len)
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

uint32_t lp_strtab_intern(struct lp_strtab *t, const char *s)
{
	size_t len = strlen(s);
	uint32_t h = strtab_hash(s, len);
	if (!t->n)
		t->n = 1; /* id 0 is "no string" */
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

void lp_strtab_free(struct lp_strtab *t)
{
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

void lp_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	*p = lp_xrealloc(*p, nc * elem);
	memset((char *)*p + *cap * elem, 0, (nc - *cap) * elem);
	*cap = nc;
}

void lp_argv_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *lp_argv_cmd_text(char **argv, int argc)
{
	if (argc >= 3 && !strcmp(argv[1], "-c"))
		return lp_xstrdup(argv[2]);
	struct lp_buf b = { 0 };
	for (int i = 0; i < argc; i++) {
		if (i)
			lp_buf_puts(&b, " ");
		lp_buf_puts(&b, argv[i]);
	}
	return b.data ? b.data : lp_xstrdup("");
}

bool lp_is_transfer_tmp_name(const char *rel)
{
	return lp_starts_with(lp_base_name(rel), ".tmp.");
}
