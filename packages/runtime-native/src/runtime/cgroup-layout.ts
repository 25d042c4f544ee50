import { readFileSync } from 'node:fs';

/** One mounted cgroup v1 hierarchy. */
export interface V1Hierarchy {
  mountPoint: string;
  /** Controllers bound to it, or the name of a named hierarchy such as "name=systemd". */
  controllers: string[];
}

/**
 * The cgroup file systems of the host: `v2` is a pure unified host, `v1` has only v1
 * hierarchies, `hybrid` has v1 hierarchies plus a cgroup2 mount (typically /sys/fs/cgroup/unified).
 * A hybrid host is driven through its v1 hierarchies, as runc does; the cgroup2 mount is left alone.
 */
export interface CgroupLayout {
  mode: 'v1' | 'v2' | 'hybrid';
  v1: V1Hierarchy[];
  unifiedMount?: string;
}

const V1_OPTION_NOISE = new Set(['rw', 'ro', 'nosuid', 'nodev', 'noexec', 'relatime', 'noatime', 'xattr', 'clone_children', 'noprefix']);

/** Parses /proc/self/mountinfo text into a CgroupLayout. */
export function parseCgroupLayout(mountinfo: string): CgroupLayout {
  const v1: V1Hierarchy[] = [];
  let unifiedMount: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const mountPoint = unescapeMountinfo(line.slice(0, dash).split(' ')[4] ?? '');
    const [fsType, , superOptions = ''] = line.slice(dash + 3).split(' ');
    if (fsType === 'cgroup2') {
      unifiedMount ??= mountPoint;
    } else if (fsType === 'cgroup') {
      const controllers = superOptions.split(',').filter((o) => !V1_OPTION_NOISE.has(o) && !o.startsWith('release_agent='));
      v1.push({ mountPoint, controllers });
    }
  }
  if (v1.length === 0 && unifiedMount) return { mode: 'v2', v1, unifiedMount };
  if (v1.length === 0) throw new Error('no cgroup file system is mounted (checked /proc/self/mountinfo)');
  return unifiedMount ? { mode: 'hybrid', v1, unifiedMount } : { mode: 'v1', v1 };
}

function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

let cachedLayout: CgroupLayout | undefined;

/** Detects the host's layout once per process. */
export function detectCgroupLayout(): CgroupLayout {
  cachedLayout ??= parseCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  return cachedLayout;
}

/** Returns the hierarchy that `controller` is bound to, if it is mounted as v1. */
export function v1Hierarchy(layout: CgroupLayout, controller: string): V1Hierarchy | undefined {
  return layout.v1.find((h) => h.controllers.includes(controller));
}
