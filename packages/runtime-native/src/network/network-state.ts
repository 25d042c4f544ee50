import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NetworkStateError } from './errors';
import { ContainerNetworkMode, PublishedPortSpec } from './types';

const STATE_VERSION = 1;

/**
 * Record of what Berth set up for one container. The record is written before anything is created on the
 * host, so it is the ownership mark that garbage collection trusts for every resource it names.
 */
export interface ContainerRecord {
  containerId: string;
  mode: ContainerNetworkMode;
  /** Allocated address (`bridge` mode). */
  address?: string;
  /** Host end of the veth pair (`bridge` mode). */
  hostInterface?: string;
  /** Namespace file (`bridge` and `none` modes). */
  netnsPath?: string;
  /** Directory of the generated hosts, hostname and resolv.conf. */
  etcDir: string;
  hostname: string;
  publishPorts: PublishedPortSpec[];
  /** ISO 8601 time of setup. */
  createdAt: string;
}

/** The persisted state of one bridge: its subnet and every container record. */
export interface NetworkStateFile {
  version: number;
  bridgeName: string;
  subnet: string;
  /** Last address handed out; allocation continues after it so a freed address is not reused at once. */
  lastAddress?: string;
  containers: Record<string, ContainerRecord>;
}

/** Returns the path of the state file for `bridgeName` under `stateDir`. */
export function stateFilePath(stateDir: string, bridgeName: string): string {
  return join(stateDir, 'network', `${bridgeName}.json`);
}

/**
 * Reads the state file, or returns an empty state when there is none yet. Throws NetworkStateError
 * when the file is not valid JSON of the expected shape, or was written for another subnet while
 * containers still hold addresses in it.
 */
export function loadNetworkState(path: string, bridgeName: string, subnet: string): NetworkStateFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: STATE_VERSION, bridgeName, subnet, containers: {} };
    throw error;
  }

  const state = parseState(path, text);
  if (state.subnet !== subnet && Object.keys(state.containers).length > 0) {
    throw new NetworkStateError(
      `network state ${path} records containers in subnet ${state.subnet}, but the configured subnet is ${subnet}; ` +
        'delete those containers or restore the previous subnet',
    );
  }
  return { ...state, bridgeName, subnet };
}

function parseState(path: string, text: string): NetworkStateFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new NetworkStateError(`network state ${path} is not valid JSON; move it aside and run garbage collection`, { cause: error });
  }
  const state = parsed as Partial<NetworkStateFile>;
  if (state === null || typeof state !== 'object' || state.version !== STATE_VERSION || typeof state.subnet !== 'string' || typeof state.containers !== 'object' || state.containers === null) {
    throw new NetworkStateError(`network state ${path} has an unexpected format (expected version ${STATE_VERSION} with subnet and containers)`);
  }
  for (const [id, record] of Object.entries(state.containers)) {
    if (record?.containerId !== id || typeof record.etcDir !== 'string' || !Array.isArray(record.publishPorts)) {
      throw new NetworkStateError(`network state ${path} has an invalid record for container ${id}`);
    }
  }
  return state as NetworkStateFile;
}

/**
 * Writes the state so that a crash at any moment leaves either the old or the new file: write a
 * temporary file, fsync it, rename it over the old one, fsync the directory.
 */
export function saveNetworkState(path: string, state: NetworkStateFile): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ ...state, version: STATE_VERSION }, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);

  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
