import { mkdirSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import {
  ContainerNotFoundError,
  ContainerState,
  defaultSpec,
  formatReference,
  HostNetwork,
  ImageStore,
  parseReference,
  PullResult,
  RegistryClientOptions,
  Runtime,
} from '@berth/runtime-native';
import type { ImageRunConfig } from '../spec/image-config';
import type { OciSpec } from '../spec/oci-types';
import { containerRunDir } from '../supervise/container-steps';
import { OverlayRootfs } from './overlay-rootfs';
import { ContainerInfo, ContainerIo, HostPorts, ImagePort, LocalImage, PullProgress, RuntimePort } from './ports';

/** Signal numbers to names (`9` to `SIGKILL`) for exit reports. */
const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, number]) => [number as number, name]));

/**
 * The runtime port over @berth/runtime-native's Runtime. The bundle of a container (its
 * config.json) lives in the container's run directory beside its raw output.
 */
export class NativeRuntimePort implements RuntimePort {
  constructor(
    private readonly runtime: Runtime,
    private readonly runDir: string,
  ) {}

  defaultSpec(): OciSpec {
    return defaultSpec({ args: [] }) as unknown as OciSpec;
  }

  async create(id: string, spec: OciSpec, io: ContainerIo, options: { init?: boolean } = {}): Promise<void> {
    const bundle = containerRunDir(this.runDir, id);
    mkdirSync(bundle, { recursive: true, mode: 0o750 });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2), { mode: 0o600 });
    // No init process unless the unit requests one (Init=true), as in Docker's default: the runtime's init
    // measured 1.3 MB PSS per container (bench/agent-memory), above the 1 MB budget for
    // per-container helpers. A program that ignores SIGTERM as PID 1 is killed after TimeoutStopSec=.
    await this.runtime.create(id, bundle, { stdoutPath: io.stdoutPath, stderrPath: io.stderrPath, init: options.init === true });
  }

  start(id: string): Promise<void> {
    return this.runtime.start(id);
  }

  async state(id: string): Promise<ContainerInfo | undefined> {
    try {
      return toContainerInfo(await this.runtime.state(id));
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return undefined;
      throw error;
    }
  }

  async waitExit(id: string): Promise<ContainerInfo | undefined> {
    try {
      return toContainerInfo(await this.runtime.waitExit(id));
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return undefined;
      throw error;
    }
  }

  kill(id: string, signal: NodeJS.Signals): Promise<void> {
    return this.runtime.kill(id, signal);
  }

  delete(id: string, force: boolean): Promise<void> {
    return this.runtime.delete(id, { force });
  }

  async list(): Promise<ContainerInfo[]> {
    return (await this.runtime.list()).map(toContainerInfo);
  }
}

function toContainerInfo(state: ContainerState): ContainerInfo {
  const info: ContainerInfo = { id: state.id, status: state.status, pid: state.pid ?? 0, annotations: state.annotations };
  if (state.status === 'stopped') {
    const signal = state.exitSignal ? SIGNAL_NAMES.get(state.exitSignal) ?? `signal ${state.exitSignal}` : undefined;
    info.exit = { exitCode: signal === undefined ? state.exitCode : undefined, signal, oomKilled: state.oomKilled ?? false };
  }
  return info;
}

/** The image port over @berth/runtime-native's ImageStore. */
export class ImageStorePort implements ImagePort {
  constructor(
    private readonly store: ImageStore,
    private readonly registry: RegistryClientOptions,
  ) {}

  async lookup(reference: string): Promise<LocalImage | undefined> {
    const canonical = formatReference(parseReference(reference));
    const record = (await this.store.list()).find((candidate) => candidate.names.includes(canonical));
    if (!record) return undefined;
    for (const layer of record.layers) if (!(await this.store.store.hasSnapshot(layer.chainId))) return undefined;
    const config = JSON.parse((await this.store.store.readBlob(record.configDigest)).toString('utf8')) as { config?: Record<string, unknown> };
    return {
      reference: canonical,
      digest: record.indexDigest ?? record.digest,
      layerDirs: record.layers.map((layer) => this.store.store.snapshotFs(layer.chainId)),
      config: runConfigOf(config.config),
    };
  }

  async pull(reference: string, onProgress: (progress: PullProgress) => void): Promise<LocalImage> {
    const layers = new Map<string, { done: number; total: number }>();
    const result: PullResult = await this.store.pull(reference, {
      ...this.registry,
      onProgress: (progress) => {
        layers.set(progress.layer, { done: progress.bytesDone, total: progress.bytesTotal });
        const totals = [...layers.values()].reduce((sum, layer) => ({ done: sum.done + layer.done, total: sum.total + layer.total }), { done: 0, total: 0 });
        onProgress({ reference, completedBytes: totals.done, totalBytes: totals.total });
      },
    });
    return {
      reference: result.reference,
      digest: result.digest,
      layerDirs: result.layers.map((layer) => layer.snapshotPath),
      config: runConfigOf(result.config.config),
    };
  }
}

/** Picks Entrypoint, Cmd, Env, WorkingDir and User from an image config, ignoring ill-typed values. */
export function runConfigOf(config: Record<string, unknown> | undefined): ImageRunConfig {
  const strings = (value: unknown) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined);
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    entrypoint: strings(config?.Entrypoint),
    cmd: strings(config?.Cmd),
    env: strings(config?.Env),
    workingDir: text(config?.WorkingDir),
    user: text(config?.User),
  };
}

/** Paths and settings the real host ports need. */
export interface NativePortsOptions {
  stateDir: string;
  runDir: string;
  bridgeName: string;
  containerSubnet: string;
  registry: RegistryClientOptions;
  /** Receives the network library's typed events, for the agent's log. */
  onNetworkEvent?: (event: unknown) => void;
}

/** Builds the host ports from @berth/runtime-native and the overlay root filesystems. */
export function createNativePorts(options: NativePortsOptions): HostPorts {
  const network = new HostNetwork({
    stateDir: join(options.stateDir, 'network'),
    runDir: join(options.runDir, 'network'),
    bridgeName: options.bridgeName,
    subnet: options.containerSubnet,
  });
  if (options.onNetworkEvent) network.on('event', options.onNetworkEvent);
  return {
    runtime: new NativeRuntimePort(new Runtime({ runDir: join(options.runDir, 'runtime') }), options.runDir),
    images: new ImageStorePort(new ImageStore({ stateDir: options.stateDir }), options.registry),
    network,
    rootfs: new OverlayRootfs(join(options.stateDir, 'rootfs')),
  };
}
