/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * "pack": the compact, lossless encoding of an EVENTS block. Block codec 2
 * is a pack as it is, codec 3 a pack compressed with raw deflate (RFC 1951).
 * docs/trace-format.md has the same description at byte level.
 *
 * Why: the records of abi.h are fixed-layout C structs: mostly zeros, small
 * numbers in 8-byte fields, time stamps that differ from the previous one in
 * their low bytes, user pointers that differ from the thread's previous one
 * in their low bytes, paths that share directories. zlib on those bytes
 * stores ~34 bytes per event; split into columns, predicted from what came
 * before, the same information takes ~3x less after deflate. Lossless: the
 * unpacked records are byte for byte the ones the writer was given (pads,
 * unused slots, odd values included: every byte of a record is coded).
 *
 * ---------------------------------------------------------------- layout
 *
 *   pack    := u8 version (1) | varint nrec | u8 ncols (46) | dir[ncols] | data
 *   dir[c]  := varint count | u8 width                     (width 0..8)
 *   data    := for each column c in order, width planes of count bytes:
 *              plane k holds byte k (little-endian) of each of the column's
 *              count values, so value i = sum(plane_k[i] << 8k). Width 0:
 *              every value is 0 and nothing is stored.
 *   varint  := unsigned LEB128, at most 10 bytes
 *
 * A column is a sequence of unsigned 64-bit values; records take values
 * from the columns in record order, each column in its own order. Byte
 * columns ("B" below) hold one byte per value (width 0 or 1): string bytes.
 * The data must end exactly at the end of the pack, the records must fill
 * exactly the block's raw_len bytes, and every column must be used up:
 * anything else is corruption. A writer never makes a pack bigger than the
 * records it holds (it stores the block with codec 0 or 1 instead).
 *
 * Columns, in file order:
 *    0 form     1 flags    2 thread   3 tgid     4 tid      5 ts
 *    6 base     7 aux      8 sc       9 ret     10 lat     11 sarg
 *   12 ptr     13..18 arg0..arg5     19 fd      20 last    21 first
 *   22 rb      23 wb      24 rns     25 wns     26 rcalls  27 wcalls
 *   28 misc    29 pad     30 tail    31 esc     32 Pref    33 Ppfx
 *   34 Pfrom   35 Pntok   36 Ptok    37 Plen    38 Psuf    39 Cref
 *   40 Cpfx    41 Pstr B  42 Cstr B  43 argv B  44 text B  45 raw B
 *
 * ---------------------------------------------------------------- values
 *
 * zz(x): zigzag (0, -1, 1, -2... -> 0, 1, 2, 3...) of a difference taken
 * modulo 2^64 (2^32 for 32-bit fields, the "d32" below). d(x, p) = zz(x - p).
 * ^ is exclusive or.
 *
 * Model state, reset at the start of every pack (nothing crosses blocks):
 *   prev_tgid, prev_ts  the previous record's tgid and ts (0)
 *   pairs[16]      the last (tgid, tid) pairs seen, most recent first
 *   ptr            the last string pointer (any thread; 0)
 *   slots[256]     per thread, direct-mapped on (tid * 0x9E3779B1 mod 2^32)
 *                  >> 24: a slot belongs to one tid at a time, meeting
 *                  another tid resets it to {tid, ptr: ptr, ret: 0}. Holds
 *                  the thread's last string pointer and last syscall ret.
 *                  Only syscall and fd_io records look up their tid's slot.
 *   per syscall number (aux & 127): last ret, last sarg, last args[0..5] (0)
 *   recent[8]      the last PATH strings coded, most recent first
 *   dictionaries   PATH (whole strings), TOK (path components), SUF (path
 *                  ends), COMM (16-byte comm fields): see "strings".
 *
 * ---------------------------------------------------------------- records
 *
 * Every record: [form] f:
 *   0 escaped: [esc] kind, then as below     1..5: kind f + 1 (fork .. fd_io)
 *   6..10: kind 0x80 + f - 6 (proc_seed .. context_file)
 *   11..254: syscall with aux = f - 11       255: syscall, aux in [sc]
 * then [flags] flags; [thread] j: j < 16: (tgid, tid) = pairs[j]; j = 16: a
 * new pair: [tgid] d32(tgid, prev_tgid), [tid] d32(tid, tgid) (for the
 * first record of the pack, the tgid value goes to [base] instead); the
 * pair moves to pairs[0] (a new one pushes out the oldest of 16). Then [ts]
 * d(ts, prev_ts) ([base] for the first record).
 * hdr.size is never stored: it is the kind's fixed size, plus its strings,
 * plus the [tail] bytes.
 *
 * By kind (after the header):
 *   syscall     [sc] aux (form 255 only); [ret] d(ret, last ret of sc);
 *               [lat] lat_ns; [sarg] (nstr | str_arg[i] << 8(i+1)) ^ last
 *               sarg of sc (nstr <= 4); [pad] pad, str_len[i] for i >= nstr,
 *               pad2 bytes 0-7, pad2 bytes 8-9; args[i], i = 0..5: a string
 *               argument (i == str_arg[j], j < nstr) is [ptr] arg ^ the
 *               thread's last string pointer, and becomes it (and ptr);
 *               another is [arg i] d(arg, last args[i] of sc); the thread's
 *               ret = ret; then the nstr strings (PATH), str_len[] = their
 *               lengths.
 *   fork        [aux] d32(aux, tgid); child_comm (COMM)
 *   exec        [aux] d32(aux, tgid); [misc] d32(ppid, tgid); [pad] pad;
 *               comm (COMM); the filename (PATH) -> filename_len
 *   exec_argv   [aux] aux; [misc] d32(dirfd, 0), argc, data_len;
 *               data_len bytes [argv]
 *   exit        [aux] aux; [misc] chown, chmod, utimens, stat_ok; comm (COMM);
 *               cpu_ns, added after the format, is in the [tail] bytes (a
 *               trace made before it has none)
 *   fd_io       [fd] d32(aux, the low 32 bits of the thread's ret); [last]
 *               d(last_ts, ts); [first] d(first_ts, the previous record's
 *               ts); [rb] [wb] rbytes, wbytes;
 *               [rcalls] [wcalls]; [rns] d(rns, rcalls == 1 ? last_ts -
 *               first_ts : 0); [wns] the same with wcalls; [misc] io_flags;
 *               [pad] pad
 *   proc_seed   [aux] d32(aux, tgid); [misc] cmdline_len, argc; comm (COMM);
 *               exe, cwd (PATH) -> exe_len, cwd_len; cmdline_len bytes [argv]
 *   fd_seed     [aux] aux; [pad] pad[0..2]; the path (PATH) -> path_len
 *   progress    [aux] aux; [misc] len; [pad] pad[0..2]; len bytes [text]
 *   trace_pid   [aux] aux; comm (COMM)
 *   context_file [aux] aux; [misc] size, zz(mtime_ns), mode; [pad] pad; the
 *               path (PATH) -> path_len
 * and ends with [tail] n, then n bytes [raw]: what follows the strings
 * inside hdr.size (procfs records are padded to 8 bytes).
 * An escaped record (an unknown kind, or a known one whose lengths do not
 * fit in its size), after the header: [aux] aux; [esc] hdr.size (>= 24);
 * hdr.size - 24 bytes [raw] (the record after its header, as is).
 *
 * ---------------------------------------------------------------- strings
 *
 * A dictionary is the list of the strings appended to it (at most 65,536 a
 * pack; past that, nothing is appended). A reference r >= 1 means entry
 * n - r, the r-th newest (n: entries so far).
 *
 * A PATH string (a field's whole declared length, its NUL included,
 * whatever its bytes are):
 *   [Pref] r > 0: the same bytes as PATH entry r.
 *   [Pref] 0, then [Ppfx] k: the string starts with the first k bytes of
 *     recent[[Pfrom] j] (Pfrom only when k > 0); [Pntok] t (<= 64) head
 *     components follow, each [Ptok] r > 0: TOK entry r, or [Ptok] 0, [Plen]
 *     m (>= 1), m bytes [Pstr]; the string ends with [Psuf] r > 0: SUF entry
 *     r, or [Psuf] 0: nothing. Then each head component's position to the
 *     end of the string is appended to SUF, in order, and so is the final
 *     SUF part when there is one.
 *   Each head component is appended to TOK when decoded; the string itself
 *   to PATH and to recent[] (pushing out the oldest of 8).
 * (The encoder: k is the longest prefix ending with '/' shared with one of
 * recent[], the first such; components end with '/'; it stops at the first
 * rest found in SUF.)
 * A COMM string (16 bytes): [Cref] r > 0: COMM entry r; [Cref] 0: [Cpfx] k
 * (<= 16; 0 when COMM is empty): the first k bytes of the newest COMM entry,
 * then 16 - k bytes [Cstr]. Appended to COMM either way.
 * The encoder finds repeats through hash tables (caches: a missed repeat
 * only costs bytes); the decoder only follows references.
 *
 * ---------------------------------------------------------------- deflate
 *
 * Codec 3 compresses the pack with raw deflate, each plane (and the
 * directory) its own deflate block so that each gets its own Huffman codes
 * (planes next to each other that come to at most 3 KiB share one): the
 * directory and number planes by deflate_rle.c (literals, runs, long
 * repeats: what pays in them, at ~3x zlib's speed; a plane that found few
 * repeats in the last packs is not searched for them), then an empty
 * stored block to reach a byte boundary, and there the byte columns, all
 * together, as libdeflate's level 1 raw deflate stream, which ends the
 * stream (smaller than zlib's level 4 with a block per column, and
 * faster). A reader just inflates: none of this is part of the
 * format.
 */
#include "trace_pack.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "layerprof/abi.h"
#include "deflate_rle.h"
#include "trace.h"
#include "varint.h"

_Static_assert(sizeof(struct lp_hdr) == 24, "lp_hdr layout");
_Static_assert(sizeof(struct lp_ev_syscall) == 112, "lp_ev_syscall layout");
_Static_assert(sizeof(struct lp_ev_fork) == 40, "lp_ev_fork layout");
_Static_assert(sizeof(struct lp_ev_exec) == 48, "lp_ev_exec layout");
_Static_assert(sizeof(struct lp_ev_exec_argv) == 32, "lp_ev_exec_argv layout");
_Static_assert(sizeof(struct lp_ev_exit) == 64, "lp_ev_exit layout");
_Static_assert(offsetof(struct lp_ev_exit, cpu_ns) == 56, "lp_ev_exit's coded part");
_Static_assert(sizeof(struct lp_ev_fd_io) == 88, "lp_ev_fd_io layout");
_Static_assert(sizeof(struct lp_rec_proc_seed) == 48, "lp_rec_proc_seed layout");
_Static_assert(sizeof(struct lp_rec_fd_seed) == 32, "lp_rec_fd_seed layout");
_Static_assert(sizeof(struct lp_rec_progress) == 32, "lp_rec_progress layout");
_Static_assert(sizeof(struct lp_rec_trace_pid) == 40, "lp_rec_trace_pid layout");
_Static_assert(sizeof(struct lp_rec_context_file) == 48, "lp_rec_context_file layout");

enum col {
	C_FORM, C_FLAGS, C_THREAD, C_TGID, C_TID, C_TS,
	C_BASE, C_AUX, C_SC, C_RET, C_LAT, C_SARG,
	C_PTR, C_ARG0, C_ARG1, C_ARG2, C_ARG3, C_ARG4, C_ARG5, C_FD, C_LAST, C_FIRST,
	C_RB, C_WB, C_RNS, C_WNS, C_RCALLS, C_WCALLS,
	C_MISC, C_PAD, C_TAIL, C_ESC, C_PREF, C_PPFX,
	C_PFROM, C_PNTOK, C_PTOK, C_PLEN, C_PSUF, C_CREF,
	C_CPFX, C_PSTR, C_CSTR, C_ARGV, C_TEXT, C_RAW,
	NCOL,
	C_FIRST_BYTES = C_PSTR, /* byte columns from here on */
};
_Static_assert(NCOL == 46, "the column list is part of the format");

static const char *const col_name[NCOL] = {
	"form", "flags", "thread", "tgid", "tid", "ts",
	"base", "aux", "sc", "ret", "lat", "sarg",
	"ptr", "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "fd", "last", "first",
	"rb", "wb", "rns", "wns", "rcalls", "wcalls",
	"misc", "pad", "tail", "esc", "Pref", "Ppfx",
	"Pfrom", "Pntok", "Ptok", "Plen", "Psuf", "Cref",
	"Cpfx", "Pstr", "Cstr", "argv", "text", "raw",
};

/* [form] values */
enum {
	F_ESC = 0,      /* escaped: [esc] kind */
	F_KIND = 1,     /* 1..5: kinds 2..6 (fork .. fd_io) */
	F_REC = 6,      /* 6..10: kinds 0x80..0x84 (proc_seed .. context_file) */
	F_SC = 11,      /* 11..254: syscall, aux (lp_sc) = form - 11 */
	F_SC_BIG = 255, /* syscall, aux in [sc] */
};

#define NPAIR 16
#define NRECENT 8
#define TID_SLOTS 256
#define SC_SLOTS 128
#define MAX_HEAD 64          /* head components of a PATH string */
#define DICT_MAX (1u << 16)  /* entries per dictionary and pack */
#define HASH_BITS 15         /* encoder's cache of each dictionary */
#define COMM_LEN LP_COMM_LEN
#define REC_MAX 65535u       /* lp_hdr.size is a u16 */
/* libdeflate's level for the byte columns: 1 (a hash table, no chains)
 * took the writer 2.7 % fewer instructions than 4 on the synthetic build,
 * 1.8 % on a real trace, for +0.1 % bytes on the 10M trace and +0.5 % on
 * the cached recordings (at most +1.1 %) */
#define ZLEVEL 1

enum dict_id { D_PATH, D_TOK, D_SUF, D_COMM, NDICT };

struct tid_slot {
	uint32_t tid;
	bool used;
	uint64_t ptr; /* its last string pointer */
	uint64_t ret; /* ret of its last syscall */
};

struct dict {
	const uint8_t **p; /* where each entry's bytes are (input or output) */
	uint32_t *len;
	size_t n, cap;
};

struct pair {
	uint32_t tgid, tid;
};
_Static_assert(sizeof(struct pair) == 8, "same_pair() compares a pair as 8 bytes");

/* p is (tgid, tid): one compare of both (8 bytes) */
static inline bool same_pair(const struct pair *p, uint32_t tgid, uint32_t tid)
{
	struct pair want = { tgid, tid };
	uint64_t a, b;
	memcpy(&a, p, 8);
	memcpy(&b, &want, 8);
	return a == b;
}

struct model {
	uint32_t tgid;
	uint64_t ts, prev_ts; /* this record's (once coded), the previous one's */
	uint64_t ptr;
	struct pair pair[NPAIR];
	unsigned npair;
	struct {
		const uint8_t *p;
		size_t len;
	} recent[NRECENT];
	unsigned nrecent;
	struct tid_slot tids[TID_SLOTS];
	uint64_t last_arg[SC_SLOTS][6];
	uint64_t last_ret[SC_SLOTS];
	uint64_t last_sarg[SC_SLOTS];
	struct dict d[NDICT];
};

/* encoder */
struct ecol {
	uint64_t *v; /* number columns */
	uint8_t *b;  /* byte columns */
	size_t n, cap;
};

#define MAX_SEG 512 /* deflate blocks of one pack (46 columns x <= 8 planes + 1) */
#define SEG_DIR (NCOL * 8) /* the id of the directory's segment */
/* A number plane whose matches covered less than 1/QUIET_SHARE of it in
 * QUIET_PACKS packs in a row is coded without the search for matches
 * (runs and literals: noise like the low bytes of time stamps never
 * repeats, and the search was most of its cost), except every REPROBE-th
 * pack, which looks again. (One pack was too few to tell: real traces'
 * repeats come and go, and their files grew up to 3 %.) */
#define QUIET_SHARE 8
#define QUIET_PACKS 3
#define REPROBE 8
/* Planes next to each other that come to at most MERGE_MAX bytes together
 * are one deflate block: a block's codes are made from its histogram
 * (~20k instructions whatever its size), and the real traces' packs have
 * many small planes (half of them under 2 KiB: the columns of rarer
 * records). 3 KiB: the writer -3.5 % instructions on a real trace, the
 * cached recordings +0.1 % in all (at most +0.9 %); 4 KiB saved 1 point
 * more but a recording grew 1.8 %, 8 KiB grew the synthetic build 1.6 %.
 * The search for matches is on or off for the group as for its first
 * plane. */
#define MERGE_MAX 3072

#define RESERVE_MIN 4096 /* values of room a column is given at least (reserve()) */

struct lp_packer {
	struct ecol col[NCOL];
	size_t room; /* every column has room for this many more values */
	struct model m;
	uint32_t *hslot[NDICT]; /* entry index + 1, where hused says so */
	/* the slots of hslot[] written in this pack, a bit each: a lookup of
	 * an empty slot (most lookups that find nothing) is answered from
	 * these 4 KiB instead of a cache miss in the 128 KiB of slots, and
	 * the slots need no clearing per pack */
	uint64_t hused[NDICT][(1u << HASH_BITS) / 64];
	/* lp_pack_block() */
	uint8_t *buf;
	size_t buf_cap;
	struct {
		size_t end;
		bool bytes;
		uint16_t id; /* column * 8 + plane; SEG_DIR */
	} seg[MAX_SEG];
	unsigned nseg;
	uint8_t quiet[SEG_DIR + 1]; /* packs in a row the plane found few matches in */
	unsigned long npack;
	struct lp_rle_deflate rle;
	struct libdeflate_compressor *ldc; /* the byte columns; made on first use */
};

/* decoder */
#define GATHER 256 /* values of a column gathered from its planes at a time */
struct dcol {
	const uint8_t *base;
	size_t count;
	size_t pos;             /* byte columns: the next byte; value columns:
				 * the next value to gather */
	unsigned width;
	/* value columns: vals[vi..vn), gathered ahead of pull() (gather()) */
	unsigned vi, vn;
	uint64_t vals[GATHER];
};

struct lp_unpacker {
	struct dcol col[NCOL];
	struct model m;
	uint8_t *buf; /* inflated pack (codec 3) */
	size_t buf_cap;
	struct libdeflate_decompressor *dd; /* made on first use */
};

/* One coding pass. The same functions encode (enc) and decode, so that the
 * two directions cannot drift apart. */
struct pk {
	bool enc;
	bool bad;
	struct lp_packer *P;
	struct lp_unpacker *U;
	struct model *m;
	unsigned long rec_no;
	uint8_t kind;
	bool kind_known;
	char *err;
	size_t errlen;
};

/* ------------------------------------------------------------ helpers */

static inline uint32_t zz32(uint32_t d)
{
	return (d << 1) ^ (uint32_t)((int32_t)d >> 31);
}

static inline uint32_t unzz32(uint32_t z)
{
	return (z >> 1) ^ (uint32_t) - (int32_t)(z & 1);
}

static const char *kind_name(uint8_t k)
{
	switch (k) {
	case LP_EV_SYSCALL: return "syscall";
	case LP_EV_FORK: return "fork";
	case LP_EV_EXEC: return "exec";
	case LP_EV_EXEC_ARGV: return "exec_argv";
	case LP_EV_EXIT: return "exit";
	case LP_EV_FD_IO: return "fd_io";
	case LP_REC_PROC_SEED: return "proc_seed";
	case LP_REC_FD_SEED: return "fd_seed";
	case LP_REC_PROGRESS: return "progress";
	case LP_REC_TRACE_PID: return "trace_pid";
	case LP_REC_CONTEXT_FILE: return "context_file";
	default: return "escaped";
	}
}

/* Decoding failed: say why, once ("record N (kind): ..."). */
static void fail(struct pk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct pk *c, const char *fmt, ...)
{
	if (c->bad)
		return;
	c->bad = true;
	if (c->enc || !c->err || !c->errlen)
		return;
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->kind_known)
		snprintf(c->err, c->errlen, "record %lu (%s): %s", c->rec_no + 1,
			 kind_name(c->kind), what);
	else
		snprintf(c->err, c->errlen, "record %lu: %s", c->rec_no + 1, what);
}

static bool ecol_grow(struct ecol *e, bool bytes, size_t need)
{
	if (e->n + need <= e->cap)
		return true;
	size_t cap = e->cap ? e->cap : 1024;
	while (cap < e->n + need)
		cap *= 2;
	if (bytes) {
		uint8_t *b = realloc(e->b, cap);
		if (!b)
			return false;
		e->b = b;
	} else {
		uint64_t *v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return false;
		e->v = v;
	}
	e->cap = cap;
	return true;
}

/* Every column has room for the record being coded (reserve(), before
 * each record): a push is a store, no check. */
static inline void push(struct pk *c, int col, uint64_t v)
{
	struct ecol *e = &c->P->col[col];
	e->v[e->n++] = v;
}

/* The next values of value column d, up to GATHER of them, from its byte
 * planes (byte k of value i at base[k * count + i]) into d->vals: a loop
 * per plane, reading each plane in order, instead of a value's bytes
 * gathered from planes count bytes apart at each pull() (~30 % of the
 * decoding thread's samples less on the 10M-event bench trace). False
 * when the column has no more. */
static bool gather(struct dcol *d)
{
	if (d->pos >= d->count)
		return false;
	size_t n = d->count - d->pos < GATHER ? d->count - d->pos : GATHER, stride = d->count;
	const uint8_t *b = d->base + d->pos;
	uint64_t *v = d->vals;
	if (!d->width) {
		memset(v, 0, n * sizeof(*v));
	} else {
		for (size_t i = 0; i < n; i++)
			v[i] = b[i];
		for (unsigned k = 1; k < d->width; k++) {
			const uint8_t *plane = b + k * stride;
			for (size_t i = 0; i < n; i++)
				v[i] |= (uint64_t)plane[i] << (8 * k);
		}
	}
	d->pos += n;
	d->vi = 0;
	d->vn = (unsigned)n;
	return true;
}

static inline uint64_t pull(struct pk *c, int col)
{
	struct dcol *d = &c->U->col[col];
	if (d->vi == d->vn && !gather(d)) {
		fail(c, "column '%s' is exhausted", col_name[col]);
		return 0;
	}
	return d->vals[d->vi++];
}

/* ------------------------------------------------------------ field coders */

/*
 * The coders below take the direction (enc) as a parameter, not from c:
 * code_record() is made twice from one source, for encoding and for
 * decoding (code_record_enc/_dec), each with enc a constant, so that the
 * encoder's copy has no test of the direction and no decoding branch
 * left in it. The macros use the `enc` of the function they are in.
 */

/* A value <= max, as is. */
static inline __attribute__((always_inline)) void cu(struct pk *c, bool enc, int col,
						     uint64_t *v, uint64_t max)
{
	if (enc) {
		push(c, col, *v);
		return;
	}
	uint64_t x = pull(c, col);
	if (x > max) {
		fail(c, "value %llu out of range in column '%s'", (unsigned long long)x,
		     col_name[col]);
		x = 0;
	}
	*v = x;
}

/* d(v, pred) */
static inline __attribute__((always_inline)) void cd64(struct pk *c, bool enc, int col,
						       uint64_t *v, uint64_t pred)
{
	if (enc)
		push(c, col, lp_zigzag64(*v - pred));
	else
		*v = pred + lp_unzigzag64(pull(c, col));
}

/* d32(v, pred) */
static inline __attribute__((always_inline)) void cd32(struct pk *c, bool enc, int col,
						       uint32_t *v, uint32_t pred)
{
	uint64_t x = zz32(*v - pred);
	cu(c, enc, col, &x, UINT32_MAX);
	if (!enc)
		*v = pred + unzz32((uint32_t)x);
}

/* Code a struct field: its value goes through a u64 and back (a no-op when
 * encoding). */
#define CU8(col, field) do { uint64_t t_ = (field); cu(c, enc, col, &t_, UINT8_MAX); (field) = (uint8_t)t_; } while (0)
#define CU16(col, field) do { uint64_t t_ = (field); cu(c, enc, col, &t_, UINT16_MAX); (field) = (uint16_t)t_; } while (0)
#define CU32(col, field) do { uint64_t t_ = (field); cu(c, enc, col, &t_, UINT32_MAX); (field) = (uint32_t)t_; } while (0)
#define CU64(col, field) do { uint64_t t_ = (field); cu(c, enc, col, &t_, UINT64_MAX); (field) = t_; } while (0)
#define CZ64(col, field) do { uint64_t t_ = (uint64_t)(field); cd64(c, enc, col, &t_, 0); (field) = (__typeof__(field))t_; } while (0)
#define CD64(col, field, pred) do { uint64_t t_ = (field); cd64(c, enc, col, &t_, (pred)); (field) = t_; } while (0)
#define CD32(col, field, pred) do { uint32_t t_ = (uint32_t)(field); cd32(c, enc, col, &t_, (uint32_t)(pred)); (field) = (__typeof__(field))t_; } while (0)
#define CX64(col, field, pred) do { uint64_t t_ = (field) ^ (pred); cu(c, enc, col, &t_, UINT64_MAX); (field) = t_ ^ (pred); } while (0)

/* n bytes at p in a byte column. Decoding writes p[0..n): the caller has
 * checked the room. */
static inline __attribute__((always_inline)) void cbytes(struct pk *c, bool enc, int col,
							 uint8_t *p, size_t n)
{
	if (!n || c->bad)
		return;
	if (enc) { /* room reserved, as for push() */
		struct ecol *e = &c->P->col[col];
		memcpy(e->b + e->n, p, n);
		e->n += n;
		return;
	}
	struct dcol *d = &c->U->col[col];
	if (d->count - d->pos < n) {
		fail(c, "column '%s' is exhausted", col_name[col]);
		return;
	}
	if (d->width)
		memcpy(p, d->base + d->pos, n);
	else
		memset(p, 0, n);
	d->pos += n;
}

/* ------------------------------------------------------------ dictionaries */

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	const size_t len = n;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
	while (n >= 8) {
		uint64_t x;
		memcpy(&x, p, 8);
		h = (h ^ x) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	/* the last 0..7 bytes in whole loads (a memcpy of n bytes into x
	 * compiles to byte stores and a stalled load) */
	uint64_t x = 0;
	if (n && len >= 8) {
		memcpy(&x, p + n - 8, 8); /* overlaps the bytes hashed above */
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		x = a | (uint64_t)b << 32;
	} else if (n) {
		x = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
	}
	h = (h ^ x) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return (uint32_t)(h >> 17) & ((1u << HASH_BITS) - 1);
}

/* Room for one more entry in d; false (c->bad) on OOM. Out of line:
 * rare, and dict_add() is inlined where strings are coded. */
static __attribute__((noinline)) bool dict_grow(struct pk *c, struct dict *d)
{
	size_t cap = d->cap ? d->cap * 2 : 1024;
	const uint8_t **np = realloc(d->p, cap * sizeof(*np));
	if (np)
		d->p = np;
	uint32_t *nl = np ? realloc(d->len, cap * sizeof(*nl)) : NULL;
	if (nl)
		d->len = nl;
	if (!np || !nl) {
		fail(c, "out of memory");
		return false;
	}
	d->cap = cap;
	return true;
}

/* Append a string to dictionary di (both sides, enc as in cu(); hash: its
 * slot in the encoder's cache). */
static inline __attribute__((always_inline)) void dict_add(struct pk *c, bool enc, int di,
							   const uint8_t *p, size_t len,
							   uint32_t hash)
{
	struct dict *d = &c->m->d[di];
	if (d->n >= DICT_MAX)
		return;
	if (d->n == d->cap && !dict_grow(c, d))
		return;
	d->p[d->n] = p;
	d->len[d->n] = (uint32_t)len;
	d->n++;
	if (enc) {
		c->P->hslot[di][hash] = (uint32_t)d->n;
		c->P->hused[di][hash / 64] |= 1ull << (hash % 64);
	}
}

/* a[0..n) == b[0..n): 8 bytes a step, the last 8 overlapping (the strings
 * are short: the libc call cost more than the compare; pack 3 % faster) */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t u, v;
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&u, a + i, 8);
		memcpy(&v, b + i, 8);
		if (u != v)
			return false;
	}
	memcpy(&u, a + n - 8, 8);
	memcpy(&v, b + n - 8, 8);
	return u == v;
}

/* Encoder: the reference r (>= 1) of an equal string in dictionary di, or
 * 0; *hash: its cache slot, for dict_add(). */
static inline __attribute__((always_inline)) uint64_t dict_find(struct pk *c, int di,
								 const uint8_t *p, size_t len,
								 uint32_t *hash)
{
	struct dict *d = &c->m->d[di];
	uint32_t h = hash_bytes(p, len);
	*hash = h;
	if (!(c->P->hused[di][h / 64] >> (h % 64) & 1))
		return 0;
	uint32_t e = c->P->hslot[di][h];
	if (e && e <= d->n && d->len[e - 1] == len && same_bytes(d->p[e - 1], p, len))
		return d->n - (e - 1);
	return 0;
}

/* Decoder: the entry of reference r (>= 1) in dictionary di, or -1. */
static long dict_ref(struct pk *c, int di, uint64_t r)
{
	struct dict *d = &c->m->d[di];
	if (r > d->n) {
		fail(c, "string reference %llu beyond the %zu strings so far",
		     (unsigned long long)r, d->n);
		return -1;
	}
	return (long)(d->n - (size_t)r);
}

static void recent_add(struct model *m, const uint8_t *p, size_t n)
{
	if (m->nrecent < NRECENT)
		m->nrecent++;
	memmove(&m->recent[1], &m->recent[0], (m->nrecent - 1) * sizeof(m->recent[0]));
	m->recent[0].p = p;
	m->recent[0].len = n;
}

/* ------------------------------------------------------------ strings */

/* How many bytes a[0..lim) and b[0..lim) have in common at the start;
 * 8 bytes a step (this is most of the encoder's time on paths). */
static size_t common_prefix(const uint8_t *a, const uint8_t *b, size_t lim)
{
	size_t x = 0;
#ifdef __SSE2__
	/* 16 bytes a step first: the prefixes shared are ~30 bytes long */
	while (x + 16 <= lim) {
		__m128i u = _mm_loadu_si128((const __m128i *)(const void *)(a + x));
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + x));
		unsigned ne = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(u, v)) & 0xffffu;
		if (ne)
			return x + (size_t)__builtin_ctz(ne);
		x += 16;
	}
#endif
	while (x + 8 <= lim) {
		uint64_t u, v;
		memcpy(&u, a + x, 8);
		memcpy(&v, b + x, 8);
		if (u != v) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return x + ((size_t)__builtin_ctzll(u ^ v) >> 3);
#else
			break;
#endif
		}
		x += 8;
	}
	while (x < lim && a[x] == b[x])
		x++;
	return x;
}

static void enc_path(struct pk *c, const uint8_t *p, size_t n)
{
	struct model *m = c->m;
	uint32_t h, th;
	uint64_t r = dict_find(c, D_PATH, p, n, &h);
	push(c, C_PREF, r);
	if (!r) {
		/* the longest prefix of whole components shared with one of
		 * the recent paths */
		size_t k = 0, from = 0;
		for (unsigned j = 0; j < m->nrecent; j++) {
			const uint8_t *q = m->recent[j].p;
			size_t lim = m->recent[j].len < n ? m->recent[j].len : n;
			size_t x = common_prefix(q, p, lim);
			if (x <= k)
				continue; /* back to its last '/', not longer either */
			while (x && p[x - 1] != '/')
				x--;
			if (x > k) {
				k = x;
				from = j;
			}
		}
		push(c, C_PPFX, k);
		if (k)
			push(c, C_PFROM, from);
		/* head components until the rest is a known path end */
		size_t ends[MAX_HEAD], ne = 0, i = k;
		uint32_t sh[MAX_HEAD + 1];
		uint64_t sr = 0;
		while (i < n) {
			sr = dict_find(c, D_SUF, p + i, n - i, &sh[ne]);
			if (sr)
				break;
			const uint8_t *sl = memchr(p + i, '/', n - i);
			size_t e = sl && ne + 1 < MAX_HEAD ? (size_t)(sl - p) + 1 : n;
			ends[ne++] = e;
			i = e;
		}
		push(c, C_PNTOK, ne);
		size_t s0 = k;
		for (size_t j = 0; j < ne; j++) {
			size_t e = ends[j];
			uint64_t tr = dict_find(c, D_TOK, p + s0, e - s0, &th);
			push(c, C_PTOK, tr);
			if (!tr) {
				push(c, C_PLEN, e - s0);
				cbytes(c, true, C_PSTR, (uint8_t *)(uintptr_t)(p + s0), e - s0);
			}
			dict_add(c, true, D_TOK, p + s0, e - s0, th);
			s0 = e;
		}
		push(c, C_PSUF, sr);
		s0 = k;
		for (size_t j = 0; j < ne; j++) {
			dict_add(c, true, D_SUF, p + s0, n - s0, sh[j]);
			s0 = ends[j];
		}
		if (sr)
			dict_add(c, true, D_SUF, p + i, n - i, sh[ne]);
	}
	dict_add(c, true, D_PATH, p, n, h);
	recent_add(m, p, n);
}

/* Decode a PATH string into p[0..room); returns its length (0 and c->bad
 * on failure). */
static size_t dec_path(struct pk *c, uint8_t *p, size_t room)
{
	struct model *m = c->m;
	struct dict *w = &m->d[D_PATH], *t = &m->d[D_TOK], *sf = &m->d[D_SUF];
	uint64_t r = pull(c, C_PREF);
	size_t n;
	if (c->bad)
		return 0;
	if (r) {
		long i = dict_ref(c, D_PATH, r);
		if (i < 0)
			return 0;
		n = w->len[i];
		if (n > room) {
			fail(c, "string of %zu bytes does not fit (%zu bytes left)", n, room);
			return 0;
		}
		memcpy(p, w->p[i], n);
		goto done;
	}
	uint64_t k = pull(c, C_PPFX), from = k ? pull(c, C_PFROM) : 0;
	if (c->bad)
		return 0;
	if (k && from >= m->nrecent) {
		fail(c, "prefix of recent path %llu of %u", (unsigned long long)from, m->nrecent);
		return 0;
	}
	if (k && (k > m->recent[from].len || k > room)) {
		fail(c, "prefix of %llu bytes of a path of %zu (%zu bytes left)",
		     (unsigned long long)k, m->recent[from].len, room);
		return 0;
	}
	if (k)
		memcpy(p, m->recent[from].p, (size_t)k);
	n = (size_t)k;
	uint64_t ntok = pull(c, C_PNTOK);
	if (c->bad)
		return 0;
	if (ntok > MAX_HEAD) {
		fail(c, "%llu path components (at most %d)", (unsigned long long)ntok, MAX_HEAD);
		return 0;
	}
	size_t starts[MAX_HEAD];
	for (unsigned j = 0; j < ntok; j++) {
		uint64_t tr = pull(c, C_PTOK);
		size_t tl;
		if (c->bad)
			return 0;
		if (tr) {
			long i = dict_ref(c, D_TOK, tr);
			if (i < 0)
				return 0;
			tl = t->len[i];
			if (tl > room - n) {
				fail(c, "path component of %zu bytes does not fit (%zu bytes left)",
				     tl, room - n);
				return 0;
			}
			memcpy(p + n, t->p[i], tl);
		} else {
			uint64_t x = pull(c, C_PLEN);
			if (c->bad)
				return 0;
			if (x == 0 || x > room - n) {
				fail(c, "path component of %llu bytes (%zu bytes left)",
				     (unsigned long long)x, room - n);
				return 0;
			}
			tl = (size_t)x;
			cbytes(c, false, C_PSTR, p + n, tl);
			if (c->bad)
				return 0;
		}
		dict_add(c, false, D_TOK, p + n, tl, 0);
		starts[j] = n;
		n += tl;
	}
	uint64_t sr = pull(c, C_PSUF);
	size_t rest = n;
	if (c->bad)
		return 0;
	if (sr) {
		long i = dict_ref(c, D_SUF, sr);
		if (i < 0)
			return 0;
		size_t sl = sf->len[i];
		if (sl > room - n) {
			fail(c, "path end of %zu bytes does not fit (%zu bytes left)", sl, room - n);
			return 0;
		}
		memcpy(p + n, sf->p[i], sl);
		n += sl;
	}
	for (unsigned j = 0; j < ntok; j++)
		dict_add(c, false, D_SUF, p + starts[j], n - starts[j], 0);
	if (sr)
		dict_add(c, false, D_SUF, p + rest, n - rest, 0);
done:
	dict_add(c, false, D_PATH, p, n, 0);
	recent_add(m, p, n);
	return c->bad ? 0 : n;
}

/* A 16-byte comm at p. */
static inline __attribute__((always_inline)) void ccomm(struct pk *c, bool enc, uint8_t *p)
{
	struct dict *d = &c->m->d[D_COMM];
	uint32_t h = 0;
	if (c->bad)
		return;
	if (enc) {
		uint64_t r = dict_find(c, D_COMM, p, COMM_LEN, &h);
		push(c, C_CREF, r);
		if (!r) {
			size_t k = 0;
			if (d->n)
				while (k < COMM_LEN && d->p[d->n - 1][k] == p[k])
					k++;
			push(c, C_CPFX, k);
			cbytes(c, true, C_CSTR, p + k, COMM_LEN - k);
		}
		dict_add(c, true, D_COMM, p, COMM_LEN, h);
		return;
	}
	uint64_t r = pull(c, C_CREF);
	if (c->bad)
		return;
	if (r) {
		long i = dict_ref(c, D_COMM, r);
		if (i < 0)
			return;
		memcpy(p, d->p[i], COMM_LEN);
	} else {
		uint64_t k = pull(c, C_CPFX);
		if (c->bad)
			return;
		if (k > (d->n ? COMM_LEN : 0)) {
			fail(c, "comm shares %llu bytes with the last one", (unsigned long long)k);
			return;
		}
		if (k)
			memcpy(p, d->p[d->n - 1], (size_t)k);
		cbytes(c, false, C_CSTR, p + k, COMM_LEN - (size_t)k);
		if (c->bad)
			return;
	}
	dict_add(c, false, D_COMM, p, COMM_LEN, 0);
}

/* ------------------------------------------------------------ records */

static struct tid_slot *tid_slot(struct model *m, uint32_t tid)
{
	struct tid_slot *s = &m->tids[(uint32_t)(tid * 0x9E3779B1u) >> 24];
	if (!s->used || s->tid != tid) {
		s->used = true;
		s->tid = tid;
		s->ptr = m->ptr;
		s->ret = 0;
	}
	return s;
}

/* A kind's fixed size (0: no kind of the format), from a table: one load
 * where the switch was a jump (twice a record on the encoder's side) */
static const uint8_t fixed_sizes[256] = {
	[LP_EV_SYSCALL] = sizeof(struct lp_ev_syscall),
	[LP_EV_FORK] = sizeof(struct lp_ev_fork),
	[LP_EV_EXEC] = sizeof(struct lp_ev_exec),
	[LP_EV_EXEC_ARGV] = sizeof(struct lp_ev_exec_argv),
	/* cpu_ns came later: it rides in the [tail] bytes (both sizes code) */
	[LP_EV_EXIT] = offsetof(struct lp_ev_exit, cpu_ns),
	[LP_EV_FD_IO] = sizeof(struct lp_ev_fd_io),
	[LP_REC_PROC_SEED] = sizeof(struct lp_rec_proc_seed),
	[LP_REC_FD_SEED] = sizeof(struct lp_rec_fd_seed),
	[LP_REC_PROGRESS] = sizeof(struct lp_rec_progress),
	[LP_REC_TRACE_PID] = sizeof(struct lp_rec_trace_pid),
	[LP_REC_CONTEXT_FILE] = sizeof(struct lp_rec_context_file),
};

static inline size_t fixed_size(uint8_t kind)
{
	return fixed_sizes[kind];
}

union fixed {
	struct lp_hdr h;
	struct lp_ev_syscall sc;
	struct lp_ev_fork fork;
	struct lp_ev_exec exec;
	struct lp_ev_exec_argv argv;
	struct lp_ev_exit exit;
	struct lp_ev_fd_io io;
	struct lp_rec_proc_seed seed;
	struct lp_rec_fd_seed fds;
	struct lp_rec_progress prog;
	struct lp_rec_trace_pid tp;
	struct lp_rec_context_file ctx;
	uint8_t b[128];
};

/* n bytes from src to dst, n one of the kinds' fixed sizes (or anything
 * else, slower): a copy of a size known here compiles to a few vector
 * moves, where the copy of a size known at run time was a `rep movs`,
 * slow to start (a fifth of the encoder's time in code_record) */
static inline void copy_fixed(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 24: memcpy(dst, src, 24); break;
	case 32: memcpy(dst, src, 32); break;
	case 40: memcpy(dst, src, 40); break;
	case 48: memcpy(dst, src, 48); break;
	case 56: memcpy(dst, src, 56); break;
	case 88: memcpy(dst, src, 88); break;
	case 112: memcpy(dst, src, 112); break;
	default: memcpy(dst, src, n); break;
	}
}

/* Encoder: does the record keep to its kind's layout (fixed part, then the
 * strings and data its length fields declare, inside hdr.size)? */
static bool fits_layout(const union fixed *f, size_t size)
{
	size_t fx = fixed_size(f->h.kind), v = 0;
	if (!fx || size < fx)
		return false;
	switch (f->h.kind) {
	case LP_EV_SYSCALL:
		if (f->sc.nstr > LP_SYSCALL_MAX_STRS)
			return false;
		for (unsigned i = 0; i < f->sc.nstr; i++)
			v += f->sc.str_len[i];
		break;
	case LP_EV_EXEC: v = f->exec.filename_len; break;
	case LP_EV_EXEC_ARGV: v = f->argv.data_len; break;
	case LP_REC_PROC_SEED:
		v = (size_t)f->seed.exe_len + f->seed.cwd_len + f->seed.cmdline_len;
		break;
	case LP_REC_FD_SEED: v = f->fds.path_len; break;
	case LP_REC_PROGRESS: v = f->prog.len; break;
	case LP_REC_CONTEXT_FILE: v = f->ctx.path_len; break;
	default: break;
	}
	return v <= size - fx;
}

/* A PATH field at rec + *off whose length is the u16 *len. Decoding
 * checks the room left (limit - *off) and sets *len. */
static inline __attribute__((always_inline)) void rpath(struct pk *c, bool enc, uint8_t *rec,
							size_t *off, size_t limit, uint16_t *len)
{
	size_t n;
	if (c->bad)
		return;
	if (enc) {
		n = *len;
		enc_path(c, rec + *off, n);
	} else {
		n = dec_path(c, rec + *off, limit > *off ? limit - *off : 0);
		if (c->bad)
			return;
		if (n > UINT16_MAX) {
			fail(c, "string of %zu bytes", n);
			return;
		}
		*len = (uint16_t)n;
	}
	*off += n;
}

/* A comm field: 16 bytes at rec + at, inside the fixed part; field: its
 * copy in the fixed part being coded. (The dictionary keeps pointers to
 * where the bytes stay: the input record, or the output record.) */
static inline __attribute__((always_inline)) void rcomm(struct pk *c, bool enc, uint8_t *rec,
							size_t at, char *field)
{
	ccomm(c, enc, rec + at);
	if (!enc && !c->bad)
		memcpy(field, rec + at, COMM_LEN);
}

/* n bytes of a byte column at rec + *off (decoding checks the room). */
static inline __attribute__((always_inline)) void rbytes(struct pk *c, bool enc, int col,
							 uint8_t *rec, size_t *off, size_t limit,
							 size_t n)
{
	if (c->bad)
		return;
	if (!enc && (limit < *off || n > limit - *off)) {
		fail(c, "%zu bytes of '%s' do not fit (%zu bytes left)", n, col_name[col],
		     limit > *off ? limit - *off : 0);
		return;
	}
	cbytes(c, enc, col, rec + *off, n);
	*off += n;
}

static inline __attribute__((always_inline)) void
code_syscall(struct pk *c, bool enc, struct lp_ev_syscall *e, uint64_t form, uint8_t *rec,
	     size_t *off, size_t limit)
{
	struct model *m = c->m;
	if (form == F_SC_BIG)
		CU32(C_SC, e->h.aux);
	unsigned sc = e->h.aux & (SC_SLOTS - 1);
	CD64(C_RET, e->ret, m->last_ret[sc]);
	m->last_ret[sc] = (uint64_t)e->ret;
	CU64(C_LAT, e->lat_ns);
	/* nstr and str_arg[] in bytes 0-4, ^ the last ones of this syscall */
	uint64_t t = e->nstr;
	for (int i = 0; i < LP_SYSCALL_MAX_STRS; i++)
		t |= (uint64_t)e->str_arg[i] << (8 * (i + 1));
	t ^= m->last_sarg[sc];
	cu(c, enc, C_SARG, &t, (1ull << 40) - 1);
	t ^= m->last_sarg[sc];
	m->last_sarg[sc] = t;
	if (c->bad)
		return;
	if ((t & 0xff) > LP_SYSCALL_MAX_STRS) {
		fail(c, "%u strings (at most %d)", (unsigned)(t & 0xff), LP_SYSCALL_MAX_STRS);
		return;
	}
	e->nstr = (uint8_t)t;
	for (int i = 0; i < LP_SYSCALL_MAX_STRS; i++)
		e->str_arg[i] = (uint8_t)(t >> (8 * (i + 1)));
	CU8(C_PAD, e->pad);
	for (int i = e->nstr; i < LP_SYSCALL_MAX_STRS; i++)
		CU16(C_PAD, e->str_len[i]);
	uint64_t p8;
	uint16_t p2;
	memcpy(&p8, e->pad2, 8);
	memcpy(&p2, e->pad2 + 8, 2);
	CU64(C_PAD, p8);
	CU16(C_PAD, p2);
	memcpy(e->pad2, &p8, 8);
	memcpy(e->pad2 + 8, &p2, 2);

	bool isstr[6] = { false };
	for (int i = 0; i < e->nstr; i++)
		if (e->str_arg[i] < 6)
			isstr[e->str_arg[i]] = true;
	struct tid_slot *ts = tid_slot(m, e->h.tid);
	uint64_t *last = m->last_arg[sc];
	for (int i = 0; i < 6; i++) {
		/* a string's pointer to [ptr] (^ the thread's last), another
		 * argument to [arg i] (d of this syscall's last): the column,
		 * the value and the state chosen without a branch (which
		 * arguments are strings changes with every other syscall) */
		bool str = isstr[i];
		int col = str ? C_PTR : C_ARG0 + i;
		if (enc) {
			uint64_t a = e->args[i];
			push(c, col, str ? a ^ ts->ptr : lp_zigzag64(a - last[i]));
		} else {
			uint64_t x = pull(c, col);
			e->args[i] = str ? x ^ ts->ptr : last[i] + lp_unzigzag64(x);
		}
		uint64_t a = e->args[i];
		ts->ptr = str ? a : ts->ptr;
		m->ptr = str ? a : m->ptr;
		last[i] = str ? last[i] : a;
	}
	ts->ret = (uint64_t)e->ret;
	for (int i = 0; i < e->nstr; i++)
		rpath(c, enc, rec, off, limit, &e->str_len[i]);
}

/*
 * Code one record. Encoding: rec is the record (size bytes, at least an
 * lp_hdr). Decoding: rec is where it goes, with `room` bytes there. Returns
 * the record's size, 0 on failure (c->bad set).
 */
static inline __attribute__((always_inline)) size_t code_record(struct pk *c, const bool enc,
								 uint8_t *rec, size_t size,
								 size_t room)
{
	struct model *m = c->m;
	union fixed f;
	size_t fx = 0;
	uint64_t form = F_ESC;

	if (enc) {
		memcpy(&f, rec, sizeof(struct lp_hdr));
		fx = fixed_size(f.h.kind);
		if (fx && size >= fx)
			copy_fixed(&f, rec, fx);
		if (fx && fits_layout(&f, size)) {
			uint8_t k = f.h.kind;
			if (k == LP_EV_SYSCALL)
				form = f.h.aux < F_SC_BIG - F_SC ? F_SC + f.h.aux : F_SC_BIG;
			else if (k < LP_REC_PROC_SEED)
				form = F_KIND + k - LP_EV_FORK;
			else
				form = F_REC + k - LP_REC_PROC_SEED;
		} else {
			fx = sizeof(struct lp_hdr);
		}
		c->kind = f.h.kind;
	} else {
		memset(&f, 0, sizeof(f));
	}

	cu(c, enc, C_FORM, &form, 255);
	if (form == F_ESC) {
		uint64_t k = f.h.kind;
		cu(c, enc, C_ESC, &k, 255);
		f.h.kind = (uint8_t)k;
	} else if (form >= F_SC) {
		f.h.kind = LP_EV_SYSCALL;
		if (form < F_SC_BIG)
			f.h.aux = (uint32_t)(form - F_SC);
	} else if (form >= F_REC) {
		f.h.kind = (uint8_t)(LP_REC_PROC_SEED + form - F_REC);
	} else {
		f.h.kind = (uint8_t)(LP_EV_FORK + form - F_KIND);
	}
	if (c->bad)
		return 0;
	if (!enc) {
		c->kind = form == F_ESC ? 0 : f.h.kind;
		c->kind_known = true;
		fx = form == F_ESC ? sizeof(struct lp_hdr) : fixed_size(f.h.kind);
		if (!fx) {
			fail(c, "form %llu is no kind", (unsigned long long)form);
			return 0;
		}
		if (room > REC_MAX)
			room = REC_MAX;
		if (room < fx) {
			fail(c, "no room for the record (%zu bytes left)", room);
			return 0;
		}
	}

	/* the header */
	CU8(C_FLAGS, f.h.flags);
	bool first = c->rec_no == 0;
	uint64_t j = NPAIR;
	if (enc)
		for (unsigned i = 0; i < m->npair; i++)
			if (same_pair(&m->pair[i], f.h.tgid, f.h.tid)) {
				j = i;
				break;
			}
	cu(c, enc, C_THREAD, &j, NPAIR);
	if (c->bad)
		return 0;
	if (j < NPAIR) {
		if (j >= m->npair) {
			fail(c, "thread %llu of %u", (unsigned long long)j, m->npair);
			return 0;
		}
		f.h.tgid = m->pair[j].tgid;
		f.h.tid = m->pair[j].tid;
	} else {
		CD32(first ? C_BASE : C_TGID, f.h.tgid, m->tgid);
		CD32(C_TID, f.h.tid, f.h.tgid);
		j = m->npair < NPAIR ? m->npair++ : NPAIR - 1;
	}
	if (j) /* (mostly the same thread again) */
		memmove(&m->pair[1], &m->pair[0], (size_t)j * sizeof(m->pair[0]));
	m->pair[0].tgid = f.h.tgid;
	m->pair[0].tid = f.h.tid;
	CD64(first ? C_BASE : C_TS, f.h.ts, m->ts);
	m->tgid = f.h.tgid;
	m->prev_ts = m->ts;
	m->ts = f.h.ts;
	if (c->bad)
		return 0;

	/* decoding: the strings and data go straight to rec + fx on */
	size_t limit = enc ? size : room;
	size_t off = fx;

	if (form == F_ESC) {
		uint64_t sz = size;
		CU32(C_AUX, f.h.aux);
		cu(c, enc, C_ESC, &sz, REC_MAX);
		if (c->bad)
			return 0;
		if (sz < sizeof(struct lp_hdr)) {
			fail(c, "escaped record of %llu bytes", (unsigned long long)sz);
			return 0;
		}
		rbytes(c, enc, C_RAW, rec, &off, limit, (size_t)sz - sizeof(struct lp_hdr));
		if (c->bad)
			return 0;
		if (!enc) {
			f.h.size = (uint16_t)sz;
			memcpy(rec, &f.h, sizeof(f.h));
		}
		return (size_t)sz;
	}

	switch (f.h.kind) {
	case LP_EV_SYSCALL:
		code_syscall(c, enc, &f.sc, form, rec, &off, limit);
		break;
	case LP_EV_FORK:
		CD32(C_AUX, f.fork.h.aux, f.h.tgid);
		rcomm(c, enc, rec, offsetof(struct lp_ev_fork, child_comm), f.fork.child_comm);
		break;
	case LP_EV_EXEC:
		CD32(C_AUX, f.exec.h.aux, f.h.tgid);
		CD32(C_MISC, f.exec.ppid, f.h.tgid);
		CU16(C_PAD, f.exec.pad);
		rcomm(c, enc, rec, offsetof(struct lp_ev_exec, comm), f.exec.comm);
		rpath(c, enc, rec, &off, limit, &f.exec.filename_len);
		break;
	case LP_EV_EXEC_ARGV:
		CU32(C_AUX, f.argv.h.aux);
		CD32(C_MISC, f.argv.dirfd, 0);
		CU16(C_MISC, f.argv.argc);
		CU16(C_MISC, f.argv.data_len);
		rbytes(c, enc, C_ARGV, rec, &off, limit, f.argv.data_len);
		break;
	case LP_EV_EXIT:
		CU32(C_AUX, f.exit.h.aux);
		CU32(C_MISC, f.exit.counts.chown);
		CU32(C_MISC, f.exit.counts.chmod);
		CU32(C_MISC, f.exit.counts.utimens);
		CU32(C_MISC, f.exit.counts.stat_ok);
		rcomm(c, enc, rec, offsetof(struct lp_ev_exit, comm), f.exit.comm);
		break;
	case LP_EV_FD_IO: {
		struct lp_ev_fd_io *e = &f.io;
		CD32(C_FD, e->h.aux, tid_slot(m, e->h.tid)->ret);
		CD64(C_LAST, e->last_ts, e->h.ts);
		CD64(C_FIRST, e->first_ts, m->prev_ts);
		CU64(C_RB, e->rbytes);
		CU64(C_WB, e->wbytes);
		CU32(C_RCALLS, e->rcalls);
		CU32(C_WCALLS, e->wcalls);
		/* one call: its time is last_ts - first_ts */
		CD64(C_RNS, e->rns, e->rcalls == 1 ? e->last_ts - e->first_ts : 0);
		CD64(C_WNS, e->wns, e->wcalls == 1 ? e->last_ts - e->first_ts : 0);
		CU32(C_MISC, e->io_flags);
		CU32(C_PAD, e->fd_mode);
		break;
	}
	case LP_REC_PROC_SEED:
		CD32(C_AUX, f.seed.h.aux, f.h.tgid);
		CU16(C_MISC, f.seed.cmdline_len);
		CU16(C_MISC, f.seed.argc);
		rcomm(c, enc, rec, offsetof(struct lp_rec_proc_seed, comm), f.seed.comm);
		rpath(c, enc, rec, &off, limit, &f.seed.exe_len);
		rpath(c, enc, rec, &off, limit, &f.seed.cwd_len);
		rbytes(c, enc, C_ARGV, rec, &off, limit, f.seed.cmdline_len);
		break;
	case LP_REC_FD_SEED:
		CU32(C_AUX, f.fds.h.aux);
		for (int i = 0; i < 3; i++)
			CU16(C_PAD, f.fds.pad[i]);
		rpath(c, enc, rec, &off, limit, &f.fds.path_len);
		break;
	case LP_REC_PROGRESS:
		CU32(C_AUX, f.prog.h.aux);
		CU16(C_MISC, f.prog.len);
		CU16(C_PAD, f.prog.flags);
		for (int i = 0; i < 2; i++)
			CU16(C_PAD, f.prog.pad[i]);
		rbytes(c, enc, C_TEXT, rec, &off, limit, f.prog.len);
		break;
	case LP_REC_TRACE_PID:
		CU32(C_AUX, f.tp.h.aux);
		rcomm(c, enc, rec, offsetof(struct lp_rec_trace_pid, comm), f.tp.comm);
		break;
	case LP_REC_CONTEXT_FILE:
		CU32(C_AUX, f.ctx.h.aux);
		CU64(C_MISC, f.ctx.size);
		CZ64(C_MISC, f.ctx.mtime_ns);
		CU32(C_MISC, f.ctx.mode);
		CU16(C_PAD, f.ctx.pad);
		rpath(c, enc, rec, &off, limit, &f.ctx.path_len);
		break;
	default:
		fail(c, "no layout"); /* not reached: forms map to known kinds */
		return 0;
	}
	if (c->bad)
		return 0;

	/* bytes after the strings, inside hdr.size */
	uint64_t tail = enc ? size - off : 0;
	cu(c, enc, C_TAIL, &tail, REC_MAX);
	rbytes(c, enc, C_RAW, rec, &off, limit, (size_t)tail);
	if (c->bad)
		return 0;
	if (!enc) {
		f.h.size = (uint16_t)off; /* off <= limit <= REC_MAX */
		copy_fixed(rec, &f, fx);
	}
	return off;
}

/* The two copies of code_record() (see cu()). */
static size_t code_record_enc(struct pk *c, const uint8_t *rec, size_t size)
{
	return code_record(c, true, (uint8_t *)(uintptr_t)rec, size, 0);
}

static size_t code_record_dec(struct pk *c, uint8_t *rec, size_t room)
{
	return code_record(c, false, rec, 0, room);
}

/* ------------------------------------------------------------ model */

static void model_reset(struct model *m)
{
	m->tgid = 0;
	m->ts = m->prev_ts = m->ptr = 0;
	m->npair = 0;
	m->nrecent = 0;
	memset(m->tids, 0, sizeof(m->tids));
	memset(m->last_arg, 0, sizeof(m->last_arg));
	memset(m->last_ret, 0, sizeof(m->last_ret));
	memset(m->last_sarg, 0, sizeof(m->last_sarg));
	for (int i = 0; i < NDICT; i++)
		m->d[i].n = 0;
}

static void model_free(struct model *m)
{
	for (int i = 0; i < NDICT; i++) {
		free(m->d[i].p);
		free(m->d[i].len);
	}
}

/* ------------------------------------------------------------ encoder */

struct lp_packer *lp_packer_new(void)
{
	struct lp_packer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	for (int i = 0; i < NDICT; i++) {
		p->hslot[i] = calloc((size_t)1 << HASH_BITS, sizeof(uint32_t));
		if (!p->hslot[i]) {
			lp_packer_free(p);
			return NULL;
		}
	}
	return p;
}

void lp_packer_free(struct lp_packer *p)
{
	if (!p)
		return;
	for (int i = 0; i < NCOL; i++) {
		free(p->col[i].v);
		free(p->col[i].b);
	}
	for (int i = 0; i < NDICT; i++)
		free(p->hslot[i]);
	model_free(&p->m);
	libdeflate_free_compressor(p->ldc);
	lp_rle_deflate_free(&p->rle);
	free(p->buf);
	free(p);
}

static void add_seg(struct lp_packer *P, size_t end, bool bytes, unsigned id)
{
	if (P->nseg == MAX_SEG) {
		P->seg[P->nseg - 1].end = end; /* not reached: 46 x 8 + 1 */
		return;
	}
	P->seg[P->nseg].end = end;
	P->seg[P->nseg].bytes = bytes;
	P->seg[P->nseg].id = (uint16_t)id;
	P->nseg++;
}

/* v[0..n) or'ed, eight at a time with SSE2, else four (-O2 does not
 * vectorize the plain loop) */
static uint64_t or_all(const uint64_t *v, size_t n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t k = 0;
#ifdef __SSE2__
	__m128i x0 = _mm_setzero_si128(), x1 = x0, x2 = x0, x3 = x0;
	for (; k + 8 <= n; k += 8) {
		x0 = _mm_or_si128(x0, _mm_loadu_si128((const __m128i *)(const void *)(v + k)));
		x1 = _mm_or_si128(x1, _mm_loadu_si128((const __m128i *)(const void *)(v + k + 2)));
		x2 = _mm_or_si128(x2, _mm_loadu_si128((const __m128i *)(const void *)(v + k + 4)));
		x3 = _mm_or_si128(x3, _mm_loadu_si128((const __m128i *)(const void *)(v + k + 6)));
	}
	x0 = _mm_or_si128(_mm_or_si128(x0, x1), _mm_or_si128(x2, x3));
	uint64_t lanes[2];
	memcpy(lanes, &x0, sizeof(lanes));
	a = lanes[0] | lanes[1];
#endif
	for (; k + 4 <= n; k += 4) {
		a |= v[k];
		b |= v[k + 1];
		c |= v[k + 2];
		d |= v[k + 3];
	}
	for (; k < n; k++)
		a |= v[k];
	return a | b | c | d;
}

/* x[q] byte k <-> x[k] byte q (little-endian bytes): 8 values become
 * their 8 byte planes, in three rounds of swaps of 1-, 2- and 4-byte
 * halves between rows */
#define SWAP_HALVES(a, b, sh, mask)                              \
	do {                                                      \
		uint64_t t_ = (((a) >> (sh)) ^ (b)) & (mask);     \
		(b) ^= t_;                                        \
		(a) ^= t_ << (sh);                                \
	} while (0)

static inline void transpose8(uint64_t x[8])
{
	const uint64_t m1 = 0x00ff00ff00ff00ffull, m2 = 0x0000ffff0000ffffull,
		       m4 = 0x00000000ffffffffull;
	SWAP_HALVES(x[0], x[1], 8, m1);
	SWAP_HALVES(x[2], x[3], 8, m1);
	SWAP_HALVES(x[4], x[5], 8, m1);
	SWAP_HALVES(x[6], x[7], 8, m1);
	SWAP_HALVES(x[0], x[2], 16, m2);
	SWAP_HALVES(x[1], x[3], 16, m2);
	SWAP_HALVES(x[4], x[6], 16, m2);
	SWAP_HALVES(x[5], x[7], 16, m2);
	SWAP_HALVES(x[0], x[4], 32, m4);
	SWAP_HALVES(x[1], x[5], 32, m4);
	SWAP_HALVES(x[2], x[6], 32, m4);
	SWAP_HALVES(x[3], x[7], 32, m4);
}

/* The same for values of 4 bytes or fewer, two to a row: x[q] = v[q] |
 * v[q + 4] << 32 (q < 4) become their 4 byte planes, each 32-bit half a
 * 4 x 4 transposition (two rounds of swaps where 8 values take three) */
static inline void transpose4x2(uint64_t x[4])
{
	const uint64_t m1 = 0x00ff00ff00ff00ffull, m2 = 0x0000ffff0000ffffull;
	SWAP_HALVES(x[0], x[1], 8, m1);
	SWAP_HALVES(x[2], x[3], 8, m1);
	SWAP_HALVES(x[0], x[2], 16, m2);
	SWAP_HALVES(x[1], x[3], 16, m2);
}

#undef SWAP_HALVES

/* Byte k of v[0..n) to out[k * n + j], k < w. Eight values at a time
 * transposed into eight 8-byte plane pieces (a store each, where a byte
 * at a time took 8 x w), the rest one value at a time. */
static void split_planes(const uint64_t *v, size_t n, unsigned w, uint8_t *out)
{
	size_t j0 = 0;
	if (w == 1) { /* most columns */
		size_t j = 0;
#ifdef __SSE2__
		/* 16 values (each < 256) to 16 bytes: three rounds of packing
		 * 16-bit lanes to bytes, exact below 256 (-O2 left the plain
		 * loop scalar) */
		for (; j + 16 <= n; j += 16) {
			__m128i x[8];
			for (unsigned q = 0; q < 8; q++)
				x[q] = _mm_loadu_si128((const __m128i *)(const void *)(v + j + 2 * q));
			for (unsigned q = 0; q < 4; q++)
				x[q] = _mm_packus_epi16(x[2 * q], x[2 * q + 1]);
			for (unsigned q = 0; q < 2; q++)
				x[q] = _mm_packus_epi16(x[2 * q], x[2 * q + 1]);
			_mm_storeu_si128((__m128i *)(void *)(out + j), _mm_packus_epi16(x[0], x[1]));
		}
#endif
		for (; j < n; j++)
			out[j] = (uint8_t)v[j];
		return;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (w <= 4) /* (most wider columns) */
		for (; j0 + 8 <= n; j0 += 8) {
			uint64_t y[4];
			for (unsigned k = 0; k < 4; k++)
				y[k] = v[j0 + k] | v[j0 + k + 4] << 32;
			transpose4x2(y);
			for (unsigned k = 0; k < w; k++)
				memcpy(out + k * n + j0, &y[k], 8);
		}
	else
		for (; j0 + 8 <= n; j0 += 8) {
			uint64_t x[8];
			memcpy(x, v + j0, sizeof(x));
			transpose8(x);
			for (unsigned k = 0; k < w; k++)
				memcpy(out + k * n + j0, &x[k], 8);
		}
#endif
	for (size_t j = j0; j < n; j++)
		for (unsigned k = 0; k < w; k++)
			out[k * n + j] = (uint8_t)(v[j] >> (8 * k));
}

/* Room for at least `need` more values in every column (bytes in a byte
 * column); P->room: the least room of any. A record of n bytes adds at
 * most n values to any one column (its fixed fields are fewer than its
 * bytes, and a string adds a few values plus at most one per byte), so
 * with room >= n before each record, less n after it, push() and
 * cbytes() need no check of their own: one test a record instead of one
 * a value. */
static bool reserve(struct lp_packer *P, size_t need)
{
	size_t room = SIZE_MAX;
	if (need < RESERVE_MIN)
		need = RESERVE_MIN;
	for (int i = 0; i < NCOL; i++) {
		struct ecol *e = &P->col[i];
		if (!ecol_grow(e, i >= C_FIRST_BYTES, need))
			return false;
		if (e->cap - e->n < room)
			room = e->cap - e->n;
	}
	P->room = room;
	return true;
}

size_t lp_pack(struct lp_packer *P, const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
	struct pk c = { .enc = true, .P = P, .m = &P->m };
	model_reset(&P->m);
	P->nseg = 0;
	for (int i = 0; i < NCOL; i++) {
		P->col[i].n = 0;
	}
	memset(P->hused, 0, sizeof(P->hused));
	P->room = 0;

	size_t pos = 0, nrec = 0;
	while (pos < len) {
		uint16_t size;
		if (len - pos < sizeof(struct lp_hdr))
			return 0;
		memcpy(&size, raw + pos, sizeof(size));
		if (size < sizeof(struct lp_hdr) || size > len - pos)
			return 0;
		/* only read: the dictionaries keep pointers into raw. The
		 * records were just written by another thread, likely on
		 * another core: asked for ahead of their turn. */
		__builtin_prefetch(raw + pos + 512);
		c.rec_no = (unsigned long)nrec;
		if (size > P->room && !reserve(P, size))
			return 0;
		P->room -= size;
		code_record_enc(&c, raw + pos, size);
		if (c.bad)
			return 0;
		pos += size;
		nrec++;
	}

	/* header and directory */
	unsigned width[NCOL];
	uint8_t dir[1 + 10 + 1 + NCOL * 11];
	size_t o = 0, data = 0;
	dir[o++] = LP_PACK_VERSION;
	o += lp_varint_encode(dir + o, nrec);
	dir[o++] = NCOL;
	for (int i = 0; i < NCOL; i++) {
		struct ecol *e = &P->col[i];
		/* the values or'ed, for the width: here in one pass (a loop
		 * the compiler vectorizes), not as each value is pushed (a
		 * load and a store more per value, in a chain) */
		uint64_t all = 0;
		if (i >= C_FIRST_BYTES) /* width 1 at the first byte not 0 */
			for (size_t k = 0; k < e->n && !all; k++)
				all = e->b[k];
		else
			all = or_all(e->v, e->n);
		unsigned w = 0;
		for (; all; all >>= 8)
			w++;
		width[i] = w;
		o += lp_varint_encode(dir + o, e->n);
		dir[o++] = (uint8_t)w;
		data += e->n * w;
	}
	if (o > cap || data > cap - o)
		return 0;
	memcpy(out, dir, o);
	add_seg(P, o, false, SEG_DIR);
	for (int i = 0; i < NCOL; i++) {
		struct ecol *e = &P->col[i];
		if (!width[i])
			continue;
		if (i >= C_FIRST_BYTES) {
			memcpy(out + o, e->b, e->n);
			o += e->n;
			add_seg(P, o, true, (unsigned)i * 8);
			continue;
		}
		/* one pass over the values, each byte to its plane */
		split_planes(e->v, e->n, width[i], out + o);
		for (unsigned k = 0; k < width[i]; k++) {
			o += e->n;
			add_seg(P, o, false, (unsigned)i * 8 + k);
		}
	}
	return o;
}

size_t lp_pack_block(struct lp_packer *P, const uint8_t *raw, size_t len, uint8_t *out,
		     size_t cap, uint8_t *codec)
{
	if (len > P->buf_cap) {
		uint8_t *b = realloc(P->buf, len);
		if (!b)
			return 0;
		P->buf = b;
		P->buf_cap = len;
	}
	size_t n = lp_pack(P, raw, len, P->buf, len);
	if (!n || n > cap)
		return 0;

	/* deflate it; keep the pack as it is unless that makes it smaller.
	 * The directory and number planes (all but the byte columns, which
	 * come last) each as a block of runs, literals and matches
	 * (deflate_rle.c); the byte columns (strings) by libdeflate. */
	struct lp_rle_deflate *d = &P->rle;
	lp_rle_deflate_start(d, out, n - 1);
	size_t start = 0;
	unsigned i = 0;
	bool probe = P->npack++ % REPROBE == 0;
	while (i < P->nseg && !P->seg[i].bytes) {
		/* small planes next to each other share a block (and its
		 * codes): MERGE_MAX */
		unsigned id = P->seg[i].id, j = i + 1;
		while (j < P->nseg && !P->seg[j].bytes && P->seg[j].end - start <= MERGE_MAX)
			j++;
		size_t plane = P->seg[j - 1].end - start;
		d->search = probe || P->quiet[id] < QUIET_PACKS;
		if (lp_rle_deflate_block(d, P->buf + start, plane) < 0)
			goto stored;
		if (d->matched >= plane / QUIET_SHARE)
			P->quiet[id] = 0;
		else if (P->quiet[id] < QUIET_PACKS)
			P->quiet[id]++;
		start = P->seg[j - 1].end;
		i = j;
	}
	/* the byte columns, all of them in one buffer: libdeflate ends the
	 * stream from a byte boundary */
	if (lp_rle_deflate_align(d) < 0)
		goto stored;
	unsigned bits;
	int nbits;
	size_t head = lp_rle_deflate_pending(d, &bits, &nbits);
	if (!P->ldc && !(P->ldc = libdeflate_alloc_compressor(ZLEVEL)))
		goto stored;
	size_t tail = libdeflate_deflate_compress(P->ldc, P->buf + start, n - start, out + head,
						  n - 1 - head);
	if (!tail)
		goto stored;
	*codec = LP_CODEC_PACK_ZLIB;
	return head + tail;
stored:
	memcpy(out, P->buf, n);
	*codec = LP_CODEC_PACK;
	return n;
}

/* ------------------------------------------------------------ decoder */

struct lp_unpacker *lp_unpacker_new(void)
{
	return calloc(1, sizeof(struct lp_unpacker));
}

void lp_unpacker_free(struct lp_unpacker *u)
{
	if (!u)
		return;
	model_free(&u->m);
	if (u->dd)
		libdeflate_free_decompressor(u->dd);
	free(u->buf);
	free(u);
}

long lp_unpack(struct lp_unpacker *U, const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
	       char *err, size_t errlen)
{
	struct pk c = { .enc = false, .U = U, .m = &U->m, .err = err, .errlen = errlen };
	size_t pos = 1;
	uint64_t nrec, v;

	if (err && errlen)
		err[0] = '\0';
	if (n < 1 || in[0] != LP_PACK_VERSION) {
		snprintf(err, errlen, "unknown pack version %u (this layerprof reads %d)",
			 n ? in[0] : 0, LP_PACK_VERSION);
		return -1;
	}
	if (lp_varint_decode(in, n, &pos, &nrec) < 0 || pos >= n) {
		snprintf(err, errlen, "pack header cut short");
		return -1;
	}
	if (nrec > out_len / sizeof(struct lp_hdr)) {
		snprintf(err, errlen, "pack claims %llu records in %zu bytes",
			 (unsigned long long)nrec, out_len);
		return -1;
	}
	if (in[pos] != NCOL) {
		snprintf(err, errlen, "pack has %u columns, expected %d", in[pos], NCOL);
		return -1;
	}
	pos++;
	uint64_t data = 0;
	for (int i = 0; i < NCOL; i++) {
		struct dcol *d = &U->col[i];
		if (lp_varint_decode(in, n, &pos, &v) < 0 || pos >= n) {
			snprintf(err, errlen, "pack directory cut short (column '%s')", col_name[i]);
			return -1;
		}
		unsigned w = in[pos++];
		/* every value makes at least one byte of records */
		if (w > 8 || (i >= C_FIRST_BYTES && w > 1) || v > out_len) {
			snprintf(err, errlen, "pack column '%s' has a bad width or count (%u, %llu)",
				 col_name[i], w, (unsigned long long)v);
			return -1;
		}
		d->count = (size_t)v;
		d->width = w;
		d->pos = 0;
		d->vi = d->vn = 0;
		data += (uint64_t)d->count * w;
	}
	if (data != n - pos) {
		snprintf(err, errlen, "pack columns hold %llu bytes but %zu follow the directory",
			 (unsigned long long)data, n - pos);
		return -1;
	}
	for (int i = 0; i < NCOL; i++) {
		U->col[i].base = in + pos;
		pos += U->col[i].count * U->col[i].width;
	}

	/* (the dictionaries grow as strings are decoded, up to DICT_MAX) */
	model_reset(&U->m);
	size_t o = 0;
	for (uint64_t r = 0; r < nrec; r++) {
		c.rec_no = (unsigned long)r;
		c.kind = 0;
		c.kind_known = false;
		if (o >= out_len) {
			snprintf(err, errlen, "record %llu is past the block's %zu bytes",
				 (unsigned long long)r + 1, out_len);
			return -1;
		}
		size_t k = code_record_dec(&c, out + o, out_len - o);
		if (c.bad || !k) {
			if (!err[0])
				snprintf(err, errlen, "record %llu is malformed",
					 (unsigned long long)r + 1);
			return -1;
		}
		o += k;
	}
	if (o != out_len) {
		snprintf(err, errlen, "records fill %zu bytes of the block's %zu", o, out_len);
		return -1;
	}
	for (int i = 0; i < NCOL; i++) {
		const struct dcol *d = &U->col[i];
		size_t used = d->pos - (d->vn - d->vi); /* (gathered, not pulled) */
		if (used != d->count) {
			snprintf(err, errlen, "column '%s' has %zu values left over", col_name[i],
				 d->count - used);
			return -1;
		}
	}
	return (long)nrec;
}

long lp_unpack_block(struct lp_unpacker *U, uint8_t codec, const uint8_t *in, size_t n,
		     uint8_t *out, size_t out_len, char *err, size_t errlen)
{
	if (codec == LP_CODEC_PACK)
		return lp_unpack(U, in, n, out, out_len, err, errlen);
	if (codec != LP_CODEC_PACK_ZLIB) {
		snprintf(err, errlen, "codec %u is not a pack", codec);
		return -1;
	}
	/* a pack is never bigger than its records */
	if (out_len > U->buf_cap) {
		uint8_t *b = realloc(U->buf, out_len);
		if (!b) {
			snprintf(err, errlen, "out of memory (%zu bytes)", out_len);
			return -1;
		}
		U->buf = b;
		U->buf_cap = out_len;
	}
	/* libdeflate: the whole block is in memory, and it inflates twice as
	 * fast as zlib's streaming inflate (bench section 5) */
	if (!U->dd && !(U->dd = libdeflate_alloc_decompressor())) {
		snprintf(err, errlen, "out of memory (deflate decompressor)");
		return -1;
	}
	size_t used = 0, got = 0;
	enum libdeflate_result rc = libdeflate_deflate_decompress_ex(U->dd, in, n, U->buf, out_len, &used, &got);
	if (rc != LIBDEFLATE_SUCCESS || used != n) {
		snprintf(err, errlen, "the pack does not inflate to at most %zu bytes (%s)", out_len,
			 rc == LIBDEFLATE_SUCCESS ? "bytes after its end"
			 : rc == LIBDEFLATE_INSUFFICIENT_SPACE ? "too long"
			 : "bad or cut deflate data");
		return -1;
	}
	return lp_unpack(U, U->buf, got, out, out_len, err, errlen);
}
