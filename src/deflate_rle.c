/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Raw deflate blocks of literals and distance-1 runs (deflate_rle.h).
 *
 * Why not zlib: the number planes of a pack are ~95 % of its bytes, and
 * zlib spends most of the writer's time on them (hash chains, a flush and a
 * strategy switch per plane) although runs are all it finds there: Z_RLE
 * stores the same bytes as Z_FILTERED on them. Coding runs directly, each
 * plane its own block, is the same output size for a fraction of the time.
 *
 * Each block: tokens (literal bytes, runs of the previous byte of 3..258),
 * their histogram, then the cost of the three block types computed exactly
 * from it; the smallest is written. Huffman code lengths are limited to 15
 * (7 for the code length code) by lengthening the deepest codes that can
 * still grow and then filling the code back up (inflaters reject
 * incomplete codes).
 */
#include "deflate_rle.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NDIST 30
#define NCL 19
#define MAX_BITS 15
#define MAX_CL_BITS 7
#define RUN 0x10000u
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

static uint16_t reverse(uint16_t code, unsigned len)
{
	uint16_t r = 0;
	for (unsigned i = 0; i < len; i++, code >>= 1)
		r = (uint16_t)((r << 1) | (code & 1));
	return r;
}

/* Canonical codes for the lengths (3.2.2), bit-reversed: deflate sends a
 * Huffman code's first bit first, and the bit writer sends low bits first. */
static void make_codes(const uint8_t *len, unsigned n, uint16_t *code)
{
	uint16_t count[MAX_BITS + 1] = { 0 }, next[MAX_BITS + 1];
	for (unsigned s = 0; s < n; s++)
		count[len[s]]++;
	count[0] = 0;
	uint16_t c = 0;
	for (unsigned b = 1; b <= MAX_BITS; b++) {
		c = (uint16_t)((c + count[b - 1]) << 1);
		next[b] = c;
	}
	for (unsigned s = 0; s < n; s++)
		code[s] = len[s] ? reverse(next[len[s]]++, len[s]) : 0;
}

/* Binary heap of node numbers, smallest weight on top. */
static void heap_down(uint16_t *h, unsigned n, unsigned i, const uint32_t *w)
{
	uint16_t x = h[i];
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && w[h[c + 1]] < w[h[c]])
			c++;
		if (w[h[c]] >= w[x])
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* Huffman code lengths for freq[0..n) (n <= LP_RLE_LITLEN + 2), at most
 * limit bits, into len; a complete code over at least two symbols (a used
 * symbol alone is paired with an unused one). */
static void huff_lengths(const uint32_t *freq, unsigned n, unsigned limit, uint8_t *len)
{
	enum { MAXN = 288 };
	uint32_t w[2 * MAXN];
	uint16_t parent[2 * MAXN], heap[MAXN];
	uint8_t depth[2 * MAXN];
	unsigned hn = 0, used = 0;
	for (unsigned s = 0; s < n; s++) {
		len[s] = 0;
		if (freq[s]) {
			w[s] = freq[s];
			heap[hn++] = (uint16_t)s;
			used++;
		}
	}
	if (used < 2) {
		/* one symbol (or none): two codes of one bit */
		unsigned a = hn ? heap[0] : 0, b = a == 0 ? 1 : 0;
		len[a] = len[b] = 1;
		return;
	}
	for (unsigned i = hn / 2; i-- > 0;)
		heap_down(heap, hn, i, w);
	unsigned next = n;
	while (hn > 1) {
		uint16_t a = heap[0];
		heap[0] = heap[--hn];
		heap_down(heap, hn, 0, w);
		uint16_t b = heap[0];
		w[next] = w[a] + w[b];
		parent[a] = parent[b] = (uint16_t)next;
		heap[0] = (uint16_t)next++;
		heap_down(heap, hn, 0, w);
	}
	/* internal nodes were made in order: the root last, parents after
	 * their children */
	unsigned root = next - 1;
	depth[root] = 0;
	for (unsigned k = root; k-- > n;)
		depth[k] = (uint8_t)(depth[parent[k]] + 1 > 255 ? 255 : depth[parent[k]] + 1);
	bool over = false;
	for (unsigned s = 0; s < n; s++)
		if (freq[s]) {
			unsigned d = depth[parent[s]] + 1u;
			if (d > limit) {
				d = limit;
				over = true;
			}
			len[s] = (uint8_t)d;
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

static inline void put(struct lp_rle_deflate *d, uint32_t bits, unsigned n)
{
	d->acc |= (uint64_t)bits << d->nacc;
	d->nacc += n;
	if (d->nacc >= 32) {
		uint8_t *o = d->out + d->pos;
		o[0] = (uint8_t)d->acc;
		o[1] = (uint8_t)(d->acc >> 8);
		o[2] = (uint8_t)(d->acc >> 16);
		o[3] = (uint8_t)(d->acc >> 24);
		d->pos += 4;
		d->acc >>= 32;
		d->nacc -= 32;
	}
}

/* Out with the whole bytes held (nacc < 8 after). */
static void put_bytes(struct lp_rle_deflate *d)
{
	while (d->nacc >= 8) {
		d->out[d->pos++] = (uint8_t)d->acc;
		d->acc >>= 8;
		d->nacc -= 8;
	}
}

/* ------------------------------------------------------------ API */

void lp_rle_deflate_start(struct lp_rle_deflate *d, uint8_t *out, size_t cap)
{
	d->out = out;
	d->cap = cap;
	d->pos = 0;
	d->acc = 0;
	d->nacc = 0;
	if (d->len_sym[3] == 0 && d->fixed_len[0] == 0) {
		for (unsigned s = 0; s < 28; s++)
			for (unsigned l = len_base[s]; l < len_base[s] + (1u << len_extra[s]); l++)
				d->len_sym[l] = (uint8_t)s;
		d->len_sym[258] = 28;
		for (unsigned s = 0; s < 288; s++)
			d->fixed_len[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
		make_codes(d->fixed_len, 288, d->fixed_code);
	}
}

void lp_rle_deflate_free(struct lp_rle_deflate *d)
{
	free(d->tok);
	d->tok = NULL;
	d->tok_cap = 0;
}

size_t lp_rle_deflate_pending(const struct lp_rle_deflate *d, unsigned *bits, int *nbits)
{
	/* every block ends with put_bytes(): at most 7 bits are held */
	*bits = (unsigned)(d->acc & ((1u << d->nacc) - 1));
	*nbits = (int)d->nacc;
	return d->pos;
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
	if (d->tok_cap < n) {
		uint32_t *t = realloc(d->tok, n * sizeof(*t));
		if (!t)
			return -1;
		d->tok = t;
		d->tok_cap = n;
	}

	/* tokens and their histogram */
	uint32_t lf[LP_RLE_LITLEN] = { 0 }, df[NDIST] = { 0 };
	uint32_t *tok = d->tok;
	size_t nt = 0, runs = 0, i = 0;
	tok[nt++] = in[0];
	lf[in[0]]++;
	i = 1;
	while (i < n) {
		uint8_t prev = in[i - 1];
		size_t max = n - i < 258 ? n - i : 258;
		size_t r = in[i] == prev ? run_len(in, i, max, prev) : 0;
		if (r >= 3) {
			tok[nt++] = RUN | (uint32_t)r;
			lf[257 + d->len_sym[r]]++;
			runs++;
			i += r;
		} else {
			tok[nt++] = in[i];
			lf[in[i]]++;
			i++;
		}
	}
	lf[256] = 1;
	df[0] = (uint32_t)runs;

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
		unsigned r = 1;
		while (k + r < total && lens[k + r] == v)
			r++;
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
	for (unsigned s = 0; s < 29; s++)
		extra += (uint64_t)lf[257 + s] * len_extra[s];
	for (unsigned s = 0; s < LP_RLE_LITLEN; s++) {
		dyn += (uint64_t)lf[s] * ll[s];
		fix += (uint64_t)lf[s] * d->fixed_len[s];
	}
	dyn += extra + (uint64_t)runs * dl[0];
	fix += extra + (uint64_t)runs * 5;
	for (unsigned k = 0; k < ncl; k++) {
		unsigned s = cl_tok[k] & 31;
		dyn += cl[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
	}
	uint64_t nstored = (n + STORED_MAX - 1) / STORED_MAX;
	uint64_t sto = nstored * (3 + 7 + 32) + 8 * (uint64_t)n; /* padding: at most 7 bits */
	uint64_t best = dyn < fix ? dyn : fix;
	if (sto < best)
		best = sto;
	if ((d->nacc + best + 7) / 8 + 8 > d->cap - d->pos)
		return -1;

	if (best == sto) {
		for (size_t o = 0; o < n;) {
			size_t m = n - o < STORED_MAX ? n - o : STORED_MAX;
			put(d, 0, 3); /* not final, stored */
			put_bytes(d);
			if (d->nacc) { /* to the byte boundary */
				d->out[d->pos++] = (uint8_t)d->acc;
				d->acc = 0;
				d->nacc = 0;
			}
			d->out[d->pos++] = (uint8_t)m;
			d->out[d->pos++] = (uint8_t)(m >> 8);
			d->out[d->pos++] = (uint8_t)~m;
			d->out[d->pos++] = (uint8_t)(~m >> 8);
			memcpy(d->out + d->pos, in + o, m);
			d->pos += m;
			o += m;
		}
		return 0;
	}

	const uint16_t *lc;
	const uint8_t *lcl;
	uint16_t dyn_code[LP_RLE_LITLEN], dist_code[NDIST];
	uint16_t dcode0;
	unsigned dlen0;
	if (best == dyn) {
		put(d, 2u << 1, 3); /* not final, dynamic */
		put(d, hlit - 257, 5);
		put(d, hdist - 1, 5);
		put(d, hclen - 4, 4);
		for (unsigned k = 0; k < hclen; k++)
			put(d, cl[cl_order[k]], 3);
		uint16_t clc[NCL];
		make_codes(cl, NCL, clc);
		for (unsigned k = 0; k < ncl; k++) {
			unsigned s = cl_tok[k] & 31, x = cl_tok[k] >> 5;
			put(d, clc[s], cl[s]);
			if (s == 16)
				put(d, x, 2);
			else if (s == 17)
				put(d, x, 3);
			else if (s == 18)
				put(d, x, 7);
		}
		make_codes(ll, LP_RLE_LITLEN, dyn_code);
		make_codes(dl, NDIST, dist_code);
		lc = dyn_code;
		lcl = ll;
		dcode0 = dist_code[0];
		dlen0 = dl[0];
	} else {
		put(d, 1u << 1, 3); /* not final, fixed */
		lc = d->fixed_code;
		lcl = d->fixed_len;
		dcode0 = 0;
		dlen0 = 5;
	}
	for (size_t k = 0; k < nt; k++) {
		uint32_t t = tok[k];
		if (t < RUN) {
			put(d, lc[t], lcl[t]);
			continue;
		}
		unsigned r = t & 0xffff, s = d->len_sym[r];
		put(d, lc[257 + s], lcl[257 + s]);
		if (len_extra[s])
			put(d, r - len_base[s], len_extra[s]);
		put(d, dcode0, dlen0);
	}
	put(d, lc[256], lcl[256]);
	put_bytes(d);
	return 0;
}
