/* SPDX-License-Identifier: BSD-2-Clause */
/* Trace writer/reader: round trips, damage, hostile bytes, file safety. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "le.h"
#include "trace.h"
#include "trace_pack.h"
#include "util.h"

/* ------------------------------------------------------------ helpers */

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lp-test-trace.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_tmp(void)
{
	umount2(dir, MNT_DETACH); /* the ENOSPC test mounts a tmpfs here */
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(trace, .init = mkdir_tmp, .fini = rm_tmp);

static char *tpath(const char *name)
{
	static char buf[4][128];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct recs {
	uint8_t **r;
	size_t n;
};

/* A record of `size` bytes (>= 24) with random content and a kind from
 * known and unknown ones. */
static uint8_t *make_rec(size_t size, uint32_t seq)
{
	static const uint8_t kinds[] = { 1, 2, 3, 4, 5, 6, 0x80, 0x81, 0x82, 0x83, 0x84, 0x42 };
	uint8_t *r = lp_xmalloc(size);
	for (size_t i = 0; i < size; i++)
		r[i] = (uint8_t)rnd();
	struct lp_hdr h = { .size = (uint16_t)size, .kind = kinds[seq % sizeof(kinds)],
			    .flags = 0, .tgid = seq, .tid = seq + 1, .aux = seq * 3,
			    .ts = 1000000000ull + seq };
	memcpy(r, &h, sizeof(h));
	return r;
}

static void free_recs(struct recs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i]);
	free(rs->r);
}

static size_t rec_size(const uint8_t *r)
{
	return lp_get_u16(r);
}

/* Write n records (random sizes up to max_size) to path, flushing every
 * `flush_every` records (0: never), and close with a trailer. */
static struct recs write_trace(const char *path, size_t n, size_t max_size, size_t flush_every)
{
	char err[512];
	struct lp_writer *w = lp_writer_open(path, "{\"start_monotonic_ns\":1000000000}", err,
					     sizeof(err));
	cr_assert_not_null(w, "open: %s", err);
	struct recs rs = { lp_xcalloc(n ? n : 1, sizeof(uint8_t *)), n };
	for (size_t i = 0; i < n; i++) {
		size_t size = sizeof(struct lp_hdr) + rnd() % (max_size - sizeof(struct lp_hdr) + 1);
		rs.r[i] = make_rec(size, (uint32_t)i);
		cr_assert_eq(lp_writer_append(w, rs.r[i], size), 0);
		if (flush_every && (i + 1) % flush_every == 0)
			cr_assert_eq(lp_writer_flush(w), 0);
	}
	cr_assert_eq(lp_writer_records(w), n);
	cr_assert_eq(lp_writer_close(w, "{\"events\":42}", err, sizeof(err)), 0, "%s", err);
	return rs;
}

/* Read every record of path and compare with rs (prefix of `expect` records). */
static const struct lp_reader_status *read_compare(struct lp_reader *r, const struct recs *rs,
						   size_t expect)
{
	const struct lp_hdr *h;
	size_t i = 0;
	while (lp_reader_next(r, &h) == 1) {
		cr_assert_lt(i, rs->n, "more records than written");
		cr_assert_eq((uintptr_t)h % 8, 0, "record not 8-aligned");
		size_t sz = rec_size(rs->r[i]);
		cr_assert_eq(h->size, sz, "record %zu size %u != %zu", i, h->size, sz);
		cr_assert_eq(memcmp(h, rs->r[i], sz), 0, "record %zu differs", i);
		i++;
	}
	cr_assert_eq(i, expect, "read %zu records, expected %zu", i, expect);
	cr_assert_eq(lp_reader_next(r, &h), 0, "next() after the end must stay 0");
	return lp_reader_status(r);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = lp_xmalloc((size_t)n + 1);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Offsets where blocks start (parsed with the format's own rules). */
static size_t block_starts(const uint8_t *p, size_t n, size_t *starts, size_t max,
			   uint8_t *types)
{
	size_t off = LP_TRACE_HEADER_SIZE, k = 0;
	while (off + LP_BLOCK_HEADER_SIZE <= n && k < max) {
		starts[k] = off;
		types[k] = p[off + 4];
		k++;
		off += LP_BLOCK_HEADER_SIZE + lp_get_u32(p + off + 12);
	}
	cr_assert_eq(off, n, "blocks do not end at the file end");
	return k;
}

/* Number of records in each EVENTS block, by decoding it. */
static size_t block_records(const uint8_t *p, size_t off)
{
	uint32_t raw_len = lp_get_u32(p + off + 8), stored = lp_get_u32(p + off + 12);
	uint8_t codec = p[off + 5];
	uint8_t *raw = lp_xmalloc(raw_len + 1);
	uLongf out = raw_len;
	if (codec == LP_CODEC_ZLIB) {
		cr_assert_eq(uncompress(raw, &out, p + off + LP_BLOCK_HEADER_SIZE, stored), Z_OK);
	} else if (codec == LP_CODEC_PACK || codec == LP_CODEC_PACK_ZLIB) {
		struct lp_unpacker *u = lp_unpacker_new();
		char err[256];
		cr_assert_geq(lp_unpack_block(u, codec, p + off + LP_BLOCK_HEADER_SIZE, stored, raw,
					      raw_len, err, sizeof(err)), 0, "%s", err);
		lp_unpacker_free(u);
	} else {
		memcpy(raw, p + off + LP_BLOCK_HEADER_SIZE, raw_len);
	}
	size_t n = 0;
	for (size_t pos = 0; pos < raw_len; pos += lp_get_u16(raw + pos))
		n++;
	free(raw);
	return n;
}

/* A block with valid CRCs around any payload (for hostile tests). */
static size_t make_block(uint8_t *out, uint8_t type, uint8_t codec, const uint8_t *payload,
			 uint32_t stored, uint32_t raw_len)
{
	lp_put_u32(out, LP_BLOCK_MAGIC);
	out[4] = type;
	out[5] = codec;
	lp_put_u16(out + 6, 0);
	lp_put_u32(out + 8, raw_len);
	lp_put_u32(out + 12, stored);
	lp_put_u32(out + 16, (uint32_t)crc32(0, payload, stored));
	lp_put_u32(out + 20, (uint32_t)crc32(0, out, 20));
	memcpy(out + LP_BLOCK_HEADER_SIZE, payload, stored);
	return LP_BLOCK_HEADER_SIZE + stored;
}

/* ------------------------------------------------------------ round trips */

Test(trace, round_trip_many_blocks)
{
	const char *p = tpath("a.lprof");
	struct recs rs = write_trace(p, 20000, 2048, 0);
	char err[512];
	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_str_eq(lp_reader_meta(r), "{\"start_monotonic_ns\":1000000000}");
	const struct lp_reader_status *st = read_compare(r, &rs, rs.n);
	cr_assert(!st->damaged, "%s", st->message);
	cr_assert(st->has_trailer);
	cr_assert_eq(st->records, rs.n);
	cr_assert_gt(st->blocks, 10, "expected many blocks, got %llu",
		     (unsigned long long)st->blocks);
	cr_assert_eq(st->bytes, st->file_size);
	cr_assert_str_eq(lp_reader_trailer(r), "{\"events\":42}");
	cr_assert(strstr(st->message, "20000 events"), "%s", st->message);

	/* a second pass gives the same records */
	cr_assert_eq(lp_reader_rewind(r), 0);
	st = read_compare(r, &rs, rs.n);
	cr_assert_eq(st->records, rs.n);
	cr_assert(!st->damaged && st->has_trailer);
	lp_reader_close(r);
	free_recs(&rs);
}

Test(trace, round_trip_extreme_sizes)
{
	const char *p = tpath("b.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(p, "{}", err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	size_t sizes[] = { 24, 65535, 25, 65535, 65535, 65535, 65535, 31, 4096, 24 };
	struct recs rs = { lp_xcalloc(LP_ARRAY_SIZE(sizes), sizeof(uint8_t *)), LP_ARRAY_SIZE(sizes) };
	for (size_t i = 0; i < rs.n; i++) {
		rs.r[i] = make_rec(sizes[i], (uint32_t)i);
		cr_assert_eq(lp_writer_append(w, rs.r[i], sizes[i]), 0);
	}
	cr_assert_eq(lp_writer_close(w, NULL, err, sizeof(err)), 0, "%s", err);
	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	const struct lp_reader_status *st = read_compare(r, &rs, rs.n);
	cr_assert(!st->damaged && st->has_trailer, "%s", st->message);
	lp_reader_close(r);
	free_recs(&rs);
}

Test(trace, empty_trace_and_meta)
{
	const char *p = tpath("c.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(p, NULL, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(lp_writer_flush(w), 0); /* nothing to flush: no empty block */
	cr_assert_eq(lp_writer_close(w, "{\"lost\":{}}", err, sizeof(err)), 0, "%s", err);
	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_str_eq(lp_reader_meta(r), "{}");
	const struct lp_hdr *h;
	cr_assert_eq(lp_reader_next(r, &h), 0);
	const struct lp_reader_status *st = lp_reader_status(r);
	cr_assert(!st->damaged && st->has_trailer);
	cr_assert_eq(st->records, 0);
	cr_assert_eq(st->blocks, 2);
	cr_assert_str_eq(lp_reader_trailer(r), "{\"lost\":{}}");
	lp_reader_close(r);
}

Test(trace, invalid_append_is_refused_not_fatal)
{
	const char *p = tpath("d.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(p, "{}", err, sizeof(err));
	uint8_t *rec = make_rec(100, 1);
	errno = 0;
	cr_assert_eq(lp_writer_append(w, rec, 99), -1); /* len != hdr.size */
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(lp_writer_append(w, rec, 10), -1); /* shorter than lp_hdr */
	cr_assert_null(lp_writer_error(w));
	cr_assert_eq(lp_writer_invalid(w), 2);
	cr_assert_eq(lp_writer_append(w, rec, 100), 0);
	cr_assert_eq(lp_writer_records(w), 1);
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0);
	free(rec);
}

Test(trace, bytes_counter_matches_file)
{
	const char *p = tpath("e.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(p, "{}", err, sizeof(err));
	uint8_t *rec = make_rec(1000, 7);
	for (int i = 0; i < 2000; i++)
		lp_writer_append(w, rec, 1000);
	lp_writer_flush(w);
	/* the thread catches up soon; bytes only ever grows */
	uint64_t b0 = lp_writer_bytes(w), b = b0;
	for (int i = 0; i < 500 && (b = lp_writer_bytes(w)) == b0; i++)
		usleep(2000);
	cr_assert_gt(b, b0, "the background thread wrote nothing");
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0);
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_geq((uint64_t)st.st_size, b);
	free(rec);
}

/* ------------------------------------------------------------ damage */

Test(trace, truncated_at_every_offset)
{
	const char *p = tpath("f.lprof");
	struct recs rs = write_trace(p, 240, 100, 12);
	size_t n;
	uint8_t *file = slurp(p, &n);
	size_t starts[64];
	uint8_t types[64];
	size_t nb = block_starts(file, n, starts, 64, types);
	cr_assert_eq(types[0], LP_BLOCK_META);
	cr_assert_eq(types[nb - 1], LP_BLOCK_TRAILER);
	cr_assert_eq(nb, 22); /* META, 20 EVENTS, TRAILER */
	/* records before each block */
	size_t before[64] = { 0 };
	for (size_t b = 1; b < nb; b++)
		before[b] = before[b - 1] + (types[b - 1] == LP_BLOCK_EVENTS
						     ? block_records(file, starts[b - 1]) : 0);

	/* cut one copy shorter and shorter, in place */
	const char *q = tpath("cut.lprof");
	spit(q, file, n);
	for (size_t cut = n; cut-- > 0;) {
		cr_assert_eq(truncate(q, (off_t)cut), 0);
		char err[512];
		struct lp_reader *r = lp_reader_open(q, err, sizeof(err));
		if (cut < starts[1]) {
			/* header or META incomplete: refused with a message */
			cr_assert_null(r, "cut %zu opened", cut);
			cr_assert_neq(err[0], '\0');
			continue;
		}
		cr_assert_not_null(r, "cut %zu: %s", cut, err);
		/* complete blocks before the cut */
		size_t b = 0;
		while (b + 1 < nb && starts[b + 1] <= cut)
			b++;
		/* blocks 0..b-1 are complete; block b is absent or cut */
		bool at_boundary = starts[b] == cut;
		size_t full = b;
		const struct lp_reader_status *st = read_compare(r, &rs, before[full]);
		cr_assert_eq(st->damaged, !at_boundary, "cut %zu: %s", cut, st->message);
		cr_assert(!st->has_trailer);
		cr_assert_eq(st->blocks, full, "cut %zu", cut);
		cr_assert(strstr(st->message, "did not finish (no trailer)"), "%s", st->message);
		if (!at_boundary) {
			char want[128];
			snprintf(want, sizeof(want), "trace truncated at byte %zu (block %zu): "
				 "recovered %zu blocks, %zu events", starts[b], b + 1, full, before[full]);
			cr_assert(strstr(st->message, want), "cut %zu: '%s' lacks '%s'", cut,
				  st->message, want);
		}
		lp_reader_close(r);
	}
	free(file);
	free_recs(&rs);
}

Test(trace, every_flipped_bit_is_caught)
{
	const char *p = tpath("g.lprof");
	struct recs rs = write_trace(p, 60, 200, 10);
	size_t n;
	uint8_t *file = slurp(p, &n);
	const char *q = tpath("flip.lprof");
	spit(q, file, n);
	int fd = open(q, O_WRONLY);
	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			uint8_t flipped = file[i] ^ (uint8_t)(1u << bit);
			cr_assert_eq(pwrite(fd, &flipped, 1, (off_t)i), 1);
			if (i)
				cr_assert_eq(pwrite(fd, &file[i - 1], 1, (off_t)i - 1), 1);
			char err[512];
			struct lp_reader *r = lp_reader_open(q, err, sizeof(err));
			if (!r) {
				cr_assert_neq(err[0], '\0');
				continue;
			}
			/* whatever comes out is an exact prefix of what went in */
			const struct lp_hdr *h;
			size_t k = 0;
			while (lp_reader_next(r, &h) == 1) {
				cr_assert_lt(k, rs.n);
				cr_assert_eq(memcmp(h, rs.r[k], rec_size(rs.r[k])), 0,
					     "flip at %zu: record %zu differs", i, k);
				k++;
			}
			const struct lp_reader_status *st = lp_reader_status(r);
			if (i >= LP_TRACE_HEADER_SIZE) {
				/* every block is checksummed */
				cr_assert(st->damaged, "flip at %zu not detected", i);
			} else {
				/* what opens (flags, reserved, an older ABI) reads
				 * everything */
				cr_assert_eq(k, rs.n);
				cr_assert(!st->damaged);
			}
			lp_reader_close(r);
		}
	}
	close(fd);
	free(file);
	free_recs(&rs);
}

Test(trace, random_garbage_never_crashes)
{
	const char *p = tpath("h.lprof");
	struct recs rs = write_trace(p, 30, 300, 5);
	size_t n;
	uint8_t *file = slurp(p, &n);
	const char *q = tpath("garbage.lprof");
	uint8_t *buf = lp_xmalloc(n + 4096);
	for (int round = 0; round < 300; round++) {
		memcpy(buf, file, n);
		/* keep the header and META, scribble over a random stretch */
		size_t at = LP_TRACE_HEADER_SIZE + rnd() % (n - LP_TRACE_HEADER_SIZE);
		size_t len = 1 + rnd() % 64;
		for (size_t i = at; i < at + len && i < n; i++)
			buf[i] = (uint8_t)rnd();
		size_t total = round % 3 == 0 ? n + rnd() % 4096 : n;
		for (size_t i = n; i < total; i++)
			buf[i] = (uint8_t)rnd();
		spit(q, buf, total);
		char err[512];
		struct lp_reader *r = lp_reader_open(q, err, sizeof(err));
		if (!r)
			continue;
		const struct lp_hdr *h;
		size_t k = 0;
		while (lp_reader_next(r, &h) == 1) {
			cr_assert_geq(h->size, sizeof(struct lp_hdr));
			cr_assert_lt(k, rs.n);
			k++;
		}
		lp_reader_close(r);
	}
	free(buf);
	free(file);
	free_recs(&rs);
}

/* A valid file header and META block, for hand-made files. */
static size_t head(uint8_t *out)
{
	memcpy(out, LP_TRACE_MAGIC, 8);
	lp_put_u32(out + 8, LP_TRACE_FORMAT_VERSION);
	lp_put_u32(out + 12, LP_TRACE_HEADER_SIZE);
	lp_put_u32(out + 16, LP_ABI_VERSION);
	lp_put_u32(out + 20, 0);
	lp_put_u64(out + 24, 0);
	return LP_TRACE_HEADER_SIZE +
	       make_block(out + LP_TRACE_HEADER_SIZE, LP_BLOCK_META, LP_CODEC_STORED,
			  (const uint8_t *)"{}", 2, 2);
}

static struct lp_reader *last_reader;

/* Read every record of p; the reader stays open (for its status) until the
 * next call or read_all_done(). */
static const struct lp_reader_status *read_all(const char *p, size_t *nrec)
{
	static char err[512];
	lp_reader_close(last_reader);
	struct lp_reader *r = last_reader = lp_reader_open(p, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	const struct lp_hdr *h;
	*nrec = 0;
	while (lp_reader_next(r, &h) == 1)
		(*nrec)++;
	return lp_reader_status(r);
}

Test(trace, hostile_blocks)
{
	static uint8_t f[1 << 16];
	const char *p = tpath("i.lprof");
	size_t n, k;
	const struct lp_reader_status *st;

	/* a block claiming more than the cap, with valid CRCs */
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_ZLIB, (const uint8_t *)"xx", 2,
			LP_BLOCK_MAX_RAW + 1);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged);
	cr_assert(strstr(st->message, "claims"), "%s", st->message);

	/* records that do not fit: size < lp_hdr, size past the block */
	uint8_t rec[64] = { 0 };
	lp_put_u16(rec, 10);
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_STORED, rec, 64, 64);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged && k == 0);
	cr_assert(strstr(st->message, "malformed record"), "%s", st->message);
	lp_put_u16(rec, 65);
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_STORED, rec, 64, 64);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged && k == 0);
	/* a trailing partial record header */
	lp_put_u16(rec, 48);
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_STORED, rec, 64, 64);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged && k == 0, "%s", st->message);

	/* zlib data that inflates to a different size than claimed */
	uint8_t raw[200], z[400];
	memset(raw, 0, sizeof(raw));
	lp_put_u16(raw, 100);
	lp_put_u16(raw + 100, 100);
	uLongf zl = sizeof(z);
	compress(z, &zl, raw, sizeof(raw));
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_ZLIB, z, (uint32_t)zl, 150);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged && k == 0);
	cr_assert(strstr(st->message, "does not decompress"), "%s", st->message);
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_ZLIB, z, (uint32_t)zl, 300);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged && k == 0);

	/* an unknown codec; a stored block whose lengths disagree */
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, 7, raw, 200, 200);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged);
	n = head(f);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_STORED, raw, 200, 100);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(st->damaged);

	/* an unknown block type with valid CRCs is skipped; the good block
	 * after it is read */
	n = head(f);
	n += make_block(f + n, 9, LP_CODEC_STORED, (const uint8_t *)"future", 6, 6);
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_STORED, raw, 200, 200);
	n += make_block(f + n, LP_BLOCK_TRAILER, LP_CODEC_STORED, (const uint8_t *)"{}", 2, 2);
	spit(p, f, n);
	st = read_all(p, &k);
	cr_assert(!st->damaged && st->has_trailer, "%s", st->message);
	cr_assert_eq(k, 2);

	/* bytes after the trailer */
	memcpy(f + n, "junk", 4);
	spit(p, f, n + 4);
	st = read_all(p, &k);
	cr_assert(st->damaged && st->has_trailer && k == 2);
	cr_assert(strstr(st->message, "after the trailer"), "%s", st->message);
	lp_reader_close(last_reader);
	last_reader = NULL;
}

Test(trace, refuses_what_is_not_a_trace)
{
	char err[512];
	const char *p = tpath("j.lprof");

	cr_assert_null(lp_reader_open(tpath("missing"), err, sizeof(err)));
	cr_assert(strstr(err, "No such file"), "%s", err);

	spit(p, (const uint8_t *)"", 0);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "empty (0 bytes)"), "%s", err);

	spit(p, (const uint8_t *)"hello world, this is not a trace file at all", 44);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "not a layerprof trace"), "%s", err);

	spit(p, (const uint8_t *)"LPROF", 5);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "truncated inside its file header"), "%s", err);

	cr_assert_null(lp_reader_open(dir, err, sizeof(err)));
	cr_assert(strstr(err, "directory"), "%s", err);

	/* a FIFO is refused, without waiting for a writer */
	const char *fifo = tpath("fifo");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_null(lp_reader_open(fifo, err, sizeof(err)));
	cr_assert(strstr(err, "not a regular file"), "%s", err);

	uint8_t f[256];
	size_t n = head(f);
	lp_put_u32(f + 8, 7);
	spit(p, f, n);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	char want[128];
	snprintf(want, sizeof(want), "trace format v7 is newer than this layerprof (v%d): "
		 "upgrade layerprof", LP_TRACE_FORMAT_VERSION);
	cr_assert(strstr(err, want), "%s", err);

	n = head(f);
	lp_put_u32(f + 16, LP_ABI_VERSION + 1);
	spit(p, f, n);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "newer than this layerprof"), "%s", err);

	/* header alone: no META */
	n = head(f);
	spit(p, f, LP_TRACE_HEADER_SIZE);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "no metadata block"), "%s", err);

	/* META that is not JSON */
	n = LP_TRACE_HEADER_SIZE;
	n += make_block(f + n, LP_BLOCK_META, LP_CODEC_STORED, (const uint8_t *)"{oops", 5, 5);
	spit(p, f, n);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "not a JSON object"), "%s", err);

	/* first block not META */
	n = LP_TRACE_HEADER_SIZE;
	n += make_block(f + n, LP_BLOCK_EVENTS, LP_CODEC_STORED, (const uint8_t *)"", 0, 0);
	spit(p, f, n);
	cr_assert_null(lp_reader_open(p, err, sizeof(err)));
	cr_assert(strstr(err, "not the metadata block"), "%s", err);
}

/* ------------------------------------------------------------ file safety */

Test(trace, created_0600_replacing_a_file)
{
	const char *p = tpath("k.lprof");
	spit(p, (const uint8_t *)"old", 3);
	chmod(p, 0666);
	mode_t old = umask(0);
	char err[512];
	struct lp_writer *w = lp_writer_open(p, "{}", err, sizeof(err));
	umask(old);
	cr_assert_not_null(w, "%s", err);
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0);
}

Test(trace, refuses_symlink_and_special_files)
{
	const char *target = tpath("victim");
	const char *link = tpath("l.lprof");
	spit(target, (const uint8_t *)"precious", 8);
	cr_assert_eq(symlink(target, link), 0);
	char err[512];
	cr_assert_null(lp_writer_open(link, "{}", err, sizeof(err)));
	cr_assert(strstr(err, "symbolic link"), "%s", err);
	size_t n;
	uint8_t *t = slurp(target, &n);
	cr_assert(n == 8 && !memcmp(t, "precious", 8), "the symlink target was touched");
	free(t);
	struct stat st;
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));

	/* a dangling symlink too */
	const char *dang = tpath("dangling.lprof");
	cr_assert_eq(symlink(tpath("nowhere"), dang), 0);
	cr_assert_null(lp_writer_open(dang, "{}", err, sizeof(err)));
	cr_assert_eq(access(tpath("nowhere"), F_OK), -1);

	const char *fifo = tpath("fifo.lprof");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_null(lp_writer_open(fifo, "{}", err, sizeof(err)));
	cr_assert(strstr(err, "not a regular file"), "%s", err);

	cr_assert_null(lp_writer_open(dir, "{}", err, sizeof(err)));
	cr_assert(strstr(err, "not a regular file"), "%s", err);

	cr_assert_null(lp_writer_open(tpath("no/such/dir.lprof"), "{}", err, sizeof(err)));
	cr_assert(strstr(err, "No such file"), "%s", err);
}

Test(trace, disk_full_keeps_written_blocks)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to mount a 64k tmpfs");
	char mnt[128];
	snprintf(mnt, sizeof(mnt), "%s", dir);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") != 0)
		cr_skip_test("cannot mount a tmpfs here: %s", strerror(errno));
	const char *p = tpath("full.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(p, "{}", err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	/* incompressible records, flushed often: a few blocks fit, then ENOSPC */
	struct recs rs = { lp_xcalloc(4000, sizeof(uint8_t *)), 0 };
	int rc = 0;
	for (size_t i = 0; i < 4000 && rc == 0; i++) {
		rs.r[i] = make_rec(1000, (uint32_t)i);
		rs.n++;
		rc = lp_writer_append(w, rs.r[i], 1000);
		if (i % 8 == 7)
			lp_writer_flush(w);
		if (rc == 0 && i % 8 == 7)
			usleep(1000);
	}
	/* the error may surface in append or at close */
	rc = lp_writer_close(w, "{}", err, sizeof(err));
	cr_assert_eq(rc, -1, "writing 4 MB to a 64k tmpfs succeeded?");
	cr_assert(strstr(err, "No space left on device"), "%s", err);
	cr_assert(strstr(err, "stay readable"), "%s", err);

	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	const struct lp_hdr *h;
	size_t k = 0;
	while (lp_reader_next(r, &h) == 1) {
		cr_assert_eq(memcmp(h, rs.r[k], 1000), 0);
		k++;
	}
	const struct lp_reader_status *st = lp_reader_status(r);
	/* the file was cut back to the last complete block: clean, no trailer */
	cr_assert(!st->damaged, "%s", st->message);
	cr_assert(!st->has_trailer);
	cr_assert_gt(k, 0);
	cr_assert_eq(k % 8, 0, "blocks hold 8 records each, got %zu", k);
	lp_reader_close(r);
	free_recs(&rs);
}

Test(trace, back_pressure_is_counted_not_lost)
{
	const char *p = tpath("m.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(p, "{}", err, sizeof(err));
	/* random (incompressible) 60 KB records: deflate is slow on them, so
	 * the queue fills; nothing may be lost */
	uint8_t *rec = make_rec(60000, 3);
	size_t n = 600;
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(lp_writer_append(w, rec, 60000), 0);
	uint64_t stalls = lp_writer_stalls(w);
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0, "%s", err);
	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	const struct lp_hdr *h;
	size_t k = 0;
	while (lp_reader_next(r, &h) == 1) {
		cr_assert_eq(memcmp(h, rec, 60000), 0);
		k++;
	}
	cr_assert_eq(k, n);
	lp_reader_close(r);
	free(rec);
	cr_log_info("stalls: %llu", (unsigned long long)stalls);
}

/* What a reader gives: every record's bytes, in order, its status and
 * trailer after the end; stop_after: rewind after that many records first
 * (0: no rewind). */
struct readout {
	uint8_t *bytes;
	size_t len, nrec;
	struct lp_reader_status st;
	char trailer[64];
	bool opened;
};

static struct readout read_out(const char *p, size_t stop_after)
{
	struct readout o = { 0 };
	char err[512];
	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	if (!r)
		return o;
	o.opened = true;
	const struct lp_hdr *h;
	for (size_t i = 0; stop_after && i < stop_after && lp_reader_next(r, &h) == 1; i++)
		;
	if (stop_after)
		cr_assert_eq(lp_reader_rewind(r), 0);
	size_t cap = 0;
	while (lp_reader_next(r, &h) == 1) {
		if (o.len + h->size > cap) {
			cap = (o.len + h->size) * 2;
			o.bytes = lp_xrealloc(o.bytes, cap);
		}
		memcpy(o.bytes + o.len, h, h->size);
		o.len += h->size;
		o.nrec++;
	}
	o.st = *lp_reader_status(r);
	const char *t = lp_reader_trailer(r);
	snprintf(o.trailer, sizeof(o.trailer), "%s", t ? t : "(none)");
	lp_reader_close(r);
	return o;
}

/* Reading p decoded ahead (a thread) and in place: the same records,
 * status, message and trailer. */
static void same_both_ways(const char *p, size_t stop_after, const char *what)
{
	uint64_t saved = lp_reader_ahead_min;
	lp_reader_ahead_min = UINT64_MAX;
	struct readout a = read_out(p, stop_after);
	lp_reader_ahead_min = 0;
	struct readout b = read_out(p, stop_after);
	lp_reader_ahead_min = saved;
	cr_assert_eq(a.opened, b.opened, "%s", what);
	cr_assert_eq(a.nrec, b.nrec, "%s: %zu records in place, %zu ahead", what, a.nrec, b.nrec);
	cr_assert_eq(a.len, b.len, "%s", what);
	cr_assert(!a.len || !memcmp(a.bytes, b.bytes, a.len), "%s: records differ", what);
	cr_assert_eq(a.st.blocks, b.st.blocks, "%s", what);
	cr_assert_eq(a.st.records, b.st.records, "%s", what);
	cr_assert_eq(a.st.bytes, b.st.bytes, "%s", what);
	cr_assert_eq(a.st.has_trailer, b.st.has_trailer, "%s", what);
	cr_assert_eq(a.st.damaged, b.st.damaged, "%s", what);
	cr_assert_str_eq(a.st.message, b.st.message, "%s", what);
	cr_assert_str_eq(a.trailer, b.trailer, "%s", what);
	free(a.bytes);
	free(b.bytes);
}

Test(trace, decoding_ahead_reads_what_in_place_reads)
{
	const char *p = tpath("ahead.lprof");
	struct recs rs = write_trace(p, 3000, 300, 40); /* ~75 blocks: more than the thread holds */
	size_t n;
	uint8_t *file = slurp(p, &n);
	same_both_ways(p, 0, "whole");
	same_both_ways(p, 1, "rewound after 1 record");
	same_both_ways(p, 1500, "rewound half-way");
	const char *q = tpath("ahead-cut.lprof");
	char what[64];
	for (size_t cut = n; cut > n / 2; cut -= 997) {
		spit(q, file, cut);
		snprintf(what, sizeof(what), "cut at %zu", cut);
		same_both_ways(q, 0, what);
	}
	for (size_t i = n / 3; i < n; i += n / 7) {
		file[i] ^= 0x10;
		spit(q, file, n);
		file[i] ^= 0x10;
		snprintf(what, sizeof(what), "flip at %zu", i);
		same_both_ways(q, 0, what);
	}
	/* bytes after the trailer */
	uint8_t *more = lp_xmalloc(n + 5);
	memcpy(more, file, n);
	memcpy(more + n, "extra", 5);
	spit(q, more, n + 5);
	same_both_ways(q, 0, "bytes after the trailer");
	struct readout o = read_out(q, 0);
	cr_assert(o.st.damaged && strstr(o.st.message, "unexpected bytes after the trailer"), "%s", o.st.message);
	cr_assert_eq(o.nrec, rs.n);
	free(o.bytes);
	free(more);
	free(file);
	free_recs(&rs);
}

/* next()'s promise: the 256 bytes after a record are zero, whatever
 * longer record came before it. */
Test(trace, the_bytes_after_a_record_are_zero)
{
	const char *p = tpath("pad.lprof");
	struct recs rs = write_trace(p, 400, 2000, 50);
	char err[512];
	struct lp_reader *r = lp_reader_open(p, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	const struct lp_hdr *h;
	size_t n = 0;
	while (lp_reader_next(r, &h) == 1) {
		const uint8_t *b = (const uint8_t *)h;
		for (size_t i = h->size; i < h->size + 256u; i++)
			cr_assert_eq(b[i], 0, "record %zu (%u bytes): byte %zu after it is %u", n, h->size,
				     i - h->size, b[i]);
		n++;
	}
	cr_assert_eq(n, rs.n);
	lp_reader_close(r);
	free_recs(&rs);
}
