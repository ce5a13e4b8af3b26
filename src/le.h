/* SPDX-License-Identifier: BSD-2-Clause */
/* Explicit little-endian encoding of the trace file's headers, so the file
 * layout does not depend on the host or on struct padding. */
#ifndef LAYERPROF_LE_H
#define LAYERPROF_LE_H

#include <stdint.h>
#include <string.h>

static inline void lp_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void lp_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void lp_put_u64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8); /* one store (the deflate writer's bit flush) */
#else
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static inline uint16_t lp_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t lp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t lp_get_u64(const uint8_t *p)
{
	return (uint64_t)lp_get_u32(p) | (uint64_t)lp_get_u32(p + 4) << 32;
}

#endif
