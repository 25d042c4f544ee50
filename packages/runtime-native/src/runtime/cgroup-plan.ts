import { join } from 'node:path';

import { CgroupLayout, v1Hierarchy } from './cgroup-layout';
import { OciDeviceRule, OciResources } from './oci-types';

/** One file write into a container cgroup directory. */
export interface CgroupWrite {
  dir: string;
  file: string;
  value: string;
}

/** Cgroup work for the helper: it creates and joins `dirs`, then applies `writes` in order. */
export interface CgroupPlan {
  dirs: string[];
  writes: CgroupWrite[];
  /** memory.oom_control (v1) or memory.events (v2) of the container, read after exit. */
  oomEventsFile?: string;
  /** v2 only: the cgroup that gets an eBPF device program built from `deviceRules`. */
  deviceProgramDir?: string;
  /** Device rules in spec order; the last matching rule decides. */
  deviceRules?: OciDeviceRule[];
}

/**
 * Device rules every container gets after its own rules, the list runc and crun apply: mknod
 * of anything, and read/write on the standard character devices and pseudo-terminals.
 */
export const DEFAULT_DEVICE_RULES: OciDeviceRule[] = [
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  ...[3, 5, 7, 8, 9].map((minor) => ({ allow: true, type: 'c', major: 1, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' },
];

/** A spec value this cgroup version cannot express. */
export class CgroupPlanError extends Error {}

/**
 * Translates OCI `linux.resources` into directory and file writes for the host layout. The
 * container cgroup is `cgroupsPath` under every hierarchy (v1) or under the unified mount (v2).
 * Throws CgroupPlanError for values the host's cgroup version cannot enforce.
 */
export function planCgroups(layout: CgroupLayout, cgroupsPath: string, resources: OciResources = {}, extraDeviceRules: OciDeviceRule[] = []): CgroupPlan {
  if (!cgroupsPath.startsWith('/') || cgroupsPath.split('/').includes('..')) {
    throw new CgroupPlanError(`cgroupsPath "${cgroupsPath}" must be an absolute path without ".."`);
  }
  const deviceRules = [...(resources.devices ?? []), ...extraDeviceRules, ...DEFAULT_DEVICE_RULES];
  return layout.mode === 'v2' ? planV2(layout, cgroupsPath, resources, deviceRules) : planV1(layout, cgroupsPath, resources, deviceRules);
}

function planV1(layout: CgroupLayout, path: string, r: OciResources, deviceRules: OciDeviceRule[]): CgroupPlan {
  if (r.unified && Object.keys(r.unified).length > 0) {
    throw new CgroupPlanError('linux.resources.unified needs a cgroup v2 host; this host uses cgroup v1');
  }
  const dirs = layout.v1.map((h) => join(h.mountPoint, path));
  const writes: CgroupWrite[] = [];
  const at = (controller: string) => {
    const h = v1Hierarchy(layout, controller);
    return h ? join(h.mountPoint, path) : undefined;
  };
  const add = (controller: string, file: string, value: string | number | undefined) => {
    if (value === undefined) return;
    const dir = at(controller);
    if (!dir) throw new CgroupPlanError(`the ${controller} controller is not mounted, so ${file} cannot be set`);
    writes.push({ dir, file, value: String(value) });
  };

  add('memory', 'memory.limit_in_bytes', r.memory?.limit);
  add('memory', 'memory.soft_limit_in_bytes', r.memory?.reservation);
  add('memory', 'memory.memsw.limit_in_bytes', r.memory?.swap);
  add('cpu', 'cpu.shares', r.cpu?.shares);
  add('cpu', 'cpu.cfs_period_us', r.cpu?.period);
  add('cpu', 'cpu.cfs_quota_us', r.cpu?.quota);
  add('cpuset', 'cpuset.cpus', r.cpu?.cpus);
  add('cpuset', 'cpuset.mems', r.cpu?.mems);
  add('pids', 'pids.max', r.pids ? pidsValue(r.pids.limit) : undefined);
  if (at('devices')) {
    writes.push({ dir: at('devices') as string, file: 'devices.deny', value: 'a' });
    for (const rule of deviceRules) {
      writes.push({ dir: at('devices') as string, file: rule.allow ? 'devices.allow' : 'devices.deny', value: deviceRuleText(rule) });
    }
  }
  const memory = at('memory');
  return { dirs, writes, oomEventsFile: memory ? join(memory, 'memory.oom_control') : undefined };
}

function planV2(layout: CgroupLayout, path: string, r: OciResources, deviceRules: OciDeviceRule[]): CgroupPlan {
  const plan = planV2Resources(layout, path, r);
  // v2 has no devices.* files: the helper compiles these rules into a BPF_PROG_TYPE_CGROUP_DEVICE
  // program, with a deny-all default like `devices.deny a` on v1.
  return { ...plan, deviceProgramDir: plan.dirs[0], deviceRules };
}

/** Plans the v2 directory and file writes for `r`, without device rules. Exported for tests. */
export function planV2Resources(layout: CgroupLayout, path: string, r: OciResources): CgroupPlan {
  const root = layout.unifiedMount as string;
  const dir = join(root, path);
  const writes: CgroupWrite[] = [];
  const enabled = new Set<string>();
  const add = (controller: string, file: string, value: string | number | undefined) => {
    if (value === undefined) return;
    enabled.add(controller);
    writes.push({ dir, file, value: String(value) });
  };

  add('memory', 'memory.max', r.memory?.limit);
  add('memory', 'memory.low', r.memory?.reservation);
  add('memory', 'memory.swap.max', swapV2(r.memory?.limit, r.memory?.swap));
  add('cpu', 'cpu.weight', r.cpu?.shares !== undefined ? sharesToWeight(r.cpu.shares) : undefined);
  if (r.cpu?.quota !== undefined || r.cpu?.period !== undefined) {
    const quota = r.cpu?.quota === undefined || r.cpu.quota < 0 ? 'max' : String(r.cpu.quota);
    add('cpu', 'cpu.max', `${quota} ${r.cpu?.period ?? 100000}`);
  }
  add('cpuset', 'cpuset.cpus', r.cpu?.cpus);
  add('cpuset', 'cpuset.mems', r.cpu?.mems);
  add('pids', 'pids.max', r.pids ? pidsValue(r.pids.limit) : undefined);
  for (const [file, value] of Object.entries(r.unified ?? {})) {
    if (file.includes('/') || file.startsWith('.')) throw new CgroupPlanError(`linux.resources.unified key "${file}" is not a cgroup file name`);
    add(file.split('.')[0], file, value);
  }

  // The leaf gets a controller only when every ancestor lists it in cgroup.subtree_control.
  const control = [...enabled].map((c) => `+${c}`).join(' ');
  const parts = path.split('/').filter(Boolean);
  const ancestors = parts.map((_, i) => join(root, ...parts.slice(0, i)));
  const enable = control ? ancestors.map((ancestor) => ({ dir: ancestor, file: 'cgroup.subtree_control', value: control })) : [];
  const oomEventsFile = enabled.has('memory') ? join(dir, 'memory.events') : undefined;
  return { dirs: [dir], writes: [...enable, ...writes], oomEventsFile };
}

function pidsValue(limit: number): string {
  return limit > 0 ? String(limit) : 'max';
}

/** memory.swap.max counts swap alone while OCI's swap is memory plus swap. */
function swapV2(limit: number | undefined, swap: number | undefined): string | undefined {
  if (swap === undefined) return undefined;
  if (swap < 0) return 'max';
  if (limit === undefined || limit < 0) throw new CgroupPlanError('linux.resources.memory.swap needs memory.limit on cgroup v2');
  if (swap < limit) throw new CgroupPlanError(`memory.swap (${swap}) must be at least memory.limit (${limit})`);
  return String(swap - limit);
}

/**
 * Maps cgroup v1 cpu.shares (2..262144, default 1024) to v2 cpu.weight (1..10000) with the
 * linear formula runc and crun used before 2025, so shares 1024 become weight 39.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 100;
  const clamped = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((clamped - 2) * 9999) / 262142);
}

function deviceRuleText(rule: OciDeviceRule): string {
  const number = (n: number | undefined) => (n === undefined || n < 0 ? '*' : String(n));
  const type = rule.type ?? 'a';
  if (type === 'a') return 'a';
  return `${type} ${number(rule.major)}:${number(rule.minor)} ${rule.access ?? 'rwm'}`;
}
