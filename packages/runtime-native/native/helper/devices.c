#define _GNU_SOURCE
#include "devices.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "rootfs.h"
#include "syscalls.h"
#include "util.h"

static const struct {
	const char *name;
	const char *target;
} dev_links[] = {
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"ptmx", "pts/ptmx"},
};

/* Split `path` into its parent directory (opened inside the root) and its last component. */
static int open_parent(int rootfd, const char *path, char *name, size_t name_size, int *parent)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash[1] == '\0' || strcmp(slash + 1, "..") == 0 || strcmp(slash + 1, ".") == 0)
		return berth_fail(EINVAL, "device path %s must be absolute and name a file", path);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(name, name_size, "%s", slash + 1);
	if (dir[0] == '\0')
		strcpy(dir, "/");
	int ret = resolve_destination(rootfd, dir, false, parent);
	if (ret < 0)
		return ret;
	return 0;
}

/* An existing entry is accepted only when it already is the requested node; a symlink is
 * rejected because masking and device binds must never land on a path chosen by the image. */
static int check_existing(int parent, const char *name, const struct device_spec *d)
{
	struct stat st;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_fail(errno, "fstatat %s", d->path);
	if (S_ISLNK(st.st_mode))
		return berth_fail(ELOOP, "%s in the rootfs is a symlink, which is rejected", d->path);
	if ((st.st_mode & S_IFMT) == (d->mode & S_IFMT) && st.st_rdev == d->dev)
		return 1;
	return 0;
}

static int bind_host_node(int parent, const char *name, const struct device_spec *d)
{
	cleanup_fd int file = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	cleanup_fd int target = -1, tree = -1;

	if (file < 0)
		return berth_fail(errno, "create %s for a device bind", d->path);
	target = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return berth_fail(errno, "open %s", d->path);
	tree = sys_open_tree(AT_FDCWD, d->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return berth_fail(errno, "open_tree host device %s", d->path);
	if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return berth_fail(errno, "move_mount host device %s", d->path);
	return 0;
}

static int create_device(int rootfd, const struct device_spec *d, bool in_userns)
{
	char name[NAME_MAX + 1];
	cleanup_fd int parent = -1;
	int ret = open_parent(rootfd, d->path, name, sizeof(name), &parent);

	if (ret < 0)
		return ret;
	if (in_userns)
		return bind_host_node(parent, name, d);
	if (mknodat(parent, name, d->mode, d->dev) < 0) {
		if (errno != EEXIST)
			return berth_fail(errno, "mknod %s", d->path);
		ret = check_existing(parent, name, d);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return berth_fail(EEXIST, "%s exists in the rootfs and is not the requested device", d->path);
	}
	/* mknod applies the umask, and the spec mode is exact. */
	if (fchmodat(parent, name, d->mode & 07777, 0) < 0)
		return berth_fail(errno, "chmod %s", d->path);
	if (fchownat(parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_fail(errno, "chown %s", d->path);
	return 0;
}

int devices_create(const struct container_spec *spec, int rootfd, bool in_userns)
{
	cleanup_fd int devfd = -1;
	int ret;

	for (size_t i = 0; i < spec->ndevices; i++)
		if ((ret = create_device(rootfd, &spec->devices[i], in_userns)) < 0)
			return ret;

	devfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, true);
	if (devfd < 0 && errno == ENOENT)
		return 0;
	if (devfd < 0)
		return berth_fail(errno, "openat2 /dev inside the container root");
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0 && errno != EEXIST)
			return berth_fail(errno, "symlink /dev/%s", dev_links[i].name);
	return 0;
}
