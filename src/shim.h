/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The docker shim: how `layerprof record -- ./build-all.sh` keeps the
 * builds a script (make, docker-compose...) runs apart.
 *
 * record puts a directory first in the command's PATH holding `docker`, a
 * symbolic link to layerprof itself, and passes LP_SHIM_SOCK (a unix
 * socket it listens on) and LP_SHIM_DOCKER (the real docker). Run as
 * `docker`, layerprof is the shim:
 *   - not a build (docker ps, docker image inspect...): it execs the real
 *     docker, untouched;
 *   - a build, or `docker buildx bake` (several builds in one stream,
 *     each vertex name prefixed with its target): it connects to the
 *     socket, sends one header line
 *       LPSHIM1 {"pid":N,"cwd":"...","argv":[...],"docker_host":"..."}\n
 *     then execs the real docker with --progress=plain added (unless
 *     given) and its stderr (the progress) on the socket. stdout is left
 *     alone (`IMG=$(docker build -q .)` keeps working), stdin too.
 * record reads each build's stream apart (so builds in parallel do not mix)
 * and shows it on its own stderr. When the socket cannot be reached the
 * shim runs the real docker unchanged: the build is never stopped by us.
 */
#ifndef LAYERPROF_SHIM_H
#define LAYERPROF_SHIM_H

#include <stdbool.h>

#define LP_SHIM_SOCK_ENV "LP_SHIM_SOCK"
#define LP_SHIM_DOCKER_ENV "LP_SHIM_DOCKER"
#define LP_SHIM_MAGIC "LPSHIM1 "

/* Is this process the shim (argv[0] is "docker" and LP_SHIM_DOCKER set)? */
bool lp_shim_wanted(const char *argv0);
/* Run as the shim; returns only on failure (exit status). */
int lp_shim_main(int argc, char **argv);

#endif
