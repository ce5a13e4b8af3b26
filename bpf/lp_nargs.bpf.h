/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How many arguments each traced syscall takes (its sys_enter_<tp> record
 * holds exactly that many). An enter program must not read past them: the
 * kernel refuses to attach a tracepoint program whose context accesses go
 * beyond the record (EACCES, perf_event_set_bpf_prog max_ctx_offset).
 * A row of syscalls.def without an entry here does not compile.
 * (Syscall arities are ABI; taken from events/syscalls/sys_enter_NAME/format.)
 */
#ifndef LAYERPROF_LP_NARGS_BPF_H
#define LAYERPROF_LP_NARGS_BPF_H

#define LP_NARGS_open 3
#define LP_NARGS_openat 4
#define LP_NARGS_openat2 4
#define LP_NARGS_creat 2
#define LP_NARGS_rename 2
#define LP_NARGS_renameat 4
#define LP_NARGS_renameat2 5
#define LP_NARGS_link 2
#define LP_NARGS_linkat 5
#define LP_NARGS_symlink 2
#define LP_NARGS_symlinkat 3
#define LP_NARGS_unlink 1
#define LP_NARGS_unlinkat 3
#define LP_NARGS_rmdir 1
#define LP_NARGS_mkdir 2
#define LP_NARGS_mkdirat 3
#define LP_NARGS_mknod 3
#define LP_NARGS_mknodat 4
#define LP_NARGS_setxattr 5
#define LP_NARGS_lsetxattr 5
#define LP_NARGS_fsetxattr 5
#define LP_NARGS_mount 5
#define LP_NARGS_umount 2
#define LP_NARGS_move_mount 5
#define LP_NARGS_fsmount 3
#define LP_NARGS_fsconfig 5
#define LP_NARGS_fsopen 2
#define LP_NARGS_open_tree 3
#define LP_NARGS_fsync 1
#define LP_NARGS_fdatasync 1
#define LP_NARGS_syncfs 1
#define LP_NARGS_sync_file_range 4
#define LP_NARGS_copy_file_range 6
#define LP_NARGS_sendfile64 4
#define LP_NARGS_splice 6
#define LP_NARGS_chdir 1
#define LP_NARGS_fchdir 1
#define LP_NARGS_dup 1
#define LP_NARGS_dup2 2
#define LP_NARGS_dup3 3
#define LP_NARGS_fcntl 3
#define LP_NARGS_close 1
#define LP_NARGS_close_range 3
#define LP_NARGS_execve 3
#define LP_NARGS_execveat 5
#define LP_NARGS_newstat 2
#define LP_NARGS_newlstat 2
#define LP_NARGS_newfstatat 4
#define LP_NARGS_statx 5
#define LP_NARGS_access 2
#define LP_NARGS_faccessat 3
#define LP_NARGS_faccessat2 4
#define LP_NARGS_readlinkat 4
#define LP_NARGS_read 3
#define LP_NARGS_write 3
#define LP_NARGS_pread64 4
#define LP_NARGS_pwrite64 4
#define LP_NARGS_readv 3
#define LP_NARGS_writev 3
#define LP_NARGS_preadv 5
#define LP_NARGS_pwritev 5
#define LP_NARGS_preadv2 6
#define LP_NARGS_pwritev2 6
#define LP_NARGS_chown 3
#define LP_NARGS_fchown 3
#define LP_NARGS_lchown 3
#define LP_NARGS_fchownat 5
#define LP_NARGS_chmod 2
#define LP_NARGS_fchmod 2
#define LP_NARGS_fchmodat 3
#define LP_NARGS_utimensat 4

#endif
