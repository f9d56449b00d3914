/* SPDX-License-Identifier: MIT */
/*
 * The plugin backend: any external VM that speaks the bpf_conformance plugin
 * contract (ubpf's ubpf_plugin, rbpf's rbpf_plugin, bpf2c_plugin, Prevail's
 * conformance check, `bpfdiff plugin` itself) as one more bpfdiff backend.
 * `--backend plugin:PATH`: PATH is an executable file, run directly (no shell,
 * no $PATH search, no arguments in it: use a wrapper script for those, or
 * BPFDIFF_PLUGIN_OPTIONS).
 *
 * Per case, exactly as bpf_conformance's runner does it:
 *   argv   PATH [MEMORY_HEX] [OPTIONS...]   memory only when the case has some;
 *                                          OPTIONS = $BPFDIFF_PLUGIN_OPTIONS split on spaces
 *   stdin  the instructions as hex bytes separated by spaces, and a newline
 *   stdout R0 in hex (optional 0x); anything else is an error
 * What comes back:
 *   exit 0               ok with that R0
 *   exit != 0            the runner's message (stdout, or stderr when stdout
 *                        is empty), which a case's `-- error` is matched
 *                        against; the status is read from it (classify_failure):
 *                        fault, or rejected for a plugin declared `+verifier`
 *   killed by a signal   crash, with the signal: a finding
 *   $BPFDIFF_PLUGIN_TIMEOUT seconds (default 10) of wall time
 *                        timeout, with the plugin's process group killed
 *
 * The contract gives no memory back: res->mem stays NULL, and the diff skips
 * memory for this backend. The run options (addresses, stack fill, budget)
 * cannot be passed either and are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "escape.h"
#include "backend.h"

#define PLUGIN_OUT_MAX 65536            /* bytes of stdout / stderr kept */
#define PLUGIN_MAX_OPTIONS 32
#define PLUGIN_ARG_MAX (128 * 1024 - 1) /* Linux MAX_ARG_STRLEN, with the NUL */

struct bd_backend {
	char *path;
	char *options;                        /* storage for opt[] */
	char *opt[PLUGIN_MAX_OPTIONS];
	int nopt;
	unsigned timeout_ms;
	bool verbose;
	bool verifier;                        /* `plugin+verifier:PATH`: exit != 0 is a refusal */
	char platform[32];                    /* `+platform=NAME`, or "" */
};

static int plugin_open(struct bd_backend **out, const struct bd_backend_config *cfg, char *why,
		       size_t whylen)
{
	const char *path = cfg->arg;
	struct stat st;

	if (!path || !*path) {
		snprintf(why, whylen, "no plugin path: use --backend plugin:PATH");
		return -EINVAL;
	}
	if (stat(path, &st) < 0) {
		int e = errno;
		snprintf(why, whylen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		return -EACCES;
	}
	if (access(path, X_OK) < 0) {
		int e = errno;
		snprintf(why, whylen, "%s: not executable (%s)", path, strerror(e));
		return -e;
	}

	struct bd_backend *b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	b->verbose = cfg->verbose;
	b->verifier = cfg->verifier;
	snprintf(b->platform, sizeof(b->platform), "%s", cfg->platform ? cfg->platform : "");
	b->timeout_ms = 10000;
	const char *t = getenv("BPFDIFF_PLUGIN_TIMEOUT");
	if (t && *t) {
		char *end;
		double sec = strtod(t, &end);
		if (*end || !(sec > 0) || sec > 86400) {
			snprintf(why, whylen, "BPFDIFF_PLUGIN_TIMEOUT='%s': want seconds in (0, 86400]", t);
			free(b->path);
			free(b);
			return -EINVAL;
		}
		b->timeout_ms = (unsigned)(sec * 1000 + 0.5);
		if (!b->timeout_ms)
			b->timeout_ms = 1;
	}
	const char *opts = getenv("BPFDIFF_PLUGIN_OPTIONS");
	if (opts && *opts) {
		if (!(b->options = strdup(opts))) {
			free(b->path);
			free(b);
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		char *save = NULL;
		for (char *w = strtok_r(b->options, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (b->nopt == PLUGIN_MAX_OPTIONS) {
				snprintf(why, whylen, "BPFDIFF_PLUGIN_OPTIONS: more than %d options",
					 PLUGIN_MAX_OPTIONS);
				free(b->options);
				free(b->path);
				free(b);
				return -E2BIG;
			}
			b->opt[b->nopt++] = w;
		}
	}
	*out = b;
	return 0;
}

static void plugin_close(struct bd_backend *b)
{
	if (!b)
		return;
	free(b->options);
	free(b->path);
	free(b);
}

static void plugin_info(struct bd_backend *b, FILE *out)
{
	fprintf(out, "external VM %s (bpf_conformance plugin contract), %s, helper platform %s, timeout %u ms",
		b->path, b->verifier ? "declared with a verifier" : "no verifier declared",
		b->platform[0] ? b->platform : "not declared", b->timeout_ms);
	for (int i = 0; i < b->nopt; i++)
		fprintf(out, "%s%s", i ? " " : ", options: ", b->opt[i]);
	fputc('\n', out);
}

/* "aa bb cc\n" (newline only when nl); NULL on ENOMEM. */
static char *hex_encode(const uint8_t *p, size_t n, bool nl, size_t *len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(n * 3 + 2), *q = s;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*q++ = ' ';
		*q++ = digits[p[i] >> 4];
		*q++ = digits[p[i] & 15];
	}
	if (nl)
		*q++ = '\n';
	*q = '\0';
	*len = (size_t)(q - s);
	return s;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

struct capture {
	char buf[PLUGIN_OUT_MAX + 1];
	size_t len;
	bool truncated;
};

/* Read what is there; returns false at EOF or a hard error. */
static bool drain(int fd, struct capture *cap)
{
	char tmp[4096];

	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (r == 0)
			return false;
		size_t room = PLUGIN_OUT_MAX - cap->len, k = (size_t)r < room ? (size_t)r : room;
		memcpy(cap->buf + cap->len, tmp, k);
		cap->len += k;
		cap->truncated |= k < (size_t)r;
		cap->buf[cap->len] = '\0';
	}
}

/* Write while the pipe takes it, with SIGPIPE blocked so a plugin that exits
 * without reading its stdin gives EPIPE, not a dead bpfdiff. The signal is
 * thread-directed, so consuming it here leaves other threads alone.
 * Returns false when done (all written, or the reader is gone). */
static bool feed(int fd, const char *data, size_t len, size_t *off)
{
	sigset_t pipe_set, old;
	bool more = true;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (*off < len) {
		ssize_t w = write(fd, data + *off, len - *off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				more = false; /* EPIPE: the plugin closed stdin, read what it says */
			break;
		}
		*off += (size_t)w;
	}
	if (*off >= len)
		more = false;
	if (!sigismember(&old, SIGPIPE)) {
		sigset_t pending;
		const struct timespec zero = { 0, 0 };
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return more;
}

/* First non-empty line of s, trimmed, into dst. */
static void first_line(const char *s, char *dst, size_t dstlen)
{
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		size_t n = strcspn(s, "\r\n");
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n) {
			snprintf(dst, dstlen, "%.*s", (int)n, s);
			return;
		}
		s += strcspn(s, "\n");
	}
	if (dstlen)
		dst[0] = '\0';
}

/* The whole of stdout must be one hex number (std::stoull(s, 0, 16) would
 * also take trailing junk; a differential tester should not). */
static bool parse_r0(const char *s, uint64_t *r0)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno == ERANGE)
		return false;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end)
		return false;
	*r0 = v;
	return true;
}

/* The text bpf_conformance's runner compares with a case's `-- error` when a
 * plugin exits non-zero: stdout, or stderr when stdout is empty, cut at the
 * first '\r', trailing whitespace stripped. Its lines are joined with "; "
 * so that the message stays one line in reports. */
static void runner_message(const struct capture *out, const struct capture *err, char *dst, size_t dstlen)
{
	const struct capture *c = out->len ? out : err;
	size_t n = strcspn(c->buf, "\r");
	while (n && (c->buf[n - 1] == ' ' || c->buf[n - 1] == '\t' || c->buf[n - 1] == '\n' ||
		     c->buf[n - 1] == '\v' || c->buf[n - 1] == '\f'))
		n--;
	size_t k = 0;
	for (size_t i = 0; i < n && k + 3 < dstlen; i++) {
		if (c->buf[i] == '\n') {
			dst[k++] = ';';
			dst[k++] = ' ';
		} else {
			dst[k++] = c->buf[i];
		}
	}
	if (dstlen)
		dst[k < dstlen ? k : dstlen - 1] = '\0';
}

/* "... signal 11 ..." in a message, or 0. */
static int signal_in(const char *msg)
{
	const char *p = strstr(msg, "signal ");
	int sig = p ? atoi(p + 7) : 0;
	return sig > 0 && sig < 65 ? sig : 0;
}

/*
 * A non-zero exit: which status? bpf_conformance's runner has one failure
 * channel (any non-zero exit, the message compared with `-- error`), so the
 * status is bpfdiff's reading of it:
 *  - "STATUS: ..." with a bpfdiff status name is taken as is (what `bpfdiff
 *    plugin` and tests/plugin/tinyvm.py print);
 *  - exit 128+N with no message or with the signal's description (a shell
 *    wrapper that did not `exec` its VM: "Segmentation fault") is a crash;
 *  - "unsupported" / "not supported" is unsupported;
 *  - anything else is a refusal when the plugin is declared with a verifier
 *    (libbpf_plugin, PREVAIL exit 1 on a verifier rejection), otherwise a
 *    fault of unknown kind: the VM ran the program and gave no result.
 */
static enum bd_status classify_failure(const struct bd_backend *b, const char *msg, int exit_status,
				       int *sig)
{
	*sig = 0;
	size_t n = strcspn(msg, ":");
	if (msg[n] == ':' && n && n < 16) {
		char word[16];
		for (size_t i = 0; i < n; i++)
			word[i] = (char)tolower((unsigned char)msg[i]);
		word[n] = '\0';
		int st = bd_status_lookup(word);
		if (st > BD_OK) {
			if (st == BD_CRASH)
				*sig = signal_in(msg + n);
			return (enum bd_status)st;
		}
	}
	if (exit_status > 128 && exit_status <= 128 + 64) {
		const char *what = strsignal(exit_status - 128);
		if (!msg[0] || (what && strcasestr(msg, what))) {
			*sig = exit_status - 128;
			return BD_CRASH;
		}
	}
	if (strcasestr(msg, "unsupported") || strcasestr(msg, "not supported"))
		return BD_UNSUPPORTED;
	return b->verifier ? BD_REJECTED : BD_FAULT;
}

static int plugin_fail(struct bd_result *res, int err, const char *what)
{
	res->status = BD_ERROR;
	snprintf(res->message, sizeof(res->message), "plugin: %s: %s", what, strerror(err));
	return -err;
}

static int plugin_run(struct bd_backend *b, const struct bd_case *c, const struct bd_run_opts *o,
		      struct bd_result *res)
{
	(void)o;
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	char *prog = NULL, *mem = NULL;
	size_t prog_len = 0, mem_len = 0;
	struct capture *cout = NULL, *cerr = NULL;
	int ret = 0;

	bd_result_reset(res);
	prog = hex_encode((const uint8_t *)c->insns, c->ninsns * sizeof(struct ebpf_insn), true,
			  &prog_len);
	if (c->mem_len)
		mem = hex_encode(c->mem, c->mem_len, false, &mem_len);
	cout = calloc(1, sizeof(*cout));
	cerr = calloc(1, sizeof(*cerr));
	if (!prog || (c->mem_len && !mem) || !cout || !cerr) {
		ret = plugin_fail(res, ENOMEM, "encoding the case");
		goto out;
	}
	if (mem_len > PLUGIN_ARG_MAX) {
		res->status = BD_UNSUPPORTED;
		snprintf(res->message, sizeof(res->message),
			 "plugin: %zu bytes of memory do not fit in one argv argument (the contract's "
			 "limit is about %d bytes)",
			 c->mem_len, PLUGIN_ARG_MAX / 3);
		goto out;
	}

	char *argv[PLUGIN_MAX_OPTIONS + 3];
	int argc = 0;
	argv[argc++] = b->path;
	if (mem)
		argv[argc++] = mem;
	for (int i = 0; i < b->nopt; i++)
		argv[argc++] = b->opt[i];
	argv[argc] = NULL;

	/* O_CLOEXEC: a fork in another thread must not inherit these ends,
	 * or our EOF never comes. */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		ret = plugin_fail(res, errno, "pipe");
		goto out;
	}

	uint64_t start = now_ns();
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		ret = plugin_fail(res, errno, "fork");
		goto out;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until exec. */
		sigset_t none;
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Own process group, so a timeout kills whatever the plugin started;
		 * that also takes it out of the terminal's Ctrl-C, so have it die
		 * with us instead. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* Via fds >= 3 first: if bpfdiff runs with 0..2 closed, a pipe end
		 * may already sit on one of them (and dup2 onto itself keeps CLOEXEC). */
		int fi = fcntl(in[0], F_DUPFD_CLOEXEC, 3), fo = fcntl(outp[1], F_DUPFD_CLOEXEC, 3),
		    fe = fcntl(errp[1], F_DUPFD_CLOEXEC, 3);
		if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(127);
		execv(b->path, argv);
		/* Async-signal-safe report: no strerror, no stdio. */
		int e = errno;
		char msg[64] = "error: exec of the plugin failed, errno ";
		size_t n = strlen(msg);
		char digits[12];
		int nd = 0;
		do
			digits[nd++] = (char)('0' + e % 10);
		while ((e /= 10) && nd < 11);
		while (nd)
			msg[n++] = digits[--nd];
		msg[n++] = '\n';
		ssize_t ign = write(2, msg, n);
		(void)ign;
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, whichever runs first */
	/* Readable when the plugin exits: then its output is all in the pipes
	 * even if something it started still holds them open. */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	close_fd(&in[0]);
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);
	fcntl(errp[0], F_SETFL, fcntl(errp[0], F_GETFL) | O_NONBLOCK);

	uint64_t deadline = start + (uint64_t)b->timeout_ms * 1000000ull;
	size_t off = 0;
	bool timed_out = false;
	while (in[1] >= 0 || outp[0] >= 0 || errp[0] >= 0) {
		struct pollfd pfd[4];
		int np = 0, iin = -1, iout = -1, ierr = -1, ipid = -1;
		if (in[1] >= 0) {
			iin = np;
			pfd[np++] = (struct pollfd){ .fd = in[1], .events = POLLOUT };
		}
		if (outp[0] >= 0) {
			iout = np;
			pfd[np++] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		}
		if (errp[0] >= 0) {
			ierr = np;
			pfd[np++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		}
		if (pidfd >= 0) {
			ipid = np;
			pfd[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		}
		uint64_t now = now_ns();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		uint64_t left_ms = (deadline - now + 999999) / 1000000;
		int pr = poll(pfd, (nfds_t)np, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			ret = plugin_fail(res, errno, "poll");
			break;
		}
		if (iin >= 0 && pfd[iin].revents && !feed(in[1], prog, prog_len, &off))
			close_fd(&in[1]); /* EOF for the plugin */
		if (iout >= 0 && pfd[iout].revents && !drain(outp[0], cout))
			close_fd(&outp[0]);
		if (ierr >= 0 && pfd[ierr].revents && !drain(errp[0], cerr))
			close_fd(&errp[0]);
		if (ipid >= 0 && pfd[ipid].revents) {
			if (outp[0] >= 0)
				drain(outp[0], cout);
			if (errp[0] >= 0)
				drain(errp[0], cerr);
			break;
		}
	}
	close_fd(&in[1]);
	close_fd(&outp[0]);
	close_fd(&errp[0]);

	/* Wait for the plugin without reaping it (WNOWAIT): while it is a zombie
	 * its process group id cannot be reused, so killing the group's stragglers
	 * afterwards cannot hit an unrelated process. */
	bool killed = false;
	uint64_t nap_ns = 50000;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		int wr = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | (killed ? 0 : WNOHANG));
		if (wr < 0 && errno == EINTR)
			continue;
		if (wr < 0 || si.si_pid == pid)
			break;
		uint64_t now = now_ns();
		if (timed_out || ret < 0 || now >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
			continue;
		}
		if (pidfd >= 0) {
			uint64_t left_ms = (deadline - now + 999999) / 1000000;
			struct pollfd pp = { .fd = pidfd, .events = POLLIN };
			poll(&pp, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
		} else {
			struct timespec ts = { 0, (long)nap_ns };
			nanosleep(&ts, NULL);
			if (nap_ns < 10000000)
				nap_ns *= 2;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	timed_out = killed;
	kill(-pid, SIGKILL); /* whatever the plugin left running in its group */
	int wst = 0;
	pid_t w;
	while ((w = waitpid(pid, &wst, 0)) < 0 && errno == EINTR)
		;
	res->duration_ns = now_ns() - start;
	if (ret < 0)
		goto out;
	if (w != pid) {
		ret = plugin_fail(res, errno ? errno : ECHILD, "waitpid");
		goto out;
	}

	char line[sizeof(res->message)];
	if (timed_out) {
		res->status = BD_TIMEOUT;
		snprintf(res->message, sizeof(res->message), "plugin: no result after %u ms, killed",
			 b->timeout_ms);
	} else if (WIFSIGNALED(wst)) {
		/* The VM died: a finding, whatever the other backends did. */
		res->status = BD_CRASH;
		res->signal = WTERMSIG(wst);
		runner_message(cout, cerr, line, sizeof(line));
		snprintf(res->message, sizeof(res->message), "plugin killed by signal %d (%s)%s%.400s",
			 WTERMSIG(wst), strsignal(WTERMSIG(wst)), line[0] ? ": " : "", line);
	} else if (WEXITSTATUS(wst) != 0) {
		int sig;
		runner_message(cout, cerr, line, sizeof(line));
		res->status = classify_failure(b, line, WEXITSTATUS(wst), &sig);
		if (res->status == BD_CRASH) {
			res->signal = sig;
			if (!signal_in(line) && sig)
				snprintf(res->message, sizeof(res->message),
					 "plugin exited with status %d, its VM killed by signal %d (%s)%s%.400s",
					 WEXITSTATUS(wst), sig, strsignal(sig), line[0] ? ": " : "", line);
			else
				snprintf(res->message, sizeof(res->message), "%s", line);
		} else if (line[0]) {
			snprintf(res->message, sizeof(res->message), "%s", line);
		} else {
			snprintf(res->message, sizeof(res->message), "plugin exited with status %d and no message",
				 WEXITSTATUS(wst));
		}
	} else if (cout->truncated || !parse_r0(cout->buf, &res->r0)) {
		res->status = BD_ERROR;
		first_line(cout->buf, line, sizeof(line));
		snprintf(res->message, sizeof(res->message), "plugin printed no R0 in hex: '%.200s'%s", line,
			 cout->truncated ? " (output truncated)" : "");
	} else {
		res->status = BD_OK;
		first_line(cerr->buf, line, sizeof(line));
		if (b->verbose && line[0])
			snprintf(res->message, sizeof(res->message), "plugin stderr: %.480s", line);
	}
out:
	/* The plugin's words are printed and put in reports: no raw control characters. */
	bd_escape_ctl_inplace(res->message, sizeof(res->message));
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	free(prog);
	free(mem);
	free(cout);
	free(cerr);
	res->mem = NULL; /* the contract returns no memory */
	res->mem_len = 0;
	return ret;
}

static void plugin_env(struct bd_backend *b, struct bd_env *e)
{
	bd_env_unknown(e);
	snprintf(e->detail, sizeof(e->detail), "external VM %s%s%s%s", b->path,
		 b->verifier ? ", with a verifier" : "", b->platform[0] ? ", platform " : "", b->platform);
}

const struct bd_backend_ops bd_backend_plugin = {
	.name = "plugin",
	.verifier = false, /* unless declared: `plugin+verifier:PATH` (session slot) */
	.open = plugin_open,
	.run = plugin_run,
	.close = plugin_close,
	.info = plugin_info,
	.env = plugin_env,
};
