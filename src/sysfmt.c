/* SPDX-License-Identifier: BSD-2-Clause */
/* Symbolic text for syscall arguments (see sysfmt.h). */
#include "sysfmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "syscalls.h"
#include "util.h"

struct flag {
	uint64_t mask; /* bits that must all be set */
	const char *name;
};

#define F(v, n) { v, n }

/* multi-bit flags first: O_TMPFILE includes O_DIRECTORY, O_SYNC O_DSYNC */
static const struct flag open_flags[] = {
	F(020200000, "O_TMPFILE"), F(04010000, "O_SYNC"),
	F(0100, "O_CREAT"), F(0200, "O_EXCL"), F(0400, "O_NOCTTY"), F(01000, "O_TRUNC"),
	F(02000, "O_APPEND"), F(04000, "O_NONBLOCK"), F(010000, "O_DSYNC"),
	F(020000, "O_ASYNC"), F(040000, "O_DIRECT"), F(0100000, "O_LARGEFILE"),
	F(0200000, "O_DIRECTORY"), F(0400000, "O_NOFOLLOW"), F(01000000, "O_NOATIME"),
	F(02000000, "O_CLOEXEC"), F(010000000, "O_PATH"), { 0, NULL },
};

static const struct flag at_flags[] = {
	F(0x100, "AT_SYMLINK_NOFOLLOW"), F(0x200, "AT_EACCESS"), F(0x400, "AT_SYMLINK_FOLLOW"),
	F(0x800, "AT_NO_AUTOMOUNT"), F(0x1000, "AT_EMPTY_PATH"),
	F(0x2000, "AT_STATX_FORCE_SYNC"), F(0x4000, "AT_STATX_DONT_SYNC"),
	F(0x8000, "AT_RECURSIVE"), { 0, NULL },
};

static const struct flag unlink_flags[] = { F(0x200, "AT_REMOVEDIR"), { 0, NULL } };

static const struct flag rename_flags[] = {
	F(1, "RENAME_NOREPLACE"), F(2, "RENAME_EXCHANGE"), F(4, "RENAME_WHITEOUT"), { 0, NULL },
};

static const struct flag ms_flags[] = {
	F(1, "MS_RDONLY"), F(2, "MS_NOSUID"), F(4, "MS_NODEV"), F(8, "MS_NOEXEC"),
	F(16, "MS_SYNCHRONOUS"), F(32, "MS_REMOUNT"), F(64, "MS_MANDLOCK"),
	F(128, "MS_DIRSYNC"), F(256, "MS_NOSYMFOLLOW"), F(1024, "MS_NOATIME"),
	F(2048, "MS_NODIRATIME"), F(4096, "MS_BIND"), F(8192, "MS_MOVE"), F(16384, "MS_REC"),
	F(32768, "MS_SILENT"), F(1u << 16, "MS_POSIXACL"), F(1u << 17, "MS_UNBINDABLE"),
	F(1u << 18, "MS_PRIVATE"), F(1u << 19, "MS_SLAVE"), F(1u << 20, "MS_SHARED"),
	F(1u << 21, "MS_RELATIME"), F(1u << 22, "MS_KERNMOUNT"), F(1u << 23, "MS_I_VERSION"),
	F(1u << 24, "MS_STRICTATIME"), F(1u << 25, "MS_LAZYTIME"), { 0, NULL },
};

static const struct flag umount_flags[] = {
	F(1, "MNT_FORCE"), F(2, "MNT_DETACH"), F(4, "MNT_EXPIRE"), F(8, "UMOUNT_NOFOLLOW"),
	{ 0, NULL },
};

static const struct flag move_mount_flags[] = {
	F(0x1, "MOVE_MOUNT_F_SYMLINKS"), F(0x2, "MOVE_MOUNT_F_AUTOMOUNTS"),
	F(0x4, "MOVE_MOUNT_F_EMPTY_PATH"), F(0x10, "MOVE_MOUNT_T_SYMLINKS"),
	F(0x20, "MOVE_MOUNT_T_AUTOMOUNTS"), F(0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
	F(0x100, "MOVE_MOUNT_SET_GROUP"), F(0x200, "MOVE_MOUNT_BENEATH"), { 0, NULL },
};

static const struct flag open_tree_flags[] = {
	F(1, "OPEN_TREE_CLONE"), F(02000000, "OPEN_TREE_CLOEXEC"),
	F(0x100, "AT_SYMLINK_NOFOLLOW"), F(0x800, "AT_NO_AUTOMOUNT"),
	F(0x1000, "AT_EMPTY_PATH"), F(0x8000, "AT_RECURSIVE"), { 0, NULL },
};

static const struct flag fsmount_flags[] = { F(1, "FSMOUNT_CLOEXEC"), { 0, NULL } };
static const struct flag fsopen_flags[] = { F(1, "FSOPEN_CLOEXEC"), { 0, NULL } };

static const struct flag mount_attr[] = {
	F(0x1, "MOUNT_ATTR_RDONLY"), F(0x2, "MOUNT_ATTR_NOSUID"), F(0x4, "MOUNT_ATTR_NODEV"),
	F(0x8, "MOUNT_ATTR_NOEXEC"), F(0x10, "MOUNT_ATTR_NOATIME"),
	F(0x20, "MOUNT_ATTR_STRICTATIME"), F(0x80, "MOUNT_ATTR_NODIRATIME"),
	F(0x100000, "MOUNT_ATTR_IDMAP"), F(0x200000, "MOUNT_ATTR_NOSYMFOLLOW"), { 0, NULL },
};

static const struct flag xattr_flags[] = {
	F(1, "XATTR_CREATE"), F(2, "XATTR_REPLACE"), { 0, NULL },
};

static const struct flag access_mode[] = {
	F(4, "R_OK"), F(2, "W_OK"), F(1, "X_OK"), { 0, NULL },
};

static const struct flag dup3_flags[] = { F(02000000, "O_CLOEXEC"), { 0, NULL } };

#undef F

/*
 * Text being built into a caller's buffer the way snprintf fills it: cut
 * to len - 1 bytes, always NUL-terminated (len > 0). Dump formats every
 * argument of ten million syscalls: no printf, no allocation.
 */
struct out {
	char *buf;
	size_t len, n;
};

static void out_put(struct out *o, const char *s, size_t sn)
{
	size_t room = o->len - 1 - o->n;
	if (sn > room)
		sn = room;
	memcpy(o->buf + o->n, s, sn);
	o->n += sn;
	o->buf[o->n] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_hex(struct out *o, uint64_t v)
{
	char num[LP_U64_DIGITS];
	out_put(o, num, lp_fmt_x64(num, v));
}

/* a lone number (snprintf "%lld" / "%llu" / "%#llx") into buf */
static const char *num_text(char *buf, size_t len, char *num, size_t n)
{
	struct out o = { buf, len, 0 };
	buf[0] = '\0';
	out_put(&o, num, n);
	return buf;
}

static const char *int_text(int64_t v, char *buf, size_t len)
{
	char num[LP_U64_DIGITS + 1];
	return num_text(buf, len, num, lp_fmt_i64(num, v));
}

static const char *uint_text(uint64_t v, char *buf, size_t len)
{
	char num[LP_U64_DIGITS];
	return num_text(buf, len, num, lp_fmt_u64(num, v));
}

static const char *hex_text(uint64_t v, char *buf, size_t len)
{
	char num[LP_U64_DIGITS];
	return num_text(buf, len, num, lp_fmt_x64(num, v));
}

/* "A|B|0x40" into buf; zero -> zero_name (or "0"). */
static const char *flags_text(const struct flag *t, uint64_t v, const char *prefix,
			      const char *zero_name, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	bool any = false;
	buf[0] = '\0';
	if (prefix && *prefix) {
		out_str(&o, prefix);
		any = true;
	}
	for (; t->name; t++) {
		if (t->mask && (v & t->mask) == t->mask) {
			if (any)
				out_put(&o, "|", 1);
			out_str(&o, t->name);
			any = true;
			v &= ~t->mask;
		}
	}
	if (v) {
		if (any)
			out_put(&o, "|", 1);
		out_hex(&o, v);
		any = true;
	}
	if (!any)
		out_str(&o, zero_name ? zero_name : "0");
	return buf;
}

/* printf's "0%03llo" */
static void out_octal(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + (v & 7));
		v >>= 3;
	} while (v);
	while (sizeof(tmp) - i < 3)
		tmp[--i] = '0';
	tmp[--i] = '0';
	out_put(o, tmp + i, sizeof(tmp) - i);
}

static const char *mode_text(uint64_t v, char *buf, size_t len)
{
	static const struct { uint32_t type; const char *name; } types[] = {
		{ 0140000, "S_IFSOCK" }, { 0120000, "S_IFLNK" }, { 0100000, "S_IFREG" },
		{ 0060000, "S_IFBLK" }, { 0040000, "S_IFDIR" }, { 0020000, "S_IFCHR" },
		{ 0010000, "S_IFIFO" },
	};
	struct out o = { buf, len, 0 };
	buf[0] = '\0';
	uint32_t t = (uint32_t)v & 0170000;
	for (size_t i = 0; i < LP_ARRAY_SIZE(types); i++) {
		if (t == types[i].type) {
			out_str(&o, types[i].name);
			out_put(&o, "|", 1);
			out_octal(&o, v & 07777);
			return buf;
		}
	}
	if (v == 0)
		out_put(&o, "0", 1);
	else
		out_octal(&o, v);
	return buf;
}

const char *lp_fmt_arg(int type, uint64_t v, char *buf, size_t len)
{
	switch (type) {
	case LP_ARG_INT:
	case LP_ARG_FD:
		return int_text((int32_t)v, buf, len);
	case LP_ARG_DIRFD:
		if ((int32_t)v == -100)
			return num_text(buf, len, (char[]){ "AT_FDCWD" }, 8);
		return int_text((int32_t)v, buf, len);
	case LP_ARG_ID:
		return int_text((int32_t)v, buf, len);
	case LP_ARG_OFFSET:
		return int_text((int64_t)v, buf, len);
	case LP_ARG_PTR:
		if (v == 0)
			return num_text(buf, len, (char[]){ "NULL" }, 4);
		return hex_text(v, buf, len);
	case LP_ARG_OPEN_FLAGS: {
		static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
		return flags_text(open_flags, v & ~(uint64_t)3, acc[v & 3], "", buf, len);
	}
	case LP_ARG_MODE:
		return mode_text(v, buf, len);
	case LP_ARG_AT_FLAGS:
		return flags_text(at_flags, v, NULL, NULL, buf, len);
	case LP_ARG_UNLINK_FLAGS:
		return flags_text(unlink_flags, v, NULL, NULL, buf, len);
	case LP_ARG_RENAME_FLAGS:
		return flags_text(rename_flags, v, NULL, NULL, buf, len);
	case LP_ARG_MS_FLAGS:
		if ((v & 0xffff0000u) == 0xc0ed0000u)
			return flags_text(ms_flags, v & 0xffffu, "MS_MGC_VAL", NULL, buf, len);
		return flags_text(ms_flags, v, NULL, NULL, buf, len);
	case LP_ARG_UMOUNT_FLAGS:
		return flags_text(umount_flags, v, NULL, NULL, buf, len);
	case LP_ARG_MOVE_MOUNT_FLAGS:
		return flags_text(move_mount_flags, v, NULL, NULL, buf, len);
	case LP_ARG_OPEN_TREE_FLAGS:
		return flags_text(open_tree_flags, v, NULL, NULL, buf, len);
	case LP_ARG_FSMOUNT_FLAGS:
		return flags_text(fsmount_flags, v, NULL, NULL, buf, len);
	case LP_ARG_FSOPEN_FLAGS:
		return flags_text(fsopen_flags, v, NULL, NULL, buf, len);
	case LP_ARG_MOUNT_ATTR:
		return flags_text(mount_attr, v, NULL, NULL, buf, len);
	case LP_ARG_XATTR_FLAGS:
		return flags_text(xattr_flags, v, NULL, NULL, buf, len);
	case LP_ARG_ACCESS_MODE:
		return flags_text(access_mode, v, NULL, "F_OK", buf, len);
	case LP_ARG_DUP3_FLAGS:
		return flags_text(dup3_flags, v, NULL, NULL, buf, len);
	case LP_ARG_FSCONFIG_CMD: {
		static const char *const cmds[] = {
			"FSCONFIG_SET_FLAG", "FSCONFIG_SET_STRING", "FSCONFIG_SET_BINARY",
			"FSCONFIG_SET_PATH", "FSCONFIG_SET_PATH_EMPTY", "FSCONFIG_SET_FD",
			"FSCONFIG_CMD_CREATE", "FSCONFIG_CMD_RECONFIGURE", "FSCONFIG_CMD_CREATE_EXCL",
		};
		if (v < LP_ARRAY_SIZE(cmds))
			snprintf(buf, len, "%s", cmds[v]);
		else
			snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	case LP_ARG_FCNTL_CMD: {
		static const char *const cmds[] = { "F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL",
						    "F_SETFL" };
		if (v < LP_ARRAY_SIZE(cmds))
			snprintf(buf, len, "%s", cmds[v]);
		else if (v == 1030)
			snprintf(buf, len, "F_DUPFD_CLOEXEC");
		else
			snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	case LP_ARG_STATX_MASK:
		return hex_text(v, buf, len);
	case LP_ARG_DEV: {
		uint64_t major = ((v >> 8) & 0xfff) | ((v >> 32) & ~(uint64_t)0xfff);
		uint64_t minor = (v & 0xff) | ((v >> 12) & ~(uint64_t)0xff);
		snprintf(buf, len, "makedev(%#" PRIx64 ", %#" PRIx64 ")", major, minor);
		return buf;
	}
	case LP_ARG_UINT:
	default:
		return uint_text(v, buf, len);
	}
}

int lp_argt_is_signed(int type)
{
	switch (type) {
	case LP_ARG_INT:
	case LP_ARG_FD:
	case LP_ARG_DIRFD:
	case LP_ARG_ID:
	case LP_ARG_OFFSET:
		return 1;
	default:
		return 0;
	}
}

const char *lp_argt_name(int type)
{
	static const char *const names[] = {
		[LP_ARG_NONE] = "none", [LP_ARG_INT] = "int", [LP_ARG_UINT] = "uint",
		[LP_ARG_OFFSET] = "offset", [LP_ARG_PTR] = "pointer", [LP_ARG_FD] = "fd",
		[LP_ARG_DIRFD] = "dirfd", [LP_ARG_PATH] = "path", [LP_ARG_MOUNT_SRC] = "mount_source",
		[LP_ARG_LINK_TARGET] = "link_target", [LP_ARG_STR] = "string",
		[LP_ARG_OPEN_FLAGS] = "open_flags", [LP_ARG_MODE] = "mode",
		[LP_ARG_AT_FLAGS] = "at_flags", [LP_ARG_RENAME_FLAGS] = "rename_flags",
		[LP_ARG_MS_FLAGS] = "mount_flags", [LP_ARG_UMOUNT_FLAGS] = "umount_flags",
		[LP_ARG_MOVE_MOUNT_FLAGS] = "move_mount_flags",
		[LP_ARG_OPEN_TREE_FLAGS] = "open_tree_flags",
		[LP_ARG_FSMOUNT_FLAGS] = "fsmount_flags", [LP_ARG_MOUNT_ATTR] = "mount_attr",
		[LP_ARG_FSOPEN_FLAGS] = "fsopen_flags", [LP_ARG_FSCONFIG_CMD] = "fsconfig_cmd",
		[LP_ARG_XATTR_FLAGS] = "xattr_flags", [LP_ARG_FCNTL_CMD] = "fcntl_cmd",
		[LP_ARG_ACCESS_MODE] = "access_mode", [LP_ARG_DUP3_FLAGS] = "dup3_flags",
		[LP_ARG_STATX_MASK] = "statx_mask", [LP_ARG_DEV] = "dev", [LP_ARG_ID] = "id",
		[LP_ARG_UNLINK_FLAGS] = "unlink_flags",
	};
	if (type < 0 || (size_t)type >= LP_ARRAY_SIZE(names) || !names[type])
		return "unknown";
	return names[type];
}

const char *lp_fmt_wait_status(uint32_t status, char *buf, size_t len)
{
	uint32_t sig = status & 0x7f;
	if (sig == 0) {
		snprintf(buf, len, "exited with code %u", (status >> 8) & 0xff);
	} else {
		const char *name = lp_signal_name((int)sig);
		char num[16];
		snprintf(num, sizeof(num), "signal %u", sig);
		snprintf(buf, len, "killed by %s%s", name ? name : num,
			 (status & 0x80) ? " (core dumped)" : "");
	}
	return buf;
}
