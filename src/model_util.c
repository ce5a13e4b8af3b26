/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers the model's stages share (model_int.h): argv handling, the context-transfer temporary-name and build-definition
 * tests.
 */
#include "model_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void lp_argv_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *lp_argv_cmd_text(char **argv, int argc)
{
	if (argc >= 3 && !strcmp(argv[1], "-c"))
		return lp_xstrdup(argv[2]);
	struct lp_buf b = { 0 };
	for (int i = 0; i < argc; i++) {
		if (i)
			lp_buf_puts(&b, " ");
		lp_buf_puts(&b, argv[i]);
	}
	return b.data ? b.data : lp_xstrdup("");
}

bool lp_is_transfer_tmp_name(const char *rel)
{
	return lp_starts_with(lp_base_name(rel), ".tmp.");
}

enum lp_step_kind lp_definition_file_kind(const struct lp_model *m, const char *rel)
{
	const char *b = lp_base_name(rel);
	if (strstr(b, ".dockerignore"))
		return LP_STEPK_LOAD_DOCKERIGNORE;
	if (strstr(b, "Dockerfile") ||
	    (m->build.dockerfile_path && !strcmp(b, lp_base_name(m->build.dockerfile_path))))
		return LP_STEPK_LOAD_DOCKERFILE;
	return LP_STEPK_OTHER;
}
