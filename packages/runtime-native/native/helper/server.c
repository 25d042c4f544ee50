/* The helper as a server: the addon starts it once and sends one message per container. Forking
 * a process that has already started skips what executing the helper costs every time: loading
 * the program and the C library's start-up. On the 2-vCPU VM of docs/benchmarks.md, perf put
 * most of that start-up in CPUID instructions, which trap to the hypervisor. */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "create.h"
#include "syscalls.h"
#include "util.h"

/* At most: result, spec, stdout, stderr. */
#define MAX_REQUEST_FDS 4
/* Received descriptors move above every fixed slot first, so placing one cannot close another. */
#define PARKED_FD_MIN 64

struct request {
	uint32_t flags;
	char state_dir[PATH_MAX];
	int fds[MAX_REQUEST_FDS];
	int nfds;
};

static void close_request_fds(struct request *req)
{
	for (int i = 0; i < req->nfds; i++)
		close(req->fds[i]);
	req->nfds = 0;
}

static void take_fds(struct msghdr *msg, struct request *req)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < count; i++) {
			if (req->nfds < MAX_REQUEST_FDS)
				req->fds[req->nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

static int expected_fds(uint32_t flags)
{
	return 2 + ((flags & SERVER_HAS_STDOUT) != 0) + ((flags & SERVER_HAS_STDERR) != 0);
}

/* Returns 1 with a request, 0 when the addon closed the socket, -errno on a receive error, and
 * -EPROTO for a malformed request (its descriptors, if any, stay in `req` for the reply). */
static int receive(int control_fd, struct request *req)
{
	char payload[sizeof(uint32_t) + PATH_MAX];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MAX_REQUEST_FDS)];
	} control;
	struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	ssize_t n;

	req->nfds = 0;
	do
		n = recvmsg(control_fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -errno;
	take_fds(&msg, req);
	size_t dir_len = (size_t)n > sizeof(uint32_t) ? (size_t)n - sizeof(uint32_t) - 1 : 0;
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || (size_t)n <= sizeof(uint32_t) + 1 || payload[n - 1] != '\0' ||
	    strlen(payload + sizeof(uint32_t)) != dir_len)
		return berth_fail(EPROTO, "malformed request to the helper server (%zd bytes)", n);
	memcpy(&req->flags, payload, sizeof(req->flags));
	memcpy(req->state_dir, payload + sizeof(uint32_t), dir_len + 1);
	if ((req->flags & ~(SERVER_HAS_STDOUT | SERVER_HAS_STDERR)) != 0 || req->nfds != expected_fds(req->flags))
		return berth_fail(EPROTO, "request to the helper server with flags %#x carries %d descriptors", req->flags, req->nfds);
	return 1;
}

/* In the forked child: put the descriptors where helper_create expects them and run it. */
__attribute__((noreturn)) static void run_request(int control_fd, struct request *req)
{
	int placed[MAX_REQUEST_FDS] = {RESULT_FD, SPEC_FD, -1, -1};
	int next = 2;

	close(control_fd);
	/* The server ignores SIGPIPE so that a caller that went away cannot kill it. A creation
	 * starts from the default, as a helper executed for it would. */
	signal(SIGPIPE, SIG_DFL);
	for (int i = 0; i < req->nfds; i++) {
		int parked = fcntl(req->fds[i], F_DUPFD_CLOEXEC, PARKED_FD_MIN);
		if (parked < 0)
			_exit(1);
		close(req->fds[i]);
		req->fds[i] = parked;
	}
	if (req->flags & SERVER_HAS_STDOUT)
		placed[next++] = INHERITED_STDOUT_FD;
	if (req->flags & SERVER_HAS_STDERR)
		placed[next++] = INHERITED_STDERR_FD;
	for (int i = 0; i < req->nfds; i++) {
		if (dup2(req->fds[i], placed[i]) < 0)
			_exit(1);
		close(req->fds[i]);
	}
	setsid();
	memset(&berth_err, 0, sizeof(berth_err));
	exit(helper_create(req->state_dir));
}

/* A failure before the fork is reported on the request's own result descriptor. */
static void reply_failure(const struct request *req)
{
	if (req->nfds > 0)
		berth_report_result(req->fds[0], -1);
}

int server_run(int control_fd)
{
	/* The signal ends the server when the thread that started it exits, and Node's thread-pool
	 * threads live as long as the process. The closed socket ends it in any case. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "berth-helper", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	/* Descriptors Node leaves without close-on-exec would otherwise stay open as long as the
	 * server: a pipe's write end held here keeps its reader from ever seeing EOF. */
	sys_close_range((unsigned)control_fd + 1, ~0U, 0);
	for (;;) {
		struct request req;
		int ret = receive(control_fd, &req);
		if (ret == 0)
			return 0;
		if (ret == -EPROTO) {
			reply_failure(&req);
			close_request_fds(&req);
			continue;
		}
		if (ret < 0)
			return 1;
		pid_t child = fork();
		if (child == 0)
			run_request(control_fd, &req);
		if (child < 0) {
			berth_fail(errno, "fork for container state %s", req.state_dir);
			reply_failure(&req);
		}
		close_request_fds(&req);
		/* The child exits as soon as the monitor is forked, which keeps the server's children to
		 * one at a time. */
		while (child > 0 && waitpid(child, NULL, 0) < 0 && errno == EINTR) {
		}
	}
}
