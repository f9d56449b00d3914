/* SPDX-License-Identifier: MIT */
/*
 * Guest kernels under qemu (see guest.h): booting one, the handshake with its
 * agent, one request per case, and the `bpfdiff guest` command.
 *
 * The channel is a virtio-serial port: qemu listens on a unix socket
 * (chardev server) and the agent reads /dev/vportNpM. Measured on this
 * machine: a round trip of 0.2-0.5 ms and 1,000 bytes in under 0.5 ms, where
 * the serial console costs ~33 us per byte (a 1,000-insn case would take
 * 0.3 s). Kernel messages still go to the serial console, kept in
 * console.log: a panic's last words become the crash message.
 *
 * qemu runs with -no-reboot and the guest with panic=-1 oops=panic, so a
 * kernel that oopses (a JIT that emits bad code, say) exits qemu: the case
 * gets `crash`. One that stops answering gets `timeout` after
 * BPFDIFF_GUEST_TIMEOUT seconds (default 60) and is killed. Either way the
 * next case boots a fresh, private guest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "guest.h"
#include "../guest/proto.h"

#define BOOT_TIMEOUT_S 120.0   /* TCG on a loaded 2-core machine: boots take 3-10 s */
#define ATTACH_TIMEOUT_S 3.0   /* a started guest answers at once, unless another bpfdiff holds it */

static const char *const args_arm64[] = { "-M", "virt", "-cpu", "max,pauth-impdef=on", NULL };
static const char *const args_s390x[] = { "-M", "s390-ccw-virtio", NULL };
static const char *const args_ppc64le[] = { "-M", "pseries,x-vof=on", NULL };
static const char *const args_x86_64[] = { "-cpu", "max", NULL };

/* qemu flags measured on this machine: plain `-cpu max` on arm64 is 3-5x
 * slower (pointer-auth emulation); ppc64's SLOF firmware takes 9 s where
 * x-vof takes none; the sclp console needs OPOST (the kernel keeps it). */
const struct guest_arch guest_arches[] = {
	{ "arm64", "aarch64", "qemu-system-aarch64", args_arm64, "ttyAMA0", "virtio-serial-pci", false },
	{ "s390x", "s390x", "qemu-system-s390x", args_s390x, "ttysclp0", "virtio-serial-ccw", true },
	{ "ppc64le", "ppc64le", "qemu-system-ppc64", args_ppc64le, "hvc0", "virtio-serial-pci", false },
	{ "x86_64", "x86_64", "qemu-system-x86_64", args_x86_64, "ttyS0", "virtio-serial-pci", false },
};
const int guest_narches = sizeof(guest_arches) / sizeof(guest_arches[0]);

const struct guest_arch *guest_arch_find(const char *name)
{
	for (int i = 0; i < guest_narches; i++)
		if (!strcmp(name, guest_arches[i].name))
			return &guest_arches[i];
	return NULL;
}

struct guest {
	const struct guest_arch *arch;
	int refs;
	struct guest *next;
	char dir[256];            /* socket, console.log (private: a temp dir) */
	bool shared, ours;        /* attached to a started guest / we launched qemu */
	pid_t pid;
	int fd;
	struct gp_in in;
	struct gp_buf out;
	uint32_t nonce;
	struct guest_info info;
	bool dead;                /* restart before the next case */
};

static struct guest *guests; /* this process's, one per arch */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double timeout_s(void)
{
	const char *t = getenv("BPFDIFF_GUEST_TIMEOUT");
	double v = t ? atof(t) : 0;
	return v > 0 ? v : 60.0;
}

const char *guest_images_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("BPFDIFF_GUEST_DIR");
	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(dir, sizeof(dir), "build/guest");
		return dir;
	}
	exe[n] = 0;
	char *d = dirname(exe); /* .../build, or .../build/san for the sanitizer build */
	for (int up = 0; up < 2; up++) {
		for (int i = 0; i < guest_narches; i++) {
			char p[PATH_MAX + 64];
			snprintf(p, sizeof(p), "%s/guest/%s", d, guest_arches[i].name);
			if (!access(p, F_OK)) {
				snprintf(dir, sizeof(dir), "%s/guest", d);
				return dir;
			}
		}
		d = dirname(d);
	}
	snprintf(dir, sizeof(dir), "%s/guest", dirname(exe));
	return dir;
}

static int read_small(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(out, (int)outlen, f))
		out[0] = 0;
	fclose(f);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

int guest_prepared(const struct guest_arch *a, char *why, size_t whylen)
{
	char p[PATH_MAX + 64];
	const char *files[] = { "kernel", "initramfs.cpio.gz", "release" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s/%s", guest_images_dir(), a->name, files[i]);
		if (access(p, R_OK)) {
			snprintf(why, whylen, "guest %s is not prepared (no %s): run `make guests` or `bpfdiff guest fetch %s`",
				 a->name, p, a->name);
			return 0;
		}
	}
	return 1;
}

int guest_has_jit(const struct guest_arch *a)
{
	char p[PATH_MAX + 64], v[16];
	snprintf(p, sizeof(p), "%s/%s/jit", guest_images_dir(), a->name);
	if (read_small(p, v, sizeof(v)))
		return -1;
	return !strcmp(v, "y");
}

static const char *runtime_dir(void)
{
	static char dir[200];
	if (dir[0])
		return dir;
	const char *env = getenv("BPFDIFF_RUNTIME_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		snprintf(dir, sizeof(dir), "%s", env);
	else if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%s/bpfdiff", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/bpfdiff-%u", (unsigned)getuid());
	return dir;
}

static void shared_dir(const struct guest_arch *a, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", runtime_dir(), a->name);
}

static bool kvm_usable(const struct guest_arch *a)
{
	struct utsname u;
	return !uname(&u) && !strcmp(u.machine, a->machine) && !access("/dev/kvm", R_OK | W_OK);
}

/* Start qemu. daemon: detached, for `bpfdiff guest start`; else a child
 * that dies with us. */
static int launch(const struct guest_arch *a, const char *dir, bool daemon, pid_t *pid, char *why, size_t whylen)
{
	char kernel[PATH_MAX + 64], initrd[PATH_MAX + 64], append[256], serial[300], chardev[400], port[64],
		vs[64], pidfile[300], log[300];
	const char *img = guest_images_dir();
	snprintf(kernel, sizeof(kernel), "%s/%s/kernel", img, a->name);
	snprintf(initrd, sizeof(initrd), "%s/%s/initramfs.cpio.gz", img, a->name);
	snprintf(append, sizeof(append), "console=%s panic=-1 oops=panic quiet", a->console);
	snprintf(serial, sizeof(serial), "file:%s/console.log", dir);
	snprintf(chardev, sizeof(chardev), "socket,id=bd,path=%s/sock,server=on,wait=off", dir);
	snprintf(vs, sizeof(vs), "%s,id=vs", a->vserial);
	snprintf(port, sizeof(port), "virtserialport,bus=vs.0,chardev=bd,name=bpfdiff");
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", dir);
	snprintf(log, sizeof(log), "%s/qemu.log", dir);

	const char *argv[64];
	int n = 0;
	argv[n++] = a->qemu;
	if (kvm_usable(a)) {
		argv[n++] = "-accel";
		argv[n++] = "kvm";
	}
	for (const char *const *p = a->args; *p; p++)
		argv[n++] = *p;
	const char *rest[] = { "-m", "256", "-smp", "1", "-display", "none", "-monitor", "none", "-no-reboot",
			       "-net", "none", "-kernel", kernel, "-initrd", initrd, "-append", append, "-serial",
			       serial, "-device", vs, "-chardev", chardev, "-device", port, "-pidfile", pidfile, NULL };
	for (const char *const *p = rest; *p; p++)
		argv[n++] = *p;
	argv[n] = NULL;

	unlink(pidfile);
	char sock[300];
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	unlink(sock);
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid_t p = fork();
	if (p < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (p == 0) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (daemon) {
			setsid();
			if (fork() > 0)
				_exit(0); /* the grandchild is reparented: it outlives us */
		} else {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		}
		execvp(argv[0], (char *const *)argv);
		int e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(errpipe[1]);
	int e = 0;
	ssize_t r = read(errpipe[0], &e, sizeof(e));
	close(errpipe[0]);
	if (daemon)
		waitpid(p, NULL, 0);
	if (r == (ssize_t)sizeof(e)) {
		if (!daemon)
			waitpid(p, NULL, 0);
		snprintf(why, whylen, "%s: %s (run `bpfdiff guest fetch %s`)", a->qemu, strerror(e), a->name);
		return -ENOENT;
	}
	*pid = daemon ? 0 : p;
	return 0;
}

static bool alive(struct guest *g)
{
	if (g->pid <= 0)
		return true; /* not known: the socket tells */
	if (g->ours) {
		int st;
		if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
			g->pid = 0;
			return false;
		}
		return true;
	}
	return kill(g->pid, 0) == 0 || errno == EPERM;
}

static pid_t read_pidfile(const char *dir)
{
	char p[300], v[32];
	snprintf(p, sizeof(p), "%s/qemu.pid", dir);
	if (read_small(p, v, sizeof(v)))
		return 0;
	return (pid_t)atoi(v);
}

static int connect_sock(struct guest *g, double deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", g->dir);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		int e = errno;
		close(fd);
		if (now_s() > deadline || !alive(g))
			return -e;
		usleep(20000);
	}
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The next frame from the agent: 1, 0 on timeout, -EPIPE when the guest is gone. */
static int recv_frame(struct guest *g, double deadline, uint8_t *type, struct gp_reader *r)
{
	uint8_t buf[65536];
	for (;;) {
		int k = gp_in_next(&g->in, type, r);
		if (k)
			return k;
		double left = deadline - now_s();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR)
			return -errno;
		if (pr <= 0) {
			if (!alive(g))
				return -EPIPE;
			continue;
		}
		ssize_t n = recv(g->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		if (gp_in_push(&g->in, buf, (size_t)n) < 0)
			return -ENOMEM;
	}
}

/* HELLO until the agent answers with our nonce (it is not up until the
 * kernel has booted; requests sent earlier wait in the socket). */
static int handshake(struct guest *g, double deadline, char *why, size_t whylen)
{
	uint32_t first = ++g->nonce;
	gp_begin(&g->out, GP_HELLO);
	gp_u32(&g->out, g->nonce);
	gp_end(&g->out);
	int rc = send_all(g->fd, g->out.p, g->out.len);
	while (!rc) {
		uint8_t type;
		struct gp_reader r;
		uint32_t nonce;
		uint8_t ja, jit, ri;
		rc = recv_frame(g, deadline, &type, &r);
		if (rc == 0) {
			snprintf(why, whylen, "guest %s: no answer from the agent in time (console: %s/console.log)",
				 g->arch->name, g->dir);
			return -ETIMEDOUT;
		}
		if (rc < 0)
			break;
		rc = 0;
		if (type != GP_HELLO || !gp_get_u32(&r, &nonce) || nonce < first || nonce > g->nonce)
			continue; /* a late answer to an earlier client */
		struct guest_info *in = &g->info;
		if (!gp_get_u8(&r, &ja) || !gp_get_u8(&r, &jit) || !gp_get_u8(&r, &ri) ||
		    !gp_get_str(&r, in->release, sizeof(in->release)) ||
		    !gp_get_str(&r, in->machine, sizeof(in->machine)) ||
		    !gp_get_str(&r, in->detail, sizeof(in->detail))) {
			snprintf(why, whylen, "guest %s: malformed HELLO from the agent", g->arch->name);
			return -EPROTO;
		}
		in->jit_available = ja;
		in->jit = jit == 255 ? -1 : jit;
		in->reg_invariants = ri;
		return 0;
	}
	snprintf(why, whylen, "guest %s: the guest went away during the handshake (%s); console: %s/console.log",
		 g->arch->name, strerror(-rc), g->dir);
	return rc;
}

static void disconnect(struct guest *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	gp_in_reset(&g->in);
}

static void stop_qemu(struct guest *g)
{
	disconnect(g);
	if (g->pid > 0 && (g->ours || g->shared)) {
		kill(g->pid, SIGKILL);
		if (g->ours)
			waitpid(g->pid, NULL, 0);
	}
	g->pid = 0;
}

static void remove_private_dir(struct guest *g)
{
	if (g->shared || !g->dir[0])
		return;
	const char *files[] = { "sock", "console.log", "qemu.log", "qemu.pid" };
	char p[400];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", g->dir, files[i]);
		unlink(p);
	}
	rmdir(g->dir);
	g->dir[0] = 0;
}

/* Attach to a started guest: 0, or -errno when there is none or it is busy. */
static int attach(struct guest *g)
{
	char why[256];
	shared_dir(g->arch, g->dir, sizeof(g->dir));
	g->pid = read_pidfile(g->dir);
	if (g->pid <= 0 || (kill(g->pid, 0) && errno != EPERM))
		return -ENOENT;
	g->shared = true;
	g->ours = false;
	int fd = connect_sock(g, now_s());
	if (fd < 0)
		return fd;
	g->fd = fd;
	if (handshake(g, now_s() + ATTACH_TIMEOUT_S, why, sizeof(why)) < 0) {
		disconnect(g);
		return -EBUSY;
	}
	return 0;
}

static int boot(struct guest *g, bool daemon, char *why, size_t whylen)
{
	double t0 = now_s();
	if (daemon) {
		shared_dir(g->arch, g->dir, sizeof(g->dir));
		char parent[256];
		snprintf(parent, sizeof(parent), "%s", runtime_dir());
		mkdir(parent, 0700);
		mkdir(g->dir, 0700);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(g->dir, sizeof(g->dir), "%s/bpfdiff-guest-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
			 g->arch->name);
		if (!mkdtemp(g->dir)) {
			snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
			return -errno;
		}
	}
	if (strlen(g->dir) + sizeof("/sock") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(why, whylen, "guest %s: %s is too long for a unix socket path; set %s to a shorter dir",
			 g->arch->name, g->dir, daemon ? "BPFDIFF_RUNTIME_DIR" : "TMPDIR");
		if (!daemon)
			rmdir(g->dir);
		g->dir[0] = 0;
		return -ENAMETOOLONG;
	}
	g->shared = daemon;
	g->ours = !daemon;
	int rc = launch(g->arch, g->dir, daemon, &g->pid, why, whylen);
	if (rc < 0)
		return rc;
	if (daemon) { /* qemu writes its pidfile once it runs */
		for (int i = 0; i < 500 && (g->pid = read_pidfile(g->dir)) <= 0; i++)
			usleep(10000);
	}
	double deadline = t0 + BOOT_TIMEOUT_S;
	int fd = connect_sock(g, deadline);
	if (fd < 0) {
		snprintf(why, whylen, "guest %s: qemu did not come up (%s); see %s/qemu.log", g->arch->name,
			 strerror(-fd), g->dir);
		stop_qemu(g);
		return fd;
	}
	g->fd = fd;
	rc = handshake(g, deadline, why, whylen);
	if (rc < 0) {
		stop_qemu(g);
		return rc;
	}
	g->info.boot_s = now_s() - t0;
	return 0;
}

int guest_get(const struct guest_arch *a, struct guest **out, char *why, size_t whylen)
{
	for (struct guest *g = guests; g; g = g->next)
		if (g->arch == a) {
			g->refs++;
			*out = g;
			return 0;
		}
	if (!guest_prepared(a, why, whylen))
		return -ENOMEDIUM;
	struct guest *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->arch = a;
	g->fd = -1;
	int rc = attach(g);
	if (rc < 0) {
		memset(g->dir, 0, sizeof(g->dir));
		rc = boot(g, false, why, whylen);
	}
	if (rc < 0) {
		remove_private_dir(g);
		gp_in_free(&g->in);
		gp_free(&g->out);
		free(g);
		return rc;
	}
	g->refs = 1;
	g->next = guests;
	guests = g;
	*out = g;
	return 0;
}

void guest_put(struct guest *g)
{
	if (!g || --g->refs > 0)
		return;
	for (struct guest **p = &guests; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	if (g->shared)
		disconnect(g); /* it runs on for the next command */
	else
		stop_qemu(g);
	remove_private_dir(g);
	gp_in_free(&g->in);
	gp_free(&g->out);
	free(g);
}

void guest_get_info(struct guest *g, struct guest_info *out)
{
	*out = g->info;
	out->shared = g->shared;
	snprintf(out->dir, sizeof(out->dir), "%s", g->dir);
}

/* The kernel's last words from console.log: the panic line, else the last line. */
static void console_tail(struct guest *g, char *out, size_t outlen)
{
	char p[300], buf[4096];
	snprintf(p, sizeof(p), "%s/console.log", g->dir);
	out[0] = 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, start);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	const char *keys[] = { "Kernel panic", "Internal error", "Unable to handle", "BUG:", "Oops", NULL };
	for (int i = 0; keys[i]; i++) {
		char *k = strstr(buf, keys[i]);
		if (k) {
			snprintf(out, outlen, "%.*s", (int)strcspn(k, "\r\n"), k);
			return;
		}
	}
	char *e = buf + n;
	while (e > buf && (e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	char *s = e;
	while (s > buf && s[-1] != '\n')
		s--;
	snprintf(out, outlen, "%s", s);
}

static int restart(struct guest *g, char *why, size_t whylen)
{
	stop_qemu(g);
	remove_private_dir(g);
	g->shared = false;
	g->info.restarts++;
	memset(g->dir, 0, sizeof(g->dir));
	int rc = boot(g, false, why, whylen);
	g->dead = rc < 0;
	return rc;
}

int guest_run(struct guest *g, bool jit, const struct bd_case *c, struct bd_result *res)
{
	char why[512];
	if (g->dead && restart(g, why, sizeof(why)) < 0) {
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "restarting the guest: %s", why);
		return 0;
	}
	if ((uint64_t)c->ninsns * 8 + c->mem_len + 64 > GP_MAX_PAYLOAD) {
		res->status = BD_UNSUPPORTED;
		snprintf(res->message, sizeof(res->message), "case too large for the guest channel (%zu insns, %zu bytes)",
			 c->ninsns, c->mem_len);
		return 0;
	}
	gp_begin(&g->out, GP_RUN);
	gp_u8(&g->out, jit);
	gp_u32(&g->out, (uint32_t)c->ninsns);
	gp_u32(&g->out, (uint32_t)c->mem_len);
	for (size_t i = 0; i < c->ninsns; i++)
		gp_insn(&g->out, &c->insns[i]);
	gp_bytes(&g->out, c->mem, c->mem_len);
	if (!gp_end(&g->out))
		return -ENOMEM;
	g->info.cases++;
	double t0 = now_s();
	int rc = send_all(g->fd, g->out.p, g->out.len);
	uint8_t type = 0;
	struct gp_reader r;
	if (!rc)
		rc = recv_frame(g, t0 + timeout_s(), &type, &r);
	else
		rc = -EPIPE;
	if (rc <= 0) {
		char last[256];
		if (rc == 0) {
			res->status = BD_TIMEOUT;
			snprintf(res->message, sizeof(res->message), "guest %s gave no answer in %.0f s; restarted",
				 g->arch->name, timeout_s());
			stop_qemu(g);
			console_tail(g, last, sizeof(last));
		} else {
			/* Let a dying qemu finish writing the console first. */
			for (int i = 0; i < 50 && alive(g); i++)
				usleep(10000);
			console_tail(g, last, sizeof(last));
			res->status = BD_CRASH;
			snprintf(res->message, sizeof(res->message), "guest %s died: %s", g->arch->name,
				 last[0] ? last : "qemu exited");
			stop_qemu(g);
		}
		g->dead = true;
		return 0;
	}
	if (type == GP_ERROR) {
		char msg[480];
		if (!gp_get_str(&r, msg, sizeof(msg)))
			snprintf(msg, sizeof(msg), "(malformed)");
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "guest agent: %s", msg);
		return 0;
	}
	uint8_t st, ran_jit;
	uint64_t r0, dur;
	uint32_t mlen;
	const uint8_t *mem = NULL;
	if (type != GP_RESULT || !gp_get_u8(&r, &st) || !gp_get_u64(&r, &r0) || !gp_get_u64(&r, &dur) ||
	    !gp_get_u8(&r, &ran_jit) || !gp_get_u32(&r, &mlen) || (mlen && !gp_get_bytes(&r, &mem, mlen)) ||
	    !gp_get_str(&r, res->message, sizeof(res->message)) ||
	    !gp_get_str(&r, res->warning, sizeof(res->warning))) {
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "guest %s: malformed answer (type 0x%02x)", g->arch->name,
			 type);
		g->dead = true; /* out of step: start over */
		return 0;
	}
	g->info.jit = ran_jit;
	if (ran_jit != jit) {
		res->status = BD_ERROR;
		snprintf(res->message, sizeof(res->message), "guest ran with bpf_jit_enable=%u, asked for %u", ran_jit,
			 jit);
		return 0;
	}
	static const enum bd_status map[] = { BD_OK, BD_REJECTED, BD_UNSUPPORTED, BD_ERROR };
	res->status = st < 4 ? map[st] : BD_ERROR;
	res->r0 = res->status == BD_OK ? r0 : 0;
	res->duration_ns = dur;
	if (res->status == BD_OK && c->mem_len) {
		if (mlen != c->mem_len || !(res->mem = malloc(mlen))) {
			res->status = BD_ERROR;
			snprintf(res->message, sizeof(res->message), "guest returned %u bytes of memory for %zu", mlen,
				 c->mem_len);
			return 0;
		}
		memcpy(res->mem, mem, mlen);
		res->mem_len = mlen;
	}
	return 0;
}

/* --- bpfdiff guest ------------------------------------------------------- */

#ifndef BPFDIFF_SRCDIR
#define BPFDIFF_SRCDIR "."
#endif

static const char *const guest_help =
	"usage: bpfdiff guest COMMAND [ARCH...]   (ARCH: arm64 s390x ppc64le x86_64, or all)\n"
	"\n"
	"  fetch ARCH...   prepare the kernel (Debian package, pinned in guest/kernels.conf),\n"
	"                  the agent and the initramfs; installs qemu and the cross compiler\n"
	"  start ARCH...   boot a guest that stays up between commands: run, replay, plugin,\n"
	"                  info and the fuzzers use it instead of booting their own\n"
	"  stop ARCH...    stop a started guest\n"
	"  status [ARCH...]  started guests, their kernel release and JIT state\n"
	"\n"
	"Prepared kernels: BPFDIFF_GUEST_DIR (default build/guest). Started guests:\n"
	"BPFDIFF_RUNTIME_DIR (default $XDG_RUNTIME_DIR/bpfdiff or /tmp/bpfdiff-UID).\n";

static int for_arches(int argc, char **argv, bool none_is_all, int (*fn)(const struct guest_arch *a))
{
	int worst = 0;
	if (argc == 0 && !none_is_all) {
		fputs(guest_help, stderr);
		return 2;
	}
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "all") && !guest_arch_find(argv[i])) {
			fprintf(stderr, "bpfdiff guest: unknown arch '%s' (arm64, s390x, ppc64le, x86_64, all)\n", argv[i]);
			return 2;
		}
	for (int k = 0; k < guest_narches; k++) {
		bool want = argc == 0;
		for (int i = 0; i < argc; i++)
			want |= !strcmp(argv[i], "all") || !strcmp(argv[i], guest_arches[k].name);
		if (want) {
			int rc = fn(&guest_arches[k]);
			if (rc > worst)
				worst = rc;
		}
	}
	return worst;
}

static int cmd_fetch(const struct guest_arch *a)
{
	char script[PATH_MAX];
	snprintf(script, sizeof(script), "%s/guest/prepare.sh", BPFDIFF_SRCDIR);
	pid_t p = fork();
	if (p < 0)
		return 1;
	if (p == 0) {
		execl("/bin/bash", "bash", script, a->name, guest_images_dir(), (char *)NULL);
		fprintf(stderr, "bpfdiff guest fetch: %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static void print_status(const struct guest_arch *a, struct guest *g)
{
	struct guest_info in;
	guest_get_info(g, &in);
	printf("%-8s running  pid %d  kernel %s (%s)  jit %s  %s\n", a->name, (int)g->pid, in.release, in.machine,
	       !in.jit_available ? "not in this kernel" : in.jit ? "on" : "off", in.dir);
}

static int cmd_start(const struct guest_arch *a)
{
	char why[512];
	struct guest g = { .arch = a, .fd = -1 };
	int rc = attach(&g);
	if (rc == 0 || rc == -EBUSY) {
		if (rc == 0)
			print_status(a, &g);
		else
			printf("%-8s already running (busy: another bpfdiff is attached)\n", a->name);
		disconnect(&g);
		gp_in_free(&g.in);
		gp_free(&g.out);
		return 0;
	}
	if (!guest_prepared(a, why, sizeof(why))) {
		fprintf(stderr, "bpfdiff guest start: %s\n", why);
		return 1;
	}
	memset(g.dir, 0, sizeof(g.dir));
	rc = boot(&g, true, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "bpfdiff guest start: %s\n", why);
		gp_in_free(&g.in);
		gp_free(&g.out);
		return 1;
	}
	print_status(a, &g);
	printf("%-8s booted to a ready agent in %.1f s\n", a->name, g.info.boot_s);
	disconnect(&g);
	gp_in_free(&g.in);
	gp_free(&g.out);
	return 0;
}

static int cmd_stop(const struct guest_arch *a)
{
	char dir[256], p[400];
	shared_dir(a, dir, sizeof(dir));
	pid_t pid = read_pidfile(dir);
	if (pid <= 0 || kill(pid, SIGTERM)) {
		printf("%-8s not running\n", a->name);
	} else {
		for (int i = 0; i < 200 && !kill(pid, 0); i++)
			usleep(10000);
		if (!kill(pid, 0))
			kill(pid, SIGKILL);
		printf("%-8s stopped\n", a->name);
	}
	const char *files[] = { "sock", "qemu.pid" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	return 0;
}

static int cmd_status(const struct guest_arch *a)
{
	struct guest g = { .arch = a, .fd = -1 };
	int rc = attach(&g);
	if (rc == 0)
		print_status(a, &g);
	else if (rc == -EBUSY)
		printf("%-8s running  pid %d  busy (another bpfdiff is attached)\n", a->name, (int)g.pid);
	else {
		char why[512];
		printf("%-8s stopped  %s\n", a->name, guest_prepared(a, why, sizeof(why)) ? "(prepared)" : "(not prepared)");
	}
	disconnect(&g);
	gp_in_free(&g.in);
	gp_free(&g.out);
	return 0;
}

void guest_list(FILE *out)
{
	for (int k = 0; k < guest_narches; k++) {
		const struct guest_arch *a = &guest_arches[k];
		char why[512], p[PATH_MAX + 64], release[80] = "";
		if (!guest_prepared(a, why, sizeof(why))) {
			fprintf(out, "guest:%-8s not prepared (make guests, or bpfdiff guest fetch %s)\n", a->name, a->name);
			continue;
		}
		snprintf(p, sizeof(p), "%s/%s/release", guest_images_dir(), a->name);
		read_small(p, release, sizeof(release));
		int jit = guest_has_jit(a);
		fprintf(out, "guest:%-8s kernel %s (%s), %s", a->name, release, a->machine,
			jit == 0 ? "no JIT in this kernel (guest:ARCH-interp only)" : "JIT and interpreter");
		struct guest g = { .arch = a, .fd = -1 };
		int rc = attach(&g);
		if (rc == 0)
			fprintf(out, "; started (pid %d), bpf_jit_enable=%d now\n", (int)g.pid, g.info.jit);
		else if (rc == -EBUSY)
			fprintf(out, "; started (pid %d), busy\n", (int)g.pid);
		else
			fprintf(out, "; not started (boots per process)\n");
		disconnect(&g);
		gp_in_free(&g.in);
		gp_free(&g.out);
	}
}

int bd_cmd_guest(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(guest_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "fetch"))
		return for_arches(argc - 2, argv + 2, false, cmd_fetch);
	if (!strcmp(cmd, "start"))
		return for_arches(argc - 2, argv + 2, false, cmd_start);
	if (!strcmp(cmd, "stop"))
		return for_arches(argc - 2, argv + 2, false, cmd_stop);
	if (!strcmp(cmd, "status"))
		return for_arches(argc - 2, argv + 2, true, cmd_status);
	fprintf(stderr, "bpfdiff guest: unknown command '%s'\n%s", cmd, guest_help);
	return 2;
}
