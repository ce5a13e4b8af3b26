/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Synthetic builds shaped like the fixture projects (tests/fixtures), as
 * dockerd 20.10 + BuildKit + runc do them. Each returns the trace path
 * (caller unlinks it).
 */
#ifndef LAYERPROF_TEST_SCENARIOS_H
#define LAYERPROF_TEST_SCENARIOS_H

#include "synth.h"

#define T0 (10000 * SYN_MS)
#define MS(x) (T0 + (uint64_t)(x) * SYN_MS)
#define COPYSNAP SYN_ROOT "/overlay2/copysnapshotid000000000b"

static inline char *json_meta(const char *dockerfile)
{
	struct lp_buf b = { 0 };
	lp_buf_puts(&b, "{\"version\":1,\"build\":{\"context\":\"/work/app\",\"dockerfile\":\"/work/app/Dockerfile\","
			"\"dockerfile_text\":");
	lp_buf_json_str(&b, dockerfile);
	lp_buf_puts(&b, "},\"daemons\":[{\"pid\":100,\"comm\":\"dockerd\",\"data_root\":\"" SYN_ROOT "\"}],"
			"\"command\":[\"docker\",\"build\",\"-t\",\"app\",\".\"]}");
	return b.data;
}

static inline void common_start(struct synth *s, const char *dockerfile)
{
	char *meta = json_meta(dockerfile);
	syn_open(s, meta);
	free(meta);
	const char *dargv[] = { "/usr/sbin/dockerd", "--data-root", SYN_ROOT, NULL };
	syn_seed(s, 100, 1, "dockerd", "/usr/sbin/dockerd", dargv);
	const char *cargv[] = { "docker", "build", "-t", "app", ".", NULL };
	syn_seed_cwd(s, 200, 99, "docker", "/usr/bin/docker", "/work/app", cargv);
	syn_trace_pid(s, T0 - 50 * SYN_MS, 200, "docker");
}

/* A two-step build, FROM x and one RUN (its text run), up to the moment
 * the RUN's command (exe, comm, argv) runs as pid 301 in runc's container:
 * dockerd 100 forks runc 300, which forks the container's init. */
static inline void one_run_start(struct synth *s, const char *run, const char *exe, const char *comm,
				 const char *const *argv)
{
	char df[256], line[256];
	snprintf(df, sizeof(df), "FROM x\nRUN %s\n", run);
	char *meta = json_meta(df);
	syn_open(s, meta);
	free(meta);
	const char *dargv[] = { "dockerd", NULL };
	syn_seed(s, 100, 1, "dockerd", "/usr/sbin/dockerd", dargv);
	syn_progress(s, MS(0), "#1 [1/2] FROM docker.io/library/x");
	syn_progress(s, MS(1), "#1 DONE 0.0s");
	snprintf(line, sizeof(line), "#2 [2/2] RUN %s", run);
	syn_progress(s, MS(2), line);
	syn_fork(s, MS(3), 100, 300, "dockerd");
	const char *rargv[] = { "runc", "run", "--bundle", SYN_ROOT "/buildkit/executor/c1", "c1", NULL };
	syn_exec(s, MS(3) + 100, 300, 100, "/usr/sbin/runc", "runc", rargv);
	syn_fork(s, MS(4), 300, 301, "runc:[2:INIT]");
	syn_exec(s, MS(4) + 100, 301, 300, exe, comm, argv);
}

static inline void internal_steps(struct synth *s, const char *base)
{
	syn_progress(s, MS(0), "#1 [internal] load build definition from Dockerfile");
	syn_progress(s, MS(1), "#1 sha256:1111111111111111111111111111111111111111111111111111111111111111");
	syn_progress(s, MS(2), "#1 transferring dockerfile: 378B done");
	syn_progress(s, MS(3), "#1 DONE 0.0s");
	syn_progress(s, MS(4), "");
	syn_progress(s, MS(5), "#2 [internal] load .dockerignore");
	syn_progress(s, MS(6), "#2 transferring context: 2B done");
	syn_progress(s, MS(7), "#2 DONE 0.0s");
	syn_progress(s, MS(10), "#3 [internal] load metadata for %s", base);
	syn_progress(s, MS(20), "#3 DONE 0.0s");
}

/* Context transfer: `changed` files re-sent as .tmp + rename, `added`
 * written directly, by dockerd's thread 100 from MS(t) + 0.1 ms on; no
 * DONE line. Returns when the last file was closed. */
static inline uint64_t transfer_files(struct synth *s, uint64_t t, int num, const char *const *added,
				      const char *const *changed)
{
	syn_progress(s, MS(t), "#%d [internal] load build context", num);
	uint64_t ts = MS(t) + 100000;
	for (int i = 0; added && added[i]; i++, ts += 200000) {
		char p[512];
		snprintf(p, sizeof(p), SYN_CTX "/%s", added[i]);
		syn_file(s, ts, 200, added[i], false, 300); /* the CLI sends it */
		syn_enoent(s, ts + 10000, 100, p);
		/* metadata pass: created empty; data pass later */
		syn_sc(s, ts + 20000, 100, LP_SC_OPENAT, 25, 9000, p, 1, NULL, 0, O_WRONLY | O_CREAT | O_CLOEXEC);
		syn_sc(s, ts + 30000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	}
	for (int i = 0; added && added[i]; i++, ts += 200000) {
		char p[512];
		snprintf(p, sizeof(p), SYN_CTX "/%s", added[i]);
		syn_sc(s, ts, 100, LP_SC_OPENAT, 25, 9000, p, 1, NULL, 0, O_WRONLY | O_CLOEXEC);
		syn_fdio(s, ts + 20000, 100, 25, 0, 300, 10000);
		syn_sc(s, ts + 30000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	}
	for (int i = 0; changed && changed[i]; i++, ts += 200000) {
		char p[512], tmp[512];
		snprintf(p, sizeof(p), SYN_CTX "/%s", changed[i]);
		const char *sl = strrchr(changed[i], '/');
		snprintf(tmp, sizeof(tmp), SYN_CTX "/%.*s%s.tmp.%d", sl ? (int)(sl - changed[i]) : 0, changed[i],
			 sl ? "/" : "", 1000 + i);
		syn_file(s, ts, 200, changed[i], false, 333); /* the CLI sends it */
		syn_sc(s, ts + 10000, 100, LP_SC_OPENAT, 25, 9000, tmp, 1, NULL, 0, O_WRONLY | O_CREAT | O_CLOEXEC);
		syn_sc(s, ts + 20000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
		syn_rename(s, ts + 100000, 100, tmp, p);
		syn_sc(s, ts + 110000, 100, LP_SC_OPENAT, 25, 9000, p, 1, NULL, 0, O_WRONLY | O_CLOEXEC);
		syn_fdio(s, ts + 120000, 100, 25, 0, 333, 10000);
		syn_sc(s, ts + 130000, 100, LP_SC_CLOSE, 0, 1000, NULL, 0, NULL, 0, 0);
	}
	return ts;
}

static inline void transfer(struct synth *s, uint64_t t, int num, const char *const *added,
			    const char *const *changed)
{
	transfer_files(s, t, num, added, changed);
	syn_progress(s, MS(t + 15), "#%d transferring context: 1.2kB done", num);
	syn_progress(s, MS(t + 16), "#%d DONE 0.0s", num);
}

/* A COPY that ran: reads context files, writes them under merged/<dst>. */
static inline void copy_files(struct synth *s, uint64_t t, const char *snap, const char *const *files,
			      const char *dstdir)
{
	uint64_t ts = MS(t) + 500000;
	const char *mnt = SYN_ROOT "/tmp/buildkit-mount185737053";
	union {
		struct lp_ev_syscall r;
		char b[sizeof(struct lp_ev_syscall) + 1024];
	} u;
	memset(&u, 0, sizeof(u));
	syn_hdr(&u.r.h, LP_EV_SYSCALL, 100, LP_SC_MOUNT, ts - 100000);
	u.r.lat_ns = 50000;
	u.r.args[3] = 4096 | 1 | 16384; /* MS_BIND|MS_RDONLY|MS_REC */
	char *d = u.b + sizeof(u.r);
	size_t l0 = strlen(SYN_CTX) + 1, l1 = strlen(mnt) + 1;
	memcpy(d, SYN_CTX, l0);
	memcpy(d + l0, mnt, l1);
	u.r.nstr = 2;
	u.r.str_arg[0] = 0;
	u.r.str_arg[1] = 1;
	u.r.str_len[0] = (uint16_t)l0;
	u.r.str_len[1] = (uint16_t)l1;
	syn_put(s, &u, (sizeof(u.r) + l0 + l1 + 7) & ~7ul);
	for (int i = 0; files[i]; i++, ts += 300000) {
		char src[512], dst[512];
		snprintf(src, sizeof(src), "%s/%s", mnt, files[i]);
		snprintf(dst, sizeof(dst), "%s/merged%s/%s", snap, dstdir, files[i]);
		syn_file(s, ts, 100, src, false, 300);
		syn_file(s, ts + 100000, 100, dst, true, 300);
	}
	syn_sc(s, ts, 100, LP_SC_UMOUNT2, 0, 40000, mnt, 0, NULL, 0, 0);
}

static inline void export_step(struct synth *s, uint64_t t, int num)
{
	syn_progress(s, MS(t), "#%d exporting to image", num);
	syn_file(s, MS(t) + 100000, 100, COPYSNAP "/diff/app/package.json", false, 300);
	syn_file(s, MS(t) + 200000, 100, SYN_ROOT "/image/overlay2/layerdb/tmp/write-set-1/diff", true, 71);
	syn_sc(s, MS(t) + 300000, 100, LP_SC_FSYNC, 0, 2000000, NULL, 0, NULL, 0, 0);
	syn_progress(s, MS(t + 20), "#%d exporting layers 0.0s done", num);
	syn_progress(s, MS(t + 21), "#%d writing image sha256:abc done", num);
	syn_progress(s, MS(t + 22), "#%d naming to docker.io/library/app done", num);
	syn_progress(s, MS(t + 23), "#%d DONE 0.0s", num);
}

static const char *const PROJECT[] = { "Dockerfile", "README.md", "package.json", "src/index.js",
				       "src/util.js", NULL };

static inline void project_manifest(struct synth *s)
{
	for (int i = 0; PROJECT[i]; i++)
		syn_ctx_file(s, PROJECT[i], 300);
}

/* A build of PROJECT on busybox up to its context's transfer (#5): the
 * internal steps, FROM as step [1/nsteps] (#4), then the files added and
 * changed (NULL: none) sent. */
static inline void busybox_project_start(struct synth *s, const char *dockerfile, int nsteps,
					 const char *const *added, const char *const *changed)
{
	common_start(s, dockerfile);
	project_manifest(s);
	internal_steps(s, "docker.io/layerprof/busybox:latest");
	syn_progress(s, MS(30), "#4 [1/%d] FROM docker.io/layerprof/busybox", nsteps);
	syn_progress(s, MS(31), "#4 DONE 0.0s");
	transfer(s, 40, 5, added, changed);
}

#define BAD_ORDER_DOCKERFILE                                                                   \
	"# A common mistake\n"                                                                  \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"COPY . .\n"                                                                            \
	"RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt\n"  \
	"RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js\n"

/* bad-order project; rebuild after editing src/index.js (cold: first build). */
static inline char *scenario_bad_order(bool cold)
{
	static struct synth s;
	const char *changed[] = { "src/index.js", NULL };
	busybox_project_start(&s, BAD_ORDER_DOCKERFILE, 5, cold ? PROJECT : NULL, cold ? NULL : changed);
	syn_progress(&s, MS(70), "#6 [2/5] WORKDIR /app");
	if (cold) {
		syn_sc(&s, MS(72), 100, LP_SC_MKDIRAT, 0, 10000,
		       SYN_ROOT "/overlay2/workdirsnapshotid0000000c/merged/app", 1, NULL, 0, 0755);
		syn_progress(&s, MS(75), "#6 DONE 0.0s");
	} else {
		syn_progress(&s, MS(71), "#6 CACHED");
	}
	syn_progress(&s, MS(80), "#7 [3/5] COPY . .");
	copy_files(&s, 80, COPYSNAP, PROJECT, "/app");
	syn_progress(&s, MS(120), "#7 DONE 0.1s");
	syn_progress(&s, MS(130), "#8 [4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	const char *r1[] = { "/app/package.json", "/app/package.json", NULL };
	syn_run(&s, MS(140), 3000 * SYN_MS, 300, "run1containerid00000000001",
		"cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt", r1, 0);
	syn_progress(&s, MS(3200), "#8 DONE 3.1s");
	syn_progress(&s, MS(3210), "#9 [5/5] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js");
	const char *r2[] = { "/app/src/index.js", "/app/src/util.js", NULL };
	syn_run(&s, MS(3220), 200 * SYN_MS, 400, "run2containerid00000000002",
		"cat src/index.js src/util.js > bundle.js && wc -c bundle.js", r2, 0);
	syn_progress(&s, MS(3440), "#9 0.101 254 bundle.js");
	syn_progress(&s, MS(3450), "#9 DONE 0.2s");
	export_step(&s, 3460, 10);
	syn_close(&s, NULL);
	return strdup(s.path);
}

#define GOOD_ORDER_DOCKERFILE                                                                  \
	"# The fix\n"                                                                           \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"COPY package.json ./\n"                                                                \
	"# npm ci\n"                                                                            \
	"RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt\n"  \
	"COPY . .\n"                                                                            \
	"RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js\n"

/* good-order project, rebuilt after editing src/index.js; with
 * all_cached, rebuilt with no change at all. */
static inline char *scenario_good_order(bool all_cached)
{
	static struct synth s;
	common_start(&s, GOOD_ORDER_DOCKERFILE);
	project_manifest(&s);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/6] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	const char *changed[] = { "src/index.js", NULL };
	transfer(&s, 40, 5, NULL, all_cached ? NULL : changed);
	syn_progress(&s, MS(70), "#6 [2/6] WORKDIR /app");
	syn_progress(&s, MS(71), "#6 CACHED");
	syn_progress(&s, MS(72), "#7 [3/6] COPY package.json ./");
	syn_progress(&s, MS(73), "#7 CACHED");
	syn_progress(&s, MS(74), "#8 [4/6] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	syn_progress(&s, MS(75), "#8 CACHED");
	syn_progress(&s, MS(80), "#9 [5/6] COPY . .");
	if (all_cached) {
		syn_progress(&s, MS(81), "#9 CACHED");
		syn_progress(&s, MS(82), "#10 [6/6] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js");
		syn_progress(&s, MS(83), "#10 CACHED");
		syn_progress(&s, MS(90), "#11 exporting to image");
		syn_progress(&s, MS(91), "#11 exporting layers done");
		syn_progress(&s, MS(92), "#11 DONE 0.0s");
	} else {
		copy_files(&s, 80, COPYSNAP, PROJECT, "/app");
		syn_progress(&s, MS(120), "#9 DONE 0.1s");
		syn_progress(&s, MS(130), "#10 [6/6] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js");
		const char *r2[] = { "/app/src/index.js", "/app/src/util.js", NULL };
		syn_run(&s, MS(140), 200 * SYN_MS, 400, "run2containerid00000000002",
			"cat src/index.js src/util.js > bundle.js && wc -c bundle.js", r2, 0);
		syn_progress(&s, MS(350), "#10 DONE 0.2s");
		export_step(&s, 360, 11);
	}
	syn_close(&s, NULL);
	return strdup(s.path);
}

#define BLOATED_DOCKERFILE                                                                     \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"COPY . /app/\n"                                                                        \
	"RUN sh /app/app.sh\n"

static const char *const BLOATED[] = { ".env", "Dockerfile", "app.sh", "docs/guide.md",
				       ".git/objects/pack/pack-9d2c.pack", ".git/HEAD", ".git/config",
				       "node_modules/left-pad/index.js", "node_modules/left-pad/package.json",
				       "node_modules/big/big.js", "id_rsa", NULL };
static const uint64_t BLOATED_SIZES[] = { 299, 213, 111, 2000, 262144, 21, 200, 30000, 500, 60000, 1700 };

/* bloated project, first build: the daemon receives the whole context. */
static inline char *scenario_bloated(void)
{
	static struct synth s;
	common_start(&s, BLOATED_DOCKERFILE);
	for (int i = 0; BLOATED[i]; i++)
		syn_ctx_file(&s, BLOATED[i], BLOATED_SIZES[i]);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/4] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	transfer(&s, 40, 5, BLOATED, NULL);
	syn_progress(&s, MS(70), "#6 [2/4] WORKDIR /app");
	syn_progress(&s, MS(75), "#6 DONE 0.0s");
	syn_progress(&s, MS(80), "#7 [3/4] COPY . /app/");
	copy_files(&s, 80, COPYSNAP, BLOATED, "/app");
	syn_progress(&s, MS(120), "#7 DONE 0.0s");
	syn_progress(&s, MS(130), "#8 [4/4] RUN sh /app/app.sh");
	const char *r[] = { "/app/app.sh", NULL };
	syn_run(&s, MS(140), 150 * SYN_MS, 300, "run1containerid00000000001", "sh /app/app.sh", r, 0);
	syn_progress(&s, MS(300), "#8 DONE 0.2s");
	export_step(&s, 310, 9);
	syn_close(&s, NULL);
	return strdup(s.path);
}

#define MISSING_DOCKERFILE                                                                     \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"# requirements.txt is not in the context: this step fails.\n"                          \
	"COPY requirements.txt /app/\n"                                                         \
	"COPY app.py /app/\n"                                                                   \
	"RUN cat /app/requirements.txt\n"

/* trailer: the recording's trailer (the build fails: command_status 1) */
static inline char *scenario_missing_with(const char *trailer)
{
	static struct synth s;
	common_start(&s, MISSING_DOCKERFILE);
	syn_ctx_file(&s, "Dockerfile", 171);
	syn_ctx_file(&s, "app.py", 63);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/5] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	const char *added[] = { "app.py", NULL };
	transfer(&s, 40, 5, added, NULL);
	syn_progress(&s, MS(70), "#6 [2/5] WORKDIR /app");
	syn_progress(&s, MS(71), "#6 CACHED");
	syn_enoent(&s, MS(45), 200, "requirements.txt"); /* the CLI looks for it */
	syn_progress(&s, MS(80), "#7 [3/5] COPY requirements.txt /app/");
	syn_progress(&s, MS(81), "#7 ERROR: failed to calculate checksum of ref abc::def: \"/requirements.txt\": not found");
	syn_progress(&s, MS(82), "#8 [4/5] COPY app.py /app/");
	syn_progress(&s, MS(83), "#8 CANCELED");
	syn_progress(&s, MS(84), "------");
	syn_progress(&s, MS(85), " > [3/5] COPY requirements.txt /app/:");
	syn_progress(&s, MS(86), "------");
	syn_progress(&s, MS(87), "failed to compute cache key: \"/requirements.txt\" not found: not found");
	syn_close(&s, trailer);
	return strdup(s.path);
}

static inline char *scenario_missing(void)
{
	return scenario_missing_with("{\"lost\":{\"total\":0},\"command_status\":1}");
}

/* A context with many unread files (node_modules/, .git/, all of distinct
 * sizes) and one file the RUN reads. First build: everything is sent. With
 * cached_rebuild: the same project rebuilt with no change: the CLI walks the
 * context (0.2 s), nothing is sent, every step is CACHED. */
#define MANY_DOCKERFILE                                                                        \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"COPY . /app/\n"                                                                        \
	"RUN sh /app/app.sh\n"
#define MANY_NM 30
#define MANY_GIT 25
static inline const char *many_path(int i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "app.sh");
	else if (i <= MANY_NM)
		snprintf(buf, len, "node_modules/pkg%02d/index.js", i);
	else
		snprintf(buf, len, ".git/objects/%02d/obj", i - MANY_NM);
	return buf;
}
static inline uint64_t many_size(int i)
{
	return i == 0 ? 111 : 4000 + (uint64_t)i * 100;
}

static inline char *scenario_bloated_many(bool cached_rebuild)
{
	static struct synth s;
	common_start(&s, MANY_DOCKERFILE);
	int n = 1 + MANY_NM + MANY_GIT;
	static char names[1 + MANY_NM + MANY_GIT][64];
	const char *files[1 + MANY_NM + MANY_GIT + 1];
	for (int i = 0; i < n; i++) {
		files[i] = many_path(i, names[i], sizeof(names[i]));
		syn_ctx_file(&s, files[i], many_size(i));
	}
	files[n] = NULL;
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/4] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	if (!cached_rebuild) {
		transfer(&s, 40, 5, files, NULL);
		syn_progress(&s, MS(70), "#6 [2/4] WORKDIR /app");
		syn_progress(&s, MS(75), "#6 DONE 0.0s");
		syn_progress(&s, MS(80), "#7 [3/4] COPY . /app/");
		copy_files(&s, 80, COPYSNAP, files, "/app");
		syn_progress(&s, MS(120), "#7 DONE 0.0s");
		syn_progress(&s, MS(130), "#8 [4/4] RUN sh /app/app.sh");
		const char *r[] = { "/app/app.sh", NULL };
		syn_run(&s, MS(140), 150 * SYN_MS, 300, "run1containerid00000000001", "sh /app/app.sh", r, 0);
		syn_progress(&s, MS(300), "#8 DONE 0.2s");
		export_step(&s, 310, 9);
	} else {
		/* the transfer: the CLI walks the context, the daemon has it all */
		syn_progress(&s, MS(40), "#5 [internal] load build context");
		for (int i = 0; i < n; i++)
			syn_file(&s, MS(45) + (uint64_t)i * 3 * SYN_MS, 200, files[i], false, many_size(i));
		syn_progress(&s, MS(240), "#5 transferring context: 2.1kB 0.2s done");
		syn_progress(&s, MS(241), "#5 DONE 0.2s");
		syn_progress(&s, MS(250), "#6 [2/4] WORKDIR /app");
		syn_progress(&s, MS(251), "#6 CACHED");
		syn_progress(&s, MS(252), "#7 [3/4] COPY . /app/");
		syn_progress(&s, MS(253), "#7 CACHED");
		syn_progress(&s, MS(254), "#8 [4/4] RUN sh /app/app.sh");
		syn_progress(&s, MS(255), "#8 CACHED");
		syn_progress(&s, MS(260), "#9 exporting to image");
		syn_progress(&s, MS(261), "#9 DONE 0.0s");
	}
	syn_close(&s, NULL);
	return strdup(s.path);
}

/* The last step is a COPY. The daemon exports as soon as it ends, reading
 * the COPY's layer back (<snapshot>/diff/...) at 150-160 ms, while the CLI
 * prints "exporting to image" only at 300 ms with "DONE 0.0s".
 * With helper: during the COPY a daemon helper process (a dockerd fork)
 * reads 4096 bytes of the COPY's layer and exits at 100 ms without closing
 * the fd: its I/O is drained when the recording ends, after the export. */
#define LASTCOPY_DOCKERFILE                                                                    \
	"FROM layerprof/busybox\n"                                                              \
	"WORKDIR /app\n"                                                                        \
	"COPY . .\n"
static inline char *scenario_last_copy(bool helper)
{
	static struct synth s;
	busybox_project_start(&s, LASTCOPY_DOCKERFILE, 3, PROJECT, NULL);
	syn_progress(&s, MS(70), "#6 [2/3] WORKDIR /app");
	syn_progress(&s, MS(71), "#6 CACHED");
	syn_progress(&s, MS(80), "#7 [3/3] COPY . .");
	copy_files(&s, 80, COPYSNAP, PROJECT, "/app");
	if (helper) {
		syn_fork(&s, MS(90), 100, 150, "dockerd");
		syn_sc(&s, MS(92), 150, LP_SC_OPENAT, 7, 20000, COPYSNAP "/merged/app/README.md", 1, NULL, 0,
		       O_RDONLY | O_CLOEXEC);
		syn_exit(&s, MS(100), 150, 0);
	}
	syn_progress(&s, MS(120), "#7 DONE 0.1s");
	/* the export walks the new layer */
	for (int i = 0; PROJECT[i]; i++) {
		char p[512];
		snprintf(p, sizeof(p), COPYSNAP "/diff/app/%s", PROJECT[i]);
		syn_file(&s, MS(150) + (uint64_t)i * 2 * SYN_MS, 100, p, false, 300);
	}
	syn_file(&s, MS(170), 100, SYN_ROOT "/image/overlay2/layerdb/tmp/write-set-1/diff", true, 71);
	syn_progress(&s, MS(300), "#8 exporting to image");
	syn_progress(&s, MS(301), "#8 exporting layers done");
	syn_progress(&s, MS(302), "#8 DONE 0.0s");
	if (helper)
		syn_fdio_drained(&s, MS(400), 150, 7, MS(93), MS(95), 4096, 0);
	syn_close(&s, NULL);
	return strdup(s.path);
}

/* The good-order project's first build (nothing cached, all sent). */
/* compile_ms: how long the last RUN (it reads the sources COPY . . placed) takes */
static inline char *scenario_good_order_cold_with(uint64_t compile_ms)
{
	static struct synth s;
	common_start(&s, GOOD_ORDER_DOCKERFILE);
	project_manifest(&s);
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/6] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	transfer(&s, 40, 5, PROJECT, NULL);
	syn_progress(&s, MS(70), "#6 [2/6] WORKDIR /app");
	syn_sc(&s, MS(72), 100, LP_SC_MKDIRAT, 0, 10000, SYN_ROOT "/overlay2/workdirsnapshotid0000000c/merged/app",
	       1, NULL, 0, 0755);
	syn_progress(&s, MS(75), "#6 DONE 0.0s");
	syn_progress(&s, MS(80), "#7 [3/6] COPY package.json ./");
	const char *pj[] = { "package.json", NULL };
	copy_files(&s, 80, SYN_ROOT "/overlay2/copypjsnapshotid0000000d", pj, "/app");
	syn_progress(&s, MS(100), "#7 DONE 0.0s");
	syn_progress(&s, MS(110), "#8 [4/6] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt");
	const char *r1[] = { "/app/package.json", "/app/package.json", NULL };
	syn_run(&s, MS(120), 3000 * SYN_MS, 300, "run1containerid00000000001",
		"cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt", r1, 0);
	syn_progress(&s, MS(3150), "#8 DONE 3.0s");
	syn_progress(&s, MS(3160), "#9 [5/6] COPY . .");
	copy_files(&s, 3160, COPYSNAP, PROJECT, "/app");
	syn_progress(&s, MS(3200), "#9 DONE 0.0s");
	syn_progress(&s, MS(3210), "#10 [6/6] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js");
	const char *r2[] = { "/app/src/index.js", "/app/src/util.js", NULL };
	syn_run(&s, MS(3220), compile_ms * SYN_MS, 400, "run2containerid00000000002",
		"cat src/index.js src/util.js > bundle.js && wc -c bundle.js", r2, 0);
	syn_progress(&s, MS(3240 + compile_ms), "#10 DONE %.1fs", (double)compile_ms / 1000);
	export_step(&s, 3250 + compile_ms, 11);
	syn_close(&s, NULL);
	return strdup(s.path);
}

static inline char *scenario_good_order_cold(void)
{
	return scenario_good_order_cold_with(200);
}

#endif
