/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one varint codec: unsigned LEB128 (7 bits a byte, low first, at most
 * 10 bytes for 64 bits) and zigzag for signed values (0, -1, 1, -2... ->
 * 0, 1, 2, 3...). Used by the trace packer (trace_pack.c) and the model's
 * tape (model_tape.c).
 */
#ifndef LAYERPROF_VARINT_H
#define LAYERPROF_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define LP_VARINT_MAX 10

static inline uint64_t lp_zigzag64(uint64_t d)
{
	return (d << 1) ^ (uint64_t)((int64_t)d >> 63);
}

static inline uint64_t lp_unzigzag64(uint64_t z)
{
	return (z >> 1) ^ (uint64_t) - (int64_t)(z & 1);
}

/* v into o (room for LP_VARINT_MAX bytes); the bytes written. */
static inline size_t lp_varint_encode(uint8_t *o, uint64_t v)
{
	/* (1 byte, most of the tape's values, and 2 or 3, its time deltas
	 * and ids, without the loop) */
	if (v < 0x80) {
		o[0] = (uint8_t)v;
		return 1;
	}
	if (v < 1u << 14) {
		o[0] = (uint8_t)(v | 0x80);
		o[1] = (uint8_t)(v >> 7);
		return 2;
	}
	if (v < 1u << 21) {
		o[0] = (uint8_t)(v | 0x80);
		o[1] = (uint8_t)((v >> 7) | 0x80);
		o[2] = (uint8_t)(v >> 14);
		return 3;
	}
	size_t n = 0;
	while (v >= 0x80) {
		o[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[n++] = (uint8_t)v;
	return n;
}

/* The varint at in[*pos] (in holds n bytes) into *v, *pos past it; -1 when
 * it is cut short or longer than 64 bits. */
static inline int lp_varint_decode(const uint8_t *in, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned k = 0; k < LP_VARINT_MAX; k++) {
		if (*pos >= n)
			return -1;
		uint8_t b = in[(*pos)++];
		if (k == 9 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7f) << (7 * k);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Writing and reading through a moving pointer, for buffers the caller
 * sized and wrote itself (the tape): no bounds to check. */
static inline void lp_varint_put(uint8_t **p, uint64_t v)
{
	*p += lp_varint_encode(*p, v);
}

static inline void lp_varint_put_signed(uint8_t **p, int64_t v)
{
	lp_varint_put(p, lp_zigzag64((uint64_t)v));
}

/* (unrolled, as protobuf's readers are: a value under 128, most of the
 * tape's, is one test, one of 2 to 4 bytes (time deltas, ids) a test a
 * byte more; a loop's counter and exit test cost twice that) */
static inline uint64_t lp_varint_get(const uint8_t **p)
{
	const uint8_t *s = *p;
	uint64_t x = s[0], b;
	if (x < 0x80) {
		*p = s + 1;
		return x;
	}
	x &= 0x7f;
	b = s[1];
	x |= (b & 0x7f) << 7;
	if (b < 0x80) {
		*p = s + 2;
		return x;
	}
	b = s[2];
	x |= (b & 0x7f) << 14;
	if (b < 0x80) {
		*p = s + 3;
		return x;
	}
	b = s[3];
	x |= (b & 0x7f) << 21;
	if (b < 0x80) {
		*p = s + 4;
		return x;
	}
	unsigned k = 4;
	do {
		b = s[k];
		x |= (b & 0x7f) << (7 * k);
		k++;
	} while ((b & 0x80) && k < LP_VARINT_MAX);
	*p = s + k;
	return x;
}

static inline int64_t lp_varint_get_signed(const uint8_t **p)
{
	return (int64_t)lp_unzigzag64(lp_varint_get(p));
}

#endif
