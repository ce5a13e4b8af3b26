/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The user-space view of include/layerprof/syscalls.def: names, classes,
 * which arguments are strings, and the signature of every traced syscall
 * (what each argument is: a path and its dirfd, flags of which family, a
 * plain number...). This is the ONE place that knows, for example, that
 * renameat's second path is relative to its arg 2, that symlinkat's target
 * is link content and not a path, or that mount's source is a path only for
 * bind mounts. The resolver (resolve.c) and `dump` read it from here.
 */
#ifndef LAYERPROF_SYSCALLS_H
#define LAYERPROF_SYSCALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "layerprof/abi.h"

/* Argument index meaning "relative to the process's cwd" (no dirfd arg). */
#define LP_BASE_CWD (-1)

/* What one argument of a traced syscall is. */
enum lp_argt {
	LP_ARG_NONE = 0,        /* not part of the signature */
	LP_ARG_INT,             /* int, printed signed (32 bit) */
	LP_ARG_UINT,            /* size or count, printed unsigned (64 bit) */
	LP_ARG_OFFSET,          /* loff_t, printed signed (64 bit) */
	LP_ARG_PTR,             /* user pointer, printed in hex */
	LP_ARG_FD,              /* file descriptor */
	LP_ARG_DIRFD,           /* AT_FDCWD or a directory fd */
	/* strings (the kernel side may send them, see syscalls.def) */
	LP_ARG_PATH,            /* a path, resolved against .base */
	LP_ARG_MOUNT_SRC,       /* mount(2) source: a path only with MS_BIND */
	LP_ARG_LINK_TARGET,     /* symlink content: shown, never resolved */
	LP_ARG_STR,             /* other text: xattr name, fs type, mount data... */
	/* flag words, decoded symbolically */
	LP_ARG_OPEN_FLAGS,      /* O_* */
	LP_ARG_MODE,            /* permission bits (octal), S_IF* for mknod */
	LP_ARG_AT_FLAGS,        /* AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR... */
	LP_ARG_RENAME_FLAGS,    /* RENAME_* */
	LP_ARG_MS_FLAGS,        /* MS_* */
	LP_ARG_UMOUNT_FLAGS,    /* MNT_FORCE, MNT_DETACH... */
	LP_ARG_MOVE_MOUNT_FLAGS,/* MOVE_MOUNT_* */
	LP_ARG_OPEN_TREE_FLAGS, /* OPEN_TREE_CLONE, AT_* */
	LP_ARG_FSMOUNT_FLAGS,   /* FSMOUNT_CLOEXEC */
	LP_ARG_MOUNT_ATTR,      /* MOUNT_ATTR_* */
	LP_ARG_FSOPEN_FLAGS,    /* FSOPEN_CLOEXEC */
	LP_ARG_FSCONFIG_CMD,    /* FSCONFIG_* */
	LP_ARG_XATTR_FLAGS,     /* XATTR_CREATE, XATTR_REPLACE */
	LP_ARG_FCNTL_CMD,       /* F_DUPFD... */
	LP_ARG_ACCESS_MODE,     /* F_OK, R_OK|W_OK|X_OK */
	LP_ARG_DUP3_FLAGS,      /* O_CLOEXEC */
	LP_ARG_STATX_MASK,      /* STATX_* (hex) */
	LP_ARG_DEV,             /* dev_t: makedev(major, minor) */
	LP_ARG_ID,              /* uid/gid (-1 = unchanged) */
	LP_ARG_UNLINK_FLAGS,    /* AT_REMOVEDIR (0x200 is AT_EACCESS elsewhere) */
};

/* One argument: its type and, for paths, what it is relative to. */
struct lp_argdesc {
	uint8_t type;           /* enum lp_argt */
	int8_t base;            /* PATH/MOUNT_SRC: dirfd arg index or LP_BASE_CWD */
	int8_t empty_arg;       /* arg holding the "empty path means the fd" flag, or -1 */
	uint32_t empty_bit;     /* that flag (AT_EMPTY_PATH, MOVE_MOUNT_F_EMPTY_PATH...) */
};

/* The signature of one syscall. */
struct lp_sc_desc {
	const char *name;       /* "openat": the syscall's usual name */
	uint8_t nargs;          /* arguments it takes (shown by dump) */
	struct lp_argdesc arg[6];
};

/* The signature of sc, or NULL when sc is not a known lp_sc. */
/* Syscall families the model tells apart */
static inline bool lp_sc_is_copy(unsigned sc) /* in-kernel copies */
{
	return sc == LP_SC_COPY_FILE_RANGE || sc == LP_SC_SENDFILE || sc == LP_SC_SPLICE;
}

/* The fsync family: what commits a layer's or a db's writes */
static inline bool lp_sc_is_sync(unsigned sc)
{
	return sc == LP_SC_FSYNC || sc == LP_SC_FDATASYNC || sc == LP_SC_SYNCFS || sc == LP_SC_SYNC_FILE_RANGE;
}

static inline bool lp_sc_is_rename(unsigned sc)
{
	return sc == LP_SC_RENAME || sc == LP_SC_RENAMEAT || sc == LP_SC_RENAMEAT2;
}

const struct lp_sc_desc *lp_sc_desc(unsigned sc);
/* "openat", or NULL when unknown. */
const char *lp_sc_name(unsigned sc);
/* The tracepoint suffix ("newstat" for stat), or NULL when unknown. */
const char *lp_sc_tp(unsigned sc);
/* enum lp_cls, or 0 when unknown. */
int lp_sc_class(unsigned sc);
/* The arg index read as string i (syscalls.def S<i>), or -1. */
int lp_sc_str_arg(unsigned sc, unsigned i);
/* LP_SC_* for "openat" (also accepts the tracepoint name, e.g. "newstat");
 * LP_SC_NONE when unknown. */
int lp_sc_from_name(const char *name);
/* The type of argument `arg` of sc (LP_ARG_NONE when unknown). */
int lp_sc_arg_type(unsigned sc, unsigned arg);
/* Is argument `arg` of this call a path to resolve? Looks at the call's
 * other arguments where that matters (mount's source with MS_BIND). */
bool lp_sc_arg_is_path(unsigned sc, unsigned arg, const __u64 args[6]);
/* Syscalls that return a new fd naming the path in their first path
 * argument (open, openat, openat2, creat, open_tree). */
bool lp_sc_opens_path(unsigned sc);

#endif
