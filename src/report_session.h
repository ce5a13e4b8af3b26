/* SPDX-License-Identifier: BSD-2-Clause */
/* The session view of `report` (report_session.c): several builds. */
#ifndef LAYERPROF_REPORT_SESSION_H
#define LAYERPROF_REPORT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct lp_model;
struct target;

/* The builds, in start order: models[i] came from files[i]. */
struct lp_report_session {
	struct lp_model **models;
	const char **files;
	size_t n;
};

/* layerprof.report/1 with "session", "builds", and "steps"/"findings"
 * tagged with "build"; *ok false when a target is missed (per build or
 * overall). NULL when out of memory. */
char *lp_report_session_json(const struct lp_report_session *s, const struct target *t, size_t nt, bool *ok);
/* The session table, the targets per build and overall, then each build's
 * own report. */
void lp_report_session_text(FILE *out, const struct lp_report_session *s, const struct target *t, size_t nt,
			    int top, int width, bool *ok);

#endif
