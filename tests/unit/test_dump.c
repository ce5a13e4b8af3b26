/* SPDX-License-Identifier: BSD-2-Clause */
/* `layerprof dump`: text and NDJSON output of a known trace, exit codes. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "exitcode.h"
#include "records.h"
#include "trace.h"
#include "util.h"

static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lp-test-dump.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(dump, .init = setup, .fini = teardown);

/* A path in the test's directory (each call its own buffer). */
static char *path_in(const char *name)
{
	static char p[32][128];
	static int k;
	cr_assert_lt(k, 32);
	char *s = p[k++];
	snprintf(s, 128, "%s/%s", dir, name);
	return s;
}

static _Alignas(8) uint8_t buf[8192];

/* A small build: dockerd seeded, opens relative to cwd and a dirfd, a
 * failure, a rename, a fork+exec+exit, fd I/O, progress. */
static void write_sample(const char *path, bool finish)
{
	char err[512];
	struct lp_writer *w = lp_writer_open(
		path, "{\"start_monotonic_ns\":1000000000,\"command\":[\"docker\",\"build\",\".\"]}",
		err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	size_t n;
	const char *cmd[] = { "dockerd", "--data-root", "/var/lib/docker", NULL };
#define PUT() cr_assert_eq(lp_writer_append(w, buf, n), 0)
	n = build_seed(buf, 1234, 1, "dockerd", "/usr/bin/dockerd", "/var/lib/docker", cmd);
	PUT();
	n = build_fd_seed(buf, 1234, 9, "/var/lib/docker/overlay2");
	PUT();
	n = build_sc(buf, &(struct sc_spec){ .tgid = 1234, .tid = 1240, .ts = 13345678000ull,
		.sc = LP_SC_OPENAT, .ret = 7, .lat = 12000,
		.args = { AT_FDCWD_RAW, 0, 02000000, 0 }, .str = { [1] = "image/x.json" } });
	PUT();
	n = build_sc(buf, &(struct sc_spec){ .tgid = 1234, .ts = 13400000000ull,
		.sc = LP_SC_OPENAT, .ret = -2, .lat = 3000,
		.args = { 9, 0, 0, 0 }, .str = { [1] = "abc/diff/requirements.txt" } });
	PUT();
	n = build_sc(buf, &(struct sc_spec){ .tgid = 1234, .ts = 13500000000ull,
		.sc = LP_SC_RENAMEAT2, .ret = 0, .lat = 5000,
		.args = { 9, 0, 9, 0, 1 }, .str = { [1] = "a/.tmp.1", [3] = "a/f" } });
	PUT();
	n = build_sc(buf, &(struct sc_spec){ .tgid = 1234, .ts = 13600000000ull,
		.sc = LP_SC_MOUNT, .ret = 0, .args = { 0, 0, 0, 4096 | 16384 },
		.str = { [0] = "/src", [1] = "/mnt/x", [2] = "none" } });
	PUT();
	n = build_sc(buf, &(struct sc_spec){ .tgid = 1234, .ts = 13700000000ull,
		.sc = LP_SC_UNLINKAT, .ret = 0, .args = { 9, 0, 0x200 }, .str = { [1] = "old" } });
	PUT();
	n = build_fd_io(buf, 1234, 7, 4096, 3, false);
	PUT();
	n = build_fork(buf, 1234, 2000, "dockerd");
	PUT();
	const char *argv[] = { "runc", "--root", "/run/runc", NULL };
	n = build_argv(buf, 2000, "/usr/bin/runc", argv);
	PUT();
	n = build_exec(buf, 2000, "runc", "/usr/bin/runc");
	PUT();
	n = build_exit(buf, 2000, 9, "runc");
	PUT();
	n = build_progress(buf, 14000000000ull, "#5 [2/4] RUN \"make\"\tall");
	PUT();
	/* an unknown kind and a malformed one: shown, not fatal */
	struct lp_hdr *h = (void *)buf;
	memset(buf, 0, 64);
	h->kind = 0x42;
	h->size = 40;
	n = 40;
	PUT();
	h->kind = LP_EV_FD_IO;
	h->size = 30;
	n = 30;
	PUT();
#undef PUT
	if (finish) {
		cr_assert_eq(lp_writer_close(w, "{\"events\":15,\"lost\":{\"total\":0}}", err,
					     sizeof(err)), 0, "%s", err);
	} else {
		lp_writer_close(w, "{}", err, sizeof(err));
	}
}

/* Run cmd_dump with argv, capturing stdout and stderr. */
static int run_dump(const char *const *args, char **out, char **errout)
{
	int argc = 0;
	char *argv[16];
	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	const char *o = path_in("stdout"), *e = path_in("stderr");
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = cmd_dump(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(k ? e : o, "r");
		struct lp_buf b = { 0 };
		char chunk[4096];
		size_t got;
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			lp_buf_append(&b, chunk, got);
		fclose(f);
		lp_buf_append(&b, "", 0);
		*(k ? errout : out) = b.data;
	}
	return rc;
}

#define HAS(hay, needle) cr_assert(strstr(hay, needle), "missing:\n%s\nin:\n%s", needle, hay)

Test(dump, text_output)
{
	const char *t = path_in("t.lprof");
	write_sample(t, true);
	char *out, *err;
	int rc = run_dump((const char *[]){ "dump", t, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(err, "");
	HAS(out, "# meta {\"start_monotonic_ns\":1000000000,\"command\":[\"docker\",\"build\",\".\"]}\n");
	HAS(out, "   12.345678 dockerd[1234/1240] openat(AT_FDCWD, \"image/x.json\" -> "
		 "/var/lib/docker/image/x.json, O_RDONLY|O_CLOEXEC, 0) = 7 <0.000012>\n");
	HAS(out, "openat(9, \"abc/diff/requirements.txt\" -> "
		 "/var/lib/docker/overlay2/abc/diff/requirements.txt, O_RDONLY, 0) = -2 ENOENT <0.000003>");
	HAS(out, "renameat2(9, \"a/.tmp.1\" -> /var/lib/docker/overlay2/a/.tmp.1, 9, \"a/f\" -> "
		 "/var/lib/docker/overlay2/a/f, RENAME_NOREPLACE) = 0");
	HAS(out, "mount(\"/src\", \"/mnt/x\", \"none\", MS_BIND|MS_REC, NULL) = 0");
	HAS(out, "unlinkat(9, \"old\" -> /var/lib/docker/overlay2/old, AT_REMOVEDIR) = 0");
	HAS(out, "dockerd[1234] fd 7 (/var/lib/docker/image/x.json): read 4096 B in 3 calls");
	HAS(out, ", wrote 0 B\n");
	HAS(out, "dockerd[1234] fork -> 2000 (dockerd)");
	HAS(out, "execve(\"/usr/bin/runc\", [\"runc\", \"--root\", \"/run/runc\"]) entered");
	HAS(out, "runc[2000] exec \"/usr/bin/runc\" ppid 0");
	HAS(out, "runc[2000] exit: killed by SIGKILL");
	HAS(out, "progress stdout \"#5 [2/4] RUN \\\"make\\\"\\tall\"");
	HAS(out, "record kind 0x42 (size 40): unknown to this layerprof, skipped");
	HAS(out, "malformed fd_io record (size 30), skipped");
	HAS(out, "seed process ppid 1 exe \"/usr/bin/dockerd\" cwd \"/var/lib/docker\" cmdline "
		 "[\"dockerd\", \"--data-root\", \"/var/lib/docker\"]");
	HAS(out, "seed fd 9 -> /var/lib/docker/overlay2");
	HAS(out, "# trailer {\"events\":15,\"lost\":{\"total\":0}}\n");
	HAS(out, "# status read 3 blocks, 15 events; the recording finished (trailer present)\n");
	free(out);
	free(err);

	/* --raw: no resolution */
	rc = run_dump((const char *[]){ "dump", "--raw", t, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	HAS(out, "openat(AT_FDCWD, \"image/x.json\", O_RDONLY|O_CLOEXEC, 0) = 7");
	cr_assert_null(strstr(out, "->  /"));
	cr_assert_null(strstr(out, "fd 7 (/"));
	free(out);
	free(err);
}

Test(dump, json_output)
{
	const char *t = path_in("j.lprof");
	write_sample(t, true);
	char *out, *err;
	int rc = run_dump((const char *[]){ "dump", t, "--json", NULL }, &out, &err);
	cr_assert_eq(rc, 0, "%s", err);
	int lines = 0;
	bool saw_open = false, saw_enoent = false, saw_status = false;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);
		cr_assert_not_null(j, "not JSON: %s", line);
		const char *kind = cJSON_GetObjectItem(j, "kind")->valuestring;
		cJSON *sc = cJSON_GetObjectItem(j, "syscall");
		if (!strcmp(kind, "syscall") && !strcmp(sc->valuestring, "openat") &&
		    cJSON_GetObjectItem(j, "ret")->valueint == 7) {
			saw_open = true;
			cr_assert_eq(cJSON_GetObjectItem(j, "pid")->valueint, 1234);
			cr_assert_eq(cJSON_GetObjectItem(j, "tid")->valueint, 1240);
			cr_assert_str_eq(cJSON_GetObjectItem(j, "comm")->valuestring, "dockerd");
			cr_assert_eq(cJSON_GetObjectItem(j, "latency_ns")->valueint, 12000);
			cr_assert_float_eq(cJSON_GetObjectItem(j, "t_rel_s")->valuedouble, 12.345678,
					   1e-9);
			cJSON *args = cJSON_GetObjectItem(j, "args");
			cr_assert_eq(cJSON_GetArrayItem(args, 0)->valueint, -100);
			cJSON *text = cJSON_GetObjectItem(j, "args_text");
			cr_assert_str_eq(cJSON_GetArrayItem(text, 2)->valuestring, "O_RDONLY|O_CLOEXEC");
			cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "strings"), 0);
			cr_assert_str_eq(cJSON_GetObjectItem(s0, "raw")->valuestring, "image/x.json");
			cr_assert_str_eq(cJSON_GetObjectItem(s0, "resolved")->valuestring,
					 "/var/lib/docker/image/x.json");
			cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "errno")));
		}
		if (!strcmp(kind, "syscall") && cJSON_GetObjectItem(j, "ret")->valueint == -2) {
			saw_enoent = true;
			cr_assert_str_eq(cJSON_GetObjectItem(j, "errno")->valuestring, "ENOENT");
		}
		if (!strcmp(kind, "status")) {
			saw_status = true;
			cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "damaged")));
			cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "has_trailer")));
			cr_assert_eq(cJSON_GetObjectItem(j, "records")->valueint, 15);
		}
		cJSON_Delete(j);
		lines++;
	}
	cr_assert_eq(lines, 15 + 3); /* meta, records, trailer, status */
	cr_assert(saw_open && saw_enoent && saw_status);
	free(out);
	free(err);
}

Test(dump, damaged_trace_prints_what_was_recovered)
{
	const char *t = path_in("d.lprof");
	write_sample(t, true);
	/* cut inside the trailer block */
	struct stat st;
	stat(t, &st);
	cr_assert_eq(truncate(t, st.st_size - 3), 0);
	char *out, *err;
	int rc = run_dump((const char *[]){ "dump", t, NULL }, &out, &err);
	cr_assert_eq(rc, LP_EXIT_OK);
	HAS(out, "openat(AT_FDCWD");
	HAS(out, "# trailer (none: the recording did not finish)");
	HAS(err, "layerprof: warning: ");
	HAS(err, "trace truncated at byte");
	HAS(err, "recovered 2 blocks, 15 events; the recording did not finish (no trailer)");
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
	free(out);
	free(err);
}

Test(dump, bad_files_and_usage)
{
	char *out, *err;
	int rc = run_dump((const char *[]){ "dump", path_in("missing.lprof"), NULL }, &out, &err);
	cr_assert_eq(rc, LP_EXIT_BADTRACE);
	HAS(err, "No such file or directory");
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
	free(out);
	free(err);

	const char *junk = path_in("junk");
	FILE *f = fopen(junk, "w");
	fputs("#!/bin/sh\necho not a trace\n", f);
	fclose(f);
	rc = run_dump((const char *[]){ "dump", junk, NULL }, &out, &err);
	cr_assert_eq(rc, LP_EXIT_BADTRACE);
	HAS(err, "not a layerprof trace");
	cr_assert_str_eq(out, "");
	free(out);
	free(err);

	rc = run_dump((const char *[]){ "dump", NULL }, &out, &err);
	cr_assert_eq(rc, LP_EXIT_USAGE);
	free(out);
	free(err);
	rc = run_dump((const char *[]){ "dump", "--bogus", junk, NULL }, &out, &err);
	cr_assert_eq(rc, LP_EXIT_USAGE);
	HAS(err, "unknown option '--bogus'");
	free(out);
	free(err);
	rc = run_dump((const char *[]){ "dump", "--help", NULL }, &out, &err);
	cr_assert_eq(rc, LP_EXIT_OK);
	HAS(out, "usage: layerprof dump FILE [--json] [--raw]");
	HAS(out, "damaged trace");
	free(out);
	free(err);
}

Test(dump, json_stays_valid_with_odd_bytes)
{
	const char *t = path_in("u.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(t, "{}", err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	size_t n = build_sc(buf, &(struct sc_spec){ .tgid = 5, .sc = LP_SC_OPEN, .ret = -13,
		.str = { [0] = "/x\xff\xc3\xa9\"\\\x01\n" } });
	cr_assert_eq(lp_writer_append(w, buf, n), 0);
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0);
	char *out, *e;
	cr_assert_eq(run_dump((const char *[]){ "dump", "--json", t, NULL }, &out, &e), 0);
	/* invalid byte as \u00ff, valid UTF-8 kept, quotes/controls escaped */
	HAS(out, "\"raw\":\"/x\\u00ff\xc3\xa9\\\"\\\\\\u0001\\n\"");
	HAS(out, "\"errno\":\"EACCES\"");
	free(out);
	free(e);
	cr_assert_eq(run_dump((const char *[]){ "dump", t, NULL }, &out, &e), 0);
	HAS(out, "open(\"/x\xff\xc3\xa9\\\"\\\\\\x01\\n\", O_RDONLY, 0) = -13 EACCES");
	free(out);
	free(e);
}

/* The escaper copies plain bytes eight at a time: every byte that needs
 * an escape, at every position within and across those eight, is still
 * escaped. The expected text comes from a byte-by-byte escaper here. */
static void escape_ref(char *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			o += sprintf(o, "\\%c", c);
		else if (c == '\n')
			o += sprintf(o, "\\n");
		else if (c == '\t')
			o += sprintf(o, "\\t");
		else if (c == '\r')
			o += sprintf(o, "\\r");
		else if (c < 0x20 || c == 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
}

Test(dump, escapes_at_every_position)
{
	static const char special[] = { '"', '\\', '\n', '\t', '\r', 0x01, 0x1f, 0x7f, 0x20, 0x7e,
					(char)0x80, (char)0xff };
	const char *t = path_in("esc.lprof");
	char err[512], paths[LP_ARRAY_SIZE(special)][20][32];
	struct lp_writer *w = lp_writer_open(t, "{}", err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	for (size_t i = 0; i < LP_ARRAY_SIZE(special); i++)
		for (int k = 0; k < 20; k++) {
			/* "/" + k letters + the byte + letters to 24 bytes */
			char *p = paths[i][k];
			p[0] = '/';
			for (int j = 1; j < 24; j++)
				p[j] = (char)('a' + j % 26);
			p[1 + k] = special[i];
			p[24] = '\0';
			size_t n = build_sc(buf, &(struct sc_spec){ .tgid = 5, .sc = LP_SC_OPEN, .ret = -2,
								 .ts = 1 + i * 20 + (size_t)k, .str = { [0] = p } });
			cr_assert_eq(lp_writer_append(w, buf, n), 0);
		}
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0);
	char *out, *e;
	cr_assert_eq(run_dump((const char *[]){ "dump", "--raw", t, NULL }, &out, &e), 0);
	for (size_t i = 0; i < LP_ARRAY_SIZE(special); i++)
		for (int k = 0; k < 20; k++) {
			char want[256], esc[128];
			escape_ref(esc, paths[i][k]);
			snprintf(want, sizeof(want), "open(\"%s\", O_RDONLY, 0) = -2 ENOENT", esc);
			HAS(out, want);
		}
	free(out);
	free(e);
}

/* An fd drained when the recording ended: "closed at exit" for a process
 * that had exited by then (the kernel closed it), "still open" for one
 * still running. */
Test(dump, drained_fds_of_exited_processes_closed_at_exit)
{
	const char *t = path_in("drain.lprof");
	char err[512];
	struct lp_writer *w = lp_writer_open(t, "{\"start_monotonic_ns\":1000}", err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	size_t n;
#define PUT() cr_assert_eq(lp_writer_append(w, buf, n), 0)
	n = build_fork(buf, 1234, 2000, "sh");
	PUT();
	n = build_exit(buf, 2000, 0, "sh");
	PUT();
	n = build_fd_io(buf, 2000, 5, 10, 1, true); /* after its exit */
	PUT();
	n = build_fd_io(buf, 1234, 6, 20, 2, true); /* 1234 never exited */
	PUT();
#undef PUT
	cr_assert_eq(lp_writer_close(w, "{}", err, sizeof(err)), 0, "%s", err);
	char *out, *errs;
	cr_assert_eq(run_dump((const char *[]){ "dump", t, NULL }, &out, &errs), 0, "%s", errs);
	const char *fd5 = strstr(out, "sh[2000] fd 5: read 10 B in 1 call");
	cr_assert_not_null(fd5, "%s", out);
	const char *eol = strchr(fd5, '\n');
	const char *mark = strstr(fd5, "(closed at exit)");
	cr_assert(mark && eol && mark < eol, "fd 5 not closed at exit:\n%s", out);
	const char *fd6 = strstr(out, "fd 6:");
	cr_assert_not_null(fd6, "%s", out);
	cr_assert_not_null(strstr(fd6, "(still open)"), "%s", out);
	cr_assert_null(strstr(fd6, "(closed at exit)"), "%s", out);
	free(out);
	free(errs);
	cr_assert_eq(run_dump((const char *[]){ "dump", "--json", t, NULL }, &out, &errs), 0);
	HAS(out, "\"drained\":true,\"closed\":true");
	HAS(out, "\"drained\":true,\"closed\":false");
	free(out);
	free(errs);
}
