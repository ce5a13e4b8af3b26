// SPDX-License-Identifier: BSD-2-Clause
/* provenance.h: is a container path still what COPY placed there? */
#include <criterion/criterion.h>

#include <string.h>

#include "containers.h"
#include "provenance.h"
#include "util.h"

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

/* ------------------------------------------------ layer ownership */

static const struct lp_layer_change *change_of(const struct lp_provenance *pv, const char *path, size_t *count)
{
	size_t n;
	const struct lp_layer_change *c = lp_prov_changes(pv, &n), *found = NULL;
	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c[i].path, path)) {
			found = &c[i];
			(*count)++;
		}
	return found;
}

/* RUN #1 makes an archive, RUN #2 deletes it: #1's layer keeps its bytes */
Test(provenance, a_later_delete_is_a_change_with_the_earlier_bytes)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_write(pv, "", "/opt/pkg.tar", 1, 0);
	lp_prov_write(pv, "", "/opt/pkg.tar", 1, 4096);
	lp_prov_write(pv, "", "/opt/pkg.tar", 1, 4096);
	lp_prov_delete(pv, "", "/opt/pkg.tar", 2);
	struct lp_layer_counts a = lp_prov_step_counts(pv, 1), b = lp_prov_step_counts(pv, 2);
	cr_assert_eq(a.created, 1);
	cr_assert_eq(a.bytes, 8192);
	cr_assert_eq(b.deleted, 1);
	cr_assert_eq(b.deleted_bytes, 8192);
	size_t k;
	const struct lp_layer_change *c = change_of(pv, "/opt/pkg.tar", &k);
	cr_assert_eq(k, 1);
	cr_assert(c->deleted);
	cr_assert_eq(c->from, 1);
	cr_assert_eq(c->to, 2);
	cr_assert_eq(c->bytes, 8192);
	lp_prov_free(pv);
}

/* made and removed by the same RUN: never in a layer, no change */
Test(provenance, same_step_cleanup_leaves_nothing)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_write(pv, "", "/tmp/src/blob", 3, 1 << 20);
	lp_prov_delete(pv, "", "/tmp/src/blob", 3);
	struct lp_layer_counts c = lp_prov_step_counts(pv, 3);
	cr_assert_eq(c.created, 0);
	cr_assert_eq(c.deleted, 0);
	cr_assert_eq(c.bytes, 0);
	size_t n;
	lp_prov_changes(pv, &n);
	cr_assert_eq(n, 0);
	lp_prov_free(pv);
}

/* rm -rf node_modules, then the install writes it again: overwritten, not
 * deleted; the reads of the new version name whose version it replaced */
Test(provenance, removed_and_made_again_is_overwritten)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_write(pv, "", "/app/node_modules/dep/index.js", 4, 300);
	lp_prov_write(pv, "", "/app/node_modules/gone.js", 4, 100);
	lp_prov_delete(pv, "", "/app/node_modules/dep/index.js", 5);
	lp_prov_delete(pv, "", "/app/node_modules/gone.js", 5);
	lp_prov_write(pv, "", "/app/node_modules/dep/index.js", 5, 20);
	struct lp_layer_counts c = lp_prov_step_counts(pv, 5);
	cr_assert_eq(c.overwritten, 1);
	cr_assert_eq(c.overwritten_bytes, 300);
	cr_assert_eq(c.deleted, 1);
	cr_assert_eq(c.deleted_bytes, 100);
	cr_assert_eq(c.created, 0);
	size_t k;
	const struct lp_layer_change *ch = change_of(pv, "/app/node_modules/dep/index.js", &k);
	cr_assert_eq(k, 1);
	cr_assert_not(ch->deleted);
	lp_prov_read(pv, "", "/app/node_modules/dep/index.js", 6);
	lp_prov_read(pv, "", "/app/node_modules/dep/index.js", 6);
	lp_prov_read(pv, "", "/app/package.json", 6);
	size_t n;
	const struct lp_layer_read *r = lp_prov_reads(pv, &n);
	cr_assert_eq(n, 1, "once per step and file, and only replacing versions");
	cr_assert_eq(r[0].step, 6);
	cr_assert_eq(r[0].copy_of, 5);
	cr_assert_eq(r[0].replaced, 4);
	lp_prov_free(pv);
}

/* a write over the version a step made itself and then overwrote: one change */
Test(provenance, overwritten_then_deleted_by_the_same_step_is_deleted)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_write(pv, "", "/app/.env", 1, 38);
	lp_prov_write(pv, "", "/app/.env", 2, 10);
	lp_prov_delete(pv, "", "/app/.env", 2);
	struct lp_layer_counts c = lp_prov_step_counts(pv, 2);
	cr_assert_eq(c.overwritten, 0);
	cr_assert_eq(c.deleted, 1);
	cr_assert_eq(c.deleted_bytes, 38);
	cr_assert_eq(c.bytes, 0);
	size_t k;
	const struct lp_layer_change *ch = change_of(pv, "/app/.env", &k);
	cr_assert_eq(k, 1);
	cr_assert(ch->deleted);
	cr_assert_eq(ch->bytes, 38);
	lp_prov_free(pv);
}

/* a file renamed into place: the bytes go with it; the base image's files
 * have no owner; mounts are no layer's */
Test(provenance, rename_base_files_and_mounts)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_write(pv, "", "/usr/lib/x.so.tmp", 1, 5000);
	lp_prov_rename(pv, "", "/usr/lib/x.so.tmp", "/usr/lib/x.so", 1);
	struct lp_layer_counts c = lp_prov_step_counts(pv, 1);
	cr_assert_eq(c.created, 1);
	cr_assert_eq(c.bytes, 5000);
	lp_prov_delete(pv, "", "/etc/motd", 2); /* the base image's */
	lp_prov_write(pv, "", "/dev/null", 2, 100);
	lp_prov_write(pv, "", "/etc/resolv.conf", 2, 100);
	lp_prov_write(pv, "", "/usr/lib/x.so", 2, 7);
	c = lp_prov_step_counts(pv, 2);
	cr_assert_eq(c.deleted, 1);
	cr_assert_eq(c.deleted_bytes, 0);
	cr_assert_eq(c.created, 0);
	cr_assert_eq(c.overwritten, 1);
	cr_assert_eq(c.overwritten_bytes, 5000);
	cr_assert_eq(c.bytes, 7);
	size_t n;
	const struct lp_layer_change *ch = lp_prov_changes(pv, &n);
	cr_assert_eq(n, 1, "the base image's file removed: counted, no change");
	cr_assert_eq(ch[0].from, 1);
	cr_assert_eq(ch[0].bytes, 5000);
	/* removed and made again: a change from no step of the trace */
	lp_prov_write(pv, "", "/etc/motd", 2, 12);
	ch = lp_prov_changes(pv, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ch[1].path, "/etc/motd");
	cr_assert_eq(ch[1].from, -1);
	cr_assert_not(ch[1].deleted);
	cr_assert_eq(ch[1].bytes, 0);
	c = lp_prov_step_counts(pv, 2);
	cr_assert_eq(c.deleted, 0);
	cr_assert_eq(c.overwritten, 2);
	/* stages are separate file systems: x.so of stage "other" is not step 1's */
	lp_prov_delete(pv, "other", "/usr/lib/x.so", 3);
	lp_prov_changes(pv, &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(lp_prov_step_counts(pv, 3).deleted, 1);
	lp_prov_free(pv);
}

/* tar xf, then mv pkg-1.0 /opt/pkg: the files go with the directory; a
 * later RUN deleting them deletes that step's versions */
Test(provenance, a_renamed_directory_takes_its_files)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_write(pv, "", "/tmp/pkg-1.0/lib/a.so", 1, 4000);
	lp_prov_write(pv, "", "/tmp/pkg-1.0/bin/a", 1, 1000);
	lp_prov_write(pv, "", "/tmp/pkg-1.0x/other", 1, 10);
	lp_prov_rename(pv, "", "/tmp/pkg-1.0", "/opt/pkg", 1);
	struct lp_layer_counts c = lp_prov_step_counts(pv, 1);
	cr_assert_eq(c.created, 3);
	cr_assert_eq(c.bytes, 5010);
	lp_prov_delete(pv, "", "/opt/pkg/lib/a.so", 2);
	lp_prov_delete(pv, "", "/tmp/pkg-1.0/bin/a", 2); /* moved away: not the step's file any more */
	size_t n;
	const struct lp_layer_change *ch = lp_prov_changes(pv, &n);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(ch[0].path, "/opt/pkg/lib/a.so");
	cr_assert_eq(ch[0].from, 1);
	cr_assert_eq(ch[0].bytes, 4000);
	lp_prov_free(pv);
}

/* ------------------------------------------------ by path id */

/* The *_id calls answer as the string calls do: a path asked by id before
 * it had an entry finds the one made later (by id, by string, or made
 * before the path was interned), and a name with a trailing '/' is the
 * same file as without. */
Test(provenance, by_id_answers_as_by_string)
{
	struct lp_strtab paths = { 0 };
	struct lp_provenance *ps = lp_prov_new(), *pi = lp_prov_new();
	uint32_t a = lp_strtab_intern(&paths, "/app/a.js");
	uint32_t b = lp_strtab_intern(&paths, "/app/b.js");
	uint32_t bs = lp_strtab_intern(&paths, "/app/b.js/");
#define BOTH(call_s, call_i) do { call_s; call_i; } while (0)
	/* asked before any entry: none (and remembered as none) */
	cr_assert(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, a), a));
	cr_assert(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, bs), bs));
	lp_prov_placed(ps, "", "/app/a.js", 5);
	lp_prov_placed(pi, "", "/app/a.js", 5); /* by string: the id must see it */
	BOTH(lp_prov_gone(ps, "", "/app/a.js", false, 10),
	     lp_prov_gone_id(pi, "", lp_strtab_str(&paths, a), a, false, 10));
	cr_assert_not(lp_prov_from_copy(ps, "", "/app/a.js"));
	cr_assert_not(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, a), a));
	/* the trailing-'/' name's entry is the plain name's */
	BOTH(lp_prov_gone(ps, "", "/app/b.js/", false, 11),
	     lp_prov_gone_id(pi, "", lp_strtab_str(&paths, bs), bs, false, 11));
	cr_assert_not(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, b), b));
	cr_assert_not(lp_prov_from_copy(ps, "", "/app/b.js"));
	/* an entry made before its path was interned */
	BOTH(lp_prov_gone(ps, "", "/app/c.js", false, 12), lp_prov_gone(pi, "", "/app/c.js", false, 12));
	uint32_t c = lp_strtab_intern(&paths, "/app/c.js");
	cr_assert_not(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, c), c));
	/* another stage is another file system */
	cr_assert(lp_prov_from_copy_id(pi, "other", lp_strtab_str(&paths, a), a));
	/* layer ownership: a RUN overwrites what a COPY wrote, a later RUN reads it */
	BOTH(lp_prov_write(ps, "", "/app/a.js", 0, 100), lp_prov_write_id(pi, "", lp_strtab_str(&paths, a), a, 0, 100));
	BOTH(lp_prov_write(ps, "", "/app/a.js", 1, 7), lp_prov_write(pi, "", "/app/a.js", 1, 7));
	BOTH(lp_prov_read(ps, "", "/app/a.js", 2), lp_prov_read_id(pi, "", lp_strtab_str(&paths, a), a, 2));
	BOTH(lp_prov_rename(ps, "", "/app/c.js", "/app/b.js", 2),
	     lp_prov_rename_id(pi, "", lp_strtab_str(&paths, c), c, lp_strtab_str(&paths, b), b, 2));
	BOTH(lp_prov_delete(ps, "", "/app/b.js", 3), lp_prov_delete_id(pi, "", lp_strtab_str(&paths, b), b, 3));
#undef BOTH
	size_t ns, ni;
	const struct lp_layer_change *cs = lp_prov_changes(ps, &ns), *ci = lp_prov_changes(pi, &ni);
	cr_assert_eq(ns, ni);
	cr_assert_eq(ns, 2, "#1 over #0's a.js, #3 deleting #2's b.js");
	for (size_t i = 0; i < ns; i++) {
		cr_assert_eq(ci[i].from, cs[i].from);
		cr_assert_eq(ci[i].to, cs[i].to);
		cr_assert_eq(ci[i].deleted, cs[i].deleted);
		cr_assert_eq(ci[i].bytes, cs[i].bytes);
		cr_assert_str_eq(ci[i].path, cs[i].path);
	}
	cr_assert_eq(ci[0].bytes, 100);
	cr_assert_str_eq(ci[1].path, "/app/b.js");
	const struct lp_layer_read *rs = lp_prov_reads(ps, &ns), *ri = lp_prov_reads(pi, &ni);
	cr_assert_eq(ns, 1);
	cr_assert_eq(ni, 1);
	cr_assert_eq(ri[0].copy_of, rs[0].copy_of);
	cr_assert_str_eq(ri[0].path, rs[0].path);
	for (int s = 0; s < 4; s++) {
		struct lp_layer_counts x = lp_prov_step_counts(ps, s), y = lp_prov_step_counts(pi, s);
		cr_assert_eq(memcmp(&x, &y, sizeof(x)), 0, "step %d", s);
	}
	cr_assert_eq(lp_prov_gone_count(ps), lp_prov_gone_count(pi));
	lp_prov_free(ps);
	lp_prov_free(pi);
	lp_strtab_free(&paths);
}

/* The walk up by directory ids answers as the walk by strings: a tree
 * removed after its files were asked about (a prefix remembered as having
 * none must find the new entry), trees of another stage, a tree placed
 * again, the root, and a path that is its own directory's sibling. */
Test(provenance, trees_by_id_answer_as_by_string)
{
	struct lp_strtab paths = { 0 };
	struct lp_provenance *ps = lp_prov_new(), *pi = lp_prov_new();
	const char *names[] = { "/app/node_modules/mime/cli.js", "/app/node_modules/.bin/x", "/app/src/a.js",
				"/app/node_modules_extra/y.js", "/a", "/app/src", "/root/.npm/_cacache/tmp/1/f" };
	uint32_t id[LP_ARRAY_SIZE(names)];
	for (size_t i = 0; i < LP_ARRAY_SIZE(names); i++)
		id[i] = lp_strtab_intern(&paths, names[i]);
#define SAME(stage)                                                                                           \
	for (size_t i = 0; i < LP_ARRAY_SIZE(names); i++)                                                      \
		cr_assert_eq(lp_prov_from_copy_id(pi, stage, lp_strtab_str(&paths, id[i]), id[i]),              \
			     lp_prov_from_copy(ps, stage, names[i]), "%s in stage '%s'", names[i], stage)
#define BOTH(call) do { struct lp_provenance *pv = ps; call; pv = pi; call; } while (0)
	BOTH(lp_prov_gone(pv, "", "/other", false, 1)); /* an entry, so the walk runs */
	BOTH(lp_prov_gone(pv, "b", "/tmp", true, 1));
	SAME("");
	BOTH(lp_prov_gone(pv, "", "/app/node_modules", true, 10));
	SAME("");
	cr_assert_not(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, id[0]), id[0]));
	cr_assert(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, id[3]), id[3]), "a sibling with the same prefix");
	SAME("b");
	BOTH(lp_prov_placed(pv, "", "/app/node_modules/mime/cli.js", 20));
	SAME("");
	cr_assert(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, id[0]), id[0]), "placed again");
	BOTH(lp_prov_gone(pv, "", "/root/.npm/_cacache/tmp/1", true, 30));
	BOTH(lp_prov_gone(pv, "", "/", false, 5)); /* the root's own key is every walk's last */
	SAME("");
	BOTH(lp_prov_gone(pv, "b", "/", false, 40));
	SAME("b");
	for (size_t i = 0; i < LP_ARRAY_SIZE(names); i++)
		cr_assert_not(lp_prov_from_copy_id(pi, "b", lp_strtab_str(&paths, id[i]), id[i]));
#undef BOTH
#undef SAME
	lp_prov_free(ps);
	lp_prov_free(pi);
	lp_strtab_free(&paths);
}

/* A path of 2,000 components (4,000 bytes: a path the kernel allows) is
 * walked up by ids without recursion, and answers as by strings. */
Test(provenance, a_very_deep_path_by_id)
{
	static char deep[4100], half[2100];
	for (int i = 0; i < 2000; i++)
		memcpy(deep + 2 * i, "/a", 2);
	deep[4000] = 0;
	memcpy(half, deep, 2000); /* 1,000 components: a tree above the file */
	half[2000] = 0;
	struct lp_strtab paths = { 0 };
	struct lp_provenance *ps = lp_prov_new(), *pi = lp_prov_new();
	uint32_t id = lp_strtab_intern(&paths, deep);
	cr_assert(lp_prov_from_copy_id(pi, "", deep, id));
	lp_prov_gone(ps, "", half, true, 10);
	lp_prov_gone(pi, "", half, true, 10);
	cr_assert_not(lp_prov_from_copy(ps, "", deep));
	cr_assert_not(lp_prov_from_copy_id(pi, "", lp_strtab_str(&paths, id), id), "the tree 1,000 levels up went");
	lp_prov_free(ps);
	lp_prov_free(pi);
	lp_strtab_free(&paths);
}

/* npm's node_modules/.bin/ links: COPY #1 makes one, RUN #2 removes it and
 * makes it again (a reinstall): an overwrite, no deletion, a change the
 * layer findings leave out (a link holds no file data) */
Test(provenance, a_symbolic_link_remade_is_overwritten_not_deleted)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_link_id(pv, "", "/app/node_modules/.bin/mime", 0, 1);
	lp_prov_delete(pv, "", "/app/node_modules/.bin/mime", 2);
	lp_prov_link_id(pv, "", "/app/node_modules/.bin/mime", 0, 2);
	struct lp_layer_counts a = lp_prov_step_counts(pv, 1), b = lp_prov_step_counts(pv, 2);
	cr_assert_eq(a.created, 1);
	cr_assert_eq(a.bytes, 0);
	cr_assert_eq(b.overwritten, 1);
	cr_assert_eq(b.deleted, 0);
	cr_assert_eq(b.unsized, 0, "its earlier version is #1's");
	size_t k;
	const struct lp_layer_change *c = change_of(pv, "/app/node_modules/.bin/mime", &k);
	cr_assert_eq(k, 1);
	cr_assert(c->link);
	cr_assert_eq(c->from, 1);
	/* a regular file written over the link later is a change of a link */
	lp_prov_write(pv, "", "/app/node_modules/.bin/mime", 3, 10);
	c = change_of(pv, "/app/node_modules/.bin/mime", &k);
	cr_assert_eq(k, 2);
	cr_assert(c->link);
	cr_assert_eq(c->from, 2);
	lp_prov_free(pv);
}

/* A cached step's (or the base image's) files, removed and made again:
 * overwritten, their earlier bytes not known (unsized) */
Test(provenance, versions_no_step_made_are_unsized)
{
	struct lp_provenance *pv = lp_prov_new();
	lp_prov_delete(pv, "", "/app/node_modules/a/index.js", 4);
	lp_prov_write(pv, "", "/app/node_modules/a/index.js", 4, 100);
	lp_prov_delete(pv, "", "/app/old.txt", 4);
	struct lp_layer_counts c = lp_prov_step_counts(pv, 4);
	cr_assert_eq(c.overwritten, 1);
	cr_assert_eq(c.deleted, 1);
	cr_assert_eq(c.unsized, 2);
	cr_assert_eq(c.overwritten_bytes + c.deleted_bytes, 0);
	lp_prov_free(pv);
}
