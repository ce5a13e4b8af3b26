// SPDX-License-Identifier: BSD-2-Clause
/*
 * An independent look at a trace file's blocks (format: src/trace.h), for
 * the reliability tests and for making fuzz seeds. It does not use
 * layerprof's reader on purpose: it checks what is really in the bytes.
 * Packed EVENTS blocks (codecs 2 and 3) go through the library's block
 * unpacker (src/trace_pack.c) alone, so that "inflate" prints the records'
 * exact bytes: a secret cannot hide from grep in a front-coded string.
 *
 *   lprof_blocks list FILE         one line per block: offset type codec raw stored ok
 *   lprof_blocks inflate FILE      every good block's payload, decompressed, to stdout
 *                                  (to grep a trace for strings that must not be there)
 *   lprof_blocks store IN OUT      rewrite IN with every block stored uncompressed
 *                                  (CRCs recomputed); bytes after the last good
 *                                  block are copied as they are
 *   lprof_blocks sample IN OUT N   a small real trace for a fuzz seed: META, one
 *                                  stored EVENTS block of at most N bytes of
 *                                  records (first those that are not syscall or
 *                                  fd_io events, then those; each kept in
 *                                  order), the TRAILER
 *
 * Exit status: 0 every block good to the end of the file, 1 a bad or cut
 * block was found (list/inflate/store still did what they could), 2 usage or
 * I/O error.
 * Build: cc -O2 -Iinclude -Isrc -o lprof_blocks lprof_blocks.c build/liblayerprof.a -lz
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "trace.h"
#include "trace_pack.h"

#define HDR 32
#define BHDR 24
#define MAGIC 0x4b42504cu
#define MAX_RAW (16u << 20)

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *d = malloc(cap);
	for (;;) {
		if (len == cap)
			d = realloc(d, cap *= 2);
		size_t k = fread(d + len, 1, cap - len, f);
		if (!k)
			break;
		len += k;
	}
	fclose(f);
	*n = len;
	return d;
}

/* Check the block at off; on success return its raw payload (malloc'd) and
 * fill type/codec/stored/raw_len. NULL when bad or cut. */
static uint8_t *block(const uint8_t *d, size_t n, size_t off, int *type, int *codec,
		      uint32_t *stored, uint32_t *raw_len)
{
	if (n - off < BHDR)
		return NULL;
	const uint8_t *h = d + off;
	if (get32(h) != MAGIC || get32(h + 20) != (uint32_t)crc32(0, h, 20))
		return NULL;
	*type = h[4];
	*codec = h[5];
	*raw_len = get32(h + 8);
	*stored = get32(h + 12);
	if (*raw_len > MAX_RAW || *stored > n - off - BHDR)
		return NULL;
	if (get32(h + 16) != (uint32_t)crc32(0, h + BHDR, *stored))
		return NULL;
	uint8_t *raw = malloc(*raw_len + 1);
	if (*codec == 0) {
		if (*stored != *raw_len) {
			free(raw);
			return NULL;
		}
		memcpy(raw, h + BHDR, *raw_len);
	} else if (*codec == 1) {
		uLongf out = *raw_len;
		if (uncompress(raw, &out, h + BHDR, *stored) != Z_OK || out != *raw_len) {
			free(raw);
			return NULL;
		}
	} else if (*codec == LP_CODEC_PACK || *codec == LP_CODEC_PACK_ZLIB) {
		static struct lp_unpacker *u;
		char err[256];
		if (!u)
			u = lp_unpacker_new();
		if (!u || lp_unpack_block(u, (uint8_t)*codec, h + BHDR, *stored, raw, *raw_len, err,
					  sizeof(err)) < 0) {
			free(raw);
			return NULL;
		}
	} else {
		free(raw);
		return NULL;
	}
	return raw;
}

static void put_block(FILE *out, int type, const uint8_t *raw, uint32_t len)
{
	uint8_t h[BHDR];
	put32(h, MAGIC);
	h[4] = (uint8_t)type;
	h[5] = 0;
	h[6] = h[7] = 0;
	put32(h + 8, len);
	put32(h + 12, len);
	put32(h + 16, (uint32_t)crc32(0, raw, len));
	put32(h + 20, (uint32_t)crc32(0, h, 20));
	fwrite(h, 1, BHDR, out);
	fwrite(raw, 1, len, out);
}

static int sample(const char *in, const char *outp, size_t budget)
{
	size_t n;
	uint8_t *d = slurp(in, &n);
	if (n < HDR || memcmp(d, "LPROF\0\r\n", 8) != 0) {
		fprintf(stderr, "%s: not a layerprof trace\n", in);
		return 2;
	}
	/* all event records, concatenated */
	uint8_t *ev = NULL, *meta = NULL, *trailer = NULL;
	size_t evlen = 0;
	uint32_t metalen = 0, trailerlen = 0;
	size_t off = get32(d + 12);
	while (off < n) {
		int type, codec;
		uint32_t stored, raw_len;
		uint8_t *raw = block(d, n, off, &type, &codec, &stored, &raw_len);
		if (!raw)
			break;
		if (type == 1 && !meta) {
			meta = raw;
			metalen = raw_len;
		} else if (type == 3) {
			free(trailer);
			trailer = raw;
			trailerlen = raw_len;
		} else if (type == 2) {
			ev = realloc(ev, evlen + raw_len);
			memcpy(ev + evlen, raw, raw_len);
			evlen += raw_len;
			free(raw);
		} else {
			free(raw);
		}
		off += BHDR + stored;
	}
	if (!meta) {
		fprintf(stderr, "%s: no META block\n", in);
		return 2;
	}
	uint8_t *keep = calloc(evlen + 1, 1), *sel = malloc(evlen + 1);
	size_t used = 0, pos;
	for (int pass = 0; pass < 2; pass++) {
		for (pos = 0; pos + 8 <= evlen;) {
			size_t sz = ev[pos] | (size_t)ev[pos + 1] << 8;
			if (sz < 8 || sz > evlen - pos)
				break;
			int k = ev[pos + 2];
			bool bulk = k == 1 || k == 6;
			/* first the process/progress/context records, then the
			 * syscall and fd_io events, in order, while they fit */
			if (!keep[pos] && (pass == 0 ? !bulk : bulk) && used + sz <= budget) {
				keep[pos] = 1;
				used += sz;
			}
			pos += sz;
		}
	}
	size_t sl = 0;
	for (pos = 0; pos + 8 <= evlen;) {
		size_t sz = ev[pos] | (size_t)ev[pos + 1] << 8;
		if (sz < 8 || sz > evlen - pos)
			break;
		if (keep[pos]) {
			memcpy(sel + sl, ev + pos, sz);
			sl += sz;
		}
		pos += sz;
	}
	FILE *out = fopen(outp, "wb");
	if (!out) {
		perror(outp);
		return 2;
	}
	fwrite(d, 1, HDR, out);
	put_block(out, 1, meta, metalen);
	put_block(out, 2, sel, (uint32_t)sl);
	if (trailer)
		put_block(out, 3, trailer, trailerlen);
	int rc = fclose(out) == 0 ? 0 : 2;
	free(d);
	free(ev);
	free(meta);
	free(trailer);
	free(keep);
	free(sel);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "store") == 0 && argc != 4) ||
	    (strcmp(argv[1], "sample") == 0 && argc != 5) ||
	    (strcmp(argv[1], "store") != 0 && strcmp(argv[1], "sample") != 0 && argc != 3)) {
		fprintf(stderr, "usage: lprof_blocks list|inflate FILE | store IN OUT | sample IN OUT BYTES\n");
		return 2;
	}
	if (!strcmp(argv[1], "sample"))
		return sample(argv[2], argv[3], strtoul(argv[4], NULL, 10));
	const char *mode = argv[1];
	size_t n;
	uint8_t *d = slurp(argv[2], &n);
	if (n < HDR || memcmp(d, "LPROF\0\r\n", 8) != 0) {
		fprintf(stderr, "%s: not a layerprof trace\n", argv[2]);
		return 2;
	}
	FILE *out = NULL;
	if (!strcmp(mode, "store")) {
		out = fopen(argv[3], "wb");
		if (!out) {
			perror(argv[3]);
			return 2;
		}
		fwrite(d, 1, HDR, out);
	}
	size_t off = get32(d + 12);
	if (off < HDR || off > n)
		off = HDR;
	int rc = 0, i = 0;
	while (off < n) {
		int type, codec;
		uint32_t stored, raw_len;
		uint8_t *raw = block(d, n, off, &type, &codec, &stored, &raw_len);
		if (!raw) {
			if (!strcmp(mode, "list"))
				printf("%zu bad-or-cut (%zu bytes left)\n", off, n - off);
			if (out)
				fwrite(d + off, 1, n - off, out);
			rc = 1;
			break;
		}
		if (!strcmp(mode, "list")) {
			printf("%zu block %d type %d codec %d raw %u stored %u ok\n", off, i, type, codec,
			       raw_len, stored);
		} else if (!strcmp(mode, "inflate")) {
			fwrite(raw, 1, raw_len, stdout);
		} else if (out) {
			uint8_t h[BHDR];
			memcpy(h, d + off, BHDR);
			h[5] = 0;
			put32(h + 12, raw_len);
			put32(h + 16, (uint32_t)crc32(0, raw, raw_len));
			put32(h + 20, (uint32_t)crc32(0, h, 20));
			fwrite(h, 1, BHDR, out);
			fwrite(raw, 1, raw_len, out);
		}
		free(raw);
		off += BHDR + stored;
		i++;
	}
	if (out && fclose(out) != 0) {
		perror(argv[3]);
		return 2;
	}
	free(d);
	return rc;
}
