/* SPDX-License-Identifier: BSD-2-Clause */
/* The syscall table (syscalls.def vs syscalls.c), record accessors, and the
 * symbolic decoding used by dump. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>

#include "event.h"
#include "records.h"
#include "syscalls.h"
#include "sysfmt.h"

static const struct {
	unsigned sc;
	const char *upper, *tp;
	int cls;
	int s[4];
} rows[] = {
#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3) \
	{ LP_SC_##SC, #SC, #TP, CLASS, { S0, S1, S2, S3 } },
#include "layerprof/syscalls.def"
#undef LP_SYSCALL
};

Test(syscalls, table_agrees_with_def)
{
	/* every lp_sc has a row, once */
	cr_assert_eq(sizeof(rows) / sizeof(rows[0]), LP_SC_NR - 1);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned sc = rows[i].sc;
		const char *name = lp_sc_name(sc);
		cr_assert_not_null(name, "%s has no name", rows[i].upper);
		/* the name is the enum suffix in lower case */
		char lower[32];
		size_t n = strlen(rows[i].upper);
		for (size_t k = 0; k <= n; k++)
			lower[k] = (char)tolower((unsigned char)rows[i].upper[k]);
		cr_assert_str_eq(name, lower);
		cr_assert_str_eq(lp_sc_tp(sc), rows[i].tp);
		cr_assert_eq(lp_sc_class(sc), rows[i].cls);
		cr_assert_eq(lp_sc_from_name(name), (int)sc);
		cr_assert_eq(lp_sc_from_name(rows[i].tp), (int)sc);
		const struct lp_sc_desc *d = lp_sc_desc(sc);
		cr_assert_not_null(d);
		for (unsigned s = 0; s < 4; s++) {
			int a = rows[i].s[s];
			if (a == NS) {
				cr_assert_eq(lp_sc_str_arg(sc, s), -1);
				continue;
			}
			cr_assert_eq(lp_sc_str_arg(sc, s), a);
			/* every string the kernel reads has a string type */
			int t = lp_sc_arg_type(sc, (unsigned)a);
			cr_assert(t == LP_ARG_PATH || t == LP_ARG_MOUNT_SRC ||
				  t == LP_ARG_LINK_TARGET || t == LP_ARG_STR,
				  "%s: arg %d is read as a string but typed %s", name, a,
				  lp_argt_name(t));
			cr_assert_lt((unsigned)a, d->nargs, "%s: string arg %d past nargs", name, a);
		}
		/* path args point at a dirfd arg or the cwd */
		for (unsigned a = 0; a < d->nargs; a++) {
			cr_assert_neq(d->arg[a].type, LP_ARG_NONE, "%s arg %u untyped", name, a);
			if (d->arg[a].type == LP_ARG_PATH && d->arg[a].base != LP_BASE_CWD)
				cr_assert_eq(d->arg[d->arg[a].base].type, LP_ARG_DIRFD, "%s arg %u",
					     name, a);
		}
	}
	cr_assert_null(lp_sc_name(LP_SC_NONE));
	cr_assert_null(lp_sc_name(LP_SC_NR));
	cr_assert_null(lp_sc_name(100000));
	cr_assert_null(lp_sc_desc(LP_SC_NR));
	cr_assert_eq(lp_sc_class(9999), 0);
	cr_assert_eq(lp_sc_from_name("nosuchcall"), LP_SC_NONE);
	cr_assert_eq(lp_sc_from_name(NULL), LP_SC_NONE);
	cr_assert_eq(lp_sc_from_name("stat"), LP_SC_STAT);
	cr_assert_eq(lp_sc_from_name("newstat"), LP_SC_STAT);
	cr_assert_eq(lp_sc_from_name("umount"), LP_SC_UMOUNT2);
}

Test(syscalls, path_knowledge)
{
	__u64 none[6] = { 0 }, bind[6] = { 0, 0, 0, 4096 };
	cr_assert(lp_sc_arg_is_path(LP_SC_OPENAT, 1, none));
	cr_assert(!lp_sc_arg_is_path(LP_SC_OPENAT, 0, none));
	cr_assert(!lp_sc_arg_is_path(LP_SC_SYMLINKAT, 0, none));
	cr_assert(lp_sc_arg_is_path(LP_SC_SYMLINKAT, 2, none));
	cr_assert(!lp_sc_arg_is_path(LP_SC_SETXATTR, 1, none));
	cr_assert(!lp_sc_arg_is_path(LP_SC_MOUNT, 0, none));
	cr_assert(lp_sc_arg_is_path(LP_SC_MOUNT, 0, bind));
	cr_assert(lp_sc_arg_is_path(LP_SC_MOUNT, 1, none));
	cr_assert(!lp_sc_arg_is_path(LP_SC_MOUNT, 2, bind));
	cr_assert(!lp_sc_arg_is_path(LP_SC_FSCONFIG, 3, none));
	cr_assert(!lp_sc_arg_is_path(LP_SC_FSOPEN, 0, none));
	cr_assert(!lp_sc_arg_is_path(9999, 0, none));
	cr_assert_eq(lp_sc_desc(LP_SC_RENAMEAT)->arg[3].base, 2);
	cr_assert_eq(lp_sc_desc(LP_SC_LINKAT)->arg[1].base, 0);
	cr_assert_eq(lp_sc_desc(LP_SC_MOVE_MOUNT)->arg[3].base, 2);
	cr_assert_eq(lp_sc_desc(LP_SC_SYMLINKAT)->arg[2].base, 1);
	cr_assert(lp_sc_opens_path(LP_SC_OPENAT2));
	cr_assert(!lp_sc_opens_path(LP_SC_MKDIRAT));
}

static _Alignas(8) uint8_t buf[8192];

Test(syscalls, syscall_strings_bounds)
{
	struct lp_ev_syscall *ev = (void *)buf;
	build_sc(buf, &(struct sc_spec){ .tgid = 1, .sc = LP_SC_RENAMEAT, .str = { [1] = "from",
		[3] = "to" } });
	size_t len;
	cr_assert_str_eq(lp_ev_syscall_str(ev, 0, &len), "from");
	cr_assert_eq(len, 4);
	cr_assert_str_eq(lp_ev_syscall_str(ev, 1, &len), "to");
	cr_assert_str_eq(lp_ev_syscall_arg_str(ev, 3, NULL, NULL), "to");
	unsigned idx = 9;
	cr_assert_str_eq(lp_ev_syscall_arg_str(ev, 1, &idx, NULL), "from");
	cr_assert_eq(idx, 0);
	cr_assert_null(lp_ev_syscall_arg_str(ev, 2, NULL, NULL));
	cr_assert_null(lp_ev_syscall_str(ev, 2, NULL));
	cr_assert(lp_ev_valid(&ev->h));

	/* a length past the record */
	ev->str_len[1] = 100;
	cr_assert_null(lp_ev_syscall_str(ev, 1, NULL));
	cr_assert(!lp_ev_valid(&ev->h));
	/* no NUL inside the string */
	ev->str_len[1] = 3;
	((char *)buf)[sizeof(*ev) + 5 + 2] = 'x';
	cr_assert_null(lp_ev_syscall_str(ev, 1, NULL));
	/* unreadable string (length 0) */
	ev->str_len[1] = 0;
	cr_assert_null(lp_ev_syscall_str(ev, 1, NULL));
	/* nstr past the array */
	ev->nstr = 9;
	cr_assert_null(lp_ev_syscall_str(ev, 5, NULL));
	cr_assert(!lp_ev_valid(&ev->h));
	/* a record shorter than the fixed part */
	ev->nstr = 1;
	ev->h.size = 40;
	cr_assert_null(lp_ev_syscall_str(ev, 0, NULL));
	cr_assert(!lp_ev_valid(&ev->h));
	ev->h.size = 10;
	cr_assert(!lp_ev_valid(&ev->h));

	build_sc(buf, &(struct sc_spec){ .sc = LP_SC_OPEN, .flags = LP_F_STR0_TRUNC,
		.str = { [0] = "x" } });
	cr_assert(lp_ev_syscall_str_truncated(ev, 0));
	cr_assert(!lp_ev_syscall_str_truncated(ev, 1));
}

Test(syscalls, exec_argv_and_seeds)
{
	build_exec(buf, 3, "sh", "/bin/sh");
	const struct lp_ev_exec *ex = (const void *)buf;
	cr_assert_str_eq(lp_ev_exec_filename(ex, NULL), "/bin/sh");
	((struct lp_ev_exec *)buf)->filename_len = 300;
	cr_assert_null(lp_ev_exec_filename(ex, NULL));

	const char *argv[] = { "sh", "-c", "echo hi", NULL };
	build_argv(buf, 3, "/bin/sh", argv);
	struct lp_str_iter it;
	lp_ev_argv_iter((const void *)buf, &it);
	cr_assert_str_eq(lp_str_next(&it, NULL), "/bin/sh");
	cr_assert_str_eq(lp_str_next(&it, NULL), "sh");
	cr_assert_str_eq(lp_str_next(&it, NULL), "-c");
	size_t len;
	cr_assert_str_eq(lp_str_next(&it, &len), "echo hi");
	cr_assert_eq(len, 7);
	cr_assert_null(lp_str_next(&it, NULL));
	/* cut data: the last string has no NUL, it is not returned */
	struct lp_ev_exec_argv *av = (void *)buf;
	av->data_len -= 1;
	lp_ev_argv_iter(av, &it);
	int n = 0;
	while (lp_str_next(&it, NULL))
		n++;
	cr_assert_eq(n, 3);
	/* argc smaller than the strings: stops at argc */
	av->data_len += 1;
	av->argc = 1;
	lp_ev_argv_iter(av, &it);
	n = 0;
	while (lp_str_next(&it, NULL))
		n++;
	cr_assert_eq(n, 2);
	/* data_len past the record: nothing */
	av->data_len = 5000;
	lp_ev_argv_iter(av, &it);
	cr_assert_null(lp_str_next(&it, NULL));

	const char *cmd[] = { "dockerd", "-H", "fd://", NULL };
	build_seed(buf, 7, 1, "dockerd", "/usr/bin/dockerd", "/", cmd);
	const struct lp_rec_proc_seed *sd = (const void *)buf;
	cr_assert(lp_ev_valid(&sd->h));
	cr_assert_str_eq(lp_ev_seed_exe(sd, NULL), "/usr/bin/dockerd");
	cr_assert_str_eq(lp_ev_seed_cwd(sd, NULL), "/");
	lp_ev_seed_cmdline_iter(sd, &it);
	cr_assert_str_eq(lp_str_next(&it, NULL), "dockerd");
	cr_assert_str_eq(lp_str_next(&it, NULL), "-H");
	cr_assert_str_eq(lp_str_next(&it, NULL), "fd://");
	cr_assert_null(lp_str_next(&it, NULL));

	build_fd_seed(buf, 7, 4, "/var/log/x");
	cr_assert_str_eq(lp_ev_fd_seed_path((const void *)buf, NULL), "/var/log/x");

	build_progress(buf, 5, "#5 [2/4] RUN make");
	cr_assert_str_eq(lp_kind_name(((struct lp_hdr *)buf)->kind), "progress");
	const char *t = lp_ev_progress_text((const void *)buf, &len);
	cr_assert_eq(len, 17);
	cr_assert_eq(memcmp(t, "#5 [2/4] RUN make", 17), 0);
	((struct lp_rec_progress *)buf)->len = 1000;
	cr_assert_null(lp_ev_progress_text((const void *)buf, &len));

	char c[LP_COMM_LEN + 1];
	lp_comm_copy(c, "0123456789abcdefOVERFLOW");
	cr_assert_str_eq(c, "0123456789abcdef");
	cr_assert_null(lp_kind_name(0x42));
	cr_assert_eq(lp_kind_min_size(LP_EV_FD_IO), sizeof(struct lp_ev_fd_io));
}

Test(syscalls, symbolic_decoding)
{
	char b[256];
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_OPEN_FLAGS, 02000000, b, sizeof(b)), "O_RDONLY|O_CLOEXEC");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_OPEN_FLAGS, 01101, b, sizeof(b)),
			 "O_WRONLY|O_CREAT|O_TRUNC");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_OPEN_FLAGS, 020200002, b, sizeof(b)), "O_RDWR|O_TMPFILE");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_OPEN_FLAGS, 04010000, b, sizeof(b)), "O_RDONLY|O_SYNC");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_DIRFD, AT_FDCWD_RAW, b, sizeof(b)), "AT_FDCWD");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_DIRFD, 0xffffff9c, b, sizeof(b)), "AT_FDCWD");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_DIRFD, 7, b, sizeof(b)), "7");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_RENAME_FLAGS, 1, b, sizeof(b)), "RENAME_NOREPLACE");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_RENAME_FLAGS, 0, b, sizeof(b)), "0");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_MS_FLAGS, 4096 | 16384, b, sizeof(b)), "MS_BIND|MS_REC");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_MS_FLAGS, 0xc0ed0000u | 1, b, sizeof(b)),
			 "MS_MGC_VAL|MS_RDONLY");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_UNLINK_FLAGS, 0x200, b, sizeof(b)), "AT_REMOVEDIR");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_AT_FLAGS, 0x1100, b, sizeof(b)),
			 "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_AT_FLAGS, 0x80000001, b, sizeof(b)), "0x80000001");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_MODE, 0644, b, sizeof(b)), "0644");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_MODE, 0100755, b, sizeof(b)), "S_IFREG|0755");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_ACCESS_MODE, 0, b, sizeof(b)), "F_OK");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_ACCESS_MODE, 6, b, sizeof(b)), "R_OK|W_OK");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_FCNTL_CMD, 1030, b, sizeof(b)), "F_DUPFD_CLOEXEC");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_PTR, 0, b, sizeof(b)), "NULL");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_DEV, (8 << 8) | 1, b, sizeof(b)), "makedev(0x8, 0x1)");
	cr_assert_str_eq(lp_fmt_arg(LP_ARG_FD, 0xffffffffu, b, sizeof(b)), "-1");
	cr_assert_str_eq(lp_errno_name(2), "ENOENT");
	cr_assert_str_eq(lp_errno_name(28), "ENOSPC");
	cr_assert_null(lp_errno_name(0));
	cr_assert_null(lp_errno_name(99999));
	cr_assert_str_eq(lp_signal_name(9), "SIGKILL");
	cr_assert_str_eq(lp_fmt_wait_status(1 << 8, b, sizeof(b)), "exited with code 1");
	cr_assert_str_eq(lp_fmt_wait_status(0x80 | 11, b, sizeof(b)), "killed by SIGSEGV (core dumped)");
	/* a tiny buffer is cut, not overflowed */
	char t[5];
	lp_fmt_arg(LP_ARG_OPEN_FLAGS, 02101, t, sizeof(t));
	cr_assert_eq(strlen(t), 4);
}
