/**
 * Protocol Buffers encoding of the agent's side of proto/berth.proto: AgentMessage out,
 * SchedulerMessage in. The objects have the shapes that @grpc/proto-loader produces with the
 * contract's options: camelCase, int64 as decimal strings, enums as names, defaults filled, and
 * the set oneof member named in `body`. The rest of the agent does not depend on the coding.
 *
 * Loading the contract through proto-loader built protobuf.js reflection for every message and
 * kept about 4.9 MiB of the agent's resident memory. These functions use only protobuf.js's
 * minimal reader and writer. A change to the contract must change them too: the tests compare
 * them with protobuf.js reflection over proto/berth.proto.
 */
import { Reader, Writer } from 'protobufjs/minimal';

import type { AgentMessage, AssignmentProto, SchedulerMessage } from './proto';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;

/** DesiredState values by number, as in the contract. */
const DESIRED_STATES: Record<number, string> = { 0: 'DESIRED_STATE_UNSPECIFIED', 1: 'DESIRED_STATE_LOADED', 2: 'DESIRED_STATE_LAUNCHED' };

type Fields = Record<string, unknown>;

function tag(w: Writer, field: number, wire: number): Writer {
  return w.uint32((field << 3) | wire);
}

function putString(w: Writer, field: number, value: unknown, always = false): void {
  if (value === undefined || value === null) return;
  const text = String(value);
  if (text !== '' || always) tag(w, field, WIRE_LENGTH).string(text);
}

function putBool(w: Writer, field: number, value: unknown): void {
  if (value === true) tag(w, field, WIRE_VARINT).bool(true);
}

function putUint32(w: Writer, field: number, value: unknown): void {
  const n = Number(value ?? 0);
  if (n !== 0) tag(w, field, WIRE_VARINT).uint32(n);
}

/** int64 and uint64 given as a decimal string or a number. */
function putInt64(w: Writer, field: number, value: unknown, unsigned = false): void {
  if (value === undefined || value === null || value === '' || value === 0 || value === '0') return;
  const text = String(value);
  if (!/^-?\d+$/.test(text)) throw new TypeError(`field ${field}: expected an integer, got ${JSON.stringify(value)}`);
  tag(w, field, WIRE_VARINT);
  if (unsigned) w.uint64(text);
  else w.int64(text);
}

function putMessage(w: Writer, field: number, value: unknown, encode: (w: Writer, value: Fields) => void): void {
  if (value === undefined || value === null) return;
  tag(w, field, WIRE_LENGTH).fork();
  encode(w, value as Fields);
  w.ldelim();
}

function putStringMap(w: Writer, field: number, value: unknown): void {
  for (const [key, entry] of Object.entries((value ?? {}) as Record<string, unknown>)) {
    tag(w, field, WIRE_LENGTH).fork();
    putString(w, 1, key);
    putString(w, 2, entry);
    w.ldelim();
  }
}

function encodeCapacity(w: Writer, m: Fields): void {
  const cpus = Number(m.cpus ?? 0);
  if (cpus !== 0) tag(w, 1, WIRE_FIXED64).double(cpus);
  putInt64(w, 2, m.memoryBytes, true);
}

function encodeRunningUnit(w: Writer, m: Fields): void {
  putString(w, 1, m.name);
  putString(w, 2, m.hash);
  putString(w, 3, m.containerId);
}

function encodeHello(w: Writer, m: Fields): void {
  putString(w, 1, m.machineId);
  putString(w, 2, m.address);
  putStringMap(w, 3, m.metadata);
  putMessage(w, 4, m.capacity, encodeCapacity);
  putString(w, 5, m.agentVersion);
  putString(w, 6, m.joinToken);
  for (const unit of (m.running ?? []) as Fields[]) putMessage(w, 7, unit, encodeRunningUnit);
}

function encodeUnitState(w: Writer, m: Fields): void {
  putString(w, 1, m.name);
  putString(w, 2, m.hash);
  putString(w, 3, m.loadState);
  putString(w, 4, m.activeState);
  putString(w, 5, m.subState);
  putString(w, 6, m.health);
  // proto3 `optional`: present means sent, even when it is zero or empty.
  if (m.exitCode !== undefined && m.exitCode !== null) tag(w, 7, WIRE_VARINT).int32(Number(m.exitCode));
  putString(w, 8, m.signal, true);
  putBool(w, 9, m.oomKilled);
  putUint32(w, 10, m.restarts);
  putString(w, 11, m.containerId);
  putString(w, 12, m.imageDigest);
  putString(w, 13, m.lastError);
  putInt64(w, 14, m.timestampMs);
  putBool(w, 15, m.removed);
}

function encodeLogChunk(w: Writer, m: Fields): void {
  putString(w, 1, m.requestId);
  for (const line of (m.lines ?? []) as unknown[]) putString(w, 2, line, true);
  putBool(w, 3, m.eof);
  putString(w, 4, m.error);
}

/** Encodes an AgentMessage. Throws TypeError for an int64 field that is not an integer. */
export function encodeAgentMessage(message: AgentMessage): Buffer {
  const w = Writer.create();
  const m = message as Fields;
  putMessage(w, 1, m.hello, encodeHello);
  putMessage(w, 2, m.heartbeat, (inner, v) => putInt64(inner, 1, v.sentAtMs));
  putMessage(w, 3, m.unitState, encodeUnitState);
  putMessage(w, 4, m.logChunk, encodeLogChunk);
  putMessage(w, 5, m.drain, (inner, v) => putString(inner, 1, v.reason));
  return Buffer.from(w.finish());
}

/**
 * Reads the fields of one message up to `end` and passes each to `field`. A field for which it
 * returns false is skipped.
 */
function readFields(r: Reader, end: number, field: (number: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const key = r.uint32();
    const number = key >>> 3;
    const wire = key & 7;
    if (!field(number, wire)) r.skipType(wire);
  }
}

function nested<T>(r: Reader, decode: (r: Reader, end: number) => T): T {
  const length = r.uint32();
  return decode(r, r.pos + length);
}

function readStringMap(r: Reader, end: number, into: Record<string, string>): void {
  let key = '';
  let value = '';
  readFields(r, end, (number) => {
    if (number === 1) key = r.string();
    else if (number === 2) value = r.string();
    else return false;
    return true;
  });
  into[key] = value;
}

function readCapacity(r: Reader, end: number): Fields {
  const m: Fields = { cpus: 0, memoryBytes: '0' };
  readFields(r, end, (number) => {
    if (number === 1) m.cpus = r.double();
    else if (number === 2) m.memoryBytes = String(r.uint64());
    else return false;
    return true;
  });
  return m;
}

function readMachineRecord(r: Reader, end: number): Fields {
  const metadata: Record<string, string> = {};
  const m: Fields = { id: '', address: '', metadata, capacity: null, version: '' };
  readFields(r, end, (number) => {
    if (number === 1) m.id = r.string();
    else if (number === 2) m.address = r.string();
    else if (number === 3) nested(r, (inner, innerEnd) => readStringMap(inner, innerEnd, metadata));
    else if (number === 4) m.capacity = nested(r, readCapacity);
    else if (number === 5) m.version = r.string();
    else return false;
    return true;
  });
  return m;
}

function readWelcome(r: Reader, end: number): NonNullable<SchedulerMessage['welcome']> {
  const m: Fields = { machine: null, heartbeatIntervalMs: 0, schedulerId: '' };
  readFields(r, end, (number) => {
    if (number === 1) m.machine = nested(r, readMachineRecord);
    else if (number === 2) m.heartbeatIntervalMs = r.uint32();
    else if (number === 3) m.schedulerId = r.string();
    else return false;
    return true;
  });
  return m as unknown as NonNullable<SchedulerMessage['welcome']>;
}

function readAssignment(r: Reader, end: number): AssignmentProto {
  const m: Fields = { unitName: '', unitText: '', unitHash: '', desiredState: DESIRED_STATES[0] };
  readFields(r, end, (number) => {
    if (number === 1) m.unitName = r.string();
    else if (number === 2) m.unitText = r.string();
    else if (number === 3) m.unitHash = r.string();
    else if (number === 4) {
      const value = r.int32();
      // An enum value this agent does not know stays a number, as proto-loader leaves it.
      m.desiredState = DESIRED_STATES[value] ?? value;
    } else return false;
    return true;
  });
  return m as unknown as AssignmentProto;
}

function readAssignments(r: Reader, end: number, listField: 'assignments' | 'upserts', withRemovals: boolean): Fields {
  const list: AssignmentProto[] = [];
  const removals: string[] = [];
  const m: Fields = { generation: '0', [listField]: list };
  if (withRemovals) m.removals = removals;
  readFields(r, end, (number) => {
    if (number === 1) m.generation = String(r.int64());
    else if (number === 2) list.push(nested(r, readAssignment));
    else if (number === 3 && withRemovals) removals.push(r.string());
    else return false;
    return true;
  });
  return m;
}

function readLogRequest(r: Reader, end: number): Fields {
  const m: Fields = { requestId: '', unit: '', lines: 0, follow: false };
  readFields(r, end, (number) => {
    if (number === 1) m.requestId = r.string();
    else if (number === 2) m.unit = r.string();
    else if (number === 3) m.lines = r.uint32();
    else if (number === 4) m.follow = r.bool();
    else return false;
    return true;
  });
  return m;
}

function readError(r: Reader, end: number): Fields {
  const m: Fields = { code: '', message: '', fatal: false };
  readFields(r, end, (number) => {
    if (number === 1) m.code = r.string();
    else if (number === 2) m.message = r.string();
    else if (number === 3) m.fatal = r.bool();
    else return false;
    return true;
  });
  return m;
}

function readCancel(r: Reader, end: number): Fields {
  const m: Fields = { requestId: '' };
  readFields(r, end, (number) => {
    if (number !== 1) return false;
    m.requestId = r.string();
    return true;
  });
  return m;
}

const SCHEDULER_BODIES: Record<number, [NonNullable<SchedulerMessage['body']>, (r: Reader, end: number) => unknown]> = {
  1: ['welcome', readWelcome],
  2: ['assignmentSet', (r, end) => readAssignments(r, end, 'assignments', false)],
  3: ['assignmentUpdate', (r, end) => readAssignments(r, end, 'upserts', true)],
  4: ['logRequest', readLogRequest],
  5: ['cancelLogRequest', readCancel],
  6: ['error', readError],
};

/**
 * Decodes a SchedulerMessage. Unknown fields are skipped. Throws (protobuf.js's RangeError or
 * Error) for truncated or malformed input; grpc-js then ends the call with INTERNAL.
 */
export function decodeSchedulerMessage(bytes: Buffer): SchedulerMessage {
  const r = Reader.create(bytes);
  const m: Record<string, unknown> = {};
  readFields(r, r.len, (number, wire) => {
    const body = SCHEDULER_BODIES[number];
    if (!body || wire !== WIRE_LENGTH) return false;
    // A oneof keeps the member that came last.
    if (typeof m.body === 'string') delete m[m.body];
    m.body = body[0];
    m[body[0]] = nested(r, body[1]);
    return true;
  });
  return m as SchedulerMessage;
}
