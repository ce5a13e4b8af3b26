/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The protobuf writer (pb.c), shared by the OTLP and Perfetto encoders,
 * against byte vectors of the protobuf encoding guide (varint 150 = 08 96
 * 01, 300 = ac 02, the string "testing", negative int64 in ten bytes,
 * fixed64/fixed32 little-endian) and its edge cases: the largest varint,
 * tags of big field numbers, nested lengths of every size class, messages
 * nested in messages whose length grows a byte, empty fields, UTF-8 repair.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "pb.h"
#include "varint.h"
#include "util.h"

static void hex(const struct lp_buf *b, char *out, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < b->len && k + 3 < len; i++)
		k += (size_t)snprintf(out + k, len - k, "%02x", (unsigned char)b->data[i]);
	out[k] = 0;
}

Test(pb, varints_and_tags)
{
	struct lp_buf b = { 0 };
	char h[256];
	lp_pb_uint(&b, 1, 150);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "089601");
	b.len = 0;
	lp_pb_varint(&b, 300);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "ac02");
	b.len = 0;
	lp_pb_string(&b, 2, "testing");
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "120774657374696e67");
	b.len = 0;
	lp_pb_int(&b, 3, -1);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "18ffffffffffffffffff01");
	b.len = 0;
	lp_pb_fixed64(&b, 7, 0x0102030405060708ull);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "390807060504030201");
	b.len = 0;
	lp_pb_fixed32(&b, 16, 1);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "850101000000");   /* field 16: tag 0x85 0x01 */
	b.len = 0;
	lp_pb_double(&b, 4, 1.0);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "21000000000000f03f");
	lp_buf_free(&b);
}

Test(pb, nested_lengths)
{
	/* 0, 127 (one length byte), 128 and 16383 (two), 16384 (three) */
	size_t sizes[] = { 0, 127, 128, 16383, 16384, 70000 };
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		struct lp_buf b = { 0 };
		lp_buf_puts(&b, "X");
		size_t m = lp_pb_begin(&b, 5);
		for (size_t i = 0; i < sizes[t]; i++)
			lp_buf_append(&b, "a", 1);
		lp_pb_end(&b, m);
		lp_buf_puts(&b, "Y");
		const uint8_t *p = (const uint8_t *)b.data;
		cr_assert_eq(p[0], 'X');
		cr_assert_eq(p[1], (5 << 3) | 2);
		uint64_t v = 0;
		size_t pos = 2;
		for (unsigned sh = 0;; sh += 7) {
			v |= (uint64_t)(p[pos] & 0x7f) << sh;
			if (!(p[pos++] & 0x80))
				break;
		}
		cr_assert_eq(v, sizes[t]);
		cr_assert_eq(pos + sizes[t] + 1, b.len);
		cr_assert_eq(p[b.len - 1], 'Y');
		lp_buf_free(&b);
	}
}

Test(pb, strings_made_utf8)
{
	struct lp_buf b = { 0 };
	char h[64];
	lp_pb_string(&b, 1, "a\xff" "b\xc3\xa9");   /* a, invalid byte, b, é */
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "0a0761efbfbd62c3a9");
	lp_buf_free(&b);
}

Test(pb, varint_limits)
{
	struct lp_buf b = { 0 };
	char h[64];
	uint64_t v[] = { 0, 1, 127, 128, 16383, 16384, 2097151, 2097152, UINT64_MAX };
	const char *want[] = { "00", "01", "7f", "8001", "ff7f", "808001", "ffff7f", "80808001",
			       "ffffffffffffffffff01" };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		b.len = 0;
		lp_pb_varint(&b, v[i]);
		hex(&b, h, sizeof(h));
		cr_assert_str_eq(h, want[i], "varint %llu", (unsigned long long)v[i]);
	}
	lp_buf_free(&b);
}

Test(pb, tags_of_big_fields)
{
	struct lp_buf b = { 0 };
	char h[64];
	/* field 60, length-delimited: (60 << 3) | 2 = 482 = e2 03; empty */
	size_t m = lp_pb_begin(&b, 60);
	lp_pb_end(&b, m);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "e20300");
	/* field 47, fixed64: (47 << 3) | 1 = 377 = f9 02 */
	b.len = 0;
	lp_pb_fixed64(&b, 47, 5);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "f9020500000000000000");
	/* the largest field number, 2^29 - 1: tag (2^29 - 1) << 3 = f8 ff ff ff 0f */
	b.len = 0;
	lp_pb_uint(&b, (1u << 29) - 1, 0);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "f8ffffff0f00");
	lp_buf_free(&b);
}

Test(pb, empty_fields)
{
	struct lp_buf b = { 0 };
	char h[64];
	lp_pb_string(&b, 2, "");
	lp_pb_string(&b, 2, NULL);
	lp_pb_bytes(&b, 3, NULL, 0);
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "120012001a00");
	lp_buf_free(&b);
}

Test(pb, nested_in_nested)
{
	/* the inner message grows past 127 bytes: its length takes two bytes,
	 * so the outer one's content moves and its length counts both */
	struct lp_buf b = { 0 };
	size_t outer = lp_pb_begin(&b, 1);
	lp_pb_uint(&b, 8, 7);
	size_t inner = lp_pb_begin(&b, 11);
	for (int i = 0; i < 200; i++)
		lp_buf_append(&b, "z", 1);
	lp_pb_end(&b, inner);
	lp_pb_end(&b, outer);
	const uint8_t *p = (const uint8_t *)b.data;
	/* 0a | len(outer) = 2 + 1 + 2 + 200 = 205 = cd 01 | 40 07 | 5a c8 01 | z x 200 */
	cr_assert_eq(b.len, 1 + 2 + 205);
	cr_assert_eq(p[0], 0x0a);
	cr_assert_eq(p[1], 0xcd);
	cr_assert_eq(p[2], 0x01);
	cr_assert_eq(p[3], 0x40);
	cr_assert_eq(p[4], 0x07);
	cr_assert_eq(p[5], 0x5a);
	cr_assert_eq(p[6], 0xc8);
	cr_assert_eq(p[7], 0x01);
	cr_assert_eq(p[8], 'z');
	cr_assert_eq(p[b.len - 1], 'z');
	lp_buf_free(&b);
}

Test(pb, utf8_edges)
{
	struct lp_buf b = { 0 };
	char h[64];
	/* a 4-byte character kept; a sequence cut at the end replaced */
	lp_pb_string(&b, 1, "\xf0\x9f\x90\xb3" "\xe2\x82");
	hex(&b, h, sizeof(h));
	cr_assert_str_eq(h, "0a0af09f90b3efbfbdefbfbd");
	lp_buf_free(&b);
}

/* The tape's reader (lp_varint_get: up to 4 bytes unrolled, then a loop)
 * gives back what lp_varint_put (up to 3 unrolled) wrote, at every width,
 * and moves past exactly those bytes; the checked decoder agrees. */
Test(varint, put_get_round_trip_every_width)
{
	uint8_t buf[64 * 3 * LP_VARINT_MAX], *w = buf;
	uint64_t vals[64 * 3];
	size_t n = 0;
	for (unsigned bits = 0; bits < 64; bits++) {
		uint64_t top = bits ? 1ull << bits : 0;
		uint64_t vs[3] = { top, top - (top > 0), top | 0x55 };
		for (int i = 0; i < 3; i++) {
			vals[n++] = vs[i];
			lp_varint_put(&w, vs[i]);
		}
	}
	const uint8_t *r = buf;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *before = r;
		uint64_t v = lp_varint_get(&r), d = 0;
		cr_assert_eq(v, vals[i], "value %zu: %llu, not %llu", i, (unsigned long long)v,
			     (unsigned long long)vals[i]);
		cr_assert_eq(lp_varint_decode(buf, (size_t)(w - buf), &pos, &d), 0);
		cr_assert_eq(d, vals[i]);
		cr_assert_eq((size_t)(r - buf), pos, "value %zu: %zu bytes read, %zu written", i,
			     (size_t)(r - before), pos - (size_t)(before - buf));
	}
	cr_assert_eq(r, w);
	int64_t sv[] = { 0, -1, 1, INT64_MIN, INT64_MAX, -64, 63, -65, 64 };
	w = buf;
	for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++)
		lp_varint_put_signed(&w, sv[i]);
	r = buf;
	for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++)
		cr_assert_eq(lp_varint_get_signed(&r), sv[i]);
}
