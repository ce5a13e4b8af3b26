/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What `record -- docker build ...` needs to know about the build before it
 * starts: is the command a docker build, where are its context and
 * Dockerfile, and which files of the context will be sent (.dockerignore).
 *
 * .dockerignore: a documented approximation of Docker's rules
 * (moby/patternmatcher, used by the docker CLI and BuildKit's fsutil):
 *  - one pattern per line; lines starting with '#' are comments; blank
 *    lines are skipped; surrounding spaces are trimmed;
 *  - a leading '!' makes an exception (re-includes what matched before);
 *  - the pattern is cleaned like Go's filepath.Clean and a leading '/' is
 *    dropped (patterns are always relative to the context root);
 *  - '*' matches any run of characters except '/', '?' one character
 *    except '/', "[...]" a class, '\' escapes; a "**" path segment matches
 *    any number of directories (zero included);
 *  - a pattern that matches a directory also matches everything below it;
 *  - the LAST matching pattern decides (exceptions included);
 *  - an excluded directory is not walked unless an exception pattern could
 *    match something inside it.
 * BuildKit's per-Dockerfile ignore file (<Dockerfile>.dockerignore next to
 * the Dockerfile) is used instead of <context>/.dockerignore when present.
 * Not reproduced: Docker always sending the Dockerfile and .dockerignore
 * themselves even when ignored.
 */
#ifndef LAYERPROF_DOCKERCTX_H
#define LAYERPROF_DOCKERCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------- the docker command line */

struct lp_docker_build {
	bool is_build;          /* docker [global opts] (build|buildx build|image build|builder build) */
	int build_idx;          /* argv index of the "build" word */
	int global_end;         /* argv[1..global_end) are docker's global options */
	const char *tag;        /* first -t/--tag value, or NULL */
	const char *target;     /* --target value, or NULL */
	bool has_progress;      /* the user gave --progress */
	const char *progress;   /* ...its value ("plain", "rawjson"...), or NULL */
	bool is_buildx;         /* docker buildx build (not docker build) */
	const char *builder;    /* buildx --builder value, or NULL */
	const char *context;    /* the PATH | URL | - argument as given, or NULL */
	const char *dockerfile; /* -f/--file as given, or NULL */
	bool context_remote;    /* URL or git context: nothing to list */
	bool context_stdin;     /* "-": a tar or a Dockerfile on stdin */
};

/* `docker [global opts] buildx [--builder X] bake ...`: true, with the
 * argv index of the "bake" word in *bake_idx and whether --progress was
 * given in *has_progress. */
bool lp_docker_is_bake(int argc, char *const *argv, int *bake_idx, bool *has_progress);

/* Look at a command line. Returns true for a docker build. */
bool lp_docker_parse(int argc, char *const *argv, struct lp_docker_build *b);
/* Is argv a build by a builder layerprof cannot read yet (podman build,
 * buildah bud/build)? */
bool lp_unsupported_builder(int argc, char *const *argv);

/*
 * The argv to run: argv with "--progress=<progress>" ("plain" unless
 * "rawjson" is asked) added after the "build" word when the user gave no
 * --progress. Returns a new NULL-terminated array (free the array only;
 * the strings are argv's or static), and in *added whether it changed.
 */
char **lp_docker_argv(int argc, char *const *argv, const struct lp_docker_build *b,
		      const char *progress, bool *added);

/* ------------------------------------------ what the docker CLI supports */

/* What the CLI and its buildx plugin told about themselves. */
struct lp_docker_cli {
	int major;              /* `docker --version`: 28 of "Docker version 28.4.0, ...";
				 * -1 when unknown */
	int buildx_major, buildx_minor; /* `docker buildx version`: v0.28.0; -1 when absent */
	char builder[128];      /* `docker buildx inspect`: its first "Name:" */
	char driver[64];        /* ...and "Driver:"; "" when unknown */
};

/* Parsers of those three outputs (each fills its part of *cli; false when
 * the output is not what that command prints). */
bool lp_docker_cli_parse_version(const char *out, struct lp_docker_cli *cli);
bool lp_docker_cli_parse_buildx_version(const char *out, struct lp_docker_cli *cli);
bool lp_docker_cli_parse_buildx_inspect(const char *out, struct lp_docker_cli *cli);

/* Can this build be run with --progress=rawjson? `docker buildx build`
 * with buildx >= 0.13 (the first release with rawjson), or `docker build`
 * on a CLI >= 23 (which hands builds to the buildx plugin) with such a
 * buildx. Older CLIs and the classic builder know plain/tty/auto only. */
bool lp_docker_cli_has_rawjson(const struct lp_docker_build *b, const struct lp_docker_cli *cli);

/* --------------------------------------------------------- .dockerignore */

struct lp_ignore;

/* Parse .dockerignore text. Never fails (bad patterns are kept literally). */
struct lp_ignore *lp_ignore_parse(const char *text);
void lp_ignore_free(struct lp_ignore *ig);
/* Is the context-relative path (no leading "./" or "/") excluded? */
bool lp_ignore_excluded(const struct lp_ignore *ig, const char *path);
/* Can an exception pattern match something under directory dir? */
bool lp_ignore_may_include_below(const struct lp_ignore *ig, const char *dir);
/* Match one pattern (already cleaned, '/'-separated) against a path. */
bool lp_ignore_match(const char *pattern, const char *path);

/* ------------------------------------------------------ the context walk */

struct lp_ctx_file {
	char *path;             /* context-relative, '/'-separated */
	uint64_t size;
	int64_t mtime_ns;       /* realtime */
	uint32_t mode;          /* st_mode */
};

struct lp_ctx_list {
	struct lp_ctx_file *files;
	size_t n, cap;
	uint64_t bytes;         /* sum of regular files' sizes */
	uint64_t ignored;       /* entries excluded by .dockerignore (dirs count once) */
	uint64_t errors;        /* entries that could not be read */
	bool capped;            /* stopped at max_files */
	/* directories with nothing listed below them (empty ones): the build
	 * sends them as entries, and the client opens them on its walk, so a
	 * trace tells them from files only through this list */
	char **empty_dirs;
	size_t nempty_dirs, empty_dirs_cap;
};

/*
 * List the files (everything but directories: regular files, symlinks,
 * fifos...) of context dir `root` that the build would send, after `ig`
 * (may be NULL), at most max_files. Symlinks are listed, not followed.
 * Returns 0, or -errno when root cannot be opened.
 */
int lp_ctx_walk(const char *root, const struct lp_ignore *ig, size_t max_files,
		struct lp_ctx_list *out);
void lp_ctx_list_free(struct lp_ctx_list *l);

/* Read a small text file (up to max bytes) into a malloc'd NUL-terminated
 * string; NULL on error (errno set). *truncated when it was longer. */
char *lp_read_text_file(const char *path, size_t max, bool *truncated);

#endif
