/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The deflate writer of the pack's number planes (src/deflate_rle.c): what
 * it writes is plain raw deflate that zlib inflates back to the very same
 * bytes, whatever the bytes (runs, repeats, noise, skewed histograms that
 * need the code length limit, buffers over a stored block's 65,535 bytes,
 * repeats past 64 KiB of stream and copies from beyond the 32 KiB window,
 * repeats met by sparse lookups), and it says when the output does not
 * fit instead of writing past it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

#include "deflate_rle.h"
#include "util.h"

static uint64_t rng = 1;
static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

/* Code the buffers as one block each, end the stream from the pending
 * bits (zlib primed with them, Z_FINISH; the pack writer aligns and ends
 * with libdeflate instead: aligned_then_ended_by_libdeflate), inflate it
 * with zlib and compare with the buffers back to back. Returns the size
 * of the stream. search[i] (all true when NULL): whether block i looks
 * for matches; matched[i] (when not NULL): the bytes its matches cover. */
static size_t round_trip_as(const uint8_t *const *bufs, const size_t *lens, int nbuf,
			    const bool *search, size_t *matched)
{
	size_t total = 0;
	for (int i = 0; i < nbuf; i++)
		total += lens[i];
	size_t cap = total + total / 8 + 1024;
	uint8_t *out = lp_xmalloc(cap), *all = lp_xmalloc(total + 1);
	size_t at = 0;
	for (int i = 0; i < nbuf; i++) {
		memcpy(all + at, bufs[i], lens[i]);
		at += lens[i];
	}
	/* the blocks of one stream code one buffer, in order */
	struct lp_rle_deflate *d = lp_xcalloc(1, sizeof(*d));
	lp_rle_deflate_start(d, out, cap);
	at = 0;
	for (int i = 0; i < nbuf; i++) {
		cr_assert(d->search, "every block searches unless told otherwise");
		if (search)
			d->search = search[i];
		cr_assert_eq(lp_rle_deflate_block(d, all + at, lens[i]), 0, "block %d", i);
		if (matched)
			matched[i] = d->matched;
		d->search = true;
		at += lens[i];
	}
	unsigned bits;
	int nbits;
	size_t head = lp_rle_deflate_pending(d, &bits, &nbits);
	cr_assert_leq(nbits, 7);

	z_stream zs = { 0 };
	cr_assert_eq(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	cr_assert_eq(deflatePrime(&zs, nbits, (int)bits), Z_OK);
	zs.next_out = out + head;
	zs.avail_out = (uInt)(cap - head);
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t n = head + zs.total_out;
	deflateEnd(&zs);

	uint8_t *back = lp_xmalloc(total + 1);
	z_stream is = { 0 };
	cr_assert_eq(inflateInit2(&is, -15), Z_OK);
	is.next_in = out;
	is.avail_in = (uInt)n;
	is.next_out = back;
	is.avail_out = (uInt)(total + 1);
	int rc = inflate(&is, Z_FINISH);
	cr_assert_eq(rc, Z_STREAM_END, "inflate: %d (%s)", rc, is.msg ? is.msg : "");
	cr_assert_eq(is.total_out, total, "inflated %lu bytes of %zu", is.total_out, total);
	cr_assert_eq(is.avail_in, 0, "bytes after the end of the stream");
	inflateEnd(&is);
	size_t o = 0;
	for (int i = 0; i < nbuf; i++) {
		cr_assert_eq(memcmp(back + o, bufs[i], lens[i]), 0, "buffer %d differs", i);
		o += lens[i];
	}
	free(back);
	free(out);
	free(all);
	lp_rle_deflate_free(d);
	free(d);
	return n;
}

static size_t round_trip(const uint8_t *const *bufs, const size_t *lens, int nbuf)
{
	return round_trip_as(bufs, lens, nbuf, NULL, NULL);
}

static size_t one(const uint8_t *p, size_t n)
{
	return round_trip(&p, &n, 1);
}

Test(deflate_rle, runs_shrink_to_almost_nothing)
{
	static uint8_t zeros[100000];
	size_t n = one(zeros, sizeof(zeros));
	/* 100,000 bytes = 388 runs of 258 (+ a literal): a few bits each */
	cr_assert_lt(n, 200, "100,000 zeros took %zu bytes", n);
	uint8_t b = 7;
	cr_assert_lt(one(&b, 1), 8);
}

Test(deflate_rle, noise_is_stored_not_inflated)
{
	size_t n = 200000; /* more than one stored block's 65,535 */
	uint8_t *p = lp_xmalloc(n);
	rng = 7;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 56);
	size_t z = one(p, n);
	/* stored: 5 bytes a 65,535-byte block, + the end */
	cr_assert_leq(z, n + 5 * (n / 65535 + 1) + 8, "noise grew to %zu bytes", z);
	free(p);
}

Test(deflate_rle, planes_like_a_packs)
{
	/* small numbers mostly 0, a few runs, a byte of noise: the kinds of
	 * plane a pack has, one block each, one stream */
	enum { N = 9000 };
	static uint8_t a[N], b[N], c[N], e[3];
	rng = 11;
	for (size_t i = 0; i < N; i++) {
		uint64_t r = rnd();
		a[i] = (r & 7) == 0 ? (uint8_t)(r >> 8) % 5 : 0;
		b[i] = (uint8_t)((i / 37) & 3);
		c[i] = (uint8_t)(r >> 40);
	}
	e[0] = 1;
	e[1] = e[2] = 1;
	const uint8_t *bufs[] = { a, b, c, e, a };
	size_t lens[] = { N, N, N, 3, N / 2 };
	size_t z = round_trip(bufs, lens, 5);
	cr_assert_lt(z, N / 2 + N / 8 + N + 200, "%zu bytes", z);
}

Test(deflate_rle, skewed_histograms_need_the_length_limit)
{
	/* Fibonacci counts: an unlimited Huffman code for them is 24 bits
	 * deep, deflate allows 15; shuffled so that runs do not hide them */
	size_t f[25], n = 0;
	f[0] = f[1] = 1;
	for (int s = 2; s < 25; s++)
		f[s] = f[s - 1] + f[s - 2];
	for (int s = 0; s < 25; s++)
		n += f[s];
	uint8_t *p = lp_xmalloc(n);
	size_t o = 0;
	for (int s = 0; s < 25; s++)
		for (size_t k = 0; k < f[s]; k++)
			p[o++] = (uint8_t)(s * 10);
	rng = 3;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		uint8_t t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	size_t z = one(p, n);
	cr_assert_lt(z, n / 2, "%zu bytes for %zu", z, n);
	free(p);
}

Test(deflate_rle, no_room_is_an_error_not_an_overrun)
{
	enum { N = 4096 };
	static uint8_t in[N];
	rng = 5;
	for (size_t i = 0; i < N; i++)
		in[i] = (uint8_t)rnd();
	uint8_t *out = lp_xmalloc(N + 64);
	memset(out, 0xee, N + 64);
	struct lp_rle_deflate *d = lp_xcalloc(1, sizeof(*d));
	lp_rle_deflate_start(d, out, 1000);
	cr_assert_eq(lp_rle_deflate_block(d, in, N), -1);
	for (size_t i = 0; i < N + 64; i++)
		cr_assert_eq(out[i], 0xee, "byte %zu written", i);
	lp_rle_deflate_free(d);
	free(d);
	free(out);
}

/* Matches reach back into the blocks before: a block that is not the next
 * part of the same buffer is refused, not coded with wrong distances. */
Test(deflate_rle, blocks_must_follow_each_other)
{
	static uint8_t buf[3000], out[8000];
	struct lp_rle_deflate *d = lp_xcalloc(1, sizeof(*d));
	lp_rle_deflate_start(d, out, sizeof(out));
	cr_assert_eq(lp_rle_deflate_block(d, buf, 1000), 0);
	cr_assert_eq(lp_rle_deflate_block(d, buf + 1500, 500), -1);
	lp_rle_deflate_start(d, out, sizeof(out));
	cr_assert_eq(lp_rle_deflate_block(d, buf + 1500, 500), 0, "a new stream starts anywhere");
	cr_assert_eq(lp_rle_deflate_block(d, buf + 2000, 1000), 0);
	lp_rle_deflate_free(d);
	free(d);
}

/* Repeats further back than a run: a sequence done again (a plane of a
 * real trace) comes back through matches, and costs little. */
Test(deflate_rle, repeats_are_matched)
{
	enum { P = 3000, N = 4 * P };
	static uint8_t p[N];
	rng = 13;
	for (size_t i = 0; i < P; i++)
		p[i] = (uint8_t)(rnd() >> 56);
	for (size_t i = P; i < N; i++)
		p[i] = p[i - P];
	size_t z = one(p, N);
	/* the first copy stored (~P bytes), the 3 repeats a few bytes each */
	cr_assert_lt(z, P + 200, "%zu bytes for 4 copies of %d", z, P);
}

/* Places are kept as their low 16 bits: a repeat more than 64 KiB into
 * the stream is still found at the right distance. */
Test(deflate_rle, repeats_past_64_kib_are_matched)
{
	enum { NOISE = 70000, P = 2000 };
	static uint8_t a[NOISE + 2 * P];
	rng = 17;
	for (size_t i = 0; i < NOISE + P; i++)
		a[i] = (uint8_t)(rnd() >> 56);
	memcpy(a + NOISE + P, a + NOISE, P);
	const uint8_t *bufs[] = { a, a + NOISE };
	size_t lens[] = { NOISE, 2 * P };
	size_t z = round_trip(bufs, lens, 2);
	/* the noise stored, the second copy a few matches */
	cr_assert_lt(z, NOISE + P + 300, "%zu bytes", z);
}

/* A copy of bytes from further back than deflate's 32 KiB window is not
 * matched (inflate would reject the distance), nor one whose distance's
 * low 16 bits alias a near place (65,536 + 5,000 back: the near place's
 * bytes differ). Runs in between remember no places: the far ones are
 * still the latest of their hashes. */
Test(deflate_rle, no_match_beyond_the_window)
{
	enum { P = 1000, BEYOND = 40000, ALIASED = 65536 + 5000 };
	static uint8_t a[ALIASED + P];
	rng = 23;
	for (size_t i = 0; i < P; i++)
		a[i] = (uint8_t)(rnd() >> 56);
	memcpy(a + BEYOND, a, P);
	memcpy(a + ALIASED, a, P);
	memset(a + ALIASED - 5000, 0x55, 64); /* the alias's place: other bytes */
	size_t z = one(a, sizeof(a));
	/* three copies of P noise bytes, as literals, and the runs */
	cr_assert_lt(z, 3 * P + 500, "%zu bytes", z);
}

/* After a stretch of noise lookups get sparse (every 16th place): a repeat
 * that starts between two of them is found at the next one and extended
 * back over the literals before it; decoded, it is the same bytes. */
Test(deflate_rle, sparse_lookups_extend_matches_back)
{
	enum { P = 3000, GAP = 5, R = 1000 };
	static uint8_t a[P + GAP + R];
	rng = 19;
	for (size_t i = 0; i < P + GAP; i++)
		a[i] = (uint8_t)(rnd() >> 56);
	size_t noise = one(a, P + GAP);
	for (size_t s = 0; s < 16; s++) {
		/* the repeat of a[s..] at every offset from a lookup place:
		 * matched, it costs a few bytes (the literals' Huffman code
		 * a few more than the noise stored); as literals, R */
		memcpy(a + P + GAP, a + s, R);
		size_t z = one(a, P + GAP + R);
		cr_assert_lt(z, noise + R / 8, "offset %zu: %zu bytes (noise alone %zu)", s, z, noise);
	}
}

/* A block coded without the search (the pack's noise planes): runs and
 * literals only, none of its places remembered, and still the same bytes
 * back; the block after it searches again, but cannot find the bytes of
 * the one without. With the search, the same input is mostly matches. */
Test(deflate_rle, blocks_without_search_code_runs_and_literals)
{
	enum { P = 3000, N = 4 * P, Z = 20000 };
	static uint8_t a[N + Z + P];
	rng = 29;
	for (size_t i = 0; i < P; i++)
		a[i] = (uint8_t)(rnd() >> 56);
	for (size_t i = P; i < N; i++)
		a[i] = a[i - P]; /* 3 repeats */
	/* then zeros (runs either way), then the noise once more */
	memcpy(a + N + Z, a, P);
	const uint8_t *bufs[] = { a, a + N + Z };
	size_t lens[] = { N + Z, P }, matched[2];

	size_t with = round_trip_as(bufs, lens, 2, (const bool[]){ true, true }, matched);
	cr_assert_geq(matched[0], 3 * P - 16, "%zu bytes matched of the 3 repeats", matched[0]);
	cr_assert_geq(matched[1], P - 16, "%zu bytes matched of the copy", matched[1]);
	cr_assert_lt(with, P + 300, "%zu bytes with the search", with);

	size_t without = round_trip_as(bufs, lens, 2, (const bool[]){ false, true }, matched);
	cr_assert_eq(matched[0], 0);
	cr_assert_eq(matched[1], 0, "the places of a block without the search are not kept");
	/* 5 copies of the noise as literals (~P each), the zeros as runs */
	cr_assert_geq(without, 5 * P, "%zu bytes without the search", without);
	cr_assert_lt(without, 5 * P + 5 * P / 8 + 300, "%zu bytes without the search", without);
}

/* After lp_rle_deflate_align() the stream is at a byte boundary, where a
 * whole raw deflate stream of libdeflate's ends it (the pack's byte
 * columns): zlib inflates the lot to the buffers back to back, also when
 * the last part is empty. */
Test(deflate_rle, aligned_then_ended_by_libdeflate)
{
	enum { N = 5000, S = 3000 };
	static uint8_t a[N], t[S];
	rng = 31;
	for (size_t i = 0; i < N; i++)
		a[i] = (uint8_t)(rnd() % 3 == 0 ? rnd() >> 56 : 0);
	for (size_t i = 0; i < S; i++)
		t[i] = (uint8_t)("/usr/lib/"[i % 9] + (i / 900));
	for (size_t tail = 0; tail <= S; tail += S) {
		size_t cap = 2 * (N + S) + 1024;
		uint8_t *out = lp_xmalloc(cap), *back = lp_xmalloc(N + S + 1);
		struct lp_rle_deflate *d = lp_xcalloc(1, sizeof(*d));
		lp_rle_deflate_start(d, out, cap);
		cr_assert_eq(lp_rle_deflate_block(d, a, N / 2), 0);
		cr_assert_eq(lp_rle_deflate_block(d, a + N / 2, N - N / 2), 0);
		cr_assert_eq(lp_rle_deflate_align(d), 0);
		unsigned bits;
		int nbits;
		size_t head = lp_rle_deflate_pending(d, &bits, &nbits);
		cr_assert_eq(nbits, 0, "%d bits pending after the alignment", nbits);
		struct libdeflate_compressor *c = libdeflate_alloc_compressor(4);
		cr_assert_not_null(c);
		size_t z = libdeflate_deflate_compress(c, t, tail, out + head, cap - head);
		cr_assert_gt(z, 0);
		libdeflate_free_compressor(c);

		z_stream is = { 0 };
		cr_assert_eq(inflateInit2(&is, -15), Z_OK);
		is.next_in = out;
		is.avail_in = (uInt)(head + z);
		is.next_out = back;
		is.avail_out = N + S + 1;
		cr_assert_eq(inflate(&is, Z_FINISH), Z_STREAM_END, "%s", is.msg ? is.msg : "");
		cr_assert_eq(is.total_out, N + tail);
		cr_assert_eq(is.avail_in, 0, "bytes after the end of the stream");
		inflateEnd(&is);
		cr_assert_eq(memcmp(back, a, N), 0);
		cr_assert_eq(memcmp(back + N, t, tail), 0);

		/* no room for the empty stored block: an error, nothing written */
		lp_rle_deflate_start(d, out, 10);
		cr_assert_eq(lp_rle_deflate_align(d), -1);
		lp_rle_deflate_free(d);
		free(d);
		free(out);
		free(back);
	}
}

/* Without the search, the places are tested 16 at a time while none
 * starts a run (SSE2): a run found at every place relative to those 16
 * and to the end of the block (the last 17 places are tested one by one),
 * still the same bytes back, and a long run is still coded as runs. */
Test(deflate_rle, runs_found_at_every_place_without_the_search)
{
	uint8_t a[96 + 220];
	for (size_t n = 1; n <= 64; n++) {
		for (size_t s = 0; s + 3 <= n; s++) {
			for (size_t len = 3; len <= 5 && s + len <= n; len++) {
				for (size_t i = 0; i < n; i++)
					a[i] = (uint8_t)(i * 7 + 1); /* no two neighbours equal */
				memset(a + s, 0xaa, len);
				const uint8_t *p = a;
				round_trip_as(&p, &n, 1, (const bool[]){ false }, NULL);
			}
		}
	}
	for (size_t s = 1; s < 40; s++) {
		size_t n = s + 200 + 30;
		for (size_t i = 0; i < n; i++)
			a[i] = (uint8_t)(i * 7 + 1);
		memset(a + s, 0x55, 200);
		const uint8_t *p = a;
		size_t coded = round_trip_as(&p, &n, 1, (const bool[]){ false }, NULL);
		/* ~70 literals and one run of 200: far under the bytes */
		cr_assert_lt(coded, 120, "%zu bytes for %zu with a run of 200 at %zu", coded, n, s);
	}
}
