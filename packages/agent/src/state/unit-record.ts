import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { UnitStatus } from '../report/unit-status';
import type { RestartHistory } from '../supervise/restart-policy';
import { readJson, writeJsonAtomic } from './json-file';

/**
 * The agent's on-disk record of one unit it runs, which lets a restarted agent adopt the container
 * instead of starting it again.
 */
export interface UnitRecord {
  unit: string;
  /** Hash of the unit the current container was created from. */
  hash: string;
  image: string;
  /** Empty when no container exists (before create, after remove). */
  containerId: string;
  startedAtMs?: number;
  history: RestartHistory;
  /** Set while the restart policy waits for `RestartSec=`. */
  restartAtMs?: number;
  status: UnitStatus;
  /** Container address for health probes (bridge mode). */
  address?: string;
  /** The container's user, for health commands. */
  user?: { uid: number; gid: number };
}

const RECORD_SUFFIX = '.json';

/** One JSON file per unit under `DIR`. Unit names are validated before they reach here. */
export class UnitRecordStore {
  constructor(private readonly dir: string) {}

  loadAll(): UnitRecord[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.endsWith(RECORD_SUFFIX))
      .map((name) => readJson<UnitRecord>(join(this.dir, name)))
      .filter((record): record is UnitRecord => record !== undefined);
  }

  save(record: UnitRecord): void {
    writeJsonAtomic(this.path(record.unit), record);
  }

  delete(unit: string): void {
    rmSync(this.path(unit), { force: true });
  }

  private path(unit: string): string {
    return join(this.dir, `${unit}${RECORD_SUFFIX}`);
  }
}
