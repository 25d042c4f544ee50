/* Root filesystem assembly inside the container's mount namespace. */
#ifndef BERTH_ROOTFS_H
#define BERTH_ROOTFS_H

#include <stdbool.h>

#include "spec.h"

/* Make the host's mounts non-propagating, bind the root onto itself and return an O_PATH fd for
 * the new root mount in `*rootfd`. */
int rootfs_bind(const struct container_spec *spec, int *rootfd);
/* Mount every spec mount, create the device nodes and the /dev symlinks. */
int rootfs_mount_all(const struct container_spec *spec, int rootfd, bool in_userns);
/* Mask and write-protect paths; runs after the mounts so /proc and /sys are the new ones. */
int rootfs_protect(const struct container_spec *spec, int rootfd);
/* pivot_root into `rootfd`, detach the old root and apply root.readonly. */
int rootfs_pivot(const struct container_spec *spec, int rootfd);

/* openat2 `path` under `rootfd` with RESOLVE_IN_ROOT; `strict` also rejects every symlink. */
int open_in_root(int rootfd, const char *path, int flags, bool strict);
/* Resolve `dest` inside the root to an O_PATH fd, creating it (a file when `is_file`). */
int resolve_destination(int rootfd, const char *dest, bool is_file, int *out);

#endif
