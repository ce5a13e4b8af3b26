/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Text for syscall arguments and results, strace style: O_RDONLY|O_CLOEXEC,
 * AT_FDCWD, MS_BIND|MS_REC, RENAME_NOREPLACE, 0644, makedev(0x8, 0x1)...
 * Values are x86-64 Linux's (the ABI of the traced kernel), spelled out
 * here so decoding does not depend on the reading host's headers.
 */
#ifndef LAYERPROF_SYSFMT_H
#define LAYERPROF_SYSFMT_H

#include <stddef.h>
#include <stdint.h>

/* Text of a non-string argument of type `type` (enum lp_argt) with raw
 * value v, into buf; returns buf. Unknown bits are kept in hex. */
const char *lp_fmt_arg(int type, uint64_t v, char *buf, size_t len);
/* Is an argument of this type printed as a signed number (for JSON)? */
int lp_argt_is_signed(int type);
/* Name of an argument type: "path", "open_flags"... */
const char *lp_argt_name(int type);
/* Wait status (task->exit_code): "exited with code 1", "killed by SIGKILL
 * (core dumped)"; into buf. */
const char *lp_fmt_wait_status(uint32_t status, char *buf, size_t len);

#endif
