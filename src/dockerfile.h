/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A lenient Dockerfile parser, enough to tie BuildKit steps to source lines.
 *
 *   struct lp_dockerfile *df = lp_dockerfile_load("Dockerfile", &err);
 *   const struct lp_dockerfile_instr *in = lp_dockerfile_match_step(df, "[build 2/4] RUN make");
 *   if (in) printf("Dockerfile:%u %s\n", in->line, in->text);
 *   lp_dockerfile_free(df);
 *
 * It follows BuildKit's own parser where that matters for matching:
 *  - parser directives at the top (`# escape=\``, `# syntax=...`) until the
 *    first line that is not one; the escape character is '\\' or '`';
 *  - a line ending in the escape character (plus blanks) continues on the next
 *    one; the escape and the blanks after it are removed and the lines joined
 *    as they are (no trimming of the continuation), comment lines and blank
 *    lines inside a continuation are dropped -- so `text` is what BuildKit
 *    prints in "[i/n] RUN ...", before its $VAR expansion;
 *  - keywords are case-insensitive (stored upper-case), stage names are
 *    stored lower-case (BuildKit prints them so);
 *  - heredocs (`RUN <<EOF ... EOF`, `<<-`, quoted markers) are skipped: their
 *    body is kept in `heredoc`, the lines are not parsed as instructions.
 * It never fails on bad input: unknown keywords are kept, broken JSON arrays
 * are read as shell form.
 *
 * Step numbering, as BuildKit prints "[stage i/n]": in each stage FROM counts
 * when its base is an image (not `scratch`, not an earlier stage), then every
 * RUN, COPY, ADD and WORKDIR; other instructions make no vertex (step 0). The
 * printed stage label is the stage's name, "stage-N" for an unnamed stage of
 * a multi-stage file, "" for a single unnamed stage.
 */
#ifndef LAYERPROF_DOCKERFILE_H
#define LAYERPROF_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

/* "--from=build" -> { "from", "build" }; "--link" -> { "link", NULL } */
struct lp_dockerfile_flag {
	char *name;
	char *value;
};

struct lp_dockerfile_instr {
	unsigned line;      /* 1-based line of the keyword */
	unsigned end_line;  /* last line (continuations, heredoc bodies) */
	char keyword[16];   /* upper-case: "RUN" (longer keywords are cut) */
	char *args;         /* everything after the keyword, flags included */
	char *text;         /* keyword + " " + args: BuildKit's printed form */
	int stage;          /* stage index; -1 for instructions before the first FROM */
	unsigned step;      /* i of "[stage i/n]", 0 when the instruction makes no vertex */
	bool json;          /* exec / JSON-array form */
	size_t nflags;
	struct lp_dockerfile_flag *flags;
	/* The words after the flags: the JSON array's strings, or the shell
	 * form split on blanks (matching quotes around a word removed). */
	size_t nargv;
	char **argv;
	/* COPY / ADD: sources and destination (NULL/0 when malformed); the
	 * flags, pointing into `flags` (NULL when absent). */
	size_t nsrc;
	char **src;         /* points into argv */
	const char *dst;    /* points into argv */
	const char *from, *chown, *chmod;
	bool link;
	char *dst_abs;      /* COPY/ADD: dst resolved against `workdir`, normalized
			     * ("COPY . ." after WORKDIR /app -> "/app"), else NULL */
	char *heredoc;      /* heredoc bodies joined, NULL when none */
	/* The working directory this instruction runs in (for WORKDIR: the one
	 * it sets): "/" at a stage's start (the base image's own WORKDIR is not
	 * known here), inherited from the base stage, relative WORKDIRs joined,
	 * "." and ".." resolved, $VARs left as written. */
	char *workdir;
};

struct lp_dockerfile_stage {
	char *name;         /* lower-cased "AS" name, "" when none */
	char *label;        /* as BuildKit prints it: name, "stage-N" or "" */
	char *base;         /* the FROM image as written: "golang:1.22", "${BASE}", "build" */
	char *platform;     /* --platform value, NULL when none */
	int base_stage;     /* index of the earlier stage it builds on, -1 for an image */
	unsigned line;      /* line of its FROM */
	size_t first;       /* index of its FROM in the instruction list */
	size_t count;       /* instructions in the stage, FROM included */
	unsigned steps;     /* n of "[stage i/n]" */
	char *workdir;      /* working directory at the end of the stage */
};

struct lp_dockerfile;

/* Parse text[0..len). NULL only when out of memory. */
struct lp_dockerfile *lp_dockerfile_parse(const char *text, size_t len);
/* Read and parse a file (at most 16 MiB). NULL with *err = errno on failure. */
struct lp_dockerfile *lp_dockerfile_load(const char *path, int *err);
void lp_dockerfile_free(struct lp_dockerfile *df);

char lp_dockerfile_escape(const struct lp_dockerfile *df); /* '\\' or '`' */
size_t lp_dockerfile_instr_count(const struct lp_dockerfile *df);
const struct lp_dockerfile_instr *lp_dockerfile_instr_at(const struct lp_dockerfile *df, size_t i);
size_t lp_dockerfile_stage_count(const struct lp_dockerfile *df);
const struct lp_dockerfile_stage *lp_dockerfile_stage_at(const struct lp_dockerfile *df, size_t i);
/* Stage by name (case-insensitive) or by number ("0", as in COPY --from=0);
 * -1 when it is not a stage (then it names an image). */
int lp_dockerfile_stage_index(const struct lp_dockerfile *df, const char *name);
/* The instruction whose lines [line, end_line] contain `line`, or NULL. */
const struct lp_dockerfile_instr *lp_dockerfile_instr_at_line(const struct lp_dockerfile *df, unsigned line);
/* A flag's value by name ("from"), NULL when absent; *present tells a bare
 * flag ("--link") from an absent one (present may be NULL). */
const char *lp_dockerfile_instr_flag(const struct lp_dockerfile_instr *in, const char *name, bool *present);

/*
 * The instruction a BuildKit step name refers to: "[build 2/4] RUN make",
 * "[3/5] COPY . .", "[stage-1 1/2] FROM docker.io/library/alpine:3.19",
 * "[linux/amd64 build 2/4] RUN make". NULL for names without "[... i/n]"
 * ("[internal] ...", "exporting to image") or when nothing fits.
 *
 * BuildKit prints the instruction after $VAR expansion, with the JSON form
 * of COPY/ADD unquoted ("COPY [a b, c]"), and FROM as a normalized image
 * reference ("docker.io/library/x"); so the text is compared with quotes,
 * brackets, commas and runs of blanks ignored and each $VAR/${VAR...} in
 * the Dockerfile matching anything. Candidates come from the named stage
 * (all stages when the label is unknown); among those with the same
 * keyword, a text match wins, the step number i (with n equal to the
 * stage's count) breaks ties and is used alone when no text matches.
 */
const struct lp_dockerfile_instr *lp_dockerfile_match_step(const struct lp_dockerfile *df, const char *step_name);

#endif
