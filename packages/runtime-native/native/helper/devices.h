/* Device nodes and the standard /dev symlinks of a container. */
#ifndef BERTH_DEVICES_H
#define BERTH_DEVICES_H

#include <stdbool.h>

#include "spec.h"

/* Create every spec device (mknod, or a bind of the host node inside a user namespace, where
 * mknod is not permitted) and the /dev/fd, stdio and ptmx symlinks. */
int devices_create(const struct container_spec *spec, int rootfd, bool in_userns);

#endif
