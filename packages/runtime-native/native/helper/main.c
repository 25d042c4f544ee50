/* berth-runtime-helper: creates containers and stays behind as each one's monitor.
 *
 * Usage: berth-runtime-helper serve
 * The addon starts it once and sends one request per container on fd 3 (server.h). For each, a
 * forked process reads the serialised spec and forks the monitor (create.h), so a container
 * start does not pay for executing and initialising a new program. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"
#include "util.h"

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

int main(int argc, char **argv)
{
	/* Not dumpable: no process of the container's uid may ptrace us or open our /proc files. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc != 2 || strcmp(argv[1], "serve") != 0) {
		fprintf(stderr, "usage: %s serve\n", argv[0]);
		return 2;
	}
	if (!running_from_sealed_copy() && reexec_from_sealed_copy(argv) < 0)
		return 1;
	return server_run(SERVER_CONTROL_FD);
}
