/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one protobuf writer (pb.h): used by the OTLP encoder (otlp_proto.c)
 * and the Perfetto exporter (export_perfetto.c).
 */
#include "pb.h"

#include <string.h>

#include "varint.h"

/* Room for n more bytes at the end of b, written in place (the Perfetto
 * export's packets but its plain slices, and OTLP's spans, are millions of
 * fields on a big trace): where they go; done() says where they ended. */
static inline uint8_t *room(struct lp_buf *b, size_t n)
{
	lp_buf_reserve(b, n);
	return (uint8_t *)b->data + b->len;
}

static inline void done(struct lp_buf *b, const uint8_t *end)
{
	b->len = (size_t)(end - (const uint8_t *)b->data);
	b->data[b->len] = '\0'; /* (an lp_buf ends in one, whatever it holds) */
}

static inline uint64_t tag_of(unsigned field, unsigned wire)
{
	return ((uint64_t)field << 3) | (wire & 7);
}

void lp_pb_varint(struct lp_buf *b, uint64_t v)
{
	uint8_t *p = room(b, LP_VARINT_MAX);
	done(b, p + lp_varint_encode(p, v));
}

void lp_pb_tag(struct lp_buf *b, unsigned field, unsigned wire)
{
	lp_pb_varint(b, tag_of(field, wire));
}

void lp_pb_uint(struct lp_buf *b, unsigned field, uint64_t v)
{
	uint8_t *p = room(b, 2 * LP_VARINT_MAX);
	p += lp_varint_encode(p, tag_of(field, LP_PB_VARINT));
	done(b, p + lp_varint_encode(p, v));
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

/* How many bytes of p[0..n) from the start are ASCII: 8 at a time. */
static size_t ascii_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (uint64_t w; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ull)
			break;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

void lp_pb_string(struct lp_buf *b, unsigned field, const char *s)
{
	static const char repl[] = "\xef\xbf\xbd";   /* U+FFFD */
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), i = 0;
	size_t mark = lp_pb_begin(b, field);
	while (i < n) {
		size_t run = i + ascii_run(p + i, n - i);
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
	uint8_t *p = room(b, LP_VARINT_MAX + 1);
	p += lp_varint_encode(p, tag_of(field, LP_PB_LEN));
	*p++ = 0;
	done(b, p);
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
