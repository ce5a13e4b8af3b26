/* SPDX-License-Identifier: BSD-2-Clause */
/* The printf-free number formatters of util.h (lp_fmt_u64 and friends),
 * and the argument and duration text built on them: the same text as
 * printf's, which is the oracle here. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "syscalls.h"
#include "sysfmt.h"
#include "util.h"

/* edges, powers of ten and their neighbours, and a pseudo-random spread */
static uint64_t sample(unsigned i)
{
	static const uint64_t edges[] = { 0, 1, 9, 10, 11, 99, 100, 101, 999, 1000,
					  UINT32_MAX, (uint64_t)UINT32_MAX + 1, INT64_MAX,
					  (uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX };
	if (i < LP_ARRAY_SIZE(edges))
		return edges[i];
	i -= LP_ARRAY_SIZE(edges);
	if (i < 3 * 20) {
		uint64_t p = 1;
		for (unsigned k = 0; k < i / 3; k++)
			p *= 10;
		return p + (i % 3) - 1;
	}
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return x >> (i % 64);
}

Test(numfmt, integers_match_printf)
{
	for (unsigned i = 0; i < 100000; i++) {
		uint64_t v = sample(i);
		char got[32], want[32];
		size_t n = lp_fmt_u64(got, v);
		got[n] = '\0';
		snprintf(want, sizeof(want), "%" PRIu64, v);
		cr_assert_str_eq(got, want);
		n = lp_fmt_i64(got, (int64_t)v);
		got[n] = '\0';
		snprintf(want, sizeof(want), "%" PRId64, (int64_t)v);
		cr_assert_str_eq(got, want);
		n = lp_fmt_x64(got, v);
		got[n] = '\0';
		snprintf(want, sizeof(want), "%#" PRIx64, v);
		cr_assert_str_eq(got, want);
		lp_fmt_u64_fixed(got, v % 1000000, 6);
		got[6] = '\0';
		snprintf(want, sizeof(want), "%06" PRIu64, v % 1000000);
		cr_assert_str_eq(got, want);
	}
}

Test(numfmt, buffer_appends)
{
	struct lp_buf b = { 0 };
	lp_buf_lit(&b, "a=");
	lp_buf_u64(&b, 18446744073709551615ull);
	lp_buf_lit(&b, " b=");
	lp_buf_i64(&b, INT64_MIN);
	cr_assert_str_eq(b.data, "a=18446744073709551615 b=-9223372036854775808");
	cr_assert_eq(b.len, strlen(b.data));
	lp_buf_free(&b);
}

/* below a millisecond, lp_fmt_duration_ns rounds in integers: every value
 * must agree with the "%.0f us" it replaces, halves to even included */
Test(numfmt, microseconds_round_like_printf)
{
	for (uint64_t ns = 0; ns < 1000000; ns++) {
		char got[32], want[32];
		lp_fmt_duration_ns(ns, got, sizeof(got));
		snprintf(want, sizeof(want), "%.0f us", (double)ns / 1e3);
		cr_assert_str_eq(got, want, "ns %" PRIu64, ns);
	}
}

/* the numeric argument types against printf */
Test(numfmt, numeric_arguments_match_printf)
{
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = sample(i);
		char got[64], want[64];
		snprintf(want, sizeof(want), "%" PRId32, (int32_t)v);
		cr_assert_str_eq(lp_fmt_arg(LP_ARG_INT, v, got, sizeof(got)), want);
		cr_assert_str_eq(lp_fmt_arg(LP_ARG_FD, v, got, sizeof(got)), want);
		cr_assert_str_eq(lp_fmt_arg(LP_ARG_ID, v, got, sizeof(got)), want);
		snprintf(want, sizeof(want), "%" PRId64, (int64_t)v);
		cr_assert_str_eq(lp_fmt_arg(LP_ARG_OFFSET, v, got, sizeof(got)), want);
		snprintf(want, sizeof(want), "%" PRIu64, v);
		cr_assert_str_eq(lp_fmt_arg(LP_ARG_UINT, v, got, sizeof(got)), want);
		if (v) {
			snprintf(want, sizeof(want), "%#" PRIx64, v);
			cr_assert_str_eq(lp_fmt_arg(LP_ARG_PTR, v, got, sizeof(got)), want);
		}
		if ((v & 0170000) == 0 && v) {
			snprintf(want, sizeof(want), "0%03" PRIo64, v);
			cr_assert_str_eq(lp_fmt_arg(LP_ARG_MODE, v, got, sizeof(got)), want);
		}
		/* cut like snprintf: the first len - 1 bytes */
		char small[4];
		snprintf(want, sizeof(small), "%" PRIu64, v);
		cr_assert_str_eq(lp_fmt_arg(LP_ARG_UINT, v, small, sizeof(small)), want);
	}
}
