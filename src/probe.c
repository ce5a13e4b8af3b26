/* SPDX-License-Identifier: BSD-2-Clause */
/* Host capability probes (see probe.h). */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

void lp_probe_privs(struct lp_privs *p)
{
	memset(p, 0, sizeof(*p));
	p->root = geteuid() == 0;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == 0) {
		uint64_t eff = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
		p->cap_sys_admin = eff & (1ull << CAP_SYS_ADMIN);
		p->cap_bpf = eff & (1ull << CAP_BPF);
		p->cap_perfmon = eff & (1ull << CAP_PERFMON);
	} else {
		p->cap_sys_admin = p->root;
	}
	/* CAP_SYS_ADMIN covers both on every kernel; CAP_BPF + CAP_PERFMON
	 * are enough on >= 5.8 (with tracefs readable). */
	p->enough = p->cap_sys_admin || (p->cap_bpf && p->cap_perfmon);
}

unsigned lp_probe_kernel_version(char *release, size_t len)
{
	struct utsname u;
	if (uname(&u) != 0) {
		if (release && len)
			snprintf(release, len, "unknown");
		return 0;
	}
	if (release && len)
		snprintf(release, len, "%s", u.release);
	unsigned a = 0, b = 0, c = 0;
	if (sscanf(u.release, "%u.%u.%u", &a, &b, &c) < 2)
		return 0;
	if (c > 255)
		c = 255;
	return LP_KERNEL_VERSION(a, b, c);
}

bool lp_probe_btf(void)
{
	return access(LP_BTF_VMLINUX, R_OK) == 0;
}

int lp_probe_bpf_syscall(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lp_probe", 4, 4, 1, NULL);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int lp_probe_ringbuf(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "lp_probe_rb", 0, 0,
				(uint32_t)(page > 0 ? page : 4096), NULL);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *lp_tracefs(bool mount_it, bool *mounted_now, int *err)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char p[256];
	if (mounted_now)
		*mounted_now = false;
	if (err)
		*err = 0;
	bool denied = false;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/events", dirs[i]);
		errno = 0;
		if (is_dir(p))
			return dirs[i];
		if (errno == EACCES)
			denied = true;
	}
	if (denied) {
		/* mounted, but root-only (mode 0700): mounting again will not help */
		if (err)
			*err = EACCES;
		return NULL;
	}
	int e = ENOENT;
	if (mount_it) {
		if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
		    is_dir("/sys/kernel/tracing/events")) {
			if (mounted_now)
				*mounted_now = true;
			return dirs[0];
		}
		e = errno ? errno : ENOENT;
		/* debugfs mounted without its tracing automount? */
		if (is_dir("/sys/kernel/debug/tracing") &&
		    mount("tracefs", "/sys/kernel/debug/tracing", "tracefs", 0, NULL) == 0 &&
		    is_dir("/sys/kernel/debug/tracing/events")) {
			if (mounted_now)
				*mounted_now = true;
			return dirs[1];
		}
	}
	if (err)
		*err = e;
	return NULL;
}

bool lp_tracepoint_exists(const char *tracefs, const char *group, const char *name)
{
	if (!tracefs)
		return false;
	char p[512];
	snprintf(p, sizeof(p), "%s/events/%s/%s", tracefs, group, name);
	return access(p, F_OK) == 0;
}

static int tracepoint_id(const char *tracefs, const char *group, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/events/%s/%s/id", tracefs, group, name);
	FILE *f = fopen(p, "re");
	if (!f)
		return -errno;
	int id = -ENOENT;
	if (fscanf(f, "%d", &id) != 1)
		id = -EINVAL;
	fclose(f);
	return id;
}

const char *lp_probe_kind_name(enum lp_probe_kind k)
{
	switch (k) {
	case LP_PROBE_TP_BTF: return "tp_btf";
	case LP_PROBE_RAW_TP: return "raw_tp";
	case LP_PROBE_TP: return "tp";
	case LP_PROBE_KPROBE: return "kprobe";
	case LP_PROBE_FENTRY: return "fentry";
	default: return "?";
	}
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * BTF id of name/kind in the kernel's BTF, or -errno: the raw file walked
 * once, names compared in place (~2 ms for the ~5 MB of a distribution
 * kernel), where parsing it with libbpf takes ~10 ms: record probes
 * fentry with this before choosing its hooks. A kind this walker does not
 * know makes it ask libbpf.
 */
int lp_btf_find_id(const void *raw, size_t n, const char *name, int kind)
{
	const uint8_t *b = raw;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
	if (n < 24 || b[0] != 0x9f || b[1] != 0xeb)
		return -EINVAL;
	memcpy(&hdr_len, b + 4, 4);
	memcpy(&type_off, b + 8, 4);
	memcpy(&type_len, b + 12, 4);
	memcpy(&str_off, b + 16, 4);
	memcpy(&str_len, b + 20, 4);
	uint64_t t0 = (uint64_t)hdr_len + type_off, s0 = (uint64_t)hdr_len + str_off;
	if (t0 + type_len > n || s0 + str_len > n || !str_len || b[s0 + str_len - 1])
		return -EINVAL;
	size_t nlen = strlen(name) + 1;
	uint64_t off = t0, end = t0 + type_len;
	for (int id = 1; off + 12 <= end; id++) {
		uint32_t name_off, info;
		memcpy(&name_off, b + off, 4);
		memcpy(&info, b + off + 4, 4);
		int k = (int)((info >> 24) & 0x1f);
		uint32_t vlen = info & 0xffff;
		if (k == kind && name_off < str_len && str_len - name_off >= nlen &&
		    !memcmp(b + s0 + name_off, name, nlen))
			return id;
		uint64_t extra;
		switch (k) {
		case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: extra = 4; break;
		case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_FLOAT:
		case BTF_KIND_TYPE_TAG: extra = 0; break;
		case BTF_KIND_ARRAY: extra = 12; break;
		case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC: case 19 /* ENUM64 */:
			extra = 12ull * vlen; break;
		case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO: extra = 8ull * vlen; break;
		default: return -ENOTSUP;
		}
		off += 12 + extra;
	}
	return -ENOENT;
}

/* The kernel's BTF in one copy through bpf() (Linux >= 5.11 names it): the
 * sysfs file is read a page per read(2), ~10 ms for 5 MB. NULL when not. */
static uint8_t *vmlinux_btf_by_bpf(size_t *n)
{
	uint32_t id = 0;
	while (bpf_btf_get_next_id(id, &id) == 0) {
		int fd = bpf_btf_get_fd_by_id(id);
		if (fd < 0)
			continue;
		char name[16] = "";
		struct bpf_btf_info info;
		memset(&info, 0, sizeof(info));
		info.name = (uint64_t)(uintptr_t)name;
		info.name_len = sizeof(name);
		uint32_t len = sizeof(info);
		uint8_t *buf = NULL;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.kernel_btf &&
		    !strcmp(name, "vmlinux") && info.btf_size && (buf = malloc(info.btf_size))) {
			uint32_t size = info.btf_size;
			memset(&info, 0, sizeof(info));
			info.btf = (uint64_t)(uintptr_t)buf;
			info.btf_size = size;
			len = sizeof(info);
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
				close(fd);
				*n = size;
				return buf;
			}
			free(buf);
			buf = NULL;
		}
		close(fd);
		if (name[0])
			break; /* the first named one is vmlinux or it is not here */
	}
	return NULL;
}

/* The kernel's BTF mapped read-only (Linux >= 6.16 lets the sysfs file be
 * mapped): no copy at all, where the copy through bpf() took ~4 ms of
 * record's start-up (5 MB into fresh pages). NULL when not. */
static const uint8_t *vmlinux_btf_mapped(size_t *n)
{
	int fd = open(LP_BTF_VMLINUX, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *p = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*n = (size_t)st.st_size;
	return p;
}

static int vmlinux_btf_id(const char *name, int kind)
{
	size_t n = 0;
	const uint8_t *mapped = vmlinux_btf_mapped(&n);
	if (mapped) {
		int id = lp_btf_find_id(mapped, n, name, kind);
		munmap((void *)mapped, n);
		if (id > 0 || id == -ENOENT)
			return id;
		n = 0;
	}
	uint8_t *raw = vmlinux_btf_by_bpf(&n);
	int fd = raw ? -1 : open(LP_BTF_VMLINUX, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		size_t cap = 8u << 20;
		raw = malloc(cap);
		ssize_t k;
		while (raw && (k = read(fd, raw + n, cap - n)) > 0) {
			n += (size_t)k;
			if (n == cap) {
				uint8_t *bigger = realloc(raw, cap *= 2);
				if (!bigger) {
					free(raw);
					raw = NULL;
				}
				raw = bigger;
			}
		}
		close(fd);
	}
	int id = raw ? lp_btf_find_id(raw, n, name, kind) : -ENOMEM;
	free(raw);
	if (id > 0 || id == -ENOENT)
		return id;
	/* not a layout this walker knows: libbpf's parser */
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	struct btf *btf = btf__load_vmlinux_btf();
	libbpf_set_print(old);
	if (!btf)
		return -errno ? -errno : -ENOENT;
	id = btf__find_by_name_kind(btf, name, kind);
	btf__free(btf);
	return id;
}

static int perf_event_open(struct perf_event_attr *attr, int pid, int cpu, int group, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

static int fail(char *why, size_t len, const char *what, int e)
{
	if (why && len)
		snprintf(why, len, "%s: %s", what, strerror(e));
	return -e;
}

static int probe(enum lp_probe_kind k, const char *tracefs, bool attach, char *why, size_t whylen);

int lp_probe_attach(enum lp_probe_kind k, const char *tracefs, char *why, size_t whylen)
{
	return probe(k, tracefs, true, why, whylen);
}

int lp_probe_load(enum lp_probe_kind k, const char *tracefs, char *why, size_t whylen)
{
	return probe(k, tracefs, false, why, whylen);
}

static int probe(enum lp_probe_kind k, const char *tracefs, bool attach, char *why, size_t whylen)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, lo);
	enum bpf_prog_type type;
	int e, pfd = -1, afd = -1;
	if (why && whylen)
		why[0] = 0;

	switch (k) {
	case LP_PROBE_TP_BTF: {
		int id = vmlinux_btf_id("btf_trace_sched_process_exec", BTF_KIND_TYPEDEF);
		if (id < 0)
			return fail(why, whylen, "no BTF for sched_process_exec", -id);
		type = BPF_PROG_TYPE_TRACING;
		lo.expected_attach_type = BPF_TRACE_RAW_TP;
		lo.attach_btf_id = (uint32_t)id;
		break;
	}
	case LP_PROBE_FENTRY: {
		int id = vmlinux_btf_id("vfs_read", BTF_KIND_FUNC);
		if (id < 0)
			return fail(why, whylen, "no BTF for vfs_read", -id);
		type = BPF_PROG_TYPE_TRACING;
		lo.expected_attach_type = BPF_TRACE_FENTRY;
		lo.attach_btf_id = (uint32_t)id;
		break;
	}
	case LP_PROBE_RAW_TP:
		type = BPF_PROG_TYPE_RAW_TRACEPOINT;
		break;
	case LP_PROBE_TP:
		if (!tracefs)
			return fail(why, whylen, "no tracefs", ENOENT);
		type = BPF_PROG_TYPE_TRACEPOINT;
		break;
	case LP_PROBE_KPROBE:
		type = BPF_PROG_TYPE_KPROBE;
		lo.kern_version = lp_probe_kernel_version(NULL, 0);
		break;
	default:
		return fail(why, whylen, "unknown kind", EINVAL);
	}

	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	pfd = bpf_prog_load(type, "lp_probe", "GPL", insns, sizeof(insns) / sizeof(insns[0]), &lo);
	e = errno;
	libbpf_set_print(old);
	if (pfd < 0)
		return fail(why, whylen, "load", e);
	if (!attach) {
		close(pfd);
		return 0;
	}

	switch (k) {
	case LP_PROBE_TP_BTF:
	case LP_PROBE_FENTRY:
		afd = bpf_raw_tracepoint_open(NULL, pfd);
		e = errno;
		break;
	case LP_PROBE_RAW_TP:
		afd = bpf_raw_tracepoint_open("sched_process_exec", pfd);
		e = errno;
		break;
	case LP_PROBE_TP: {
		int id = tracepoint_id(tracefs, "sched", "sched_process_exec");
		if (id < 0) {
			close(pfd);
			return fail(why, whylen, "tracepoint id", -id);
		}
		struct perf_event_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.type = PERF_TYPE_TRACEPOINT;
		attr.size = sizeof(attr);
		attr.config = (uint64_t)id;
		attr.sample_period = 1;
		attr.wakeup_events = 1;
		afd = perf_event_open(&attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		e = errno;
		if (afd >= 0 && ioctl(afd, PERF_EVENT_IOC_SET_BPF, pfd) != 0) {
			e = errno;
			close(afd);
			afd = -1;
		}
		break;
	}
	case LP_PROBE_KPROBE: {
		FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "re");
		int pmu = -1;
		if (f) {
			if (fscanf(f, "%d", &pmu) != 1)
				pmu = -1;
			fclose(f);
		}
		if (pmu < 0) {
			close(pfd);
			return fail(why, whylen, "no kprobe PMU", ENOENT);
		}
		struct perf_event_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.type = (uint32_t)pmu;
		attr.size = sizeof(attr);
		attr.config1 = (uint64_t)(uintptr_t)"vfs_read";
		attr.sample_period = 1;
		attr.wakeup_events = 1;
		afd = perf_event_open(&attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		e = errno;
		if (afd >= 0 && ioctl(afd, PERF_EVENT_IOC_SET_BPF, pfd) != 0) {
			e = errno;
			close(afd);
			afd = -1;
		}
		break;
	}
	default:
		break;
	}
	close(pfd);
	if (afd < 0)
		return fail(why, whylen, "attach", e);
	close(afd);
	return 0;
}

int lp_probe_raw_syscalls(char *why, size_t whylen)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	if (why && whylen)
		why[0] = 0;
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	int pfd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "lp_probe_sys", "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), NULL);
	int e = errno;
	libbpf_set_print(old);
	if (pfd < 0)
		return fail(why, whylen, "load", e);
	static const char *const tps[] = { "sys_enter", "sys_exit" };
	int r = 0;
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]) && !r; i++) {
		int afd = bpf_raw_tracepoint_open(tps[i], pfd);
		if (afd < 0) {
			char what[48];
			snprintf(what, sizeof(what), "attach to %s", tps[i]);
			r = fail(why, whylen, what, errno);
		} else {
			close(afd);
		}
	}
	close(pfd);
	return r;
}

/* Undo a mount lp_tracefs() made, so that a host we found without tracefs
 * is left without it. MNT_DETACH: attached tracepoints do not pin the
 * mount, but a concurrent reader might, and it must not make us fail. */
void lp_tracefs_release(const char *dir, bool mounted_now)
{
	if (dir && mounted_now)
		(void)umount2(dir, MNT_DETACH);
}
