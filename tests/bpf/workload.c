/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The BPF integration test's workload: every traced syscall once or a few
 * times, with KNOWN arguments, in the directory given on the command line.
 * Raw syscall(2) calls, so that what the kernel sees is exactly what is
 * written here (no libc rewriting open into openat with extra flags...).
 * check_workload.c asserts the trace against the same values; what only the
 * run knows (pids, fds, results that depend on the file system) is printed
 * on stdout as key=value lines for the checker.
 *
 *   workload DIR                  the workload (exit 0)
 *   workload --burst N DIR        N opens+closes of DIR/burst, as fast as possible
 *   workload --busy PATH SECONDS  open+close PATH in a loop (the untraced noise)
 *   workload --tick PATH SECONDS  open+close PATH every 20 ms (a -p target)
 *   workload --after-exec FD       (internal) the fd lifecycle scenario's
 *                                  second image: FD was closed by exec
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

static char dir[3072];
static char buf[8192];

/* key=value for the checker */
static void out(const char *key, long v)
{
	printf("%s=%ld\n", key, v);
}

static const char *P(const char *name)
{
	static char paths[8][4096];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

/* Spin until `clock` (a CPU-time clock) has advanced by ms milliseconds:
 * that much CPU time, however busy the machine. */
static void spin_cpu_ms(clockid_t clock, long ms)
{
	struct timespec a, b;
	clock_gettime(clock, &a);
	do
		clock_gettime(clock, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ms * 1000000L);
}

static void *spin_thread(void *arg)
{
	spin_cpu_ms(CLOCK_THREAD_CPUTIME_ID, (long)(intptr_t)arg);
	return NULL;
}

/* Sleep ms milliseconds of wall time (off CPU). */
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Fork a child that runs `what` (0: busy 50 ms of CPU then sleep 100 ms;
 * 1: sleep 100 ms; 2: a thread busy 40 ms, joined, then the main thread
 * 20 ms) and exits 0; print its pid as KEY and, as KEY_cpu_us, the CPU time
 * wait4 reports for it (user + system): what its exit record's cpu_ns
 * should say. */
static void cpu_child(const char *key, int what)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		if (what == 0) {
			spin_cpu_ms(CLOCK_PROCESS_CPUTIME_ID, 50);
			sleep_ms(100);
		} else if (what == 1) {
			sleep_ms(100);
		} else {
			pthread_t t;
			if (pthread_create(&t, NULL, spin_thread, (void *)(intptr_t)40) != 0)
				_exit(1);
			pthread_join(t, NULL);
			spin_cpu_ms(CLOCK_THREAD_CPUTIME_ID, 20);
		}
		_exit(0);
	}
	int status;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	wait4(c, &status, 0, &ru);
	char k[64];
	out(key, c);
	snprintf(k, sizeof(k), "%s_status", key);
	out(k, status);
	snprintf(k, sizeof(k), "%s_cpu_us", key);
	out(k, (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec +
		       ru.ru_stime.tv_usec);
}

/* A syscall's raw result: -errno on failure, like the kernel returns it. */
static long sc(long r)
{
	return r < 0 ? -errno : r;
}

static int busy(const char *path, int seconds, int per_round, int sleep_us)
{
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end) {
		for (int i = 0; i < per_round; i++) {
			long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CREAT, 0600);
			if (fd >= 0)
				syscall(SYS_close, fd);
		}
		usleep((useconds_t)sleep_us);
	}
	return 0;
}

static int burst(long n)
{
	const char *path = P("burst");
	for (long i = 0; i < n; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CREAT, 0600);
		if (fd >= 0)
			syscall(SYS_close, fd);
	}
	out("burst", n);
	return 0;
}

/* --fd-race DIR N: the main thread writes 100 bytes to DIR/race-w and
 * closes it, N times, on an fd number another thread keeps opening (and
 * closing, no I/O) DIR/race-r on: the kernel frees the number inside
 * close(2), so the other thread's open often returns it before the close
 * has returned. Each write must be sent once, charged to race-w. */
static volatile int race_stop;
static const char *race_r;

static void *race_opener(void *arg)
{
	(void)arg;
	while (!race_stop) {
		long fd = syscall(SYS_openat, AT_FDCWD, race_r, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			syscall(SYS_close, fd);
	}
	return NULL;
}

static int fd_race(long n)
{
	static char w[3200], r[3200];
	snprintf(w, sizeof(w), "%s/race-w", dir);
	snprintf(r, sizeof(r), "%s/race-r", dir);
	race_r = r;
	/* numbers above LP_FDIO_KEEP (16): aggregates in the HASH map */
	for (int i = 0; i < 20; i++)
		if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
			return 2;
	pthread_t t;
	if (pthread_create(&t, NULL, race_opener, NULL) != 0)
		return 2;
	long written = 0;
	for (long i = 0; i < n; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, w, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			continue;
		if (syscall(SYS_write, fd, buf, 100) == 100)
			written++;
		syscall(SYS_close, fd);
	}
	race_stop = 1;
	pthread_join(t, NULL);
	out("race_writes", written);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--busy"))
		return busy(argv[2], atoi(argv[3]), 100, 1000);
	if (argc == 4 && !strcmp(argv[1], "--tick"))
		return busy(argv[2], atoi(argv[3]), 1, 20000);
	if (argc == 3 && !strcmp(argv[1], "--after-exec")) {
		/* exec closed the O_CLOEXEC file on this fd: a pipe (a call the
		 * kernel side does not trace) gets the number; its 33 bytes must
		 * never be charged to the file */
		int want = atoi(argv[2]), p[2];
		if (pipe(p) < 0 || p[0] != want)
			_exit(2);
		if (write(p[1], buf, 33) != 33 || read(p[0], buf, 33) != 33)
			_exit(3);
		close(p[0]);
		close(p[1]);
		_exit(0);
	}
	if (argc == 4 && !strcmp(argv[1], "--fd-race")) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		return fd_race(atol(argv[3]));
	}
	if (argc == 4 && !strcmp(argv[1], "--burst")) {
		snprintf(dir, sizeof(dir), "%s", argv[3]);
		return burst(atol(argv[2]));
	}
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: workload /ABSOLUTE/DIR | --burst N DIR | --busy|--tick PATH SECONDS\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	memset(buf, 'x', sizeof(buf));
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	printf("pid=%d\nstart_cwd=%s\n", (int)getpid(), cwd);

	/* create + write 1000 + 2000 + 345 bytes, fsync, fdatasync, close */
	long wfd = sc(syscall(SYS_openat, AT_FDCWD, P("data.bin"), O_CREAT | O_WRONLY | O_TRUNC, 0640));
	out("wfd", wfd);
	if (wfd < 0)
		return 1;
	sc(syscall(SYS_write, wfd, buf, 1000));
	sc(syscall(SYS_write, wfd, buf, 2000));
	sc(syscall(SYS_write, wfd, buf, 345));
	out("fsync", sc(syscall(SYS_fsync, wfd)));
	out("fdatasync", sc(syscall(SYS_fdatasync, wfd)));
	sc(syscall(SYS_close, wfd));

	/* read back: pread 100 @10, read 1000, read 2345 (asks 4000), read 0 (EOF) */
	long rfd = sc(syscall(SYS_openat, AT_FDCWD, P("data.bin"), O_RDONLY));
	out("rfd", rfd);
	out("pread", sc(syscall(SYS_pread64, rfd, buf, 100, 10)));
	out("read1", sc(syscall(SYS_read, rfd, buf, 1000)));
	out("read2", sc(syscall(SYS_read, rfd, buf, 4000)));
	out("read3", sc(syscall(SYS_read, rfd, buf, 10)));
	sc(syscall(SYS_close, rfd));

	/* a missing file: ENOENT */
	out("missing", sc(syscall(SYS_openat, AT_FDCWD, P("missing.txt"), O_RDONLY)));

	/* renames */
	out("rename", sc(syscall(SYS_rename, P("data.bin"), P("renamed.bin"))));
	out("renameat2", sc(syscall(SYS_renameat2, AT_FDCWD, P("renamed.bin"), AT_FDCWD,
				    P("final.bin"), RENAME_NOREPLACE)));
	long ofd = sc(syscall(SYS_openat, AT_FDCWD, P("other"), O_CREAT | O_WRONLY, 0600));
	sc(syscall(SYS_close, ofd));
	out("renameat2_exist", sc(syscall(SYS_renameat2, AT_FDCWD, P("final.bin"), AT_FDCWD,
					  P("other"), RENAME_NOREPLACE)));

	/* links, unlink, mkdir, mknod */
	out("link", sc(syscall(SYS_link, P("final.bin"), P("hard.bin"))));
	out("symlink", sc(syscall(SYS_symlink, "final.bin", P("sym.bin"))));
	out("unlink", sc(syscall(SYS_unlink, P("hard.bin"))));
	out("mkdir", sc(syscall(SYS_mkdir, P("sub"), 0750)));
	out("mknod", sc(syscall(SYS_mknod, P("fifo"), S_IFIFO | 0600, 0)));

	/* xattr (may be unsupported by the file system: the checker compares
	 * the trace with the result printed here) */
	out("setxattr", sc(syscall(SYS_setxattr, P("final.bin"), "user.layerprof", "v", 1, 0)));

	/* in-kernel copies */
	long in = sc(syscall(SYS_openat, AT_FDCWD, P("final.bin"), O_RDONLY));
	long outfd = sc(syscall(SYS_openat, AT_FDCWD, P("copy.bin"), O_CREAT | O_WRONLY | O_TRUNC, 0644));
	out("copy_in", in);
	out("copy_out", outfd);
	out("copy_file_range", sc(syscall(SYS_copy_file_range, in, NULL, outfd, NULL, 3345, 0)));
	off_t off = 0;
	out("sendfile", sc(syscall(SYS_sendfile, outfd, in, &off, 1000)));
	int pfd[2];
	if (pipe(pfd) < 0)
		return 1;
	out("pipe_r", pfd[0]);
	out("pipe_w", pfd[1]);
	loff_t soff = 0;
	out("splice1", sc(syscall(SYS_splice, in, &soff, pfd[1], NULL, 500, 0)));
	out("splice2", sc(syscall(SYS_splice, pfd[0], NULL, outfd, NULL, 500, 0)));
	sc(syscall(SYS_close, pfd[0]));
	sc(syscall(SYS_close, pfd[1]));
	sc(syscall(SYS_close, in));
	sc(syscall(SYS_close, outfd));

	/* a dirfd-relative open */
	long dfd = sc(syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY));
	out("dirfd", dfd);
	long afd = sc(syscall(SYS_openat, dfd, "final.bin", O_RDONLY));
	out("at_fd", afd);
	sc(syscall(SYS_close, afd));
	sc(syscall(SYS_close, dfd));

	/* an empty directory opened without O_DIRECTORY (Go's os.Open) */
	sc(syscall(SYS_mkdir, P("empty"), 0755));
	long plain_dir = sc(syscall(SYS_openat, AT_FDCWD, P("empty"), O_RDONLY | O_CLOEXEC));
	out("plain_dir_fd", plain_dir);
	sc(syscall(SYS_close, plain_dir));

	/* chdir, then relative opens */
	out("chdir", sc(syscall(SYS_chdir, P("sub"))));
	long relfd = sc(syscall(SYS_openat, AT_FDCWD, "rel.txt", O_CREAT | O_WRONLY, 0600));
	out("rel_fd", relfd);
	sc(syscall(SYS_write, relfd, "layered", 7));
	sc(syscall(SYS_close, relfd));
	long upfd = sc(syscall(SYS_openat, AT_FDCWD, "../final.bin", O_RDONLY));
	out("up_fd", upfd);
	sc(syscall(SYS_close, upfd));

	/* dup2: reads on fd 100 belong to final.bin */
	long dsrc = sc(syscall(SYS_openat, AT_FDCWD, P("final.bin"), O_RDONLY));
	out("dup_src", dsrc);
	out("dup2", sc(syscall(SYS_dup2, dsrc, 100)));
	sc(syscall(SYS_close, dsrc));
	out("dup_read", sc(syscall(SYS_read, 100, buf, 50)));
	sc(syscall(SYS_close, 100));

	/* fd lifecycles. A directory fd closed without I/O (no record), its
	 * number taken by a socket the kernel side never saw opened: the
	 * socket's 700 bytes are a socket's, not the directory's. */
	long sdir = sc(syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY));
	sc(syscall(SYS_close, sdir));
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	out("sock_dir_fd", sdir);
	out("sock_fd", sv[0]);
	out("sock_write", sc(syscall(SYS_write, sv[0], buf, 700)));
	out("sock_read", sc(syscall(SYS_read, sv[1], buf, 700)));
	sc(syscall(SYS_close, sv[0]));
	sc(syscall(SYS_close, sv[1]));
	/* close_range closes a file after 10 bytes were read from it; a pipe
	 * takes its number and carries 5 bytes */
	long crfd = sc(syscall(SYS_openat, AT_FDCWD, P("final.bin"), O_RDONLY));
	out("cr_fd", crfd);
	out("cr_read", sc(syscall(SYS_read, crfd, buf, 10)));
	out("close_range", sc(syscall(SYS_close_range, crfd, ~0U, 0)));
	int cp[2];
	if (pipe(cp) < 0)
		return 1;
	out("cr_pipe", cp[0]);
	out("cr_pipe_w", cp[1]);
	out("cr_pipe_write", sc(syscall(SYS_write, cp[1], buf, 5)));
	sc(syscall(SYS_close, cp[0]));
	sc(syscall(SYS_close, cp[1]));
	/* exec closes an O_CLOEXEC file after 77 bytes were read from it */
	fflush(stdout);
	pid_t c4 = fork();
	if (c4 == 0) {
		int f = (int)syscall(SYS_openat, AT_FDCWD, P("final.bin"), O_RDONLY | O_CLOEXEC);
		if (f < 0 || syscall(SYS_read, f, buf, 77) != 77)
			_exit(4);
		char fds[16], self[4096];
		snprintf(fds, sizeof(fds), "%d", f);
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			_exit(5);
		self[n] = 0;
		printf("cloexec_fd=%d\n", f);
		fflush(stdout);
		char *xargv[] = { self, "--after-exec", fds, NULL };
		char *no_env0[] = { NULL };
		syscall(SYS_execve, self, xargv, no_env0);
		_exit(127);
	}
	int c4_status;
	waitpid(c4, &c4_status, 0);
	out("child_cloexec", c4);
	out("child_cloexec_status", c4_status);

	/* metadata churn: counted, not streamed: 3 chmod, 2 chown, 4 utimensat */
	long mfd = sc(syscall(SYS_openat, AT_FDCWD, P("final.bin"), O_RDONLY));
	sc(syscall(SYS_chmod, P("final.bin"), 0600));
	sc(syscall(SYS_chmod, P("final.bin"), 0640));
	sc(syscall(SYS_fchmod, mfd, 0644));
	sc(syscall(SYS_chown, P("final.bin"), getuid(), getgid()));
	sc(syscall(SYS_fchownat, AT_FDCWD, P("final.bin"), getuid(), getgid(), 0));
	for (int i = 0; i < 4; i++)
		sc(syscall(SYS_utimensat, AT_FDCWD, P("final.bin"), NULL, 0));
	sc(syscall(SYS_close, mfd));

	/* a failed lookup and a failed exec */
	struct stat st;
	out("stat_missing", sc(syscall(SYS_newfstatat, AT_FDCWD, P("nope"), &st, 0)));
	char *bad_argv[] = { "/nonexistent/prog", "x", NULL };
	char *no_env[] = { NULL };
	out("execve_missing", sc(syscall(SYS_execve, "/nonexistent/prog", bad_argv, no_env)));

	/* fork + exec /bin/true a b c (exits 0); fork + exit 3 */
	fflush(stdout);
	pid_t c1 = fork();
	if (c1 == 0) {
		char *targv[] = { "/bin/true", "a", "b", "c", NULL };
		syscall(SYS_execve, "/bin/true", targv, no_env);
		_exit(127);
	}
	int status;
	waitpid(c1, &status, 0);
	out("child_exec", c1);
	out("child_exec_status", status);
	pid_t c2 = fork();
	if (c2 == 0)
		_exit(3);
	waitpid(c2, &status, 0);
	out("child_exit3", c2);
	out("child_exit3_status", status);

	/* CPU time at exit (lp_ev_exit.cpu_ns): a busy child, a sleeping one,
	 * one whose CPU time is mostly a thread's that ended before it */
	cpu_child("child_busy", 0);
	cpu_child("child_sleep", 1);
	cpu_child("child_threads", 2);

	/* A 32-bit syscall (int 0x80) from this 64-bit process: ia32 close(-1).
	 * Its number, 6, is lstat on x86-64: a tracer that read it with the
	 * x86-64 table would record a failed lstat. The per-syscall tracepoints
	 * ignore ia32 syscalls, and so must the raw ones. In a child: a kernel
	 * without ia32 emulation kills it. */
#if defined(__x86_64__)
	fflush(stdout);
	pid_t c3 = fork();
	if (c3 == 0) {
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(6), "b"(-1) : "memory");
		_exit(r == -EBADF ? 0 : 1);
	}
	waitpid(c3, &status, 0);
	out("child_ia32", c3);
	out("ia32_close_ebadf", WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif

	/* a tmpfs mounted and unmounted (root only), in a mount namespace of
	 * our own so that nothing can leak onto the host */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		sc(syscall(SYS_mkdir, P("mnt"), 0755));
		out("mount", sc(syscall(SYS_mount, "lp-tmpfs", P("mnt"), "tmpfs",
					MS_NOSUID | MS_NODEV, "size=1m")));
		out("umount2", sc(syscall(SYS_umount2, P("mnt"), 0)));
	} else {
		out("mount_skipped", 1);
	}
	out("done", 1);
	fflush(stdout);
	return 0;
}
