// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: the EVENTS block codec (trace_pack.h) alone, much
 * faster than going through the whole reader (fuzz_trace_reader.c).
 *
 * The input is a run of records (the seeds are real EVENTS payloads, see
 * fuzz/corpus/trace_pack/). The harness
 *   1. makes it a well-formed record chain (each lp_hdr.size clamped to
 *      [24, bytes left], 8-byte aligned as the writer's records are);
 *   2. packs it (lp_pack_block, both codecs) and requires the unpacked bytes
 *      to equal the chain exactly: the codec is lossless on any records;
 *   3. corrupts the pack with (offset, xor) pairs taken from the input's
 *      last bytes, and unpacks it again: an error or the right length,
 *      never a crash, an out-of-bounds access or a leak (ASan, UBSan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerprof/abi.h"
#include "trace.h"
#include "trace_pack.h"

#include "fuzz_require.h"

#define MAX_CHAIN (1u << 20) /* a block's worth of records at most */

static struct lp_packer *g_packer;
static struct lp_unpacker *g_unpacker;

/* Copy data into a well-formed chain of records; returns its length. */
static size_t make_chain(const uint8_t *data, size_t size, uint8_t *chain)
{
	size_t off = 0;
	if (size > MAX_CHAIN)
		size = MAX_CHAIN;
	while (size - off >= sizeof(struct lp_hdr)) {
		size_t left = size - off;
		uint16_t sz;
		memcpy(&sz, data + off, sizeof(sz));
		size_t n = sz < sizeof(struct lp_hdr) ? sizeof(struct lp_hdr) : sz;
		n = (n + 7) & ~(size_t)7;
		if (n > left)
			n = left & ~(size_t)7;
		if (n < sizeof(struct lp_hdr) || n > UINT16_MAX)
			break;
		memcpy(chain + off, data + off, n);
		sz = (uint16_t)n;
		memcpy(chain + off, &sz, sizeof(sz));
		off += n;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_packer) {
		g_packer = lp_packer_new();
		g_unpacker = lp_unpacker_new();
		REQUIRE(g_packer && g_unpacker, "codec state");
	}
	uint8_t *chain = malloc(size ? size : 1);
	size_t len = make_chain(data, size, chain);
	if (!len) {
		free(chain);
		return 0;
	}
	uint8_t *packed = malloc(len);
	uint8_t *back = malloc(len);
	char err[256];

	/* 2. lossless, with and without the deflate stage */
	uint8_t codec = 0;
	size_t plen = lp_pack_block(g_packer, chain, len, packed, len, &codec);
	if (plen) {
		REQUIRE(codec == LP_CODEC_PACK || codec == LP_CODEC_PACK_ZLIB, "a pack codec");
		long n = lp_unpack_block(g_unpacker, codec, packed, plen, back, len, err, sizeof(err));
		if (n < 0)
			fprintf(stderr, "unpack of a fresh pack failed: %s\n", err);
		REQUIRE(n > 0, "a fresh pack unpacks");
		REQUIRE(!memcmp(back, chain, len), "unpack(pack(records)) == records");

		/* 3. hostile: flip bytes of the pack at input-chosen places */
		size_t flips = size % 5 + 1;
		for (size_t i = 0; i < flips && size >= 3 * (i + 1); i++) {
			const uint8_t *f = data + size - 3 * (i + 1);
			size_t at = ((size_t)f[0] << 8 | f[1]) % plen;
			packed[at] ^= f[2] ? f[2] : 0x55;
		}
		n = lp_unpack_block(g_unpacker, codec, packed, plen, back, len, err, sizeof(err));
		REQUIRE(n < 0 ? err[0] != 0 : 1, "an error says what is wrong");
		/* also as the other codec: a pack read as deflate and vice versa */
		uint8_t other = codec == LP_CODEC_PACK ? LP_CODEC_PACK_ZLIB : LP_CODEC_PACK;
		n = lp_unpack_block(g_unpacker, other, packed, plen, back, len, err, sizeof(err));
		REQUIRE(n < 0 ? err[0] != 0 : 1, "an error says what is wrong");
	}
	/* the raw input itself as a pack, at the chain's length */
	long n = lp_unpack(g_unpacker, data, size, back, len, err, sizeof(err));
	REQUIRE(n < 0 ? err[0] != 0 : 1, "an error says what is wrong");

	free(back);
	free(packed);
	free(chain);
	return 0;
}
