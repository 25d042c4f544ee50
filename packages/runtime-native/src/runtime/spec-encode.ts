import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';

import { CgroupLayout } from './cgroup-layout';
import { CgroupPlan, CgroupPlanError, planCgroups } from './cgroup-plan';
import { InvalidSpecError } from './errors';
import { CAPABILITIES, EPERM, MS_PROPAGATION, NAMESPACES, RLIMITS, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_OPS } from './kernel-constants';
import { planMount } from './mount-options';
import { OciDevice, OciDeviceRule, OciMount, OciSpec } from './oci-types';

/** Everything `encodeSpec` needs besides the config itself. */
export interface EncodeInput {
  id: string;
  stateDir: string;
  /** Absolute bundle directory; relative root and bind sources resolve against it. */
  bundle: string;
  spec: OciSpec;
  stdoutPath?: string;
  stderrPath?: string;
  /** The caller passes open descriptors for these instead of paths. */
  stdoutFd?: number;
  stderrFd?: number;
  /** Run the minimal init as PID 1 with the program as its child. */
  init?: boolean;
  layout: CgroupLayout;
  /**
   * Directory where compiled seccomp programs are cached by a hash of the profile. It must be
   * writable by root only: a program read from it is loaded without further checks.
   */
  seccompCacheDir?: string;
}

/** The serialised spec for the helper and the cgroup directories it will create. */
export interface EncodedSpec {
  blob: Buffer;
  cgroups: CgroupPlan;
}

const DEFAULT_DEVICES: OciDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
];

/**
 * Netstring writer: every field is "LEN:BYTES," so values may hold any byte but NUL. Fields are
 * kept as strings and converted once, which is several times faster than a Buffer per field for
 * the few thousand fields of a spec with the default seccomp profile.
 */
class RecordWriter {
  private readonly parts: string[] = [];
  record(key: string, ...fields: (string | number | bigint | boolean)[]): void {
    this.parts.push(netstring(key));
    for (const field of fields) this.parts.push(netstring(typeof field === 'boolean' ? (field ? '1' : '0') : String(field)));
  }
  /** Position to pass to `since`. */
  mark(): number {
    return this.parts.length;
  }
  /** Returns the encoded text recorded after `mark`. */
  since(mark: number): string {
    return this.parts.slice(mark).join('');
  }
  /** Appends text that `since` returned earlier. */
  append(encoded: string): void {
    this.parts.push(encoded);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.parts.join(''), 'utf8');
  }
}

function netstring(text: string): string {
  return `${Buffer.byteLength(text, 'utf8')}:${text},`;
}

/**
 * Validates an OCI config and serialises it for the helper. Throws InvalidSpecError naming the
 * bundle and the field for anything invalid or unsupported.
 */
export function encodeSpec(input: EncodeInput): EncodedSpec {
  const { spec, bundle } = input;
  const fail = (field: string, detail: string): never => {
    throw new InvalidSpecError(bundle, field, detail);
  };
  const w = new RecordWriter();
  if (typeof spec.ociVersion !== 'string' || !spec.ociVersion.startsWith('1.')) fail('ociVersion', `expected 1.x, got ${JSON.stringify(spec.ociVersion)}`);
  if (!spec.root?.path) fail('root.path', 'missing');
  const root = resolve(bundle, spec.root!.path);
  w.record('id', input.id);
  w.record('stateDir', input.stateDir);
  w.record('root', root, spec.root!.readonly === true);
  if (input.stdoutPath) w.record('stdout', input.stdoutPath);
  if (input.stderrPath) w.record('stderr', input.stderrPath);
  w.record('init', input.init === true);
  w.record('inheritStdio', input.stdoutFd !== undefined && input.stdoutFd >= 0, input.stderrFd !== undefined && input.stderrFd >= 0);

  rejectUnsupported(spec, fail);
  const namespaces = encodeNamespaces(w, spec, fail);
  encodeProcess(w, spec, fail);
  if (spec.hostname !== undefined) {
    if (!namespaces.has('uts')) fail('hostname', 'setting a hostname needs a new uts namespace');
    w.record('hostname', spec.hostname);
  }
  encodeMounts(w, spec, bundle, input, fail);
  encodePaths(w, spec, fail);
  encodeSysctls(w, spec, namespaces, fail);
  const deviceRules = encodeDevices(w, spec, fail);
  encodeSeccomp(w, spec, fail, input.seccompCacheDir);

  const cgroups = planContainerCgroups(input, deviceRules, fail);
  for (const dir of cgroups.dirs) w.record('cgroupDir', dir);
  for (const write of cgroups.writes) w.record('cgroupWrite', write.dir, write.file, write.value);
  if (cgroups.oomEventsFile) w.record('oomEvents', cgroups.oomEventsFile);
  if (cgroups.deviceProgramDir) {
    w.record('deviceProgramDir', cgroups.deviceProgramDir);
    for (const rule of cgroups.deviceRules ?? []) w.record('deviceRule', ...deviceRuleFields(rule));
  }
  return { blob: w.toBuffer(), cgroups };
}

type Fail = (field: string, detail: string) => never;

/**
 * Fields this runtime does not implement. A spec that sets one is rejected rather than run
 * without what it asked for.
 */
// TODO: hooks, terminal mode, time namespace offsets and LSM labels are not implemented yet.
const UNSUPPORTED_FIELDS: [string, (spec: OciSpec) => unknown][] = [
  ['hooks', (s) => (s as { hooks?: Record<string, unknown[]> }).hooks],
  ['process.apparmorProfile', (s) => (s.process as { apparmorProfile?: string } | undefined)?.apparmorProfile],
  ['process.selinuxLabel', (s) => (s.process as { selinuxLabel?: string } | undefined)?.selinuxLabel],
  ['process.ioPriority', (s) => (s.process as { ioPriority?: unknown } | undefined)?.ioPriority],
  ['process.scheduler', (s) => (s.process as { scheduler?: unknown } | undefined)?.scheduler],
  ['linux.timeOffsets', (s) => (s.linux as { timeOffsets?: unknown } | undefined)?.timeOffsets],
  ['linux.mountLabel', (s) => (s.linux as { mountLabel?: string } | undefined)?.mountLabel],
  ['linux.intelRdt', (s) => (s.linux as { intelRdt?: unknown } | undefined)?.intelRdt],
  ['linux.personality', (s) => (s.linux as { personality?: unknown } | undefined)?.personality],
];

function rejectUnsupported(spec: OciSpec, fail: Fail): void {
  for (const [field, read] of UNSUPPORTED_FIELDS) {
    const value = read(spec);
    const empty = value === undefined || value === '' || (typeof value === 'object' && value !== null && Object.values(value).every((v) => Array.isArray(v) && v.length === 0));
    if (!empty) fail(field, 'is not supported by this runtime; remove it from config.json');
  }
}

/** Returns a map from namespace type to its join path ('' for a new namespace). */
function encodeNamespaces(w: RecordWriter, spec: OciSpec, fail: Fail): Map<string, string> {
  const seen = new Map<string, string>();
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    const field = `linux.namespaces[${i}]`;
    if (!(ns.type in NAMESPACES)) fail(field, `unknown namespace type "${ns.type}"`);
    if (seen.has(ns.type)) fail(field, `namespace "${ns.type}" is listed twice`);
    if (ns.path !== undefined && !isAbsolute(ns.path)) fail(`${field}.path`, `expected an absolute path, got "${ns.path}"`);
    seen.set(ns.type, ns.path ?? '');
    w.record('namespace', NAMESPACES[ns.type], ns.path ?? '');
  }
  if (seen.get('mount') !== '') fail('linux.namespaces', 'a new mount namespace is required (pivot_root happens inside it)');
  // A new user namespace is created by the same clone as the others, so the init could not join
  // namespaces owned by the host's user namespace afterwards. Joining a user namespace instead
  // goes through the helper's bootstrap, which joins it first.
  const joins = [...seen.values()].some((path) => path !== '');
  if (seen.get('user') === '' && joins) fail('linux.namespaces', 'joining namespaces together with a new user namespace is not supported');
  encodeIdMaps(w, spec, seen.get('user') === '', fail);
  return seen;
}

function encodeIdMaps(w: RecordWriter, spec: OciSpec, userns: boolean, fail: Fail): void {
  const uid = spec.linux?.uidMappings ?? [];
  const gid = spec.linux?.gidMappings ?? [];
  if (!userns && (uid.length > 0 || gid.length > 0)) fail('linux.uidMappings', 'id mappings need a new user namespace (a joined one keeps its own)');
  if (userns && (uid.length === 0 || gid.length === 0)) fail('linux.uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  const text = (maps: typeof uid, field: string) =>
    maps
      .map((m, i) => {
        for (const key of ['containerID', 'hostID', 'size'] as const) {
          if (!Number.isInteger(m[key]) || m[key] < 0) fail(`${field}[${i}].${key}`, `expected a non-negative integer, got ${JSON.stringify(m[key])}`);
        }
        return `${m.containerID} ${m.hostID} ${m.size}\n`;
      })
      .join('');
  if (userns) {
    w.record('uidMap', text(uid, 'linux.uidMappings'));
    w.record('gidMap', text(gid, 'linux.gidMappings'));
  }
}

function encodeProcess(w: RecordWriter, spec: OciSpec, fail: Fail): void {
  const p = spec.process;
  if (!p) return fail('process', 'missing');
  if (p.terminal) fail('process.terminal', 'terminal: true is not supported; output goes to log files');
  if (!Array.isArray(p.args) || p.args.length === 0 || p.args.some((a) => typeof a !== 'string')) fail('process.args', 'expected a non-empty array of strings');
  for (const arg of p.args!) w.record('arg', checkNoNul(arg, 'process.args', fail));
  for (const env of p.env ?? []) {
    if (!env.includes('=')) fail('process.env', `expected KEY=VALUE, got "${env}"`);
    w.record('env', checkNoNul(env, 'process.env', fail));
  }
  if (typeof p.cwd !== 'string' || !p.cwd.startsWith('/')) fail('process.cwd', `expected an absolute path, got ${JSON.stringify(p.cwd)}`);
  w.record('cwd', p.cwd);
  const user = p.user ?? { uid: 0, gid: 0 };
  w.record('user', user.uid, user.gid, user.umask ?? 0o022);
  for (const gid of user.additionalGids ?? []) w.record('group', gid);
  w.record('caps', ...(['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const).map((set) => capMask(p.capabilities?.[set] ?? [], `process.capabilities.${set}`, fail)));
  w.record('noNewPrivileges', p.noNewPrivileges === true);
  if (p.oomScoreAdj !== undefined) {
    if (!Number.isInteger(p.oomScoreAdj) || p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000) fail('process.oomScoreAdj', `expected -1000..1000, got ${p.oomScoreAdj}`);
    w.record('oomScoreAdj', p.oomScoreAdj);
  }
  for (const [i, rl] of (p.rlimits ?? []).entries()) {
    if (!(rl.type in RLIMITS)) fail(`process.rlimits[${i}].type`, `unknown rlimit "${rl.type}"`);
    w.record('rlimit', RLIMITS[rl.type], BigInt.asUintN(64, BigInt(rl.soft)), BigInt.asUintN(64, BigInt(rl.hard)));
  }
}

function checkNoNul(value: string, field: string, fail: Fail): string {
  if (value.includes('\0')) fail(field, 'values must not contain NUL bytes');
  return value;
}

function capMask(names: string[], field: string, fail: Fail): string {
  let mask = 0n;
  for (const name of names) {
    if (!(name in CAPABILITIES)) fail(field, `unknown capability "${name}"`);
    mask |= 1n << BigInt(CAPABILITIES[name]);
  }
  return `0x${mask.toString(16)}`;
}

function encodeMounts(w: RecordWriter, spec: OciSpec, bundle: string, input: EncodeInput, fail: Fail): void {
  for (const [i, mount] of (spec.mounts ?? []).entries()) {
    const field = `mounts[${i}]`;
    if (typeof mount.destination !== 'string' || !mount.destination.startsWith('/')) fail(`${field}.destination`, `expected an absolute path, got ${JSON.stringify(mount.destination)}`);
    if (mount.type === 'cgroup') {
      expandCgroupMount(w, mount, input);
      continue;
    }
    let plan;
    try {
      plan = planMount(mount.type, mount.options ?? []);
    } catch (error) {
      return fail(`${field}.options`, (error as Error).message);
    }
    const source = plan.kind === 'fs' ? (mount.source ?? '') : resolve(bundle, mount.source ?? '');
    if (plan.kind === 'fs' && !mount.type) fail(`${field}.type`, 'missing for a non-bind mount');
    w.record('mount', mount.destination, plan.kind === 'fs' ? mount.type! : 'bind', source, plan.kind, plan.attr, plan.setAtime, plan.propagation, plan.propagationRecursive, plan.data);
  }
  const propagation: Record<string, number> = {
    shared: MS_PROPAGATION.SHARED, rshared: MS_PROPAGATION.SHARED, slave: MS_PROPAGATION.SLAVE, rslave: MS_PROPAGATION.SLAVE,
    private: MS_PROPAGATION.PRIVATE, rprivate: MS_PROPAGATION.PRIVATE, unbindable: MS_PROPAGATION.UNBINDABLE, runbindable: MS_PROPAGATION.UNBINDABLE,
  };
  const rootProp = spec.linux?.rootfsPropagation;
  if (rootProp !== undefined) {
    if (!(rootProp in propagation)) fail('linux.rootfsPropagation', `unknown propagation "${rootProp}"`);
    w.record('rootfsPropagation', propagation[rootProp]);
  }
}

/**
 * Expands a "cgroup" mount into what the container may see of its own cgroups: on v1 a tmpfs with a
 * read-only bind of the container's directory per hierarchy, on v2 a bind of the leaf. Options
 * other than "ro" do not apply to the binds.
 */
function expandCgroupMount(w: RecordWriter, mount: OciMount, input: EncodeInput): void {
  const dest = mount.destination.replace(/\/+$/, '');
  const path = input.spec.linux?.cgroupsPath ?? defaultCgroupsPath(input.id);
  const ro = (mount.options ?? []).includes('ro') ? 1 : 0;
  const nosuid = 0x2 | 0x4 | 0x8;
  if (input.layout.mode === 'v2') {
    w.record('mount', dest, 'bind', `${input.layout.unifiedMount}${path}`, 'bind', ro | nosuid, false, 0, false, '');
    return;
  }
  w.record('mount', dest, 'tmpfs', 'cgroup', 'fs', nosuid, false, 0, false, 'mode=755');
  for (const h of input.layout.v1) {
    const name = h.mountPoint.split('/').pop() as string;
    w.record('mount', `${dest}/${name}`, 'bind', `${h.mountPoint}${path}`, 'bind', ro | nosuid, false, 0, false, '');
  }
  if (ro) w.record('readonly', dest);
}

function encodePaths(w: RecordWriter, spec: OciSpec, fail: Fail): void {
  for (const [key, list] of [['masked', spec.linux?.maskedPaths], ['readonly', spec.linux?.readonlyPaths]] as const) {
    for (const path of list ?? []) {
      if (!path.startsWith('/')) fail(`linux.${key}Paths`, `expected an absolute path, got "${path}"`);
      w.record(key, path);
    }
  }
}

/**
 * Accepts only sysctls that live in a namespace the container owns, so none can change the
 * host. The value is passed through untouched and never split on separators.
 */
export function checkSysctl(key: string, namespaces: Map<string, string>): string | undefined {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_@:-]+)+$/.test(key)) return 'is not a valid sysctl name';
  const ipc = ['kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced', 'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni'];
  if (ipc.includes(key) || key.startsWith('fs.mqueue.')) return namespaces.get('ipc') === '' ? undefined : 'needs a new ipc namespace';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return namespaces.get('uts') === '' ? undefined : 'needs a new uts namespace';
  if (key.startsWith('net.')) return namespaces.has('network') ? undefined : 'needs a network namespace';
  return 'is not namespaced, so a container may not set it';
}

function encodeSysctls(w: RecordWriter, spec: OciSpec, namespaces: Map<string, string>, fail: Fail): void {
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    const problem = checkSysctl(key, namespaces);
    if (problem) fail(`linux.sysctl["${key}"]`, problem);
    if (typeof value !== 'string') fail(`linux.sysctl["${key}"]`, `expected a string value, got ${typeof value}`);
    w.record('sysctl', key, checkNoNul(value, `linux.sysctl["${key}"]`, fail));
  }
}

/** Returns the cgroup allow rules the spec devices need. */
function encodeDevices(w: RecordWriter, spec: OciSpec, fail: Fail): OciDeviceRule[] {
  const devices = [...(spec.linux?.devices ?? [])];
  for (const def of DEFAULT_DEVICES) if (!devices.some((d) => d.path === def.path)) devices.push(def);
  const rules: OciDeviceRule[] = [];
  const typeBits: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };
  for (const [i, d] of devices.entries()) {
    const field = `linux.devices[${i}]`;
    if (!(d.type in typeBits)) fail(`${field}.type`, `expected c, u, b or p, got "${d.type}"`);
    if (!d.path.startsWith('/dev/')) fail(`${field}.path`, `expected a path under /dev, got "${d.path}"`);
    if (d.type !== 'p' && (!Number.isInteger(d.major) || !Number.isInteger(d.minor))) fail(field, 'major and minor are required');
    const mode = typeBits[d.type] | ((d.fileMode ?? 0o666) & 0o7777);
    w.record('device', d.path, mode, d.major ?? 0, d.minor ?? 0, d.uid ?? 0, d.gid ?? 0);
    if (d.type !== 'p') rules.push({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major, minor: d.minor, access: 'rwm' });
  }
  return rules;
}

/** Encoded seccomp sections by profile and cache directory; most profiles are Docker's default. */
const seccompMemo = new Map<string, string>();
const SECCOMP_MEMO_MAX = 32;

/**
 * Encodes `linux.seccomp`. Docker's profile alone is a few thousand fields, and encoding and
 * hashing it took about 0.4 ms of every create, so a profile seen before reuses its encoding.
 */
function encodeSeccomp(w: RecordWriter, spec: OciSpec, fail: Fail, cacheDir: string | undefined): void {
  const sc = spec.linux?.seccomp;
  if (!sc) return;
  let memoKey: string | undefined;
  try {
    memoKey = `${cacheDir ?? ''}\n${JSON.stringify(sc)}`;
  } catch {
    // Not JSON (a BigInt from a caller that built the spec in code): encode without the memo.
  }
  const memo = memoKey === undefined ? undefined : seccompMemo.get(memoKey);
  if (memo !== undefined) {
    w.append(memo);
    return;
  }
  const start = w.mark();
  encodeSeccompRecords(w, sc, fail, cacheDir);
  if (memoKey === undefined) return;
  if (seccompMemo.size >= SECCOMP_MEMO_MAX) seccompMemo.delete(seccompMemo.keys().next().value as string);
  seccompMemo.set(memoKey, w.since(start));
}

function encodeSeccompRecords(w: RecordWriter, sc: NonNullable<NonNullable<OciSpec['linux']>['seccomp']>, fail: Fail, cacheDir: string | undefined): void {
  const start = w.mark();
  const action = (name: string, errno: number | undefined, field: string) => {
    if (!(name in SECCOMP_ACTIONS)) fail(field, `unknown seccomp action "${name}"`);
    return SECCOMP_ACTIONS[name](errno ?? EPERM);
  };
  w.record('seccomp', action(sc.defaultAction, sc.defaultErrnoRet, 'linux.seccomp.defaultAction'));
  for (const arch of sc.architectures ?? []) {
    if (!(arch in SECCOMP_ARCHES)) fail('linux.seccomp.architectures', `unknown architecture "${arch}"`);
    w.record('seccompArch', SECCOMP_ARCHES[arch]);
  }
  for (const [i, rule] of (sc.syscalls ?? []).entries()) {
    const field = `linux.seccomp.syscalls[${i}]`;
    const act = action(rule.action, rule.errnoRet, `${field}.action`);
    const args = (rule.args ?? []).flatMap((arg, j) => {
      if (!(arg.op in SECCOMP_OPS)) fail(`${field}.args[${j}].op`, `unknown operator "${arg.op}"`);
      if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) fail(`${field}.args[${j}].index`, 'expected 0..5');
      return [arg.index, SECCOMP_OPS[arg.op], BigInt(arg.value), BigInt(arg.valueTwo ?? 0)];
    });
    for (const name of rule.names) w.record('seccompRule', name, act, rule.args?.length ?? 0, ...args);
  }
  if (cacheDir) {
    // The key covers exactly the records the program is compiled from, and how the helper
    // compiles them.
    const key = createHash('sha256').update(SECCOMP_COMPILER_VERSION).update(w.since(start), 'utf8').digest('hex');
    w.record('seccompCache', join(cacheDir, `${key}.bpf`));
  }
}

/** Changes whenever the helper compiles the same records into a different program, so that
 * programs cached by an earlier version are not reused. 2: binary-tree optimization. */
const SECCOMP_COMPILER_VERSION = 'berth-seccomp-2';

const DEVICE_ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 };

/** Fields of a deviceRule record: allow, type, major, minor (-1 for any) and access bits. */
function deviceRuleFields(rule: OciDeviceRule): [boolean, string, number, number, number] {
  const access = [...(rule.access ?? 'rwm')].reduce((bits, ch) => bits | (DEVICE_ACCESS_BITS[ch] ?? 0), 0);
  const type = rule.type === 'b' || rule.type === 'c' ? rule.type : 'a';
  return [rule.allow, type, rule.major ?? -1, rule.minor ?? -1, access];
}

/** cgroupsPath used when the spec names none. */
export function defaultCgroupsPath(id: string): string {
  return `/berth/${id}`;
}

function planContainerCgroups(input: EncodeInput, deviceRules: OciDeviceRule[], fail: Fail): CgroupPlan {
  const raw = input.spec.linux?.cgroupsPath ?? defaultCgroupsPath(input.id);
  const path = raw.startsWith('/') ? raw : `/${raw}`;
  try {
    return planCgroups(input.layout, path, input.spec.linux?.resources, deviceRules);
  } catch (error) {
    if (error instanceof CgroupPlanError) return fail('linux.resources', error.message);
    throw error;
  }
}
