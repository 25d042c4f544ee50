import { Injectable } from '@nestjs/common';
import { formatDiagnostic, loadUnit, parseUnitName, validateUnitName } from '@berth/unitfile';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import { DesiredState } from '../placement/types';
import { EtcdStore, StoredItem } from '../store/etcd-store.service';
import { AssignmentRecord, ReasonRecord, UnitRecord, UnitStateRecord } from '../store/records';
import { Placements, summarize, UnitDetail, UnitSummary } from './views';

const DESIRED_STATES: DesiredState[] = ['inactive', 'loaded', 'launched'];
// Two API writers racing on one unit retry their read-modify-write this many times.
const MAX_WRITE_ATTEMPTS = 5;

/** Body of `PUT /v1/units/NAME`. */
export interface PutUnitBody {
  text?: unknown;
  desiredState?: unknown;
  replace?: unknown;
}

/** Result of a PUT: the unit and whether it was created (201) or existed (200). */
export interface PutUnitResult {
  created: boolean;
  unit: UnitDetail;
}

/**
 * Unit operations of the HTTP API. Units, reasons and states are read from etcd, so a client reads
 * its own writes. One unit's assignments come from the watched mirror, a few milliseconds behind
 * etcd, because assignments are stored by machine and finding one unit's would scan them all.
 */
@Injectable()
export class UnitsService {
  constructor(private readonly store: EtcdStore) {}

  /** Lists every unit with its placement, reason and state, sorted by name. */
  async list(): Promise<UnitSummary[]> {
    const keys = this.store.keys;
    const [units, placements, reasons, states] = await Promise.all([
      this.store.readPrefix<UnitRecord>(keys.dir('units')),
      this.readPlacements(),
      this.readReasons(),
      this.readStates(),
    ]);
    return units.items
      .filter((item) => item.value !== undefined)
      .map((item) => summarize(item.value, placements, reasons, states))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Returns one unit; throws NotFoundError. */
  async get(name: string): Promise<UnitDetail> {
    const item = await this.store.get<UnitRecord>(this.store.keys.unit(checkName(name)));
    if (item?.value === undefined) throw new NotFoundError(`unit "${name}" not found`);
    return this.detail(item.value);
  }

  private async detail(unit: UnitRecord): Promise<UnitDetail> {
    const keys = this.store.keys;
    const placements: Placements = new Map([[unit.name, this.store.mirror.assignmentsOf(unit.name)]]);
    const [reason, states] = await Promise.all([
      this.store.get<ReasonRecord>(keys.reason(unit.name)),
      this.store.readPrefix<UnitStateRecord>(keys.statesOf(unit.name)),
    ]);
    const reasons = new Map(reason?.value ? [[unit.name, reason.value]] : []);
    const stateMap = new Map([[unit.name, states.items.map((s) => s.value).filter(Boolean)]]);
    const summary = summarize(unit, placements, reasons, stateMap);
    const revisions = (placements.get(unit.name) ?? []).map((p) => p.modRevision);
    return { ...summary, text: unit.text, generation: revisions.length > 0 ? Math.max(...revisions) : null };
  }

  /** Creates or replaces a unit following docs/api.md; throws InvalidArgumentError, NotFoundError or ConflictError. */
  async put(name: string, body: PutUnitBody): Promise<PutUnitResult> {
    checkName(name);
    const desired = body.desiredState === undefined ? undefined : checkDesired(body.desiredState);
    if (body.replace !== undefined && typeof body.replace !== 'boolean') throw new InvalidArgumentError('"replace" must be true or false');
    const text = await this.textFor(name, body.text);
    const loaded = loadUnit(name, text);
    if (loaded.unit === undefined) {
      const diagnostics = loaded.diagnostics.map((d) => ({ ...d, text: formatDiagnostic(d) }));
      const first = diagnostics.find((d) => d.severity === 'error');
      throw new InvalidArgumentError(`unit "${name}" is invalid: ${first?.text ?? 'it does not load'}`, { diagnostics });
    }
    if (loaded.unit.nameInfo.isTemplate && desired !== undefined && desired !== 'inactive') {
      throw new InvalidArgumentError(`unit "${name}" is a template: it accepts only desiredState "inactive"; start an instance such as ${name.replace('@.', '@1.')}`);
    }

    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const existing = await this.store.get<UnitRecord>(this.store.keys.unit(name));
      const record = this.nextRecord(name, text, loaded.unit.hash, desired, body.replace === true, existing);
      if (record === undefined) return { created: false, unit: await this.detail(existing!.value) };
      const written = await this.store.putIf(this.store.keys.unit(name), record, existing?.modRevision ?? 0);
      if (!written) continue;
      // A unit that did not exist a moment ago has no reason, state or assignment to read yet.
      if (existing === undefined) return { created: true, unit: { ...summarize(record, new Map(), new Map(), new Map()), text: record.text, generation: null } };
      return { created: false, unit: await this.detail(record) };
    }
    throw new ConflictError(`unit "${name}" changed concurrently ${MAX_WRITE_ATTEMPTS} times; retry`);
  }

  /** Decides the record to write; undefined when nothing changes. Throws ConflictError for another hash without replace. */
  private nextRecord(
    name: string,
    text: string,
    hash: string,
    desired: DesiredState | undefined,
    replace: boolean,
    existing: StoredItem<UnitRecord> | undefined,
  ): UnitRecord | undefined {
    const now = new Date().toISOString();
    const current = existing?.value;
    if (current === undefined) {
      return { name, text, hash, desiredState: desired ?? 'inactive', createdAt: now, updatedAt: now };
    }
    if (current.hash !== hash && !replace) {
      throw new ConflictError(`unit "${name}" exists with other content (hash ${current.hash.slice(0, 7)}, new ${hash.slice(0, 7)}); set "replace": true to replace it`, {
        existingHash: current.hash,
        hash,
      });
    }
    const desiredState = desired ?? current.desiredState;
    if (current.hash === hash && current.desiredState === desiredState) return undefined;
    // An identical hash keeps the stored text: the new text differs only in comments or spacing.
    const keptText = current.hash === hash ? current.text : text;
    return { ...current, text: keptText, hash, desiredState, updatedAt: now };
  }

  /** Returns the submitted text, or for an instance without text the stored template's text. */
  private async textFor(name: string, text: unknown): Promise<string> {
    if (typeof text === 'string') return text;
    if (text !== undefined) throw new InvalidArgumentError('"text" must be a string');
    const info = parseUnitName(name);
    if (info === undefined || !info.isInstance) {
      throw new InvalidArgumentError(`unit "${name}" needs "text": only instances of a stored template may omit it`);
    }
    const template = await this.store.get<UnitRecord>(this.store.keys.unit(info.template));
    if (template?.value === undefined) {
      throw new NotFoundError(`template "${info.template}" not found: submit it first or send the text of "${name}"`, { template: info.template });
    }
    return template.value.text;
  }

  /** Changes only the desired state; throws NotFoundError or InvalidArgumentError. */
  async setDesiredState(name: string, value: unknown): Promise<UnitDetail> {
    checkName(name);
    const desired = checkDesired(value);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const existing = await this.store.get<UnitRecord>(this.store.keys.unit(name));
      if (existing?.value === undefined) throw new NotFoundError(`unit "${name}" not found`);
      if (parseUnitName(name)?.isTemplate && desired !== 'inactive') {
        throw new InvalidArgumentError(`unit "${name}" is a template: it accepts only desiredState "inactive"`);
      }
      if (existing.value.desiredState === desired) return this.detail(existing.value);
      const record = { ...existing.value, desiredState: desired, updatedAt: new Date().toISOString() };
      if (await this.store.putIf(this.store.keys.unit(name), record, existing.modRevision)) return this.detail(record);
    }
    throw new ConflictError(`unit "${name}" changed concurrently ${MAX_WRITE_ATTEMPTS} times; retry`);
  }

  /** Destroys a unit; the leader then removes its assignments. Throws NotFoundError. */
  async destroy(name: string): Promise<void> {
    checkName(name);
    const deleted = await this.store.delete(this.store.keys.unit(name));
    if (deleted === 0) throw new NotFoundError(`unit "${name}" not found`);
    await this.store.delete(this.store.keys.reason(name));
  }

  /** Reads the unit states agents reported, optionally for one unit and/or machine. */
  async states(unit?: string, machine?: string): Promise<UnitStateRecord[]> {
    const prefix = unit ? this.store.keys.statesOf(checkName(unit)) : this.store.keys.dir('states');
    const { items } = await this.store.readPrefix<UnitStateRecord>(prefix);
    return items
      .map((i) => i.value)
      .filter((s) => s !== undefined && (machine === undefined || s.machineId === machine))
      .sort((a, b) => compareText(a.name, b.name) || compareText(a.machineId, b.machineId));
  }

  /** Unit name to its assignments, read from etcd. */
  async readPlacements(): Promise<Placements> {
    const { items } = await this.store.readPrefix<AssignmentRecord>(this.store.keys.dir('assignments'));
    const placements: Placements = new Map();
    for (const item of items) {
      if (item.value === undefined) continue;
      const list = placements.get(item.value.unit) ?? [];
      list.push({ record: item.value, modRevision: item.modRevision });
      placements.set(item.value.unit, list);
    }
    return placements;
  }

  private async readReasons(): Promise<Map<string, ReasonRecord>> {
    const { items } = await this.store.readPrefix<ReasonRecord>(this.store.keys.dir('reasons'));
    const prefixLength = this.store.keys.dir('reasons').length;
    return new Map(items.filter((i) => i.value).map((i) => [i.key.slice(prefixLength), i.value]));
  }

  private async readStates(): Promise<Map<string, UnitStateRecord[]>> {
    const states = new Map<string, UnitStateRecord[]>();
    for (const state of await this.states()) {
      const list = states.get(state.name) ?? [];
      list.push(state);
      states.set(state.name, list);
    }
    return states;
  }
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function checkName(name: string): string {
  const problem = validateUnitName(name);
  // validateUnitName's messages already quote the name, or give its length when it is too long.
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return name;
}

function checkDesired(value: unknown): DesiredState {
  if (typeof value !== 'string' || !DESIRED_STATES.includes(value as DesiredState)) {
    throw new InvalidArgumentError(`"desiredState" must be one of ${DESIRED_STATES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as DesiredState;
}
