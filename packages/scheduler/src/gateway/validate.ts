import { InvalidArgumentError } from '../errors';
import { MachineRecord, UnitStateRecord } from '../store/records';
import { WireHello, WireUnitState } from './proto';

// Machine ids become etcd key segments, so they may not contain `/`; /etc/machine-id is 32 hex.
const MACHINE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_METADATA_ENTRIES = 64;
const MAX_TEXT_FIELD_CHARS = 4096;
const LOAD_STATES = ['loaded', 'not-found', 'error', 'masked', 'stub'];
const ACTIVE_STATES = ['activating', 'active', 'deactivating', 'inactive', 'failed', 'reloading'];
const HEALTH_STATES = ['none', 'starting', 'healthy', 'unhealthy'];

function text(field: string, value: unknown, machineId: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`agent ${machineId}: ${field} must be a string`);
  if (value.length > MAX_TEXT_FIELD_CHARS) {
    throw new InvalidArgumentError(`agent ${machineId}: ${field} is longer than ${MAX_TEXT_FIELD_CHARS} characters`);
  }
  return value;
}

/** Checks a Hello and builds the machine record; throws InvalidArgumentError naming the field. */
export function machineFromHello(hello: WireHello, replicaId: string): MachineRecord {
  const id = hello.machineId;
  if (!MACHINE_ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(`Hello.machine_id "${String(id).slice(0, 140)}" is invalid: expected letters, digits, ".", "_" or "-" (up to 128), such as the contents of /etc/machine-id`);
  }
  const metadata: Record<string, string> = {};
  const entries = Object.entries(hello.metadata ?? {});
  if (entries.length > MAX_METADATA_ENTRIES) throw new InvalidArgumentError(`agent ${id}: more than ${MAX_METADATA_ENTRIES} metadata entries`);
  for (const [key, value] of entries) {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new InvalidArgumentError(`agent ${id}: metadata key "${key}" is invalid: use letters, digits, "_", "." or "-"`);
    metadata[key] = text(`metadata.${key}`, value, id);
  }
  const cpus = Number(hello.capacity?.cpus ?? 0);
  const memoryBytes = Number(hello.capacity?.memoryBytes ?? 0);
  if (!Number.isFinite(cpus) || cpus < 0 || !Number.isSafeInteger(memoryBytes) || memoryBytes < 0) {
    throw new InvalidArgumentError(`agent ${id}: capacity must have cpus >= 0 and memory_bytes >= 0`);
  }
  return {
    id,
    address: text('address', hello.address, id),
    metadata,
    capacity: { cpus, memoryBytes },
    version: text('agent_version', hello.agentVersion, id),
    lastSeen: new Date().toISOString(),
    replicaId,
  };
}

/** Checks a unit state report and builds the stored record; throws InvalidArgumentError naming the field. */
export function stateFromReport(report: WireUnitState, machineId: string): UnitStateRecord {
  const name = text('name', report.name, machineId);
  if (name === '' || name.includes('/')) throw new InvalidArgumentError(`agent ${machineId}: unit state report has an invalid unit name "${name}"`);
  const where = `agent ${machineId}, unit ${name}`;
  if (!LOAD_STATES.includes(report.loadState)) throw new InvalidArgumentError(`${where}: load_state "${report.loadState}" is not one of ${LOAD_STATES.join(', ')}`);
  if (!ACTIVE_STATES.includes(report.activeState)) throw new InvalidArgumentError(`${where}: active_state "${report.activeState}" is not one of ${ACTIVE_STATES.join(', ')}`);
  const health = report.health === '' ? 'none' : report.health;
  if (!HEALTH_STATES.includes(health)) throw new InvalidArgumentError(`${where}: health "${report.health}" is not one of ${HEALTH_STATES.join(', ')}`);
  const timestampMs = Number(report.timestampMs);
  return {
    name,
    machineId,
    hash: text('hash', report.hash, machineId),
    loadState: report.loadState,
    activeState: report.activeState,
    subState: text('sub_state', report.subState, machineId),
    health,
    exitCode: report.exitCode ?? null,
    signal: report.signal ?? null,
    oomKilled: Boolean(report.oomKilled),
    restarts: Number(report.restarts) || 0,
    containerId: text('container_id', report.containerId, machineId),
    imageDigest: text('image_digest', report.imageDigest, machineId),
    lastError: report.lastError ? text('last_error', report.lastError, machineId) : null,
    updatedAt: new Date(timestampMs > 0 ? timestampMs : Date.now()).toISOString(),
  };
}
