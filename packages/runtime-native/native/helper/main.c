/* berth-runtime-helper: creates one container and stays behind as its monitor.
 *
 * Usage: berth-runtime-helper create STATE_DIR
 * The serialised spec is read from fd 6; the result line goes to fd 3. Fds 4 and 5 carry the
 * container's stdout and stderr when the spec says they are inherited. STATE_DIR holds the
 * container's records. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor.h"
#include "spec.h"
#include "syscalls.h"
#include "util.h"

#define RESULT_FD 3
/* Descriptors the caller may pass for the container's stdout and stderr (see spec.h). */
#define INHERITED_STDOUT_FD 4
#define INHERITED_STDERR_FD 5
/* The encoded spec (see spec.h), read once and closed. */
#define SPEC_FD 6
#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool running_from_sealed_copy(void)
{
	cleanup_fd int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

/* A container that could open /proc/<helper>/exe for writing would replace the helper binary
 * on the host. Running from a sealed memfd copy leaves it nothing writable to reach. */
static int reexec_from_sealed_copy(char **argv)
{
	cleanup_fd int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cleanup_fd int copy = -1;
	struct stat st;

	if (exe < 0 || fstat(exe, &st) < 0)
		return berth_fail(errno, "open /proc/self/exe");
	copy = memfd_create("berth-runtime-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0)
		return berth_fail(errno, "memfd_create");
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = sendfile(copy, exe, NULL, (size_t)(st.st_size - done));
		if (n <= 0)
			return berth_fail(n < 0 ? errno : EIO, "copy /proc/self/exe into a memfd");
		done += n;
	}
	if (fcntl(copy, F_ADD_SEALS, REQUIRED_SEALS) < 0)
		return berth_fail(errno, "fcntl F_ADD_SEALS");
	fexecve(copy, argv, environ);
	return berth_fail(errno, "fexecve the sealed helper copy");
}

static void report_failure(void)
{
	dprintf(RESULT_FD, "err %d %s\n", berth_err.code, berth_err.message);
}

/* The caller passes the encoded spec in a memfd, so it never reaches the disk: it may carry
 * secrets in the environment. The descriptor is closed before anything else runs. */
static int read_spec(struct container_spec *spec)
{
	int ret = spec_read(SPEC_FD, spec);

	close(SPEC_FD);
	return ret;
}

static int create(const char *state_dir)
{
	struct container_spec spec;
	pid_t pid;

	if (read_spec(&spec) < 0 ||
	    (strcmp(spec.state_dir, state_dir) != 0 &&
	     berth_fail(EINVAL, "the spec is for state directory %s, not %s", spec.state_dir, state_dir) < 0)) {
		spec_free(&spec);
		report_failure();
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		berth_fail(errno, "fork the monitor");
		report_failure();
		spec_free(&spec);
		return 1;
	}
	if (pid > 0) {
		/* The caller reaps this process at once; the monitor is reparented and detached. */
		spec_free(&spec);
		return 0;
	}
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	sys_close_range(INHERITED_STDERR_FD + 1, ~0U, 0);
	if (!spec.inherit_stdout)
		close(INHERITED_STDOUT_FD);
	if (!spec.inherit_stderr)
		close(INHERITED_STDERR_FD);
	int status = monitor_run(&spec, RESULT_FD);
	spec_free(&spec);
	return status;
}

int main(int argc, char **argv)
{
	/* Not dumpable: no process of the container's uid may ptrace us or open our /proc files. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc != 3 || strcmp(argv[1], "create") != 0) {
		fprintf(stderr, "usage: %s create STATE_DIR\n", argv[0]);
		return 2;
	}
	if (!running_from_sealed_copy() && reexec_from_sealed_copy(argv) < 0) {
		report_failure();
		return 1;
	}
	return create(argv[2]);
}
