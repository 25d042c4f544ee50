import { MOUNT_ATTR, MS_PROPAGATION } from './kernel-constants';

/** Plan of one OCI mount: the attributes go to mount_setattr/fsmount, the rest to fsconfig. */
export interface MountPlan {
  kind: 'fs' | 'bind' | 'rbind';
  attr: number;
  setAtime: boolean;
  propagation: number;
  propagationRecursive: boolean;
  /** Filesystem options left after taking out the flags, comma-separated. */
  data: string;
}

const ATTR_FLAGS: Record<string, number> = {
  ro: MOUNT_ATTR.RDONLY,
  nosuid: MOUNT_ATTR.NOSUID,
  nodev: MOUNT_ATTR.NODEV,
  noexec: MOUNT_ATTR.NOEXEC,
  nodiratime: MOUNT_ATTR.NODIRATIME,
};

const ATIME_FLAGS: Record<string, number> = {
  relatime: MOUNT_ATTR.RELATIME,
  noatime: MOUNT_ATTR.NOATIME,
  strictatime: MOUNT_ATTR.STRICTATIME,
};

const PROPAGATION: Record<string, [number, boolean]> = {
  shared: [MS_PROPAGATION.SHARED, false], rshared: [MS_PROPAGATION.SHARED, true],
  slave: [MS_PROPAGATION.SLAVE, false], rslave: [MS_PROPAGATION.SLAVE, true],
  private: [MS_PROPAGATION.PRIVATE, false], rprivate: [MS_PROPAGATION.PRIVATE, true],
  unbindable: [MS_PROPAGATION.UNBINDABLE, false], runbindable: [MS_PROPAGATION.UNBINDABLE, true],
};

/** Options that only restate a default and need no action. */
const NO_OP = new Set(['rw', 'suid', 'dev', 'exec', 'atime', 'diratime', 'async', 'nostrictatime']);

/**
 * Splits OCI mount options into a MountPlan. Throws an Error naming the option for flags this
 * runtime does not support (for example "sync", "remount" or "idmap").
 */
export function planMount(type: string | undefined, options: readonly string[]): MountPlan {
  const plan: MountPlan = { kind: type === 'bind' ? 'bind' : 'fs', attr: 0, setAtime: false, propagation: 0, propagationRecursive: false, data: '' };
  const data: string[] = [];
  for (const option of options) {
    if (option === 'bind' || option === 'rbind') {
      plan.kind = option;
    } else if (option in ATTR_FLAGS) {
      plan.attr |= ATTR_FLAGS[option];
    } else if (option in ATIME_FLAGS) {
      plan.attr = (plan.attr & ~0x70) | ATIME_FLAGS[option];
      plan.setAtime = true;
    } else if (option in PROPAGATION) {
      [plan.propagation, plan.propagationRecursive] = PROPAGATION[option];
    } else if (NO_OP.has(option)) {
      continue;
    } else if (['sync', 'dirsync', 'remount', 'mand', 'nomand', 'idmap', 'ridmap', 'silent', 'loud'].includes(option)) {
      throw new Error(`mount option "${option}" is not supported`);
    } else {
      data.push(option);
    }
  }
  if (plan.kind !== 'fs' && data.length > 0) {
    throw new Error(`bind mounts take no filesystem options, got "${data.join(',')}"`);
  }
  plan.data = data.join(',');
  return plan;
}
