/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the report views share: --target, one build's JSON document and
 * text (report.c), used again per build by the session view
 * (report_session.c).
 */
#ifndef LAYERPROF_REPORT_H
#define LAYERPROF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

struct lp_model;

enum tkey { T_BUILD_TIME, T_IMAGE_SIZE, T_CACHE_HIT };

struct target {
	enum tkey key;
	char *spec;
	double limit;           /* ms, bytes, or 0..1 */
	double measured;        /* same unit; < 0 unknown */
	bool pass;
	char note[96];
};

/* "build_time=5m,image_size=200MB,cache_hit_rate=80%": appended to *out. */
bool lp_report_parse_targets(const char *list, struct target **out, size_t *n);
/* Measure each target on build m; true when all pass. */
bool lp_report_eval_targets(const struct lp_model *m, struct target *t, size_t n);
const char *lp_report_target_name(enum tkey k);
void lp_report_fmt_target(enum tkey k, double v, char *buf, size_t len);
/* Paths shown per finding and busiest files when --top is not given. */
#define LP_REPORT_TOP 10

struct lp_file;
/* The `top` busiest files (time in open, read and write), busiest first:
 * *out (free it) holds them first; returns how many that is. */
size_t lp_report_busiest_files(const struct lp_model *m, size_t top, const struct lp_file ***out);
/* One build's layerprof.report/1 document (targets already evaluated). */
cJSON *lp_report_doc(const struct lp_model *m, const char *file, const struct target *t, size_t nt);
/* One build's text report; width: columns for the tables (0: no limit). */
void lp_report_print_text(FILE *out, const struct lp_model *m, const char *file, struct target *t,
			  size_t nt, int top, int width);

#endif
