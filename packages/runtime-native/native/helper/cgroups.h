/* cgroup directories of one container, on any mix of v1 hierarchies and a v2 tree. The
 * TypeScript side decides the directories and the files to write; this code only applies them. */
#ifndef BERTH_CGROUPS_H
#define BERTH_CGROUPS_H

#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"

/* Create every cgroup directory, apply the resource writes and move `pid` in. */
int cgroups_enter(const struct container_spec *spec, pid_t pid);
/* Whether the memory cgroup recorded an OOM kill. */
bool cgroups_oom_killed(const struct container_spec *spec);
/* Kill whatever is left in the container's cgroups and remove the directories. */
void cgroups_remove(const struct container_spec *spec);

#endif
