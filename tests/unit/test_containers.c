// SPDX-License-Identifier: BSD-2-Clause
/* containers.h: the interned strings' table, the u64 map; their slot arrays' allocation (util.h). */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "util.h"

Test(strtab, find_gives_the_id_intern_gave_and_adds_nothing)
{
	struct lp_strtab t = { 0 };
	cr_assert_eq(lp_strtab_find(&t, "/a"), 0, "an empty table has nothing");
	char s[32];
	/* enough strings for the slots to be made again several times */
	for (int i = 0; i < 20000; i++) {
		snprintf(s, sizeof(s), "/dir/%d", i);
		cr_assert_eq(lp_strtab_intern(&t, s), (uint32_t)i + 1);
	}
	size_t n = t.n;
	for (int i = 0; i < 20000; i += 7) {
		snprintf(s, sizeof(s), "/dir/%d", i);
		cr_assert_eq(lp_strtab_find(&t, s), (uint32_t)i + 1);
		cr_assert_str_eq(lp_strtab_str(&t, lp_strtab_find(&t, s)), s);
	}
	cr_assert_eq(lp_strtab_find(&t, "/dir/20000"), 0);
	cr_assert_eq(lp_strtab_find(&t, "/dir/1/"), 0);
	cr_assert_eq(t.n, n, "find adds no string");
	lp_strtab_free(&t);
}

/* Interning again gives the first id, whether the table of recent strings
 * still holds the string, holds another one in its place, or never did. */
Test(strtab, intern_again_gives_the_same_id)
{
	struct lp_strtab t = { 0 };
	char s[32];
	enum { N = 200000 }; /* more strings than the recent table has entries */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			int k = round ? (int)((uint32_t)i * 2654435761u % N) : i;
			snprintf(s, sizeof(s), "/p/%d", k);
			cr_assert_eq(lp_strtab_intern(&t, s), (uint32_t)k + 1, "%s", s);
		}
	cr_assert_eq(t.n, (size_t)N + 1);
	lp_strtab_free(&t);
}

/* The u64 map against a plain array of the same keys: puts, overwrites,
 * deletions (which shift entries back; by key or by a find's value) and finds, key 0 included, through
 * several growths; a walk over the slots sees exactly the live keys. */
Test(u64map, same_as_an_array_through_puts_and_deletions)
{
	enum { KEYS = 5000 };
	static uint64_t val[KEYS];
	static bool live[KEYS];
	struct lp_u64map m = { 0 };
	cr_assert_null(lp_u64map_find(&m, 0));
	cr_assert(!lp_u64map_del(&m, 0));
	uint32_t x = 99;
	for (int round = 0; round < 200000; round++) {
		x = x * 1664525u + 1013904223u;
		unsigned k = (x >> 8) % KEYS;
		uint64_t key = (uint64_t)k * 0x100000001ull; /* 0 for k = 0; high bits set */
		if ((x >> 28) < 10) {
			lp_u64map_put(&m, key, round);
			val[k] = (uint64_t)round;
			live[k] = true;
		} else if ((x >> 28) < 14) {
			if (x & 0x100) {
				cr_assert_eq(lp_u64map_del(&m, key), live[k], "del of %u", k);
			} else {
				/* the same through the value a find gave */
				uint64_t *v = lp_u64map_find(&m, key);
				cr_assert_eq(v != NULL, live[k], "find of %u", k);
				if (v)
					lp_u64map_del_found(&m, v);
			}
			live[k] = false;
		} else {
			uint64_t *v = lp_u64map_find(&m, key);
			cr_assert_eq(v != NULL, live[k], "find of %u", k);
			if (v)
				cr_assert_eq(*v, val[k]);
		}
	}
	size_t n = 0, seen = 0;
	for (unsigned k = 0; k < KEYS; k++)
		n += live[k];
	cr_assert_eq(m.n, n);
	for (size_t i = 0; i < m.cap; i++) {
		if (!lp_u64map_used(&m, i))
			continue;
		uint64_t key = lp_u64map_key(&m, i);
		unsigned k = (unsigned)(key >> 32);
		cr_assert(k < KEYS && key == (uint64_t)k * 0x100000001ull && live[k], "slot %zu: a dead key", i);
		cr_assert_eq(lp_u64map_val(&m, i), val[k]);
		seen++;
	}
	cr_assert_eq(seen, n, "the walk saw %zu of %zu live keys", seen, n);
	lp_u64map_free(&m);
}

/* lp_xcalloc_written (the hash tables' slot arrays): zeroed whatever the
 * heap hands back, here a block just freed after being filled. */
Test(alloc, calloc_written_is_zero_where_the_heap_was_dirty)
{
	for (size_t n = 16; n <= (4u << 20); n *= 4) {
		unsigned char *dirty = lp_xmalloc(n);
		memset(dirty, 0xa5, n);
		free(dirty);
		unsigned char *p = lp_xcalloc_written(n / 8, 8);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(p[i], 0, "byte %zu of %zu", i, n);
		free(p);
	}
}
