/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Trace writer (format: trace.h, docs/trace-format.md).
 *
 * The caller (the ring buffer consumer) appends records into an in-memory
 * block buffer. A full buffer is queued for ONE background thread that
 * encodes it (EVENTS: packed then deflated, trace_pack.c; META and TRAILER:
 * zlib) and writes it as one block with one write(2); the caller only waits
 * when the queue is full (back-pressure, counted in `stalls`).
 * The first write error stops the writer: the file is cut back to the last
 * complete block, lp_writer_error() says what happened, and every block
 * written before stays readable.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "le.h"
#include "trace_pack.h"
#include "util.h"

/* Records per block buffer. 1 MiB rather than 256 KiB: a pack's
 * dictionaries start empty in every block (blocks stand alone), and bigger
 * blocks pay for that less often (bench/gen_trace.c, 10M events: 13.29
 * bytes/event with 256 KiB blocks, 11.95 with 1 MiB, 11.57 with 2 MiB). */
#define BLOCK_BYTES (1u << 20)
#define QUEUE_LEN 4              /* full buffers waiting for the thread */
#define NBUFS (QUEUE_LEN + 2)    /* + the one being filled, + the one being written */
#define ZLEVEL 1                 /* codec 1 (META, TRAILER, EVENTS that do not pack) */

/* How EVENTS blocks are stored (LAYERPROF_TRACE_CODEC, for debugging). */
enum wcodec {
	W_PACK,        /* "pack" (default): codec 3, or 2 when deflate does not help */
	W_PACK_STORED, /* "pack-stored": codec 2 */
	W_ZLIB,        /* "zlib": codec 1, a format v1 file (older readers read it) */
	W_STORED,      /* "stored": codec 0, format v1 */
};

struct job {
	uint8_t *buf;
	size_t len;
};

struct lp_writer {
	int fd;
	char *path;

	/* caller side */
	uint8_t *cur;
	size_t cur_len;

	/* the queue, under mu */
	pthread_mutex_t mu;
	pthread_cond_t have_job;   /* thread waits: a job or stop */
	pthread_cond_t have_space; /* caller waits: room in the queue */
	struct job q[QUEUE_LEN];
	unsigned q_head, q_count;
	uint8_t *spare[NBUFS];
	unsigned nspare;
	bool stop;
	pthread_t thread;
	bool thread_started;

	/* used by one thread at a time: open/close in the caller, the
	 * background thread in between */
	enum wcodec wcodec;
	z_stream zs;
	bool zs_ready;
	struct lp_packer *packer;
	uint8_t *out;
	size_t out_cap;
	uint64_t good_end; /* file offset after the last complete block */

	atomic_bool failed;
	char err[512]; /* set once, before `failed` becomes true */
	int err_no;
	_Atomic uint64_t records, bytes, blocks, stalls, invalid;
};

/* ------------------------------------------------------------ encoding */

static int grow_out(struct lp_writer *w, size_t raw_len)
{
	size_t need = LP_BLOCK_HEADER_SIZE + compressBound((uLong)raw_len);
	if (need <= w->out_cap)
		return 0;
	uint8_t *p = realloc(w->out, need);
	if (!p)
		return -1;
	w->out = p;
	w->out_cap = need;
	return 0;
}

/* Build block header + payload for raw[0..len) in w->out; returns its size
 * or 0 on failure. */
static size_t encode_block(struct lp_writer *w, uint8_t type, const uint8_t *raw, size_t len)
{
	if (len > LP_BLOCK_MAX_RAW || grow_out(w, len) < 0)
		return 0;
	uint8_t *payload = w->out + LP_BLOCK_HEADER_SIZE;
	size_t room = w->out_cap - LP_BLOCK_HEADER_SIZE;
	uint8_t codec = LP_CODEC_ZLIB;
	size_t stored = 0;

	/* EVENTS: a pack (never bigger than the records; 0 when it would be,
	 * or the records do not pack: then zlib or stored, as for the rest) */
	if (type == LP_BLOCK_EVENTS && len && w->packer) {
		if (w->wcodec == W_PACK)
			stored = lp_pack_block(w->packer, raw, len, payload, room, &codec);
		else if (w->wcodec == W_PACK_STORED && (stored = lp_pack(w->packer, raw, len,
									 payload, len)))
			codec = LP_CODEC_PACK;
	}
	if (!stored && w->wcodec != W_STORED) {
		codec = LP_CODEC_ZLIB;
		if (deflateReset(&w->zs) != Z_OK)
			return 0;
		w->zs.next_in = (Bytef *)raw;
		w->zs.avail_in = (uInt)len;
		w->zs.next_out = payload;
		w->zs.avail_out = (uInt)room;
		int rc = deflate(&w->zs, Z_FINISH);
		if (rc == Z_STREAM_END && w->zs.total_out < len)
			stored = w->zs.total_out;
	}
	if (!stored) {
		/* incompressible (or zlib trouble): store as is */
		codec = LP_CODEC_STORED;
		if (len)
			memcpy(payload, raw, len);
		stored = len;
	}

	uint8_t *h = w->out;
	lp_put_u32(h + 0, LP_BLOCK_MAGIC);
	h[4] = type;
	h[5] = codec;
	lp_put_u16(h + 6, 0);
	lp_put_u32(h + 8, (uint32_t)len);
	lp_put_u32(h + 12, (uint32_t)stored);
	/* libdeflate's CRC-32 is zlib's (the same polynomial and values),
	 * several times faster on the ~100 KiB payloads; the reader checks
	 * both with it too */
	lp_put_u32(h + 16, libdeflate_crc32(0, payload, stored));
	lp_put_u32(h + 20, libdeflate_crc32(0, h, 20));
	return LP_BLOCK_HEADER_SIZE + stored;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Record the first error, in one sentence, and stop the writer. */
static void fail(struct lp_writer *w, const char *what, int err)
{
	if (atomic_load(&w->failed))
		return;
	w->err_no = err;
	char sz[32];
	const char *why = strerror(err);
	const char *hint = err == ENOSPC ? " (the disk is full)"
			 : err == EDQUOT ? " (disk quota exceeded)"
			 : err == EFBIG ? " (file too large)"
			 : "";
	snprintf(w->err, sizeof(w->err),
		 "%s %s failed: %s%s; recording to it stopped, and the %llu blocks "
		 "already written (%s) stay readable",
		 what, w->path, why, hint, (unsigned long long)atomic_load(&w->blocks),
		 lp_fmt_bytes(w->good_end, sz, sizeof(sz)));
	atomic_store(&w->failed, true);
}

/* Encode and write one block; on failure cut the file back to the last
 * complete block (best effort) and stop the writer. */
static int put_block(struct lp_writer *w, uint8_t type, const uint8_t *raw, size_t len)
{
	if (atomic_load(&w->failed))
		return -1;
	size_t n = encode_block(w, type, raw, len);
	if (n == 0) {
		fail(w, "compressing a block of", ENOMEM);
		return -1;
	}
	if (write_all(w->fd, w->out, n) < 0) {
		int e = errno;
		if (ftruncate(w->fd, (off_t)w->good_end) == 0)
			(void)lseek(w->fd, (off_t)w->good_end, SEEK_SET);
		fail(w, "writing", e);
		return -1;
	}
	w->good_end += n;
	atomic_fetch_add(&w->blocks, 1);
	atomic_store(&w->bytes, w->good_end);
	return 0;
}

/* ----------------------------------------------------- background thread */

static void *writer_thread(void *arg)
{
	struct lp_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->q_count == 0 && !w->stop)
			pthread_cond_wait(&w->have_job, &w->mu);
		if (w->q_count == 0)
			break; /* stop, and nothing left */
		struct job j = w->q[w->q_head];
		w->q_head = (w->q_head + 1) % QUEUE_LEN;
		w->q_count--;
		pthread_mutex_unlock(&w->mu);

		/* after a failure, queued blocks are dropped: the caller already
		 * gets -1 from append */
		put_block(w, LP_BLOCK_EVENTS, j.buf, j.len);

		pthread_mutex_lock(&w->mu);
		w->spare[w->nspare++] = j.buf;
		pthread_cond_broadcast(&w->have_space);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Hand the current buffer to the thread (waiting if the queue is full) and
 * take a fresh one. */
static void submit(struct lp_writer *w)
{
	if (w->cur_len == 0)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->q_count == QUEUE_LEN || w->nspare == 0) {
		atomic_fetch_add(&w->stalls, 1);
		while (w->q_count == QUEUE_LEN || w->nspare == 0)
			pthread_cond_wait(&w->have_space, &w->mu);
	}
	w->q[(w->q_head + w->q_count) % QUEUE_LEN] = (struct job){ w->cur, w->cur_len };
	w->q_count++;
	w->cur = w->spare[--w->nspare];
	w->cur_len = 0;
	pthread_cond_signal(&w->have_job);
	pthread_mutex_unlock(&w->mu);
}

/* Stop the thread after it has written everything queued. */
static void join_thread(struct lp_writer *w)
{
	if (!w->thread_started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->have_job);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->thread_started = false;
}

/* ------------------------------------------------------------------ API */

static void destroy(struct lp_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->zs_ready)
		deflateEnd(&w->zs);
	lp_packer_free(w->packer);
	free(w->out);
	free(w->cur);
	for (unsigned i = 0; i < w->nspare; i++)
		free(w->spare[i]);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->have_job);
	pthread_cond_destroy(&w->have_space);
	free(w->path);
	free(w);
}

/* Create path for writing: refuse symlinks and non-regular files, replace a
 * regular file, 0600 whatever the umask. */
static int create_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen,
				 "%s is a symbolic link; refusing to write the trace through it "
				 "(remove it or choose another path)", path);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a regular file; refusing to "
				 "replace it", path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
			return -1;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST || e == ELOOP)
			snprintf(err, errlen, "%s was re-created by someone else while layerprof "
				 "was opening it; refusing to write there", path);
		else
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
		return -1;
	}
	if (fchmod(fd, 0600) < 0) {
		snprintf(err, errlen, "cannot set mode 0600 on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

struct lp_writer *lp_writer_open(const char *path, const char *meta_json, char *err,
				 size_t errlen)
{
	if (!path || !*path) {
		snprintf(err, errlen, "no trace file path given");
		return NULL;
	}
	if (!meta_json)
		meta_json = "{}";
	size_t meta_len = strlen(meta_json);
	if (meta_len > LP_BLOCK_MAX_RAW) {
		snprintf(err, errlen, "trace metadata too large (%zu bytes)", meta_len);
		return NULL;
	}

	enum wcodec wc = W_PACK;
	const char *env = getenv("LAYERPROF_TRACE_CODEC");
	if (env && *env) {
		if (!strcmp(env, "pack"))
			wc = W_PACK;
		else if (!strcmp(env, "pack-stored"))
			wc = W_PACK_STORED;
		else if (!strcmp(env, "zlib"))
			wc = W_ZLIB;
		else if (!strcmp(env, "stored"))
			wc = W_STORED;
		else {
			snprintf(err, errlen, "LAYERPROF_TRACE_CODEC=%s: expected pack, pack-stored, "
				 "zlib or stored", env);
			return NULL;
		}
	}

	struct lp_writer *w = lp_xcalloc(1, sizeof(*w));
	w->fd = -1;
	w->path = lp_xstrdup(path);
	w->wcodec = wc;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->have_job, NULL);
	pthread_cond_init(&w->have_space, NULL);
	if (deflateInit(&w->zs, ZLEVEL) != Z_OK) {
		snprintf(err, errlen, "cannot initialize zlib");
		destroy(w);
		return NULL;
	}
	w->zs_ready = true;
	if (wc == W_PACK || wc == W_PACK_STORED) {
		w->packer = lp_packer_new();
		if (!w->packer) {
			snprintf(err, errlen, "out of memory");
			destroy(w);
			return NULL;
		}
	}
	w->cur = lp_xmalloc(BLOCK_BYTES);
	for (unsigned i = 0; i < NBUFS - 1; i++)
		w->spare[w->nspare++] = lp_xmalloc(BLOCK_BYTES);

	w->fd = create_file(path, err, errlen);
	if (w->fd < 0) {
		destroy(w);
		return NULL;
	}

	uint8_t hdr[LP_TRACE_HEADER_SIZE] = { 0 };
	memcpy(hdr, LP_TRACE_MAGIC, 8);
	/* v1 when no EVENTS block can be a pack: older readers read it */
	lp_put_u32(hdr + 8, w->packer ? LP_TRACE_FORMAT_VERSION : 1);
	lp_put_u32(hdr + 12, LP_TRACE_HEADER_SIZE);
	lp_put_u32(hdr + 16, LP_ABI_VERSION);
	lp_put_u32(hdr + 20, 0); /* flags */
	lp_put_u64(hdr + 24, 0); /* reserved */
	if (write_all(w->fd, hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
		unlink(path);
		destroy(w);
		return NULL;
	}
	w->good_end = sizeof(hdr);
	if (put_block(w, LP_BLOCK_META, (const uint8_t *)meta_json, meta_len) < 0) {
		snprintf(err, errlen, "writing %s failed: %s", path, strerror(w->err_no));
		unlink(path);
		destroy(w);
		return NULL;
	}

	/* The thread gets no signals: SIGINT/SIGTERM go to the caller. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, writer_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		pthread_setname_np(w->thread, "lp-writer"); /* for top -H and perf */
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the trace writer thread: %s", strerror(rc));
		unlink(path);
		destroy(w);
		return NULL;
	}
	w->thread_started = true;
	return w;
}

int lp_writer_append(struct lp_writer *w, const void *rec, size_t len)
{
	if (atomic_load_explicit(&w->failed, memory_order_relaxed))
		return -1;
	uint16_t size;
	if (!rec || len < sizeof(struct lp_hdr) || len > UINT16_MAX ||
	    (memcpy(&size, rec, sizeof(size)), size != len)) {
		atomic_fetch_add_explicit(&w->invalid, 1, memory_order_relaxed);
		errno = EINVAL;
		return -1;
	}
	if (BLOCK_BYTES - w->cur_len < len)
		submit(w);
	memcpy(w->cur + w->cur_len, rec, len);
	w->cur_len += len;
	/* only this thread writes the count: a load and a store, not a
	 * locked read-modify-write per record */
	atomic_store_explicit(&w->records,
			      atomic_load_explicit(&w->records, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return 0;
}

int lp_writer_flush(struct lp_writer *w)
{
	if (atomic_load(&w->failed))
		return -1;
	submit(w);
	return 0;
}

const char *lp_writer_error(const struct lp_writer *w)
{
	return atomic_load(&((struct lp_writer *)w)->failed) ? w->err : NULL;
}

uint64_t lp_writer_records(const struct lp_writer *w)
{
	return atomic_load(&((struct lp_writer *)w)->records);
}

uint64_t lp_writer_bytes(const struct lp_writer *w)
{
	return atomic_load(&((struct lp_writer *)w)->bytes);
}

uint64_t lp_writer_stalls(const struct lp_writer *w)
{
	return atomic_load(&((struct lp_writer *)w)->stalls);
}

uint64_t lp_writer_invalid(const struct lp_writer *w)
{
	return atomic_load(&((struct lp_writer *)w)->invalid);
}

int lp_writer_close(struct lp_writer *w, const char *trailer_json, char *err, size_t errlen)
{
	if (!w)
		return 0;
	if (!atomic_load(&w->failed))
		submit(w);
	join_thread(w);

	int rc = 0;
	if (!trailer_json)
		trailer_json = "{}";
	size_t tlen = strlen(trailer_json);
	if (!atomic_load(&w->failed) && tlen > LP_BLOCK_MAX_RAW) {
		snprintf(err, errlen, "trace trailer too large (%zu bytes); not written", tlen);
		rc = -1;
	} else if (put_block(w, LP_BLOCK_TRAILER, (const uint8_t *)trailer_json, tlen) < 0) {
		rc = -1;
	}
	if (rc == 0 && fsync(w->fd) < 0 && errno != EINVAL && errno != EROFS) {
		fail(w, "syncing", errno);
		rc = -1;
	}
	if (close(w->fd) < 0 && rc == 0) {
		fail(w, "closing", errno);
		rc = -1;
	}
	w->fd = -1;
	if (rc < 0 && atomic_load(&w->failed))
		snprintf(err, errlen, "%s", w->err);
	destroy(w);
	return rc;
}
