/* The per-container monitor: the container init's parent for the container's whole life. */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include "spec.h"

/* Create the container described by `spec` and supervise it until it exits.
 *
 * Reports "ok <pid>\n" or "err <errno> <message>\n" on `result_fd` once the container is created
 * (or failed), closes it, then waits for the init, records its exit in the state directory and
 * removes the cgroups. Returns the process exit status for the monitor. */
int monitor_run(struct container_spec *spec, int result_fd);

#endif
