/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one home of the generic containers (docs/architecture.md, "Shared
 * helpers"): a string -> int map, interned strings, string vectors and a
 * u64 -> u64 map. Plain C, no knowledge of traces or models; anything that
 * needs a table builds on these rather than writing its own.
 */
#ifndef LAYERPROF_CONTAINERS_H
#define LAYERPROF_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------- string -> int map */

struct lp_smap_ent {
	char *key;
	int val;
	uint32_t hash;
};
/* Entries in insertion order (ents[0..n-1], for a caller to walk); an
 * open-addressing index over them whose slot holds the hash next to the
 * entry, so a lookup that misses touches one cache line. */
struct lp_smap_slot {
	uint32_t hash;
	uint32_t ent;           /* ents[ent - 1]; 0: empty */
};
struct lp_smap {
	struct lp_smap_ent *ents;
	size_t n, cap;
	struct lp_smap_slot *slots;
	size_t nslots;
};
uint32_t lp_hash_str(const char *s, uint32_t seed);
/* Value of key, or -1. */
int lp_smap_get(const struct lp_smap *m, const char *key);
/* Insert (key copied) or overwrite. */
void lp_smap_put(struct lp_smap *m, const char *key, int val);
/* The value of key; when it has none, val (key copied), with *added set:
 * a get, then a put, for one hash and one probe. */
int lp_smap_get_or_put(struct lp_smap *m, const char *key, int val, bool *added);
void lp_smap_free(struct lp_smap *m);

/* Interned strings (the paths of a trace): each distinct string once, with
 * a number. Ids start at 1; 0 means "no string". Strings live until the
 * table is freed. */
struct lp_strslot {
	const char *str;        /* the string, for the compare without a detour */
	uint32_t id;            /* 0: empty */
	uint32_t hash;
};
struct lp_strtab {
	const char **str;       /* [id] */
	size_t n;               /* ids in use: 1..n-1 */
	size_t cap;
	struct lp_strslot *slots; /* open addressing */
	size_t nslots;
	char **chunks;          /* the strings' storage */
	size_t nchunks;
	char *free_at;          /* room left in the last chunk */
	size_t free_len;
	size_t bytes;           /* memory held */
	struct lp_strslot *recent; /* [hash % STRTAB_RECENT]: a string interned
				 * lately, looked at before the slots */
};
uint32_t lp_strtab_intern(struct lp_strtab *t, const char *s);
/* The same for s of len bytes (s[len] is its NUL) whose lp_strtab_hash()
 * the caller has: worked out ahead, on the way to a prefetch. */
uint32_t lp_strtab_intern_hashed(struct lp_strtab *t, const char *s, size_t len, uint32_t hash);
uint32_t lp_strtab_hash(const char *s, size_t len);
/* Prefetching for a coming lp_strtab_intern of s (len bytes, no NUL) in
 * two steps a few lookups apart, so that its misses overlap other work:
 * the hash of s, the table line it lands on brought in
 * (lp_strtab_prefetch), then the string or slots that line points at
 * (lp_strtab_prefetch_more). Changes nothing. */
uint32_t lp_strtab_prefetch(const struct lp_strtab *t, const char *s, size_t len);
void lp_strtab_prefetch_more(const struct lp_strtab *t, uint32_t hash);
/* The id of s, or 0 when it is not in the table (nothing is added). */
uint32_t lp_strtab_find(const struct lp_strtab *t, const char *s);
static inline const char *lp_strtab_str(const struct lp_strtab *t, uint32_t id)
{
	return id && id < t->n ? t->str[id] : NULL;
}
void lp_strtab_free(struct lp_strtab *t);

/* Growable array of strings, for small sets. */
struct lp_strv {
	char **v;
	size_t n, cap;
};
void lp_strv_push(struct lp_strv *s, const char *str);
bool lp_strv_has(const struct lp_strv *s, const char *str);
void lp_strv_free(struct lp_strv *s);
/* Sort and unique in place. */
void lp_strv_sort_uniq(struct lp_strv *s);

/* ------------------------------------------------------ u64 -> u64 map */

/* Open addressing with linear probing; deletion shifts entries back, so a
 * table with many deletions stays as small as its live entries. Any key,
 * 0 included. Zero-initialize to start. A slot holds its key and value
 * side by side, and which slots are used is a bitmap (dense: its lines
 * stay in the cache): a lookup in a table far bigger than the cache waits
 * for one line of slots, not for a key's, a value's and a use's. Walk the
 * slots with lp_u64map_used() & co. */
struct lp_u64slot {
	uint64_t key, val;
};
struct lp_u64map {
	struct lp_u64slot *slots;
	uint64_t *used;         /* bit i: slot i holds an entry */
	size_t cap, n;
};
static inline bool lp_u64map_used(const struct lp_u64map *m, size_t i)
{
	return m->used[i >> 6] >> (i & 63) & 1;
}
static inline uint64_t lp_u64map_key(const struct lp_u64map *m, size_t i)
{
	return m->slots[i].key;
}
static inline uint64_t lp_u64map_val(const struct lp_u64map *m, size_t i)
{
	return m->slots[i].val;
}
/* The value of key (to read or change in place), or NULL. */
uint64_t *lp_u64map_find(const struct lp_u64map *m, uint64_t key);
/* Insert or overwrite. */
void lp_u64map_put(struct lp_u64map *m, uint64_t key, uint64_t val);
/* The value of key to read or change in place, made (0, *added set) when
 * it has none: a find, then a put, in one probe. Holds until the next put. */
uint64_t *lp_u64map_slot(struct lp_u64map *m, uint64_t key, bool *added);
/* Remove key; false when it was not there. */
bool lp_u64map_del(struct lp_u64map *m, uint64_t key);
/* Remove the entry whose value lp_u64map_find() just gave (no second
 * lookup; nothing may have been put or removed in between). */
void lp_u64map_del_found(struct lp_u64map *m, uint64_t *val);
void lp_u64map_free(struct lp_u64map *m);

#endif
