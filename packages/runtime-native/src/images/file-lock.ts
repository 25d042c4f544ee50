import { closeSync } from 'node:fs';
import { loadAddon } from '../runtime/native';

/** The part of build/berth_runtime.node that the image store uses. */
interface LockAddon {
  /** Opens `path` and resolves with its descriptor once this process holds an exclusive flock on it. */
  lockFile(path: string): Promise<number>;
}

let addon: LockAddon | undefined;

/** Loads build/berth_runtime.node on first use; loading it has no side effects. */
function lockAddon(): LockAddon {
  addon ??= loadAddon<LockAddon>('berth_runtime.node');
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
