import { UnitSpecError } from '../errors';

/** Every capability Linux 6.x defines, in `CAP_` form. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all become `CAP_NET_ADMIN`; `ALL` stays `ALL`. */
export function normalizeCapability(unit: string, name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw new UnitSpecError(unit, `unknown capability "${name}" in AddCapability=/DropCapability=`);
  return full;
}

/**
 * Applies `AddCapability=` and `DropCapability=` to the runtime's default set. Drops apply first,
 * then adds, so `DropCapability=ALL` with `AddCapability=NET_BIND_SERVICE` keeps only that one.
 */
export function applyCapabilityChanges(unit: string, defaults: string[], add: string[], drop: string[]): string[] {
  const adds = add.map((name) => normalizeCapability(unit, name));
  const drops = drop.map((name) => normalizeCapability(unit, name));
  let result = drops.includes('ALL') ? [] : defaults.filter((name) => !drops.includes(name));
  const toAdd = adds.includes('ALL') ? ALL_CAPABILITIES : adds;
  for (const name of toAdd) if (!result.includes(name)) result = [...result, name];
  return result;
}
