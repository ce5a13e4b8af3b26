/* SPDX-License-Identifier: BSD-2-Clause */
/* Step times from kernel evidence (step_times.c); the accessors are in model.h. */
#ifndef LAYERPROF_STEP_TIMES_H
#define LAYERPROF_STEP_TIMES_H

struct lp_model;

/* After pass 2 (k_first_ns/k_last_ns and the processes' steps are final):
 * every step's t_start_ns, t_end_ns and time_src. */
void lp_steps_time(struct lp_model *m);

#endif
