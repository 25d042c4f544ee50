import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { NetworkLockTimeoutError } from './errors';

const LOCK_RETRY_INTERVAL_MS = 25;

/** Owner of a lock file, with enough detail to tell a live owner from one that died or ran before a reboot. */
interface LockOwner {
  pid: number;
  /** Start time of the process in clock ticks since boot (`/proc/PID/stat` field 22). */
  startTicks: string;
  bootId: string;
}

/**
 * An exclusive lock between processes on one host, held as a file created with O_EXCL that names
 * its owner. A lock whose owner died, or whose owner ran before the last boot, is taken over, so a
 * crashed agent never blocks its successor. Calls inside one process are queued first, so the
 * file is never contended by the process that holds it.
 */
export class FileLock {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string, private readonly timeoutMs: number) {}

  /** Runs `work` while holding the lock. Throws NetworkLockTimeoutError when the lock stays held by a live process. */
  withLock<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await this.acquire();
      try {
        return await work();
      } finally {
        this.release();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async acquire(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    const me = currentOwner();
    for (;;) {
      if (this.tryCreate(me)) return;
      const holder = readOwner(this.path);
      if (holder === undefined || !ownerIsAlive(holder)) {
        // NOTE: two processes that find the same dead owner at the same instant can both unlink,
        // and the second unlink may then remove the first one's fresh lock. Berth runs one agent
        // per state directory, so in practice only a crashed predecessor is taken over here.
        this.removeIfUnchanged(holder);
        continue;
      }
      if (Date.now() > deadline) throw new NetworkLockTimeoutError(this.path, holder.pid, this.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_INTERVAL_MS));
    }
  }

  private tryCreate(owner: LockOwner): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      writeSync(fd, JSON.stringify(owner));
    } finally {
      closeSync(fd);
    }
    return true;
  }

  private removeIfUnchanged(seen: LockOwner | undefined): void {
    const now = readOwner(this.path);
    if (JSON.stringify(now) !== JSON.stringify(seen)) return;
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  private release(): void {
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function currentOwner(): LockOwner {
  return { pid: process.pid, startTicks: processStartTicks(process.pid) ?? '', bootId: bootId() };
}

/** Reads the lock's owner; a file that is empty or half-written (its owner died mid-write) reads as undefined. */
function readOwner(path: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.startTicks !== 'string' || typeof parsed.bootId !== 'string') return undefined;
    return { pid: parsed.pid, startTicks: parsed.startTicks, bootId: parsed.bootId };
  } catch {
    return undefined;
  }
}

function ownerIsAlive(owner: LockOwner): boolean {
  if (owner.bootId !== bootId()) return false;
  // Comparing the start time catches a pid reused by an unrelated process after the owner died.
  return processStartTicks(owner.pid) === owner.startTicks;
}

function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}
