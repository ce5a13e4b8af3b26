/* SPDX-License-Identifier: BSD-2-Clause */
/* Step times from kernel evidence (step_times.c); the accessors are in model.h. */
#ifndef LAYERPROF_STEP_TIMES_H
#define LAYERPROF_STEP_TIMES_H

#include <stddef.h>

struct lp_model;
struct lp_step;

/* After pass 2 (k_first_ns/k_last_ns and the processes' steps are final):
 * every step's t_start_ns, t_end_ns and time_src. */
void lp_steps_time(struct lp_model *m);

/* A step's time as the tables show it ("1.2 ms", "<0.1 s" when only the
 * coarse progress lines timed it). */
const char *lp_step_time_text(const struct lp_step *s, char *buf, size_t len);

#endif
