#define _GNU_SOURCE
#include "util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct berth_error berth_err;

int berth_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(berth_err.message, sizeof(berth_err.message), fmt, ap);
	va_end(ap);
	berth_err.code = code > 0 ? code : EIO;
	return -berth_err.code;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_all(int fd, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			free(buf);
			return -saved;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

int write_path(const char *path, const char *value)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return berth_fail(errno, "open %s", path);
	if (write_all(fd, value, strlen(value)) < 0)
		return berth_fail(errno, "write %s to %s", value, path);
	return 0;
}

int write_file_at(const char *dir, const char *file, const char *value)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return berth_fail(ENAMETOOLONG, "path %s/%s", dir, file);
	return write_path(path, value);
}

unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	cleanup_fd int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may contain spaces and parentheses, so fields count from the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	int field = 2;
	for (p++; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

void berth_report_result(int fd, pid_t pid)
{
	char msg[BERTH_ERR_MAX + 64];
	int len;

	if (pid > 0)
		len = snprintf(msg, sizeof(msg), "ok %d\n", (int)pid);
	else
		len = snprintf(msg, sizeof(msg), "err %d %s\n", berth_err.code, berth_err.message);
	(void)write_all(fd, msg, (size_t)len);
}
