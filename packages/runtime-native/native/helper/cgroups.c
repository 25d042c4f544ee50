#define _GNU_SOURCE
#include "cgroups.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "device-bpf.h"
#include "util.h"

#define RMDIR_ATTEMPTS 200
#define RMDIR_RETRY_NS (5 * 1000 * 1000)

/* A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and no process can join
 * it until they are set; copy them from the parent as runc does. */
static int inherit_cpuset(const char *dir)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char path[PATH_MAX], parent[PATH_MAX], value[4096];

	for (size_t i = 0; i < 2; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >= (int)sizeof(path))
			return berth_fail(ENAMETOOLONG, "cgroup path %s", dir);
		if (access(path, F_OK) < 0)
			return 0;
		snprintf(parent, sizeof(parent), "%s", dir);
		*strrchr(parent, '/') = '\0';
		if (snprintf(path, sizeof(path), "%s/%s", parent, files[i]) >= (int)sizeof(path))
			return berth_fail(ENAMETOOLONG, "cgroup path %s", parent);
		cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, value, sizeof(value) - 1);
		if (n < 0)
			return berth_fail(errno, "read %s", path);
		value[n] = '\0';
		int ret = write_file_at(dir, files[i], value);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* mkdir -p that retries when a parent vanishes: another container's monitor may remove a shared
 * parent between our mkdir of the parent and of the child. */
static int mkdir_parents(const char *dir)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return berth_fail(ENAMETOOLONG, "cgroup path %s", dir);
	for (int attempt = 0; attempt < 5; attempt++) {
		bool vanished = false;
		for (char *p = buf + 1; !vanished; p++) {
			bool end = *p == '\0';
			if (*p != '/' && !end)
				continue;
			*p = '\0';
			if (mkdir(buf, 0755) == 0) {
				int ret = inherit_cpuset(buf);
				if (ret < 0)
					return ret;
			} else if (errno != EEXIST) {
				if (errno != ENOENT)
					return berth_fail(errno, "mkdir %s", buf);
				vanished = true;
			}
			if (end)
				break;
			*p = '/';
		}
		if (!vanished)
			return 0;
		snprintf(buf, sizeof(buf), "%s", dir);
	}
	return berth_fail(ENOENT, "mkdir %s: a parent kept disappearing", dir);
}

int cgroups_enter(const struct container_spec *spec, pid_t pid)
{
	char pidstr[32];
	int ret;

	for (size_t i = 0; i < spec->ncgroup_dirs; i++)
		if ((ret = mkdir_parents(spec->cgroup_dirs[i])) < 0)
			return ret;
	for (size_t i = 0; i < spec->ncgroup_writes; i++) {
		const struct cgroup_write *w = &spec->cgroup_writes[i];
		if ((ret = write_file_at(w->dir, w->file, w->value)) < 0)
			return ret;
	}
	if ((ret = device_bpf_attach(spec)) < 0)
		return ret;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	for (size_t i = 0; i < spec->ncgroup_dirs; i++)
		if ((ret = write_file_at(spec->cgroup_dirs[i], "cgroup.procs", pidstr)) < 0)
			return ret;
	return 0;
}

bool cgroups_oom_killed(const struct container_spec *spec)
{
	char *text = NULL;
	bool killed = false;

	if (spec->oom_events_file == NULL)
		return false;
	cleanup_fd int fd = open(spec->oom_events_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_all(fd, &text) < 0)
		return false;
	/* Both memory.oom_control (v1) and memory.events (v2) carry an "oom_kill N" line. */
	for (char *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, "oom_kill ", 9) == 0 && strtoull(line + 9, NULL, 10) > 0)
			killed = true;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	free(text);
	return killed;
}

/* Returns the number of processes signalled. */
static int kill_members(const char *dir)
{
	char path[PATH_MAX], *text = NULL;
	int count = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_all(fd, &text) < 0)
		return 0;
	for (char *p = text; *p != '\0';) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
			count++;
		p = *end == '\n' ? end + 1 : end;
	}
	free(text);
	return count;
}

void cgroups_remove(const struct container_spec *spec)
{
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = RMDIR_RETRY_NS};

	for (size_t i = 0; i < spec->ncgroup_dirs; i++) {
		const char *dir = spec->cgroup_dirs[i];
		for (int attempt = 0; attempt < RMDIR_ATTEMPTS; attempt++) {
			if (rmdir(dir) == 0 || errno == ENOENT)
				break;
			/* EBUSY: processes outside a pid namespace may outlive the init. */
			kill_members(dir);
			nanosleep(&pause, NULL);
		}
	}
}
