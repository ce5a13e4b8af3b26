/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommands, one file each (bpftool style). Each returns an exit status
 * (exitcode.h) and handles its own --help. */
#ifndef LAYERPROF_COMMANDS_H
#define LAYERPROF_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
