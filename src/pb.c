/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one protobuf writer (pb.h): used by the OTLP encoder (otlp_proto.c)
 * and the Perfetto exporter (export_perfetto.c).
 */
#include "pb.h"

#include <string.h>

#include "varint.h"

void lp_pb_varint(struct lp_buf *b, uint64_t v)
{
	uint8_t tmp[LP_VARINT_MAX];
	lp_buf_append(b, tmp, lp_varint_encode(tmp, v));
}

void lp_pb_tag(struct lp_buf *b, unsigned field, unsigned wire)
{
	lp_pb_varint(b, ((uint64_t)field << 3) | (wire & 7));
}

void lp_pb_uint(struct lp_buf *b, unsigned field, uint64_t v)
{
	lp_pb_tag(b, field, LP_PB_VARINT);
	lp_pb_varint(b, v);
}

void lp_pb_int(struct lp_buf *b, unsigned field, int64_t v)
{
	lp_pb_uint(b, field, (uint64_t)v);   /* int64: two's complement, 10 bytes when negative */
}

void lp_pb_fixed64(struct lp_buf *b, unsigned field, uint64_t v)
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	lp_pb_tag(b, field, LP_PB_I64);
	lp_buf_append(b, le, sizeof(le));
}

void lp_pb_fixed32(struct lp_buf *b, unsigned field, uint32_t v)
{
	uint8_t le[4];
	for (int i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	lp_pb_tag(b, field, LP_PB_I32);
	lp_buf_append(b, le, sizeof(le));
}

void lp_pb_double(struct lp_buf *b, unsigned field, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	lp_pb_fixed64(b, field, u);
}

void lp_pb_bytes(struct lp_buf *b, unsigned field, const void *p, size_t n)
{
	lp_pb_tag(b, field, LP_PB_LEN);
	lp_pb_varint(b, n);
	if (n)
		lp_buf_append(b, p, n);
}

void lp_pb_string(struct lp_buf *b, unsigned field, const char *s)
{
	static const char repl[] = "\xef\xbf\xbd";   /* U+FFFD */
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), i = 0;
	size_t mark = lp_pb_begin(b, field);
	while (i < n) {
		size_t run = i;
		while (run < n && p[run] < 0x80)
			run++;
		if (run > i)
			lp_buf_append(b, p + i, run - i);
		i = run;
		if (i >= n)
			break;
		size_t k = lp_utf8_seq_len(p + i, n - i);
		if (k) {
			lp_buf_append(b, p + i, k);
			i += k;
		} else {
			lp_buf_append(b, repl, 3);
			i++;
		}
	}
	lp_pb_end(b, mark);
}

/* The length's first byte is kept at begin: a message under 128 bytes
 * (most) gets its length without moving its bytes, a longer one moves by
 * the varint's other bytes. */
size_t lp_pb_begin(struct lp_buf *b, unsigned field)
{
	lp_pb_tag(b, field, LP_PB_LEN);
	lp_buf_reserve(b, 1);
	b->data[b->len++] = 0;
	return b->len;
}

void lp_pb_end(struct lp_buf *b, size_t mark)
{
	size_t n = b->len - mark;
	if (n < 0x80) {
		b->data[mark - 1] = (char)n;
		return;
	}
	uint8_t tmp[LP_VARINT_MAX];
	size_t k = lp_varint_encode(tmp, n);
	lp_buf_reserve(b, k - 1);
	memmove(b->data + mark + k - 1, b->data + mark, n);
	memcpy(b->data + mark - 1, tmp, k);
	b->len += k - 1;
}
