#define _GNU_SOURCE
#include "rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "devices.h"
#include "syscalls.h"
#include "util.h"

#define RESOLVE_SAFE (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/* Destinations under these top-level directories must not contain symlinks at all: a rootfs
 * whose /proc or /dev/null is a symlink could redirect a mount or a mask onto a host file. */
static bool must_not_follow(const char *path)
{
	static const char *const strict[] = {"/proc", "/sys", "/dev"};

	while (*path == '/')
		path++;
	for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
		size_t len = strlen(strict[i]) - 1;
		if (strncmp(path, strict[i] + 1, len) == 0 && (path[len] == '\0' || path[len] == '/'))
			return true;
	}
	return false;
}

int open_in_root(int rootfd, const char *path, int flags, bool strict)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_SAFE | (strict ? RESOLVE_NO_SYMLINKS : 0),
	};
	int fd;

	do
		fd = sys_openat2(rootfd, path, &how);
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

/* Create the missing components of `path` inside the root, the last one as a file or a
 * directory. Each prefix is resolved again from the root fd, so a symlink planted in the rootfs
 * can only point somewhere else inside the root. */
static int create_in_root(int rootfd, const char *path, bool last_is_file, bool strict)
{
	char buf[PATH_MAX];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return berth_fail(ENAMETOOLONG, "mount destination %s", path);
	for (char *p = buf; *p != '\0'; p = slash + 1) {
		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		bool last = slash == NULL;
		if (!last)
			*slash = '\0';
		if (*p == '\0')
			break;

		/* Resolve the parent (everything before p) and create p in it. */
		char saved = *p;
		*p = '\0';
		cleanup_fd int parent = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, strict);
		*p = saved;
		if (parent < 0)
			return berth_fail(errno, "openat2 %s inside %s", buf, "the container root");
		int ret;
		if (last && last_is_file) {
			ret = openat(parent, p, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (ret >= 0)
				close(ret);
		} else {
			ret = mkdirat(parent, p, 0755);
		}
		if (ret < 0 && errno != EEXIST)
			return berth_fail(errno, "create %s in the container root", path);
		if (last)
			break;
		*slash = '/';
	}
	return 0;
}

/* Resolve a mount destination to an O_PATH fd, creating it when it does not exist. */
int resolve_destination(int rootfd, const char *dest, bool is_file, int *out)
{
	bool strict = must_not_follow(dest);
	int fd = open_in_root(rootfd, dest, O_PATH, strict);

	if (fd < 0 && errno == ENOENT) {
		int ret = create_in_root(rootfd, dest, is_file, strict);
		if (ret < 0)
			return ret;
		fd = open_in_root(rootfd, dest, O_PATH, strict);
	}
	if (fd < 0 && errno == ELOOP)
		return berth_fail(ELOOP, "openat2 %s: the rootfs contains a symlink on this path, which is rejected", dest);
	if (fd < 0)
		return berth_fail(errno, "openat2 %s inside the container root", dest);
	*out = fd;
	return 0;
}

/* Attach the detached mount `tree` on top of `target` and apply attributes and propagation. */
static int attach(int tree, int target, const struct mount_spec *m, const char *what)
{
	struct mount_attr attr = {0};

	if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return berth_fail(errno, "move_mount %s", what);
	if (m == NULL)
		return 0;
	attr.attr_set = m->attr;
	if (m->set_atime)
		attr.attr_clr = MOUNT_ATTR__ATIME;
	unsigned flags = AT_EMPTY_PATH | (m->kind == MOUNT_BIND ? 0 : AT_RECURSIVE);
	if ((attr.attr_set || attr.attr_clr) && sys_mount_setattr(tree, "", flags, &attr) < 0)
		return berth_fail(errno, "mount_setattr %s", what);
	return 0;
}

static int set_propagation(int tree, const struct mount_spec *m)
{
	struct mount_attr attr = {.propagation = m->propagation};
	unsigned flags = AT_EMPTY_PATH | (m->propagation_recursive ? AT_RECURSIVE : 0);

	if (m->propagation == 0)
		return 0;
	if (sys_mount_setattr(tree, "", flags, &attr) < 0)
		return berth_fail(errno, "mount_setattr propagation of %s", m->destination);
	return 0;
}

static int configure_options(int fsfd, const char *type, const char *data)
{
	char *copy = strdup(data), *save = NULL;
	int ret = 0;

	if (copy == NULL)
		return berth_fail(ENOMEM, "options of %s", type);
	for (char *opt = strtok_r(copy, ",", &save); opt != NULL; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int r;
		if (eq != NULL) {
			*eq = '\0';
			r = sys_fsconfig(fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
		} else {
			r = sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
		}
		if (r < 0) {
			ret = berth_fail(errno, "fsconfig %s option %s", type, opt);
			break;
		}
	}
	free(copy);
	return ret;
}

static int mount_filesystem(const struct mount_spec *m, int target)
{
	cleanup_fd int fsfd = sys_fsopen(m->type, FSOPEN_CLOEXEC);
	cleanup_fd int tree = -1;

	if (fsfd < 0)
		return berth_fail(errno, "fsopen %s for %s", m->type, m->destination);
	if (m->source[0] != '\0' && sys_fsconfig(fsfd, FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
		return berth_fail(errno, "fsconfig source %s for %s", m->source, m->destination);
	int ret = configure_options(fsfd, m->type, m->data);
	if (ret < 0)
		return ret;
	if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return berth_fail(errno, "fsconfig create %s at %s", m->type, m->destination);
	tree = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)m->attr);
	if (tree < 0)
		return berth_fail(errno, "fsmount %s at %s", m->type, m->destination);
	if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return berth_fail(errno, "move_mount %s onto %s", m->type, m->destination);
	return set_propagation(tree, m);
}

static int mount_bind(const struct mount_spec *m, int target)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->kind == MOUNT_RBIND ? AT_RECURSIVE : 0);
	cleanup_fd int tree = sys_open_tree(AT_FDCWD, m->source, flags);
	char what[PATH_MAX + 16];

	if (tree < 0)
		return berth_fail(errno, "open_tree %s", m->source);
	snprintf(what, sizeof(what), "%s onto %s", m->source, m->destination);
	int ret = attach(tree, target, m, what);
	if (ret < 0)
		return ret;
	return set_propagation(tree, m);
}

int rootfs_bind(const struct container_spec *spec, int *rootfd)
{
	unsigned long prop = spec->rootfs_propagation ? spec->rootfs_propagation : MS_SLAVE;

	/* Shared propagation is set on the new root later. Until then nothing may flow back. */
	if (prop == MS_SHARED)
		prop = MS_SLAVE;
	if (mount(NULL, "/", NULL, MS_REC | prop, NULL) < 0)
		return berth_fail(errno, "mount / with propagation %lu", prop);

	cleanup_fd int tree = sys_open_tree(AT_FDCWD, spec->root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return berth_fail(errno, "open_tree %s", spec->root);
	if (sys_move_mount(tree, "", AT_FDCWD, spec->root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return berth_fail(errno, "move_mount %s onto itself", spec->root);
	*rootfd = tree;
	tree = -1;
	return 0;
}

static bool is_file_source(const struct mount_spec *m)
{
	struct stat st;

	return m->kind != MOUNT_FS && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode);
}

int rootfs_mount_all(const struct container_spec *spec, int rootfd, bool in_userns)
{
	for (size_t i = 0; i < spec->nmounts; i++) {
		const struct mount_spec *m = &spec->mounts[i];
		cleanup_fd int target = -1;
		int ret = resolve_destination(rootfd, m->destination, is_file_source(m), &target);

		if (ret < 0)
			return ret;
		ret = m->kind == MOUNT_FS ? mount_filesystem(m, target) : mount_bind(m, target);
		if (ret < 0)
			return ret;
	}
	return devices_create(spec, rootfd, in_userns);
}

/* Open the host's /dev/null and check it is the real character device 1:3, so a mask can never
 * bind something else over a container path. */
static int open_verified_null(void)
{
	struct stat st;
	int fd = open("/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return berth_fail(errno, "open /dev/null");
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return berth_fail(EPERM, "host /dev/null is not the character device 1:3");
	}
	return fd;
}

static int mask_one(int rootfd, int nullfd, const char *path)
{
	cleanup_fd int target = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, true);
	cleanup_fd int tree = -1;
	struct stat st;

	if (target < 0 && errno == ENOENT)
		return 0;
	if (target < 0)
		return berth_fail(errno, "openat2 masked path %s", path);
	if (fstat(target, &st) < 0)
		return berth_fail(errno, "fstat masked path %s", path);
	if (S_ISDIR(st.st_mode)) {
		cleanup_fd int fsfd = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
		if (fsfd < 0 || sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			return berth_fail(errno, "create tmpfs to mask %s", path);
		tree = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	} else {
		tree = sys_open_tree(nullfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	}
	if (tree < 0)
		return berth_fail(errno, "prepare mask for %s", path);
	return attach(tree, target, NULL, path);
}

static int readonly_one(int rootfd, const char *path)
{
	cleanup_fd int target = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, true);
	cleanup_fd int tree = -1;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	if (target < 0 && errno == ENOENT)
		return 0;
	if (target < 0)
		return berth_fail(errno, "openat2 read-only path %s", path);
	tree = sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return berth_fail(errno, "open_tree read-only path %s", path);
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return berth_fail(errno, "mount_setattr read-only %s", path);
	return attach(tree, target, NULL, path);
}

int rootfs_protect(const struct container_spec *spec, int rootfd)
{
	cleanup_fd int nullfd = -1;
	int ret;

	if (spec->nmasked > 0) {
		nullfd = open_verified_null();
		if (nullfd < 0)
			return nullfd;
	}
	for (size_t i = 0; i < spec->nmasked; i++)
		if ((ret = mask_one(rootfd, nullfd, spec->masked[i])) < 0)
			return ret;
	for (size_t i = 0; i < spec->nreadonly; i++)
		if ((ret = readonly_one(rootfd, spec->readonly[i])) < 0)
			return ret;
	return 0;
}

int rootfs_pivot(const struct container_spec *spec, int rootfd)
{
	if (fchdir(rootfd) < 0)
		return berth_fail(errno, "fchdir %s", spec->root);
	/* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
	 * nothing of the host reachable from the mount table. */
	if (sys_pivot_root(".", ".") < 0)
		return berth_fail(errno, "pivot_root %s", spec->root);
	if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return berth_fail(errno, "mount old root as slave");
	if (umount2(".", MNT_DETACH) < 0)
		return berth_fail(errno, "umount2 old root");
	if (chdir("/") < 0)
		return berth_fail(errno, "chdir /");
	if (spec->rootfs_propagation != 0 && mount(NULL, "/", NULL, MS_REC | spec->rootfs_propagation, NULL) < 0)
		return berth_fail(errno, "mount / with propagation %lu", (unsigned long)spec->rootfs_propagation);
	if (spec->root_readonly) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		if (sys_mount_setattr(AT_FDCWD, "/", 0, &attr) < 0)
			return berth_fail(errno, "mount_setattr read-only /");
	}
	return 0;
}
