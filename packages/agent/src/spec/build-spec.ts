import { posix } from 'node:path';
import type { ContainerSpec } from '@berth/unitfile';
import { UnitSpecError } from '../errors';
import { applyCapabilityChanges } from './capabilities';
import { mergeEnvironment } from './environment';
import { ImageRunConfig } from './image-config';
import { OciMount, OciNamespace, OciSpec } from './oci-types';
import { ResolvedUser } from './user';

/** CFS period used to express `CPUQuota`-style limits; the kernel default. */
export const CPU_PERIOD_US = 100_000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Annotations that let a restarted agent recognise its containers. */
export const ANNOTATION_UNIT = 'org.berth.unit';
export const ANNOTATION_HASH = 'org.berth.unit-hash';
export const ANNOTATION_IMAGE_DIGEST = 'org.berth.image-digest';

/** The network a container joins, from the host network's setup. */
export interface SpecNetwork {
  mode: 'bridge' | 'host' | 'none';
  /** Namespace file to join; absent in host mode. */
  netnsPath?: string;
  hostname: string;
  etcFiles?: { hosts: string; hostname: string; resolvConf: string };
}

/** Everything the spec is built from; the caller has already read files and resolved the user. */
export interface SpecInput {
  unit: string;
  unitHash: string;
  container: ContainerSpec;
  image: ImageRunConfig;
  imageDigest: string;
  /** The runtime's default spec (capabilities, masked paths, seccomp, mounts). Not modified. */
  base: OciSpec;
  rootfsPath: string;
  user: ResolvedUser;
  /** Values from `EnvironmentFile=`, in file order, already parsed. */
  environmentFiles: Array<Record<string, string>>;
  network: SpecNetwork;
  cgroupsPath?: string;
}

/**
 * Builds the OCI runtime spec for a unit's container from the runtime's defaults, the image config
 * and the unit's `[Container]` section. Pure: it reads no files. Throws UnitSpecError naming the unit
 * when the result could not run (no command, relative paths).
 */
export function buildSpec(input: SpecInput): OciSpec {
  const spec: OciSpec = structuredClone(input.base);
  const { container } = input;

  spec.root = { path: input.rootfsPath, readonly: container.readOnly };
  spec.hostname = input.network.hostname;
  spec.process = {
    ...spec.process,
    args: commandLine(input),
    env: environment(input),
    cwd: workingDir(input),
    user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
    capabilities: capabilities(input),
  };
  spec.mounts = [...withoutDestinations(spec.mounts ?? [], mountedPaths(input)), ...volumeMounts(input), ...etcMounts(input)];
  spec.linux = {
    ...spec.linux,
    namespaces: namespaces(spec.linux?.namespaces ?? [], input.network),
    resources: resources(spec.linux?.resources ?? {}, container),
  };
  if (input.cgroupsPath !== undefined) spec.linux.cgroupsPath = input.cgroupsPath;
  spec.annotations = {
    ...spec.annotations,
    [ANNOTATION_UNIT]: input.unit,
    [ANNOTATION_HASH]: input.unitHash,
    [ANNOTATION_IMAGE_DIGEST]: input.imageDigest,
  };
  return spec;
}

/** Docker's rule: a unit entrypoint replaces the image's and also drops the image's Cmd. */
function commandLine(input: SpecInput): string[] {
  const { container, image } = input;
  const entrypoint = container.entrypoint ?? image.entrypoint ?? [];
  const imageCmd = container.entrypoint === undefined ? (image.cmd ?? []) : [];
  const args = [...entrypoint, ...(container.exec.length > 0 ? container.exec : imageCmd)];
  if (args.length === 0) throw new UnitSpecError(input.unit, `image ${container.image} has no Entrypoint or Cmd and the unit sets no Exec=`);
  return args;
}

function environment(input: SpecInput): string[] {
  const env = mergeEnvironment(input.image.env ?? [], ...input.environmentFiles, input.container.environment);
  const keys = new Set(env.map((entry) => entry.slice(0, entry.indexOf('='))));
  if (!keys.has('PATH')) env.push(`PATH=${DEFAULT_PATH}`);
  if (!keys.has('HOME')) env.push(`HOME=${input.user.home}`);
  if (!keys.has('HOSTNAME')) env.push(`HOSTNAME=${input.network.hostname}`);
  return env;
}

function workingDir(input: SpecInput): string {
  const dir = input.container.workingDir ?? (input.image.workingDir || '/');
  if (!dir.startsWith('/')) throw new UnitSpecError(input.unit, `WorkingDirectory=${dir} must be an absolute path`);
  const normalized = posix.normalize(dir);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

function capabilities(input: SpecInput) {
  const defaults = input.base.process.capabilities?.bounding ?? [];
  const set = applyCapabilityChanges(input.unit, defaults, input.container.addCapabilities, input.container.dropCapabilities);
  // Like Docker, a non-root process keeps the bounding set but starts with no effective capabilities.
  const active = input.user.uid === 0 ? set : [];
  return { bounding: set, permitted: active, effective: active };
}

function mountedPaths(input: SpecInput): Set<string> {
  const paths = input.container.volumes.map((volume) => posix.normalize(volume.destination));
  if (input.network.etcFiles) paths.push('/etc/hosts', '/etc/hostname', '/etc/resolv.conf');
  return new Set(paths);
}

function withoutDestinations(mounts: OciMount[], destinations: Set<string>): OciMount[] {
  return mounts.filter((mount) => !destinations.has(posix.normalize(mount.destination)));
}

function volumeMounts(input: SpecInput): OciMount[] {
  return input.container.volumes.map((volume) => {
    if (!volume.source.startsWith('/') || !volume.destination.startsWith('/')) {
      throw new UnitSpecError(input.unit, `Volume=${volume.source}:${volume.destination} needs absolute source and destination paths`);
    }
    if (volume.destination.split('/').includes('..')) throw new UnitSpecError(input.unit, `Volume= destination ${volume.destination} must not contain ".."`);
    return { destination: posix.normalize(volume.destination), type: 'bind', source: volume.source, options: ['rbind', 'rprivate', volume.readOnly ? 'ro' : 'rw'] };
  });
}

function etcMounts(input: SpecInput): OciMount[] {
  const files = input.network.etcFiles;
  if (!files) return [];
  const bind = (destination: string, source: string): OciMount => ({ destination, type: 'bind', source, options: ['bind', 'rprivate', 'ro', 'nosuid', 'nodev', 'noexec'] });
  return [bind('/etc/hosts', files.hosts), bind('/etc/hostname', files.hostname), bind('/etc/resolv.conf', files.resolvConf)];
}

function namespaces(defaults: OciNamespace[], network: SpecNetwork): OciNamespace[] {
  const others = defaults.filter((namespace) => namespace.type !== 'network');
  if (network.mode === 'host') return others;
  if (network.netnsPath !== undefined) return [...others, { type: 'network', path: network.netnsPath }];
  return [...others, { type: 'network' }];
}

function resources(defaults: NonNullable<NonNullable<OciSpec['linux']>['resources']>, container: ContainerSpec) {
  const result = { ...defaults };
  // Swap equal to the limit means no swap on top of it, so the limit is the real ceiling.
  if (container.memoryBytes !== undefined) result.memory = { ...defaults.memory, limit: container.memoryBytes, swap: container.memoryBytes };
  if (container.cpus !== undefined) result.cpu = { ...defaults.cpu, quota: Math.round(container.cpus * CPU_PERIOD_US), period: CPU_PERIOD_US };
  if (container.pidsLimit !== undefined) result.pids = { limit: container.pidsLimit };
  return result;
}
