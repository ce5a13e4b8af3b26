/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A raw deflate (RFC 1951) writer for the number planes of a pack
 * (trace_pack.c): each call codes one buffer as one deflate block of its
 * own (so each plane gets its own Huffman codes) with literals, runs of the
 * previous byte and long matches, as a dynamic-Huffman, fixed-Huffman or
 * stored block, whichever is smallest. Any inflater reads it: it is plain
 * deflate. It stores about what zlib level 4 with Z_FILTERED stored on the
 * planes, at ~3x zlib's speed.
 *
 * The blocks are never final: the caller continues the stream after them
 * (the pack writer aligns it with lp_rle_deflate_align() and libdeflate's
 * stream of the byte columns ends it; zlib primed with the pending bits
 * could go on without the alignment).
 */
#ifndef LAYERPROF_DEFLATE_RLE_H
#define LAYERPROF_DEFLATE_RLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_RLE_LITLEN 286 /* literal/length symbols (RFC 1951 3.2.5) */
#define LP_RLE_HASH_BITS 12

struct lp_rle_deflate {
	uint8_t *out;
	size_t cap, pos;   /* out[0..pos) written; room up to cap */
	uint64_t acc;      /* bits not yet in out, first bit lowest */
	unsigned nacc;
	/* the block's runs and matches, in order: start << 32 | token; the
	 * bytes between them are literals, read from the input again */
	uint64_t *tok;
	size_t tok_cap;
	/* set by the caller before a block: false codes runs and literals
	 * only (no lookups, no places remembered), for input that found few
	 * matches lately: the search is most of the cost of noise.
	 * lp_rle_deflate_start() sets it. */
	bool search;
	size_t matched; /* after a block: how many of its bytes matches cover */
	uint8_t len_sym[259];              /* match length -> length symbol - 257 */
	uint16_t fixed_code[288];          /* fixed Huffman codes, bit-reversed */
	uint8_t fixed_len[288];
	uint16_t fixed_dcode[30];
	/* where 4 bytes were seen last and the time before: the low 16 bits
	 * of the position in the stream */
	uint16_t head[1u << LP_RLE_HASH_BITS][2];
	const uint8_t *base;    /* the stream's first input byte */
	const uint8_t *next_in; /* the blocks' input is one buffer, in order */
};

/* Ready to write from out[0] on, at most cap bytes (the tables are made
 * the first time). */
void lp_rle_deflate_start(struct lp_rle_deflate *d, uint8_t *out, size_t cap);

/* Code in[0..n) as one non-final block. The blocks of a stream code one
 * buffer in order (in = where the previous block's input ended): matches
 * may reach back into it, up to deflate's 32 KiB window. 0, or -1 when it
 * does not fit in the room left, in is not where the previous block ended,
 * or on OOM: the stream is unusable then. */
int lp_rle_deflate_block(struct lp_rle_deflate *d, const uint8_t *in, size_t n);

/* An empty stored block (not final): the stream goes on at a byte
 * boundary, where another compressor's complete raw deflate stream can
 * follow and end it. 0, or -1 when it does not fit in the room left. */
int lp_rle_deflate_align(struct lp_rle_deflate *d);

/* The whole bytes written so far; the 0..7 bits after them in *bits (low
 * first) and their count in *nbits. */
size_t lp_rle_deflate_pending(const struct lp_rle_deflate *d, unsigned *bits, int *nbits);

void lp_rle_deflate_free(struct lp_rle_deflate *d);

#endif /* LAYERPROF_DEFLATE_RLE_H */
