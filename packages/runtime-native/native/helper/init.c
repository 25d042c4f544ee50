#define _GNU_SOURCE
#include "init.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include "rootfs.h"
#include "security.h"
#include "syscalls.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

__attribute__((noreturn)) static void report_and_exit(int sync_fd)
{
	char msg[BERTH_ERR_MAX + 32];
	int len = snprintf(msg, sizeof(msg), "%c%d %s", SYNC_ERROR, berth_err.code, berth_err.message);

	(void)write_all(sync_fd, msg, (size_t)len);
	_exit(1);
}

static int wait_for_go(int sync_fd)
{
	char c;
	ssize_t n;

	do
		n = read(sync_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || c != SYNC_GO)
		return berth_fail(n < 0 ? errno : EPIPE, "read the go message from the monitor");
	return 0;
}

static int join_namespaces(const struct container_spec *spec)
{
	for (size_t i = 0; i < spec->nnamespaces; i++) {
		const struct ns_spec *ns = &spec->namespaces[i];
		/* The monitor joined the pid namespace before the clone. With a joined user namespace
		 * the monitor's bootstrap process joined everything before creating the rest. */
		if (ns->path == NULL || ns->type == CLONE_NEWPID || spec_join_path(spec, CLONE_NEWUSER) != NULL)
			continue;
		cleanup_fd int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return berth_fail(errno, "open namespace %s", ns->path);
		if (setns(fd, ns->type) < 0)
			return berth_fail(errno, "setns %s", ns->path);
	}
	return 0;
}

/* Sysctl keys were checked against the namespaced allowlist on the TypeScript side; the value
 * is written as one string and never split. /proc/sys shows the caller's namespaces, which are
 * the container's by now, and the file is checked to be on procfs before writing. */
static int write_sysctls(const struct container_spec *spec)
{
	for (size_t i = 0; i < spec->nsysctls; i++) {
		char path[PATH_MAX];
		struct statfs fs;
		const char *key = spec->sysctls[i].key;

		if (strstr(key, "..") != NULL || strchr(key, '/') != NULL)
			return berth_fail(EINVAL, "sysctl key %s is invalid", key);
		snprintf(path, sizeof(path), "/proc/sys/%s", key);
		for (char *p = path + strlen("/proc/sys/"); *p != '\0'; p++)
			if (*p == '.')
				*p = '/';
		cleanup_fd int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return berth_fail(errno, "open %s for sysctl %s", path, key);
		if (fstatfs(fd, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC)
			return berth_fail(EPERM, "%s is not on procfs", path);
		if (write_all(fd, spec->sysctls[i].value, strlen(spec->sysctls[i].value)) < 0)
			return berth_fail(errno, "write sysctl %s", key);
	}
	return 0;
}

static int check_cwd(const struct container_spec *spec)
{
	char buf[PATH_MAX];
	const char *cwd = spec->cwd != NULL ? spec->cwd : "/";

	if (chdir(cwd) < 0)
		return berth_fail(errno, "chdir %s", cwd);
	/* getcwd returns a path starting with "(unreachable)" when the directory lies outside the
	 * process root, which a leaked host directory fd would cause. */
	if (getcwd(buf, sizeof(buf)) == NULL || buf[0] != '/')
		return berth_fail(EPERM, "working directory %s is outside the container root", cwd);
	return 0;
}

static int setup(const struct container_spec *spec, const struct compiled_filter *filter)
{
	cleanup_fd int rootfd = -1;
	bool userns = spec_new_ns(spec, CLONE_NEWUSER) || spec_join_path(spec, CLONE_NEWUSER) != NULL;
	int ret;

	if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return berth_fail(errno, "become root in the new user namespace");
	if ((ret = join_namespaces(spec)) < 0)
		return ret;
	if (spec->hostname != NULL && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return berth_fail(errno, "sethostname %s", spec->hostname);
	if ((ret = write_sysctls(spec)) < 0)
		return ret;
	if ((ret = rootfs_bind(spec, &rootfd)) < 0)
		return ret;
	if ((ret = rootfs_mount_all(spec, rootfd, userns)) < 0)
		return ret;
	if ((ret = rootfs_protect(spec, rootfd)) < 0)
		return ret;
	if ((ret = rootfs_pivot(spec, rootfd)) < 0)
		return ret;
	if ((ret = security_rlimits(spec)) < 0)
		return ret;
	/* Without no_new_privs an unprivileged process cannot load a filter, so it is loaded while
	 * the process still has CAP_SYS_ADMIN. The profile must then allow the calls below. */
	if (!spec->no_new_privs && (ret = security_load_seccomp(filter)) < 0)
		return ret;
	if ((ret = security_credentials(spec)) < 0)
		return ret;
	return check_cwd(spec);
}

static const char *find_path_env(const struct container_spec *spec)
{
	for (size_t i = 0; i < spec->nenv; i++)
		if (strncmp(spec->env[i], "PATH=", 5) == 0)
			return spec->env[i] + 5;
	return DEFAULT_PATH;
}

/* execvpe searches the caller's PATH, not the container's, so the search is done here. */
static int exec_program(const struct container_spec *spec)
{
	const char *prog = spec->args[0];
	char candidate[PATH_MAX];
	int last_error = ENOENT;

	if (strchr(prog, '/') != NULL) {
		execve(prog, spec->args, spec->env);
		return berth_fail(errno, "execve %s", prog);
	}
	const char *dirs = find_path_env(spec);
	while (*dirs != '\0') {
		const char *end = strchrnul(dirs, ':');
		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)(end - dirs), dirs, prog);
		execve(candidate, spec->args, spec->env);
		if (errno != ENOENT && errno != ENOTDIR)
			last_error = errno;
		dirs = *end == ':' ? end + 1 : end;
	}
	return berth_fail(last_error, "execve %s: not found in PATH", prog);
}

/* Minimal init for programs that do not reap: forwards signals to the program and reaps every
 * orphan, then exits with the program's status. */
__attribute__((noreturn)) static void run_minimal_init(const struct container_spec *spec)
{
	sigset_t all, old;
	pid_t child;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	child = fork();
	if (child < 0) {
		dprintf(2, "berth init: fork: %s\n", strerror(errno));
		_exit(127);
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		exec_program(spec);
		dprintf(2, "berth: %s: %s\n", berth_err.message, strerror(berth_err.code));
		_exit(127);
	}
	prctl(PR_SET_NAME, "berth-init", 0, 0, 0);
	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != child)
				continue;
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
	}
}

/* The kernel's struct sigaction, for rt_sigaction without the C library's filtering. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

/* Node ignores SIGPIPE and SIGXFSZ, and execve keeps ignored signals ignored, so a program would
 * inherit them from the runtime's caller. Every disposition goes back to its default, as Docker
 * and crun start programs. The raw system call also resets the two real-time
 * signals the C library reserves for itself, which its sigaction refuses. */
static void reset_signal_dispositions(void)
{
	struct kernel_sigaction dfl = {.handler = SIG_DFL};

	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
}

void container_init(const struct container_spec *spec, const struct compiled_filter *filter, int sync_fd, int fifo)
{
	char c = SYNC_READY;

	/* First, while no seccomp filter can refuse rt_sigaction. */
	reset_signal_dispositions();
	if (wait_for_go(sync_fd) < 0 || setup(spec, filter) < 0)
		report_and_exit(sync_fd);

	/* No host descriptor may reach the program: everything above 2 closes on exec. */
	if (sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		berth_fail(errno, "close_range");
		report_and_exit(sync_fd);
	}
	if (write_all(sync_fd, &c, 1) < 0)
		_exit(1);
	close(sync_fd);

	ssize_t n;
	do
		n = read(fifo, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1);
	close(fifo);

	if (spec->no_new_privs && security_load_seccomp(filter) < 0) {
		dprintf(2, "berth: %s: %s\n", berth_err.message, strerror(berth_err.code));
		_exit(127);
	}
	if (spec->use_init)
		run_minimal_init(spec);
	exec_program(spec);
	dprintf(2, "berth: %s: %s\n", berth_err.message, strerror(berth_err.code));
	_exit(127);
}
