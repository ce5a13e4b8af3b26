/* SPDX-License-Identifier: BSD-2-Clause */
/* docker build command lines, .dockerignore rules, the context walk
 * (src/dockerctx.c). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockerctx.h"

#define V(...) ((char *const[]){ __VA_ARGS__, NULL })

Test(docker_parse, plain_build)
{
	char *const *v = V("docker", "build", "-t", "app", ".");
	struct lp_docker_build b;
	cr_assert(lp_docker_parse(5, v, &b));
	cr_expect_eq(b.build_idx, 1);
	cr_expect_str_eq(b.context, ".");
	cr_expect_str_eq(b.tag, "app");
	cr_expect_null(b.dockerfile);
	cr_expect_not(b.has_progress);
	bool added;
	char **out = lp_docker_argv(5, v, &b, "plain", &added);
	cr_expect(added);
	cr_expect_str_eq(out[1], "build");
	cr_expect_str_eq(out[2], "--progress=plain");
	cr_expect_str_eq(out[3], "-t");
	cr_expect_str_eq(out[5], ".");
	cr_expect_null(out[6]);
	free(out);
}

Test(docker_parse, variants)
{
	struct lp_docker_build b;
	cr_expect(lp_docker_parse(4, V("/usr/bin/docker", "buildx", "build", "ctx"), &b));
	cr_expect_eq(b.build_idx, 2);
	cr_expect_str_eq(b.context, "ctx");
	cr_expect(lp_docker_parse(4, V("docker", "image", "build", "."), &b));
	cr_expect_eq(b.build_idx, 2);
	cr_expect(lp_docker_parse(4, V("docker", "builder", "build", "."), &b));
	cr_expect(lp_docker_parse(6, V("docker", "-H", "unix:///x.sock", "--debug", "build", "."), &b));
	cr_expect_eq(b.build_idx, 4);
	cr_expect_eq(b.global_end, 4);
	cr_expect(lp_docker_parse(5, V("docker", "buildx", "--builder", "x", "build"), &b));
	cr_expect_not(lp_docker_parse(3, V("docker", "run", "img"), &b));
	cr_expect_not(lp_docker_parse(3, V("podman", "build", "."), &b));
	cr_expect_not(lp_docker_parse(3, V("docker", "image", "ls"), &b));
	cr_expect_not(lp_docker_parse(1, V("docker"), &b));
}

Test(docker_parse, options_and_context)
{
	struct lp_docker_build b;
	char *const *v = V("docker", "build", "--progress", "tty", "-f", "sub/Dockerfile.dev",
			   "--build-arg", "A=b", "--no-cache", "-qtapp:1", "--label=x=y", "ctx");
	cr_assert(lp_docker_parse(12, v, &b));
	cr_expect(b.has_progress);
	cr_expect_str_eq(b.dockerfile, "sub/Dockerfile.dev");
	cr_expect_str_eq(b.context, "ctx");
	cr_expect_str_eq(b.tag, "app:1");
	bool added;
	char **out = lp_docker_argv(12, v, &b, "plain", &added);
	cr_expect_not(added);
	free(out);

	cr_expect(lp_docker_parse(4, V("docker", "build", "--file=D", "https://github.com/o/r.git"), &b));
	cr_expect_str_eq(b.dockerfile, "D");
	cr_expect(b.context_remote);
	cr_expect(lp_docker_parse(3, V("docker", "build", "-"), &b));
	cr_expect(b.context_stdin);
	cr_expect(lp_docker_parse(4, V("docker", "build", "--progress=plain", "."), &b));
	cr_expect(b.has_progress);
}

Test(dockerignore, match)
{
	cr_expect(lp_ignore_match("*.md", "README.md"));
	cr_expect_not(lp_ignore_match("*.md", "docs/README.md"));
	cr_expect(lp_ignore_match("**/*.md", "docs/README.md"));
	cr_expect(lp_ignore_match("**/*.md", "README.md"));
	cr_expect(lp_ignore_match("a/**/b", "a/b"));
	cr_expect(lp_ignore_match("a/**/b", "a/x/y/b"));
	cr_expect_not(lp_ignore_match("a/**/b", "a/x/y/c"));
	cr_expect(lp_ignore_match("file?.txt", "file1.txt"));
	cr_expect_not(lp_ignore_match("file?.txt", "file12.txt"));
	cr_expect(lp_ignore_match("[a-c]*", "beta"));
	cr_expect(lp_ignore_match("*", ".git"));
}

/* The matcher (one pass, backing up to the last "**") against the rule
 * written out as a search of every split at every "**": the same answer
 * for every pattern of up to five segments and path of up to five
 * segments over a small alphabet of segments, "**" included. */
static bool ref_match(const char *const *p, size_t np, const char *const *s, size_t ns)
{
	if (!np)
		return !ns;
	if (!strcmp(p[0], "**")) {
		for (size_t k = 0; k <= ns; k++)
			if (ref_match(p + 1, np - 1, s + k, ns - k))
				return true;
		return false;
	}
	return ns && !fnmatch(p[0], s[0], 0) && ref_match(p + 1, np - 1, s + 1, ns - 1);
}

static void join(char *out, const char *const *v, size_t n)
{
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, "/");
		strcat(out, v[i]);
	}
}

Test(dockerignore, match_agrees_with_every_split)
{
	static const char *const pw[] = { "**", "*", "a", "b", "?", "a*" };
	static const char *const sw[] = { "a", "b", "ab" };
	size_t checked = 0, matched = 0;
	for (size_t np = 1; np <= 5; np++)
		for (size_t ns = 1; ns <= 5; ns++) {
			size_t tp = 1, ts = 1;
			for (size_t k = 0; k < np; k++)
				tp *= 6;
			for (size_t k = 0; k < ns; k++)
				ts *= 3;
			for (size_t cp = 0; cp < tp; cp++)
				for (size_t cs = 0; cs < ts; cs++) {
					const char *p[5], *s[5];
					size_t x = cp, y = cs;
					for (size_t k = 0; k < np; k++, x /= 6)
						p[k] = pw[x % 6];
					for (size_t k = 0; k < ns; k++, y /= 3)
						s[k] = sw[y % 3];
					char ptxt[64], stxt[64];
					join(ptxt, p, np);
					join(stxt, s, ns);
					bool want = ref_match(p, np, s, ns);
					cr_assert_eq(lp_ignore_match(ptxt, stxt), want, "%s against %s", ptxt, stxt);
					checked++;
					matched += want;
				}
		}
	cr_expect_gt(matched, 1000);
	cr_expect_gt(checked - matched, 1000);
}

/* "**" and "*" in turn, against a path deeper than the pattern: a search
 * of every split at every "**" takes longer than the timeout. */
Test(dockerignore, many_double_stars_do_not_backtrack, .timeout = 20)
{
	char pat[512] = "", path[512] = "";
	for (int i = 0; i < 24; i++)
		strcat(pat, i % 2 ? "*/" : "**/");
	strcat(pat, "end");
	for (int i = 0; i < 60; i++)
		strcat(path, "d/");
	strcat(path, "nope");
	cr_expect_not(lp_ignore_match(pat, path));
	struct lp_ignore *ig = lp_ignore_parse(pat);
	cr_expect_not(lp_ignore_excluded(ig, path));
	lp_ignore_free(ig);
	path[strlen(path) - 4] = 0;
	strcat(path, "end");
	cr_expect(lp_ignore_match(pat, path));
}

Test(dockerignore, rules)
{
	struct lp_ignore *ig = lp_ignore_parse(
		"# comment\n"
		"\n"
		"  node_modules  \n"
		"/.git\n"
		"*.log\r\n"
		"!important.log\n"
		"build/**\n"
		"!build/keep/**\n"
		"./tmp/../cache\n"
		"docs/*.md\n");
	cr_expect(lp_ignore_excluded(ig, "node_modules"));
	cr_expect(lp_ignore_excluded(ig, "node_modules/x/index.js")); /* below a matched dir */
	cr_expect_not(lp_ignore_excluded(ig, "src/node_modules/x")); /* not anchored with ** */
	cr_expect(lp_ignore_excluded(ig, ".git/HEAD"));
	cr_expect(lp_ignore_excluded(ig, "debug.log"));
	cr_expect_not(lp_ignore_excluded(ig, "important.log"));
	cr_expect_not(lp_ignore_excluded(ig, "sub/debug.log"));
	cr_expect(lp_ignore_excluded(ig, "build/out.o"));
	cr_expect_not(lp_ignore_excluded(ig, "build/keep/a.txt"));
	cr_expect(lp_ignore_excluded(ig, "cache/x"));
	cr_expect(lp_ignore_excluded(ig, "docs/a.md"));
	cr_expect_not(lp_ignore_excluded(ig, "docs/sub/a.md"));
	cr_expect_not(lp_ignore_excluded(ig, "src/main.c"));
	/* dirs: build/ is excluded but an exception may re-include below it */
	cr_expect(lp_ignore_may_include_below(ig, "build"));
	cr_expect_not(lp_ignore_may_include_below(ig, "node_modules"));
	lp_ignore_free(ig);

	/* the last matching pattern wins */
	ig = lp_ignore_parse("!a.txt\n*.txt\n");
	cr_expect(lp_ignore_excluded(ig, "a.txt"));
	lp_ignore_free(ig);
	ig = lp_ignore_parse(NULL);
	cr_expect_not(lp_ignore_excluded(ig, "x"));
	lp_ignore_free(ig);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	cr_assert_eq(system(cmd), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(context, walk)
{
	char dir[] = "/tmp/lp-ctx-test.XXXXXX";
	cr_assert(mkdtemp(dir));
	put(dir, "Dockerfile", "FROM scratch\n");
	put(dir, "app.js", "12345");
	put(dir, "src/lib/a.js", "a");
	put(dir, "node_modules/x/index.js", "x");
	put(dir, "logs/keep.log", "k");
	put(dir, "logs/drop.log", "d");
	put(dir, ".dockerignore", "node_modules\nlogs/*.log\n!logs/keep.log\n*/drop.log\n");
	char link[4200];
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(symlink("app.js", link), 0);
	/* empty directories, and one holding only an ignored file */
	char mk[200];
	snprintf(mk, sizeof(mk), "mkdir -p '%s/.git/refs/tags' '%s/empty'", dir, dir);
	cr_assert_eq(system(mk), 0);
	put(dir, "only-ignored/drop.log", "d");

	struct lp_ignore *ig = lp_ignore_parse("node_modules\nlogs/*.log\n!logs/keep.log\n*/drop.log\n");
	struct lp_ctx_list l;
	cr_assert_eq(lp_ctx_walk(dir, ig, 1000, &l), 0);
	const char *want[] = { ".dockerignore", "Dockerfile", "app.js", "link", "logs/keep.log",
			       "src/lib/a.js" };
	cr_assert_eq(l.n, sizeof(want) / sizeof(want[0]), "got %zu files", l.n);
	for (size_t i = 0; i < l.n; i++)
		cr_expect_str_eq(l.files[i].path, want[i]);
	cr_expect(S_ISLNK(l.files[3].mode));
	cr_expect_eq(l.files[2].size, 5);
	cr_expect(l.files[2].mtime_ns > 0);
	cr_expect_eq(l.bytes, 13 + 5 + 1 + 1 + 50); /* + .dockerignore */
	cr_expect_eq(l.ignored, 3); /* node_modules (once) + logs/drop.log + only-ignored/drop.log */
	cr_expect_not(l.capped);
	/* the directories with nothing sent below them, innermost only */
	const char *empty[] = { ".git/refs/tags", "empty", "only-ignored" };
	cr_assert_eq(l.nempty_dirs, 3, "got %zu empty directories", l.nempty_dirs);
	for (size_t i = 0; i < l.nempty_dirs; i++)
		cr_expect_str_eq(l.empty_dirs[i], empty[i]);
	lp_ctx_list_free(&l);

	cr_assert_eq(lp_ctx_walk(dir, ig, 2, &l), 0);
	cr_expect(l.capped);
	cr_expect_eq(l.n, 2);
	lp_ctx_list_free(&l);
	lp_ignore_free(ig);

	cr_expect_lt(lp_ctx_walk("/nonexistent/dir", NULL, 10, &l), 0);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

/* podman and buildah builds are refused with one line (record): their
 * steps are not read yet, and a report without them would be wrong */
Test(dockerctx, unsupported_builders)
{
	char *podman[] = { "/usr/bin/podman", "build", "-t", "x", ".", NULL };
	char *podman_img[] = { "podman", "--log-level=info", "image", "build", ".", NULL };
	char *buildah[] = { "buildah", "bud", ".", NULL };
	char *podman_run[] = { "podman", "run", "x", NULL };
	char *docker[] = { "docker", "build", ".", NULL };
	cr_assert(lp_unsupported_builder(5, podman));
	cr_assert(lp_unsupported_builder(5, podman_img));
	cr_assert(lp_unsupported_builder(3, buildah));
	cr_assert_not(lp_unsupported_builder(3, podman_run));
	cr_assert_not(lp_unsupported_builder(3, docker));
}

/* ---- which progress format the CLI can print (record's --build-progress auto) ---- */

Test(dockerctx, cli_versions_and_rawjson)
{
	struct lp_docker_cli cli = { .major = -1, .buildx_major = -1, .buildx_minor = -1 };
	cr_assert(lp_docker_cli_parse_version("Docker version 28.4.0, build d8eb465\n", &cli));
	cr_expect_eq(cli.major, 28);
	cr_assert(lp_docker_cli_parse_version("Docker version 20.10.24+dfsg1, build 297e128\n", &cli));
	cr_expect_eq(cli.major, 20);
	cr_expect(!lp_docker_cli_parse_version("docker: command not found", &cli));
	cr_expect(!lp_docker_cli_parse_version(NULL, &cli));
	cr_assert(lp_docker_cli_parse_buildx_version("github.com/docker/buildx v0.28.0 a1b2c3\n", &cli));
	cr_expect_eq(cli.buildx_major, 0);
	cr_expect_eq(cli.buildx_minor, 28);
	cr_assert(lp_docker_cli_parse_buildx_version("github.com/docker/buildx 0.10.4+ds1 0.10.4+ds1-1\n", &cli));
	cr_expect_eq(cli.buildx_minor, 10);
	cr_expect(!lp_docker_cli_parse_buildx_version("unknown command: docker buildx", &cli));
	cr_assert(lp_docker_cli_parse_buildx_inspect("Name:          lp-buildkitd-0.24\n"
						     "Driver:        remote\n"
						     "Last Activity: 2026-12-06 10:47:57 +0000 UTC\n\n"
						     "Nodes:\nName:      lp-buildkitd-0.240\n",
						     &cli));
	cr_expect_str_eq(cli.builder, "lp-buildkitd-0.24");
	cr_expect_str_eq(cli.driver, "remote");
	cr_expect(!lp_docker_cli_parse_buildx_inspect("ERROR: no builder \"x\" found\n", &cli));

	struct lp_docker_build b;
	char *build[] = { "docker", "build", "-t", "x", ".", NULL };
	char *bx[] = { "docker", "buildx", "--builder", "ci", "build", "--progress", "tty", ".", NULL };
	char *bx2[] = { "docker", "buildx", "build", "--builder=ci2", ".", NULL };
	cr_assert(lp_docker_parse(5, build, &b));
	cr_expect(!b.is_buildx && !b.has_progress && !b.builder);
	struct lp_docker_cli c28 = { .major = 28, .buildx_major = 0, .buildx_minor = 28 };
	struct lp_docker_cli c20 = { .major = 20, .buildx_major = 0, .buildx_minor = 28 };
	struct lp_docker_cli c28_old_bx = { .major = 28, .buildx_major = 0, .buildx_minor = 12 };
	struct lp_docker_cli c28_no_bx = { .major = 28, .buildx_major = -1, .buildx_minor = -1 };
	cr_expect(lp_docker_cli_has_rawjson(&b, &c28));
	cr_expect(!lp_docker_cli_has_rawjson(&b, &c20), "a 20.10 CLI builds without buildx");
	cr_expect(!lp_docker_cli_has_rawjson(&b, &c28_old_bx));
	cr_expect(!lp_docker_cli_has_rawjson(&b, &c28_no_bx));
	cr_assert(lp_docker_parse(8, bx, &b));
	cr_expect(b.is_buildx && b.has_progress);
	cr_expect_str_eq(b.progress, "tty");
	cr_expect_str_eq(b.builder, "ci");
	cr_expect(lp_docker_cli_has_rawjson(&b, &c20), "buildx build runs the plugin on any CLI");
	cr_assert(lp_docker_parse(5, bx2, &b));
	cr_expect_str_eq(b.builder, "ci2");

	bool added = false;
	char **out = lp_docker_argv(5, build, NULL, "rawjson", &added);
	cr_expect(!added);
	free(out);
	cr_assert(lp_docker_parse(5, build, &b));
	out = lp_docker_argv(5, build, &b, "rawjson", &added);
	cr_expect(added);
	cr_expect_str_eq(out[2], "--progress=rawjson");
	free(out);
}
