// SPDX-License-Identifier: BSD-2-Clause
/* provenance.h: is a container path still what COPY placed there? */
#include <criterion/criterion.h>

#include "provenance.h"

Test(provenance, untouched_paths_are_the_copys)
{
	struct lp_provenance *pv = lp_prov_new();
	cr_assert(lp_prov_from_copy(pv, "", "/app/package.json"));
	lp_prov_gone(pv, "", "/app/other.js", false, 10);
	cr_assert(lp_prov_from_copy(pv, "", "/app/package.json"));
	cr_assert_not(lp_prov_from_copy(pv, "", "/app/other.js"));
	lp_prov_free(pv);
}

/* npm ci: rm -rf node_modules, then writes its own copies */
Test(provenance, a_removed_tree_takes_everything_under_it)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_gone(pv, "", "/app/node_modules", true, 10);
	cr_assert_not(lp_prov_from_copy(pv, "", "/app/node_modules/mime/cli.js"));
	cr_assert_not(lp_prov_from_copy(pv, "", "/app/node_modules"));
	cr_assert(lp_prov_from_copy(pv, "", "/app/node_modules_extra/x.js"), "a sibling with the same prefix");
	cr_assert(lp_prov_from_copy(pv, "", "/app/package.json"));
	cr_assert_eq(lp_prov_gone_count(pv), 1);
	lp_prov_free(pv);
}

Test(provenance, stages_are_separate_file_systems)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_gone(pv, "build", "/app/a.txt", false, 10);
	cr_assert_not(lp_prov_from_copy(pv, "build", "/app/a.txt"));
	cr_assert(lp_prov_from_copy(pv, "runtime", "/app/a.txt"));
	lp_prov_free(pv);
}

/* a later COPY puts the context's file back: reads after it are the context's */
Test(provenance, placed_again_after_it_went)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_placed(pv, "", "/app/src/a.js", 5);
	lp_prov_gone(pv, "", "/app/src", true, 10);
	cr_assert_not(lp_prov_from_copy(pv, "", "/app/src/a.js"));
	lp_prov_placed(pv, "", "/app/src/a.js", 20);
	cr_assert(lp_prov_from_copy(pv, "", "/app/src/a.js"));
	cr_assert_not(lp_prov_from_copy(pv, "", "/app/src/b.js"), "b.js was not placed again");
	lp_prov_free(pv);
}

Test(provenance, trailing_slashes_and_root)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_gone(pv, "", "/app/dist/", true, 10);
	cr_assert_not(lp_prov_from_copy(pv, "", "/app/dist/index.js"));
	lp_prov_gone(pv, "s", "/", true, 10);
	cr_assert_not(lp_prov_from_copy(pv, "s", "/anything"));
	cr_assert(lp_prov_from_copy(pv, "", "relative/is/not/judged"));
	lp_prov_free(pv);
}
