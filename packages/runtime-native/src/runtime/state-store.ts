import { constants } from 'node:fs';
import { access, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { ContainerNotFoundError, InvalidArgumentError } from './errors';

/** Record written at create time (meta.json); the OCI state is derived from it. */
export interface ContainerMeta {
  ociVersion: string;
  id: string;
  bundle: string;
  annotations: Record<string, string>;
  created: string;
}

/** Record the monitor keeps about the container process (process.json). */
export interface ProcessRecord {
  pid: number;
  pidStartTime: number;
  monitorPid: number;
  monitorStartTime: number;
  status: 'created' | 'stopped';
  exitCode?: number;
  exitSignal?: number;
  oomKilled?: boolean;
  finishedAtMs?: number;
  cgroupDirs: string[];
}

/** Records are a few hundred bytes; anything far larger is not one of ours. */
const MAX_RECORD_BYTES = 1024 * 1024;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/;

/** The run directory: one subdirectory per container id. */
export class StateStore {
  /** `readFiles` reads small files, null for a missing one (the addon's, in one thread-pool job). */
  constructor(
    readonly runDir: string,
    private readonly readFiles: (paths: string[], maxBytes: number) => Promise<(Buffer | null)[]>,
  ) {}

  /** Throws InvalidArgumentError for ids that could escape the run directory or are too long. */
  dirFor(id: string): string {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw new InvalidArgumentError(`container id: expected 1-128 characters from [A-Za-z0-9_.@:-] starting with a letter or digit, got ${JSON.stringify(id)}`);
    }
    return join(this.runDir, id);
  }

  /**
   * Reads meta.json and process.json together (process is undefined while the container is
   * still being created). Throws ContainerNotFoundError when the container does not exist.
   */
  async readRecords(id: string): Promise<{ meta: ContainerMeta; proc: ProcessRecord | undefined }> {
    const dir = this.dirFor(id);
    const [meta, proc] = await this.readFiles([join(dir, 'meta.json'), join(dir, 'process.json')], MAX_RECORD_BYTES);
    if (meta === null) throw new ContainerNotFoundError(id, this.runDir);
    return { meta: JSON.parse(meta.toString('utf8')) as ContainerMeta, proc: proc === null ? undefined : (JSON.parse(proc.toString('utf8')) as ProcessRecord) };
  }

  /** Returns whether the start FIFO still exists, that is, `start` has not been called. */
  async awaitingStart(id: string): Promise<boolean> {
    try {
      await access(join(this.dirFor(id), 'exec.fifo'), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async ids(): Promise<string[]> {
    try {
      const entries = await readdir(this.runDir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && ID_PATTERN.test(e.name)).map((e) => e.name).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Removes the state directory; a missing one is not an error. */
  async remove(id: string): Promise<void> {
    const dir = this.dirFor(id);
    // The files the runtime writes are known, so two rounds of calls remove them. Anything else
    // in the directory makes rmdir fail, and a recursive removal takes over.
    await Promise.all(STATE_FILES.map((name) => unlink(join(dir, name)).catch(ignoreMissing)));
    try {
      await rmdir(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Every file the runtime, the addon or the monitor creates in a container's state directory. */
const STATE_FILES = ['meta.json', 'process.json', '.process.json.tmp', 'exec.fifo'];

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
