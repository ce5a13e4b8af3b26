/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Feedback on long work, on stderr (docs/architecture.md, "Progress"). Not
 * progress.c, which parses BuildKit's progress stream.
 *
 *   lp_meter_start();                       the command's work starts (its clock)
 *   lp_meter_phase("reading", size, true);  a phase and its total (bytes or items; 0: unknown)
 *   lp_meter_at(done);                      where it is: cheap, call as often as you like
 *   lp_meter_read(offset);                  the trace reader's byte offset (any pass over a trace)
 *   lp_meter_clear();                       erase the line (done by every lp_error/lp_warn)
 *   lp_meter_done("wrote %s (%s)", ...);    the closing line, "... in 3.4 s"
 *   lp_meter_warn("capped: ...");           a cap or sampling: always printed
 *
 * The progress line ("layerprof: reading x.lprof 42% 61 MB/s 2.3 s") shows
 * only when stderr is a terminal and the command has worked for a second,
 * redrawn at most 10 times a second; a pass that starts over (a second pass
 * over the trace) shows "pass 2". The closing line, too, is for a terminal
 * only: scripts get the exit code and the file. Warnings go everywhere.
 */
#ifndef LAYERPROF_METER_H
#define LAYERPROF_METER_H

#include <stdbool.h>
#include <stdint.h>

/* Start the command's clock (once: later calls do nothing); decides
 * whether lines are drawn (stderr is a tty). LP_METER_DELAY_MS (default 1000) is how long work lasts before the
 * line shows: tests set 0. */
void lp_meter_start(void);
/* A new phase: its name (copied) and total; bytes: the unit is bytes (a
 * rate is shown), else items. */
void lp_meter_phase(const char *name, uint64_t total, bool bytes);
void lp_meter_at(uint64_t done);
/* The trace reader's offset in its file: counts only in a phase of bytes. */
void lp_meter_read(uint64_t offset);
/* The end of a phase: the line erased. */
void lp_meter_clear(void);
/* Erase the line and print "layerprof: <what> in <time since start>" when
 * stderr is a tty. */
void lp_meter_done(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "layerprof: warning: <what>" on stderr, tty or not. */
void lp_meter_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Seconds since lp_meter_start(). */
double lp_meter_elapsed(void);
/* Whether a progress line was drawn (the work was long enough to say how
 * long it took). */
bool lp_meter_was_shown(void);

#endif
