/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one option-parsing pattern of the subcommands: getopt_long with the
 * state reset for each command (tests run several in one process), and
 * the errors worded the same everywhere:
 *
 *   <cmd>: unknown option 'X'; see 'layerprof <cmd> --help'
 *   <cmd>: option 'X' needs a value; see 'layerprof <cmd> --help'
 *
 *   struct lp_cmdline cl = { "report", "+hjt:n:", longopts };
 *   int c;
 *   while ((c = lp_cmdline_next(&cl, argc, argv)) != -1) {
 *           switch (c) {
 *           case 'j': ...
 *           default: return LP_EXIT_USAGE;   (LP_CMDLINE_ERROR: already said)
 *           }
 *   }
 *   // the operands are argv[optind..argc)
 *
 * A leading '+' in the short options stops at the first operand (record:
 * the traced command follows); without it operands and options mix.
 */
#ifndef LAYERPROF_CMDLINE_H
#define LAYERPROF_CMDLINE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define LP_CMDLINE_ERROR '?'

struct lp_cmdline {
	const char *cmd;                /* "report": for the messages */
	const char *shortopts;          /* as getopt_long's */
	const struct option *longopts;
	bool started;
	char spec[64];                  /* shortopts with ':' first (missing values told apart) */
};

/* The next option's code, -1 after the last one, or LP_CMDLINE_ERROR once
 * the error line is printed. */
int lp_cmdline_next(struct lp_cmdline *cl, int argc, char **argv);

/* A command whose options are all flags (check, diff, dump): each sets a
 * bool; -h/--help prints usage(stdout). */
struct lp_cmdline_flag {
	const char *name;       /* "json" for --json */
	char short_name;        /* 'j' for -j, or 0 */
	bool *on;
};
#define LP_CMDLINE_MAX_FLAGS 8
/* Parse them (the operands are then argv[optind..argc)): -1 to go on, else
 * the exit status to return at once (help shown, or a usage error). */
int lp_cmdline_flags(const char *cmd, int argc, char **argv, const struct lp_cmdline_flag *flags, size_t nflags,
		     void (*usage)(FILE *out));

/* The trace file record writes and the readers read when none is named
 * (like perf.data). */
#define LP_DEFAULT_TRACE "layerprof.data"

/* The trace operand of a reader (report, export, dump): `file`, or
 * LP_DEFAULT_TRACE when NULL and it exists; NULL after saying why. */
const char *lp_cmdline_trace(const char *cmd, const char *file);
/* The same, silent: NULL when there is none. */
const char *lp_cmdline_trace_quiet(const char *file);

#endif
