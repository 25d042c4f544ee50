import { closeSync } from 'node:fs';
import { join } from 'node:path';

/** The part of build/berth_runtime.node that the image store uses. */
interface LockAddon {
  /** Opens `path` and resolves with its descriptor once this process holds an exclusive flock on it. */
  lockFile(path: string): Promise<number>;
}

/** The runtime addon; its module has no side effects until a runtime function is called. */
const RUNTIME_ADDON_PATH = join(__dirname, '..', '..', 'build', 'berth_runtime.node');

let addon: LockAddon | undefined;

function lockAddon(): LockAddon {
  if (addon) return addon;
  try {
    addon = require(RUNTIME_ADDON_PATH) as LockAddon;
  } catch (error) {
    throw new Error(`cannot load the runtime addon ${RUNTIME_ADDON_PATH}: ${(error as Error).message}; run "npm run build --workspace @berth/runtime-native"`);
  }
  return addon;
}

/**
 * Runs `work` while this process holds an exclusive flock(2) on `lockPath`, so processes sharing a
 * store (an agent's pull process and `berth-image`) take turns. The kernel drops the lock when its
 * holder dies. Rejects with the errno error when the lock file cannot be opened.
 */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  const fd = await lockAddon().lockFile(lockPath);
  try {
    return await work();
  } finally {
    closeSync(fd);
  }
}
