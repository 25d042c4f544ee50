/* Creating one container from the descriptors the server placed (see server.h). */
#ifndef BERTH_CREATE_H
#define BERTH_CREATE_H

/* The result line ("ok PID" or "err ERRNO MESSAGE") is written here. */
#define RESULT_FD 3
/* Descriptors the caller may pass for the container's stdout and stderr (see spec.h). */
#define INHERITED_STDOUT_FD 4
#define INHERITED_STDERR_FD 5
/* The encoded spec (see spec.h), read once and closed. */
#define SPEC_FD 6

/* Reads the spec from SPEC_FD, forks the monitor and returns the exit status for this process:
 * 0 once the monitor runs (it reports the container's pid itself), 1 after reporting a failure.
 * In the monitor it returns when the container has exited and been cleaned up. */
int helper_create(const char *state_dir);

#endif
