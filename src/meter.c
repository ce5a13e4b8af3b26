/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The progress meter (meter.h). One per process: the state is the
 * command's, and the line is stderr's.
 */
#include "meter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define REDRAW_NS 100000000ull  /* at most 10 lines a second */

static struct {
	bool started, tty, drawn_now, ever_drawn;
	uint64_t t0, delay_ns, last_draw;
	char phase[160];
	uint64_t total, done, phase_t0;
	bool bytes;
	unsigned pass;          /* passes over the trace in this phase (a rewind starts one) */
} mt;

void lp_meter_start(void)
{
	if (mt.started)
		return; /* the command's clock runs from its first call */
	memset(&mt, 0, sizeof(mt));
	mt.started = true;
	mt.t0 = lp_now_ns();
	mt.tty = isatty(2) == 1;
	mt.delay_ns = 1000000000ull;
	const char *d = getenv("LP_METER_DELAY_MS");
	if (d && *d) {
		char *end;
		unsigned long long ms = strtoull(d, &end, 10);
		if (!*end)
			mt.delay_ns = ms * 1000000ull;
	}
}

double lp_meter_elapsed(void)
{
	return mt.started ? (double)(lp_now_ns() - mt.t0) / 1e9 : 0;
}

bool lp_meter_was_shown(void)
{
	return mt.ever_drawn;
}

void lp_meter_clear(void)
{
	if (mt.drawn_now) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		mt.drawn_now = false;
	}
}

static void draw(uint64_t now)
{
	char line[320], num[32];
	int n = snprintf(line, sizeof(line), "\rlayerprof: %s", mt.phase);
	if (mt.pass > 1 && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, ", pass %u", mt.pass);
	if (mt.total && n > 0 && (size_t)n < sizeof(line)) {
		uint64_t done = mt.done < mt.total ? mt.done : mt.total;
		n += snprintf(line + n, sizeof(line) - (size_t)n, "  %u%%", (unsigned)(done * 100 / mt.total));
	}
	double secs = (double)(now - mt.phase_t0) / 1e9;
	if (mt.bytes && secs > 0.05 && n > 0 && (size_t)n < sizeof(line)) {
		uint64_t rate = (uint64_t)((double)mt.done / secs);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "  %s/s", lp_fmt_bytes(rate, num, sizeof(num)));
	}
	if (n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, "  %s\033[K",
			 lp_fmt_duration_ns(now - mt.t0, num, sizeof(num)));
	fputs(line, stderr);
	fflush(stderr);
	mt.drawn_now = mt.ever_drawn = true;
	mt.last_draw = now;
}

void lp_meter_at(uint64_t done)
{
	if (!mt.started || !mt.tty || !mt.phase[0])
		return;
	mt.done = done;
	uint64_t now = lp_now_ns();
	if (now - mt.t0 < mt.delay_ns || (mt.last_draw && now - mt.last_draw < REDRAW_NS))
		return;
	draw(now);
}

void lp_meter_phase(const char *name, uint64_t total, bool bytes)
{
	if (!mt.started)
		return;
	snprintf(mt.phase, sizeof(mt.phase), "%s", name ? name : "");
	mt.total = total;
	mt.bytes = bytes;
	mt.done = 0;
	mt.pass = 1;
	mt.phase_t0 = lp_now_ns();
	mt.last_draw = 0; /* a new phase shows at once */
	lp_meter_at(0);
}

void lp_meter_read(uint64_t offset)
{
	if (!mt.started || !mt.bytes)
		return;
	if (offset < mt.done) { /* the reader was rewound: another pass */
		mt.pass++;
		mt.phase_t0 = lp_now_ns();
	}
	lp_meter_at(offset);
}

void lp_meter_done(const char *fmt, ...)
{
	lp_meter_clear();
	if (!mt.started || !mt.tty)
		return;
	char what[512], dur[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "layerprof: %s in %s\n", what, lp_fmt_duration_ns(lp_now_ns() - mt.t0, dur, sizeof(dur)));
	fflush(stderr);
}

void lp_meter_warn(const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lp_warn("%s", what); /* (clears the line first) */
}
