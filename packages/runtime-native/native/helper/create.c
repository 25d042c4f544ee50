/* One container creation: read the spec, fork the monitor, report through fd 3. */
#define _GNU_SOURCE
#include "create.h"

#include <string.h>
#include <unistd.h>

#include "monitor.h"
#include "spec.h"
#include "syscalls.h"
#include "util.h"

/* The caller passes the encoded spec in a memfd, so it never reaches the disk: it may carry
 * secrets in the environment. The descriptor is closed before anything else runs. */
static int read_spec(struct container_spec *spec)
{
	int ret = spec_read(SPEC_FD, spec);

	close(SPEC_FD);
	return ret;
}

int helper_create(const char *state_dir)
{
	struct container_spec spec;
	pid_t pid;
	int ret = read_spec(&spec);

	if (ret == 0 && strcmp(spec.state_dir, state_dir) != 0)
		ret = berth_fail(EINVAL, "the spec is for state directory %s, not %s", spec.state_dir, state_dir);
	if (ret < 0) {
		spec_free(&spec);
		berth_report_result(RESULT_FD, -1);
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		berth_fail(errno, "fork the monitor");
		berth_report_result(RESULT_FD, -1);
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

