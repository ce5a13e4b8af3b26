/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Steps inferred from kernel evidence alone (attach mode).
 *
 * `layerprof record` without a command traces the running daemons: a build
 * started by someone else leaves no BuildKit progress stream in the trace,
 * so the model has no steps. lp_infer_steps() then makes them from what the
 * kernel saw (docs/architecture.md, "How events become build steps"):
 *
 *   RUN      one per `runc ... run --bundle <data-root>/buildkit/executor/<id>`:
 *            named "RUN <text>" after the container's first exec (the
 *            `/bin/sh -c "<text>"`), from runc's start to its exit, done or
 *            error by the exit status of that first process;
 *   COPY     the daemon's writes under <data-root>/overlay2/<id>/merged/...,
 *            one step per snapshot, "COPY -> <destination dir>"; sources are
 *            taken from the daemon's own reads (source open, then destination
 *            create, on the same thread); a snapshot that got only one
 *            chain of mkdirs is a "WORKDIR <dir>";
 *   context  "[internal] load build context": the daemon's writes straight into
 *            a parentless snapshot (diff/...) that holds more than the
 *            Dockerfile and .dockerignore (those get their own [internal]
 *            load steps);
 *   export   "exporting to image": layer tar reads and layerdb/imagedb writes
 *            that follow the last step.
 *
 * Steps are numbered #1.. in start order and marked inferred (lp_step.inferred,
 * lp_build.steps_inferred). None is cacheable: a cache hit leaves no process
 * and no copy, so the cache hit rate stays unknown. The RUN/COPY steps get
 * their snapshot and the daemon of the build is chosen (the one that did
 * most of this work) BEFORE correlation runs, so that processes and file
 * activity are attributed exactly as for a recorded build.
 *
 * Limits: a trace with several builds gets all their steps in one list (the
 * context snapshot is reused across builds: only the first transfer owns its
 * writes); a COPY whose source the daemon read from an unseen snapshot (the
 * context not re-sent in this trace, another stage) is not tied to context
 * files; the Dockerfile is not in the trace, so no step has a line number.
 */
#ifndef LAYERPROF_INFER_H
#define LAYERPROF_INFER_H

#include "model.h"

struct lp_reader;

/*
 * After pass 1, before lp_correlate(), when the progress stream gave no step:
 * read the trace once more (r is rewound) and add the inferred steps. Does
 * nothing when the model already has steps or the trace holds no build
 * evidence. Returns the number of steps added.
 */
size_t lp_infer_steps(struct lp_model *m, struct lp_reader *r);

/* After analysis: say on each finding of an inferred step where it came from
 * (no Dockerfile line, no progress log). */
void lp_infer_findings(struct lp_model *m);

#endif
