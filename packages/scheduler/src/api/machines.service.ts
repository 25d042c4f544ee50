import { Injectable } from '@nestjs/common';
import { loadUnit } from '@berth/unitfile';
import { ConflictError, InvalidArgumentError } from '../errors';
import { EtcdStore } from '../store/etcd-store.service';
import { AssignmentRecord, DynamicMetadata, effectiveMetadata, MachineRecord } from '../store/records';
import { machineView, MachineView } from './views';

const METADATA_KEY_PATTERN = /^[A-Za-z0-9_.-]+$/;
const MAX_METADATA_VALUE_CHARS = 1024;
const MAX_WRITE_ATTEMPTS = 5;

/** Body of `PATCH /v1/machines/ID/metadata`. */
export interface MetadataPatch {
  set?: unknown;
  delete?: unknown;
}

/** Machine operations of the HTTP API. */
@Injectable()
export class MachinesService {
  // Requests are parsed from assignment texts; most texts repeat, so parses are kept by hash.
  private readonly requests = new Map<string, { cpus: number; memoryBytes: number }>();

  constructor(private readonly store: EtcdStore) {}

  /** Lists present machines with effective metadata and what is allocated on each, sorted by id. */
  async list(): Promise<MachineView[]> {
    const keys = this.store.keys;
    const [machines, dynamic, assignments] = await Promise.all([
      this.store.readPrefix<MachineRecord>(keys.dir('machines')),
      this.store.readPrefix<DynamicMetadata>(keys.dir('machine-metadata')),
      this.store.readPrefix<AssignmentRecord>(keys.dir('assignments')),
    ]);
    const dynamicById = new Map(dynamic.items.map((i) => [i.key.slice(keys.dir('machine-metadata').length), i.value]));
    const allocated = this.allocations(assignments.items.map((i) => i.value).filter(Boolean));
    return machines.items
      .filter((i) => i.value !== undefined)
      .map((i) => {
        const m = i.value;
        return machineView(m.id, m, effectiveMetadata(m.metadata, dynamicById.get(m.id)), allocated.get(m.id) ?? { cpus: 0, memoryBytes: 0, units: 0 });
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private allocations(assignments: AssignmentRecord[]): Map<string, { cpus: number; memoryBytes: number; units: number }> {
    const result = new Map<string, { cpus: number; memoryBytes: number; units: number }>();
    for (const a of assignments) {
      const request = this.requestOf(a);
      const entry = result.get(a.machineId) ?? { cpus: 0, memoryBytes: 0, units: 0 };
      entry.cpus += request.cpus;
      entry.memoryBytes += request.memoryBytes;
      entry.units += 1;
      result.set(a.machineId, entry);
    }
    return result;
  }

  private requestOf(assignment: AssignmentRecord): { cpus: number; memoryBytes: number } {
    const key = `${assignment.unit}\u0000${assignment.hash}`;
    let request = this.requests.get(key);
    if (request === undefined) {
      const container = loadUnit(assignment.unit, assignment.text).unit?.container;
      request = { cpus: container?.cpus ?? 0, memoryBytes: container?.memoryBytes ?? 0 };
      this.requests.set(key, request);
    }
    return request;
  }

  /**
   * Sets and deletes dynamic metadata of a machine (present or not, as in fleet). A deleted key
   * also hides the value the agent reported. Throws InvalidArgumentError for a bad patch.
   */
  async patchMetadata(id: string, patch: MetadataPatch): Promise<MachineView> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw new InvalidArgumentError(`machine id "${id}" is invalid`);
    const { set, remove } = checkPatch(patch);
    const key = this.store.keys.machineMetadata(id);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.get<DynamicMetadata>(key);
      const next: DynamicMetadata = { ...(current?.value ?? {}) };
      for (const name of remove) next[name] = null;
      Object.assign(next, set);
      if (!(await this.store.putIf(key, next, current?.modRevision ?? 0))) continue;
      const present = (await this.list()).find((m) => m.id === id);
      return present ?? machineView(id, undefined, effectiveMetadata({}, next), { cpus: 0, memoryBytes: 0, units: 0 });
    }
    throw new ConflictError(`metadata of machine ${id} changed concurrently ${MAX_WRITE_ATTEMPTS} times; retry`);
  }
}

function checkPatch(patch: MetadataPatch): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  if (patch.set !== undefined) {
    if (typeof patch.set !== 'object' || patch.set === null || Array.isArray(patch.set)) throw new InvalidArgumentError('"set" must be an object of strings');
    for (const [key, value] of Object.entries(patch.set)) {
      if (!METADATA_KEY_PATTERN.test(key)) throw new InvalidArgumentError(`metadata key "${key}" is invalid: use letters, digits, "_", "." or "-"`);
      if (typeof value !== 'string' || value === '' || value.length > MAX_METADATA_VALUE_CHARS) {
        throw new InvalidArgumentError(`metadata value of "${key}" must be a non-empty string of at most ${MAX_METADATA_VALUE_CHARS} characters`);
      }
      set[key] = value;
    }
  }
  const remove: string[] = [];
  if (patch.delete !== undefined) {
    if (!Array.isArray(patch.delete)) throw new InvalidArgumentError('"delete" must be an array of keys');
    for (const key of patch.delete) {
      if (typeof key !== 'string' || !METADATA_KEY_PATTERN.test(key)) throw new InvalidArgumentError(`metadata key ${JSON.stringify(key)} is invalid`);
      if (key in set) throw new InvalidArgumentError(`metadata key "${key}" is both set and deleted`);
      remove.push(key);
    }
  }
  if (Object.keys(set).length === 0 && remove.length === 0) throw new InvalidArgumentError('the patch changes nothing: give "set" and/or "delete"');
  return { set, remove };
}
