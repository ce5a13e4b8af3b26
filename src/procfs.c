/* SPDX-License-Identifier: BSD-2-Clause */
/* /proc readers and the seed records of processes traced from the start. */
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "redact.h"
#include "trace.h"
#include "util.h"

/* Caps that keep a seed record far below the u16 record size. */
#define SEED_PATH_MAX 4096
#define SEED_CMDLINE_MAX 16384
#define FD_SEED_BUF ((sizeof(struct lp_rec_fd_seed) + SEED_PATH_MAX + 7) & ~(size_t)7)

/* Whole small file into a malloc'd buffer (NUL added). -errno on failure. */
static int read_file(const char *path, char **out, size_t *len, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0, sz = 4096;
	char *buf = lp_xmalloc(sz + 1);
	for (;;) {
		if (n == sz) {
			if (sz >= cap)
				break;
			sz *= 2;
			buf = lp_xrealloc(buf, sz + 1);
		}
		ssize_t r = read(fd, buf + n, sz - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > cap)
		n = cap;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static char *read_link(const char *path)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return lp_xstrdup("");
	buf[n] = '\0';
	return lp_xstrdup(buf);
}

bool lp_proc_comm(uint32_t pid, char comm[LP_COMM_LEN])
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	if (read_file(path, &buf, &len, 64) < 0)
		return false;
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	memset(comm, 0, LP_COMM_LEN);
	memcpy(comm, buf, len < LP_COMM_LEN - 1 ? len : LP_COMM_LEN - 1);
	free(buf);
	return true;
}

bool lp_proc_exists(uint32_t pid)
{
	char path[64], *buf;
	size_t len;
	if (pid == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (read_file(path, &buf, &len, 1 << 16) < 0)
		return false;
	/* /proc/TID exists for threads too (hidden from readdir): want Tgid == pid. */
	const char *t = strstr(buf, "\nTgid:");
	bool ok = t && strtoul(t + 6, NULL, 10) == pid;
	free(buf);
	return ok;
}

int lp_proc_read(uint32_t pid, struct lp_procinfo *pi)
{
	char path[64], *buf;
	size_t len;
	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int err = read_file(path, &buf, &len, 4096);
	if (err < 0)
		return err;
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
	char *open = strchr(buf, '(');
	char *close = strrchr(buf, ')');
	if (!open || !close || close < open) {
		free(buf);
		return -EINVAL;
	}
	size_t clen = (size_t)(close - open - 1);
	memcpy(pi->comm, open + 1, clen < LP_COMM_LEN - 1 ? clen : LP_COMM_LEN - 1);
	char state;
	unsigned ppid = 0;
	if (sscanf(close + 1, " %c %u", &state, &ppid) != 2) {
		free(buf);
		return -EINVAL;
	}
	pi->ppid = ppid;
	free(buf);

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	pi->exe = read_link(path);
	snprintf(path, sizeof(path), "/proc/%u/cwd", pid);
	pi->cwd = read_link(path);

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	if (read_file(path, &buf, &len, SEED_CMDLINE_MAX) < 0) {
		buf = lp_xstrdup("");
		len = 0;
	}
	/* Make it a list of NUL-terminated strings (a process may rewrite it). */
	if (len && buf[len - 1] != '\0')
		len++; /* read_file left a NUL after the data */
	pi->cmdline = buf;
	pi->cmdline_len = len;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			pi->argc++;
	return 0;
}

void lp_proc_free(struct lp_procinfo *pi)
{
	free(pi->exe);
	free(pi->cwd);
	free(pi->cmdline);
	memset(pi, 0, sizeof(*pi));
}

bool lp_comm_matches(const char *comm, const char *name)
{
	size_t n = strlen(name);
	if (n > LP_COMM_LEN - 1)
		n = LP_COMM_LEN - 1;
	if (strlen(comm) == n && strncmp(comm, name, n) == 0)
		return true;
	/* runc renames itself "runc:[0:PARENT]", "runc:[1:CHILD]", "runc:[2:INIT]". */
	if (!strcmp(name, "runc") && !strncmp(comm, "runc:[", 6))
		return true;
	return false;
}

int lp_proc_scan(const char *const *names, size_t n,
		 void (*fn)(void *ctx, uint32_t pid, const char *comm, const char *name),
		 void *ctx)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	int found = 0;
	uint32_t self = (uint32_t)getpid();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || pid == 0 || pid > UINT32_MAX || pid == self)
			continue;
		char comm[LP_COMM_LEN];
		if (!lp_proc_comm((uint32_t)pid, comm))
			continue;
		for (size_t i = 0; i < n; i++) {
			if (lp_comm_matches(comm, names[i])) {
				fn(ctx, (uint32_t)pid, comm, names[i]);
				found++;
				break;
			}
		}
	}
	closedir(d);
	return found;
}

char *lp_cmdline_opt(const char *cmdline, size_t len, const char *opt, const char *alt)
{
	const char *p = cmdline, *end = cmdline + len;
	const char *opts[2] = { opt, alt };
	char *found = NULL;
	while (p < end) {
		size_t l = strnlen(p, (size_t)(end - p));
		const char *next = p + l + 1;
		for (int k = 0; k < 2; k++) {
			const char *o = opts[k];
			if (!o)
				continue;
			size_t ol = strlen(o);
			if (l == ol && !memcmp(p, o, ol) && next < end) {
				free(found);
				found = strndup(next, strnlen(next, (size_t)(end - next)));
			} else if (l > ol && !memcmp(p, o, ol) && p[ol] == '=') {
				free(found);
				found = strndup(p + ol + 1, l - ol - 1);
			}
		}
		p = next;
	}
	return found; /* the last one wins, like flag parsers do */
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int lp_write_trace_pid(struct lp_writer *w, uint32_t pid, enum lp_trace_why why,
		       const char *comm)
{
	struct lp_rec_trace_pid rec;
	memset(&rec, 0, sizeof(rec));
	lp_hdr_set(&rec.h, sizeof(rec), LP_REC_TRACE_PID, pid, pid, why, lp_now_ns());
	if (comm)
		strncpy(rec.comm, comm, LP_COMM_LEN - 1);
	return lp_writer_append(w, &rec, sizeof(rec));
}

/* Length of s kept in a seed (with its NUL), capped. */
static size_t capped(const char *s, bool *cut)
{
	size_t n = strlen(s);
	if (n > SEED_PATH_MAX - 1) {
		n = SEED_PATH_MAX - 1;
		*cut = true;
	}
	return n + 1;
}

static int write_proc_seed(struct lp_writer *w, const struct lp_procinfo *pi)
{
	bool cut_exe = false, cut_cwd = false, cut_args = false;
	size_t exe_len = capped(pi->exe, &cut_exe);
	size_t cwd_len = capped(pi->cwd, &cut_cwd);
	/* Whole arguments only, up to the cap. */
	size_t cl = 0;
	int argc = 0;
	while (cl < pi->cmdline_len) {
		size_t l = strnlen(pi->cmdline + cl, pi->cmdline_len - cl) + 1;
		if (cl + l > SEED_CMDLINE_MAX) {
			cut_args = true;
			break;
		}
		cl += l;
		argc++;
	}
	size_t size = sizeof(struct lp_rec_proc_seed) + exe_len + cwd_len + cl;
	size_t padded = round8(size);
	char *buf = lp_xcalloc(1, padded);
	struct lp_rec_proc_seed *rec = (struct lp_rec_proc_seed *)buf;
	lp_hdr_set(&rec->h, padded, LP_REC_PROC_SEED, pi->pid, pi->pid, pi->ppid, lp_now_ns());
	rec->h.flags = (cut_exe ? LP_F_STR0_TRUNC : 0) | (cut_cwd ? LP_F_STR1_TRUNC : 0) |
		       (cut_args ? LP_F_ARGV_TRUNC : 0);
	rec->exe_len = (__u16)exe_len;
	rec->cwd_len = (__u16)cwd_len;
	rec->cmdline_len = (__u16)cl;
	rec->argc = (__u16)argc;
	memcpy(rec->comm, pi->comm, LP_COMM_LEN);
	char *p = buf + sizeof(*rec);
	memcpy(p, pi->exe, exe_len - 1);
	p += exe_len;
	memcpy(p, pi->cwd, cwd_len - 1);
	p += cwd_len;
	memcpy(p, pi->cmdline, cl);
	int r = lp_writer_append(w, buf, padded);
	free(buf);
	return r;
}

static int write_fd_seed(struct lp_writer *w, uint32_t pid, int fd, const char *target)
{
	size_t n = strlen(target);
	uint8_t flags = 0;
	if (n > SEED_PATH_MAX - 1) {
		n = SEED_PATH_MAX - 1;
		flags = LP_F_STR0_TRUNC;
	}
	size_t padded = round8(sizeof(struct lp_rec_fd_seed) + n + 1);
	char buf[FD_SEED_BUF];
	memset(buf, 0, padded);
	struct lp_rec_fd_seed *rec = (struct lp_rec_fd_seed *)buf;
	lp_hdr_set(&rec->h, padded, LP_REC_FD_SEED, pid, pid, (__u32)fd, lp_now_ns());
	rec->h.flags = flags;
	rec->path_len = (__u16)(n + 1);
	memcpy(buf + sizeof(*rec), target, n);
	return lp_writer_append(w, buf, padded);
}

/* Replace pi's command line by its redacted form. */
static void redact_cmdline(struct lp_procinfo *pi)
{
	if (pi->argc <= 0)
		return;
	const char **argv = lp_xcalloc((size_t)pi->argc, sizeof(char *));
	int n = 0;
	for (size_t off = 0; off < pi->cmdline_len && n < pi->argc;) {
		argv[n++] = pi->cmdline + off;
		off += strnlen(pi->cmdline + off, pi->cmdline_len - off) + 1;
	}
	int changed = 0;
	char **red = lp_redact_argv(n, argv, &changed);
	if (changed) {
		struct lp_buf b = { 0 };
		for (int i = 0; i < n; i++)
			lp_buf_append(&b, red[i], strlen(red[i]) + 1);
		free(pi->cmdline);
		pi->cmdline = b.data;
		pi->cmdline_len = b.len;
		pi->argc = n;
	}
	lp_redact_free(red, n);
	free(argv);
}

/* Is fd of pid close-on-exec (fdinfo "flags:" has O_CLOEXEC)? */
static bool fd_cloexec(uint32_t pid, long fd)
{
	char path[96], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%u/fdinfo/%ld", pid, fd);
	if (read_file(path, &buf, &len, 4096) < 0)
		return false;
	const char *f = strstr(buf, "flags:");
	bool ce = f && (strtoul(f + 6, NULL, 8) & O_CLOEXEC);
	free(buf);
	return ce;
}

int lp_proc_seed(struct lp_writer *w, uint32_t pid, enum lp_trace_why why, const char *comm,
		 unsigned flags)
{
	struct lp_procinfo pi;
	int err = lp_proc_read(pid, &pi);
	if (lp_write_trace_pid(w, pid, why, comm ? comm : err == 0 ? pi.comm : NULL) < 0) {
		if (err == 0)
			lp_proc_free(&pi);
		return -EIO;
	}
	if (err < 0)
		return err;
	if (flags & LP_SEED_REDACT)
		redact_cmdline(&pi);
	if (write_proc_seed(w, &pi) < 0) {
		lp_proc_free(&pi);
		return -EIO;
	}
	lp_proc_free(&pi);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0; /* gone meanwhile: the process seed still stands */
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (!isdigit((unsigned char)de->d_name[0]) || *end || fd < 0 || fd > INT32_MAX)
			continue;
		if ((flags & LP_SEED_SKIP_CLOEXEC) && fd_cloexec(pid, fd))
			continue;
		char lpath[96], target[PATH_MAX + 1];
		snprintf(lpath, sizeof(lpath), "/proc/%u/fd/%ld", pid, fd);
		ssize_t l = readlink(lpath, target, sizeof(target) - 1);
		if (l < 0)
			continue; /* closed meanwhile */
		target[l] = '\0';
		if (write_fd_seed(w, pid, (int)fd, target) < 0) {
			closedir(d);
			return -EIO;
		}
		n++;
	}
	closedir(d);
	return n;
}
