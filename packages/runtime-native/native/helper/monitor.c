#define _GNU_SOURCE
#include "monitor.h"

#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <linux/sched.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroups.h"
#include "init.h"
#include "security.h"
#include "util.h"

struct exit_record {
	int exit_code;
	int signal;
	bool oom_killed;
};

static int ns_clone_flags(const struct container_spec *spec)
{
	int flags = 0;

	for (size_t i = 0; i < spec->nnamespaces; i++)
		if (spec->namespaces[i].path == NULL)
			flags |= spec->namespaces[i].type;
	return flags;
}

static int open_log(const char *path, const char *what, int inherited)
{
	if (inherited >= 0) {
		int copy = fcntl(inherited, F_DUPFD_CLOEXEC, 3);
		if (copy < 0)
			return berth_fail(errno, "duplicate the inherited %s descriptor", what);
		close(inherited);
		return copy;
	}
	int fd = open(path != NULL ? path : "/dev/null", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		return berth_fail(errno, "open %s log %s", what, path);
	return fd;
}

static int write_id_map(pid_t pid, const char *file, const char *map)
{
	char path[64];

	if (map == NULL)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return write_path(path, map);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* Replace process.json atomically so a reader never sees a half-written record. */
static int write_process_record(const struct container_spec *spec, pid_t pid, const struct exit_record *exit)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	static unsigned long long init_start_time;
	FILE *f;

	/* Read once while the init is alive; after its exit /proc has nothing left to read. */
	if (init_start_time == 0)
		init_start_time = proc_start_time(pid);
	snprintf(path, sizeof(path), "%s/process.json", spec->state_dir);
	snprintf(tmp, sizeof(tmp), "%s/.process.json.tmp", spec->state_dir);
	f = fopen(tmp, "we");
	if (f == NULL)
		return berth_fail(errno, "open %s", tmp);
	fprintf(f, "{\"pid\":%d,\"pidStartTime\":%llu,\"monitorPid\":%d,\"monitorStartTime\":%llu,", (int)pid,
		init_start_time, (int)getpid(), proc_start_time(getpid()));
	if (exit != NULL)
		fprintf(f, "\"status\":\"stopped\",\"exitCode\":%d,\"exitSignal\":%d,\"oomKilled\":%s,\"finishedAtMs\":%lld,",
			exit->exit_code, exit->signal, exit->oom_killed ? "true" : "false", now_ms());
	else
		fprintf(f, "\"status\":\"created\",");
	fprintf(f, "\"cgroupDirs\":[");
	for (size_t i = 0; i < spec->ncgroup_dirs; i++) {
		if (i > 0)
			fputc(',', f);
		json_string(f, spec->cgroup_dirs[i]);
	}
	fprintf(f, "]}\n");
	if (fclose(f) != 0)
		return berth_fail(errno, "write %s", tmp);
	if (rename(tmp, path) < 0)
		return berth_fail(errno, "rename %s", path);
	return 0;
}

static void report(int result_fd, pid_t pid)
{
	berth_report_result(result_fd, pid);
	close(result_fd);
}

/* A pid namespace can only be entered by new children, so the monitor joins it for its
 * children (setns changes only pid_for_children) right before cloning the init. `*own` receives
 * an fd of the monitor's own pid namespace to return to afterwards, or -1. */
static int join_pid_namespace(const struct container_spec *spec, int *own)
{
	*own = -1;
	for (size_t i = 0; i < spec->nnamespaces; i++) {
		const struct ns_spec *ns = &spec->namespaces[i];
		if (ns->type != CLONE_NEWPID || ns->path == NULL)
			continue;
		*own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (*own < 0)
			return berth_fail(errno, "open /proc/self/ns/pid");
		cleanup_fd int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return berth_fail(errno, "open pid namespace %s", ns->path);
		if (setns(fd, CLONE_NEWPID) < 0)
			return berth_fail(errno, "setns pid namespace %s", ns->path);
	}
	return 0;
}

/* Later children of the monitor (none today, but sanitizer threads for one) stay in its own
 * pid namespace. */
static void leave_pid_namespace(int own)
{
	if (own < 0)
		return;
	if (setns(own, CLONE_NEWPID) < 0)
		berth_fail(errno, "setns back to the monitor's pid namespace");
	close(own);
}

/* In the bootstrap: join the user namespace first, then every other namespace to join. */
static int bootstrap_join(const struct container_spec *spec)
{
	const char *user = spec_join_path(spec, CLONE_NEWUSER);
	cleanup_fd int fd = open(user, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
		return berth_fail(errno, "setns user namespace %s", user);
	for (size_t i = 0; i < spec->nnamespaces; i++) {
		const struct ns_spec *ns = &spec->namespaces[i];
		if (ns->path == NULL || ns->type == CLONE_NEWUSER || ns->type == CLONE_NEWPID)
			continue;
		cleanup_fd int nsfd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, ns->type) < 0)
			return berth_fail(errno, "setns %s", ns->path);
	}
	return 0;
}

struct bootstrap_result {
	int pid; /* the init's pid, or 0 with `error` set */
	struct berth_error error;
};

/* Joining a user namespace must come before creating the other namespaces, so that they are
 * owned by it, and before joining the rest, which needs capabilities in their owner. The monitor
 * must keep its own credentials, so a short-lived bootstrap child does the joins and clones the
 * init, which is then reparented to the monitor (a subreaper). Returns the init's pid, 0 in the
 * init, or -errno. */
static pid_t clone_via_bootstrap(const struct container_spec *spec, struct clone_args *args)
{
	struct bootstrap_result result = {0};
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return berth_fail(errno, "pipe2 for the bootstrap");
	pid_t bootstrap = fork();
	if (bootstrap < 0) {
		int saved = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return berth_fail(saved, "fork the bootstrap");
	}
	if (bootstrap == 0) {
		close(pipefd[0]);
		pid_t child = bootstrap_join(spec) < 0 ? -1 : (pid_t)syscall(SYS_clone3, args, sizeof(*args));
		if (child == 0) {
			close(pipefd[1]);
			return 0;
		}
		if (child < 0 && berth_err.code == 0)
			berth_fail(errno, "clone3 with namespace flags %#llx", (unsigned long long)args->flags);
		result.pid = child > 0 ? child : 0;
		result.error = berth_err;
		(void)write_all(pipefd[1], &result, sizeof(result));
		_exit(child > 0 ? 0 : 1);
	}
	close(pipefd[1]);
	ssize_t n = read(pipefd[0], &result, sizeof(result));
	close(pipefd[0]);
	waitpid(bootstrap, NULL, 0);
	if (n != (ssize_t)sizeof(result))
		return berth_fail(EPIPE, "the bootstrap exited without reporting the init");
	if (result.pid <= 0) {
		berth_err = result.error;
		return -berth_err.code;
	}
	return result.pid;
}

static pid_t clone_init(const struct container_spec *spec, const struct compiled_filter *filter, int sync_child,
			int sync_parent, int result_fd, int fifo)
{
	struct clone_args args = {
		.flags = (uint64_t)ns_clone_flags(spec),
		.exit_signal = SIGCHLD,
	};
	int own_pidns;
	if (join_pid_namespace(spec, &own_pidns) < 0) {
		leave_pid_namespace(own_pidns);
		return -berth_err.code;
	}
	int out = open_log(spec->stdout_path, "stdout", spec->inherit_stdout ? 4 : -1);
	if (out < 0) {
		leave_pid_namespace(own_pidns);
		return out;
	}
	int err = open_log(spec->stderr_path, "stderr", spec->inherit_stderr ? 5 : -1);
	if (err < 0) {
		close(out);
		leave_pid_namespace(own_pidns);
		return err;
	}

	bool bootstrap = spec_join_path(spec, CLONE_NEWUSER) != NULL;
	pid_t pid = bootstrap ? clone_via_bootstrap(spec, &args) : (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	int saved = errno;
	if (pid != 0)
		leave_pid_namespace(own_pidns);
	if (pid == 0) {
		if (own_pidns >= 0)
			close(own_pidns);
		close(sync_parent);
		/* The caller waits for EOF on the result pipe, so the init must not hold it open. */
		close(result_fd);
		if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(1);
		container_init(spec, filter, sync_child, fifo);
	}
	close(out);
	close(err);
	if (pid < 0 && bootstrap)
		return pid;
	if (pid < 0)
		return berth_fail(saved, "clone3 with namespace flags %#x", ns_clone_flags(spec));
	return pid;
}

/* Hand the init its id maps and cgroups, let it build the container and wait for its verdict. */
static int prepare_init(const struct container_spec *spec, pid_t pid, int sync_fd)
{
	char buf[BERTH_ERR_MAX + 32];
	char go = SYNC_GO;
	int ret;

	if ((ret = write_id_map(pid, "uid_map", spec->uid_map)) < 0)
		return ret;
	if ((ret = write_id_map(pid, "gid_map", spec->gid_map)) < 0)
		return ret;
	if ((ret = cgroups_enter(spec, pid)) < 0)
		return ret;
	if (spec->has_oom_score_adj) {
		char path[64], value[16];
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
		snprintf(value, sizeof(value), "%d", spec->oom_score_adj);
		if ((ret = write_path(path, value)) < 0)
			return ret;
	}
	if (write_all(sync_fd, &go, 1) < 0)
		return berth_fail(errno, "send the go message to the container init");

	ssize_t n;
	do
		n = read(sync_fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return berth_fail(n < 0 ? errno : ECHILD, "container init exited during setup");
	buf[n] = '\0';
	if (buf[0] == SYNC_READY)
		return 0;
	char *message = NULL;
	long code = strtol(buf + 1, &message, 10);
	return berth_fail((int)code, "%s", message != NULL && *message == ' ' ? message + 1 : "unknown error");
}

static struct exit_record wait_for_exit(const struct container_spec *spec, pid_t init)
{
	struct exit_record rec = {0};
	int status = 0;

	for (;;) {
		/* As a subreaper the monitor also collects orphans; only the init's exit matters. */
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 || pid == init)
			break;
	}
	if (WIFSIGNALED(status)) {
		rec.signal = WTERMSIG(status);
		rec.exit_code = 128 + rec.signal;
	} else {
		rec.exit_code = WEXITSTATUS(status);
	}
	rec.oom_killed = cgroups_oom_killed(spec);
	return rec;
}

static void remove_fifo(const struct container_spec *spec)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/exec.fifo", spec->state_dir);
	unlink(path);
}

/* Returns the FIFO opened read-write: the open does not block, and because the FIFO then always
 * has a writer, the init's read waits for the byte `start` writes instead of seeing EOF. */
static int make_fifo(const struct container_spec *spec)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/exec.fifo", spec->state_dir);
	if (mkfifo(path, 0600) < 0)
		return berth_fail(errno, "mkfifo %s", path);
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berth_fail(errno, "open %s", path);
	return fd;
}

int monitor_run(struct container_spec *spec, int result_fd)
{
	struct compiled_filter filter = {0};
	int sync[2], fifo;
	pid_t init;

	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	prctl(PR_SET_NAME, "berth-monitor", 0, 0, 0);
	/* Compiled here, before the clone, so the init inherits the program and a cached copy can be
	 * read from the host side of the mount namespace. */
	if (security_compile_seccomp(spec, &filter) < 0 || (fifo = make_fifo(spec)) < 0) {
		security_free_filter(&filter);
		report(result_fd, -1);
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		berth_fail(errno, "socketpair");
		report(result_fd, -1);
		return 1;
	}
	init = clone_init(spec, &filter, sync[1], sync[0], result_fd, fifo);
	security_free_filter(&filter);
	/* Only the init may hold the FIFO, so `start` fails with ENXIO once the init is gone. */
	close(fifo);
	close(sync[1]);
	if (init < 0) {
		close(sync[0]);
		remove_fifo(spec);
		cgroups_remove(spec);
		report(result_fd, -1);
		return 1;
	}
	if (prepare_init(spec, init, sync[0]) < 0 || write_process_record(spec, init, NULL) < 0) {
		struct berth_error saved = berth_err;
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
		close(sync[0]);
		remove_fifo(spec);
		cgroups_remove(spec);
		berth_err = saved;
		report(result_fd, -1);
		return 1;
	}
	close(sync[0]);
	report(result_fd, init);
	/* The monitor lives as long as the container; give back the heap that parsing the spec and
	 * compiling a seccomp profile used. */
	malloc_trim(0);

	struct exit_record rec = wait_for_exit(spec, init);
	remove_fifo(spec);
	cgroups_remove(spec);
	write_process_record(spec, init, &rec);
	return 0;
}
