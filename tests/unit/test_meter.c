/* SPDX-License-Identifier: BSD-2-Clause */
/* The progress meter (meter.h) off a terminal: a cap's warning always
 * shows, with its numbers; progress and closing lines never do. (On a tty:
 * tests/cli/progress.sh, through a pty.) */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "meter.h"

static void redirect(void)
{
	cr_redirect_stderr(); /* a pipe: not a tty */
}

Test(meter, warning_shows_off_a_tty, .init = redirect)
{
	lp_meter_start();
	lp_meter_phase("reading", 1000, true);
	lp_meter_at(500);
	lp_meter_warn("capped: %d of %d slices kept", 500000, 812345);
	lp_meter_done("wrote %s (%s)", "x.json", "1 kB");
	fflush(stderr);
	cr_assert_stderr_eq_str("layerprof: warning: capped: 500000 of 812345 slices kept\n");
}

Test(meter, nothing_before_start, .init = redirect)
{
	/* a command that never started the meter (record, check) draws nothing */
	lp_meter_phase("reading", 10, true);
	lp_meter_read(5);
	lp_meter_done("wrote %s", "x");
	fflush(stderr);
	cr_assert_stderr_eq_str("");
	cr_assert(!lp_meter_was_shown());
}
