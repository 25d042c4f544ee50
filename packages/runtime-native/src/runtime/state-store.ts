import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ContainerExistsError, ContainerNotFoundError, InvalidArgumentError } from './errors';

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

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/;

/** The run directory: one subdirectory per container id. */
export class StateStore {
  constructor(readonly runDir: string) {}

  /** Throws InvalidArgumentError for ids that could escape the run directory or are too long. */
  dirFor(id: string): string {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw new InvalidArgumentError(`container id: expected 1-128 characters from [A-Za-z0-9_.@:-] starting with a letter or digit, got ${JSON.stringify(id)}`);
    }
    return join(this.runDir, id);
  }

  /** Creates the state directory; throws ContainerExistsError when the id is taken. */
  async reserve(id: string): Promise<string> {
    const dir = this.dirFor(id);
    await mkdir(this.runDir, { recursive: true, mode: 0o711 });
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ContainerExistsError(id);
      throw error;
    }
    return dir;
  }

  async writeMeta(id: string, meta: ContainerMeta): Promise<void> {
    await writeFile(join(this.dirFor(id), 'meta.json'), JSON.stringify(meta), { mode: 0o600 });
  }

  async writeSpecBlob(id: string, blob: Buffer): Promise<void> {
    await writeFile(join(this.dirFor(id), 'spec.bin'), blob, { mode: 0o600 });
  }

  /** Throws ContainerNotFoundError when the container does not exist. */
  async readMeta(id: string): Promise<ContainerMeta> {
    try {
      return JSON.parse(await readFile(join(this.dirFor(id), 'meta.json'), 'utf8')) as ContainerMeta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerNotFoundError(id, this.runDir);
      throw error;
    }
  }

  /** Returns the monitor's record, or undefined while the container is still being created. */
  async readProcess(id: string): Promise<ProcessRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dirFor(id), 'process.json'), 'utf8')) as ProcessRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
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

  async remove(id: string): Promise<void> {
    await rm(this.dirFor(id), { recursive: true, force: true });
  }
}
