/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommand option parsing (cmdline.h). */
#include "cmdline.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "util.h"

int lp_cmdline_next(struct lp_cmdline *cl, int argc, char **argv)
{
	if (!cl->started) {
		const char *s = cl->shortopts;
		bool stop_at_operand = *s == '+';
		snprintf(cl->spec, sizeof(cl->spec), "%s:%s", stop_at_operand ? "+" : "", s + stop_at_operand);
		optind = 0; /* glibc: start over, forgetting any earlier parse */
		opterr = 0;
		cl->started = true;
	}
	int c = getopt_long(argc, argv, cl->spec, cl->longopts, NULL);
	if (c == ':') {
		lp_error("%s: option '%s' needs a value; see 'layerprof %s --help'", cl->cmd, argv[optind - 1],
			 cl->cmd);
		return LP_CMDLINE_ERROR;
	}
	if (c == '?') {
		lp_error("%s: unknown option '%s'; see 'layerprof %s --help'", cl->cmd, argv[optind - 1], cl->cmd);
		return LP_CMDLINE_ERROR;
	}
	return c;
}

int lp_cmdline_flags(const char *cmd, int argc, char **argv, const struct lp_cmdline_flag *flags, size_t nflags,
		     void (*usage)(FILE *out))
{
	struct option longopts[LP_CMDLINE_MAX_FLAGS + 2];
	char shortopts[LP_CMDLINE_MAX_FLAGS + 2] = "h";
	size_t ns = 1;
	if (nflags > LP_CMDLINE_MAX_FLAGS)
		nflags = LP_CMDLINE_MAX_FLAGS;
	for (size_t i = 0; i < nflags; i++) {
		/* a flag without a short name answers to a code no character has */
		longopts[i] = (struct option){ flags[i].name, no_argument, NULL,
					       flags[i].short_name ? flags[i].short_name : 256 + (int)i };
		if (flags[i].short_name)
			shortopts[ns++] = flags[i].short_name;
	}
	longopts[nflags] = (struct option){ "help", no_argument, NULL, 'h' };
	memset(&longopts[nflags + 1], 0, sizeof(longopts[0]));
	struct lp_cmdline cl = { cmd, shortopts, longopts };
	int c;
	while ((c = lp_cmdline_next(&cl, argc, argv)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return LP_EXIT_OK;
		}
		if (c == LP_CMDLINE_ERROR)
			return LP_EXIT_USAGE;
		for (size_t i = 0; i < nflags; i++)
			if (c == longopts[i].val)
				*flags[i].on = true;
	}
	return -1;
}

const char *lp_cmdline_trace(const char *cmd, const char *file)
{
	if (file)
		return file;
	if (access(LP_DEFAULT_TRACE, F_OK) == 0)
		return LP_DEFAULT_TRACE;
	fprintf(stderr,
		"layerprof: %s: no trace file given, and no ./" LP_DEFAULT_TRACE " here; record one "
		"with 'sudo layerprof record -- docker build ...', or see 'layerprof %s --help'\n",
		cmd, cmd);
	return NULL;
}

const char *lp_cmdline_trace_quiet(const char *file)
{
	if (file)
		return file;
	return access(LP_DEFAULT_TRACE, F_OK) == 0 ? LP_DEFAULT_TRACE : NULL;
}
