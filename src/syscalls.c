/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The user-space view of syscalls.def (see syscalls.h). Two tables:
 *  - `def`: generated from syscalls.def (tracepoint, class, string args);
 *  - `sig`: the signature of each syscall, written here by hand, with what
 *    every argument is. Path knowledge (which dirfd a path is relative to,
 *    which strings are not paths) lives in `sig` and nowhere else.
 * tests/unit/test_syscalls.c checks the two agree (every string the kernel
 * side reads has a string type here, names match the enum).
 */
#include "syscalls.h"

#include <string.h>

#define NS 9

static const struct {
	const char *tp;
	uint8_t cls;
	uint8_t s[LP_SYSCALL_MAX_STRS];
} def[LP_SC_NR] = {
#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3) \
	[LP_SC_##SC] = { #TP, CLASS, { S0, S1, S2, S3 } },
#include "layerprof/syscalls.def"
#undef LP_SYSCALL
};

/* AT_EMPTY_PATH and friends, spelled out so this table needs no kernel
 * headers (the values are ABI). */
#define X_AT_EMPTY_PATH 0x1000u
#define X_MOVE_MOUNT_F_EMPTY_PATH 0x4u
#define X_MOVE_MOUNT_T_EMPTY_PATH 0x40u

#define CWD LP_BASE_CWD
#define A(t) { LP_ARG_##t, 0, -1, 0 }
/* a path relative to dirfd arg b (or CWD) */
#define P(b) { LP_ARG_PATH, b, -1, 0 }
/* ...that names the dirfd itself when empty and flag bit is set in arg fa */
#define PE(b, fa, bit) { LP_ARG_PATH, b, fa, bit }
#define SIG(SC, NAME, N, ...) [LP_SC_##SC] = { NAME, N, { __VA_ARGS__ } }

static const struct lp_sc_desc sig[LP_SC_NR] = {
	SIG(OPEN, "open", 3, P(CWD), A(OPEN_FLAGS), A(MODE)),
	SIG(OPENAT, "openat", 4, A(DIRFD), P(0), A(OPEN_FLAGS), A(MODE)),
	/* arg 2 is a struct open_how pointer: its flags are not captured */
	SIG(OPENAT2, "openat2", 4, A(DIRFD), P(0), A(PTR), A(UINT)),
	SIG(CREAT, "creat", 2, P(CWD), A(MODE)),
	SIG(CLOSE, "close", 1, A(FD)),

	SIG(RENAME, "rename", 2, P(CWD), P(CWD)),
	SIG(RENAMEAT, "renameat", 4, A(DIRFD), P(0), A(DIRFD), P(2)),
	SIG(RENAMEAT2, "renameat2", 5, A(DIRFD), P(0), A(DIRFD), P(2), A(RENAME_FLAGS)),
	SIG(LINK, "link", 2, P(CWD), P(CWD)),
	SIG(LINKAT, "linkat", 5, A(DIRFD), PE(0, 4, X_AT_EMPTY_PATH), A(DIRFD), P(2),
	    A(AT_FLAGS)),
	/* the target is the link's content, not a path of this process */
	SIG(SYMLINK, "symlink", 2, A(LINK_TARGET), P(CWD)),
	SIG(SYMLINKAT, "symlinkat", 3, A(LINK_TARGET), A(DIRFD), P(1)),
	SIG(UNLINK, "unlink", 1, P(CWD)),
	SIG(UNLINKAT, "unlinkat", 3, A(DIRFD), P(0), A(UNLINK_FLAGS)),
	SIG(RMDIR, "rmdir", 1, P(CWD)),
	SIG(MKDIR, "mkdir", 2, P(CWD), A(MODE)),
	SIG(MKDIRAT, "mkdirat", 3, A(DIRFD), P(0), A(MODE)),
	SIG(MKNOD, "mknod", 3, P(CWD), A(MODE), A(DEV)),
	SIG(MKNODAT, "mknodat", 4, A(DIRFD), P(0), A(MODE), A(DEV)),

	/* the attribute name (arg 1) is not a path */
	SIG(SETXATTR, "setxattr", 5, P(CWD), A(STR), A(PTR), A(UINT), A(XATTR_FLAGS)),
	SIG(LSETXATTR, "lsetxattr", 5, P(CWD), A(STR), A(PTR), A(UINT), A(XATTR_FLAGS)),
	SIG(FSETXATTR, "fsetxattr", 5, A(FD), A(STR), A(PTR), A(UINT), A(XATTR_FLAGS)),

	/* source is a path only for MS_BIND (see lp_sc_arg_is_path); fstype
	 * and data are text */
	SIG(MOUNT, "mount", 5, { LP_ARG_MOUNT_SRC, CWD, -1, 0 }, P(CWD), A(STR), A(MS_FLAGS),
	    A(STR)),
	SIG(UMOUNT2, "umount2", 2, P(CWD), A(UMOUNT_FLAGS)),
	SIG(MOVE_MOUNT, "move_mount", 5, A(DIRFD), PE(0, 4, X_MOVE_MOUNT_F_EMPTY_PATH),
	    A(DIRFD), PE(2, 4, X_MOVE_MOUNT_T_EMPTY_PATH), A(MOVE_MOUNT_FLAGS)),
	SIG(FSMOUNT, "fsmount", 3, A(FD), A(FSMOUNT_FLAGS), A(MOUNT_ATTR)),
	/* key and value are text (a "source" value may look like a path, but
	 * it is the filesystem's business) */
	SIG(FSCONFIG, "fsconfig", 5, A(FD), A(FSCONFIG_CMD), A(STR), A(STR), A(INT)),
	SIG(FSOPEN, "fsopen", 2, A(STR), A(FSOPEN_FLAGS)),
	SIG(OPEN_TREE, "open_tree", 3, A(DIRFD), PE(0, 2, X_AT_EMPTY_PATH), A(OPEN_TREE_FLAGS)),

	SIG(FSYNC, "fsync", 1, A(FD)),
	SIG(FDATASYNC, "fdatasync", 1, A(FD)),
	SIG(SYNCFS, "syncfs", 1, A(FD)),
	SIG(SYNC_FILE_RANGE, "sync_file_range", 4, A(FD), A(OFFSET), A(OFFSET), A(UINT)),

	SIG(COPY_FILE_RANGE, "copy_file_range", 6, A(FD), A(PTR), A(FD), A(PTR), A(UINT),
	    A(UINT)),
	SIG(SENDFILE, "sendfile", 4, A(FD), A(FD), A(PTR), A(UINT)),
	SIG(SPLICE, "splice", 6, A(FD), A(PTR), A(FD), A(PTR), A(UINT), A(UINT)),

	SIG(CHDIR, "chdir", 1, P(CWD)),
	SIG(FCHDIR, "fchdir", 1, A(FD)),
	SIG(DUP, "dup", 1, A(FD)),
	SIG(DUP2, "dup2", 2, A(FD), A(FD)),
	SIG(DUP3, "dup3", 3, A(FD), A(FD), A(DUP3_FLAGS)),
	SIG(FCNTL, "fcntl", 3, A(FD), A(FCNTL_CMD), A(INT)),

	SIG(EXECVE, "execve", 3, P(CWD), A(PTR), A(PTR)),
	SIG(EXECVEAT, "execveat", 5, A(DIRFD), PE(0, 4, X_AT_EMPTY_PATH), A(PTR), A(PTR),
	    A(AT_FLAGS)),

	SIG(STAT, "stat", 2, P(CWD), A(PTR)),
	SIG(LSTAT, "lstat", 2, P(CWD), A(PTR)),
	SIG(NEWFSTATAT, "newfstatat", 4, A(DIRFD), PE(0, 3, X_AT_EMPTY_PATH), A(PTR),
	    A(AT_FLAGS)),
	SIG(STATX, "statx", 5, A(DIRFD), PE(0, 2, X_AT_EMPTY_PATH), A(AT_FLAGS),
	    A(STATX_MASK), A(PTR)),
	SIG(ACCESS, "access", 2, P(CWD), A(ACCESS_MODE)),
	SIG(FACCESSAT, "faccessat", 3, A(DIRFD), P(0), A(ACCESS_MODE)),
	SIG(FACCESSAT2, "faccessat2", 4, A(DIRFD), PE(0, 3, X_AT_EMPTY_PATH), A(ACCESS_MODE),
	    A(AT_FLAGS)),
	SIG(READLINKAT, "readlinkat", 4, A(DIRFD), P(0), A(PTR), A(UINT)),

	SIG(READ, "read", 3, A(FD), A(PTR), A(UINT)),
	SIG(WRITE, "write", 3, A(FD), A(PTR), A(UINT)),
	SIG(PREAD64, "pread64", 4, A(FD), A(PTR), A(UINT), A(OFFSET)),
	SIG(PWRITE64, "pwrite64", 4, A(FD), A(PTR), A(UINT), A(OFFSET)),
	SIG(READV, "readv", 3, A(FD), A(PTR), A(UINT)),
	SIG(WRITEV, "writev", 3, A(FD), A(PTR), A(UINT)),
	SIG(PREADV, "preadv", 5, A(FD), A(PTR), A(UINT), A(OFFSET), A(OFFSET)),
	SIG(PWRITEV, "pwritev", 5, A(FD), A(PTR), A(UINT), A(OFFSET), A(OFFSET)),
	SIG(PREADV2, "preadv2", 6, A(FD), A(PTR), A(UINT), A(OFFSET), A(OFFSET), A(UINT)),
	SIG(PWRITEV2, "pwritev2", 6, A(FD), A(PTR), A(UINT), A(OFFSET), A(OFFSET), A(UINT)),

	SIG(CHOWN, "chown", 3, P(CWD), A(ID), A(ID)),
	SIG(FCHOWN, "fchown", 3, A(FD), A(ID), A(ID)),
	SIG(LCHOWN, "lchown", 3, P(CWD), A(ID), A(ID)),
	SIG(FCHOWNAT, "fchownat", 5, A(DIRFD), PE(0, 4, X_AT_EMPTY_PATH), A(ID), A(ID),
	    A(AT_FLAGS)),
	SIG(CHMOD, "chmod", 2, P(CWD), A(MODE)),
	SIG(FCHMOD, "fchmod", 2, A(FD), A(MODE)),
	SIG(FCHMODAT, "fchmodat", 3, A(DIRFD), P(0), A(MODE)),
	/* utimensat(dfd, NULL, ...) means the fd itself: shown as a NULL path */
	SIG(UTIMENSAT, "utimensat", 4, A(DIRFD), P(0), A(PTR), A(AT_FLAGS)),

	/* first and last fd (printed unsigned: ~0U is "all"), CLOSE_RANGE_* */
	SIG(CLOSE_RANGE, "close_range", 3, A(FD), A(UINT), A(UINT)),
};

#undef SIG
#undef PE
#undef P
#undef A
#undef CWD

const struct lp_sc_desc *lp_sc_desc(unsigned sc)
{
	if (sc == LP_SC_NONE || sc >= LP_SC_NR || !sig[sc].name)
		return NULL;
	return &sig[sc];
}

const char *lp_sc_name(unsigned sc)
{
	if (sc == LP_SC_NONE || sc >= LP_SC_NR)
		return NULL;
	return sig[sc].name;
}

const char *lp_sc_tp(unsigned sc)
{
	if (sc == LP_SC_NONE || sc >= LP_SC_NR)
		return NULL;
	return def[sc].tp;
}

int lp_sc_class(unsigned sc)
{
	if (sc == LP_SC_NONE || sc >= LP_SC_NR)
		return 0;
	return def[sc].cls;
}

int lp_sc_str_arg(unsigned sc, unsigned i)
{
	if (sc == LP_SC_NONE || sc >= LP_SC_NR || i >= LP_SYSCALL_MAX_STRS)
		return -1;
	return def[sc].s[i] < 6 ? def[sc].s[i] : -1;
}

int lp_sc_from_name(const char *name)
{
	if (!name)
		return LP_SC_NONE;
	for (unsigned i = 1; i < LP_SC_NR; i++)
		if (sig[i].name && !strcmp(sig[i].name, name))
			return (int)i;
	for (unsigned i = 1; i < LP_SC_NR; i++)
		if (def[i].tp && !strcmp(def[i].tp, name))
			return (int)i;
	return LP_SC_NONE;
}

int lp_sc_arg_type(unsigned sc, unsigned arg)
{
	if (sc == LP_SC_NONE || sc >= LP_SC_NR || arg >= 6)
		return LP_ARG_NONE;
	return sig[sc].arg[arg].type;
}

#define X_MS_BIND 4096u

bool lp_sc_arg_is_path(unsigned sc, unsigned arg, const __u64 args[6])
{
	switch (lp_sc_arg_type(sc, arg)) {
	case LP_ARG_PATH:
		return true;
	case LP_ARG_MOUNT_SRC:
		return args && (args[3] & X_MS_BIND);
	default:
		return false;
	}
}

bool lp_sc_opens_path(unsigned sc)
{
	switch (sc) {
	case LP_SC_OPEN:
	case LP_SC_OPENAT:
	case LP_SC_OPENAT2:
	case LP_SC_CREAT:
	case LP_SC_OPEN_TREE:
		return true;
	default:
		return false;
	}
}
