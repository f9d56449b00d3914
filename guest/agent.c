/* SPDX-License-Identifier: MIT */
/*
 * The agent: /init of a guest kernel's initramfs. It mounts what it needs,
 * loads the virtio-serial modules of this kernel build (listed in
 * /modules/order), opens the port named "bpfdiff" and serves requests
 * (guest/proto.h) until the kernel stops: each RUN is one case, run exactly
 * as the host's kernel backend runs it (harness/kexec.c, the same file), with
 * bpf_jit_enable set to what the request asks (the "-interp" backends ask
 * for 0: the kernel's own interpreter).
 *
 * Static, no libbpf, cross-compiled with Debian's gcc-<triplet>. Its
 * diagnostics go to the console, which the host keeps in a log file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include "harness/kexec.h"
#include "proto.h"

#define PORT_NAME "bpfdiff"
#define JIT_SYSCTL "/proc/sys/net/core/bpf_jit_enable"

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bpfdiff-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void halt(void)
{
	sync();
	reboot(RB_POWER_OFF); /* panic=-1 and -no-reboot: qemu exits either way */
	for (;;)
		pause();
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void load_modules(void)
{
	FILE *f = fopen("/modules/order", "r");
	char name[256], path[300];
	if (!f)
		return;
	while (fscanf(f, "%255s", name) == 1) {
		snprintf(path, sizeof(path), "/modules/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
			if (errno != EEXIST)
				say("%s: %s", path, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/* /sys/class/virtio-ports/vportNpM/name == PORT_NAME -> /dev/vportNpM (no udev here). */
static int open_port(void)
{
	for (int tries = 0; tries < 500; tries++) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[300], name[64] = "";
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			if (!fgets(name, sizeof(name), f))
				name[0] = 0;
			fclose(f);
			name[strcspn(name, "\n")] = 0;
			if (strcmp(name, PORT_NAME))
				continue;
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			int fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				closedir(d);
				return fd;
			}
		}
		if (d)
			closedir(d);
		sleep_ms(10);
	}
	return -1;
}

static int jit_available(void)
{
	return access(JIT_SYSCTL, W_OK) == 0;
}

static int jit_read(void)
{
	char c = 0;
	int fd = open(JIT_SYSCTL, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = (int)read(fd, &c, 1);
	close(fd);
	return n == 1 ? c != '0' : -1;
}

static int jit_write(int on)
{
	int fd = open(JIT_SYSCTL, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write(fd, on ? "1" : "0", 1) == 1 ? 0 : -errno;
	close(fd);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A kernel WARNING or BUG logged while the case ran (the agent is the only process). */
static void kmsg_warning(int kfd, char *out, size_t outlen)
{
	char rec[1024];
	if (kfd < 0)
		return;
	for (int i = 0; i < 1024; i++) {
		ssize_t n = read(kfd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		const char *text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		if (!out[0] && (strstr(text, "verifier bug") || !strncmp(text, "WARNING:", 8) ||
				!strncmp(text, "BUG:", 4) || strstr(text, "kernel BUG")))
			snprintf(out, outlen, "%.*s", (int)strcspn(text, "\n"), text);
	}
}

struct agent {
	int port, kmsg;
	struct kexec k;
	int jit_avail, jit;
	struct ebpf_insn *insns;
	size_t insn_cap;
	uint8_t *mem_out;
	size_t mem_cap;
	struct gp_buf out;
};

static int reply_error(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reply_error(struct agent *a, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gp_begin(&a->out, GP_ERROR);
	gp_str(&a->out, msg);
	return gp_end(&a->out) ? write_all(a->port, a->out.p, a->out.len) : -1;
}

static int serve_hello(struct agent *a, struct gp_reader *r)
{
	uint32_t nonce;
	struct utsname u;
	char detail[128];
	if (!gp_get_u32(r, &nonce))
		return reply_error(a, "HELLO: short payload");
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	snprintf(detail, sizeof(detail), "agent pid %d, program type xdp, BPF_PROG_TEST_RUN", (int)getpid());
	gp_begin(&a->out, GP_HELLO);
	gp_u32(&a->out, nonce);
	gp_u8(&a->out, (uint8_t)a->jit_avail);
	gp_u8(&a->out, (uint8_t)(a->jit < 0 ? 255 : a->jit));
	gp_u8(&a->out, a->k.reg_invariants);
	gp_str(&a->out, u.release);
	gp_str(&a->out, u.machine);
	gp_str(&a->out, detail);
	return gp_end(&a->out) ? write_all(a->port, a->out.p, a->out.len) : -1;
}

static int serve_run(struct agent *a, struct gp_reader *r)
{
	uint8_t want_jit;
	uint32_t n, mem_len;
	const uint8_t *mem;
	struct kexec_result res;

	if (!gp_get_u8(r, &want_jit) || !gp_get_u32(r, &n) || !gp_get_u32(r, &mem_len) ||
	    r->len - r->pos != (size_t)n * 8 + mem_len)
		return reply_error(a, "RUN: malformed payload");
	if (n > a->insn_cap) {
		struct ebpf_insn *p = realloc(a->insns, n * sizeof(*p));
		if (!p)
			return reply_error(a, "RUN: no memory for %u insns", n);
		a->insns = p;
		a->insn_cap = n;
	}
	for (uint32_t i = 0; i < n; i++)
		gp_get_insn(r, &a->insns[i]);
	gp_get_bytes(r, &mem, mem_len);
	if (mem_len > a->mem_cap) {
		uint8_t *p = realloc(a->mem_out, mem_len);
		if (!p)
			return reply_error(a, "RUN: no memory for %u bytes", mem_len);
		a->mem_out = p;
		a->mem_cap = mem_len;
	}
	if (want_jit != a->jit && a->jit_avail) {
		int rc = jit_write(want_jit);
		a->jit = jit_read();
		if (rc < 0 || a->jit != want_jit)
			return reply_error(a, "bpf_jit_enable=%u: %s", want_jit, rc < 0 ? strerror(-rc) : "not taken");
	} else if (want_jit && !a->jit_avail) {
		return reply_error(a, "no JIT in this kernel");
	}
	int rc = kexec_run(&a->k, a->insns, n, mem, mem_len, a->mem_out, &res);
	kmsg_warning(a->kmsg, res.warning, sizeof(res.warning));
	if (rc < 0)
		return reply_error(a, "kexec_run: %s", strerror(-rc));
	gp_begin(&a->out, GP_RESULT);
	gp_u8(&a->out, (uint8_t)res.status);
	gp_u64(&a->out, res.r0);
	gp_u64(&a->out, res.duration_ns);
	gp_u8(&a->out, (uint8_t)(a->jit < 0 ? 0 : a->jit));
	if (res.status == KEXEC_OK) {
		gp_u32(&a->out, mem_len);
		gp_bytes(&a->out, a->mem_out, mem_len);
	} else {
		gp_u32(&a->out, 0);
	}
	gp_str(&a->out, res.message);
	gp_str(&a->out, res.warning);
	return gp_end(&a->out) ? write_all(a->port, a->out.p, a->out.len) : -1;
}

static void serve(struct agent *a)
{
	struct gp_in in = { 0 };
	static uint8_t buf[65536];
	long idle_ms = 1;
	for (;;) {
		ssize_t n = read(a->port, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* No host connected (virtio-serial reads 0, and poll() says
			 * POLLHUP at once): whatever was half-received belongs to a
			 * client that is gone. Back off to 200 ms: an idle guest under
			 * TCG polling every 5 ms costs the host 16 % of a core. */
			gp_in_reset(&in);
			sleep_ms(idle_ms);
			idle_ms = idle_ms < 200 ? idle_ms * 2 : 200;
			continue;
		}
		idle_ms = 1;
		if (gp_in_push(&in, buf, (size_t)n) < 0) {
			gp_in_reset(&in);
			reply_error(a, "request too large for the agent's memory");
			continue;
		}
		uint8_t type;
		struct gp_reader r;
		while (gp_in_next(&in, &type, &r) == 1) {
			int rc = type == GP_HELLO ? serve_hello(a, &r)
			       : type == GP_RUN	  ? serve_run(a, &r)
						  : reply_error(a, "unknown request type 0x%02x", type);
			if (rc < 0)
				say("reply lost: %s", strerror(errno));
		}
	}
}

int main(void)
{
	static struct agent a;
	char why[256] = "";

	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	int con = open("/dev/console", O_RDWR | O_CLOEXEC);
	if (con >= 0) {
		dup2(con, 1);
		dup2(con, 2);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	load_modules();
	a.jit_avail = jit_available();
	a.jit = jit_read();
	if (kexec_open(&a.k, BPF_PROG_TYPE_XDP, why, sizeof(why)) < 0) {
		say("kexec_open: %s", why);
		halt();
	}
	a.kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (a.kmsg >= 0)
		lseek(a.kmsg, 0, SEEK_END);
	a.port = open_port();
	if (a.port < 0) {
		say("no virtio-serial port named '%s' (modules: /modules/order)", PORT_NAME);
		halt();
	}
	say("ready (jit %s)", a.jit_avail ? (a.jit ? "on" : "off") : "not in this kernel");
	serve(&a);
	return 0;
}
