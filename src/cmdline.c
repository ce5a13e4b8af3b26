/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommand option parsing (cmdline.h). */
#include "cmdline.h"

#include <stdio.h>

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
