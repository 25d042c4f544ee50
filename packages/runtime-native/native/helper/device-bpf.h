/* Device access control on cgroup v2: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE built
 * from the same rule list that v1 writes into devices.allow and devices.deny. */
#ifndef BERTH_DEVICE_BPF_H
#define BERTH_DEVICE_BPF_H

#include "spec.h"

/* Build the program from spec->device_rules, load it and attach it to the cgroup directory
 * spec->device_program_dir. Returns 0 or -errno with berth_err naming the step. */
int device_bpf_attach(const struct container_spec *spec);

#endif
