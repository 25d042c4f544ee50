import { constants as osConstants } from 'node:os';
import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { CgroupLayout, detectCgroupLayout } from './cgroup-layout';
import { ContainerExistsError, ContainerStateError, InvalidArgumentError, InvalidSpecError, RuntimeError, toNativeError } from './errors';
import { expectInteger, expectString, NativeRuntime, nativeRuntime } from './native';
import { ContainerState, OciSpec } from './oci-types';
import { encodeSpec } from './spec-encode';
import { ContainerMeta, ProcessRecord, StateStore } from './state-store';

/** Default run directory; it must be on a file system that does not survive reboots. */
export const DEFAULT_RUN_DIR = '/run/berth/runtime';
const CGROUP_RMDIR_ATTEMPTS = 100;
const CGROUP_RMDIR_RETRY_MS = 10;

export interface RuntimeOptions {
  /** Directory of container state, one subdirectory per id. Default /run/berth/runtime. */
  runDir?: string;
  /** cgroup layout to drive; detected from /proc/self/mountinfo unless given. */
  cgroupLayout?: CgroupLayout;
}

export interface CreateOptions {
  /** File the container's stdout is appended to (created if missing). Default: discarded. */
  stdoutPath?: string;
  stderrPath?: string;
  /** Open descriptor of this process given to the container as stdout; wins over stdoutPath. */
  stdoutFd?: number;
  stderrFd?: number;
  /** Run a minimal init as PID 1 that reaps zombies and forwards signals to the program. */
  init?: boolean;
}

/**
 * Creates and manages containers from OCI bundles. Each container gets a monitor process that
 * outlives this object and the Node process, so a new Runtime on the same run directory sees
 * and controls containers created earlier.
 */
export class Runtime {
  readonly runDir: string;
  private readonly store: StateStore;
  private readonly native: NativeRuntime;
  private readonly cgroupLayout: CgroupLayout | undefined;

  constructor(options: RuntimeOptions = {}) {
    this.runDir = resolve(options.runDir ?? DEFAULT_RUN_DIR);
    this.cgroupLayout = options.cgroupLayout;
    this.native = nativeRuntime();
    this.store = new StateStore(this.runDir, (paths, maxBytes) => this.native.readFiles(paths, maxBytes));
  }

  /**
   * Builds the container from `bundlePath/config.json` and leaves its process waiting for
   * `start`. Throws InvalidSpecError for an invalid config, ContainerExistsError for a taken id
   * and NativeError (code = errno name) when a system call fails.
   */
  async create(id: string, bundlePath: string, options: CreateOptions = {}): Promise<ContainerState> {
    const bundle = resolve(expectString('bundlePath', bundlePath));
    checkCreateOptions(options);
    const stateDir = this.store.dirFor(id);
    const [spec, seccompCacheDir] = await Promise.all([readConfig(this.native, bundle), this.prepareRunDir()]);
    const encoded = encodeSpec({ id, stateDir, bundle, spec, layout: this.cgroupLayout ?? detectCgroupLayout(), seccompCacheDir, ...options });
    const meta: ContainerMeta = { ociVersion: spec.ociVersion, id, bundle, annotations: spec.annotations ?? {}, created: new Date().toISOString() };
    try {
      // One thread-pool job reserves the state directory, writes meta.json and runs the helper.
      const pid = await this.native.create(stateDir, JSON.stringify(meta), encoded.blob, options.stdoutFd ?? -1, options.stderrFd ?? -1);
      return { ...meta, status: 'created', pid };
    } catch (error) {
      const failure = error as { code?: string; stateDirCreated?: boolean };
      if (failure.stateDirCreated !== true && failure.code === 'EEXIST') throw new ContainerExistsError(id);
      if (failure.stateDirCreated === true) await this.store.remove(id);
      throw toNativeError(error, `create container "${id}" from ${bundle}`);
    }
  }

  private runDirReady: Promise<string> | undefined;

  /**
   * Creates the run directory and its cache of compiled seccomp programs once, and resolves with
   * the cache path. Programs are keyed by profile hash, so only the first container compiles one.
   */
  private prepareRunDir(): Promise<string> {
    const dir = join(this.runDir, '.seccomp-cache');
    this.runDirReady ??= (async () => {
      await mkdir(this.runDir, { recursive: true, mode: 0o711 });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // The helper loads cached programs unchecked, so the directory must be root's alone.
      const info = await stat(dir);
      if (info.uid !== 0 || (info.mode & 0o077) !== 0) throw new RuntimeError(`seccomp cache ${dir} must be owned by root with mode 0700`);
      return dir;
    })();
    // A failure (a full disk, say) is not kept: the next create tries again.
    this.runDirReady.catch(() => {
      this.runDirReady = undefined;
    });
    return this.runDirReady;
  }

  /** Releases a created container's process into the user program. */
  async start(id: string): Promise<void> {
    const stateDir = this.store.dirFor(id);
    try {
      this.native.start(stateDir);
    } catch (error) {
      // No FIFO (ENOENT) or no init reading it (ENXIO): report the state the container is in.
      const code = (error as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENXIO') throw toNativeError(error, `start container "${id}"`);
      const state = await this.state(id);
      throw new ContainerStateError(id, state.status, 'start');
    }
  }

  /** create followed by start. */
  async run(id: string, bundlePath: string, options: CreateOptions = {}): Promise<ContainerState> {
    const created = await this.create(id, bundlePath, options);
    await this.start(id);
    return { ...created, status: 'running' };
  }

  /** Returns the OCI state, with the exit record once the container has stopped. */
  async state(id: string): Promise<ContainerState> {
    return (await this.inspect(id)).state;
  }

  /** The OCI state together with the monitor's record it was derived from. */
  private async inspect(id: string): Promise<{ state: ContainerState; proc: ProcessRecord | undefined }> {
    const { meta, proc } = await this.store.readRecords(id);
    const base = { ociVersion: meta.ociVersion, id, bundle: meta.bundle, annotations: meta.annotations, created: meta.created };
    if (!proc) return { state: { ...base, status: 'creating' }, proc };
    if (proc.status === 'stopped') {
      return { state: { ...base, status: 'stopped', exitCode: proc.exitCode, exitSignal: proc.exitSignal, oomKilled: proc.oomKilled }, proc };
    }
    if (!this.native.processAlive(proc.pid, proc.pidStartTime)) return { state: { ...base, status: 'stopped' }, proc };
    const status = (await this.store.awaitingStart(id)) ? 'created' : 'running';
    return { state: { ...base, status, pid: proc.pid }, proc };
  }

  /** Sends `signal` (a name such as "SIGTERM" or "TERM", or a number) to the container's init. */
  async kill(id: string, signal: string | number = 'SIGTERM'): Promise<void> {
    const signo = parseSignal(signal);
    const proc = await this.liveProcess(id, 'kill');
    try {
      this.native.kill(proc.pid, proc.pidStartTime, signo);
    } catch (error) {
      throw toNativeError(error, `kill container "${id}" with signal ${signo}`);
    }
  }

  /** Resolves with the final state once the container has stopped and its monitor has exited. */
  async waitExit(id: string): Promise<ContainerState> {
    const { proc } = await this.store.readRecords(id);
    if (proc && proc.status !== 'stopped') {
      await this.native.watchExit(proc.monitorPid, proc.monitorStartTime);
      // A monitor killed from outside leaves the init behind; wait for the init itself then.
      if (this.native.processAlive(proc.pid, proc.pidStartTime)) await this.native.watchExit(proc.pid, proc.pidStartTime);
    }
    return this.state(id);
  }

  /**
   * Removes a stopped or created container. A running one needs `force`, which kills it first.
   * Throws ContainerStateError for a running container without `force`.
   */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    const { state, proc } = await this.inspect(id);
    if (state.status === 'running' && !options.force) throw new ContainerStateError(id, 'running', 'delete (use force)');
    // A stopped record is written after the monitor removed the cgroups; anything else may
    // have lost its monitor, so the cgroups are checked here.
    if (proc && proc.status !== 'stopped') {
      if (state.status !== 'stopped') this.native.kill(proc.pid, proc.pidStartTime, osConstants.signals.SIGKILL);
      await this.waitExit(id);
      await removeCgroups(proc);
    }
    await this.store.remove(id);
  }

  /** Returns the state of every container under the run directory. */
  async list(): Promise<ContainerState[]> {
    const states: ContainerState[] = [];
    for (const id of await this.store.ids()) {
      try {
        states.push(await this.state(id));
      } catch {
        // Deleted between readdir and read, or still being reserved: not a container yet.
      }
    }
    return states;
  }

  private async liveProcess(id: string, operation: string): Promise<ProcessRecord> {
    const { state, proc } = await this.inspect(id);
    if (!proc || state.status === 'stopped' || state.status === 'creating') throw new ContainerStateError(id, state.status, operation);
    return proc;
  }
}

const MAX_FD = 2 ** 31 - 1;

/** Throws InvalidArgumentError for option values of the wrong type. */
function checkCreateOptions(options: CreateOptions): void {
  if (options.stdoutPath !== undefined) expectString('stdoutPath', options.stdoutPath);
  if (options.stderrPath !== undefined) expectString('stderrPath', options.stderrPath);
  if (options.stdoutFd !== undefined) expectInteger('stdoutFd', options.stdoutFd, 0, MAX_FD);
  if (options.stderrFd !== undefined) expectInteger('stderrFd', options.stderrFd, 0, MAX_FD);
  if (options.init !== undefined && typeof options.init !== 'boolean') {
    throw new InvalidArgumentError(`init: expected a boolean, got ${typeof options.init}`);
  }
}

/** OCI configs are a few kilobytes; Docker's seccomp profile makes them about 16 KiB. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

async function readConfig(native: NativeRuntime, bundle: string): Promise<OciSpec> {
  const path = join(bundle, 'config.json');
  let content: Buffer | null;
  try {
    [content] = await native.readFiles([path], MAX_CONFIG_BYTES);
  } catch (error) {
    throw new InvalidSpecError(bundle, 'config.json', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (content === null) throw new InvalidSpecError(bundle, 'config.json', `cannot read ${path}: no such file`);
  try {
    return JSON.parse(content.toString('utf8')) as OciSpec;
  } catch (error) {
    throw new InvalidSpecError(bundle, 'config.json', `invalid JSON: ${(error as Error).message}`);
  }
}

/** Accepts "SIGTERM", "TERM" or a number; throws InvalidArgumentError otherwise. */
export function parseSignal(signal: string | number): number {
  if (typeof signal === 'number' && Number.isInteger(signal) && signal > 0 && signal < 65) return signal;
  if (typeof signal === 'string') {
    if (/^\d+$/.test(signal)) return parseSignal(Number(signal));
    const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`).toUpperCase() as keyof typeof osConstants.signals;
    const value = osConstants.signals[name];
    if (value !== undefined) return value;
  }
  throw new InvalidArgumentError(`signal: expected a signal name such as SIGTERM or a number from 1 to 64, got ${JSON.stringify(signal)}`);
}

/** Removes cgroups a killed monitor left behind (a monitor normally removes them itself). */
async function removeCgroups(proc: ProcessRecord): Promise<void> {
  for (const dir of proc.cgroupDirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= CGROUP_RMDIR_ATTEMPTS) throw toNativeError(error, `rmdir cgroup ${dir}`);
        await killCgroupMembers(dir);
        await new Promise((r) => setTimeout(r, CGROUP_RMDIR_RETRY_MS));
      }
    }
  }
}

async function killCgroupMembers(dir: string): Promise<void> {
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of text.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
