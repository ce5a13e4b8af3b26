// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: a hostile trace file, read the way `layerprof dump`,
 * `report`, `export` and `diff` read what other people send.
 *
 * The input is the whole file. It goes into one memfd (opened by path,
 * /proc/self/fd/N, like a real file) and is then:
 *   1. read with the trace reader: META, every record (each checked with
 *      lp_ev_valid() and every accessor of its kind, fed to the path
 *      resolver), the trailer and the status;
 *   2. read again after lp_reader_rewind(): the same records must come back
 *      (same count, same bytes in the same order), the same status;
 *   3. given to `layerprof dump`, `layerprof report` and `layerprof diff`
 *      (the trace against itself; text or --json: bits 0 and 1 of the file
 *      header's reserved byte 30 choose), their
 *      output captured and checked for control characters: a trace someone
 *      sent must not put terminal escape sequences (ESC ] ... BEL sets the
 *      title or the clipboard) on your terminal, and JSON has none raw;
 *   2b. the records read, whatever they are, packed again (src/trace_pack.c,
 *      as the writer would) and unpacked: the same bytes must come back;
 *   4. loaded into the model (correlate + analyze) directly, then exported
 *      to one format (Chrome JSON, folded stacks, SVG, speedscope, OTLP JSON,
 *      OpenMetrics, HTML or Perfetto: bits 2-7 of byte 30 choose, with the
 *      metric) into memory, and the output checked: the JSON parses, every
 *      folded line is "frame;frame... COUNT", the SVG has no markup from the
 *      trace (one <script>, one CDATA end, no stray '<' outside the script),
 *      the HTML's data islands close no <script> and open no comment (a
 *      trace someone sent must not inject script into the page or picture
 *      you open), OpenMetrics ends in "# EOF", the Perfetto file is packets
 *      end to end.
 *
 * Checksums: every block has two CRC32s, so almost every mutation would be
 * refused at the first checksum and nothing past it would be fuzzed. When
 * the file header's reserved byte 31 is 0 (as in every real trace, and in
 * the seeds) the harness first REPAIRS the checksums: for each block whose
 * header and payload lie inside the input, it recomputes the payload CRC
 * and the header CRC. A mutation of byte 31 turns repair off, which fuzzes
 * the checksum paths themselves. The seeds are real traces re-encoded with
 * stored (uncompressed) blocks (tests/reliability/lprof_blocks store), so
 * mutations land in records, not in zlib streams; and the same traces
 * written again by the writer with packed EVENTS blocks (pack-*.lprof: codec
 * 2, a pack not deflated, so that mutations land in the pack decoder of
 * src/trace_pack.c; packz-*: codec 3, as record writes). See
 * fuzz/make-trace-seeds.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cJSON.h>

#include "commands.h"
#include "event.h"
#include "export.h"
#include "le.h"
#include "model.h"
#include "resolve.h"
#include "trace.h"
#include "trace_pack.h"

#include "fuzz_require.h"

static int g_fd = -1, g_out = -1;
static char g_path[64];
static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_fd = memfd_create("lp-fuzz-trace", MFD_CLOEXEC);
	if (g_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(g_path, sizeof(g_path), "/proc/self/fd/%d", g_fd);
	g_null = fopen("/dev/null", "w");
	/* dump and report print to stdout: into a memfd, checked after each
	 * run (libFuzzer and the sanitizers report on stderr) */
	g_out = memfd_create("lp-fuzz-out", MFD_CLOEXEC);
	if (g_out < 0 || dup2(g_out, 1) < 0)
		abort();
	return 0;
}

/* Recompute the CRCs of every block that fits in the input (see above). */
static void repair(uint8_t *d, size_t n)
{
	if (n < LP_TRACE_HEADER_SIZE)
		return;
	uint32_t hsize = lp_get_u32(d + 12);
	size_t off = hsize >= LP_TRACE_HEADER_SIZE && hsize <= n ? hsize : LP_TRACE_HEADER_SIZE;
	while (n - off >= LP_BLOCK_HEADER_SIZE) {
		uint8_t *h = d + off;
		uint32_t stored = lp_get_u32(h + 12);
		if (stored > n - off - LP_BLOCK_HEADER_SIZE)
			break;
		lp_put_u32(h + 16, (uint32_t)crc32(0L, h + LP_BLOCK_HEADER_SIZE, stored));
		lp_put_u32(h + 20, (uint32_t)crc32(0L, h, 20));
		off += LP_BLOCK_HEADER_SIZE + stored;
	}
}

static volatile size_t g_sink;

static void touch(const void *p, size_t n)
{
	/* read every byte so ASan sees any overrun */
	const volatile uint8_t *b = p;
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += b[i];
	g_sink += s;
}

static void touch_str(const char *s, size_t len)
{
	if (!s)
		return;
	touch(s, len);
	REQUIRE(s[len] == '\0', "accessor string NUL-terminated at *len");
}

/* Every accessor of the record's kind. */
static void visit(struct lp_resolver *res, const struct lp_hdr *h)
{
	touch(h, h->size);
	(void)lp_kind_name(h->kind);
	(void)lp_kind_min_size(h->kind);
	if (!lp_ev_valid(h)) {
		lp_resolver_feed(res, h);
		return;
	}
	size_t len = 0;
	const char *s;
	struct lp_str_iter it;
	char buf[4096];
	switch (h->kind) {
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		for (unsigned i = 0; i < 8; i++) {
			s = lp_ev_syscall_str(ev, i, &len);
			touch_str(s, len);
			(void)lp_ev_syscall_str_truncated(ev, i);
			(void)lp_resolve_path(res, ev, (int)i, buf, sizeof(buf));
		}
		for (unsigned a = 0; a < 6; a++) {
			unsigned idx;
			s = lp_ev_syscall_arg_str(ev, a, &idx, &len);
			touch_str(s, len);
		}
		break;
	}
	case LP_EV_EXEC:
		s = lp_ev_exec_filename((const void *)h, &len);
		touch_str(s, len);
		break;
	case LP_EV_EXEC_ARGV:
		lp_ev_argv_iter((const void *)h, &it);
		while ((s = lp_str_next(&it, &len)))
			touch_str(s, len);
		break;
	case LP_REC_PROC_SEED:
		s = lp_ev_seed_exe((const void *)h, &len);
		touch_str(s, len);
		s = lp_ev_seed_cwd((const void *)h, &len);
		touch_str(s, len);
		lp_ev_seed_cmdline_iter((const void *)h, &it);
		while ((s = lp_str_next(&it, &len)))
			touch_str(s, len);
		break;
	case LP_REC_FD_SEED:
		s = lp_ev_fd_seed_path((const void *)h, &len);
		touch_str(s, len);
		break;
	case LP_REC_PROGRESS:
		s = lp_ev_progress_text((const void *)h, &len);
		if (s)
			touch(s, len);
		break;
	case LP_REC_CONTEXT_FILE:
		s = lp_ev_context_path((const void *)h, &len);
		touch_str(s, len);
		break;
	default:
		break;
	}
	lp_resolver_feed(res, h);
	const char *p = lp_resolver_cwd(res, h->tgid);
	if (p)
		touch(p, strlen(p));
	p = lp_resolver_comm(res, h->tgid);
	if (p)
		touch(p, strlen(p));
	p = lp_resolver_exe(res, h->tgid);
	if (p)
		touch(p, strlen(p));
	p = lp_resolver_fd_path(res, h->tgid, (int)h->aux);
	if (p)
		touch(p, strlen(p));
}

static uint32_t rec_crc(uint32_t crc, const struct lp_hdr *h)
{
	return (uint32_t)crc32(crc, (const Bytef *)h, h->size);
}

static size_t count(const char *hay, size_t n, const char *needle)
{
	size_t c = 0, k = strlen(needle);
	for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, k)); p += k)
		c++;
	return c;
}

static void check_folded(const char *out, size_t n)
{
	const char *p = out, *end = out + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		REQUIRE(nl, "folded export: every line ends in \\n");
		const char *sp = nl;
		while (sp > p && sp[-1] >= '0' && sp[-1] <= '9')
			sp--;
		REQUIRE(sp < nl && sp > p && sp[-1] == ' ', "folded export: line ends in ' COUNT'");
		for (const char *c = p; c < sp - 1; c++)
			REQUIRE((unsigned char)*c >= 0x20 && *c != 0x7f, "folded export: no control characters");
		REQUIRE(sp - 1 > p && p[0] != ';' && sp[-2] != ';' && !memmem(p, (size_t)(sp - 1 - p), ";;", 2),
			"folded export: no empty frame");
		p = nl + 1;
	}
}

static void check_svg(const char *out, size_t n)
{
	REQUIRE(count(out, n, "<script") <= 1 && count(out, n, "]]>") <= 1,
		"svg export: no <script> or CDATA end from the trace");
	/* outside the one script block, '<' only opens markup of the template */
	const char *cs = memmem(out, n, "<![CDATA[", 9), *ce = memmem(out, n, "]]>", 3);
	for (size_t i = 0; i < n; i++) {
		if (cs && ce && out + i >= cs && out + i < ce + 3)
			continue;
		if (out[i] != '<')
			continue;
		char c = i + 1 < n ? out[i + 1] : 0;
		REQUIRE((c >= 'a' && c <= 'z') || c == '/' || c == '?' || c == '!',
			"svg export: '<' outside markup");
	}
}

static void check_json(const char *out, size_t n, const char *what)
{
	cJSON *j = cJSON_ParseWithLength(out, n);
	REQUIRE(j && cJSON_IsObject(j), what);
	cJSON_Delete(j);
}

/* A Perfetto trace: TracePacket fields (1, length-delimited) end to end. */
static void check_perfetto(const char *out, size_t n)
{
	const uint8_t *p = (const uint8_t *)out, *end = p + n;
	while (p < end) {
		REQUIRE(*p == 0x0a, "perfetto export: a TracePacket field (1, length-delimited)");
		p++;
		uint64_t len = 0;
		int shift = 0;
		for (;;) {
			REQUIRE(p < end && shift < 64, "perfetto export: a packet's length inside the file");
			len |= (uint64_t)(*p & 0x7f) << shift;
			shift += 7;
			if (!(*p++ & 0x80))
				break;
		}
		REQUIRE(len <= (uint64_t)(end - p), "perfetto export: a packet inside the file");
		p += len;
	}
}

static void check_prom(const char *out, size_t n)
{
	REQUIRE(n >= 6 && !memcmp(out + n - 6, "# EOF\n", 6), "OpenMetrics export ends with # EOF");
	REQUIRE(!memchr(out, '\0', n), "OpenMetrics export: no NUL");
}

static void check_html(const char *out, size_t n)
{
	/* the trace's strings sit in JSON data islands: none may close one */
	REQUIRE(count(out, n, "<script") == count(out, n, "</script"), "html export: every <script> closed once");
	REQUIRE(!memmem(out, n, "<!--", 4), "html export: no comment opened from the trace");
}

/* Export kinds, chosen by the fuzzer (which % NEXPORT), each checked. */
enum { EX_CHROME, EX_FOLDED, EX_SVG, EX_SPEEDSCOPE, EX_OTLP, EX_PROM, EX_HTML, EX_PERFETTO, NEXPORT };

static void export_one(const struct lp_model *m, struct lp_reader *r, unsigned which)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		abort();
	struct lp_xout o;
	lp_xout_init(&o, f, false);
	struct lp_export_opts opt = { .metric = (enum lp_export_metric)(which / NEXPORT % 3),
				      .trace_name = "fuzz<&\">.lprof", .max_events = 2000 };
	char err[512];
	int rc;
	switch (which % NEXPORT) {
	case EX_CHROME: rc = lp_export_chrome(m, r, &o, &opt, err, sizeof(err)); break;
	case EX_FOLDED: rc = lp_export_folded(m, r, &o, &opt, err, sizeof(err)); break;
	case EX_SVG: rc = lp_export_svg(m, r, &o, &opt, err, sizeof(err)); break;
	case EX_SPEEDSCOPE: rc = lp_export_speedscope(m, r, &o, &opt, err, sizeof(err)); break;
	case EX_OTLP: rc = lp_export_otlp_json(m, r, &o, &opt, err, sizeof(err)); break;
	case EX_PROM: rc = lp_export_prom(m, r, &o, &opt, err, sizeof(err)); break;
	case EX_HTML: rc = lp_export_html(m, r, &o, &opt, err, sizeof(err)); break;
	default: rc = lp_export_perfetto(m, r, &o, &opt, err, sizeof(err)); break;
	}
	lp_xout_finish(&o);
	fclose(f);
	if (rc == 0) {
		switch (which % NEXPORT) {
		case EX_CHROME: check_json(out, n, "chrome export is one JSON object"); break;
		case EX_FOLDED: check_folded(out, n); break;
		case EX_SVG: check_svg(out, n); break;
		case EX_SPEEDSCOPE: check_json(out, n, "speedscope export is one JSON object"); break;
		case EX_OTLP: check_json(out, n, "OTLP JSON export is one JSON object"); break;
		case EX_PROM: check_prom(out, n); break;
		case EX_HTML: check_html(out, n); break;
		default: check_perfetto(out, n); break;
		}
	}
	free(out);
}

/* 2b: pack the records read (up to 1 MiB of them, as one block), unpack,
 * compare; both as a pack (codec 2) and as the writer stores it */
static uint8_t g_blk[1 << 20], g_pk[4 << 20], g_unp[1 << 20];
static size_t g_blen;

static void repack_check(void)
{
	static struct lp_packer *p;
	static struct lp_unpacker *u;
	if (!g_blen)
		return;
	if (!p) {
		p = lp_packer_new();
		u = lp_unpacker_new();
		REQUIRE(p && u, "packer and unpacker");
	}
	char err[256];
	/* (0: odd records, e.g. paths of one-byte components, make a pack
	 * bigger than 4x the records; the writer stores such a block with zlib) */
	size_t n = lp_pack(p, g_blk, g_blen, g_pk, sizeof(g_pk));
	long r = n ? lp_unpack(u, g_pk, n, g_unp, g_blen, err, sizeof(err)) : 1;
	REQUIRE(r > 0 && (!n || !memcmp(g_unp, g_blk, g_blen)), "a pack unpacks to the same records");
	uint8_t codec = 0;
	n = lp_pack_block(p, g_blk, g_blen, g_pk, sizeof(g_pk), &codec);
	if (n) {
		r = lp_unpack_block(u, codec, g_pk, n, g_unp, g_blen, err, sizeof(err));
		REQUIRE(r > 0 && !memcmp(g_unp, g_blk, g_blen),
			"a stored block unpacks to the same records");
	}
	g_blen = 0;
}

static void read_twice(unsigned which)
{
	char err[512];
	struct lp_reader *r = lp_reader_open(g_path, err, sizeof(err));
	if (!r) {
		REQUIRE(err[0] && !strchr(err, '\n'), "a refused file gets one line saying why");
		return;
	}
	const char *meta = lp_reader_meta(r);
	touch(meta, strlen(meta));

	struct lp_resolver *res = lp_resolver_new();
	const struct lp_hdr *h;
	uint64_t n1 = 0;
	uint32_t c1 = 0;
	while (lp_reader_next(r, &h) == 1) {
		REQUIRE(h->size >= sizeof(struct lp_hdr) && !((uintptr_t)h & 7), "records: size >= lp_hdr, aligned to 8");
		visit(res, h);
		c1 = rec_crc(c1, h);
		n1++;
		if (sizeof(g_blk) - g_blen < h->size)
			repack_check();
		memcpy(g_blk + g_blen, h, h->size);
		g_blen += h->size;
	}
	repack_check();
	REQUIRE(lp_reader_next(r, &h) == 0, "next() stays at the end");
	lp_resolver_free(res);
	const char *t = lp_reader_trailer(r);
	if (t)
		touch(t, strlen(t));
	struct lp_reader_status st1 = *lp_reader_status(r);
	REQUIRE(st1.records == n1 && st1.bytes <= st1.file_size && memchr(st1.message, 0, sizeof(st1.message)), "status: records counted, bytes <= file size, message terminated");

	lp_reader_rewind(r);
	uint64_t n2 = 0;
	uint32_t c2 = 0;
	while (lp_reader_next(r, &h) == 1) {
		c2 = rec_crc(c2, h);
		n2++;
	}
	const struct lp_reader_status *st2 = lp_reader_status(r);
	REQUIRE(n2 == n1 && c2 == c1 && st2->blocks == st1.blocks && st2->bytes == st1.bytes && st2->has_trailer == st1.has_trailer && st2->damaged == st1.damaged, "after rewind() a second pass sees the same records and status");

	/* the model, as report/export/diff build it, and one export */
	struct lp_model *m = lp_model_from_reader(r, NULL, err, sizeof(err));
	if (m) {
		lp_reader_rewind(r);
		export_one(m, r, which);
	}
	lp_model_free(m);
	lp_reader_close(r);
}

/* What a command printed: no control character but \n and \t. */
static void check_output(const char *name, const char *opt)
{
	static char buf[1 << 16];
	off_t off = 0;
	ssize_t n;
	while ((n = pread(g_out, buf, sizeof(buf), off)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
				fprintf(stderr, "%s %s: byte 0x%02x at offset %lld of its output\n", name,
					opt ? opt : "(text)", c, (long long)(off + i));
				REQUIRE(0, "no control characters (terminal escapes) in dump/report output");
			}
		}
		off += n;
	}
	if (ftruncate(g_out, 0) < 0 || lseek(g_out, 0, SEEK_SET) < 0)
		abort();
}

static void run_cmd(int (*cmd)(int, char **), const char *name, const char *opt)
{
	/* diff compares the trace with itself: two models of it, every step paired */
	bool two = !strcmp(name, "diff");
	char *argv[5] = { (char *)name, opt ? (char *)opt : g_path, g_path, two && opt ? g_path : NULL, NULL };
	int argc = 2 + (opt != NULL) + two;
	if (!two && !opt)
		argv[2] = NULL;
	/* their one-line warnings go to /dev/null too (sanitizer reports do
	 * not use stdio) */
	FILE *saved = stderr;
	stderr = g_null;
	(void)cmd(argc, argv);
	stderr = saved;
	fflush(stdout);
	check_output(name, opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (4u << 20))
		return -1; /* keep each run fast: a big claimed length costs only bytes of the header */
	uint8_t *d = malloc(size ? size : 1);
	memcpy(d, data, size);
	if (size >= LP_TRACE_HEADER_SIZE && d[31] == 0)
		repair(d, size);
	if (ftruncate(g_fd, 0) < 0 || (size && pwrite(g_fd, d, size, 0) != (ssize_t)size))
		abort();
	free(d);

	/* text or JSON, and which export, chosen by the header's reserved
	 * byte 30 (0 in real traces: text dump, JSON report, Chrome JSON by
	 * time), to keep each run short */
	uint8_t pick = size > 30 ? data[30] : 0;
	read_twice(pick >> 2);
	run_cmd(cmd_dump, "dump", pick & 1 ? "--json" : NULL);
	run_cmd(cmd_report, "report", pick & 2 ? NULL : "--json");
	run_cmd(cmd_diff, "diff", pick & 1 ? "--json" : NULL);
	return 0;
}
