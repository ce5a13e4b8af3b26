// SPDX-License-Identifier: BSD-2-Clause
/* The docker shim of `record` (shim.h). Runs in the recorded command's
 * process tree, as its user: it does as little as it can, then execs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dockerctx.h"
#include "shim.h"
#include "util.h"

bool lp_shim_wanted(const char *argv0)
{
	return argv0 && !strcmp(lp_base_name(argv0), "docker") && getenv(LP_SHIM_DOCKER_ENV);
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (!path || strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* The header line: who this build is, for record's LP_REC_BUILD. */
static char *header(int argc, char **argv)
{
	cJSON *h = cJSON_CreateObject();
	cJSON_AddNumberToObject(h, "pid", getpid());
	char cwd[4096];
	if (getcwd(cwd, sizeof(cwd)))
		cJSON_AddStringToObject(h, "cwd", cwd);
	cJSON *a = cJSON_AddArrayToObject(h, "argv");
	for (int i = 0; i < argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	const char *host = getenv("DOCKER_HOST");
	if (host)
		cJSON_AddStringToObject(h, "docker_host", host);
	char *json = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	char *line = json ? lp_xasprintf("%s%s\n", LP_SHIM_MAGIC, json) : NULL;
	free(json);
	return line;
}

int lp_shim_main(int argc, char **argv)
{
	const char *real = getenv(LP_SHIM_DOCKER_ENV);
	struct lp_docker_build b;
	char **run = argv;
	int bake_idx = -1;
	bool bake_progress = false;
	bool is_build = lp_docker_parse(argc, argv, &b) && !b.context_stdin;
	bool is_bake = !is_build && lp_docker_is_bake(argc, argv, &bake_idx, &bake_progress);
	int fd = is_build || is_bake ? connect_to(getenv(LP_SHIM_SOCK_ENV)) : -1;
	if (fd >= 0) {
		char *line = header(argc, argv);
		if (line && send_all(fd, line, strlen(line))) {
			bool added = false;
			if (is_build) {
				run = lp_docker_argv(argc, argv, &b, "plain", &added);
			} else if (!bake_progress) {
				/* bake: its targets' vertices in one plain stream,
				 * each name prefixed with its target */
				run = lp_xcalloc((size_t)argc + 2, sizeof(char *));
				for (int i = 0, j = 0; i < argc; i++) {
					run[j++] = argv[i];
					if (i == bake_idx)
						run[j++] = (char *)"--progress=plain";
				}
			}
			setenv("DOCKER_BUILDKIT", getenv("DOCKER_BUILDKIT") ? getenv("DOCKER_BUILDKIT") : "1", 1);
			if (dup2(fd, 2) < 0)
				run = argv;
		}
		free(line);
		close(fd);
	}
	/* the shim's own directory must not find itself again */
	unsetenv(LP_SHIM_DOCKER_ENV);
	unsetenv(LP_SHIM_SOCK_ENV);
	execv(real, run);
	fprintf(stderr, "layerprof: docker shim: cannot run %s: %s\n", real, strerror(errno));
	return 127;
}
