/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Safe access to the records of a trace (include/layerprof/abi.h). A record
 * comes from a file and may be hostile: every accessor checks lengths
 * against hdr.size and returns NULL rather than read past the record.
 * Strings returned are NUL-terminated inside the record unless said
 * otherwise (progress text is not: it comes with its length).
 *
 * Variable-length fields, as written by the kernel side and by `record`:
 *   LP_EV_SYSCALL      str_len[i] bytes incl. NUL, strings in str_arg order
 *   LP_EV_EXEC         filename_len bytes incl. NUL
 *   LP_EV_EXEC_ARGV    data_len bytes: filename\0 then argc args, each \0
 *   LP_REC_PROC_SEED   exe_len, cwd_len bytes incl. NUL, then cmdline_len
 *                      bytes holding argc args each NUL-terminated
 *   LP_REC_FD_SEED     path_len bytes incl. NUL
 *   LP_REC_PROGRESS    len bytes of text, no NUL
 *   LP_REC_CONTEXT_FILE path_len bytes incl. NUL
 */
#ifndef LAYERPROF_EVENT_H
#define LAYERPROF_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

/* The header of a record user space writes (a seed, progress line,
 * context file...): size is the whole record, padded to 8; flags are left
 * as they are (the caller zeroed the record). */
static inline void lp_hdr_set(struct lp_hdr *h, size_t size, unsigned kind, uint32_t tgid, uint32_t tid,
			      uint32_t aux, uint64_t ts)
{
	h->size = (__u16)size;
	h->kind = (__u8)kind;
	h->tgid = tgid;
	h->tid = tid;
	h->aux = aux;
	h->ts = ts;
}

/* "syscall", "fork", ... "context_file"; NULL for an unknown kind. */
const char *lp_kind_name(unsigned kind);
/* Size of the fixed part of a known kind (0 when unknown). */
size_t lp_kind_min_size(unsigned kind);
/* Is the record big enough for its kind's fixed part, and do its
 * variable-length fields fit inside it? Unknown kinds: true when
 * size >= sizeof(struct lp_hdr) (they can be skipped). */
bool lp_ev_valid(const struct lp_hdr *h);

/* String i (0..nstr-1) of an LP_EV_SYSCALL, or NULL when absent, unreadable
 * (str_len 0), or not NUL-terminated inside the record. *len (may be NULL)
 * gets strlen. */
const char *lp_ev_syscall_str(const struct lp_ev_syscall *ev, unsigned i, size_t *len);
/* The string read from argument `arg` (0..5), or NULL; *idx (may be NULL)
 * gets its string index. */
const char *lp_ev_syscall_arg_str(const struct lp_ev_syscall *ev, unsigned arg,
				  unsigned *idx, size_t *len);
/* Was string i cut at LP_STR_MAX? */
bool lp_ev_syscall_str_truncated(const struct lp_ev_syscall *ev, unsigned i);

/* The filename of an LP_EV_EXEC, or NULL. */
const char *lp_ev_exec_filename(const struct lp_ev_exec *ev, size_t *len);

/* The CPU time of an LP_EV_EXIT's process (ns), 0 when unknown: a record
 * of a trace made before the field (shorter, see lp_ev_exit.cpu_ns). */
uint64_t lp_ev_exit_cpu_ns(const struct lp_ev_exit *ev);

/* Iterate the strings of an LP_EV_EXEC_ARGV (filename first, then argv) or
 * of an LP_REC_PROC_SEED's command line. */
struct lp_str_iter {
	const char *p, *end;
	unsigned left;          /* strings still allowed (argc bound) */
};
void lp_ev_argv_iter(const struct lp_ev_exec_argv *ev, struct lp_str_iter *it);
void lp_ev_seed_cmdline_iter(const struct lp_rec_proc_seed *ev, struct lp_str_iter *it);
/* Next string, or NULL at the end (or at an unterminated string). */
const char *lp_str_next(struct lp_str_iter *it, size_t *len);

/* LP_REC_PROC_SEED exe and cwd, or NULL. */
const char *lp_ev_seed_exe(const struct lp_rec_proc_seed *ev, size_t *len);
const char *lp_ev_seed_cwd(const struct lp_rec_proc_seed *ev, size_t *len);
/* LP_REC_FD_SEED link target, or NULL. */
const char *lp_ev_fd_seed_path(const struct lp_rec_fd_seed *ev, size_t *len);
/* LP_REC_PROGRESS text: NOT NUL-terminated; *len bytes. NULL when the
 * length does not fit the record. */
const char *lp_ev_progress_text(const struct lp_rec_progress *ev, size_t *len);
/* LP_REC_BUILD JSON text (NUL-terminated), *len its strlen; NULL when
 * the length does not fit the record. */
const char *lp_ev_build_json(const struct lp_rec_build *ev, size_t *len);
/* LP_REC_CONTEXT_FILE path, or NULL. */
const char *lp_ev_context_path(const struct lp_rec_context_file *ev, size_t *len);

/* What the fd of an LP_EV_FD_IO record was (its fd_mode). Only FILE (and
 * UNKNOWN, from recorders that did not say: the path the fd was opened
 * with is then the best guess) may be charged to a path: the bytes of a
 * socket, pipe or anon inode that took the number of a closed file are
 * that socket's, never the file's. */
enum lp_fd_kind {
	LP_FDK_UNKNOWN = 0,
	LP_FDK_FILE,            /* regular file */
	LP_FDK_DIR,
	LP_FDK_SOCKET,
	LP_FDK_PIPE,            /* pipe or FIFO */
	LP_FDK_DEVICE,          /* character or block device (tty, /dev/null) */
	LP_FDK_ANON,            /* anon inode: eventfd, epoll, timerfd, signalfd... */
	LP_FDK_OTHER,           /* symlink (O_PATH) or an unknown type */
};
enum lp_fd_kind lp_fdio_kind(const struct lp_ev_fd_io *ev);
/* "file", "dir", "socket", "pipe", "device", "anon", "other", "unknown" */
const char *lp_fd_kind_name(enum lp_fd_kind k);
/* May this record's bytes be charged to the path its fd was opened with? */
bool lp_fdio_is_path_io(const struct lp_ev_fd_io *ev);

/* Copy a comm[LP_COMM_LEN] field (maybe not NUL-terminated) into dst. */
void lp_comm_copy(char dst[LP_COMM_LEN + 1], const char *src);

/* "ENOENT" for 2; NULL when unknown. */
const char *lp_errno_name(int e);
/* "SIGKILL" for 9; NULL when unknown. */
const char *lp_signal_name(int sig);

#endif
