// SPDX-License-Identifier: BSD-2-Clause
/* containers.h: the interned strings' table. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "containers.h"

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
