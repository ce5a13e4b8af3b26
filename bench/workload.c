/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A syscall-heavy, build-like workload for bench/run.sh.
 *
 *   workload setup DIR [-n FILES]          make DIR/src: FILES small files in
 *                                          100-file directories (untimed)
 *   workload run DIR [-r ROUNDS] [-t FILE] copy DIR/src to a fresh tree
 *                                          (open+read, create+write), read every
 *                                          copy back, stat every copy, delete the
 *                                          copies; ROUNDS times. Prints the
 *                                          elapsed seconds of the work (not of
 *                                          the start-up), the CPU seconds
 *                                          (user+sys) it used, and when the work
 *                                          started and ended (CLOCK_BOOTTIME s,
 *                                          the clock of /proc/uptime) to FILE,
 *                                          or stdout.
 *
 * The syscalls are those of a COPY/RUN step: openat, read, write, close,
 * newfstatat, mkdir, unlinkat, rmdir. Per file and round: 3 openat, 2 read
 * (+1 EOF read), 1 write, 3 close, 1 stat, 1 unlink. One process, one
 * thread, so a tracer sees exactly this and its own start-up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PER_DIR 100

static void die(const char *what, const char *path)
{
	fprintf(stderr, "workload: %s %s: %s\n", what, path ? path : "", strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double boot_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int setup(const char *dir, int n)
{
	char p[4096];
	static char buf[8192];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + (i * 7 + i / 13) % 26);
	snprintf(p, sizeof(p), "%s/src", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("mkdir", dir);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die("mkdir", p);
	for (int i = 0; i < n; i++) {
		if (i % PER_DIR == 0) {
			snprintf(p, sizeof(p), "%s/src/d%03d", dir, i / PER_DIR);
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				die("mkdir", p);
		}
		snprintf(p, sizeof(p), "%s/src/d%03d/file%05d.js", dir, i / PER_DIR, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("create", p);
		/* 200 B .. 4 KiB, like a source tree */
		size_t len = 200 + (size_t)((i * 2654435761u) % 3900u);
		if (write(fd, buf, len) != (ssize_t)len)
			die("write", p);
		close(fd);
	}
	FILE *f;
	snprintf(p, sizeof(p), "%s/src/.count", dir);
	if (!(f = fopen(p, "w")))
		die("create", p);
	fprintf(f, "%d\n", n);
	fclose(f);
	return 0;
}

static int round_once(const char *dir, int n, int round)
{
	char s[4096], d[4096], dd[4096];
	static char buf[65536];
	snprintf(dd, sizeof(dd), "%s/dst-%d-%d", dir, (int)getpid(), round);
	if (mkdir(dd, 0755) < 0)
		die("mkdir", dd);
	/* 1. copy: open source, read, create destination, write */
	for (int i = 0; i < n; i++) {
		if (i % PER_DIR == 0) {
			snprintf(d, sizeof(d), "%s/d%03d", dd, i / PER_DIR);
			if (mkdir(d, 0755) < 0)
				die("mkdir", d);
		}
		snprintf(s, sizeof(s), "%s/src/d%03d/file%05d.js", dir, i / PER_DIR, i);
		snprintf(d, sizeof(d), "%s/d%03d/file%05d.js", dd, i / PER_DIR, i);
		int in = open(s, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			die("open", s);
		int out = open(d, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0)
			die("create", d);
		ssize_t k;
		while ((k = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)k) != k)
				die("write", d);
		if (k < 0)
			die("read", s);
		close(in);
		close(out);
	}
	/* 2. read every copy back */
	unsigned long sum = 0;
	for (int i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "%s/d%03d/file%05d.js", dd, i / PER_DIR, i);
		int fd = open(d, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open", d);
		ssize_t k;
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			sum += (unsigned char)buf[0];
		close(fd);
	}
	/* 3. stat every copy (and one missing name per 100: ENOENT, like a
	 * module lookup) */
	struct stat st;
	for (int i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "%s/d%03d/file%05d.js", dd, i / PER_DIR, i);
		if (stat(d, &st) < 0)
			die("stat", d);
		sum += (unsigned long)st.st_size;
		if (i % PER_DIR == 0) {
			snprintf(d, sizeof(d), "%s/d%03d/missing.js", dd, i / PER_DIR);
			(void)!stat(d, &st);
		}
	}
	/* 4. delete the copies */
	for (int i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "%s/d%03d/file%05d.js", dd, i / PER_DIR, i);
		if (unlink(d) < 0)
			die("unlink", d);
		if (i % PER_DIR == PER_DIR - 1 || i == n - 1) {
			snprintf(d, sizeof(d), "%s/d%03d", dd, i / PER_DIR);
			if (rmdir(d) < 0)
				die("rmdir", d);
		}
	}
	if (rmdir(dd) < 0)
		die("rmdir", dd);
	return (int)(sum & 1);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: workload setup DIR [-n FILES] | run DIR [-r ROUNDS] [-t FILE]\n");
		return 2;
	}
	const char *cmd = argv[1], *dir = argv[2], *tfile = NULL;
	int n = 10000, rounds = 1;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-r"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-t"))
			tfile = argv[i + 1];
	}
	if (!strcmp(cmd, "setup"))
		return setup(dir, n);
	if (strcmp(cmd, "run"))
		return 2;
	char p[4096];
	snprintf(p, sizeof(p), "%s/src/.count", dir);
	FILE *f = fopen(p, "r");
	if (!f || fscanf(f, "%d", &n) != 1)
		die("read", p);
	fclose(f);
	double b0 = boot_s(), t0 = now_s(), c0 = cpu_s();
	for (int r = 0; r < rounds; r++)
		round_once(dir, n, r);
	double el = now_s() - t0, cpu = cpu_s() - c0, b1 = boot_s();
	FILE *o = tfile ? fopen(tfile, "w") : stdout;
	if (!o)
		die("create", tfile);
	fprintf(o, "%.6f %.6f %.6f %.6f\n", el, cpu, b0, b1);
	if (tfile)
		fclose(o);
	return 0;
}
