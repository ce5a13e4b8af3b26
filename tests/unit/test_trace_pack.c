/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pack codec (src/trace_pack.c; EVENTS block codecs 2 and 3): every
 * record comes back byte for byte, whatever its contents; hostile packs
 * give an error, never a crash; packed trace files keep the reader's
 * guarantees (truncation, damage); v1 files still read.
 * Run from the repository root (tests/data/traces).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	snprintf(dir, sizeof(dir), "/tmp/lp-test-pack.XXXXXX");
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
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("LAYERPROF_TRACE_CODEC");
}

TestSuite(pack, .init = mkdir_tmp, .fini = rm_tmp);

static char *tpath(const char *name)
{
	static char buf[4][128];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static uint64_t rng;
static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}
static uint32_t rndn(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

/* A growing buffer of records, back to back. */
struct blk {
	uint8_t *b;
	size_t len, cap;
	size_t n;
};

static void blk_add(struct blk *k, const void *rec, size_t len)
{
	cr_assert_geq(len, sizeof(struct lp_hdr));
	cr_assert_leq(len, 65535);
	if (k->len + len > k->cap) {
		k->cap = (k->len + len) * 2 + 4096;
		k->b = realloc(k->b, k->cap);
		cr_assert_not_null(k->b);
	}
	memcpy(k->b + k->len, rec, len);
	lp_put_u16(k->b + k->len, (uint16_t)len); /* hdr.size */
	k->len += len;
	k->n++;
}

static void blk_free(struct blk *k)
{
	free(k->b);
	memset(k, 0, sizeof(*k));
}

/* Pack the block, unpack it (as codec 2 and as codec 3), compare. */
static size_t round_trip(const struct blk *k)
{
	struct lp_packer *p = lp_packer_new();
	struct lp_unpacker *u = lp_unpacker_new();
	size_t cap = k->len + 4096;
	uint8_t *pk = lp_xmalloc(cap), *out = lp_xmalloc(k->len + 1);
	char err[256];

	size_t n = lp_pack(p, k->b, k->len, pk, cap);
	cr_assert_gt(n, 0, "lp_pack failed on %zu records, %zu bytes", k->n, k->len);
	memset(out, 0xa5, k->len + 1);
	long r = lp_unpack(u, pk, n, out, k->len, err, sizeof(err));
	cr_assert_eq(r, (long)k->n, "unpack: %ld records (%s)", r, err);
	for (size_t i = 0; i < k->len; i++)
		cr_assert_eq(out[i], k->b[i], "byte %zu of %zu differs", i, k->len);
	cr_assert_eq(out[k->len], 0xa5, "wrote past the end");

	/* the writer's way: pack + deflate */
	uint8_t codec = 0;
	size_t zcap = compressBound(k->len) + 64;
	uint8_t *z = lp_xmalloc(zcap);
	size_t zn = lp_pack_block(p, k->b, k->len, z, zcap, &codec);
	if (zn) {
		cr_assert(codec == LP_CODEC_PACK || codec == LP_CODEC_PACK_ZLIB);
		cr_assert_leq(zn, k->len, "a stored pack is never bigger than its records");
		memset(out, 0x5a, k->len);
		r = lp_unpack_block(u, codec, z, zn, out, k->len, err, sizeof(err));
		cr_assert_eq(r, (long)k->n, "unpack_block: %s", err);
		cr_assert_eq(memcmp(out, k->b, k->len), 0);
	} else {
		cr_assert_gt(n, k->len, "lp_pack_block gave up on a pack that fits");
	}
	free(z);
	free(pk);
	free(out);
	lp_packer_free(p);
	lp_unpacker_free(u);
	return n;
}

/* ------------------------------------------------------------ records */

static const char *const paths[] = {
	"/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6", "/app/package.json",
	"/app/node_modules/lodash/lib/index.js", "/app/node_modules/lodash/package.json",
	"/app/node_modules/@babel/core/lib/index.js", "/app/node_modules/@babel/core/lib/parse.js",
	"/var/lib/docker/overlay2/abcdefghij0123456789xyzab/diff/app/index.js",
	"/var/lib/docker/overlay2/abcdefghij0123456789xyzab/merged", "relative/path.txt", "/",
	"//double//slashes//", "no-slash", "/tmp/", "",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
static const char *const comms[] = { "dockerd", "sh", "node", "runc:[2:INIT]", "containerd-shim" };

static uint32_t pick_tgid(void)
{
	static const uint32_t t[] = { 1000, 1010, 5000, 6001, 6002, 0, UINT32_MAX, 4194304 };
	return t[rndn(sizeof(t) / sizeof(t[0]))];
}

static uint64_t g_ts = 1000000000ull;

static void hdr(struct lp_hdr *h, uint8_t kind)
{
	h->kind = kind;
	h->flags = rndn(10) ? 0 : (uint8_t)rnd();
	h->tgid = pick_tgid();
	uint32_t r = rndn(10);
	h->tid = r < 6 ? h->tgid : r < 9 ? h->tgid + rndn(8) : (uint32_t)rnd();
	h->aux = (uint32_t)rndn(64);
	r = rndn(100);
	if (r < 90)
		g_ts += rndn(50000);
	else if (r < 95)
		g_ts -= rndn(5000); /* backwards */
	else if (r < 97)
		g_ts = rnd(); /* a huge jump */
	else if (r < 98)
		g_ts = 0;
	else
		g_ts = UINT64_MAX - rndn(3);
	h->ts = g_ts;
}

/* a string of n bytes: a known path (cut or padded), NUL-terminated or not */
static void put_str(uint8_t *p, size_t n)
{
	const char *s = paths[rndn(NPATHS)];
	size_t sl = strlen(s);
	for (size_t i = 0; i < n; i++)
		p[i] = i < sl ? (uint8_t)s[i] : (uint8_t)('a' + i % 26);
	if (n && rndn(8))
		p[n - 1] = 0;
	if (n > 4 && !rndn(20))
		p[n / 2] = (uint8_t)rnd(); /* any byte */
}

static size_t str_len(void)
{
	uint32_t r = rndn(100);
	if (r < 5)
		return 0;
	if (r < 90)
		return strlen(paths[rndn(NPATHS)]) + 1;
	if (r < 98)
		return 1 + rndn(300);
	return 1 + rndn(LP_STR_MAX);
}

static void put_comm(char *c)
{
	memset(c, 0, LP_COMM_LEN);
	if (rndn(20))
		snprintf(c, LP_COMM_LEN, "%s", comms[rndn(5)]);
	else
		for (int i = 0; i < LP_COMM_LEN; i++)
			c[i] = (char)rnd(); /* not NUL-padded */
}

static uint8_t recbuf[65536 + 64];

/* Append a random record of kind `kind` to the block. Now and then: pads,
 * trailing bytes, lengths that do not fit (escaped records). */
static void gen_rec(struct blk *k, uint8_t kind)
{
	uint8_t *b = recbuf;
	memset(b, 0, sizeof(recbuf));
	struct lp_hdr *h = (void *)b;
	hdr(h, kind);
	size_t size = sizeof(struct lp_hdr);
	switch (kind) {
	case LP_EV_SYSCALL: {
		struct lp_ev_syscall *e = (void *)b;
		e->h.aux = rndn(20) ? 1 + rndn(LP_SC_NR) : (uint32_t)rnd();
		e->ret = rndn(3) ? (int64_t)rndn(40) : -(int64_t)rndn(140);
		if (!rndn(30))
			e->ret = (int64_t)rnd();
		e->lat_ns = rndn(10) ? rndn(100000) : rnd();
		e->nstr = (uint8_t)rndn(5);
		for (int i = 0; i < 4; i++)
			e->str_arg[i] = i < e->nstr ? (uint8_t)(rndn(10) ? rndn(6) : rnd()) : 9;
		for (int i = 0; i < 6; i++) {
			uint32_t r = rndn(4);
			e->args[i] = r == 0 ? 0x7ffc00000000ull + (rnd() & 0xffff8)
				   : r == 1 ? (uint64_t)-100 : r == 2 ? rndn(0x100000) : rnd();
		}
		size = sizeof(*e);
		for (int i = 0; i < e->nstr; i++) {
			size_t n = str_len();
			if (size + n > 65535 - 64)
				n = 0;
			e->str_len[i] = (uint16_t)n;
			put_str(b + size, n);
			size += n;
		}
		if (!rndn(30))
			e->pad2[rndn(10)] = (uint8_t)rnd();
		if (!rndn(30))
			e->str_len[3] = (uint16_t)rnd(); /* an unused slot, or an escape */
		if (!rndn(50))
			e->nstr = (uint8_t)(5 + rndn(250)); /* escaped */
		break;
	}
	case LP_EV_FORK: {
		struct lp_ev_fork *e = (void *)b;
		e->h.aux = e->h.tgid + rndn(100);
		put_comm(e->child_comm);
		size = sizeof(*e);
		break;
	}
	case LP_EV_EXEC: {
		struct lp_ev_exec *e = (void *)b;
		e->h.aux = e->h.tgid;
		e->ppid = pick_tgid();
		put_comm(e->comm);
		size_t n = str_len();
		e->filename_len = (uint16_t)n;
		size = sizeof(*e);
		put_str(b + size, n);
		size += n;
		break;
	}
	case LP_EV_EXEC_ARGV: {
		struct lp_ev_exec_argv *e = (void *)b;
		e->dirfd = rndn(4) ? -100 : (int32_t)rnd();
		e->argc = (uint16_t)rndn(32);
		size_t n = rndn(20) ? rndn(300) : rndn(LP_ARGV_MAX_BYTES);
		e->data_len = (uint16_t)n;
		size = sizeof(*e);
		for (size_t i = 0; i < n; i++)
			b[size + i] = rndn(8) ? (uint8_t)('a' + rndn(26)) : 0;
		size += n;
		break;
	}
	case LP_EV_EXIT: {
		struct lp_ev_exit *e = (void *)b;
		e->h.aux = rndn(2) ? 0 : (uint32_t)rnd();
		e->counts.chown = rndn(3);
		e->counts.stat_ok = rndn(10000);
		e->counts.utimens = (uint32_t)rnd();
		put_comm(e->comm);
		/* with cpu_ns (0, small, any), or as traces made before it */
		uint32_t v = rndn(4);
		e->cpu_ns = v == 0 ? 0 : v == 1 ? rndn(100000000) : rnd();
		size = rndn(3) ? sizeof(*e) : offsetof(struct lp_ev_exit, cpu_ns);
		break;
	}
	case LP_EV_FD_IO: {
		struct lp_ev_fd_io *e = (void *)b;
		e->first_ts = e->h.ts - rndn(100000);
		e->last_ts = rndn(10) ? e->h.ts - rndn(1000) : rnd();
		e->rbytes = rndn(100000);
		e->wbytes = rndn(3) ? 0 : rnd();
		e->rcalls = rndn(4);
		e->wcalls = rndn(4);
		e->rns = e->rcalls == 1 && rndn(2) ? e->last_ts - e->first_ts : rndn(5000);
		e->wns = rndn(5000);
		e->io_flags = rndn(4);
		e->fd_mode = rndn(30) ? 0 : rndn(2) ? LP_FDMODE_KNOWN | 0100644u : (uint32_t)rnd();
		size = sizeof(*e);
		break;
	}
	case LP_REC_PROC_SEED: {
		struct lp_rec_proc_seed *e = (void *)b;
		put_comm(e->comm);
		size = sizeof(*e);
		e->exe_len = (uint16_t)str_len();
		put_str(b + size, e->exe_len);
		size += e->exe_len;
		e->cwd_len = (uint16_t)str_len();
		put_str(b + size, e->cwd_len);
		size += e->cwd_len;
		e->cmdline_len = (uint16_t)rndn(200);
		e->argc = (uint16_t)rndn(10);
		for (size_t i = 0; i < e->cmdline_len; i++)
			b[size + i] = (uint8_t)rnd();
		size += e->cmdline_len;
		size = (size + 7) & ~(size_t)7; /* procfs pads to 8 */
		break;
	}
	case LP_REC_FD_SEED: {
		struct lp_rec_fd_seed *e = (void *)b;
		size = sizeof(*e);
		e->path_len = (uint16_t)str_len();
		put_str(b + size, e->path_len);
		size += e->path_len;
		size = (size + 7) & ~(size_t)7;
		break;
	}
	case LP_REC_PROGRESS: {
		struct lp_rec_progress *e = (void *)b;
		e->len = (uint16_t)rndn(200);
		size = sizeof(*e);
		for (size_t i = 0; i < e->len; i++)
			b[size + i] = (uint8_t)(' ' + rndn(90));
		size += e->len;
		break;
	}
	case LP_REC_TRACE_PID: {
		struct lp_rec_trace_pid *e = (void *)b;
		put_comm(e->comm);
		size = sizeof(*e);
		break;
	}
	case LP_REC_CONTEXT_FILE: {
		struct lp_rec_context_file *e = (void *)b;
		e->size = rnd();
		e->mtime_ns = (int64_t)rnd();
		e->mode = 0100644;
		size = sizeof(*e);
		e->path_len = (uint16_t)str_len();
		put_str(b + size, e->path_len);
		size += e->path_len;
		break;
	}
	default:
		/* unknown kind: any bytes */
		size = sizeof(struct lp_hdr) + rndn(200);
		for (size_t i = sizeof(struct lp_hdr); i < size; i++)
			b[i] = (uint8_t)rnd();
		break;
	}
	uint32_t r = rndn(100);
	if (r < 5) {
		/* trailing bytes inside hdr.size */
		size_t t = 1 + rndn(20);
		for (size_t i = 0; i < t; i++)
			b[size + i] = (uint8_t)rnd();
		size += t;
	} else if (r < 7 && size > sizeof(struct lp_hdr) + 1) {
		size = sizeof(struct lp_hdr) + rndn((uint32_t)(size - sizeof(struct lp_hdr))); /* cut */
	}
	blk_add(k, b, size);
}

static const uint8_t kinds[] = { LP_EV_SYSCALL, LP_EV_SYSCALL, LP_EV_SYSCALL, LP_EV_FD_IO,
				 LP_EV_FD_IO, LP_EV_FORK, LP_EV_EXEC, LP_EV_EXEC_ARGV, LP_EV_EXIT,
				 LP_REC_PROC_SEED, LP_REC_FD_SEED, LP_REC_PROGRESS,
				 LP_REC_TRACE_PID, LP_REC_CONTEXT_FILE, 0, 0x42, 0x85, 0xff, 7 };

static void gen_block(struct blk *k, size_t nrec)
{
	for (size_t i = 0; i < nrec; i++)
		gen_rec(k, kinds[rndn(sizeof(kinds))]);
}

/* ------------------------------------------------------------ round trips */

Test(pack, every_kind_round_trips)
{
	rng = 42;
	for (size_t ki = 0; ki < sizeof(kinds); ki++) {
		for (int rep = 0; rep < 30; rep++) {
			struct blk k = { 0 };
			for (int i = 0; i < 40; i++)
				gen_rec(&k, kinds[ki]);
			round_trip(&k);
			blk_free(&k);
		}
	}
}

/* An exit record of both sizes (before and after cpu_ns) comes back byte
 * for byte, size and cpu_ns included, and a short one stays short. */
Test(pack, exit_records_of_both_sizes_round_trip)
{
	struct blk k = { 0 };
	struct lp_ev_exit e;
	const uint64_t cpus[] = { 0, 1, 3000000, UINT64_MAX };
	for (size_t i = 0; i < 4; i++) {
		memset(&e, 0, sizeof(e));
		e.h.kind = LP_EV_EXIT;
		e.h.tgid = e.h.tid = 100 + (uint32_t)i;
		e.h.ts = 1000 * (i + 1);
		e.h.aux = (uint32_t)i << 8;
		e.counts.stat_ok = (uint32_t)i;
		memcpy(e.comm, "sleep", 5);
		e.cpu_ns = cpus[i];
		e.h.size = sizeof(e);
		blk_add(&k, &e, sizeof(e));
		e.h.size = offsetof(struct lp_ev_exit, cpu_ns);
		blk_add(&k, &e, offsetof(struct lp_ev_exit, cpu_ns));
	}
	round_trip(&k);
	blk_free(&k);
}

/* hand-made edge cases, one block */
Test(pack, edge_cases_round_trip)
{
	struct blk k = { 0 };
	uint8_t b[65535];
	struct lp_ev_syscall *e = (void *)b;

	/* tgid 0 and UINT32_MAX, ts 0, UINT64_MAX, backwards */
	uint64_t tss[] = { 0, UINT64_MAX, 5, 4, UINT64_MAX / 2, 1 };
	uint32_t ids[] = { 0, UINT32_MAX, 1, UINT32_MAX - 1, 0, UINT32_MAX };
	for (size_t i = 0; i < 6; i++) {
		memset(b, 0, 112);
		e->h.kind = LP_EV_SYSCALL;
		e->h.tgid = ids[i];
		e->h.tid = ids[5 - i];
		e->h.ts = tss[i];
		e->h.aux = i < 3 ? (uint32_t)i : UINT32_MAX - (uint32_t)i; /* [sc] too */
		e->ret = i & 1 ? INT64_MIN : INT64_MAX;
		e->lat_ns = UINT64_MAX;
		for (int a = 0; a < 6; a++)
			e->args[a] = i & 1 ? UINT64_MAX : 0;
		blk_add(&k, b, 112);
	}
	/* 4 zero-length strings; then 4 strings filling a record to 65535 bytes */
	memset(b, 0, 112);
	e->h.kind = LP_EV_SYSCALL;
	e->nstr = 4;
	e->str_arg[0] = 1, e->str_arg[1] = 1, e->str_arg[2] = 200, e->str_arg[3] = 5;
	blk_add(&k, b, 112);
	size_t each = (65535 - 112) / 4;
	for (int i = 0; i < 4; i++) {
		e->str_len[i] = (uint16_t)(i < 3 ? each : 65535 - 112 - 3 * each);
		memset(b + 112 + i * each, 'a' + i, e->str_len[i]);
		memcpy(b + 112 + i * each, "/x/y/", 5);
	}
	b[65534] = 0;
	blk_add(&k, b, 65535);
	blk_add(&k, b, 65535); /* the same again: dictionary references */
	/* a max-size exec_argv and progress record */
	struct lp_ev_exec_argv *a = (void *)b;
	memset(b, 'z', sizeof(b));
	memset(b, 0, sizeof(*a));
	a->h.kind = LP_EV_EXEC_ARGV;
	a->data_len = 65535 - sizeof(*a);
	blk_add(&k, b, 65535);
	struct lp_rec_progress *pr = (void *)b;
	memset(b, 0, sizeof(*pr));
	pr->h.kind = LP_REC_PROGRESS;
	pr->len = 0;
	blk_add(&k, b, sizeof(*pr));
	/* escapes: a known kind too short for its struct; lengths past the
	 * record; nstr > 4; unknown kinds of every size */
	memset(b, 0x11, 200);
	memset(b, 0, sizeof(struct lp_hdr));
	b[2] = LP_EV_FD_IO;
	blk_add(&k, b, 60);
	b[2] = LP_EV_EXEC;
	lp_put_u16(b + 28, 60000); /* filename_len */
	blk_add(&k, b, 100);
	memset(b, 0, 112);
	e->h.kind = LP_EV_SYSCALL;
	e->nstr = 5;
	blk_add(&k, b, 120);
	for (size_t s = 24; s < 40; s++) {
		b[2] = 0x99;
		blk_add(&k, b, s);
	}
	/* path components: 70 of them (more than a pack codes one by one) */
	memset(b, 0, 112);
	e->h.kind = LP_EV_SYSCALL;
	e->nstr = 1;
	e->str_arg[0] = 1;
	size_t n = 0;
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf((char *)b + 112 + n, 10, "/d%d", i);
	e->str_len[0] = (uint16_t)(n + 1);
	blk_add(&k, b, 112 + n + 1);
	b[112 + 5] = 'X';
	blk_add(&k, b, 112 + n + 1);
	round_trip(&k);
	blk_free(&k);
}

/* Repeated strings are coded as references: the encoder's caches of the
 * dictionaries find them. 2,000 opens, of 40 files in 4 directories (each
 * path seen 50 times): the pack (before deflate) holds each path's bytes
 * about once (a miss would store its file name again). */
Test(pack, repeated_paths_are_references)
{
	struct blk k = { 0 };
	uint8_t b[112 + 128];
	struct lp_ev_syscall *e = (void *)b;
	for (int i = 0; i < 2000; i++) {
		memset(b, 0, sizeof(b));
		hdr(&e->h, LP_EV_SYSCALL);
		e->h.aux = LP_SC_OPENAT;
		e->nstr = 1;
		e->str_arg[0] = 1;
		int n = snprintf((char *)b + 112, 128, "/var/lib/docker/overlay2/layer%d/diff/file-%d.txt",
				 i % 4, i % 40);
		e->str_len[0] = (uint16_t)(n + 1);
		blk_add(&k, b, 112 + (size_t)n + 1);
	}
	round_trip(&k);
	struct lp_packer *p = lp_packer_new();
	uint8_t *out = lp_xmalloc(k.len);
	size_t z = lp_pack(p, k.b, k.len, out, k.len);
	cr_assert_gt(z, 0);
	/* the numbers, ~5 bytes a record, + the 40 paths' bytes (without the
	 * references: a file name, ~12 bytes, per record more, ~40 KB) */
	cr_assert_lt(z, 2000 * 7 + 40 * 60, "%zu bytes for 2000 records of 40 paths", z);
	free(out);
	lp_packer_free(p);
	blk_free(&k);
}

Test(pack, random_blocks_round_trip)
{
	rng = 7;
	for (int i = 0; i < 200; i++) {
		struct blk k = { 0 };
		gen_block(&k, 1 + rndn(i < 100 ? 50 : 2000));
		round_trip(&k);
		blk_free(&k);
	}
}

/* lp_pack_block()'s codec 3 payload of k, inflated by zlib alone, is
 * lp_pack()'s output byte for byte. */
static void check_deflated_is_the_pack(struct lp_packer *p, const struct blk *k)
{
	uint8_t *pk = lp_xmalloc(k->len), *z = lp_xmalloc(k->len), *back = lp_xmalloc(k->len + 1);
	size_t n = lp_pack(p, k->b, k->len, pk, k->len);
	cr_assert_gt(n, 0);
	uint8_t codec = 0;
	size_t zn = lp_pack_block(p, k->b, k->len, z, k->len, &codec);
	cr_assert_eq(codec, LP_CODEC_PACK_ZLIB, "%zu records did not deflate", k->n);
	cr_assert_lt(zn, n);
	z_stream is = { 0 };
	cr_assert_eq(inflateInit2(&is, -15), Z_OK);
	is.next_in = z;
	is.avail_in = (uInt)zn;
	is.next_out = back;
	is.avail_out = (uInt)(k->len + 1);
	cr_assert_eq(inflate(&is, Z_FINISH), Z_STREAM_END, "%s", is.msg ? is.msg : "");
	cr_assert_eq(is.total_out, n);
	cr_assert_eq(is.avail_in, 0);
	cr_assert_eq(memcmp(back, pk, n), 0);
	inflateEnd(&is);
	free(pk);
	free(z);
	free(back);
}

/* Codec 3 is plain raw deflate of the pack: zlib alone inflates a writer's
 * payload (number planes by deflate_rle.c, strings by zlib, one stream) to
 * lp_pack()'s output byte for byte, on a writer-sized block. */
Test(pack, codec3_is_the_pack_deflated)
{
	rng = 99;
	struct blk k = { 0 };
	while (k.len < (1u << 20) - 70000)
		gen_block(&k, 100);
	struct lp_packer *p = lp_packer_new();
	check_deflated_is_the_pack(p, &k);
	lp_packer_free(p);
	blk_free(&k);
}

/* A pack without strings (no byte column): the deflate stream still ends
 * (an empty last part) and inflates to the pack. */
Test(pack, codec3_without_byte_columns)
{
	rng = 103;
	struct blk k = { 0 };
	for (int i = 0; i < 3000; i++)
		gen_rec(&k, LP_EV_FD_IO);
	struct lp_packer *p = lp_packer_new();
	check_deflated_is_the_pack(p, &k);
	lp_packer_free(p);
	blk_free(&k);
}

/* One packer for many blocks, as the writer's: planes that found no match
 * in a pack are coded without the search in the next ones (and searched
 * again every few packs); every pack still inflates to itself, whichever
 * way each of its planes was coded, and so do blocks that repeat. */
Test(pack, codec3_across_packs)
{
	rng = 101;
	struct lp_packer *p = lp_packer_new();
	struct blk k = { 0 };
	for (int i = 0; i < 20; i++) {
		if (i % 4 != 3) { /* every 4th block: the previous one again */
			blk_free(&k);
			k = (struct blk){ 0 };
			while (k.len < (1u << 18))
				gen_block(&k, 100);
		}
		check_deflated_is_the_pack(p, &k);
	}
	lp_packer_free(p);
	blk_free(&k);
}

/* more threads than the recent-thread list, tids that share a slot, more
 * strings than a dictionary holds (65536) */
Test(pack, big_block_caps)
{
	struct blk k = { 0 };
	uint8_t b[200];
	struct lp_ev_syscall *e = (void *)b;
	for (uint32_t i = 0; i < 70000; i++) {
		memset(b, 0, sizeof(b));
		e->h.kind = LP_EV_SYSCALL;
		e->h.tgid = 1000 + i % 40;
		e->h.tid = (i % 3) ? e->h.tgid : (i % 97) << 24; /* same slot */
		e->h.ts = i * 1000ull;
		e->h.aux = LP_SC_OPENAT;
		e->nstr = 1;
		e->str_arg[0] = 1;
		e->args[1] = 0x7ffc00001000ull + (i % 13) * 16;
		int n = snprintf((char *)b + 112, 80, "/d%u/f%u", i % 300, (i * 7919) % 100000);
		e->str_len[0] = (uint16_t)(n + 1);
		blk_add(&k, b, 112 + (size_t)n + 1);
	}
	cr_assert_leq(k.len, LP_BLOCK_MAX_RAW);
	size_t n = round_trip(&k);
	cr_log_info("70000 records, %zu bytes: pack %zu bytes", k.len, n);
	blk_free(&k);
}

/* The records that give a column the most values for their bytes: the
 * encoder reserves room for a record's size in values in every column
 * once a record, not a check per value, so a bound that did not hold would
 * write past a column (an error under the sanitizers); all come back. */
Test(pack, densest_records_round_trip)
{
	rng = 211;
	struct blk k = { 0 };
	uint8_t b[112 + 160];
	for (uint32_t i = 0; k.len < (1u << 20) - 512; i++) {
		memset(b, 0, sizeof(b));
		struct lp_hdr *h = (void *)b;
		struct lp_ev_syscall *e = (void *)b;
		struct lp_ev_exit *x = (void *)b;
		h->tgid = 100 + i % 20;
		h->tid = h->tgid + i % 3;
		h->ts = i * 10ull;
		switch (i % 4) {
		case 0: /* an unknown kind, its header alone: [esc] twice */
			h->kind = 0x7f;
			h->aux = i;
			blk_add(&k, b, sizeof(*h));
			break;
		case 1: /* four empty strings: [Pref] four times */
			h->kind = LP_EV_SYSCALL;
			h->aux = LP_SC_OPENAT;
			e->nstr = 4;
			for (int j = 0; j < 4; j++)
				e->str_arg[j] = (uint8_t)j;
			blk_add(&k, b, sizeof(*e));
			break;
		case 2: { /* components of one byte: a [Ptok] every 2 bytes */
			h->kind = LP_EV_SYSCALL;
			h->aux = LP_SC_OPENAT;
			e->nstr = 1;
			e->str_arg[0] = 1;
			size_t n = 0;
			for (; n + 2 < 160; n += 2) {
				b[sizeof(*e) + n] = (uint8_t)('a' + rndn(26));
				b[sizeof(*e) + n + 1] = '/';
			}
			e->str_len[0] = (uint16_t)(n + 1); /* its NUL */
			blk_add(&k, b, sizeof(*e) + n + 1);
			break;
		}
		default: /* exit: [misc] four times */
			h->kind = LP_EV_EXIT;
			x->counts.chown = i;
			x->counts.stat_ok = i * 3;
			blk_add(&k, b, sizeof(*x));
			break;
		}
	}
	size_t n = round_trip(&k);
	cr_log_info("%zu dense records, %zu bytes: pack %zu bytes", k.n, k.len, n);
	blk_free(&k);
}

Test(pack, empty_and_incompressible)
{
	struct lp_packer *p = lp_packer_new();
	struct lp_unpacker *u = lp_unpacker_new();
	uint8_t pk[512], out[64];
	char err[256];
	/* no records: a valid pack of 0 records, but bigger than 0 bytes */
	size_t n = lp_pack(p, NULL, 0, pk, sizeof(pk));
	cr_assert_gt(n, 0);
	cr_assert_eq(lp_unpack(u, pk, n, out, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(lp_pack(p, NULL, 0, pk, 0), 0);
	/* a record that does not shrink: no pack within cap = len */
	uint8_t r[24];
	for (int i = 0; i < 24; i++)
		r[i] = (uint8_t)(i * 37 + 11);
	lp_put_u16(r, 24);
	r[2] = 0xee;
	cr_assert_eq(lp_pack(p, r, 24, pk, 24), 0);
	/* a malformed chain is refused */
	lp_put_u16(r, 25);
	cr_assert_eq(lp_pack(p, r, 24, pk, sizeof(pk)), 0);
	lp_put_u16(r, 3);
	cr_assert_eq(lp_pack(p, r, 24, pk, sizeof(pk)), 0);
	lp_packer_free(p);
	lp_unpacker_free(u);
}

/* ------------------------------------------------------------ hostile packs */

static void check_err(long r, const char *err)
{
	if (r < 0) {
		cr_assert_neq(err[0], '\0', "an error without a message");
		cr_assert_null(strchr(err, '\n'), "one line: %s", err);
	}
}

Test(pack, corrupt_packs_fail_cleanly)
{
	rng = 99;
	struct blk k = { 0 };
	gen_block(&k, 120);
	struct lp_packer *p = lp_packer_new();
	struct lp_unpacker *u = lp_unpacker_new();
	size_t cap = k.len + 4096;
	uint8_t *pk = lp_xmalloc(cap), *bad = lp_xmalloc(cap), *out = lp_xmalloc(k.len);
	char err[256];
	size_t n = lp_pack(p, k.b, k.len, pk, cap);
	cr_assert_gt(n, 0);

	/* every cut is an error */
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *c = lp_xmalloc(cut + 1); /* exactly cut bytes for ASan */
		memcpy(c, pk, cut);
		long r = lp_unpack(u, c, cut, out, k.len, err, sizeof(err));
		cr_assert_eq(r, -1, "cut at %zu of %zu unpacked", cut, n);
		check_err(r, err);
		free(c);
	}
	/* the right pack, the wrong length of records */
	cr_assert_eq(lp_unpack(u, pk, n, out, k.len - 1, err, sizeof(err)), -1);
	check_err(-1, err);

	/* flipped bits everywhere: an error, or records that fill the block
	 * exactly (the block's CRC is what catches those in a file) */
	size_t fails = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(bad, pk, n);
			bad[i] ^= (uint8_t)(1u << bit);
			long r = lp_unpack(u, bad, n, out, k.len, err, sizeof(err));
			check_err(r, err);
			if (r >= 0) {
				size_t pos = 0;
				for (long j = 0; j < r; j++) {
					uint16_t sz = lp_get_u16(out + pos);
					cr_assert_geq(sz, sizeof(struct lp_hdr));
					pos += sz;
				}
				cr_assert_eq(pos, k.len);
			} else {
				fails++;
			}
		}
	}
	cr_log_info("%zu of %zu flipped packs refused", fails, n * 3);

	/* random garbage after a plausible header */
	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + rndn(400);
		for (size_t i = 0; i < len; i++)
			bad[i] = (uint8_t)rnd();
		bad[0] = LP_PACK_VERSION;
		if (len > 2)
			bad[2] = 46;
		long r = lp_unpack(u, bad, len, out, rndn((uint32_t)k.len), err, sizeof(err));
		check_err(r, err);
	}
	free(pk);
	free(bad);
	free(out);
	lp_packer_free(p);
	lp_unpacker_free(u);
	blk_free(&k);
}

Test(pack, corrupt_deflated_packs_fail_cleanly)
{
	rng = 5;
	struct blk k = { 0 };
	gen_block(&k, 300);
	struct lp_packer *p = lp_packer_new();
	struct lp_unpacker *u = lp_unpacker_new();
	size_t zcap = compressBound(k.len) + 64;
	uint8_t *z = lp_xmalloc(zcap), *out = lp_xmalloc(k.len), codec = 0;
	char err[256];
	size_t n = lp_pack_block(p, k.b, k.len, z, zcap, &codec);
	cr_assert_gt(n, 0);
	cr_assert_eq(codec, LP_CODEC_PACK_ZLIB);
	for (size_t i = 0; i < n; i++) {
		z[i] ^= 0x10;
		long r = lp_unpack_block(u, codec, z, n, out, k.len, err, sizeof(err));
		check_err(r, err);
		z[i] ^= 0x10;
	}
	for (size_t cut = 0; cut < n; cut++) {
		long r = lp_unpack_block(u, codec, z, cut, out, k.len, err, sizeof(err));
		cr_assert_eq(r, -1, "cut deflate stream at %zu unpacked", cut);
		check_err(r, err);
	}
	/* bytes after the deflate stream */
	uint8_t *z2 = lp_xmalloc(n + 1);
	memcpy(z2, z, n);
	z2[n] = 0;
	cr_assert_eq(lp_unpack_block(u, codec, z2, n + 1, out, k.len, err, sizeof(err)), -1);
	cr_assert(strstr(err, "after its end"), "%s", err);
	cr_assert_eq(lp_unpack_block(u, 1, z, n, out, k.len, err, sizeof(err)), -1);
	free(z2);
	free(z);
	free(out);
	lp_packer_free(p);
	lp_unpacker_free(u);
	blk_free(&k);
}

/* ------------------------------------------------------------ files */

/* Write the block's records to a trace (flushing every `every`), return the
 * file's bytes. */
static uint8_t *write_file(const char *path, const struct blk *k, size_t every, size_t *len)
{
	char err[512];
	struct lp_writer *w = lp_writer_open(path, "{\"x\":1}", err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	size_t pos = 0;
	for (size_t i = 0; i < k->n; i++) {
		uint16_t sz = lp_get_u16(k->b + pos);
		cr_assert_eq(lp_writer_append(w, k->b + pos, sz), 0);
		pos += sz;
		if (every && (i + 1) % every == 0)
			cr_assert_eq(lp_writer_flush(w), 0);
	}
	cr_assert_eq(lp_writer_close(w, "{\"end\":true}", err, sizeof(err)), 0, "%s", err);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *d = lp_xmalloc(*len);
	cr_assert_eq(fread(d, 1, *len, f), *len);
	fclose(f);
	return d;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Read path; the records must be a prefix of k's. Returns how many. */
static size_t read_prefix(const char *path, const struct blk *k, const struct lp_reader_status **st,
			  struct lp_reader **rp)
{
	char err[512];
	struct lp_reader *r = lp_reader_open(path, err, sizeof(err));
	*rp = r;
	if (!r)
		return (size_t)-1;
	const struct lp_hdr *h;
	size_t i = 0, pos = 0;
	while (lp_reader_next(r, &h) == 1) {
		cr_assert_lt(i, k->n);
		uint16_t sz = lp_get_u16(k->b + pos);
		cr_assert_eq(h->size, sz, "record %zu", i);
		cr_assert_eq(memcmp(h, k->b + pos, sz), 0, "record %zu differs", i);
		pos += sz;
		i++;
	}
	*st = lp_reader_status(r);
	return i;
}

Test(pack, file_round_trip_and_codecs)
{
	rng = 11;
	struct blk k = { 0 };
	gen_block(&k, 20000);
	const char *names[] = { "pack", "pack-stored", "zlib", "stored" };
	size_t sizes[4];
	for (int c = 0; c < 4; c++) {
		setenv("LAYERPROF_TRACE_CODEC", names[c], 1);
		const char *p = tpath(names[c]);
		size_t len;
		uint8_t *d = write_file(p, &k, 3000, &len);
		sizes[c] = len;
		/* v1 unless blocks may be packs */
		cr_assert_eq(lp_get_u32(d + 8), c < 2 ? 2u : 1u, "%s", names[c]);
		const struct lp_reader_status *st;
		struct lp_reader *r;
		size_t n = read_prefix(p, &k, &st, &r);
		cr_assert_eq(n, k.n, "%s", names[c]);
		cr_assert(!st->damaged && st->has_trailer, "%s: %s", names[c], st->message);
		cr_assert_str_eq(lp_reader_meta(r), "{\"x\":1}");
		lp_reader_close(r);
		free(d);
	}
	unsetenv("LAYERPROF_TRACE_CODEC");
	cr_assert_lt(sizes[0], sizes[2], "packed %zu >= zlib %zu", sizes[0], sizes[2]);
	char err[256];
	setenv("LAYERPROF_TRACE_CODEC", "lz4", 1);
	cr_assert_null(lp_writer_open(tpath("bad"), "{}", err, sizeof(err)));
	cr_assert(strstr(err, "LAYERPROF_TRACE_CODEC=lz4"), "%s", err);
	unsetenv("LAYERPROF_TRACE_CODEC");
	blk_free(&k);
}

/* Offsets where blocks start. */
static size_t block_starts(const uint8_t *p, size_t n, size_t *starts, size_t max, uint8_t *codecs)
{
	size_t off = LP_TRACE_HEADER_SIZE, k = 0;
	while (off + LP_BLOCK_HEADER_SIZE <= n && k < max) {
		starts[k] = off;
		codecs[k] = p[off + 5];
		k++;
		off += LP_BLOCK_HEADER_SIZE + lp_get_u32(p + off + 12);
	}
	cr_assert_eq(off, n);
	return k;
}

Test(pack, truncated_packed_file_recovers_complete_blocks)
{
	rng = 3;
	struct blk k = { 0 };
	gen_block(&k, 400);
	size_t len;
	const char *p = tpath("t.lprof");
	uint8_t *d = write_file(p, &k, 40, &len); /* 10 EVENTS blocks */
	size_t starts[64];
	uint8_t codecs[64];
	size_t nb = block_starts(d, len, starts, 64, codecs);
	cr_assert_eq(nb, 12);
	for (size_t b = 1; b + 1 < nb; b++)
		cr_assert(codecs[b] == LP_CODEC_PACK_ZLIB || codecs[b] == LP_CODEC_PACK,
			  "block %zu codec %u", b, codecs[b]);
	const char *q = tpath("cut.lprof");
	spit(q, d, len);
	for (size_t cut = len; cut-- > starts[1];) {
		cr_assert_eq(truncate(q, (off_t)cut), 0);
		const struct lp_reader_status *st;
		struct lp_reader *r;
		size_t n = read_prefix(q, &k, &st, &r);
		cr_assert_not_null(r, "cut %zu", cut);
		size_t full = 0; /* complete blocks before the cut, META included */
		while (full + 1 < nb && starts[full + 1] <= cut)
			full++;
		cr_assert_eq(n, (full - 1) * 40, "cut %zu: %zu records", cut, n);
		cr_assert_eq(st->blocks, full);
		cr_assert_eq(st->damaged, starts[full] != cut, "cut %zu: %s", cut, st->message);
		lp_reader_close(r);
	}
	free(d);
	blk_free(&k);
}

/* A packed (codec 2) block whose payload is damaged behind valid CRCs: an
 * error naming the block, the blocks before it intact, never a crash. */
Test(pack, corrupt_codec2_block_in_a_file)
{
	rng = 8;
	struct blk k = { 0 };
	gen_block(&k, 300);
	setenv("LAYERPROF_TRACE_CODEC", "pack-stored", 1);
	size_t len;
	const char *p = tpath("c2.lprof");
	uint8_t *d = write_file(p, &k, 100, &len);
	unsetenv("LAYERPROF_TRACE_CODEC");
	size_t starts[16];
	uint8_t codecs[16];
	size_t nb = block_starts(d, len, starts, 16, codecs);
	cr_assert_eq(nb, 5);
	cr_assert_eq(codecs[2], LP_CODEC_PACK);
	uint8_t *bad = lp_xmalloc(len);
	const char *q = tpath("c2bad.lprof");
	size_t refused = 0, tries = 0;
	size_t b0 = starts[2], plen = lp_get_u32(d + b0 + 12);
	for (size_t i = 0; i < plen; i += 1 + i / 64) {
		memcpy(bad, d, len);
		bad[b0 + LP_BLOCK_HEADER_SIZE + i] ^= (uint8_t)(1u << (i % 8));
		/* valid CRCs around the damage */
		lp_put_u32(bad + b0 + 16, (uint32_t)crc32(0, bad + b0 + LP_BLOCK_HEADER_SIZE,
							   (uInt)plen));
		lp_put_u32(bad + b0 + 20, (uint32_t)crc32(0, bad + b0, 20));
		spit(q, bad, len);
		char err[512];
		struct lp_reader *r = lp_reader_open(q, err, sizeof(err));
		cr_assert_not_null(r, "%s", err);
		const struct lp_hdr *h;
		size_t n = 0, pos = 0;
		while (lp_reader_next(r, &h) == 1) {
			if (n < 100) {
				uint16_t sz = lp_get_u16(k.b + pos);
				cr_assert_eq(memcmp(h, k.b + pos, sz), 0, "block 2 damaged by a flip in block 3");
				pos += sz;
			}
			n++;
		}
		const struct lp_reader_status *st = lp_reader_status(r);
		tries++;
		if (st->damaged) {
			refused++;
			cr_assert_eq(n, 100, "%s", st->message);
			cr_assert(strstr(st->message, "block 3") &&
				  (strstr(st->message, "does not unpack") ||
				   strstr(st->message, "malformed record")), "%s", st->message);
		}
		lp_reader_close(r);
	}
	/* (a flip inside a string is a valid pack of other bytes: the block
	 * CRC is what catches those) */
	cr_log_info("%zu of %zu damaged packs refused", refused, tries);
	cr_assert_gt(refused, 0);

	/* damage the pack's structure: always refused, with the reason */
	struct {
		size_t at, cut;
		uint8_t val;
		const char *why;
	} cases[] = {
		{ 0, 0, 7, "unknown pack version 7" },        /* version byte */
		{ 0, plen / 2, 1, "pack columns hold" },      /* half the payload */
		{ 2, 0, 0, "expected 46" },                   /* ncols (nrec < 128) */
	};
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		memcpy(bad, d, len);
		size_t pl = plen - cases[ci].cut;
		bad[b0 + LP_BLOCK_HEADER_SIZE + cases[ci].at] = cases[ci].val;
		lp_put_u32(bad + b0 + 12, (uint32_t)pl);
		lp_put_u32(bad + b0 + 16, (uint32_t)crc32(0, bad + b0 + LP_BLOCK_HEADER_SIZE,
							   (uInt)pl));
		lp_put_u32(bad + b0 + 20, (uint32_t)crc32(0, bad + b0, 20));
		spit(q, bad, b0 + LP_BLOCK_HEADER_SIZE + pl);
		const struct lp_reader_status *st;
		struct lp_reader *r;
		cr_assert_eq(read_prefix(q, &k, &st, &r), 100);
		cr_assert(st->damaged && strstr(st->message, "block 3") &&
			  strstr(st->message, "does not unpack") &&
			  strstr(st->message, cases[ci].why), "%s", st->message);
		cr_log_info("%s", st->message);
		lp_reader_close(r);
	}
	free(bad);
	free(d);
	blk_free(&k);
}

/* Format v1 files (codecs 0 and 1) still read, unchanged; re-encoded, the
 * same records come back from a smaller file. */
Test(pack, v1_files_still_read)
{
	const char *dirs[] = { "tests/data/traces", "tests/data/regress/trace_reader",
			       "fuzz/corpus/trace_reader" };
	size_t nfiles = 0;
	for (size_t di = 0; di < 3; di++) {
		DIR *dp = opendir(dirs[di]);
		if (!dp)
			cr_skip_test("%s not found (run from the repository root)", dirs[di]);
		struct dirent *de;
		while ((de = readdir(dp))) {
			const char *ext = strrchr(de->d_name, '.');
			if (!ext || (strcmp(ext, ".lptrace") && strcmp(ext, ".lprof")))
				continue;
			char path[512], err[512];
			snprintf(path, sizeof(path), "%s/%s", dirs[di], de->d_name);
			struct lp_reader *r = lp_reader_open(path, err, sizeof(err));
			if (di < 2)
				cr_assert_not_null(r, "%s", err);
			if (!r)
				continue;
			nfiles++;
			struct blk k = { 0 };
			const struct lp_hdr *h;
			while (lp_reader_next(r, &h) == 1)
				blk_add(&k, h, h->size);
			const struct lp_reader_status *st = lp_reader_status(r);
			if (di == 0) {
				cr_assert(!st->damaged && st->has_trailer, "%s: %s", path,
					  st->message);
				cr_assert_gt(k.n, 1000);
			}
			/* re-encode: the writer's packs give back the same records */
			const char *q = tpath("re.lprof");
			char e2[512];
			struct lp_writer *w = lp_writer_open(q, lp_reader_meta(r), e2, sizeof(e2));
			cr_assert_not_null(w, "%s", e2);
			size_t pos = 0;
			for (size_t i = 0; i < k.n; i++) {
				uint16_t sz = lp_get_u16(k.b + pos);
				cr_assert_eq(lp_writer_append(w, k.b + pos, sz), 0);
				pos += sz;
			}
			const char *tr = lp_reader_trailer(r);
			cr_assert_eq(lp_writer_close(w, tr ? tr : "{}", e2, sizeof(e2)), 0, "%s", e2);
			const struct lp_reader_status *st2;
			struct lp_reader *r2;
			cr_assert_eq(read_prefix(q, &k, &st2, &r2), k.n, "%s", path);
			cr_assert(!st2->damaged, "%s: %s", path, st2->message);
			cr_assert_str_eq(lp_reader_meta(r2), lp_reader_meta(r));
			if (di == 0) {
				struct stat s1, s2;
				cr_assert_eq(stat(path, &s1), 0);
				cr_assert_eq(stat(q, &s2), 0);
				cr_log_info("%s: %zu records, %lld -> %lld bytes", path, k.n,
					    (long long)s1.st_size, (long long)s2.st_size);
				cr_assert_lt(s2.st_size, s1.st_size * 3 / 4, "%s", path);
			}
			lp_reader_close(r2);
			lp_reader_close(r);
			blk_free(&k);
		}
		closedir(dp);
	}
	cr_assert_gt(nfiles, 10);
}

/* A pack in a v1 file, or in a block that is not EVENTS, is refused. */
Test(pack, pack_codecs_only_in_v2_events)
{
	rng = 1;
	struct blk k = { 0 };
	gen_block(&k, 50);
	setenv("LAYERPROF_TRACE_CODEC", "pack-stored", 1);
	size_t len;
	const char *p = tpath("v.lprof");
	uint8_t *d = write_file(p, &k, 0, &len);
	unsetenv("LAYERPROF_TRACE_CODEC");
	const char *q = tpath("v1.lprof");
	lp_put_u32(d + 8, 1);
	spit(q, d, len);
	const struct lp_reader_status *st;
	struct lp_reader *r;
	cr_assert_eq(read_prefix(q, &k, &st, &r), 0);
	cr_assert(st->damaged && strstr(st->message, "invalid codec"), "%s", st->message);
	lp_reader_close(r);
	free(d);
	blk_free(&k);
}
