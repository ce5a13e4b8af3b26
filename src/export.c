/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the export subcommand lands; says so plainly. */
#include "commands.h"
#include "exitcode.h"
#include "util.h"

int cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	lp_error("export: not implemented in this build yet");
	return LP_EXIT_FAILURE;
}
