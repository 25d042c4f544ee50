import { join } from 'node:path';

import { InvalidArgumentError } from './errors';

/** The functions the compiled addon (build/berth_runtime.node) exports. */
export interface NativeRuntime {
  /** Copies the helper executable into a sealed memfd that every `create` runs from. */
  loadHelper(path: string): void;
  /**
   * Creates STATE_DIR, writes `meta` to its meta.json and runs the helper on the encoded `spec`.
   * Resolves with the container init's host pid. Rejects with code EEXIST when STATE_DIR exists.
   * A rejection carries `stateDirCreated`, true when STATE_DIR was made by this call.
   * `stdoutFd`/`stderrFd` (or -1) become the container's stdout/stderr when the spec inherits them.
   */
  create(stateDir: string, meta: string, spec: Buffer, stdoutFd?: number, stderrFd?: number): Promise<number>;
  /**
   * Reads small files in one thread-pool job; a missing file gives null. Rejects (code = errno
   * name) for other failures, with EFBIG for a file larger than `maxBytes`.
   */
  readFiles(paths: string[], maxBytes: number): Promise<(Buffer | null)[]>;
  /** The pid of the helper server that forks each creation, or 0 while none runs. */
  helperServerPid(): number;
  /** Writes the start byte into STATE_DIR/exec.fifo and removes the FIFO. */
  start(stateDir: string): void;
  /** Signals `pid` through a pidfd, after checking its start time still matches. */
  kill(pid: number, startTime: number, signal: number): void;
  /** Whether `pid` is alive and still the process that started at `startTime`. */
  processAlive(pid: number, startTime: number): boolean;
  /** Resolves when the process exits (at once if it is already gone). */
  watchExit(pid: number, startTime: number): Promise<void>;
  /**
   * Calls glibc's `malloc_trim(0)`, which returns the free memory of every malloc arena to the
   * kernel. Returns true when it released some. A daemon calls it after a burst of work.
   */
  trimMalloc(): boolean;
}

/** Directory holding berth_runtime.node and berth-runtime-helper, built by `npm run build`. */
export const NATIVE_BUILD_DIR = join(__dirname, '..', '..', 'build');
/** The helper executable; BERTH_RUNTIME_HELPER overrides it (the leak check uses an LSan build). */
export const HELPER_PATH = process.env.BERTH_RUNTIME_HELPER ?? join(NATIVE_BUILD_DIR, 'berth-runtime-helper');

let loaded: NativeRuntime | undefined;

/**
 * Loads the compiled addon `file` from NATIVE_BUILD_DIR. Throws naming the file, the loader's
 * reason, `needs` (what else the addon requires, when anything) and the build command.
 */
export function loadAddon<T>(file: string, needs = ''): T {
  const addonPath = join(NATIVE_BUILD_DIR, file);
  try {
    return require(addonPath) as T;
  } catch (error) {
    const requirement = needs ? `; it needs ${needs}` : '';
    throw new Error(`cannot load the addon ${addonPath}: ${(error as Error).message}${requirement}; run "npm run build --workspace @berth/runtime-native"`);
  }
}

/** Loads the addon and the helper once. Throws when the native build is missing. */
export function nativeRuntime(): NativeRuntime {
  if (loaded) return loaded;
  const addon = loadAddon<NativeRuntime>('berth_runtime.node');
  addon.loadHelper(HELPER_PATH);
  loaded = addon;
  return addon;
}

/** Throws InvalidArgumentError "expected X, got Y" unless `value` is a non-empty string. */
export function expectString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${name}: expected a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer in [min, max]. */
export function expectInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name}: expected an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
