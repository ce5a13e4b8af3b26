/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * "pack": the compact encoding of an EVENTS block (block codecs 2 and 3 of
 * the trace file; trace.h, docs/trace-format.md). The encoding itself is
 * described at the top of trace_pack.c.
 *
 * lp_pack() turns a block of records (the exact bytes the writer was given)
 * into a pack; lp_unpack() turns a pack back into the very same bytes. A
 * pack depends on nothing outside its block, so every complete block of a
 * cut file can be read on its own. lp_unpack() parses hostile input: every
 * count and length is checked before it is used, nothing is allocated
 * beyond what the checked lengths allow, and any inconsistency is an error
 * with one line saying what and where.
 */
#ifndef LAYERPROF_TRACE_PACK_H
#define LAYERPROF_TRACE_PACK_H

#include <stddef.h>
#include <stdint.h>

#define LP_PACK_VERSION 1 /* first byte of every pack */

struct lp_packer;
struct lp_unpacker;

/* Reusable state of one encoder / decoder (one thread each). NULL on OOM. */
struct lp_packer *lp_packer_new(void);
void lp_packer_free(struct lp_packer *p);
struct lp_unpacker *lp_unpacker_new(void);
void lp_unpacker_free(struct lp_unpacker *u);

/*
 * Pack the records raw[0..len) (back to back, each starting with a struct
 * lp_hdr whose size >= 24 covers it) into out[0..cap). Returns the pack's
 * size (> 0), or 0 when it does not fit in cap, when the chain of records
 * is malformed, or on OOM. Writers pass cap = len: a pack is never bigger
 * than the records it holds (readers rely on it).
 */
size_t lp_pack(struct lp_packer *p, const uint8_t *raw, size_t len, uint8_t *out, size_t cap);

/*
 * What the writer stores for an EVENTS block: pack raw[0..len), then
 * compress the pack with raw deflate into out[0..cap) (cap >= len). Returns
 * the payload size and sets *codec: LP_CODEC_PACK_ZLIB, or LP_CODEC_PACK
 * when deflate does not shrink the pack (out holds the pack then). 0: no
 * pack (see lp_pack()); the caller stores the block another way.
 */
size_t lp_pack_block(struct lp_packer *p, const uint8_t *raw, size_t len, uint8_t *out,
		     size_t cap, uint8_t *codec);

/*
 * Unpack the pack in[0..n) into out, which it must fill with exactly out_len
 * bytes of records. Returns the number of records, or -1 with one line in
 * err saying what is wrong (e.g. "record 12 (syscall): column 'ts' is
 * exhausted"). Never reads outside in[0..n), never writes outside
 * out[0..out_len).
 */
long lp_unpack(struct lp_unpacker *u, const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
	       char *err, size_t errlen);

/* The payload of a codec 2 (LP_CODEC_PACK) or 3 (LP_CODEC_PACK_ZLIB) block:
 * inflate if needed (to at most out_len bytes), then lp_unpack(). */
long lp_unpack_block(struct lp_unpacker *u, uint8_t codec, const uint8_t *in, size_t n,
		     uint8_t *out, size_t out_len, char *err, size_t errlen);

#endif /* LAYERPROF_TRACE_PACK_H */
