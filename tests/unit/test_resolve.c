/* SPDX-License-Identifier: BSD-2-Clause */
/* Path resolver: cwd, dirfds, fd tables through fork/exec/dup/close. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "records.h"
#include "resolve.h"

static struct lp_resolver *r;
static _Alignas(8) uint8_t buf[8192];
static char out[4096];

static void setup(void)
{
	r = lp_resolver_new();
}

static void teardown(void)
{
	lp_resolver_free(r);
}

TestSuite(resolve, .init = setup, .fini = teardown);

static void feed(size_t n)
{
	(void)n;
	lp_resolver_feed(r, (const struct lp_hdr *)buf);
}

/* Build a syscall record, resolve string i, then feed it. */
static const char *res_then_feed(const struct sc_spec *s, int i)
{
	build_sc(buf, s);
	const char *p = lp_resolve_path(r, (const struct lp_ev_syscall *)buf, i, out, sizeof(out));
	feed(0);
	return p;
}

static void seed(uint32_t tgid, const char *comm, const char *cwd)
{
	const char *argv[] = { comm, NULL };
	build_seed(buf, tgid, 1, comm, "/usr/bin/x", cwd, argv);
	feed(0);
}

static void fd_seed(uint32_t tgid, int fd, const char *path)
{
	build_fd_seed(buf, tgid, fd, path);
	feed(0);
}

Test(resolve, absolute_paths_are_normalized)
{
	const char *p = res_then_feed(&(struct sc_spec){ .tgid = 1, .sc = LP_SC_OPENAT, .ret = -2,
		.args = { AT_FDCWD_RAW }, .str = { [1] = "/a//b/./c/../d/" } }, 0);
	cr_assert_str_eq(p, "/a/b/d");
	p = res_then_feed(&(struct sc_spec){ .tgid = 1, .sc = LP_SC_OPEN, .ret = -2,
		.str = { [0] = "/../../x/.." } }, 0);
	cr_assert_str_eq(p, "/");
}

Test(resolve, at_fdcwd_uses_cwd)
{
	seed(10, "dockerd", "/srv/app");
	cr_assert_str_eq(lp_resolver_cwd(r, 10), "/srv/app");
	cr_assert_str_eq(lp_resolver_comm(r, 10), "dockerd");
	/* AT_FDCWD sign-extended or not: compared as int32 */
	const char *p = res_then_feed(&(struct sc_spec){ .tgid = 10, .sc = LP_SC_OPENAT, .ret = 5,
		.args = { AT_FDCWD_RAW }, .str = { [1] = "src/../pkg/./main.go" } }, 0);
	cr_assert_str_eq(p, "/srv/app/pkg/main.go");
	p = res_then_feed(&(struct sc_spec){ .tgid = 10, .sc = LP_SC_OPENAT, .ret = 6,
		.args = { 0xffffff9cu }, .str = { [1] = "x" } }, 0);
	cr_assert_str_eq(p, "/srv/app/x");
	/* open() without dirfd */
	p = res_then_feed(&(struct sc_spec){ .tgid = 10, .sc = LP_SC_OPEN, .ret = 7,
		.str = { [0] = "../up" } }, 0);
	cr_assert_str_eq(p, "/srv/up");
	cr_assert_str_eq(lp_resolver_fd_path(r, 10, 5), "/srv/app/pkg/main.go");
	cr_assert_str_eq(lp_resolver_fd_path(r, 10, 7), "/srv/up");
}

Test(resolve, dirfd_from_seed_and_from_open)
{
	seed(20, "containerd", "/");
	fd_seed(20, 9, "/var/lib/docker");
	const char *p = res_then_feed(&(struct sc_spec){ .tgid = 20, .sc = LP_SC_OPENAT, .ret = 11,
		.args = { 9, 0, 0200000 }, .str = { [1] = "overlay2/abc" } }, 0);
	cr_assert_str_eq(p, "/var/lib/docker/overlay2/abc");
	p = res_then_feed(&(struct sc_spec){ .tgid = 20, .sc = LP_SC_MKDIRAT, .ret = 0,
		.args = { 11, 0, 0755 }, .str = { [1] = "diff" } }, 0);
	cr_assert_str_eq(p, "/var/lib/docker/overlay2/abc/diff");
	/* newfstatat, statx, unlinkat, readlinkat: dirfd is arg 0 */
	unsigned scs[] = { LP_SC_NEWFSTATAT, LP_SC_STATX, LP_SC_UNLINKAT, LP_SC_READLINKAT,
			   LP_SC_FACCESSAT, LP_SC_FACCESSAT2, LP_SC_MKNODAT, LP_SC_OPEN_TREE,
			   LP_SC_OPENAT2, LP_SC_EXECVEAT };
	for (size_t i = 0; i < sizeof(scs) / sizeof(scs[0]); i++) {
		p = res_then_feed(&(struct sc_spec){ .tgid = 20, .sc = scs[i], .ret = -2,
			.args = { 11 }, .str = { [1] = "f" } }, 0);
		cr_assert_str_eq(p, "/var/lib/docker/overlay2/abc/f", "sc %u", scs[i]);
	}
}

Test(resolve, unknown_base_returns_path_as_given)
{
	/* unknown process */
	const char *p = res_then_feed(&(struct sc_spec){ .tgid = 99, .sc = LP_SC_OPENAT,
		.ret = 3, .args = { AT_FDCWD_RAW }, .str = { [1] = "rel/./x" } }, 0);
	cr_assert_str_eq(p, "rel/./x");
	/* unknown dirfd */
	seed(30, "sh", "/tmp");
	p = res_then_feed(&(struct sc_spec){ .tgid = 30, .sc = LP_SC_OPENAT, .ret = 3,
		.args = { 42 }, .str = { [1] = "y" } }, 0);
	cr_assert_str_eq(p, "y");
	/* a dirfd that is not a directory path (socket) */
	fd_seed(30, 8, "socket:[1234]");
	p = res_then_feed(&(struct sc_spec){ .tgid = 30, .sc = LP_SC_OPENAT, .ret = -20,
		.args = { 8 }, .str = { [1] = "z" } }, 0);
	cr_assert_str_eq(p, "z");
	/* absent string */
	build_sc(buf, &(struct sc_spec){ .tgid = 30, .sc = LP_SC_OPENAT, .ret = -14,
		.args = { AT_FDCWD_RAW } });
	cr_assert_null(lp_resolve_path(r, (const void *)buf, 0, out, sizeof(out)));
	cr_assert_null(lp_resolve_path(r, (const void *)buf, 5, out, sizeof(out)));
	cr_assert_null(lp_resolver_fd_path(r, 12345, 3));
	cr_assert_null(lp_resolver_cwd(r, 12345));
	cr_assert_null(lp_resolver_comm(r, 12345));
}

Test(resolve, chdir_and_fchdir)
{
	seed(40, "make", "/home/u");
	res_then_feed(&(struct sc_spec){ .tgid = 40, .sc = LP_SC_CHDIR, .ret = 0,
		.str = { [0] = "proj/../work" } }, 0);
	cr_assert_str_eq(lp_resolver_cwd(r, 40), "/home/u/work");
	/* a failed chdir changes nothing */
	res_then_feed(&(struct sc_spec){ .tgid = 40, .sc = LP_SC_CHDIR, .ret = -2,
		.str = { [0] = "/nonexistent" } }, 0);
	cr_assert_str_eq(lp_resolver_cwd(r, 40), "/home/u/work");
	res_then_feed(&(struct sc_spec){ .tgid = 40, .sc = LP_SC_OPENAT, .ret = 4,
		.args = { AT_FDCWD_RAW }, .str = { [1] = "/etc" } }, 0);
	res_then_feed(&(struct sc_spec){ .tgid = 40, .sc = LP_SC_FCHDIR, .ret = 0,
		.args = { 4 } }, 0);
	cr_assert_str_eq(lp_resolver_cwd(r, 40), "/etc");
	const char *p = res_then_feed(&(struct sc_spec){ .tgid = 40, .sc = LP_SC_OPEN,
		.ret = -2, .str = { [0] = "passwd" } }, 0);
	cr_assert_str_eq(p, "/etc/passwd");
}

Test(resolve, fork_inherits_cwd_and_fds_independently)
{
	seed(50, "dockerd", "/var/lib/docker");
	fd_seed(50, 3, "/var/lib/docker/buildkit");
	build_fork(buf, 50, 51, "dockerd");
	feed(0);
	cr_assert_str_eq(lp_resolver_cwd(r, 51), "/var/lib/docker");
	cr_assert_str_eq(lp_resolver_fd_path(r, 51, 3), "/var/lib/docker/buildkit");
	cr_assert_str_eq(lp_resolver_comm(r, 51), "dockerd");
	/* the child changes its own tables only */
	res_then_feed(&(struct sc_spec){ .tgid = 51, .sc = LP_SC_CHDIR, .ret = 0,
		.str = { [0] = "/" } }, 0);
	res_then_feed(&(struct sc_spec){ .tgid = 51, .sc = LP_SC_CLOSE, .ret = 0, .args = { 3 } },
		      0);
	cr_assert_str_eq(lp_resolver_cwd(r, 51), "/");
	cr_assert_null(lp_resolver_fd_path(r, 51, 3));
	cr_assert_str_eq(lp_resolver_cwd(r, 50), "/var/lib/docker");
	cr_assert_str_eq(lp_resolver_fd_path(r, 50, 3), "/var/lib/docker/buildkit");
	/* grandchild of an unknown parent: known comm, nothing else */
	build_fork(buf, 777, 778, "runc");
	feed(0);
	cr_assert_str_eq(lp_resolver_comm(r, 778), "runc");
	cr_assert_null(lp_resolver_cwd(r, 778));
}

/* exec keeps stdio only: fds past 2 are usually close-on-exec (all of a Go
 * daemon's are), and a stale path would be a wrong answer, not an unknown. */
Test(resolve, exec_keeps_stdio_only_and_sets_comm)
{
	seed(60, "sh", "/work");
	fd_seed(60, 1, "/work/out");
	fd_seed(60, 5, "/work/log");
	build_exec(buf, 60, "python3", "bin/python3");
	feed(0);
	cr_assert_str_eq(lp_resolver_comm(r, 60), "python3");
	cr_assert_str_eq(lp_resolver_exe(r, 60), "/work/bin/python3");
	cr_assert_str_eq(lp_resolver_fd_path(r, 60, 1), "/work/out");
	cr_assert_null(lp_resolver_fd_path(r, 60, 5));
	cr_assert_str_eq(lp_resolver_cwd(r, 60), "/work");
}

Test(resolve, dup_family)
{
	seed(70, "p", "/");
	fd_seed(70, 3, "/data/in");
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_DUP, .ret = 4, .args = { 3 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 70, 4), "/data/in");
	fd_seed(70, 1, "/dev/pts/0");
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_DUP2, .ret = 1, .args = { 3, 1 } },
		      0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 70, 1), "/data/in");
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_DUP3, .ret = 9,
		.args = { 4, 9, 02000000 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 70, 9), "/data/in");
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_FCNTL, .ret = 12,
		.args = { 3, 1030, 10 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 70, 12), "/data/in");
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_FCNTL, .ret = 13,
		.args = { 3, 0, 13 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 70, 13), "/data/in");
	/* F_GETFL returns flags, not an fd */
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_FCNTL, .ret = 2,
		.args = { 3, 3 } }, 0);
	cr_assert_null(lp_resolver_fd_path(r, 70, 2));
	/* dup of an unknown fd makes the target unknown, not stale */
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_DUP2, .ret = 1,
		.args = { 55, 1 } }, 0);
	cr_assert_null(lp_resolver_fd_path(r, 70, 1));
	/* dup2(fd, fd) keeps it */
	res_then_feed(&(struct sc_spec){ .tgid = 70, .sc = LP_SC_DUP2, .ret = 3,
		.args = { 3, 3 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 70, 3), "/data/in");
}

/* The fd table keeps small numbers in an array and the rest in a map: the
 * same answers on both sides of the line (63 | 64) and across it, through
 * dup2, fork, close_range and exec. */
Test(resolve, fds_on_both_sides_of_the_table_split)
{
	seed(75, "dockerd", "/");
	const int fds[] = { 3, 63, 64, 1000 };
	const char *paths[] = { "/f3", "/f63", "/f64", "/f1000" };
	for (int i = 0; i < 4; i++)
		res_then_feed(&(struct sc_spec){ .tgid = 75, .sc = LP_SC_OPEN, .ret = fds[i],
			.str = { [0] = paths[i] } }, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(lp_resolver_fd_path(r, 75, fds[i]), paths[i]);
	cr_assert_null(lp_resolver_fd_path(r, 75, 62));
	cr_assert_null(lp_resolver_fd_path(r, 75, 65));
	/* dup2 across the line, both ways, and over a held number */
	res_then_feed(&(struct sc_spec){ .tgid = 75, .sc = LP_SC_DUP2, .ret = 200,
		.args = { 3, 200 } }, 0);
	res_then_feed(&(struct sc_spec){ .tgid = 75, .sc = LP_SC_DUP2, .ret = 5,
		.args = { 1000, 5 } }, 0);
	res_then_feed(&(struct sc_spec){ .tgid = 75, .sc = LP_SC_DUP2, .ret = 63,
		.args = { 64, 63 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 75, 200), "/f3");
	cr_assert_str_eq(lp_resolver_fd_path(r, 75, 5), "/f1000");
	cr_assert_str_eq(lp_resolver_fd_path(r, 75, 63), "/f64");
	/* a child has them all */
	build_fork(buf, 75, 76, "dockerd");
	feed(0);
	const int kids[] = { 3, 5, 63, 64, 200, 1000 };
	const char *kpaths[] = { "/f3", "/f1000", "/f64", "/f64", "/f3", "/f1000" };
	for (int i = 0; i < 6; i++)
		cr_assert_str_eq(lp_resolver_fd_path(r, 76, kids[i]), kpaths[i], "child fd %d", kids[i]);
	/* close_range(60, 500) in the child: 63, 64 and 200 go, 3, 5 and 1000 stay,
	 * and the parent keeps its own */
	res_then_feed(&(struct sc_spec){ .tgid = 76, .sc = LP_SC_CLOSE_RANGE, .ret = 0,
		.args = { 60, 500, 0 } }, 0);
	cr_assert_null(lp_resolver_fd_path(r, 76, 63));
	cr_assert_null(lp_resolver_fd_path(r, 76, 64));
	cr_assert_null(lp_resolver_fd_path(r, 76, 200));
	cr_assert_str_eq(lp_resolver_fd_path(r, 76, 3), "/f3");
	cr_assert_str_eq(lp_resolver_fd_path(r, 76, 5), "/f1000");
	cr_assert_str_eq(lp_resolver_fd_path(r, 76, 1000), "/f1000");
	cr_assert_str_eq(lp_resolver_fd_path(r, 75, 200), "/f3");
	/* a close through the fd's I/O, on each side */
	build_fd_io(buf, 75, 64, 10, 1, false);
	feed(0);
	build_fd_io(buf, 75, 1000, 10, 1, false);
	feed(0);
	cr_assert_null(lp_resolver_fd_path(r, 75, 64));
	cr_assert_null(lp_resolver_fd_path(r, 75, 1000));
	cr_assert_str_eq(lp_resolver_fd_path(r, 75, 5), "/f1000", "a dup outlives its source");
	/* exec keeps 0-2 only */
	res_then_feed(&(struct sc_spec){ .tgid = 76, .sc = LP_SC_DUP2, .ret = 2,
		.args = { 1000, 2 } }, 0);
	build_exec(buf, 76, "runc", "/usr/bin/runc");
	feed(0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 76, 2), "/f1000");
	cr_assert_null(lp_resolver_fd_path(r, 76, 3));
	cr_assert_null(lp_resolver_fd_path(r, 76, 5));
	cr_assert_null(lp_resolver_fd_path(r, 76, 1000));
}

Test(resolve, close_via_fd_io_and_drain)
{
	seed(80, "cp", "/");
	res_then_feed(&(struct sc_spec){ .tgid = 80, .sc = LP_SC_OPEN, .ret = 3,
		.str = { [0] = "/a" } }, 0);
	build_fd_io(buf, 80, 3, 10, 1, true); /* drained: still open */
	feed(0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 80, 3), "/a");
	build_fd_io(buf, 80, 3, 10, 1, false); /* closed */
	feed(0);
	cr_assert_null(lp_resolver_fd_path(r, 80, 3));
	/* failed open: no fd */
	res_then_feed(&(struct sc_spec){ .tgid = 80, .sc = LP_SC_OPEN, .ret = -13,
		.str = { [0] = "/secret" } }, 0);
	cr_assert_null(lp_resolver_fd_path(r, 80, 3));
	cr_assert_null(lp_resolver_fd_path(r, 80, -13));
}

/* Another thread's open returned fd 23, which close(2) had freed, before
 * that close returned: the close's I/O (begun before the open) is the
 * earlier file's, and the new file stays open. */
Test(resolve, close_after_the_open_that_took_its_number)
{
	seed(90, "dockerd", "/");
	res_then_feed(&(struct sc_spec){ .tgid = 90, .ts = 1000, .sc = LP_SC_OPEN, .ret = 23,
		.str = { [0] = "/layer/tar-split.json.gz" } }, 0);
	res_then_feed(&(struct sc_spec){ .tgid = 90, .tid = 91, .ts = 2000, .sc = LP_SC_OPEN, .ret = 23,
		.str = { [0] = "/diff/README.md" } }, 0);
	build_fd_io(buf, 90, 23, 0, 0, false);
	struct lp_ev_fd_io *io = (struct lp_ev_fd_io *)buf;
	io->h.ts = 2002;
	io->wbytes = 441;
	io->wcalls = 1;
	io->first_ts = io->last_ts = 1500;
	cr_assert_str_eq(lp_resolver_fdio_path(r, io), "/layer/tar-split.json.gz");
	feed(0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 90, 23), "/diff/README.md");
	/* the new file's own I/O and close */
	build_fd_io(buf, 90, 23, 1897, 2, false);
	io->h.ts = 3000;
	io->first_ts = 2500;
	io->last_ts = 2600;
	cr_assert_str_eq(lp_resolver_fdio_path(r, io), "/diff/README.md");
	feed(0);
	cr_assert_null(lp_resolver_fd_path(r, 90, 23));
}

Test(resolve, second_paths_and_non_paths)
{
	seed(90, "dockerd", "/root");
	fd_seed(90, 3, "/src");
	fd_seed(90, 4, "/dst");
	struct sc_spec s = { .tgid = 90, .sc = LP_SC_RENAMEAT2, .ret = 0,
		.args = { 3, 0, 4, 0, 1 }, .str = { [1] = "a.tmp", [3] = "a" } };
	build_sc(buf, &s);
	const struct lp_ev_syscall *ev = (const void *)buf;
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/src/a.tmp");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "/dst/a");

	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_LINKAT, .ret = 0, .args = { AT_FDCWD_RAW, 0, 4 },
		.str = { [1] = "old", [3] = "new" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/root/old");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "/dst/new");

	/* symlinkat: the target is link content, kept verbatim */
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_SYMLINKAT, .ret = 0, .args = { 0, 3 },
		.str = { [0] = "../lib/./x", [2] = "link" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "../lib/./x");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "/src/link");
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_SYMLINK, .ret = 0,
		.str = { [0] = "t", [1] = "l" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "t");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "/root/l");

	/* setxattr: the name is not a path */
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_SETXATTR, .ret = 0,
		.str = { [0] = "f", [1] = "user.x" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/root/f");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "user.x");

	/* mount: source is a path only for MS_BIND; fstype/data are text */
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_MOUNT, .ret = 0, .args = { 0, 0, 0, 0 },
		.str = { [0] = "overlay", [1] = "merged", [2] = "overlay", [4] = "lowerdir=a" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "overlay");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "/root/merged");
	cr_assert_str_eq(lp_resolve_path(r, ev, 2, out, sizeof(out)), "overlay");
	cr_assert_str_eq(lp_resolve_path(r, ev, 3, out, sizeof(out)), "lowerdir=a");
	s.args[3] = 4096 | 16384; /* MS_BIND|MS_REC */
	s.str[0] = "srcdir";
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/root/srcdir");

	/* fsconfig key/value are not paths */
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_FSCONFIG, .ret = 0, .args = { 5, 1 },
		.str = { [2] = "source", [3] = "rel" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "rel");

	/* move_mount: from relative to arg0, to relative to arg2; an empty
	 * path with the EMPTY_PATH flag names the fd itself */
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_MOVE_MOUNT, .ret = 0,
		.args = { 3, 0, 4, 0, 0x4 }, .str = { [1] = "", [3] = "mnt" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/src");
	cr_assert_str_eq(lp_resolve_path(r, ev, 1, out, sizeof(out)), "/dst/mnt");
	s.args[4] = 0;
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "");

	/* newfstatat(fd, "", AT_EMPTY_PATH) */
	s = (struct sc_spec){ .tgid = 90, .sc = LP_SC_NEWFSTATAT, .ret = -2,
		.args = { 4, 0, 0, 0x1000 }, .str = { [1] = "" } };
	build_sc(buf, &s);
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/dst");
}

Test(resolve, exit_then_late_records_then_pid_reuse)
{
	seed(100, "tar", "/");
	res_then_feed(&(struct sc_spec){ .tgid = 100, .sc = LP_SC_OPEN, .ret = 3,
		.str = { [0] = "/layer.tar" } }, 0);
	build_exit(buf, 100, 0, "tar");
	feed(0);
	/* the fd aggregate drained at exit comes after the exit */
	cr_assert_str_eq(lp_resolver_fd_path(r, 100, 3), "/layer.tar");
	/* the pid comes back as a new child */
	seed(101, "sh", "/tmp");
	build_fork(buf, 101, 100, "sh");
	feed(0);
	cr_assert_str_eq(lp_resolver_cwd(r, 100), "/tmp");
	cr_assert_null(lp_resolver_fd_path(r, 100, 3));
	cr_assert_str_eq(lp_resolver_comm(r, 100), "sh");
}

Test(resolve, many_exits_are_forgotten)
{
	for (uint32_t pid = 1000; pid < 1600; pid++) {
		build_fork(buf, 1, pid, "w");
		feed(0);
		build_exit(buf, pid, 0, "w");
		feed(0);
	}
	cr_assert_null(lp_resolver_comm(r, 1000)); /* long gone */
	cr_assert_str_eq(lp_resolver_comm(r, 1599), "w"); /* just exited */
}

Test(resolve, normalize_edge_cases)
{
	char b[64];
	cr_assert_str_eq(lp_path_normalize(NULL, "/", b, sizeof(b)), "/");
	cr_assert_str_eq(lp_path_normalize(NULL, "//a///b//", b, sizeof(b)), "/a/b");
	cr_assert_str_eq(lp_path_normalize("/x/y", ".", b, sizeof(b)), "/x/y");
	cr_assert_str_eq(lp_path_normalize("/x/y", "..", b, sizeof(b)), "/x");
	cr_assert_str_eq(lp_path_normalize("/x/y", "../../../..", b, sizeof(b)), "/");
	cr_assert_str_eq(lp_path_normalize("/x", "", b, sizeof(b)), "/x");
	cr_assert_str_eq(lp_path_normalize("/x", "/abs", b, sizeof(b)), "/abs");
	cr_assert_str_eq(lp_path_normalize("/x", "a/.hidden/..b/...", b, sizeof(b)),
			 "/x/a/.hidden/..b/...");
	/* too long: cut, NUL-terminated, no overflow */
	char small[8];
	const char *p = lp_path_normalize(NULL, "/abcdef/ghijkl", small, sizeof(small));
	cr_assert_not_null(p);
	cr_assert_lt(strlen(p), sizeof(small));
	cr_assert_null(lp_path_normalize(NULL, "/a", small, 1));
}

Test(resolve, hostile_records_are_ignored)
{
	/* a syscall record whose string lengths run past its size */
	struct sc_spec s = { .tgid = 5, .sc = LP_SC_OPEN, .ret = 3, .str = { [0] = "/x" } };
	build_sc(buf, &s);
	struct lp_ev_syscall *ev = (void *)buf;
	ev->str_len[0] = 500;
	cr_assert_null(lp_resolve_path(r, ev, 0, out, sizeof(out)));
	feed(0);
	ev->str_len[0] = 3;
	ev->nstr = 200;
	feed(0);
	ev->h.size = 10;
	feed(0);
	ev->h.aux = 5000; /* unknown syscall */
	ev->h.size = sizeof(*ev) + 3;
	ev->nstr = 1;
	cr_assert_str_eq(lp_resolve_path(r, ev, 0, out, sizeof(out)), "/x");
	feed(0);
	/* a seed whose lengths lie */
	const char *argv[] = { "a", NULL };
	build_seed(buf, 6, 1, "x", "/bin/x", "/", argv);
	((struct lp_rec_proc_seed *)buf)->cwd_len = 60000;
	feed(0);
	cr_assert_null(lp_resolver_cwd(r, 6));
}

/* The drain at the end of a recording of a process that had exited: the
 * kernel closed its fds at exit, they are not still open. */
Test(resolve, drain_after_exit_closes)
{
	seed(81, "cp", "/");
	res_then_feed(&(struct sc_spec){ .tgid = 81, .sc = LP_SC_OPEN, .ret = 3,
		.str = { [0] = "/a" } }, 0);
	seed(82, "sleep", "/");
	res_then_feed(&(struct sc_spec){ .tgid = 82, .sc = LP_SC_OPEN, .ret = 4,
		.str = { [0] = "/b" } }, 0);
	build_exit(buf, 81, 0, "cp");
	feed(0);
	/* 81 exited: its drained fd closed at exit (still resolvable first) */
	build_fd_io(buf, 81, 3, 10, 1, true);
	cr_assert(lp_resolver_fdio_closes(r, (const struct lp_hdr *)buf));
	cr_assert_str_eq(lp_resolver_fd_path(r, 81, 3), "/a");
	feed(0);
	cr_assert_null(lp_resolver_fd_path(r, 81, 3));
	/* 82 still runs: still open */
	build_fd_io(buf, 82, 4, 10, 1, true);
	cr_assert(!lp_resolver_fdio_closes(r, (const struct lp_hdr *)buf));
	feed(0);
	cr_assert_str_eq(lp_resolver_fd_path(r, 82, 4), "/b");
	/* a close record always ends the fd */
	build_fd_io(buf, 82, 4, 10, 1, false);
	cr_assert(lp_resolver_fdio_closes(r, (const struct lp_hdr *)buf));
	feed(0);
	cr_assert_null(lp_resolver_fd_path(r, 82, 4));
}

/* The feed given the first path it would resolve does what the plain feed
 * does; a caller's tag stays with the path (dup shares it, close drops it). */
Test(resolve, feed_first_and_tags)
{
	seed(83, "sh", "/srv");
	struct sc_spec s = { .tgid = 83, .sc = LP_SC_OPENAT, .ret = 5, .args = { AT_FDCWD_RAW },
			     .str = { [1] = "a/../b" } };
	build_sc(buf, &s);
	int idx;
	const char *first = lp_resolver_first_path(r, (const struct lp_ev_syscall *)buf, &idx, out, sizeof(out));
	cr_assert_str_eq(first, "/srv/b");
	cr_assert_eq(idx, 0);
	lp_resolver_feed_first(r, (const struct lp_hdr *)buf, first);
	cr_assert_str_eq(lp_resolver_fd_path(r, 83, 5), "/srv/b");
	uint32_t *tag;
	cr_assert_str_eq(lp_resolver_fd_tag(r, 83, 5, &tag), "/srv/b");
	cr_assert_not_null(tag);
	cr_assert_eq(*tag, 0);
	*tag = 42;
	res_then_feed(&(struct sc_spec){ .tgid = 83, .sc = LP_SC_DUP, .ret = 6, .args = { 5 } }, 0);
	cr_assert_str_eq(lp_resolver_fd_tag(r, 83, 6, &tag), "/srv/b");
	cr_assert_eq(*tag, 42, "dup shares the path and its tag");
	/* chdir through feed_first */
	s = (struct sc_spec){ .tgid = 83, .sc = LP_SC_CHDIR, .ret = 0, .str = { [0] = "sub" } };
	build_sc(buf, &s);
	first = lp_resolver_first_path(r, (const struct lp_ev_syscall *)buf, &idx, out, sizeof(out));
	lp_resolver_feed_first(r, (const struct lp_hdr *)buf, first);
	cr_assert_str_eq(lp_resolver_cwd(r, 83), "/srv/sub");
	/* no path argument: NULL, -1 */
	s = (struct sc_spec){ .tgid = 83, .sc = LP_SC_CLOSE, .ret = 0, .args = { 5 } };
	build_sc(buf, &s);
	cr_assert_null(lp_resolver_first_path(r, (const struct lp_ev_syscall *)buf, &idx, out, sizeof(out)));
	cr_assert_eq(idx, -1);
	lp_resolver_feed_first(r, (const struct lp_hdr *)buf, NULL);
	cr_assert_null(lp_resolver_fd_tag(r, 83, 5, &tag));
	cr_assert_null(tag);
}

/* Paths already normal are copied as they are; the others normalized. */
Test(resolve, normalize_normal_and_not)
{
	char b[64];
	static const char *same[] = { "/", "/a", "/a/b.c", "/a/.b", "/a/..b", "/a/...", "/x/y/z" };
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		cr_assert_str_eq(lp_path_normalize(NULL, same[i], b, sizeof(b)), same[i]);
	cr_assert_str_eq(lp_path_normalize(NULL, "/a/b/", b, sizeof(b)), "/a/b");
	cr_assert_str_eq(lp_path_normalize(NULL, "/a/./b", b, sizeof(b)), "/a/b");
	cr_assert_str_eq(lp_path_normalize(NULL, "/a/b/..", b, sizeof(b)), "/a");
	cr_assert_str_eq(lp_path_normalize(NULL, "//a", b, sizeof(b)), "/a");
	cr_assert_str_eq(lp_path_normalize(NULL, "/a/.", b, sizeof(b)), "/a");
	cr_assert_str_eq(lp_path_normalize("/base", "rel/x", b, sizeof(b)), "/base/rel/x");
	/* too long for the buffer: cut to fit, as before */
	char small[6];
	cr_assert_str_eq(lp_path_normalize(NULL, "/abc/def", small, sizeof(small)), "/abc");
}

/* The test of an already normal path goes eight bytes at a time: an
 * empty, "." or ".." component is found wherever it falls in a word, and
 * ".x" / "..x" names are left alone there too. */
Test(resolve, normalize_odd_components_at_every_offset)
{
	char b[128], in[128], want[128], pre[64];
	for (size_t o = 2; o < 40; o++) {
		memset(pre, 'a', o);
		pre[0] = '/';
		pre[o] = 0; /* "/aaa...": one component, o bytes */
		static const struct { const char *tail, *want; } cases[] = {
			{ "//b", "P/b" }, { "/./b", "P/b" }, { "/../b", "/b" }, { "/.", "P" },
			{ "/..", "/" }, { "/", "P" }, { "/.b", "P/.b" }, { "/..b", "P/..b" },
			{ "/b/.", "P/b" }, { "/b.c/d", "P/b.c/d" },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(in, sizeof(in), "%s%s", pre, cases[i].tail);
			const char *w = cases[i].want;
			snprintf(want, sizeof(want), "%s%s", w[0] == 'P' ? pre : "", w[0] == 'P' ? w + 1 : w);
			cr_assert_str_eq(lp_path_normalize(NULL, in, b, sizeof(b)), want, "'%s'", in);
		}
	}
}
