/* The container's first process: builds the container from inside its namespaces, waits for
 * `start`, then executes the user program. */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#include "security.h"
#include "spec.h"

/* Messages on the monitor/init sync socket. */
#define SYNC_GO 'g'    /* monitor -> init: id maps and cgroups are in place */
#define SYNC_READY 'r' /* init -> monitor: set up, blocked on the start FIFO */
#define SYNC_ERROR 'e' /* init -> monitor: followed by "<errno> <message>" */

/* Never returns: exits 1 after reporting a setup failure on `sync_fd`, 127 when exec fails.
 * `filter` is the seccomp program the monitor compiled before the clone. `fifo` is the start FIFO, opened read-write by the monitor: the init may lack the permission
 * to open the state directory itself once it runs as a mapped user. */
__attribute__((noreturn)) void container_init(const struct container_spec *spec, const struct compiled_filter *filter,
					     int sync_fd, int fifo);

#endif
