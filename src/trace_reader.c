/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Trace reader (format: trace.h, docs/trace-format.md).
 *
 * Reads block by block with pread(2) (not mmap: a file cut or rewritten
 * under us must give an error, not SIGBUS). Nothing read from the file is
 * trusted: every length is checked against the caps and against the bytes
 * left in the file before anything is allocated or copied. The first bad or
 * incomplete block ends the readable data; the status says what was
 * recovered and why it stopped.
 *
 * A trace of more than lp_reader_ahead_min bytes is decoded ahead: a
 * thread reads, checks and inflates/unpacks the next blocks (a few at a
 * time) with a reader of its own, and lp_reader_next() takes them, and the
 * status after each, in order, then the final status at the end. The
 * records, the status and the messages are the same as decoding in place.
 */
#include "trace.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "le.h"
#include "meter.h"
#include "trace_pack.h"
#include "util.h"

/* Bytes after a record that are zeroed in the aligned copy, so code that
 * reads a short record through a larger struct sees zeros, not old data. */
#define REC_PAD 256
#define REC_MAX 65535 /* lp_hdr.size is a u16 */

struct lp_reader {
	int fd;
	char *path;
	uint64_t file_size;
	uint32_t version;      /* format version of the file */
	uint64_t first_events; /* offset of the block after META */
	uint64_t off;          /* next block */
	uint64_t block_no;     /* 1-based number of the next block */

	uint8_t *raw;          /* current EVENTS block, decompressed */
	size_t raw_cap, raw_len, pos;
	uint8_t *stored;
	size_t stored_cap;
	uint8_t *rec;          /* aligned copy handed out by next(); zero past rec_dirty */
	size_t rec_dirty;
	z_stream zs;
	bool zs_ready;
	struct lp_unpacker *unpacker; /* codecs 2 and 3, made on first use */

	char *meta, *trailer;
	bool done;
	struct lp_reader_status st;
	struct ahead *ah;      /* decoding ahead, or NULL (in place) */
	bool quiet;            /* the thread's reader: the consumer shows progress */
};

uint64_t lp_reader_ahead_min = 4u << 20;

/* A block decoded ahead, with the reader's state after it. */
#define AHEAD_BLOCKS 3
struct ahead_blk {
	uint8_t *raw;
	size_t cap, len;
	uint64_t off, block_no, blocks, bytes;
	bool has_trailer;
};

struct ahead {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lp_reader *sh;  /* the thread's reader: position, status, buffers */
	struct ahead_blk q[AHEAD_BLOCKS];
	unsigned head, n;      /* decoded blocks, oldest first */
	bool end;              /* no more: sh has the final status */
	bool quit;
};

enum blk { BLK_OK, BLK_END, BLK_BAD };

struct blkhdr {
	uint8_t type, codec;
	uint32_t raw_len, stored_len;
};

static int pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = pread(fd, p, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = 0; /* the file got shorter */
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	uint8_t *p = realloc(*buf, need);
	if (!p)
		return -1;
	*buf = p;
	*cap = need;
	return 0;
}

/* Set the damage part of the status: "<what> at byte X (block N)". */
static void damage(struct lp_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void damage(struct lp_reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->st.message, sizeof(r->st.message), fmt, ap);
	va_end(ap);
	r->st.damaged = true;
}

/*
 * Read and check the block at r->off into r->raw (raw_len bytes, plus a NUL
 * after them). BLK_END at a clean end of file; BLK_BAD with the status
 * message set (for the first block, the caller rewrites it).
 */
static enum blk read_block(struct lp_reader *r, struct blkhdr *bh)
{
	uint64_t off = r->off, left = r->file_size - off;
	unsigned long long blk = (unsigned long long)r->block_no;
	uint8_t h[LP_BLOCK_HEADER_SIZE];

	if (off == r->file_size)
		return BLK_END;
	if (left < LP_BLOCK_HEADER_SIZE) {
		damage(r, "trace truncated at byte %llu (block %llu)", (unsigned long long)off, blk);
		return BLK_BAD;
	}
	if (pread_all(r->fd, h, sizeof(h), off) < 0) {
		damage(r, "read error at byte %llu (block %llu): %s", (unsigned long long)off, blk,
		       errno ? strerror(errno) : "the file got shorter");
		return BLK_BAD;
	}
	if (lp_get_u32(h) != LP_BLOCK_MAGIC || lp_get_u32(h + 20) != libdeflate_crc32(0, h, 20)) {
		damage(r, "bad block header at byte %llu (block %llu)", (unsigned long long)off, blk);
		return BLK_BAD;
	}
	bh->type = h[4];
	bh->codec = h[5];
	bh->raw_len = lp_get_u32(h + 8);
	bh->stored_len = lp_get_u32(h + 12);
	uint32_t crc = lp_get_u32(h + 16);

	if (bh->raw_len > LP_BLOCK_MAX_RAW) {
		damage(r, "block %llu at byte %llu claims %u bytes (limit %u)", blk,
		       (unsigned long long)off, bh->raw_len, LP_BLOCK_MAX_RAW);
		return BLK_BAD;
	}
	/* packs (v2, EVENTS only) are never bigger than their records */
	bool pack = bh->codec == LP_CODEC_PACK || bh->codec == LP_CODEC_PACK_ZLIB;
	if ((bh->codec == LP_CODEC_STORED && bh->stored_len != bh->raw_len) ||
	    (bh->codec == LP_CODEC_ZLIB && bh->stored_len > compressBound(bh->raw_len)) ||
	    (pack && (r->version < 2 || bh->type != LP_BLOCK_EVENTS ||
		      bh->stored_len > bh->raw_len)) ||
	    (bh->codec != LP_CODEC_STORED && bh->codec != LP_CODEC_ZLIB && !pack)) {
		damage(r, "block %llu at byte %llu has an invalid codec or length", blk,
		       (unsigned long long)off);
		return BLK_BAD;
	}
	if ((uint64_t)bh->stored_len > left - LP_BLOCK_HEADER_SIZE) {
		damage(r, "trace truncated at byte %llu (block %llu)", (unsigned long long)off, blk);
		return BLK_BAD;
	}

	/* lengths are now bounded by the caps and by the file */
	if (reserve(&r->stored, &r->stored_cap, (size_t)bh->stored_len + 1) < 0 ||
	    reserve(&r->raw, &r->raw_cap, (size_t)bh->raw_len + 1) < 0) {
		damage(r, "out of memory reading block %llu at byte %llu", blk,
		       (unsigned long long)off);
		return BLK_BAD;
	}
	if (pread_all(r->fd, r->stored, bh->stored_len, off + LP_BLOCK_HEADER_SIZE) < 0) {
		damage(r, "read error at byte %llu (block %llu): %s", (unsigned long long)off, blk,
		       errno ? strerror(errno) : "the file got shorter");
		return BLK_BAD;
	}
	if (libdeflate_crc32(0, r->stored, bh->stored_len) != crc) {
		damage(r, "checksum mismatch in block %llu at byte %llu", blk,
		       (unsigned long long)off);
		return BLK_BAD;
	}
	if (bh->codec == LP_CODEC_STORED) {
		if (bh->raw_len)
			memcpy(r->raw, r->stored, bh->raw_len);
	} else if (pack) {
		char why[200];
		if (!r->unpacker && !(r->unpacker = lp_unpacker_new())) {
			damage(r, "out of memory reading block %llu at byte %llu", blk,
			       (unsigned long long)off);
			return BLK_BAD;
		}
		if (lp_unpack_block(r->unpacker, bh->codec, r->stored, bh->stored_len, r->raw,
				    bh->raw_len, why, sizeof(why)) < 0) {
			damage(r, "block %llu at byte %llu does not unpack to its %u bytes: %s", blk,
			       (unsigned long long)off, bh->raw_len, why);
			return BLK_BAD;
		}
	} else {
		if (inflateReset(&r->zs) != Z_OK) {
			damage(r, "zlib error in block %llu", blk);
			return BLK_BAD;
		}
		r->zs.next_in = r->stored;
		r->zs.avail_in = bh->stored_len;
		r->zs.next_out = r->raw;
		r->zs.avail_out = bh->raw_len;
		int rc = inflate(&r->zs, Z_FINISH);
		if (rc != Z_STREAM_END || r->zs.avail_out != 0 || r->zs.avail_in != 0 ||
		    r->zs.total_out != bh->raw_len) {
			damage(r, "block %llu at byte %llu does not decompress to its %u bytes", blk,
			       (unsigned long long)off, bh->raw_len);
			return BLK_BAD;
		}
	}
	r->raw[bh->raw_len] = '\0';
	r->raw_len = bh->raw_len;
	r->off = off + LP_BLOCK_HEADER_SIZE + bh->stored_len;
	return BLK_OK;
}

/* Every record of the block must start with a whole lp_hdr, have
 * size >= sizeof(lp_hdr), and end inside the block. */
static bool records_fit(struct lp_reader *r, uint64_t start)
{
	size_t pos = 0;
	while (pos < r->raw_len) {
		size_t left = r->raw_len - pos;
		if (left < sizeof(struct lp_hdr)) {
			damage(r, "block %llu at byte %llu ends inside a record header",
			       (unsigned long long)r->block_no, (unsigned long long)start);
			return false;
		}
		uint16_t size = lp_get_u16(r->raw + pos);
		if (size < sizeof(struct lp_hdr) || size > left) {
			damage(r, "block %llu at byte %llu has a malformed record "
			       "(size %u at offset %zu)", (unsigned long long)r->block_no,
			       (unsigned long long)start, size, pos);
			return false;
		}
		pos += size;
	}
	return true;
}

static char *dup_text(const uint8_t *p, size_t n)
{
	char *s = lp_xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* The final status line (records and blocks as of now). */
static void finish_message(struct lp_reader *r)
{
	char tail[200];
	snprintf(tail, sizeof(tail), "%s %llu blocks, %llu events%s",
		 r->st.damaged ? "recovered" : "read", (unsigned long long)r->st.blocks,
		 (unsigned long long)r->st.records,
		 r->st.has_trailer ? "; the recording finished (trailer present)"
				   : "; the recording did not finish (no trailer)");
	if (r->st.damaged) {
		char head[sizeof(r->st.message)];
		snprintf(head, sizeof(head), "%s", r->st.message);
		if (snprintf(r->st.message, sizeof(r->st.message), "%s: %s", head, tail) < 0)
			r->st.message[0] = '\0';
	} else {
		snprintf(r->st.message, sizeof(r->st.message), "%s", tail);
	}
}

static void stop(struct lp_reader *r)
{
	r->done = true;
	finish_message(r);
}

/* Load the next EVENTS block (skipping blocks of unknown type); false at
 * the end of the readable data. */
static bool next_block(struct lp_reader *r)
{
	for (;;) {
		if (r->st.has_trailer) {
			/* nothing may follow the trailer */
			if (r->off != r->file_size)
				damage(r, "%llu unexpected bytes after the trailer at byte %llu",
				       (unsigned long long)(r->file_size - r->off),
				       (unsigned long long)r->off);
			return false;
		}
		struct blkhdr bh;
		uint64_t start = r->off;
		enum blk b = read_block(r, &bh);
		if (b != BLK_OK)
			return false;
		if (bh.type == LP_BLOCK_EVENTS && !records_fit(r, start)) {
			r->off = start;
			return false;
		}
		r->block_no++;
		r->st.blocks++;
		r->st.bytes = r->off;
		if (!r->quiet)
			lp_meter_read(r->off); /* every pass over a trace shows its progress */
		switch (bh.type) {
		case LP_BLOCK_EVENTS:
			r->pos = 0;
			if (r->raw_len)
				return true;
			break;
		case LP_BLOCK_TRAILER:
			if (!r->trailer)
				r->trailer = dup_text(r->raw, r->raw_len);
			r->st.has_trailer = true;
			break;
		default:
			break; /* META again, or a newer optional block type: skip */
		}
	}
}

/* ---------------------------------------------------- decoding ahead */

static void *ahead_main(void *arg)
{
	struct ahead *a = arg;
	struct lp_reader *sh = a->sh;
	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->n == AHEAD_BLOCKS && !a->quit)
			pthread_cond_wait(&a->cv, &a->mu);
		bool quit = a->quit;
		struct ahead_blk *b = &a->q[(a->head + a->n) % AHEAD_BLOCKS];
		pthread_mutex_unlock(&a->mu);
		if (quit)
			break;
		bool ok = next_block(sh);
		if (ok) {
			/* the block's bytes go to the slot, the slot's buffer is
			 * the next block's */
			uint8_t *t = b->raw;
			size_t tc = b->cap;
			b->raw = sh->raw;
			b->cap = sh->raw_cap;
			b->len = sh->raw_len;
			sh->raw = t;
			sh->raw_cap = tc;
			sh->raw_len = 0;
			b->off = sh->off;
			b->block_no = sh->block_no;
			b->blocks = sh->st.blocks;
			b->bytes = sh->st.bytes;
			b->has_trailer = sh->st.has_trailer;
		}
		pthread_mutex_lock(&a->mu);
		if (ok)
			a->n++;
		else
			a->end = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		if (!ok)
			break;
	}
	return NULL;
}

/* Start decoding ahead from where r is; false when no thread (r then
 * decodes in place). */
static bool ahead_start(struct lp_reader *r)
{
	struct lp_reader *sh = calloc(1, sizeof(*sh));
	struct ahead *a = calloc(1, sizeof(*a));
	if (!sh || !a || inflateInit(&sh->zs) != Z_OK) {
		free(sh);
		free(a);
		return false;
	}
	sh->zs_ready = true;
	sh->fd = r->fd; /* (pread: shared, never closed by sh) */
	sh->version = r->version;
	sh->file_size = r->file_size;
	sh->off = r->off;
	sh->block_no = r->block_no;
	sh->st = r->st;
	sh->quiet = true;
	a->sh = sh;
	bool mu = !pthread_mutex_init(&a->mu, NULL);
	bool cv = mu && !pthread_cond_init(&a->cv, NULL);
	if (!cv || pthread_create(&a->thread, NULL, ahead_main, a)) {
		if (cv)
			pthread_cond_destroy(&a->cv);
		if (mu)
			pthread_mutex_destroy(&a->mu);
		inflateEnd(&sh->zs);
		free(sh);
		free(a);
		return false;
	}
	r->ah = a;
	return true;
}

/* Stop the thread and free what it had (blocks not taken are dropped). */
static void ahead_stop(struct lp_reader *r)
{
	struct ahead *a = r->ah;
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->quit = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	for (int i = 0; i < AHEAD_BLOCKS; i++)
		free(a->q[i].raw);
	struct lp_reader *sh = a->sh;
	inflateEnd(&sh->zs);
	lp_unpacker_free(sh->unpacker);
	free(sh->raw);
	free(sh->stored);
	free(sh->trailer);
	free(sh);
	free(a);
	r->ah = NULL;
}

/* next_block() from the thread: the next block decoded, and r's state as
 * if r had read it; at the end, the final status (then no thread). */
static bool ahead_take(struct lp_reader *r)
{
	struct ahead *a = r->ah;
	pthread_mutex_lock(&a->mu);
	while (!a->n && !a->end)
		pthread_cond_wait(&a->cv, &a->mu);
	if (!a->n) {
		pthread_mutex_unlock(&a->mu);
		struct lp_reader *sh = a->sh;
		r->off = sh->off;
		r->block_no = sh->block_no;
		r->st.blocks = sh->st.blocks;
		r->st.bytes = sh->st.bytes;
		r->st.has_trailer = sh->st.has_trailer;
		r->st.damaged = sh->st.damaged;
		memcpy(r->st.message, sh->st.message, sizeof(r->st.message));
		if (!r->trailer) {
			r->trailer = sh->trailer;
			sh->trailer = NULL;
		}
		r->raw_len = r->pos = 0;
		ahead_stop(r);
		return false;
	}
	struct ahead_blk *b = &a->q[a->head];
	uint8_t *t = r->raw;
	size_t tc = r->raw_cap;
	r->raw = b->raw;
	r->raw_cap = b->cap;
	r->raw_len = b->len;
	b->raw = t;
	b->cap = tc;
	r->pos = 0;
	r->off = b->off;
	r->block_no = b->block_no;
	r->st.blocks = b->blocks;
	r->st.bytes = b->bytes;
	r->st.has_trailer = b->has_trailer;
	a->head = (a->head + 1) % AHEAD_BLOCKS;
	a->n--;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	lp_meter_read(r->off);
	return true;
}

/* The next EVENTS block: decoded ahead when the trace is big enough. */
static bool next_events(struct lp_reader *r)
{
	if (!r->ah && r->file_size > lp_reader_ahead_min && r->off < r->file_size && !r->st.has_trailer)
		ahead_start(r);
	return r->ah ? ahead_take(r) : next_block(r);
}

struct lp_reader *lp_reader_open(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is %s, not a trace file", path,
			 S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		close(fd);
		return NULL;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size == 0) {
		snprintf(err, errlen, "%s is empty (0 bytes): not a layerprof trace "
			 "(did the recording start?)", path);
		close(fd);
		return NULL;
	}

	uint8_t h[LP_TRACE_HEADER_SIZE];
	size_t got = size < sizeof(h) ? (size_t)size : sizeof(h);
	if (pread_all(fd, h, got, 0) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 errno ? strerror(errno) : "the file got shorter");
		close(fd);
		return NULL;
	}
	if (memcmp(h, LP_TRACE_MAGIC, got < 8 ? got : 8) != 0) {
		snprintf(err, errlen, "%s is not a layerprof trace (bad magic)", path);
		close(fd);
		return NULL;
	}
	if (got < sizeof(h)) {
		snprintf(err, errlen, "%s is truncated inside its file header (%llu of %d bytes)",
			 path, (unsigned long long)size, LP_TRACE_HEADER_SIZE);
		close(fd);
		return NULL;
	}
	uint32_t version = lp_get_u32(h + 8), hsize = lp_get_u32(h + 12);
	uint32_t abi = lp_get_u32(h + 16);
	if (version > LP_TRACE_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: trace format v%u is newer than this layerprof (v%d): "
			 "upgrade layerprof", path, version, LP_TRACE_FORMAT_VERSION);
		close(fd);
		return NULL;
	}
	if (version == 0) {
		snprintf(err, errlen, "%s: trace format v0 is not valid: the file is corrupt", path);
		close(fd);
		return NULL;
	}
	if (abi > LP_ABI_VERSION) {
		snprintf(err, errlen, "%s: trace event ABI v%u is newer than this layerprof (v%d): "
			 "upgrade layerprof", path, abi, LP_ABI_VERSION);
		close(fd);
		return NULL;
	}
	if (hsize < LP_TRACE_HEADER_SIZE || hsize > 4096 || hsize > size) {
		snprintf(err, errlen, "%s: corrupt file header (header size %u)", path, hsize);
		close(fd);
		return NULL;
	}

	struct lp_reader *r = lp_xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->path = lp_xstrdup(path);
	r->version = version;
	r->file_size = size;
	r->off = hsize;
	r->block_no = 1;
	r->st.file_size = size;
	r->st.bytes = hsize;
	r->rec = lp_xcalloc(1, REC_MAX + REC_PAD);
	if (inflateInit(&r->zs) != Z_OK) {
		snprintf(err, errlen, "cannot initialize zlib");
		lp_reader_close(r);
		return NULL;
	}
	r->zs_ready = true;

	struct blkhdr bh;
	enum blk b = read_block(r, &bh);
	if (b != BLK_OK) {
		if (b == BLK_END)
			snprintf(err, errlen, "%s has no metadata block: the recording stopped "
				 "before it started (%llu bytes)", path, (unsigned long long)size);
		else
			snprintf(err, errlen, "%s: unreadable metadata block: %s", path,
				 r->st.message);
		lp_reader_close(r);
		return NULL;
	}
	if (bh.type != LP_BLOCK_META) {
		snprintf(err, errlen, "%s: the first block is not the metadata block "
			 "(type %u): corrupt trace", path, bh.type);
		lp_reader_close(r);
		return NULL;
	}
	cJSON *j = cJSON_ParseWithLength((const char *)r->raw, r->raw_len);
	bool obj = j && cJSON_IsObject(j);
	cJSON_Delete(j);
	if (!obj) {
		snprintf(err, errlen, "%s: the metadata block is not a JSON object: corrupt trace",
			 path);
		lp_reader_close(r);
		return NULL;
	}
	r->meta = dup_text(r->raw, r->raw_len);
	r->raw_len = 0;
	r->block_no++;
	r->st.blocks = 1;
	r->st.bytes = r->off;
	r->first_events = r->off;
	return r;
}

const char *lp_reader_meta(const struct lp_reader *r)
{
	return r->meta;
}

int lp_reader_next(struct lp_reader *r, const struct lp_hdr **rec)
{
	if (r->done)
		return 0;
	while (r->pos >= r->raw_len) {
		if (!next_events(r)) {
			stop(r);
			return 0;
		}
	}
	/* records_fit() checked the chain when the block was loaded */
	uint16_t size = lp_get_u16(r->raw + r->pos);
	memcpy(r->rec, r->raw + r->pos, size);
	/* the bytes after it are zero: those a longer record left, cleared */
	if (r->rec_dirty > size)
		memset(r->rec + size, 0, r->rec_dirty - size);
	r->rec_dirty = size;
	r->pos += size;
	r->st.records++;
	*rec = (const struct lp_hdr *)r->rec;
	return 1;
}

const uint8_t *lp_reader_lookahead(const struct lp_reader *r, size_t *len)
{
	*len = r->done || r->pos >= r->raw_len ? 0 : r->raw_len - r->pos;
	return *len ? r->raw + r->pos : NULL;
}

const char *lp_reader_trailer(const struct lp_reader *r)
{
	return r->trailer;
}

const struct lp_reader_status *lp_reader_status(const struct lp_reader *r)
{
	return &r->st;
}

int lp_reader_rewind(struct lp_reader *r)
{
	ahead_stop(r);
	r->off = r->first_events;
	r->block_no = 2;
	r->raw_len = r->pos = 0;
	r->done = false;
	r->st.blocks = 1;
	r->st.records = 0;
	r->st.bytes = r->first_events;
	r->st.has_trailer = false;
	r->st.damaged = false;
	r->st.message[0] = '\0';
	return 0;
}

void lp_reader_close(struct lp_reader *r)
{
	if (!r)
		return;
	ahead_stop(r);
	if (r->zs_ready)
		inflateEnd(&r->zs);
	lp_unpacker_free(r->unpacker);
	if (r->fd >= 0)
		close(r->fd);
	free(r->raw);
	free(r->stored);
	free(r->rec);
	free(r->meta);
	free(r->trailer);
	free(r->path);
	free(r);
}
