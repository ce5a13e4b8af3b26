/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Format rules of `layerprof export` and `layerprof diff`, on synthetic
 * recordings written with the trace writer (tests/exports/synth.h):
 *  - chrome: valid JSON (cJSON), Object Format keys, every X has dur, no two
 *    X of one (pid, tid) overlap (proper nesting only), timestamps monotone
 *    per thread, process/thread names for everything drawn, step names as
 *    BuildKit prints them, fork->exec flows paired, counters, tiny calls
 *    merged, the event cap honored and said;
 *  - gzip: one member that inflates to the same bytes as the plain JSON;
 *  - folded: every line matches ^[^ ]+( [^ ]+)* [1-9][0-9]*$, names sanitized;
 *  - svg: well-formed XML (own checker), titles, escaping, legend;
 *  - command line: suffix rules, exit statuses, no half-written files;
 *  - diff: names the changed context file and the upstream miss.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../exports/synth.h"
#include "export.h"
#include "commands.h"
#include "exitcode.h"
#include "model.h"
#include "clean_utf8.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lp-test-export.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[512];
	if (getenv("LP_TEST_KEEP")) /* look at the files a failing test made */
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		/* best effort */
	}
}

TestSuite(export, .init = setup, .fini = teardown);

static const char *path_in(const char *name)
{
	static char buf[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static const char *make_trace_ex(const char *name, char variant, unsigned tiny, int overlap, int evil)
{
	static char slots[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(slots[k], sizeof(slots[k]), "%s", path_in(name));
	const char *p = slots[k];
	struct synth_opts o = { .variant = variant, .tiny_lookups = tiny, .overlap = overlap, .evil = evil };
	cr_assert_eq(synth_write(p, &o), 0, "synthetic trace %s not written", p);
	return p;
}

static const char *make_trace(const char *name, char variant, unsigned tiny, int overlap)
{
	return make_trace_ex(name, variant, tiny, overlap, 0);
}


static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	cr_assert_not_null(f, "cannot open %s", p);
	struct stat st;
	fstat(fileno(f), &st);
	char *b = malloc((size_t)st.st_size + 1);
	size_t n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

/* Run a subcommand with stdout going to file out (NULL: /dev/null). */
static int run_cmd(int (*cmd)(int, char **), const char *out, const char *const *args)
{
	char *argv[32];
	int argc = 0;
	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	fflush(stdout);
	int saved = dup(1);
	int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	int rc = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static int export_to(const char *trace, const char *out, const char *extra1, const char *extra2)
{
	const char *args[] = { "export", trace, "-o", out, extra1, extra2, NULL };
	return run_cmd(cmd_export, NULL, args);
}

static cJSON *chrome_of(const char *trace, const char *name, const char *cap)
{
	const char *out = path_in(name);
	int rc = cap ? export_to(trace, out, "--max-events", cap) : export_to(trace, out, NULL, NULL);
	cr_assert_eq(rc, 0, "export to %s failed: %d", out, rc);
	char *txt = slurp(out, NULL);
	cJSON *j = cJSON_Parse(txt);
	cr_assert_not_null(j, "chrome export is not valid JSON near: %.80s", cJSON_GetErrorPtr());
	free(txt);
	return j;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(v), "field %s missing or not a number", k);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *events(const cJSON *j)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "traceEvents");
	cr_assert(cJSON_IsArray(ev), "traceEvents missing");
	return ev;
}

/* ------------------------------------------------------------- chrome */

Test(export, chrome_object_format)
{
	const char *t = make_trace("b.lprof", 'B', 40, 1);
	cJSON *j = chrome_of(t, "b.json", NULL);
	cr_assert(cJSON_GetArraySize(events(j)) > 50);
	cr_assert_str_eq(str(j, "displayTimeUnit"), "ms");
	const cJSON *od = cJSON_GetObjectItemCaseSensitive(j, "otherData");
	cr_assert(cJSON_IsObject(od), "otherData missing");
	cr_assert_str_eq(str(od, "host"), "synth-host");
	cr_assert_str_eq(str(od, "kernel"), "6.1.0-synthetic");
	cr_assert_not_null(str(od, "layerprof_version"));
	cr_assert_str_eq(str(od, "command"), "docker build -t app .");
	int nx = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		const char *ph = str(e, "ph");
		cr_assert_not_null(ph);
		if (strcmp(ph, "M"))
			cr_assert(num(e, "ts") >= 0, "negative ts");
		if (!strcmp(ph, "X")) {
			nx++;
			cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "dur")), "X without dur: %s",
				  str(e, "name"));
			cr_assert(num(e, "dur") >= 0);
			cr_assert_not_null(str(e, "name"));
		}
	}
	cr_assert(nx > 30, "only %d complete events", nx);
	cJSON_Delete(j);
}

struct xev {
	double pid, tid, ts, end;
	int order;
};

static int cmp_thread_ts(const void *a, const void *b)
{
	const struct xev *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->order - y->order;  /* file order */
}

/* Returns the number of violations and prints them. */
static int check_threads(const cJSON *j)
{
	int n = 0, cap = cJSON_GetArraySize(events(j)) + 1;
	struct xev *v = calloc((size_t)cap, sizeof(*v));
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		if (strcmp(str(e, "ph"), "X"))
			continue;
		v[n].pid = num(e, "pid");
		v[n].tid = num(e, "tid");
		v[n].ts = num(e, "ts");
		v[n].end = v[n].ts + num(e, "dur");
		v[n].order = n;
		n++;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_thread_ts);
	int bad = 0;
	double stack[64];
	int sp = 0;
	for (int i = 0; i < n; i++) {
		bool same = i > 0 && v[i].pid == v[i - 1].pid && v[i].tid == v[i - 1].tid;
		if (!same) {
			sp = 0;
		} else if (v[i].ts < v[i - 1].ts) {
			bad++;
			fprintf(stderr, "not monotone on %.0f/%.0f at %.3f\n", v[i].pid, v[i].tid, v[i].ts);
		}
		while (sp > 0 && stack[sp - 1] <= v[i].ts + 1e-9)
			sp--;
		if (sp > 0 && v[i].end > stack[sp - 1] + 1e-9) {
			bad++;
			fprintf(stderr, "overlap on %.0f/%.0f: [%.3f, %.3f] crosses an end at %.3f\n", v[i].pid, v[i].tid,
				v[i].ts, v[i].end, stack[sp - 1]);
		}
		if (sp < 64)
			stack[sp++] = v[i].end;
	}
	free(v);
	return bad;
}

Test(export, chrome_no_overlap_and_monotone_per_thread)
{
	/* overlap=1 writes two syscalls of one thread whose times cross */
	const char *t = make_trace("b.lprof", 'B', 40, 1);
	cJSON *j = chrome_of(t, "b.json", NULL);
	cr_assert_eq(check_threads(j), 0, "complete events overlap or go back in time on a thread");
	cJSON_Delete(j);
}

Test(export, chrome_checker_catches_overlap)
{
	/* the checker itself must be able to fail */
	cJSON *j = cJSON_Parse("{\"traceEvents\":["
			       "{\"ph\":\"X\",\"name\":\"a\",\"pid\":1,\"tid\":1,\"ts\":0,\"dur\":10},"
			       "{\"ph\":\"X\",\"name\":\"b\",\"pid\":1,\"tid\":1,\"ts\":5,\"dur\":10}]}");
	cr_assert_eq(check_threads(j), 1);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"traceEvents\":["
			"{\"ph\":\"X\",\"name\":\"a\",\"pid\":1,\"tid\":1,\"ts\":0,\"dur\":10},"
			"{\"ph\":\"X\",\"name\":\"b\",\"pid\":1,\"tid\":1,\"ts\":2,\"dur\":3},"
			"{\"ph\":\"X\",\"name\":\"c\",\"pid\":1,\"tid\":1,\"ts\":10,\"dur\":1}]}");
	cr_assert_eq(check_threads(j), 0, "proper nesting is allowed");
	cJSON_Delete(j);
}

static bool has_meta(const cJSON *j, const char *what, double pid, double tid, bool any_tid)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		if (strcmp(str(e, "ph"), "M") || strcmp(str(e, "name"), what))
			continue;
		if (num(e, "pid") != pid || (!any_tid && num(e, "tid") != tid))
			continue;
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "args");
		const char *n = str(a, "name");
		if (n && *n)
			return true;
	}
	return false;
}

static const cJSON *find_x(const cJSON *j, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		if (!strcmp(str(e, "ph"), "X") && !strcmp(str(e, "name"), name))
			return e;
	}
	return NULL;
}

Test(export, chrome_names_steps_processes)
{
	const char *t = make_trace("b.lprof", 'B', 40, 0);
	cJSON *j = chrome_of(t, "b.json", NULL);
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		if (strcmp(str(e, "ph"), "X"))
			continue;
		double pid = num(e, "pid"), tid = num(e, "tid");
		cr_assert(has_meta(j, "process_name", pid, 0, true), "no process_name for pid %.0f", pid);
		cr_assert(has_meta(j, "thread_name", pid, tid, false), "no thread_name for %.0f/%.0f", pid, tid);
	}
	/* steps as BuildKit prints them, cached / error in args */
	const cJSON *s = find_x(j, "[3/6] COPY package.json .");
	cr_assert_not_null(s, "step [3/6] missing");
	cr_assert_str_eq(str(s, "cat"), "step");
	const cJSON *w = find_x(j, "[2/6] WORKDIR /app");
	cr_assert_not_null(w);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "args"), "cached")),
		  "cached step without args.cached=true");
	cr_assert_not_null(find_x(j, "[6/6] RUN npm run build && echo \"<built> & ok\""));
	/* a process named with comm + argv */
	bool npm = false;
	cJSON_ArrayForEach(e, events(j)) {
		if (!strcmp(str(e, "ph"), "M") && !strcmp(str(e, "name"), "process_name") &&
		    strstr(str(cJSON_GetObjectItemCaseSensitive(e, "args"), "name"), "npm ci"))
			npm = true;
	}
	cr_assert(npm, "no process named after its argv (npm ci)");
	/* a syscall with its latency, attributed to its step */
	bool found = false;
	cJSON_ArrayForEach(e, events(j)) {
		if (!strcmp(str(e, "ph"), "X") && !strcmp(str(e, "name"), "copy_file_range")) {
			found = true;
			cr_assert(num(e, "dur") > 0);
		}
	}
	cr_assert(found, "no copy_file_range slice");
	cJSON_Delete(j);
}

Test(export, chrome_flows_and_counters)
{
	const char *t = make_trace("b.lprof", 'B', 40, 0);
	cJSON *j = chrome_of(t, "b.json", NULL);
	int s = 0, f = 0, bytes = 0, open = 0;
	double ids[64];
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		const char *ph = str(e, "ph");
		if (!strcmp(ph, "s")) {
			cr_assert(s < 64);
			ids[s++] = num(e, "id");
		} else if (!strcmp(ph, "C")) {
			if (!strcmp(str(e, "name"), "I/O bytes/s"))
				bytes++;
			if (!strcmp(str(e, "name"), "open files"))
				open++;
		}
	}
	cJSON_ArrayForEach(e, events(j)) {
		if (strcmp(str(e, "ph"), "f"))
			continue;
		f++;
		cr_assert_str_eq(str(e, "bp"), "e");
		bool paired = false;
		for (int i = 0; i < s; i++)
			paired |= ids[i] == num(e, "id");
		cr_assert(paired, "flow end %.0f without a start", num(e, "id"));
	}
	/* runc, runc:[2:INIT] -> sh, sh -> npm, twice */
	cr_assert(s >= 4 && s == f, "flows: %d starts, %d ends", s, f);
	cr_assert(bytes > 1 && open > 1, "counters: %d bytes/s, %d open files", bytes, open);
	cJSON_Delete(j);
}

static int count_x(const cJSON *j, const char *name, const char *cat)
{
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		if (strcmp(str(e, "ph"), "X"))
			continue;
		if (name && strcmp(str(e, "name"), name))
			continue;
		if (cat && strncmp(str(e, "cat"), cat, strlen(cat)))
			continue;
		n++;
	}
	return n;
}

Test(export, chrome_merges_tiny_calls_and_caps)
{
	const char *t = make_trace("big.lprof", 'B', 3000, 0);
	cJSON *j = chrome_of(t, "big.json", NULL);
	const cJSON *od = cJSON_GetObjectItemCaseSensitive(j, "otherData");
	/* 2 x 3000 lookups of 2 us, 1 us apart: merged */
	cr_assert(num(od, "merged_calls") >= 5000, "merged %.0f", num(od, "merged_calls"));
	int nstat = count_x(j, "newfstatat", NULL);
	cr_assert(nstat > 0 && nstat < 20, "%d newfstatat slices for 6000 tiny calls", nstat);
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(od, "capped")));
	cJSON_Delete(j);

	j = chrome_of(t, "capped.json", "25");
	od = cJSON_GetObjectItemCaseSensitive(j, "otherData");
	cr_assert_eq(num(od, "event_cap"), 25);
	int n = count_x(j, NULL, "syscall") + count_x(j, NULL, "fd_io");
	cr_assert(n <= 25, "%d per-event slices over a cap of 25", n);
	/* the merge threshold was raised so the cap keeps the longest events */
	cr_assert(num(od, "merge_below_us") > 10, "threshold not raised: %.3f", num(od, "merge_below_us"));
	cr_assert(strstr(str(od, "note"), "raised"), "note does not say the threshold was raised");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(od, "capped"))) {
		cr_assert(num(od, "dropped_events") > 0);
		cr_assert(strstr(str(od, "note"), "capped"), "note does not say it is capped");
	}
	/* the longest syscall (the export's 1.8 ms fsync) kept its own slice */
	cr_assert_not_null(find_x(j, "fsync"), "the longest call was merged or dropped");
	/* steps are never dropped */
	cr_assert_not_null(find_x(j, "[5/6] COPY . ."));
	cr_assert_eq(check_threads(j), 0);
	cJSON_Delete(j);
}

/* -------------------------------------------------------------- gzip */

Test(export, gzip_single_member_same_json)
{
	const char *t = make_trace("b.lprof", 'B', 40, 0);
	const char *gz = path_in("b.json.gz"), *js = path_in("b.json");
	cr_assert_eq(export_to(t, gz, NULL, NULL), 0);
	cr_assert_eq(export_to(t, js, NULL, NULL), 0);
	size_t glen, jlen;
	unsigned char *g = (unsigned char *)slurp(gz, &glen);
	char *plain = slurp(js, &jlen);
	cr_assert(glen > 18 && g[0] == 0x1f && g[1] == 0x8b, "not gzip");
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 31), Z_OK);
	size_t cap = jlen * 2 + 1024;
	unsigned char *out = malloc(cap);
	z.next_in = g;
	z.avail_in = (uInt)glen;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int zr = inflate(&z, Z_FINISH);
	cr_assert_eq(zr, Z_STREAM_END, "gzip member does not end cleanly (%d)", zr);
	cr_assert_eq(z.avail_in, 0, "%u bytes after the first gzip member", z.avail_in);
	cr_assert_eq(z.total_out, jlen, "inflated %lu bytes, plain JSON has %zu", z.total_out, jlen);
	cr_assert(!memcmp(out, plain, jlen), "inflated JSON differs from the plain export");
	inflateEnd(&z);
	free(out);
	free(g);
	free(plain);
}

/* The sink itself, past many hand-overs to its gzip thread: 3 MiB in
 * pieces of every size inflate to the same bytes, as one member. */
/* in[0..total) to the file at path through an lp_xout (gz or not), in
 * pieces of uneven sizes. */
static void sink_in_pieces(const char *path, bool gz, const unsigned char *in, size_t total)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	struct lp_xout o;
	lp_xout_init(&o, f, gz);
	for (size_t at = 0, piece = 1; at < total; piece = piece * 7 % 100003 + 1) {
		size_t n = piece < total - at ? piece : total - at;
		lp_xout_write(&o, in + at, n);
		at += n;
	}
	cr_assert_eq(lp_xout_finish(&o), 0);
	cr_assert_eq(o.bytes_in, total);
	fclose(f);
}

Test(export, gzip_sink_many_buffers_one_member)
{
	const size_t total = 3u << 20;
	unsigned char *in = malloc(total);
	uint32_t x = 12345;
	for (size_t i = 0; i < total; i++) {
		x = x * 1103515245u + 12345u;
		/* text-like, with runs, so deflate has work of both kinds */
		in[i] = (i / 4096) % 3 ? (unsigned char)('a' + (x >> 16) % 26) : (unsigned char)"/usr/lib/x86_64/"[i % 16];
	}
	const char *gz = path_in("sink.gz");
	sink_in_pieces(gz, true, in, total);
	size_t glen;
	unsigned char *g = (unsigned char *)slurp(gz, &glen);
	unsigned char *out = malloc(total + 1);
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 31), Z_OK);
	z.next_in = g;
	z.avail_in = (uInt)glen;
	z.next_out = out;
	z.avail_out = (uInt)total + 1;
	cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END, "the member does not end cleanly");
	cr_assert_eq(z.avail_in, 0, "%u bytes after the first gzip member", z.avail_in);
	cr_assert_eq(z.total_out, total);
	cr_assert(!memcmp(out, in, total), "inflated bytes differ from those written");
	inflateEnd(&z);
	free(out);
	free(g);
	free(in);
}

/* A write failure on the writer thread (gzip'ed or plain) is the caller's:
 * finish says so. */
Test(export, sink_reports_a_failed_write)
{
	for (int gz = 0; gz < 2; gz++) {
		FILE *f = fopen("/dev/full", "w");
		if (!f)
			cr_skip_test("no /dev/full here");
		setvbuf(f, NULL, _IONBF, 0);
		struct lp_xout o;
		lp_xout_init(&o, f, gz);
		char line[100];
		memset(line, 'x', sizeof(line));
		for (int i = 0; i < 40000; i++) /* 4 MB: many hand-overs */
			lp_xout_write(&o, line, sizeof(line));
		errno = 0;
		cr_assert_eq(lp_xout_finish(&o), -1, "gz %d", gz);
		cr_assert_eq(errno, ENOSPC, "gz %d: errno %d", gz, errno);
		fclose(f);
	}
}

/* Plain output past the first buffer goes out through the writer thread:
 * the same bytes in the same order; a small output (no full buffer) too. */
Test(export, plain_sink_many_buffers_same_bytes)
{
	const size_t sizes[] = { 3u << 20, 1000 };
	for (size_t k = 0; k < 2; k++) {
		size_t total = sizes[k];
		unsigned char *in = malloc(total);
		uint32_t x = 777;
		for (size_t i = 0; i < total; i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (unsigned char)(x >> 16);
		}
		const char *p = path_in("sink.bin");
		sink_in_pieces(p, false, in, total);
		size_t len;
		unsigned char *got = (unsigned char *)slurp(p, &len);
		cr_assert_eq(len, total, "%zu bytes written of %zu", len, total);
		cr_assert(!memcmp(got, in, total), "the bytes differ from those written");
		free(got);
		free(in);
	}
}

/* ------------------------------------------------------------ folded */

static int check_folded(const char *p, int *lines)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, "^[^ ]+( [^ ]+)* [1-9][0-9]*$", REG_EXTENDED | REG_NOSUB), 0);
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f);
	char line[8192];
	int bad = 0;
	*lines = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		cr_assert(n && line[n - 1] == '\n', "line without newline");
		line[n - 1] = 0;
		(*lines)++;
		if (regexec(&re, line, 0, NULL, 0)) {
			bad++;
			fprintf(stderr, "bad folded line: %s\n", line);
		}
		if (strncmp(line, "build;", 6)) {
			bad++;
			fprintf(stderr, "line not rooted at build: %s\n", line);
		}
		/* frames nest as deep as the process trees: none empty (a stray ';') */
		if (strstr(line, ";;") || strstr(line, "; ") || line[strlen(line) - 1] == ';') {
			bad++;
			fprintf(stderr, "an empty frame (unsanitized ';'?): %s\n", line);
		}
	}
	fclose(f);
	regfree(&re);
	return bad;
}

Test(export, folded_lines_match_format)
{
	const char *t = make_trace("b.lprof", 'B', 40, 1);
	static const char *const metrics[] = { "time", "bytes", "ops" };
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "b.%s.folded", metrics[i]);
		const char *out = path_in(name);
		cr_assert_eq(export_to(t, out, "--metric", metrics[i]), 0);
		int lines;
		cr_assert_eq(check_folded(out, &lines), 0, "metric %s", metrics[i]);
		cr_assert(lines > 5, "metric %s: %d lines", metrics[i], lines);
		char *txt = slurp(out, NULL);
		/* "RUN npm ci; echo done": ';' sanitized, spaces kept */
		/* processes nested: runc -> sh -> npm */
		cr_assert_not_null(strstr(txt, "build;[4/6] RUN npm ci: echo done;runc[300];sh[301];npm[302];"),
				   "metric %s: step or process frame missing", metrics[i]);
		if (!strcmp(metrics[i], "bytes"))
			cr_assert_not_null(strstr(txt, ";copy_file_range;/app/src/index.js 2000\n"));
		if (!strcmp(metrics[i], "ops"))
			cr_assert_not_null(strstr(txt, ";newfstatat;/app/node_modules/.bin/x7 1\n"));
		if (!strcmp(metrics[i], "time"))
			cr_assert_not_null(strstr(txt, "build;[3/6] COPY package.json .;dockerd[100];file I/O;copy_file_range "));
		free(txt);
	}
}

Test(export, folded_checker_catches_bad_lines)
{
	const char *p = path_in("bad.folded");
	FILE *f = fopen(p, "w");
	fputs("build;a;b 0\nbuild;x  y 3\nbuild;a;;c 1\n", f);
	fclose(f);
	int lines;
	cr_assert_eq(check_folded(p, &lines), 3);
}

/* --------------------------------------------------------------- svg */

/* A small XML well-formedness checker: one root, balanced tags, quoted
 * attributes, valid entity references, no raw '<' or '&' in text, valid
 * UTF-8. Returns NULL or what is wrong. */
static const char *xml_check(const char *s)
{
	static char why[256];
	const char *stack[64];
	size_t lens[64];
	int sp = 0, roots = 0;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; u[i];) {
		unsigned c = u[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!n)
			return "invalid UTF-8";
		for (size_t k = 1; k < n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				return "invalid UTF-8";
		if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
			return "control character";
		i += n;
	}
	const char *p = s;
	while (*p) {
		if (*p == '<') {
			if (!strncmp(p, "<?", 2)) {
				const char *e = strstr(p, "?>");
				if (!e)
					return "unterminated <?";
				p = e + 2;
			} else if (!strncmp(p, "<!--", 4)) {
				const char *e = strstr(p, "-->");
				if (!e)
					return "unterminated comment";
				p = e + 3;
			} else if (!strncmp(p, "<![CDATA[", 9)) {
				if (!sp)
					return "CDATA outside the root";
				const char *e = strstr(p, "]]>");
				if (!e)
					return "unterminated CDATA";
				p = e + 3;
			} else if (p[1] == '/') {
				const char *nm = p + 2, *e = nm;
				while (*e && *e != '>' && *e != ' ')
					e++;
				if (!sp || (size_t)(e - nm) != lens[sp - 1] || strncmp(nm, stack[sp - 1], lens[sp - 1])) {
					snprintf(why, sizeof(why), "mismatched close tag %.20s", p);
					return why;
				}
				sp--;
				while (*e == ' ')
					e++;
				if (*e != '>')
					return "bad close tag";
				p = e + 1;
			} else {
				const char *nm = p + 1, *e = nm;
				if (!((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z')))
					return "bad tag name";
				while (*e && !strchr(" \t\n/>", *e))
					e++;
				size_t nl = (size_t)(e - nm);
				/* attributes */
				for (;;) {
					while (*e == ' ' || *e == '\n' || *e == '\t')
						e++;
					if (*e == '>' || (*e == '/' && e[1] == '>'))
						break;
					if (!*e)
						return "unterminated tag";
					while (*e && *e != '=' && *e != ' ' && *e != '>')
						e++;
					if (*e != '=')
						return "attribute without value";
					e++;
					char q = *e;
					if (q != '"' && q != '\'')
						return "unquoted attribute";
					e++;
					while (*e && *e != q) {
						if (*e == '<')
							return "'<' in an attribute";
						if (*e == '&') {
							const char *semi = strchr(e, ';');
							if (!semi || semi - e > 10)
								return "bad entity in attribute";
						}
						e++;
					}
					if (!*e)
						return "unterminated attribute";
					e++;
				}
				bool empty = *e == '/';
				if (!sp) {
					if (++roots > 1)
						return "more than one root element";
				}
				if (!empty) {
					if (sp >= 64)
						return "too deep";
					stack[sp] = nm;
					lens[sp++] = nl;
				} else if (!sp && roots == 1) {
					/* an empty root */
				}
				p = e + (empty ? 2 : 1);
			}
		} else if (*p == '&') {
			static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", NULL };
			bool ok = false;
			for (int k = 0; ents[k]; k++)
				ok |= !strncmp(p, ents[k], strlen(ents[k]));
			if (!ok && p[1] == '#') {
				const char *e = p + 2;
				if (*e == 'x')
					e++;
				while ((*e >= '0' && *e <= '9') || (*e >= 'a' && *e <= 'f') || (*e >= 'A' && *e <= 'F'))
					e++;
				ok = *e == ';' && e > p + 2;
			}
			if (!ok) {
				snprintf(why, sizeof(why), "bad entity: %.12s", p);
				return why;
			}
			p++;
		} else {
			if (!sp && !strchr(" \t\r\n", *p))
				return "text outside the root";
			p++;
		}
	}
	if (sp)
		return "unclosed element";
	if (roots != 1)
		return "no root element";
	return NULL;
}

Test(export, svg_checker_can_fail)
{
	cr_assert_not_null(xml_check("<svg><g></svg>"));
	cr_assert_not_null(xml_check("<svg><title>a & b</title></svg>"));
	cr_assert_not_null(xml_check("<svg><title>a < b</title></svg>"));
	cr_assert_not_null(xml_check("<svg a=b></svg>"));
	cr_assert_not_null(xml_check("<svg></svg><svg></svg>"));
	cr_assert_null(xml_check("<?xml version=\"1.0\"?>\n<svg x=\"1\"><t>a &amp; b &#39;</t><r/></svg>\n"));
}

Test(export, svg_well_formed_with_titles_and_legend)
{
	const char *t = make_trace("b.lprof", 'B', 40, 1);
	const char *out = path_in("b.svg");
	cr_assert_eq(export_to(t, out, NULL, NULL), 0);
	char *svg = slurp(out, NULL);
	const char *why = xml_check(svg);
	cr_assert_null(why, "SVG is not well-formed XML: %s", why);
	cr_assert_not_null(strstr(svg, "<svg "));
	/* a frame whose title names the step */
	cr_assert_not_null(strstr(svg, "<title>[3/6] COPY package.json ."), "no frame titled with the step");
	/* & < > " escaped in names */
	cr_assert_not_null(strstr(svg, "[6/6] RUN npm run build &amp;&amp; echo &quot;&lt;built&gt; &amp; ok&quot;"),
			   "step name with & < > \" not escaped as expected");
	/* what the width measures and the trace it came from */
	cr_assert_not_null(strstr(svg, "Width = wall time"));
	cr_assert_not_null(strstr(svg, "b.lprof"));
	cr_assert_not_null(strstr(svg, "step (cached)"), "legend missing");
	/* labels cut with .. */
	cr_assert_not_null(strstr(svg, "..</text>"), "no truncated label");
	free(svg);

	const char *ob = path_in("b.bytes.svg");
	cr_assert_eq(export_to(t, ob, "--metric", "bytes"), 0);
	svg = slurp(ob, NULL);
	cr_assert_null(xml_check(svg));
	cr_assert_not_null(strstr(svg, "Width = bytes"));
	free(svg);
}

/* -------------------------------------------------------- speedscope */

/* speedscope's file format: the schema, one sampled profile in the
 * metric's unit, every sample a valid stack of frames from the build
 * down, the weights the folded counts of the same stacks. */
Test(export, speedscope_has_its_unit_and_the_folded_stacks)
{
	const char *t = make_trace("b.lprof", 'B', 40, 1);
	static const char *const metrics[] = { "time", "bytes", "ops" };
	static const char *const units[] = { "microseconds", "bytes", "none" };
	for (size_t k = 0; k < 3; k++) {
		const char *ss = path_in("b.speedscope.json"), *fo = path_in("b.folded");
		cr_assert_eq(export_to(t, ss, "--metric", metrics[k]), 0);
		cr_assert_eq(export_to(t, fo, "--metric", metrics[k]), 0);
		char *txt = slurp(ss, NULL);
		cJSON *j = cJSON_Parse(txt);
		cr_assert_not_null(j, "%s: not JSON", metrics[k]);
		cr_assert_str_eq(str(j, "$schema"), "https://www.speedscope.app/file-format-schema.json");
		const cJSON *frames = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "shared"), "frames");
		const cJSON *prof = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "profiles"), 0);
		cr_assert_str_eq(str(prof, "type"), "sampled");
		cr_assert_str_eq(str(prof, "unit"), units[k], "%s", metrics[k]);
		const cJSON *samples = cJSON_GetObjectItemCaseSensitive(prof, "samples");
		const cJSON *weights = cJSON_GetObjectItemCaseSensitive(prof, "weights");
		cr_assert_eq(cJSON_GetArraySize(samples), cJSON_GetArraySize(weights));
		/* the same stacks as the folded file, line by line */
		FILE *f = fopen(fo, "r");
		cr_assert_not_null(f);
		char line[8192];
		double total = 0;
		int i = 0;
		for (; fgets(line, sizeof(line), f); i++) {
			char *sp = strrchr(line, ' ');
			cr_assert_not_null(sp);
			const cJSON *w = cJSON_GetArrayItem(weights, i), *st = cJSON_GetArrayItem(samples, i);
			cr_assert_not_null(w, "%s: fewer samples than folded lines", metrics[k]);
			cr_assert_eq((uint64_t)w->valuedouble, strtoull(sp + 1, NULL, 10), "%s line %d", metrics[k], i);
			total += w->valuedouble;
			/* frames: in range, the first the build, as many as the line's */
			int nf = 1;
			for (char *c = line; c < sp; c++)
				nf += *c == ';';
			cr_assert_eq(cJSON_GetArraySize(st), nf, "%s line %d: %s", metrics[k], i, line);
			const cJSON *fi;
			cJSON_ArrayForEach(fi, st)
				cr_assert(fi->valueint >= 0 && fi->valueint < cJSON_GetArraySize(frames));
			cr_assert_str_eq(str(cJSON_GetArrayItem(frames, cJSON_GetArrayItem(st, 0)->valueint), "name"), "build");
		}
		fclose(f);
		cr_assert_eq(i, cJSON_GetArraySize(samples));
		cr_assert_eq(cJSON_GetObjectItemCaseSensitive(prof, "endValue")->valuedouble, total);
		cJSON_Delete(j);
		free(txt);
	}
	/* --format speedscope for any name */
	cr_assert_eq(export_to(t, path_in("x.out"), "--format", "speedscope"), 0);
}

/* ------------------------------------------------- hostile names */

Test(export, hostile_names_stay_valid)
{
	const char *t = make_trace_ex("evil.lprof", 'B', 5, 0, 1);
	const char *js = path_in("evil.json"), *fo = path_in("evil.folded"), *sv = path_in("evil.svg");
	cr_assert_eq(export_to(t, js, NULL, NULL), 0);
	cr_assert_eq(export_to(t, fo, "--metric", "ops"), 0);
	cr_assert_eq(export_to(t, sv, "--metric", "ops"), 0);
	size_t n;
	char *txt = slurp(js, &n);
	cr_assert(clean_utf8(txt, n), "chrome JSON has invalid UTF-8 or raw control characters");
	cJSON *j = cJSON_Parse(txt);
	cr_assert_not_null(j);
	bool seen = false;
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		const char *p = str(cJSON_GetObjectItemCaseSensitive(e, "args"), "path");
		if (p && strstr(p, "name;x<&>\""))
			seen = true;
	}
	cr_assert(seen, "the hostile path is not in the JSON (escaped)");
	cJSON_Delete(j);
	free(txt);
	txt = slurp(fo, &n);
	cr_assert(clean_utf8(txt, n), "folded has invalid UTF-8 or control characters");
	cr_assert_not_null(strstr(txt, "bad?? name:x<&>\""), "folded frame not sanitized as expected");
	free(txt);
	int lines;
	cr_assert_eq(check_folded(fo, &lines), 0);
	txt = slurp(sv, NULL);
	const char *why = xml_check(txt);
	cr_assert_null(why, "SVG with a hostile path is not well-formed: %s", why);
	/* the SVG shows names as they are (escaped), no folded-frame ; -> : */
	cr_assert_not_null(strstr(txt, "name;x&lt;&amp;&gt;&quot;"));
	free(txt);
}

/* ------------------------------------------------------- command line */

static int count_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			n++;
	closedir(d);
	return n;
}

Test(export, cli_rules_and_statuses)
{
	const char *t = make_trace("b.lprof", 'B', 10, 0);
	/* unknown suffix without --format: usage */
	cr_assert_eq(export_to(t, path_in("x.txt"), NULL, NULL), LP_EXIT_USAGE);
	cr_assert_eq(export_to(t, path_in("x.txt"), "--format", "folded"), 0);
	cr_assert_eq(export_to(t, path_in("x.json"), "--format", "nope"), LP_EXIT_USAGE);
	cr_assert_eq(export_to(t, path_in("x.json"), "--metric", "nope"), LP_EXIT_USAGE);
	{
		const char *args[] = { "export", t, NULL };
		cr_assert_eq(run_cmd(cmd_export, NULL, args), LP_EXIT_USAGE);
	}
	/* bad traces */
	cr_assert_eq(export_to(path_in("missing.lprof"), path_in("y.json"), NULL, NULL), LP_EXIT_BADTRACE);
	FILE *f = fopen(path_in("junk.lprof"), "w");
	for (int i = 0; i < 1000; i++)
		fputc(i * 7 % 251, f);
	fclose(f);
	cr_assert_eq(export_to(path_in("junk.lprof"), path_in("y.json"), NULL, NULL), LP_EXIT_BADTRACE);
	cr_assert_eq(access(path_in("y.json"), F_OK), -1, "output created for a bad trace");
	/* cannot write: missing directory, or a directory in the way */
	cr_assert_eq(export_to(t, path_in("no/such/dir/z.json"), NULL, NULL), LP_EXIT_IO);
	mkdir(path_in("adir.json"), 0755);
	int before = count_files();
	cr_assert_eq(export_to(t, path_in("adir.json"), NULL, NULL), LP_EXIT_IO);
	cr_assert_eq(count_files(), before, "a temporary file was left behind");
	/* stdout */
	const char *args[] = { "export", t, "-o", "-", "--format", "folded", NULL };
	cr_assert_eq(run_cmd(cmd_export, path_in("stdout.folded"), args), 0);
	int lines;
	cr_assert_eq(check_folded(path_in("stdout.folded"), &lines), 0);
	cr_assert(lines > 3);
	/* an existing output is replaced whole, with no temporary left */
	cr_assert_eq(export_to(t, path_in("x.svg"), NULL, NULL), 0);
	before = count_files();
	cr_assert_eq(export_to(t, path_in("x.svg"), NULL, NULL), 0);
	cr_assert_eq(count_files(), before);
}

/* -------------------------------------------------------------- diff */

Test(export, diff_names_changed_file_and_upstream_miss)
{
	const char *a = make_trace("a.lprof", 'A', 10, 0);
	const char *b = make_trace("b.lprof", 'B', 10, 0);
	const char *out = path_in("diff.txt");
	const char *args[] = { "diff", a, b, NULL };
	cr_assert_eq(run_cmd(cmd_diff, out, args), 0);
	char *txt = slurp(out, NULL);
	cr_assert_not_null(strstr(txt, "New cache misses (2)"), "%s", txt);
	cr_assert_not_null(strstr(txt, "[3/6] COPY package.json ."));
	cr_assert_not_null(strstr(txt, "context files changed (re-sent to the daemon): package.json"), "%s", txt);
	cr_assert_not_null(strstr(txt, "upstream miss: #7 [3/6] COPY package.json ."), "%s", txt);
	cr_assert_not_null(strstr(txt, "cache hit rate"));
	free(txt);

	const char *jout = path_in("diff.json");
	const char *jargs[] = { "diff", "--json", a, b, NULL };
	cr_assert_eq(run_cmd(cmd_diff, jout, jargs), 0);
	txt = slurp(jout, NULL);
	cJSON *j = cJSON_Parse(txt);
	cr_assert_not_null(j, "diff --json is not JSON");
	cr_assert_str_eq(str(j, "schema"), "layerprof.diff/1");
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
	cr_assert_eq(num(sum, "new_misses"), 2);
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps"), *s;
	bool ctx = false, up = false;
	cJSON_ArrayForEach(s, steps) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "cause");
		if (!cJSON_IsObject(c))
			continue;
		const char *k = str(c, "kind");
		if (!strcmp(k, "context-files")) {
			const cJSON *files = cJSON_GetObjectItemCaseSensitive(c, "files");
			cr_assert_eq(cJSON_GetArraySize(files), 1);
			cr_assert_str_eq(cJSON_GetArrayItem(files, 0)->valuestring, "package.json");
			cr_assert_str_eq(str(s, "instruction"), "COPY package.json .");
			ctx = true;
		}
		if (!strcmp(k, "upstream-miss")) {
			cr_assert_str_eq(str(c, "upstream_step"), "#7");
			up = true;
		}
	}
	cr_assert(ctx && up, "causes missing: context-files %d, upstream-miss %d", ctx, up);
	const cJSON *resent = cJSON_GetObjectItemCaseSensitive(j, "context_resent");
	cr_assert_eq(cJSON_GetArraySize(resent), 2);
	cJSON_Delete(j);
	free(txt);

	/* same trace twice: nothing changed */
	const char *sargs[] = { "diff", b, b, NULL };
	cr_assert_eq(run_cmd(cmd_diff, out, sargs), 0);
	txt = slurp(out, NULL);
	cr_assert_not_null(strstr(txt, "No step changed"), "%s", txt);
	free(txt);

	const char *bad[] = { "diff", a, NULL };
	cr_assert_eq(run_cmd(cmd_diff, NULL, bad), LP_EXIT_USAGE);
	const char *miss[] = { "diff", a, path_in("nope.lprof"), NULL };
	cr_assert_eq(run_cmd(cmd_diff, NULL, miss), LP_EXIT_BADTRACE);
}

/* The README's promise: a track per build step, named as the step (steps
 * that overlap do not share a lane; speedscope lists every one). */
Test(export, chrome_a_track_per_step)
{
	const char *t = make_trace("b.lprof", 'B', 40, 0);
	char err[256];
	struct lp_model_options mo = { .no_findings = true };
	struct lp_model *m = lp_model_load(t, &mo, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cJSON *j = chrome_of(t, "b.json", NULL);
	double tids[64];
	size_t n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, events(j)) {
		const char *cat = str(e, "cat"), *ph = str(e, "ph");
		if (!cat || strncmp(cat, "step", 4) || (strcmp(ph, "X") && strcmp(ph, "i")))
			continue;
		cr_assert_eq(num(e, "pid"), 1);
		double tid = num(e, "tid");
		for (size_t i = 0; i < n; i++)
			cr_assert_neq(tids[i], tid, "two steps on track %.0f", tid);
		cr_assert_lt(n, 64);
		tids[n++] = tid;
		/* the track is named as its step */
		bool named = false;
		const cJSON *mm;
		cJSON_ArrayForEach(mm, events(j)) {
			if (!strcmp(str(mm, "ph"), "M") && !strcmp(str(mm, "name"), "thread_name") && num(mm, "pid") == 1 &&
			    num(mm, "tid") == tid)
				named = !strcmp(str(cJSON_GetObjectItemCaseSensitive(mm, "args"), "name"), str(e, "name"));
		}
		cr_assert(named, "track %.0f is not named '%s'", tid, str(e, "name"));
		/* the measured time, in µs with its fraction: the model's */
		if (!strcmp(ph, "X")) {
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "args");
			cr_assert_not_null(str(a, "time_source"));
			for (size_t k = 0; k < m->nsteps; k++)
				if (!strcmp(m->steps[k].id, str(a, "id")))
					cr_assert_float_eq(num(e, "dur"), (double)lp_step_wall_ns(&m->steps[k]) / 1e3, 0.0005);
		}
	}
	cr_assert_eq(n, m->nsteps, "%zu step tracks for %zu steps", n, m->nsteps);
	cJSON_Delete(j);
	lp_model_free(m);
}

/* A cap that drops slices says so on stderr, with the numbers and the ways out. */
Test(export, chrome_cap_warns)
{
	const char *t = make_trace("b.lprof", 'B', 40, 0);
	const char *errf = path_in("cap.err");
	fflush(stderr);
	int saved = dup(2);
	int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	int rc = export_to(t, path_in("cap.json"), "--max-events", "5");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(rc, 0);
	char *msg = slurp(errf, NULL);
	cr_assert(strstr(msg, "keeps 5 of "), "no 'keeps 5 of N' warning: %s", msg);
	cr_assert(strstr(msg, "--max-events") && strstr(msg, "perfetto-trace"), "the warning names no way out: %s", msg);
	free(msg);
	/* no cap hit: no warning */
	fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);
	rc = export_to(t, path_in("nocap.json"), "--max-events", "0");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(rc, 0);
	msg = slurp(errf, NULL);
	cr_assert_eq(msg[0], 0, "a warning without a cap: %s", msg);
	free(msg);
}
