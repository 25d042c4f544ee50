export { Runtime, RuntimeOptions, CreateOptions, DEFAULT_RUN_DIR, parseSignal } from './runtime';
export { defaultSpec, DefaultSpecOptions, defaultMounts, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, DEFAULT_ENV } from './default-spec';
export { defaultSeccompProfile } from './default-seccomp';
export { ContainerState, OciSpec, OciMount, OciLinux, OciProcess, OciResources, OciSeccomp } from './oci-types';
export { CgroupLayout, detectCgroupLayout, parseCgroupLayout } from './cgroup-layout';
export { planCgroups, CgroupPlan, sharesToWeight } from './cgroup-plan';
export * from './errors';
