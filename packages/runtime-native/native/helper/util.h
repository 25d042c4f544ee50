/* Shared helpers of the berth runtime helper: error recording, fd cleanup, small file I/O. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#define BERTH_ERR_MAX 512

/* The last failure: a positive errno and a message naming the syscall and the path. */
struct berth_error {
	int code;
	char message[BERTH_ERR_MAX];
};

extern struct berth_error berth_err;

/* Records errno `code` with a printf-style message and returns -code, so callers can
 * `return berth_fail(errno, "open %s", path);`. */
int berth_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void berth_close_fd(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

#define cleanup_fd __attribute__((cleanup(berth_close_fd)))

/* Write all of `len` bytes, retrying on EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* Read until EOF into a malloc'd NUL-terminated buffer. Returns bytes read or -errno. */
ssize_t read_all(int fd, char **out);
/* Open `dir`/`file` for writing (no create, no follow) and write `value`. Returns 0 or
 * -errno with berth_err naming the path. */
int write_file_at(const char *dir, const char *file, const char *value);
/* Write `value` to an absolute path opened O_WRONLY|O_NOFOLLOW. */
int write_path(const char *path, const char *value);
/* Writes the result line a creation reports to the addon: "ok PID" when `pid` > 0, otherwise
 * "err ERRNO MESSAGE" from berth_err. The descriptor stays open. */
void berth_report_result(int fd, pid_t pid);
/* Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), 0 if gone. */
unsigned long long proc_start_time(pid_t pid);

#endif
