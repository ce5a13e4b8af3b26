/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the diff subcommand lands; says so plainly. */
#include "commands.h"
#include "exitcode.h"
#include "util.h"

int cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	lp_error("diff: not implemented in this build yet");
	return LP_EXIT_FAILURE;
}
