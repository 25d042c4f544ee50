import { mkdirSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
// Deep imports instead of the package's index, which also loads the image pulling modules that
// only the pull process needs (about 2 MiB of RSS in the agent).
import type { RegistryClientOptions } from '@berth/runtime-native/dist/images/registry-client';
import { HostNetwork } from '@berth/runtime-native/dist/network';
import { ContainerNotFoundError, ContainerState, defaultSpec, Runtime } from '@berth/runtime-native/dist/runtime';
import type { OciSpec } from '../spec/oci-types';
import { containerRunDir } from '../supervise/container-steps';
import { OverlayRootfs } from './overlay-rootfs';
import { ContainerInfo, ContainerIo, HostPorts, RuntimePort } from './ports';
import { PullProcessImagePort } from './pull-process-port';

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

/** Paths and settings the real host ports need. */
export interface NativePortsOptions {
  stateDir: string;
  runDir: string;
  bridgeName: string;
  containerSubnet: string;
  registry: Pick<RegistryClientOptions, 'auth' | 'insecureRegistries'>;
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
    images: new PullProcessImagePort({ stateDir: options.stateDir, registry: options.registry }),
    network,
    rootfs: new OverlayRootfs(join(options.stateDir, 'rootfs')),
  };
}
