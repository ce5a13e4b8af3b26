// SPDX-License-Identifier: BSD-2-Clause
/* util.h string helpers with a fast path: JSON escaping (plain runs found
 * eight bytes at a time) and lp_norm_abs_path (one walk). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "util.h"

/* The escape of one byte, as the JSON rules say it (RFC 8259), for bytes
 * below 0x80; written here from the rules, not from util.c. */
static void escape_byte(char *out, unsigned char c)
{
	switch (c) {
	case '"': strcpy(out, "\\\""); return;
	case '\\': strcpy(out, "\\\\"); return;
	case '\n': strcpy(out, "\\n"); return;
	case '\r': strcpy(out, "\\r"); return;
	case '\t': strcpy(out, "\\t"); return;
	}
	if (c < 0x20 || c == 0x7f)
		sprintf(out, "\\u%04x", c);
	else
		sprintf(out, "%c", c);
}

/* Every byte that needs escaping, at every offset of a 24-byte string of
 * plain bytes (so at each place of an 8-byte word, and in the tail). */
Test(strings, json_escape_at_every_offset)
{
	const unsigned char special[] = { 0x00, 0x01, 0x08, '\t', '\n', '\r', 0x1f, '"', '\\', 0x7f };
	for (size_t si = 0; si < sizeof(special); si++) {
		for (size_t at = 0; at < 24; at++) {
			char in[24], want[200] = "\"";
			for (size_t i = 0; i < sizeof(in); i++)
				in[i] = (char)(' ' + (i * 7) % 95 == '"' || ' ' + (i * 7) % 95 == '\\' ? 'q'
					       : ' ' + (i * 7) % 95);
			in[at] = (char)special[si];
			for (size_t i = 0; i < sizeof(in); i++)
				escape_byte(want + strlen(want), (unsigned char)in[i]);
			strcat(want, "\"");
			struct lp_buf b = { 0 };
			lp_buf_json_strn(&b, in, sizeof(in), LP_JSON_INVALID_REPLACE);
			cr_assert_eq(b.len, strlen(want), "byte 0x%02x at %zu: length", special[si], at);
			cr_assert(!memcmp(b.data, want, b.len), "byte 0x%02x at %zu: %.*s, not %s", special[si], at,
				  (int)b.len, b.data, want);
			lp_buf_free(&b);
		}
	}
}

/* UTF-8 at every offset stays as it is; a stray continuation byte is
 * replaced, wherever it falls in a word. */
Test(strings, json_escape_utf8_and_invalid_bytes)
{
	for (size_t at = 0; at + 2 <= 20; at++) {
		char in[21];
		memset(in, 'a', 20);
		in[20] = 0;
		memcpy(in + at, "\xc3\xa9", 2); /* é */
		struct lp_buf b = { 0 };
		lp_buf_json_str(&b, in);
		char want[40];
		snprintf(want, sizeof(want), "\"%s\"", in);
		cr_assert_str_eq(b.data, want);
		lp_buf_free(&b);
		memset(in, 'a', 20);
		in[at] = (char)0x80;
		lp_buf_json_str(&b, in);
		cr_assert_eq(b.len, 2 + 19 + strlen("\\ufffd"), "0x80 at %zu: %s", at, b.data);
		cr_assert(strstr(b.data, "\\ufffd") == b.data + 1 + at, "0x80 at %zu: %s", at, b.data);
		lp_buf_free(&b);
	}
}

Test(strings, norm_abs_path)
{
	static const char *const cases[][2] = {
		{ "/a/b/c", "/a/b/c" },
		{ "a/b", "/a/b" },
		{ "//a///b//", "/a/b" },
		{ "/a/./b/.", "/a/b" },
		{ "/a/b/../c", "/a/c" },
		{ "/a/../../b", "/b" },
		{ "/..", "" },
		{ "/", "" },
		{ "", "" },
		{ "/.a/..b/...", "/.a/..b/..." },
		{ "/app/src/", "/app/src" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		memset(out, 'X', sizeof(out));
		lp_norm_abs_path(cases[i][0], out, sizeof(out));
		cr_assert_str_eq(out, cases[i][1], "'%s'", cases[i][0]);
	}
	/* a component that does not fit is cut, and the walk ends there */
	char small[8];
	lp_norm_abs_path("/ab/cdefgh/ij", small, sizeof(small));
	cr_assert_str_eq(small, "/ab/cde");
	lp_norm_abs_path("/abc/d/e", small, sizeof(small));
	cr_assert_str_eq(small, "/abc/d/"); /* (the cut "/e") */
}
