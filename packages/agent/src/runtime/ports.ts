import type { ImageRunConfig } from '../spec/image-config';
import type { OciSpec } from '../spec/oci-types';

/**
 * The agent's view of the host: the small interfaces the supervisor drives. `runtime-adapters.ts`
 * implements them with @berth/runtime-native; tests may implement them in memory.
 */

/** An image in the local store, ready to be the lower layers of a root filesystem. */
export interface LocalImage {
  reference: string;
  /** Manifest digest, reported as the unit's image digest. */
  digest: string;
  /** Snapshot directories of the layers, lowest (base) layer first. */
  layerDirs: string[];
  config: ImageRunConfig;
}

/** Progress of a pull, in bytes over every layer. */
export interface PullProgress {
  reference: string;
  completedBytes: number;
  totalBytes: number;
}

export interface ImagePort {
  /** Returns the image if the local store has it, without contacting a registry. */
  lookup(reference: string): Promise<LocalImage | undefined>;
  /** Pulls the image (skipping layers already present). Throws an error with `retryable` set. */
  pull(reference: string, onProgress: (progress: PullProgress) => void): Promise<LocalImage>;
  /** Stops pulls still running, which then reject; called when the agent stops. */
  close?(): void;
}

export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped';

/** The runtime's view of one container. */
export interface ContainerInfo {
  id: string;
  status: ContainerStatus;
  /** Host PID of the container's init; 0 once it has exited. */
  pid: number;
  annotations: Record<string, string>;
  /** Set once the container has stopped. */
  exit?: { exitCode?: number; signal?: string; oomKilled: boolean };
}

/** Paths of the files the runtime appends the container's raw output to. */
export interface ContainerIo {
  stdoutPath: string;
  stderrPath: string;
}

export interface RuntimePort {
  /** The runtime's default spec: Docker's capabilities, masked paths, seccomp, no_new_privs. */
  defaultSpec(): OciSpec;
  /** Creates the container; `options.init` runs the runtime's minimal init as PID 1 (`Init=true`). */
  create(id: string, spec: OciSpec, io: ContainerIo, options?: { init?: boolean }): Promise<void>;
  start(id: string): Promise<void>;
  /** Undefined when the runtime has no container of that id. */
  state(id: string): Promise<ContainerInfo | undefined>;
  /** Resolves with the final state once the container has exited; undefined when it is unknown. */
  waitExit(id: string): Promise<ContainerInfo | undefined>;
  kill(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Removes the container's state and cgroups; `force` kills it first when it still runs. */
  delete(id: string, force: boolean): Promise<void>;
  list(): Promise<ContainerInfo[]>;
}

/** The network of one container, from HostNetwork.setup. */
export interface ContainerNetworkInfo {
  netnsPath?: string;
  address?: string;
  hostname: string;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
}

export interface NetworkRequest {
  mode: 'bridge' | 'host' | 'none';
  publishPorts: Array<{ hostIp: string; hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }>;
  hostname: string;
}

export interface NetworkPort {
  /** Sets up (or returns the existing) network of a container. Idempotent per container id. */
  setup(containerId: string, request: NetworkRequest): Promise<ContainerNetworkInfo>;
  /** Removes the container's network; a container without one is fine. */
  teardown(containerId: string): Promise<void>;
  /** Removes networks of containers not in `liveIds`, left behind by a crash. */
  collectGarbage(liveIds: string[]): Promise<unknown>;
}

/** The overlay root filesystem of a container. */
export interface RootfsPort {
  /** Mounts the layers with a fresh upper directory and returns the merged path. Idempotent. */
  mount(containerId: string, layerDirs: string[]): Promise<string>;
  /** Unmounts and deletes the upper, work and merged directories; a missing mount is fine. */
  remove(containerId: string): Promise<void>;
  /** Container ids that have a root filesystem directory. */
  list(): Promise<string[]>;
}

/** Everything the supervisor needs from the host. */
export interface HostPorts {
  images: ImagePort;
  runtime: RuntimePort;
  network: NetworkPort;
  rootfs: RootfsPort;
}
