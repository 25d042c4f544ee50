import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Unit } from '@berth/unitfile';
import { UnitSpecError } from '../errors';
import { HostPorts, LocalImage } from '../runtime/ports';
import { buildSpec } from '../spec/build-spec';
import { parseEnvironmentFile } from '../spec/environment';
import { readRootfsFile } from '../spec/rootfs-file';
import { resolveUser } from '../spec/user';

/** Time between state checks while waiting for a container to stop. */
const STOP_POLL_INTERVAL_MS = 100;
/** How long to wait for the exit after SIGKILL before reporting the stop as failed. */
const KILL_WAIT_MS = 10_000;
const MAX_HOSTNAME_CHARS = 63;

/** Directories of one container's run-time files: raw output and log offsets. */
export function containerRunDir(runDir: string, containerId: string): string {
  return join(runDir, 'containers', containerId);
}

/** The raw output files the runtime appends to, and the copy offsets of the log pump. */
export function containerIoPaths(runDir: string, containerId: string) {
  const dir = containerRunDir(runDir, containerId);
  return { stdoutPath: join(dir, 'stdout.raw'), stderrPath: join(dir, 'stderr.raw'), offsetsPath: join(dir, 'log-offsets.json') };
}

/** `web@1.service` to `web-1-3fa94c1b`: readable in `ps` and unique per creation. */
export function newContainerId(unit: string): string {
  const base = unit.replace(/\.service$/, '').replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  return `${base}-${randomBytes(4).toString('hex')}`;
}

/** The container's hostname: the unit name without suffix, in host-name characters. */
export function hostnameFor(unit: string): string {
  const name = unit.replace(/\.service$/, '').replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return (name || 'container').slice(0, MAX_HOSTNAME_CHARS);
}

/** Result of creating a container. */
export interface CreatedContainer {
  containerId: string;
  address?: string;
  user: { uid: number; gid: number };
}

/**
 * Creates the unit's container from a pulled image: mounts the overlay root, sets up the network,
 * resolves the user inside the image, builds the OCI spec and asks the runtime to create it. On any
 * failure, whatever was set up is removed again before the error is thrown.
 */
export async function createContainer(ports: HostPorts, runDir: string, unit: Unit, image: LocalImage): Promise<CreatedContainer> {
  const container = unit.container!;
  const containerId = newContainerId(unit.name);
  try {
    const rootfsPath = await ports.rootfs.mount(containerId, image.layerDirs);
    const network = await ports.network.setup(containerId, { mode: container.network, publishPorts: container.publishPorts, hostname: hostnameFor(unit.name) });
    const user = resolveUser(unit.name, container.user ?? (image.config.user || undefined), {
      passwd: readRootfsFile(rootfsPath, '/etc/passwd'),
      group: readRootfsFile(rootfsPath, '/etc/group'),
    });
    const spec = buildSpec({
      unit: unit.name,
      unitHash: unit.hash,
      container,
      image: image.config,
      imageDigest: image.digest,
      base: ports.runtime.defaultSpec(),
      rootfsPath,
      user,
      environmentFiles: container.environmentFiles.map((path) => readEnvironmentFile(unit.name, path)),
      network: { mode: container.network, netnsPath: network.netnsPath, hostname: network.hostname, etcFiles: network.etcFiles },
    });
    const io = containerIoPaths(runDir, containerId);
    mkdirSync(containerRunDir(runDir, containerId), { recursive: true, mode: 0o750 });
    await ports.runtime.create(containerId, spec, io, { init: container.init === true });
    return { containerId, address: network.address, user: { uid: user.uid, gid: user.gid } };
  } catch (error) {
    await removeContainer(ports, runDir, containerId).catch(() => undefined);
    throw error;
  }
}

function readEnvironmentFile(unit: string, path: string): Record<string, string> {
  // systemd's `-` prefix makes a missing file acceptable.
  const optional = path.startsWith('-');
  const file = optional ? path.slice(1) : path;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (optional) return {};
    throw new UnitSpecError(unit, `EnvironmentFile=${file} cannot be read: ${(error as Error).message}`);
  }
  return parseEnvironmentFile(unit, file, text);
}

/** Starts a created container and returns its init's host PID. */
export async function startContainer(ports: HostPorts, containerId: string): Promise<number> {
  await ports.runtime.start(containerId);
  const info = await ports.runtime.state(containerId);
  return info?.pid ?? 0;
}

/**
 * Stops a running container: SIGTERM, then SIGKILL after `timeoutStopMs` (`TimeoutStopSec=`).
 * Returns how it ended. Throws when it is still running KILL_WAIT_MS after SIGKILL.
 */
export async function stopContainer(ports: HostPorts, containerId: string, timeoutStopMs: number): Promise<'terminated' | 'killed' | 'gone'> {
  const stopped = async () => {
    const info = await ports.runtime.state(containerId);
    return info === undefined || info.status === 'stopped' || info.status === 'created';
  };
  if (await stopped()) return 'gone';

  await ports.runtime.kill(containerId, 'SIGTERM').catch(() => undefined);
  if (await waitUntil(stopped, timeoutStopMs)) return 'terminated';

  await ports.runtime.kill(containerId, 'SIGKILL').catch(() => undefined);
  if (await waitUntil(stopped, KILL_WAIT_MS)) return 'killed';
  throw new Error(`container ${containerId} still runs ${KILL_WAIT_MS} ms after SIGKILL`);
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, STOP_POLL_INTERVAL_MS));
  }
}

/**
 * Removes everything of one container: runtime state and cgroups, network, overlay root and raw
 * output. Every step runs even when an earlier one fails; the first error is thrown at the end.
 */
export async function removeContainer(ports: HostPorts, runDir: string, containerId: string): Promise<void> {
  const failures: string[] = [];
  const attempt = async (what: string, step: () => Promise<void> | void) => {
    try {
      await step();
    } catch (error) {
      failures.push(`${what}: ${(error as Error).message}`);
    }
  };
  await attempt('runtime delete', async () => {
    if (await ports.runtime.state(containerId)) await ports.runtime.delete(containerId, true);
  });
  await attempt('network teardown', () => ports.network.teardown(containerId));
  await attempt('root filesystem removal', () => ports.rootfs.remove(containerId));
  await attempt('run directory removal', () => rmSync(containerRunDir(runDir, containerId), { recursive: true, force: true }));
  if (failures.length > 0) throw new Error(`cleanup of container ${containerId} incomplete: ${failures.join('; ')}`);
}
