/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The trace file (docs/architecture.md, "Trace format"): self-describing, versioned, compact,
 * checksummed, streamable, and readable after a crash.
 *
 *   file   := file_header block*
 *   file_header (32 bytes): magic "LPROF\0\r\n", u32 format_version,
 *          u32 header_size (32), u32 abi_version, u32 flags, u64 reserved
 *   block  := block_header payload
 *   block_header (24 bytes): u32 magic "LPBK", u8 type, u8 codec,
 *          u16 reserved, u32 raw_len, u32 stored_len, u32 payload_crc32
 *          (of the stored bytes), u32 header_crc32 (of the 20 bytes before it)
 *   types:  META (first block: JSON object, see below), EVENTS (a run of
 *          records, each starting with struct lp_hdr), TRAILER (last block:
 *          JSON totals and lost counts).
 *   codec:  0 stored, 1 zlib; EVENTS blocks of format v2 also 2 pack,
 *          3 pack then raw deflate (trace_pack.c: the records in columns,
 *          predicted; unpacked byte for byte to what the writer was given).
 *
 * A block is written whole with one write(2) and never rewritten, so after
 * SIGKILL or a full disk every complete block before the damage is intact;
 * the reader stops at the first bad block and says what it recovered.
 * Full reference: docs/trace-format.md.
 * The reader trusts no length: raw_len and stored_len are capped, records
 * must fit inside their block, and lp_hdr.size >= sizeof(struct lp_hdr).
 */
#ifndef LAYERPROF_TRACE_H
#define LAYERPROF_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

#define LP_TRACE_MAGIC "LPROF\0\r\n"
/* v2: EVENTS blocks may be packs (codecs 2, 3). A v1 file has codecs 0 and
 * 1 only; this reader reads both. */
#define LP_TRACE_FORMAT_VERSION 2
#define LP_TRACE_HEADER_SIZE 32
#define LP_BLOCK_MAGIC 0x4b42504cu /* "LPBK" little-endian */
#define LP_BLOCK_HEADER_SIZE 24
#define LP_BLOCK_MAX_RAW (16u << 20)    /* a reader refuses larger blocks */

enum lp_block_type { LP_BLOCK_META = 1, LP_BLOCK_EVENTS = 2, LP_BLOCK_TRAILER = 3 };
enum lp_block_codec {
	LP_CODEC_STORED = 0,    /* the payload as is */
	LP_CODEC_ZLIB = 1,      /* zlib (RFC 1950) */
	LP_CODEC_PACK = 2,      /* EVENTS only: a pack (trace_pack.h) */
	LP_CODEC_PACK_ZLIB = 3, /* EVENTS only: a pack, then raw deflate (RFC 1951) */
};

/* ---------------------------------------------------------------- writer */

struct lp_writer;

/*
 * Create PATH (mode 0600; an existing regular file is replaced, a symlink or
 * other non-regular file at PATH is refused) and write the header and the
 * META block (meta_json: a JSON object, see record.c). Events are buffered
 * and compressed/written by a background thread so the caller (the ring
 * buffer consumer) never waits on zlib or the disk.
 * On failure returns NULL and puts one line in err.
 */
struct lp_writer *lp_writer_open(const char *path, const char *meta_json,
				 char *err, size_t errlen);
/* Append one record (starts with struct lp_hdr, len == hdr.size).
 * Returns 0, or -1 once the writer has failed (lp_writer_error says why).
 * A malformed record (len < sizeof(struct lp_hdr), len != hdr.size) is not
 * written: -1 with errno EINVAL, counted by lp_writer_invalid(), and the
 * writer keeps going (lp_writer_error stays NULL).
 * Waits only when the background thread is 4 blocks (4 MiB of records)
 * behind (back-pressure, counted by lp_writer_stalls()). One caller thread.
 * EVENTS blocks are packed (codec 3); LAYERPROF_TRACE_CODEC=zlib in the
 * environment of lp_writer_open() makes a v1 file with zlib blocks instead
 * (=stored: uncompressed; =pack-stored: packs not deflated), for debugging. */
int lp_writer_append(struct lp_writer *w, const void *rec, size_t len);
/* Push buffered records out as a block now (e.g. on a timer). */
int lp_writer_flush(struct lp_writer *w);
/* First error that stopped the writer (ENOSPC...), or NULL. */
const char *lp_writer_error(const struct lp_writer *w);
/* Totals so far. */
uint64_t lp_writer_records(const struct lp_writer *w);
uint64_t lp_writer_bytes(const struct lp_writer *w); /* bytes on disk */
/* Times append/flush had to wait for the background thread (queue full). */
uint64_t lp_writer_stalls(const struct lp_writer *w);
/* Malformed records refused by append. */
uint64_t lp_writer_invalid(const struct lp_writer *w);
/* Flush, write the TRAILER block (trailer_json), fsync, close, free.
 * Returns 0 or -1 (err filled). Always frees w. */
int lp_writer_close(struct lp_writer *w, const char *trailer_json,
		    char *err, size_t errlen);

/* ---------------------------------------------------------------- reader */

struct lp_reader;

struct lp_reader_status {
	uint64_t blocks;        /* good blocks read */
	uint64_t records;       /* records returned */
	uint64_t bytes;         /* file bytes covered by good blocks */
	uint64_t file_size;
	bool has_trailer;       /* false: recording did not finish cleanly */
	bool damaged;           /* stopped at a bad or incomplete block */
	char message[256];      /* what was recovered / what is wrong */
};

/* Open and check the header and META block. NULL + one line in err when the
 * file is missing, not a layerprof trace, of a newer version, or its META
 * block is unreadable. */
struct lp_reader *lp_reader_open(const char *path, char *err, size_t errlen);
/* The META JSON text (NUL-terminated), owned by the reader. */
const char *lp_reader_meta(const struct lp_reader *r);
/*
 * Next record: returns 1 and points *rec at it (valid until the next call;
 * aligned to 8; rec->size bytes readable, and the 256 bytes after them are
 * zero), 0 at the end of the readable data (damage included: see status),
 * never crashes on hostile bytes. Records of unknown kinds are returned too
 * (skip them); lp_ev_valid() (event.h) checks a known kind's lengths.
 */
int lp_reader_next(struct lp_reader *r, const struct lp_hdr **rec);
/*
 * The records after the one lp_reader_next() gave last, to the end of its
 * decoded block: *len bytes (0 at the end of the block), in place, neither
 * aligned nor checked (read them with memcpy, trust no length). A hint for
 * prefetching what they will need, never a way to read them.
 */
const uint8_t *lp_reader_lookahead(const struct lp_reader *r, size_t *len);
/* The TRAILER JSON text, or NULL when absent; valid after next() returned 0. */
const char *lp_reader_trailer(const struct lp_reader *r);
const struct lp_reader_status *lp_reader_status(const struct lp_reader *r);
/* Traces bigger than this (bytes) are decoded ahead by a thread (the
 * same records and status; tests set 0 to take that road). */
extern uint64_t lp_reader_ahead_min;
/* Back to the first record (for two-pass analyses). */
int lp_reader_rewind(struct lp_reader *r);
void lp_reader_close(struct lp_reader *r);

#endif /* LAYERPROF_TRACE_H */
