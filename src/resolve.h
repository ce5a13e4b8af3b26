/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Path resolution in user space: follows each traced process's cwd and fd
 * table through the trace (seeds from /proc, fork inherits, open/dup/chdir
 * update) so that relative paths and dirfd-relative paths become absolute.
 * The kernel side only sends what the process passed.
 *
 * Use: for each record in trace order, first ask for the paths of that
 * record (resolution uses the state *before* the call), then feed it.
 *
 * Limits (see resolve.c): lexical only (no symlinks, no knowledge of a
 * process's root: container paths stay container-relative); exec keeps the
 * whole fd table because close-on-exec is not in the trace; a rename does
 * not update fds or cwds naming the old path; an exited process is kept a
 * little while so records drained after its exit still resolve.
 */
#ifndef LAYERPROF_RESOLVE_H
#define LAYERPROF_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

struct lp_resolver;

struct lp_resolver *lp_resolver_new(void);
void lp_resolver_free(struct lp_resolver *r);

/* Update tables with one record (any kind; unknown kinds are ignored). */
void lp_resolver_feed(struct lp_resolver *r, const struct lp_hdr *rec);

/*
 * The path the feed of a syscall record would resolve (an open's new fd, a
 * chdir's new cwd): its first string whose argument is a path, resolved as
 * lp_resolve_path() does; NULL when there is none or it is unreadable.
 * *idx (may be NULL) gets that string's index, -1 when there is none.
 */
const char *lp_resolver_first_path(struct lp_resolver *r, const struct lp_ev_syscall *ev, int *idx,
				   char *buf, size_t len);
/* The same; but a path already normal as recorded (most of a trace's) is
 * not copied: the record's own string comes back, valid as long as the
 * record, and *raw_len gets its length (0 when the path is buf's). */
const char *lp_resolver_first_path_raw(struct lp_resolver *r, const struct lp_ev_syscall *ev, int *idx,
				       char *buf, size_t len, size_t *raw_len);
/* lp_resolver_feed() of a record whose lp_resolver_first_path() the caller
 * got just before (first, maybe NULL): the same update, without resolving
 * the path a second time (a trace is mostly opens). */
void lp_resolver_feed_first(struct lp_resolver *r, const struct lp_hdr *rec, const char *first);

/*
 * Absolute, lexically normalized path for string `i` of a syscall event,
 * resolved against the right dirfd (or cwd) of the calling process.
 * Writes into buf and returns it; returns NULL when string i is absent.
 * When the base is unknown, returns the path as given (still useful).
 */
const char *lp_resolve_path(struct lp_resolver *r, const struct lp_ev_syscall *ev,
			    int i, char *buf, size_t len);

/*
 * Does an LP_EV_FD_IO record end its fd? A close does. So does the drain at
 * the end of the recording (LP_FDIO_DRAINED) of a process that had exited
 * by then: the kernel closed its fds at exit (false, "still open", for a
 * process still running, or one exited too long ago to be remembered).
 * Ask before feeding the record.
 */
bool lp_resolver_fdio_closes(const struct lp_resolver *r, const struct lp_hdr *rec);

/* The path an LP_EV_FD_IO record's bytes belong to: the path its fd was
 * opened with, NULL when unknown or when the fd was not a file at its first
 * read/write (a socket, pipe or anon inode that took the number of a file
 * closed without I/O: lp_fdio_is_path_io). Call before feeding the record. */
const char *lp_resolver_fdio_path(const struct lp_resolver *r, const struct lp_ev_fd_io *ev);

/* Is an LP_EV_FD_IO record the I/O of the file an open took its fd number
 * over from (lp_resolver_fdio_path() then names that file, not the fd's)? */
bool lp_resolver_fdio_took_over(const struct lp_resolver *r, const struct lp_ev_fd_io *ev);

/*
 * The path a syscall event is about, as the views name it (before
 * lp_resolver_feed of that record): the first string argument that is a
 * path, else the file of its fd argument (lp_resolver_event_fd_arg()).
 * NULL when unknown.
 */
const char *lp_resolver_event_path(struct lp_resolver *r, const struct lp_ev_syscall *ev, char *buf,
				   size_t len);
/* The argument whose fd names a syscall that has no path string:
 * copy_file_range/sendfile/splice their destination, others their first fd
 * argument (or a lone dirfd); -1 when none. */
int lp_resolver_event_fd_arg(const struct lp_ev_syscall *ev);

/* Path open on fd in process tgid, cwd of tgid, comm of tgid; NULL if unknown. */
const char *lp_resolver_fd_path(const struct lp_resolver *r, uint32_t tgid, int fd);
const char *lp_resolver_cwd(const struct lp_resolver *r, uint32_t tgid);
/* lp_resolver_fd_path(), and in *tag a number the caller may keep with
 * that path (0 until it sets one; shared by the fds dup() and fork() made
 * of it): a caller that turns paths into numbers of its own does it once
 * per open, not once per use. *tag is NULL when the path is unknown. */
const char *lp_resolver_fd_tag(const struct lp_resolver *r, uint32_t tgid, int fd, uint32_t **tag);
const char *lp_resolver_comm(const struct lp_resolver *r, uint32_t tgid);
/* Executable of tgid (seed or last exec, normalized), or NULL. */
const char *lp_resolver_exe(const struct lp_resolver *r, uint32_t tgid);

/*
 * Lexical normalization: `path` (joined to `base` when relative and base
 * is not NULL) with ".", ".." and repeated slashes removed; ".." at the
 * root stays at the root. Symlinks are not looked at. Result in buf
 * (absolute when path or base is; cut to fit when buf is too small);
 * returns buf, or NULL when len < 2.
 */
const char *lp_path_normalize(const char *base, const char *path, char *buf, size_t len);

#endif
