/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What would it take to store fewer bytes per event? Reads a trace with the
 * real reader and re-encodes its records in blocks the way the writer does
 * (256 KiB of records per block, + 24 bytes of block header), with other
 * codecs and with simple record transforms, and prints bytes/event and the
 * decode speed for each variant. Nothing is written.
 *
 *   codec_probe TRACE
 *
 * Transforms (cumulative):
 *   nop   records as written today
 *   nptr  raw pointer values of string arguments zeroed (the strings are kept;
 *         a user-space address is meaningless after the fact and incompressible)
 *   dts   + hdr.ts as the delta to the previous record's ts, fd_io first/last ts
 *         as deltas to hdr.ts, exec_argv/exit/fork unchanged
 *   cols  + each block split into two streams compressed one after the other:
 *         the fixed parts of records (headers, numbers), then the strings
 *   pack  a compact encoding instead (a prototype of a format change): per
 *         record a kind byte, varints for tgid (delta to the previous record),
 *         tid - tgid, aux, ts delta; syscalls: ret, latency, the arguments up to
 *         the last non-zero one (zigzag varints, string pointers dropped);
 *         fd_io: varints, times relative to hdr.ts; strings: a reference to a
 *         dictionary of the last 65,536 distinct strings, or a new string
 *         front-coded against the previous new string (shared prefix length,
 *         suffix); other kinds as they are. Then the codec.
 *   pack+us  pack with times kept to the microsecond (ts, latency, fd_io
 *         times) instead of the nanosecond.
 * Codecs: zlib level 1 (format v1), zlib 6, and zstd 1/3/9 when built with
 * -DHAVE_ZSTD (libzstd-dev).
 * Last row, "layerprof": what the writer stores now (format v2: the records
 * packed by src/trace_pack.c, then raw deflate; 1 MiB blocks), and its
 * decoder's speed (inflate + unpack, MB/s of records out); encode speed on
 * stderr (pack + deflate, one core).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "layerprof/abi.h"
#include "trace.h"
#include "trace_pack.h"

#define BLOCK (256u << 10)

struct codec {
	const char *name;
	int kind; /* 0 zlib, 1 zstd */
	int level;
};

static const struct codec codecs[] = {
	{ "zlib-1", 0, 1 }, { "zlib-6", 0, 6 },
#ifdef HAVE_ZSTD
	{ "zstd-1", 1, 1 }, { "zstd-3", 1, 3 }, { "zstd-9", 1, 9 },
#endif
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))
enum { T_NOP, T_NPTR, T_DTS, T_COLS, T_PACK, T_PACKQ, T_NR };
static const char *const tnames[T_NR] = { "nop", "nptr", "nptr+dts", "nptr+dts+cols", "pack", "pack+us" };

static uint64_t out_bytes[T_NR][NCODECS];
static double dec_s[T_NR][NCODECS];
static uint64_t raw_bytes[T_NR];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *cbuf;
static size_t cbuf_cap;
static uint8_t dbuf[BLOCK + 65536];

/* compress src, account its size and time its decompression */
static void account(int t, const uint8_t *src, size_t len)
{
	if (!len)
		return;
	for (size_t c = 0; c < NCODECS; c++) {
		size_t clen = 0;
		double t0;
		if (codecs[c].kind == 0) {
			uLongf n = (uLongf)cbuf_cap;
			compress2(cbuf, &n, src, (uLong)len, codecs[c].level);
			clen = n;
			t0 = now();
			uLongf dn = sizeof(dbuf);
			uncompress(dbuf, &dn, cbuf, (uLong)clen);
		} else {
#ifdef HAVE_ZSTD
			clen = ZSTD_compress(cbuf, cbuf_cap, src, len, codecs[c].level);
			t0 = now();
			ZSTD_decompress(dbuf, sizeof(dbuf), cbuf, clen);
#else
			t0 = now();
#endif
		}
		dec_s[t][c] += now() - t0;
		out_bytes[t][c] += clen < len ? clen : len;
	}
}

static uint8_t blk[T_NR][BLOCK + 8192];
static uint8_t strs[BLOCK + 8192];
static size_t blen[T_NR], slen;
static uint64_t nblocks[T_NR];

static void flush(int t)
{
	if (t == T_COLS) {
		account(t, blk[t], blen[t]);
		account(t, strs, slen);
		slen = 0;
	} else {
		account(t, blk[t], blen[t]);
	}
	raw_bytes[t] += blen[t];
	nblocks[t]++;
	blen[t] = 0;
}

static void add(int t, const void *rec, size_t len, size_t fixed)
{
	size_t total = t == T_COLS ? blen[t] + slen + len : blen[t] + len;
	if (total > BLOCK)
		flush(t);
	if (t == T_COLS) {
		memcpy(blk[t] + blen[t], rec, fixed);
		blen[t] += fixed;
		memcpy(strs + slen, (const uint8_t *)rec + fixed, len - fixed);
		slen += len - fixed;
		raw_bytes[t] += len - fixed;
	} else {
		memcpy(blk[t] + blen[t], rec, len);
		blen[t] += len;
	}
}

static size_t fixed_size(uint8_t kind)
{
	switch (kind) {
	case LP_EV_SYSCALL: return sizeof(struct lp_ev_syscall);
	case LP_EV_EXEC: return sizeof(struct lp_ev_exec);
	case LP_EV_EXEC_ARGV: return sizeof(struct lp_ev_exec_argv);
	case LP_REC_PROC_SEED: return sizeof(struct lp_rec_proc_seed);
	case LP_REC_FD_SEED: return sizeof(struct lp_rec_fd_seed);
	case LP_REC_PROGRESS: return sizeof(struct lp_rec_progress);
	case LP_REC_CONTEXT_FILE: return sizeof(struct lp_rec_context_file);
	default: return 0; /* all fixed */
	}
}

/* ---- the "pack" prototype ---- */
static uint8_t pk[LP_EVENT_MAX * 24];
static size_t pkn;
static void pv(uint64_t v)
{
	while (v >= 0x80) {
		pk[pkn++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	pk[pkn++] = (uint8_t)v;
}
static void pz(int64_t v) { pv(((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

#define DICT_BITS 16
#define DICT (1u << DICT_BITS)
#define HSLOTS (DICT * 2)
static char *dict[DICT];
static uint32_t dict_next;
static int32_t hslot[HSLOTS]; /* open addressing: dict index + 1 */
static char prev_new[LP_STR_MAX + 1];

static uint32_t hstr(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static void pstr(const char *s, size_t n)
{
	/* n: bytes without NUL */
	uint32_t h = hstr(s, n), i = h & (HSLOTS - 1);
	for (int probes = 0; probes < 64; probes++, i = (i + 1) & (HSLOTS - 1)) {
		int32_t d = hslot[i];
		if (!d)
			break;
		const char *c = dict[d - 1];
		if (c && strlen(c) == n && !memcmp(c, s, n)) {
			pv((uint64_t)((dict_next - (uint32_t)d) & (DICT - 1)) + 1); /* recency */
			return;
		}
	}
	/* new: 0, shared prefix with the previous new string, suffix */
	size_t k = 0;
	while (k < n && prev_new[k] && prev_new[k] == s[k])
		k++;
	pv(0);
	pv(k);
	pv(n - k);
	memcpy(pk + pkn, s + k, n - k);
	pkn += n - k;
	memcpy(prev_new, s, n);
	prev_new[n] = 0;
	uint32_t slot = dict_next & (DICT - 1);
	free(dict[slot]);
	dict[slot] = strndup(s, n);
	dict_next++;
	/* (stale hash slots of an evicted string fail the compare above) */
	i = h & (HSLOTS - 1);
	for (int probes = 0; probes < 64; probes++, i = (i + 1) & (HSLOTS - 1))
		if (!hslot[i] || dict[hslot[i] - 1] == NULL || hslot[i] - 1 == (int32_t)slot ||
		    probes == 63) {
			hslot[i] = (int32_t)slot + 1;
			break;
		}
}

static uint32_t p_tgid;
static uint64_t p_ts;
static uint64_t q = 1; /* time quantum, ns */
static void pack(const struct lp_hdr *h)
{
	pkn = 0;
	pk[pkn++] = (uint8_t)(h->kind | (h->flags ? 0x80 : 0) | (h->kind >= 0x80 ? 0x40 : 0));
	if (h->flags)
		pk[pkn++] = h->flags;
	pz((int64_t)h->tgid - (int64_t)p_tgid);
	p_tgid = h->tgid;
	pz((int64_t)h->tid - (int64_t)h->tgid);
	pv(h->aux);
	pz((int64_t)(h->ts / q - p_ts / q));
	p_ts = h->ts;
	if (h->kind == LP_EV_SYSCALL && h->size >= sizeof(struct lp_ev_syscall)) {
		const struct lp_ev_syscall *e = (const void *)h;
		pz(e->ret);
		pv(e->lat_ns / q);
		uint64_t a[6];
		memcpy(a, e->args, sizeof(a));
		for (int i = 0; i < e->nstr && i < LP_SYSCALL_MAX_STRS; i++)
			if (e->str_arg[i] < 6)
				a[e->str_arg[i]] = 0;
		int na = 6;
		while (na > 0 && !a[na - 1])
			na--;
		pk[pkn++] = (uint8_t)(na | (e->nstr << 4));
		for (int i = 0; i < na; i++)
			pz((int64_t)a[i]);
		size_t off = sizeof(*e);
		for (int i = 0; i < e->nstr && i < LP_SYSCALL_MAX_STRS; i++) {
			pk[pkn++] = e->str_arg[i];
			size_t l = e->str_len[i];
			if (off + l > h->size)
				break;
			pstr((const char *)h + off, l ? l - 1 : 0);
			off += l;
		}
	} else if (h->kind == LP_EV_FD_IO && h->size >= sizeof(struct lp_ev_fd_io)) {
		const struct lp_ev_fd_io *e = (const void *)h;
		pv((h->ts - e->first_ts) / q);
		pv((h->ts - e->last_ts) / q);
		pv(e->rbytes);
		pv(e->wbytes);
		pv(e->rns / q);
		pv(e->wns / q);
		pv(e->rcalls);
		pv(e->wcalls);
		pv(e->io_flags);
	} else {
		size_t body = h->size - sizeof(*h);
		pv(body);
		memcpy(pk + pkn, (const uint8_t *)h + sizeof(*h), body);
		pkn += body;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: codec_probe TRACE\n");
		return 2;
	}
	char err[512];
	struct lp_reader *r = lp_reader_open(argv[1], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "codec_probe: %s\n", err);
		return 1;
	}
	cbuf_cap = compressBound(BLOCK + 8192) + 1024;
	cbuf = malloc(cbuf_cap);
	static uint8_t rec[LP_EVENT_MAX * 16 + 512];
	const struct lp_hdr *h;
	uint64_t n = 0, prev_ts = 0;
	while (lp_reader_next(r, &h) == 1) {
		size_t len = h->size;
		if (len > sizeof(rec))
			continue;
		n++;
		size_t fx = fixed_size(h->kind);
		if (!fx || fx > len)
			fx = len;
		add(T_NOP, h, len, fx);
		memcpy(rec, h, len);
		struct lp_hdr *c = (void *)rec;
		if (c->kind == LP_EV_SYSCALL && len >= sizeof(struct lp_ev_syscall)) {
			struct lp_ev_syscall *e = (void *)rec;
			for (int i = 0; i < e->nstr && i < LP_SYSCALL_MAX_STRS; i++)
				if (e->str_arg[i] < 6)
					e->args[e->str_arg[i]] = 0;
		}
		add(T_NPTR, rec, len, fx);
		uint64_t ts = c->ts;
		c->ts = ts - prev_ts;
		prev_ts = ts;
		if (c->kind == LP_EV_FD_IO && len >= sizeof(struct lp_ev_fd_io)) {
			struct lp_ev_fd_io *e = (void *)rec;
			e->first_ts = ts - e->first_ts;
			e->last_ts = ts - e->last_ts;
		}
		add(T_DTS, rec, len, fx);
		add(T_COLS, rec, len, fx);
		pack(h);
		add(T_PACK, pk, pkn, pkn);
	}
	/* pack+us: a second pass with a fresh dictionary */
	for (uint32_t i = 0; i < DICT; i++) {
		free(dict[i]);
		dict[i] = NULL;
	}
	memset(hslot, 0, sizeof(hslot));
	dict_next = 0;
	prev_new[0] = 0;
	p_tgid = 0;
	p_ts = 0;
	q = 1000;
	lp_reader_rewind(r);
	while (lp_reader_next(r, &h) == 1) {
		pack(h);
		add(T_PACKQ, pk, pkn, pkn);
	}
	for (int t = 0; t < T_NR; t++)
		if (blen[t])
			flush(t);

	/* the real codec, blocks as the writer makes them */
	const size_t wblock = 1u << 20;
	uint8_t *wb = malloc(wblock), *wz = malloc(compressBound(wblock) + 64), *wo = malloc(wblock);
	struct lp_packer *pk = lp_packer_new();
	struct lp_unpacker *up = lp_unpacker_new();
	uint64_t p_bytes = 0, p_raw = 0;
	double p_enc = 0, p_dec = 0;
	size_t wl = 0;
	lp_reader_rewind(r);
	for (int more = 1; more;) {
		more = lp_reader_next(r, &h) == 1;
		if (wl && (!more || wblock - wl < h->size)) {
			uint8_t codec;
			char why[256];
			double t0 = now();
			size_t zn = lp_pack_block(pk, wb, wl, wz, compressBound(wblock) + 64, &codec);
			p_enc += now() - t0;
			if (!zn) {
				fprintf(stderr, "codec_probe: a block does not pack\n");
				return 1;
			}
			t0 = now();
			if (lp_unpack_block(up, codec, wz, zn, wo, wl, why, sizeof(why)) < 0 ||
			    memcmp(wo, wb, wl)) {
				fprintf(stderr, "codec_probe: a pack does not come back: %s\n", why);
				return 1;
			}
			p_dec += now() - t0;
			p_bytes += zn + 24;
			p_raw += wl;
			wl = 0;
		}
		if (more) {
			memcpy(wb + wl, h, h->size);
			wl += h->size;
		}
	}
	lp_packer_free(pk);
	lp_unpacker_free(up);
	free(wb);
	free(wz);
	free(wo);
	lp_reader_close(r);
	printf("%-15s %-8s %12s %12s %14s\n", "transform", "codec", "bytes", "bytes/event", "decode MB/s");
	for (int t = 0; t < T_NR; t++)
		for (size_t c = 0; c < NCODECS; c++) {
			uint64_t b = out_bytes[t][c] + nblocks[t] * 24 * (t == T_COLS ? 2 : 1);
			printf("%-15s %-8s %12llu %12.2f %14.0f\n", tnames[t], codecs[c].name,
			       (unsigned long long)b, (double)b / (double)n,
			       dec_s[t][c] > 0 ? (double)raw_bytes[t] / 1e6 / dec_s[t][c] : 0.0);
		}
	printf("%-15s %-8s %12llu %12.2f %14.0f\n", "layerprof", "pack", (unsigned long long)p_bytes,
	       (double)p_bytes / (double)n, p_dec > 0 ? (double)p_raw / 1e6 / p_dec : 0.0);
	fprintf(stderr, "codec_probe: layerprof pack encodes %.0f MB/s of records, %.2f M events/s\n",
		p_enc > 0 ? (double)p_raw / 1e6 / p_enc : 0.0, p_enc > 0 ? (double)n / 1e6 / p_enc : 0.0);
	return 0;
}
