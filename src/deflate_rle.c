/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Raw deflate blocks for the pack's number planes (deflate_rle.h).
 *
 * Why not zlib: the number planes of a pack are ~95 % of its bytes, and
 * zlib spent most of the writer's time on them (lazy matching through hash
 * chains, a flush and a strategy switch per plane). What pays in them is
 * runs of the previous byte (most of every plane) and, in real traces, long
 * repeats (a sequence of calls done again); short matches cost more than
 * the literals they replace (zlib's Z_FILTERED drops them too). So: runs
 * first, then a match of >= 12 bytes from one of the last two places the
 * next 4 bytes were seen, else a literal; a lookup compares 8 bytes first
 * (most find nothing: one compare, no loop), and lookups get sparse in
 * noise.
 *
 * Each block: the tokens (runs and matches only: the literals are read
 * from the input again), their histogram, then the exact cost of the
 * three block types from it; the smallest is written. Huffman code lengths
 * are limited to 15 (7 for the code length code) by lengthening the deepest
 * codes that can still grow, then filling the code back up (inflaters
 * reject incomplete codes).
 */
#include "deflate_rle.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NDIST 30
#define NCL 19
#define MAX_BITS 15
#define MAX_CL_BITS 7
#define MATCH 0x80000000u /* token: MATCH | (distance - 1) << 9 | length */
#define MIN_MATCH 12       /* shorter ones cost about what the literals they replace do */
#define WINDOW 32768u
#define HASH_BITS LP_RLE_HASH_BITS
#define DRY 32             /* lookups that find nothing before they get sparser */
#define DRY_STEP 16        /* then a lookup every DRY_STEP places */
_Static_assert(MIN_MATCH >= 8, "a lookup compares 8 bytes first");
#define STORED_MAX 65535u

/* RFC 1951 3.2.5: length symbols 257..285 */
static const uint16_t len_base[29] = { 3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
				       15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
				       67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
				       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
/* the order code length code lengths are stored in (3.2.7) */
static const uint8_t cl_order[NCL] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
				       11, 4, 12, 3, 13, 2, 14, 1, 15 };

/* ------------------------------------------------------------ Huffman */

/* The bytes 0..255 with their bits in reverse order */
#define R2(n) n, n + 2 * 64, n + 1 * 64, n + 3 * 64
#define R4(n) R2(n), R2(n + 2 * 16), R2(n + 1 * 16), R2(n + 3 * 16)
#define R6(n) R4(n), R4(n + 2 * 4), R4(n + 1 * 4), R4(n + 3 * 4)
static const uint8_t rev8[256] = { R6(0), R6(2), R6(1), R6(3) };
#undef R2
#undef R4
#undef R6

/* The low len bits of code, last bit first: a byte each from the table
 * (half the instructions of swapping halves four times). */
static inline uint16_t reverse(uint16_t code, unsigned len)
{
	uint32_t x = (uint32_t)rev8[code & 0xff] << 8 | rev8[code >> 8];
	return (uint16_t)(x >> (16 - len));
}

/* Canonical codes for the lengths (3.2.2), bit-reversed: deflate sends a
 * Huffman code's first bit first, and the bit writer sends low bits first. */
static void make_codes(const uint8_t *len, unsigned n, uint16_t *code)
{
	uint16_t count[MAX_BITS + 1] = { 0 }, next[MAX_BITS + 1];
	/* four unused symbols (lengths 0) at once: most of a plane's are */
	unsigned q = 0;
	for (; q + 4 <= n; q += 4)
		if (lp_get_u32(len + q))
			for (unsigned s = q; s < q + 4; s++)
				count[len[s]]++;
	for (unsigned s = q; s < n; s++)
		count[len[s]]++;
	count[0] = 0;
	uint16_t c = 0;
	for (unsigned b = 1; b <= MAX_BITS; b++) {
		c = (uint16_t)((c + count[b - 1]) << 1);
		next[b] = c;
	}
	for (q = 0; q + 4 <= n; q += 4) {
		if (!lp_get_u32(len + q)) {
			memset(code + q, 0, 4 * sizeof(*code));
			continue;
		}
		for (unsigned s = q; s < q + 4; s++)
			code[s] = len[s] ? reverse(next[len[s]]++, len[s]) : 0;
	}
	for (unsigned s = q; s < n; s++)
		code[s] = len[s] ? reverse(next[len[s]]++, len[s]) : 0;
}

/* Huffman code lengths for freq[0..n) (n <= 288), at most limit bits, into
 * len; a complete code over at least two symbols (a used symbol alone is
 * paired with an unused one). The used symbols are sorted by frequency
 * (radix sort), then merged with the two-queue method: the internal nodes
 * come out in order of weight, so no heap is needed. */
static void huff_lengths(const uint32_t *freq, unsigned n, unsigned limit, uint8_t *len)
{
	enum { MAXN = 288 };
	uint32_t key[MAXN], tmp[MAXN], w[2 * MAXN];
	uint16_t parent[2 * MAXN];
	uint8_t depth[2 * MAXN];
	unsigned k = 0;
	uint32_t maxf = 0;
	/* without a branch on which symbols are used (it mispredicted on
	 * every plane's mix of used and unused ones), but four unused ones
	 * are passed over at once: most of a plane's 286 are */
	memset(len, 0, n);
	unsigned q = 0;
	for (; q + 4 <= n; q += 4) {
		if ((freq[q] | freq[q + 1] | freq[q + 2] | freq[q + 3]) == 0)
			continue;
		for (unsigned s = q; s < q + 4; s++) {
			key[k] = s;
			k += freq[s] != 0;
			maxf = freq[s] > maxf ? freq[s] : maxf;
		}
	}
	for (unsigned s = q; s < n; s++) {
		key[k] = s;
		k += freq[s] != 0;
		maxf = freq[s] > maxf ? freq[s] : maxf;
	}
	if (k < 2) {
		/* one symbol (or none): two codes of one bit */
		unsigned a = k ? key[0] : 0, b = a == 0 ? 1 : 0;
		len[a] = len[b] = 1;
		return;
	}
	/* the symbols by frequency, ties in symbol order: a few (most
	 * planes' codes) by insertion, more by an LSD radix sort, 8 bits a
	 * pass (its 257 counters cost more than a short insertion sort) */
	if (k <= 32)
		for (unsigned i = 1; i < k; i++) {
			uint32_t s = key[i], f = freq[s];
			unsigned j = i;
			for (; j > 0 && freq[key[j - 1]] > f; j--)
				key[j] = key[j - 1];
			key[j] = s;
		}
	for (unsigned sh = 0; k > 32 && sh < 32 && (maxf >> sh); sh += 8) {
		unsigned cnt[257] = { 0 };
		for (unsigned i = 0; i < k; i++)
			cnt[((freq[key[i]] >> sh) & 255) + 1]++;
		for (unsigned i = 1; i < 257; i++)
			cnt[i] += cnt[i - 1];
		for (unsigned i = 0; i < k; i++)
			tmp[cnt[(freq[key[i]] >> sh) & 255]++] = key[i];
		memcpy(key, tmp, k * sizeof(key[0]));
	}
	/* nodes: leaves 0..k-1 (sorted), internal nodes k..2k-2 */
	for (unsigned i = 0; i < k; i++)
		w[i] = freq[key[i]];
	unsigned lf = 0, in = k, next = k;
	while (next < 2 * k - 1) {
		unsigned pick[2];
		for (int j = 0; j < 2; j++)
			pick[j] = lf < k && (in == next || w[lf] <= w[in]) ? lf++ : in++;
		w[next] = w[pick[0]] + w[pick[1]];
		parent[pick[0]] = parent[pick[1]] = (uint16_t)next++;
	}
	/* the root last, parents after their children */
	unsigned root = next - 1;
	depth[root] = 0;
	for (unsigned i = root; i-- > 0;)
		depth[i] = (uint8_t)(depth[parent[i]] + 1 > 255 ? 255 : depth[parent[i]] + 1);
	bool over = false;
	for (unsigned i = 0; i < k; i++) {
		unsigned d = depth[i];
		if (d > limit) {
			d = limit;
			over = true;
		}
		len[key[i]] = (uint8_t)d;
	}
	if (!over)
		return;
	/* Kraft sum in units of 2^-limit: too big after clamping; lengthen
	 * the deepest codes that can still grow until it fits, then shorten
	 * the deepest ones while the code is incomplete. */
	uint32_t full = 1u << limit, kraft = 0;
	for (unsigned s = 0; s < n; s++)
		if (len[s])
			kraft += 1u << (limit - len[s]);
	while (kraft > full) {
		unsigned best = n;
		for (unsigned s = 0; s < n; s++)
			if (len[s] && len[s] < limit && (best == n || len[s] > len[best] ||
							 (len[s] == len[best] && freq[s] < freq[best])))
				best = s;
		kraft -= 1u << (limit - len[best] - 1);
		len[best]++;
	}
	while (kraft < full) {
		unsigned best = n;
		for (unsigned s = 0; s < n; s++)
			if (len[s] > 1 && (best == n || len[s] > len[best] ||
					   (len[s] == len[best] && freq[s] > freq[best])))
				best = s;
		kraft += 1u << (limit - len[best]);
		len[best]--;
	}
}

/* ------------------------------------------------------------ bits */

/* The bit writer, as locals while a block is written (kept in registers:
 * its address never escapes), back in the lp_rle_deflate after. */
struct bits {
	uint64_t acc; /* first bit lowest */
	unsigned n;
	uint8_t *o;
};

/* Add n bits without storing: at most 56 bits held between flushes. */
static inline void add(struct bits *b, uint32_t v, unsigned n)
{
	b->acc |= (uint64_t)v << b->n;
	b->n += n;
}

/* Out with the whole bytes: all 8 bytes of acc are stored and the pointer
 * moves on by the whole ones (no branch; the block's room check keeps 8
 * bytes to spare). At most 7 bits are held after. */
static inline void flush(struct bits *b)
{
	lp_put_u64(b->o, b->acc);
	b->o += b->n >> 3;
	b->acc >>= b->n & 56;
	b->n &= 7;
}

/* Add n bits (n + the bits held < 64 after the last flush's at most 7: a
 * whole match token fits, 48 bits), then out with the whole bytes. */
static inline void put(struct bits *b, uint32_t v, unsigned n)
{
	add(b, v, n);
	flush(b);
}

/* The literals in[0..n), lit[]: code | length << 16 of each byte. Three
 * a flush: 7 held + 3 x 15 bits fit. */
static inline void put_literals(struct bits *b, const uint32_t *lit, const uint8_t *in, size_t n)
{
	size_t j = 0;
	for (; j + 3 <= n; j += 3) {
		uint32_t x = lit[in[j]], y = lit[in[j + 1]], z = lit[in[j + 2]];
		add(b, x & 0xffff, x >> 16);
		add(b, y & 0xffff, y >> 16);
		add(b, z & 0xffff, z >> 16);
		flush(b);
	}
	for (; j < n; j++)
		put(b, lit[in[j]] & 0xffff, lit[in[j]] >> 16);
}

/* Out with the whole bytes held (fewer than 8 bits held after). */
static void put_bytes(struct bits *b)
{
	while (b->n >= 8) {
		*b->o++ = (uint8_t)b->acc;
		b->acc >>= 8;
		b->n -= 8;
	}
}

/* ------------------------------------------------------------ API */

void lp_rle_deflate_start(struct lp_rle_deflate *d, uint8_t *out, size_t cap)
{
	d->next_in = NULL;
	d->out = out;
	d->cap = cap;
	d->pos = 0;
	d->acc = 0;
	d->nacc = 0;
	d->search = true;
	d->matched = 0;
	if (d->len_sym[3] == 0 && d->fixed_len[0] == 0) {
		for (unsigned s = 0; s < 28; s++)
			for (unsigned l = len_base[s]; l < len_base[s] + (1u << len_extra[s]); l++)
				d->len_sym[l] = (uint8_t)s;
		d->len_sym[258] = 28;
		for (unsigned s = 0; s < 288; s++)
			d->fixed_len[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
		make_codes(d->fixed_len, 288, d->fixed_code);
		uint8_t five[NDIST];
		memset(five, 5, sizeof(five));
		make_codes(five, NDIST, d->fixed_dcode);
	}
	/* matches stay inside the stream being written: no hint from before */
	memset(d->head, 0, sizeof(d->head));
}

void lp_rle_deflate_free(struct lp_rle_deflate *d)
{
	free(d->tok);
	d->tok = NULL;
	d->tok_cap = 0;
}

int lp_rle_deflate_align(struct lp_rle_deflate *d)
{
	/* 3 bits of header, the padding, LEN 0 and NLEN 0xffff: at most 6
	 * bytes, and the bit writer stores 8 at a time */
	if (d->cap - d->pos < 16)
		return -1;
	struct bits bw = { d->acc, d->nacc, d->out + d->pos }, *b = &bw;
	put(b, 0, 3); /* not final, stored */
	put_bytes(b);
	if (b->n)
		*b->o++ = (uint8_t)b->acc;
	memcpy(b->o, "\x00\x00\xff\xff", 4);
	d->pos = (size_t)(b->o + 4 - d->out);
	d->acc = 0;
	d->nacc = 0;
	return 0;
}

size_t lp_rle_deflate_pending(const struct lp_rle_deflate *d, unsigned *bits, int *nbits)
{
	/* every block ends with put_bytes(): at most 7 bits are held */
	*bits = (unsigned)(d->acc & ((1u << d->nacc) - 1));
	*nbits = (int)d->nacc;
	return d->pos;
}

/* Distance code (RFC 1951 3.2.5) of dist 1..32768, and its extra bits */
static inline unsigned dist_code(uint32_t dist)
{
	uint32_t x = dist - 1;
	if (x < 4)
		return x;
	unsigned nb = 31u - (unsigned)__builtin_clz(x);
	return 2 * nb + ((x >> (nb - 1)) & 1);
}

static inline unsigned dist_extra(unsigned code)
{
	return code < 4 ? 0 : code / 2 - 1;
}

static inline uint32_t dist_base(unsigned code) /* the first distance - 1 */
{
	if (code < 4)
		return code;
	unsigned nb = code / 2;
	return (2u | (code & 1)) << (nb - 1);
}

/* How many bytes a[] and b[] share at the start, at most max. */
static inline size_t common(const uint8_t *a, const uint8_t *b, size_t max)
{
	size_t r = 0;
	while (r + 8 <= max) {
		uint64_t u, v;
		memcpy(&u, a + r, 8);
		memcpy(&v, b + r, 8);
		if (u != v)
			return r + ((size_t)__builtin_ctzll(u ^ v) >> 3);
		r += 8;
	}
	while (r < max && a[r] == b[r])
		r++;
	return r;
}

static inline uint32_t hash4(const uint8_t *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return (x * 2654435761u) >> (32 - HASH_BITS);
}

/* p (4 bytes readable) is the latest place its 4 bytes were seen. */
static inline void remember(struct lp_rle_deflate *d, const uint8_t *p)
{
	uint16_t *h = d->head[hash4(p)];
	h[1] = h[0];
	h[0] = (uint16_t)(p - d->base);
}

/* The place at p - dist, where dist is what the low 16 bits of a
 * position say (the most recent place they fit), if it is in the window
 * and the stream; else NULL. */
static inline const uint8_t *place(const struct lp_rle_deflate *d, const uint8_t *p, uint16_t at)
{
	uint32_t dist = (uint16_t)((uint16_t)(p - d->base) - at);
	return dist && dist <= WINDOW && dist <= (size_t)(p - d->base) ? p - dist : NULL;
}

/* The longer match for p (at most max bytes, max >= 8) of the last two
 * places its first 4 bytes were seen, in the window, if one shares p's
 * first 8 bytes, else 0 (most lookups: a compare each, no loop); *from:
 * where. p becomes the latest place. (A place is kept as its low 16 bits:
 * half the cache of 32-bit ones; one older than 64 KiB reads as a
 * nearer one, whose bytes are compared like any other's.) */
static inline size_t longest_match(struct lp_rle_deflate *d, const uint8_t *p, size_t max,
				   const uint8_t **from)
{
	uint16_t *h = d->head[hash4(p)];
	const uint8_t *c1 = place(d, p, h[0]), *c2 = place(d, p, h[1]);
	h[1] = h[0];
	h[0] = (uint16_t)(p - d->base);
	uint64_t want, got;
	memcpy(&want, p, 8);
	size_t m = 0;
	if (c1) {
		memcpy(&got, c1, 8);
		if (got == want) {
			*from = c1;
			m = 8 + common(c1 + 8, p + 8, max - 8);
		}
	}
	if (c2 && m < max) {
		memcpy(&got, c2, 8);
		if (got == want) {
			size_t m2 = 8 + common(c2 + 8, p + 8, max - 8);
			if (m2 > m) {
				m = m2;
				*from = c2;
			}
		}
	}
	return m;
}

/* Length of the run of b starting at in[i], at most max. */
static inline size_t run_len(const uint8_t *in, size_t i, size_t max, uint8_t b)
{
	uint64_t pat = 0x0101010101010101ull * b;
	size_t r = 0;
	while (r + 8 <= max) {
		uint64_t x;
		memcpy(&x, in + i + r, 8);
		x ^= pat;
		if (x)
			return r + ((size_t)__builtin_ctzll(x) >> 3);
		r += 8;
	}
	while (r < max && in[i + r] == b)
		r++;
	return r;
}

int lp_rle_deflate_block(struct lp_rle_deflate *d, const uint8_t *in, size_t n)
{
	if (n == 0)
		return 0;
	if (d->next_in && in != d->next_in)
		return -1; /* not the stream's next bytes: matches would be wrong */
	if (!d->next_in)
		d->base = in;
	if ((size_t)(in - d->base) + n >= UINT32_MAX)
		return -1; /* positions are 32-bit */
	d->next_in = in + n;
	/* runs and matches cover 3 bytes or more each */
	size_t tok_need = n / 3 + 1;
	if (d->tok_cap < tok_need) {
		uint64_t *t = realloc(d->tok, tok_need * sizeof(*t));
		if (!t)
			return -1;
		d->tok = t;
		d->tok_cap = tok_need;
	}

	/* the runs and matches, and the histogram of all the tokens: a run
	 * of the previous byte, else the longer match of the last two places
	 * the next 4 bytes were seen (through a hash), else a literal. Only
	 * runs and matches are stored (with where they start): the literals
	 * are the input's bytes between them, read again when written, which
	 * is less to store and to load back than a token per byte. */
	uint32_t lf[LP_RLE_LITLEN] = { 0 }, df[NDIST] = { 0 };
	uint64_t *tok = d->tok;
	size_t nt = 0, i = 1, matched = 0;
	unsigned dry = 0;     /* lookups in a row that found nothing */
	size_t lmask = 0;     /* a lookup where (i & lmask) == 0 */
	size_t lits = 1;      /* literals since the last run or match */
	const bool search = d->search;
	lf[in[0]]++;
	/* without the search: a byte at a time, a run where the byte and
	 * the next two are the previous one, else a literal (a loop of its
	 * own: no match length to bound, no lookup to decide) */
	while (!search && i < n) {
#ifdef __SSE2__
		/* 16 places a step while none starts a run: a place j starts
		 * one when in[j-1..j+2] are one byte (the scalar test below),
		 * and most places of a plane that needs no search do not */
		if (i + 18 <= n) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(in + i - 1));
			__m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
			__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 1));
			__m128i e = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 2));
			__m128i same = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, b0), _mm_cmpeq_epi8(b0, c)),
						     _mm_cmpeq_epi8(c, e));
			unsigned starts = (unsigned)_mm_movemask_epi8(same);
			size_t lit = starts ? (size_t)__builtin_ctz(starts) : 16;
			for (size_t k = 0; k < lit; k++)
				lf[in[i + k]]++;
			i += lit;
			if (!starts)
				continue;
			/* i starts a run, with 3 bytes or more left (i + 2 < n) */
		}
#endif
		uint8_t b = in[i - 1];
		if (in[i] == b && n - i >= 3 && in[i + 1] == b && in[i + 2] == b) {
			size_t r = run_len(in, i, n - i < 258 ? n - i : 258, b);
			tok[nt++] = (uint64_t)i << 32 | MATCH | (uint32_t)r;
			lf[257 + d->len_sym[r]]++;
			df[0]++;
			i += r;
			continue;
		}
		lf[in[i]]++;
		i++;
	}
	while (search && i < n) {
		size_t max = n - i < 258 ? n - i : 258;
		/* a run is 3 bytes or more: most pairs of equal bytes are not
		 * one, told by two compares before the run is measured */
		if (in[i] == in[i - 1] && max >= 3 && in[i + 1] == in[i] && in[i + 2] == in[i]) {
			size_t r = run_len(in, i, max, in[i - 1]);
			if (r >= 3) {
				tok[nt++] = (uint64_t)i << 32 | MATCH | (uint32_t)r;
				lf[257 + d->len_sym[r]]++;
				df[0]++;
				i += r;
				lits = 0;
				continue;
			}
		}
		/* A lookup at every place; after DRY lookups in a row that
		 * found nothing (noise: the low bytes of a time stamp), only
		 * every DRY_STEP-th place is looked up (the others only
		 * remembered) until one finds a match, which then extends
		 * back over the literals before it. */
		if (max >= 8 && (i & lmask) == 0) {
			const uint8_t *cand = NULL;
			size_t m = longest_match(d, in + i, max, &cand), back = 0;
			if (m)
				while (back < lits && m + back < 258 && cand - back > d->base &&
				       in[i - back - 1] == cand[-(ptrdiff_t)back - 1])
					back++;
			if (m + back >= MIN_MATCH) {
				uint32_t dist = (uint32_t)(in + i - cand);
				for (size_t k = 1; k <= back; k++) /* literals no more */
					lf[in[i - k]]--;
				size_t end = i + m;
				m += back;
				matched += m;
				tok[nt++] = (uint64_t)(i - back) << 32 | MATCH | (dist - 1) << 9 |
					    (uint32_t)m;
				lf[257 + d->len_sym[m]]++;
				df[dist_code(dist)]++;
				/* the places inside the match are candidates too
				 * (repeats of repeats): all of a short one, the
				 * end of a long one */
				for (i = m > 32 ? end - 8 : i + 1; i + 4 <= end; i++)
					remember(d, in + i);
				i = end;
				lits = 0;
				dry = 0;
				lmask = 0;
				continue;
			}
			if (++dry == DRY)
				lmask = DRY_STEP - 1;
		} else if (max >= 4) {
			remember(d, in + i); /* a later repeat of this finds it */
		}
		lf[in[i]]++;
		i++;
		lits++;
	}
	lf[256] = 1;
	d->matched = matched;

	/* the dynamic block's codes */
	uint8_t ll[LP_RLE_LITLEN], dl[NDIST];
	huff_lengths(lf, LP_RLE_LITLEN, MAX_BITS, ll);
	huff_lengths(df, NDIST, MAX_BITS, dl);
	unsigned hlit = LP_RLE_LITLEN, hdist = NDIST;
	while (hlit > 257 && !ll[hlit - 1])
		hlit--;
	while (hdist > 1 && !dl[hdist - 1])
		hdist--;
	/* the code lengths, run-length coded (3.2.7): symbol | extra << 5 */
	uint8_t lens[LP_RLE_LITLEN + NDIST];
	memcpy(lens, ll, hlit);
	memcpy(lens + hlit, dl, hdist);
	uint16_t cl_tok[LP_RLE_LITLEN + NDIST];
	uint32_t cf[NCL] = { 0 };
	unsigned ncl = 0, total = hlit + hdist;
	for (unsigned k = 0; k < total;) {
		uint8_t v = lens[k];
		unsigned r = 1 + (unsigned)run_len(lens, k + 1, total - k - 1, v);
		k += r;
		if (v == 0) {
			while (r >= 11) {
				unsigned m = r > 138 ? 138 : r;
				cl_tok[ncl++] = (uint16_t)(18 | (m - 11) << 5);
				cf[18]++;
				r -= m;
			}
			if (r >= 3) {
				cl_tok[ncl++] = (uint16_t)(17 | (r - 3) << 5);
				cf[17]++;
				r = 0;
			}
		} else {
			cl_tok[ncl++] = v;
			cf[v]++;
			r--;
			while (r >= 3) {
				unsigned m = r > 6 ? 6 : r;
				cl_tok[ncl++] = (uint16_t)(16 | (m - 3) << 5);
				cf[16]++;
				r -= m;
			}
		}
		while (r--) {
			cl_tok[ncl++] = v;
			cf[v]++;
		}
	}
	uint8_t cl[NCL];
	huff_lengths(cf, NCL, MAX_CL_BITS, cl);
	unsigned hclen = NCL;
	while (hclen > 4 && !cl[cl_order[hclen - 1]])
		hclen--;

	/* exact sizes in bits */
	uint64_t extra = 0, dyn = 3 + 5 + 5 + 4 + 3 * (uint64_t)hclen, fix = 3;
	uint64_t nmatch = 0;
	for (unsigned s = 0; s < 29; s++)
		extra += (uint64_t)lf[257 + s] * len_extra[s];
	for (unsigned c = 0; c < NDIST; c++) {
		extra += (uint64_t)df[c] * dist_extra(c);
		dyn += (uint64_t)df[c] * dl[c];
		nmatch += df[c];
	}
	for (unsigned s = 0; s < hlit; s++) { /* none used after hlit */
		dyn += (uint64_t)lf[s] * ll[s];
		fix += (uint64_t)lf[s] * d->fixed_len[s];
	}
	dyn += extra;
	fix += extra + nmatch * 5;
	/* the code lengths' tokens, from their histogram (19 symbols, where
	 * a loop over the tokens took 50 to 100 steps) */
	for (unsigned s = 0; s < NCL; s++)
		dyn += (uint64_t)cf[s] * cl[s];
	dyn += 2 * (uint64_t)cf[16] + 3 * (uint64_t)cf[17] + 7 * (uint64_t)cf[18];
	uint64_t nstored = (n + STORED_MAX - 1) / STORED_MAX;
	uint64_t sto = nstored * (3 + 7 + 32) + 8 * (uint64_t)n; /* padding: at most 7 bits */
	uint64_t best = dyn < fix ? dyn : fix;
	if (sto < best)
		best = sto;
	if ((d->nacc + best + 7) / 8 + 8 > d->cap - d->pos)
		return -1;

	struct bits bw = { d->acc, d->nacc, d->out + d->pos }, *b = &bw;
	if (best == sto) {
		for (size_t o = 0; o < n;) {
			size_t m = n - o < STORED_MAX ? n - o : STORED_MAX;
			put(b, 0, 3); /* not final, stored */
			put_bytes(b);
			if (b->n) { /* to the byte boundary */
				*b->o++ = (uint8_t)b->acc;
				b->acc = 0;
				b->n = 0;
			}
			*b->o++ = (uint8_t)m;
			*b->o++ = (uint8_t)(m >> 8);
			*b->o++ = (uint8_t)~m;
			*b->o++ = (uint8_t)(~m >> 8);
			memcpy(b->o, in + o, m);
			b->o += m;
			o += m;
		}
		goto done;
	}

	const uint16_t *lc;
	const uint8_t *lcl;
	uint16_t dyn_code[LP_RLE_LITLEN], dist_codes[NDIST];
	const uint16_t *dc;
	const uint8_t *dcl;
	static const uint8_t fixed_dl[NDIST] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
						 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };
	if (best == dyn) {
		put(b, 2u << 1, 3); /* not final, dynamic */
		put(b, hlit - 257, 5);
		put(b, hdist - 1, 5);
		put(b, hclen - 4, 4);
		for (unsigned k = 0; k < hclen; k++)
			put(b, cl[cl_order[k]], 3);
		uint16_t clc[NCL];
		make_codes(cl, NCL, clc);
		for (unsigned k = 0; k < ncl; k++) {
			unsigned s = cl_tok[k] & 31, x = cl_tok[k] >> 5;
			put(b, clc[s], cl[s]);
			if (s == 16)
				put(b, x, 2);
			else if (s == 17)
				put(b, x, 3);
			else if (s == 18)
				put(b, x, 7);
		}
		make_codes(ll, hlit, dyn_code); /* none used after hlit, hdist */
		make_codes(dl, hdist, dist_codes);
		lc = dyn_code;
		lcl = ll;
		dc = dist_codes;
		dcl = dl;
	} else {
		put(b, 1u << 1, 3); /* not final, fixed */
		lc = d->fixed_code;
		lcl = d->fixed_len;
		dc = d->fixed_dcode;
		dcl = fixed_dl;
	}
	/* the literals' codes and lengths in one word each: one load a byte */
	uint32_t lit[256];
	for (unsigned s = 0; s < 256; s++)
		lit[s] = lc[s] | (uint32_t)lcl[s] << 16;
	size_t at = 0; /* the next literal */
	for (size_t k = 0; k < nt; k++) {
		size_t start = (size_t)(tok[k] >> 32);
		uint32_t t = (uint32_t)tok[k];
		put_literals(b, lit, in + at, start - at);
		at = start + (t & 0x1ff);
		/* 7 held + 15 + 5 + 15 + 13 bits: one flush */
		unsigned r = t & 0x1ff, s = d->len_sym[r];
		add(b, lc[257 + s], lcl[257 + s]);
		add(b, r - len_base[s], len_extra[s]);
		uint32_t x = (t >> 9) & 0x7fff; /* distance - 1 */
		unsigned c = dist_code(x + 1);
		add(b, dc[c], dcl[c]);
		add(b, x - dist_base(c), dist_extra(c));
		flush(b);
	}
	put_literals(b, lit, in + at, n - at);
	put(b, lc[256], lcl[256]);
	put_bytes(b);
done:
	d->acc = b->acc;
	d->nacc = b->n;
	d->pos = (size_t)(b->o - d->out);
	return 0;
}
