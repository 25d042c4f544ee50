import { defaultSeccompProfile } from './default-seccomp';
import { OciMount, OciSpec } from './oci-types';

/** The 14 capabilities Docker and containerd grant by default. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Paths hidden from containers: kernel memory, keys, timers and firmware interfaces. */
export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths a container may read but not write. */
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** Returns the standard mounts: /proc, /dev with devpts, shm and mqueue, read-only /sys and cgroups. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/** Settings a unit may change; everything else takes the Docker-like default. */
export interface DefaultSpecOptions {
  args: string[];
  /** Root filesystem, absolute or relative to the bundle. Default "rootfs". */
  rootPath?: string;
  rootReadonly?: boolean;
  hostname?: string;
  env?: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  additionalGids?: number[];
  capabilities?: string[];
  /** Default true; Docker's default is false, Berth turns it on. */
  noNewPrivileges?: boolean;
  /** Set false to run without the default seccomp profile. */
  seccomp?: boolean;
  /** Join this network namespace (a path such as /run/netns/x) instead of creating one. */
  networkNamespacePath?: string;
  cgroupsPath?: string;
  memoryLimitBytes?: number;
  /** Memory plus swap (OCI `memory.swap`); equal to memoryLimitBytes forbids swapping. */
  memorySwapBytes?: number;
  pidsLimit?: number;
  cpuShares?: number;
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
}

/**
 * Builds an OCI config with the defaults Docker and Podman apply when a unit sets nothing: the
 * 14-capability set, the masked and read-only paths, the default seccomp profile, and
 * no_new_privs on. Resource limits are left out unless given.
 */
export function defaultSpec(options: DefaultSpecOptions): OciSpec {
  const caps = options.capabilities ?? DEFAULT_CAPABILITIES;
  const memory = options.memoryLimitBytes !== undefined ? { limit: options.memoryLimitBytes, swap: options.memorySwapBytes } : undefined;
  const cpu =
    options.cpuShares !== undefined || options.cpuQuotaUs !== undefined
      ? { shares: options.cpuShares, quota: options.cpuQuotaUs, period: options.cpuQuotaUs !== undefined ? (options.cpuPeriodUs ?? 100000) : undefined }
      : undefined;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: options.uid ?? 0, gid: options.gid ?? 0, additionalGids: options.additionalGids },
      args: options.args,
      env: options.env ?? DEFAULT_ENV,
      cwd: options.cwd ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: options.noNewPrivileges ?? true,
    },
    root: { path: options.rootPath ?? 'rootfs', readonly: options.rootReadonly ?? false },
    hostname: options.hostname,
    mounts: defaultMounts(),
    linux: {
      namespaces: [
        { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
        options.networkNamespacePath ? { type: 'network', path: options.networkNamespacePath } : { type: 'network' },
      ],
      cgroupsPath: options.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory,
        cpu,
        pids: options.pidsLimit !== undefined ? { limit: options.pidsLimit } : undefined,
      },
      seccomp: options.seccomp === false ? undefined : defaultSeccompProfile(),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}
