/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * layerprof event ABI: the records the BPF programs put in the ring buffer,
 * and the records user space adds to the trace file. Shared by bpf/ and src/.
 *
 * Rules:
 *  - fixed-width types only, no pointers, little-endian (x86-64);
 *  - every record starts with struct lp_hdr, whose `size` covers the whole
 *    record, so a reader can skip kinds it does not know;
 *  - bump LP_ABI_VERSION on any incompatible change; readers refuse a newer
 *    version with a clear message instead of guessing.
 *
 * Syscalls get layerprof's own stable numbers (enum lp_sc), never the
 * architecture's, so a trace can be read on any machine.
 */
#ifndef LAYERPROF_ABI_H
#define LAYERPROF_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define LP_ABI_VERSION 1

/* Largest record the kernel side emits; user space never trusts it. */
#define LP_EVENT_MAX 4096
/* Bytes kept of one string argument (path, xattr name, mount option), NUL
 * included. Longer strings are cut and flagged (LP_STR_TRUNCATED). */
#define LP_STR_MAX 1024
/* exec argv captured at entry: at most this many arguments... */
#define LP_ARGV_MAX_ARGS 32
/* ...each cut to this many bytes (NUL included)... */
#define LP_ARGV_ARG_MAX 256
/* ...and this many bytes in all (filename + arguments). */
#define LP_ARGV_MAX_BYTES 2048
/* Daemon names (comm) matched at exec time, e.g. a restarted dockerd. */
#define LP_COMM_LEN 16
#define LP_MAX_COMMS 16

/* Record kinds. Kernel-made kinds are < 0x80, user-space-made >= 0x80. */
enum lp_kind {
	LP_EV_SYSCALL = 1,  /* a traced syscall completed: struct lp_ev_syscall */
	LP_EV_FORK = 2,     /* a traced process made a process: struct lp_ev_fork */
	LP_EV_EXEC = 3,     /* exec succeeded: struct lp_ev_exec */
	LP_EV_EXEC_ARGV = 4,/* exec entered (argv read at entry): struct lp_ev_exec_argv */
	LP_EV_EXIT = 5,     /* the last thread of a traced process exited: struct lp_ev_exit */
	LP_EV_FD_IO = 6,    /* read/write totals of one fd, at close or drain: struct lp_ev_fd_io */

	LP_REC_PROC_SEED = 0x80, /* a process traced from the start: struct lp_rec_proc_seed */
	LP_REC_FD_SEED = 0x81,   /* an fd it already had open: struct lp_rec_fd_seed */
	LP_REC_PROGRESS = 0x82,  /* one line of the build's progress output: struct lp_rec_progress */
	LP_REC_TRACE_PID = 0x83, /* user space started tracing a pid: struct lp_rec_trace_pid */
	LP_REC_CONTEXT_FILE = 0x84, /* a file of the build context at start: struct lp_rec_context_file */
	LP_REC_BUILD = 0x85,     /* a docker build under the recorded command began/ended: struct lp_rec_build */
};

/* lp_hdr.flags bits */
#define LP_F_STR0_TRUNC (1u << 0) /* string 0 was cut at LP_STR_MAX */
#define LP_F_STR1_TRUNC (1u << 1)
#define LP_F_STR2_TRUNC (1u << 2)
#define LP_F_STR3_TRUNC (1u << 3)
#define LP_F_ARGV_TRUNC (1u << 4) /* exec argv: more args or bytes than kept */
#define LP_F_STR_FAULT  (1u << 5) /* a string could not be read (bad pointer) */
#define LP_F_OPEN_DIR   (1u << 6) /* an open's new fd (ret) is a directory: a listing,
                                   * not a file read (Go opens directories without
                                   * O_DIRECTORY). Older recorders never set it. */

struct lp_hdr {
	__u16 size;  /* whole record, header included */
	__u8 kind;   /* enum lp_kind */
	__u8 flags;  /* LP_F_* */
	__u32 tgid;  /* process (thread group) id */
	__u32 tid;   /* thread id */
	__u32 aux;   /* kind-specific: syscall number (lp_sc), fd, child pid... */
	__u64 ts;    /* CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) */
};

/*
 * Syscalls layerprof traces. Stable numbering: append only.
 * "strings" says which arguments are read as strings (see lp_sc_str_args
 * in src/syscalls.c, the single table both sides agree on).
 */
enum lp_sc {
	LP_SC_NONE = 0,
	/* open family: fd result, path */
	LP_SC_OPEN, LP_SC_OPENAT, LP_SC_OPENAT2, LP_SC_CREAT,
	LP_SC_CLOSE,
	/* namespace changes */
	LP_SC_RENAME, LP_SC_RENAMEAT, LP_SC_RENAMEAT2,
	LP_SC_LINK, LP_SC_LINKAT, LP_SC_SYMLINK, LP_SC_SYMLINKAT,
	LP_SC_UNLINK, LP_SC_UNLINKAT, LP_SC_RMDIR,
	LP_SC_MKDIR, LP_SC_MKDIRAT, LP_SC_MKNOD, LP_SC_MKNODAT,
	/* extended attributes */
	LP_SC_SETXATTR, LP_SC_LSETXATTR, LP_SC_FSETXATTR,
	/* mounts (layer snapshots) */
	LP_SC_MOUNT, LP_SC_UMOUNT2, LP_SC_MOVE_MOUNT, LP_SC_FSMOUNT,
	LP_SC_FSCONFIG, LP_SC_FSOPEN, LP_SC_OPEN_TREE,
	/* durability */
	LP_SC_FSYNC, LP_SC_FDATASYNC, LP_SC_SYNCFS, LP_SC_SYNC_FILE_RANGE,
	/* in-kernel copies */
	LP_SC_COPY_FILE_RANGE, LP_SC_SENDFILE, LP_SC_SPLICE,
	/* working directory and fd table, for path resolution */
	LP_SC_CHDIR, LP_SC_FCHDIR, LP_SC_DUP, LP_SC_DUP2, LP_SC_DUP3,
	LP_SC_FCNTL,
	/* exec failures (success is LP_EV_EXEC) */
	LP_SC_EXECVE, LP_SC_EXECVEAT,
	/* lookups: emitted only when they fail (ENOENT is evidence),
	 * counted when they succeed */
	LP_SC_STAT, LP_SC_LSTAT, LP_SC_NEWFSTATAT, LP_SC_STATX,
	LP_SC_ACCESS, LP_SC_FACCESSAT, LP_SC_FACCESSAT2, LP_SC_READLINKAT,
	/* aggregated per fd in-kernel, never emitted one by one */
	LP_SC_READ, LP_SC_WRITE, LP_SC_PREAD64, LP_SC_PWRITE64,
	LP_SC_READV, LP_SC_WRITEV, LP_SC_PREADV, LP_SC_PWRITEV,
	LP_SC_PREADV2, LP_SC_PWRITEV2,
	/* counted per process, emitted in LP_EV_EXIT */
	LP_SC_CHOWN, LP_SC_FCHOWN, LP_SC_LCHOWN, LP_SC_FCHOWNAT,
	LP_SC_CHMOD, LP_SC_FCHMOD, LP_SC_FCHMODAT, LP_SC_UTIMENSAT,
	/* fd table: closes a range of fds (their aggregates are sent) */
	LP_SC_CLOSE_RANGE,
	LP_SC_NR /* keep last */
};

/* What the kernel side does with a syscall (column CLASS of syscalls.def). */
enum lp_cls {
	LP_CLS_EMIT = 1,   /* stream an LP_EV_SYSCALL for every call */
	LP_CLS_FAILONLY,   /* stream failures, count successes (lp_counts.stat_ok) */
	LP_CLS_FCNTL,      /* stream only the fd-duplicating commands */
	LP_CLS_CLOSE,      /* emit the fd's LP_EV_FD_IO aggregate, if any */
	LP_CLS_EXEC,       /* argv at entry (LP_EV_EXEC_ARGV); stream failures */
	LP_CLS_READ,       /* add to the (tgid, fd) aggregate */
	LP_CLS_WRITE,
	LP_CLS_CHOWN,      /* count per process */
	LP_CLS_CHMOD,
	LP_CLS_UTIMENS,
};

#define LP_SYSCALL_MAX_STRS 4

/* LP_EV_SYSCALL. hdr.aux = enum lp_sc. Strings follow the fixed part,
 * each NUL-terminated, in the order of str_arg[]. */
struct lp_ev_syscall {
	struct lp_hdr h;
	__s64 ret;            /* return value; -errno on failure */
	__u64 lat_ns;         /* exit ts - entry ts */
	__u64 args[6];        /* raw arguments as passed */
	__u8 nstr;            /* strings that follow (0..4) */
	__u8 str_arg[LP_SYSCALL_MAX_STRS]; /* which args[] each string is */
	__u8 pad;
	__u16 str_len[LP_SYSCALL_MAX_STRS]; /* bytes incl. NUL (0: unreadable) */
	__u8 pad2[10];
	/* char data[]; */
};

/* LP_EV_FORK. hdr.tgid = parent process, hdr.aux = child pid. */
struct lp_ev_fork {
	struct lp_hdr h;
	char child_comm[LP_COMM_LEN];
};

/* LP_EV_EXEC. hdr.aux = old pid (differs when a thread execs).
 * The filename the kernel exec'd follows (NUL-terminated). */
struct lp_ev_exec {
	struct lp_hdr h;
	__u32 ppid;            /* real parent tgid */
	__u16 filename_len;    /* bytes incl. NUL */
	__u16 pad;
	char comm[LP_COMM_LEN];/* new comm */
	/* char filename[]; */
};

/* LP_EV_EXEC_ARGV, emitted at execve/execveat entry. hdr.aux = enum lp_sc.
 * data holds argc NUL-terminated strings, filename first then argv[0..].
 * Sent again just before LP_EV_EXEC, read from the new image, when the
 * entry copy had unreadable strings (LP_F_STR_FAULT: pages of a freshly
 * forked child not mapped yet) or the process was not traced at entry (a
 * comm match); hdr.aux is then the exec's lp_sc when known, else
 * LP_SC_NONE. Likewise re-read at a failed exec's exit, before its
 * LP_EV_SYSCALL. The last one before an LP_EV_EXEC of the same tgid wins. */
struct lp_ev_exec_argv {
	struct lp_hdr h;
	__s32 dirfd;           /* execveat's dirfd, AT_FDCWD for execve */
	__u16 argc;            /* argv strings kept (filename not counted) */
	__u16 data_len;        /* bytes of data[] */
	/* char data[]; */
};

/* Per-process counters of syscalls too frequent to stream. */
struct lp_counts {
	__u32 chown;   /* chown family */
	__u32 chmod;   /* chmod family */
	__u32 utimens; /* utimensat */
	__u32 stat_ok; /* successful stat/statx/access/readlink lookups */
};

/* LP_EV_EXIT. hdr.aux = exit code as wait(2) encodes it (task->exit_code).
 * Traces made before cpu_ns end at comm (hdr.size 56): read cpu_ns with
 * lp_ev_exit_cpu_ns() (src/event.h), which gives 0 for them. */
struct lp_ev_exit {
	struct lp_hdr h;
	struct lp_counts counts;
	char comm[LP_COMM_LEN];
	__u64 cpu_ns;          /* the process's time on a CPU, all its threads (ns);
				* 0 = unknown. Added in this version, at the end. */
};

/* LP_EV_FD_IO. hdr.aux = fd; hdr.ts = close (or drain) time.
 * flags: LP_FDIO_* */
#define LP_FDIO_DRAINED 1u /* not closed: read out at exit or end of recording */
#define LP_FDIO_REUSED  2u /* no close seen: sent when a traced call (open, dup...)
			    * returned the same fd number again, so the file was
			    * closed in between (exec's O_CLOEXEC, close_range...) */
#define LP_FDIO_GONE    4u /* no close seen, sent because the fd was closed without
			    * one: by exec (O_CLOEXEC) or close_range. hdr.ts is
			    * when that was noticed (the exec, the close_range) */
/* lp_ev_fd_io.fd_mode: what the fd was when its first read/write was
 * aggregated: LP_FDMODE_KNOWN | the inode's i_mode (S_IFMT: S_IFREG,
 * S_IFSOCK, S_IFIFO, S_IFCHR, S_IFDIR...; type 0 is an anon inode: eventfd,
 * epoll, timerfd, signalfd). 0: not known (older recorder, or the fd table
 * could not be read): treat as the path the fd was opened with. */
#define LP_FDMODE_KNOWN 0x10000u
struct lp_ev_fd_io {
	struct lp_hdr h;
	__u64 first_ts;        /* first read/write */
	__u64 last_ts;         /* last read/write */
	__u64 rbytes, wbytes;  /* bytes transferred */
	__u64 rns, wns;        /* time spent in the calls */
	__u32 rcalls, wcalls;  /* calls, failures included */
	__u32 io_flags;        /* LP_FDIO_* */
	__u32 fd_mode;         /* LP_FDMODE_KNOWN | i_mode, or 0 (see above) */
};

/* Key and value of the in-kernel per-fd aggregation map. */
struct lp_fd_key {
	__u32 tgid;
	__s32 fd;
};

/* A slot of the kernel side's fd_slots (bpf/lp_core.bpf.h): an aggregate
 * of key's fd, which user space's drain reads too. */
struct lp_fd_slot {
	__u64 key;        /* tgid << 32 | fd; 0: free; LP_FD_SLOT_BUSY: being sent */
	__u32 in_hash;    /* `fdio` entries whose key maps to this slot */
	__u32 pad;
	struct lp_ev_fd_io a;
};
#define LP_FD_SLOT_BUSY (~0ull)

/* Reasons an event was lost; counted per CPU in the `lost` map. */
enum lp_lost_reason {
	LP_LOST_RINGBUF = 0,   /* ring buffer full */
	LP_LOST_INFLIGHT,      /* per-thread syscall state lost: its slot was taken
				* by another thread (tids equal modulo the slot
				* count) while both were in a syscall */
	LP_LOST_FDIO,          /* per-fd aggregation map full */
	LP_LOST_TRACED,        /* traced-process map full: a child was not followed */
	LP_LOST_COUNTS,        /* per-process counter map full */
	LP_LOST_NR
};

/* ---- user-space records (LP_REC_*), written by `record` ---- */

/* LP_REC_PROC_SEED: a process already running when tracing began.
 * data: exe\0 cwd\0 then cmdline args each NUL-terminated. */
struct lp_rec_proc_seed {
	struct lp_hdr h;       /* tgid = the process; aux = ppid */
	__u16 exe_len, cwd_len, cmdline_len, argc;
	char comm[LP_COMM_LEN];
	/* char data[]; */
};

/* LP_REC_FD_SEED: an fd open in a seeded process. hdr.aux = fd.
 * data: the /proc/PID/fd/N link target, NUL-terminated. */
struct lp_rec_fd_seed {
	struct lp_hdr h;
	__u16 path_len;
	__u16 pad[3];
	/* char path[]; */
};

/* LP_REC_PROGRESS: one line of the traced command's progress output,
 * stamped with CLOCK_MONOTONIC when read. hdr.aux = stream (1 stdout, 2 stderr).
 * A line longer than a record holds is cut into several records; all but
 * the last carry LP_PROGRESS_CONTINUES (recorders before 0.3 set none:
 * their pieces read as separate lines). */
enum { LP_PROGRESS_CONTINUES = 1 };
struct lp_rec_progress {
	struct lp_hdr h;
	__u16 len;             /* bytes of text, no NUL */
	__u16 flags;           /* LP_PROGRESS_CONTINUES */
	__u16 pad[2];
	/* char text[]; */
};

/* LP_REC_TRACE_PID: user space began tracing hdr.tgid. hdr.aux = why. */
enum lp_trace_why {
	LP_WHY_COMMAND = 1,    /* the wrapped command */
	LP_WHY_PID = 2,        /* -p PID */
	LP_WHY_COMM = 3,       /* matched --comm / a daemon name at start */
};
struct lp_rec_trace_pid {
	struct lp_hdr h;
	char comm[LP_COMM_LEN];
};

/* LP_REC_CONTEXT_FILE: one file of the docker build context, as `record`
 * found it before the build started (after .dockerignore). hdr.ts = when
 * listed. data: the context-relative path, NUL-terminated. */
struct lp_rec_context_file {
	struct lp_hdr h;
	__u64 size;            /* bytes */
	__s64 mtime_ns;        /* modification time, realtime ns */
	__u32 mode;            /* st_mode */
	__u16 path_len;        /* bytes incl. NUL */
	__u16 pad;
	/* char path[]; */
};

/* LP_REC_BUILD: a docker build that the recorded command ran (a script,
 * make, compose...), seen through record's docker shim. hdr.tgid = the
 * build's docker CLI process; hdr.aux = LP_BUILD_BEGIN or LP_BUILD_END.
 * Its progress lines are LP_REC_PROGRESS records with the same hdr.tgid,
 * its context files LP_REC_CONTEXT_FILE records with the same hdr.tgid.
 * data: JSON, `len` bytes incl. its NUL: at BEGIN {"index", "argv", "cwd",
 * "context", "dockerfile", "dockerfile_text", "tag", "target", ...}
 * (record's META "build" object for that build), at END {"index"}. */
enum { LP_BUILD_BEGIN = 1, LP_BUILD_END = 2 };
struct lp_rec_build {
	struct lp_hdr h;
	__u16 len;             /* bytes of JSON incl. NUL */
	__u16 pad[3];
	/* char json[]; */
};

#endif /* LAYERPROF_ABI_H */
