import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';

import { AgentMessage, PROTO_PATH, SchedulerMessage } from './proto';
import { decodeSchedulerMessage, encodeAgentMessage } from './wire-codec';

// protobuf.js reflection over the contract, with the conversion options of the scheduler's
// proto-loader: the reference the hand-written codec must agree with.
const root = protobuf.loadSync(PROTO_PATH);
const AgentMessageType = root.lookupType('berth.v1.AgentMessage');
const SchedulerMessageType = root.lookupType('berth.v1.SchedulerMessage');
const OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

function asReceived(type: protobuf.Type, bytes: Uint8Array): unknown {
  return type.toObject(type.decode(bytes), OPTIONS);
}

describe('agent message encoding', () => {
  const cases: { name: string; message: AgentMessage }[] = [
    {
      name: 'hello with metadata and running units',
      message: {
        hello: {
          machineId: 'm1',
          address: '10.0.0.1',
          metadata: { region: 'eu', disk: 'ssd' },
          capacity: { cpus: 1.5, memoryBytes: '17179869184' },
          agentVersion: '0.1.0',
          running: [{ name: 'web.service', hash: 'abc', containerId: 'c1' }],
        },
      },
    },
    { name: 'heartbeat', message: { heartbeat: { sentAtMs: '1796426617575' } } },
    {
      name: 'unit state with exit code zero',
      message: {
        unitState: {
          name: 'web.service', hash: 'h', loadState: 'loaded', activeState: 'failed', subState: 'exited', health: '',
          exitCode: 0, signal: '', oomKilled: true, restarts: 3, containerId: 'c', imageDigest: 'sha256:aa', lastError: 'boom', timestampMs: '42', removed: false,
        },
      },
    },
    { name: 'unit state without exit', message: { unitState: { name: 'a.service', restarts: 0, oomKilled: false, timestampMs: '1', removed: true } } },
    { name: 'negative exit code', message: { unitState: { name: 'a.service', exitCode: -1, timestampMs: '1' } } },
    { name: 'log chunk with empty lines', message: { logChunk: { requestId: 'r1', lines: ['one', '', 'three ✓'], eof: true, error: '' } } },
    { name: 'drain', message: { drain: { reason: 'maintenance' } } },
    { name: 'empty hello', message: { hello: { machineId: '', address: '', metadata: {}, capacity: { cpus: 0, memoryBytes: '0' }, agentVersion: '', running: [] } } },
  ];
  for (const c of cases) {
    it(`encodes ${c.name}`, () => {
      const expected = AgentMessageType.toObject(AgentMessageType.fromObject(c.message), OPTIONS);
      assert.deepEqual(asReceived(AgentMessageType, encodeAgentMessage(c.message)), expected);
    });
  }

  it('rejects a non-integer int64', () => {
    assert.throws(() => encodeAgentMessage({ heartbeat: { sentAtMs: '12x' } }), /expected an integer/);
  });
});

describe('scheduler message decoding', () => {
  const cases: { name: string; message: Record<string, unknown> }[] = [
    {
      name: 'welcome',
      message: { welcome: { machine: { id: 'm1', address: 'a', metadata: { k: 'v' }, capacity: { cpus: 2, memoryBytes: '1024' }, version: '1' }, heartbeatIntervalMs: 5000, schedulerId: 's1' } },
    },
    { name: 'welcome without machine', message: { welcome: { heartbeatIntervalMs: 1 } } },
    {
      name: 'assignment set',
      message: {
        assignmentSet: {
          generation: '9007199254740993',
          assignments: [
            { unitName: 'a.service', unitText: '[Service]\nExecStart=/bin/true\n', unitHash: 'h1', desiredState: 'DESIRED_STATE_LAUNCHED' },
            { unitName: 'b.service', unitText: '', unitHash: 'h2', desiredState: 'DESIRED_STATE_UNSPECIFIED' },
          ],
        },
      },
    },
    { name: 'empty assignment set', message: { assignmentSet: {} } },
    { name: 'assignment update', message: { assignmentUpdate: { generation: '7', upserts: [{ unitName: 'c.service', desiredState: 'DESIRED_STATE_LOADED' }], removals: ['a.service', 'b.service'] } } },
    { name: 'log request', message: { logRequest: { requestId: 'r', unit: 'a.service', lines: 100, follow: true } } },
    { name: 'cancel log request', message: { cancelLogRequest: { requestId: 'r' } } },
    { name: 'error', message: { error: { code: 'UNAUTHENTICATED', message: 'bad token', fatal: true } } },
    { name: 'empty message', message: {} },
  ];
  for (const c of cases) {
    it(`decodes ${c.name}`, () => {
      const bytes = SchedulerMessageType.encode(SchedulerMessageType.fromObject(c.message)).finish();
      assert.deepEqual(decodeSchedulerMessage(Buffer.from(bytes)), asReceived(SchedulerMessageType, bytes));
    });
  }

  it('keeps an enum value it does not know as a number', () => {
    const bytes = SchedulerMessageType.encode(SchedulerMessageType.fromObject({ assignmentSet: { assignments: [{ unitName: 'a', desiredState: 7 }] } })).finish();
    const decoded = decodeSchedulerMessage(Buffer.from(bytes)) as SchedulerMessage;
    assert.equal(decoded.assignmentSet?.assignments[0]?.desiredState, 7 as unknown as string);
  });

  it('skips fields a newer scheduler may add', () => {
    const known = SchedulerMessageType.encode(SchedulerMessageType.fromObject({ logRequest: { requestId: 'r', lines: 5 } })).finish();
    // Field 15 (varint 1) and field 16 (length-delimited "xy") at the top level.
    const unknown = Buffer.from([0x78, 0x01, 0x82, 0x01, 0x02, 0x78, 0x79]);
    const decoded = decodeSchedulerMessage(Buffer.concat([Buffer.from(known), unknown]));
    assert.deepEqual(decoded, asReceived(SchedulerMessageType, known));
  });

  it('keeps the last member of the oneof', () => {
    const first = SchedulerMessageType.encode(SchedulerMessageType.fromObject({ error: { code: 'X' } })).finish();
    const second = SchedulerMessageType.encode(SchedulerMessageType.fromObject({ cancelLogRequest: { requestId: 'r' } })).finish();
    const decoded = decodeSchedulerMessage(Buffer.concat([Buffer.from(first), Buffer.from(second)]));
    assert.equal(decoded.body, 'cancelLogRequest');
    assert.equal(decoded.error, undefined);
  });

  it('rejects a truncated message', () => {
    const bytes = SchedulerMessageType.encode(SchedulerMessageType.fromObject({ error: { code: 'X', message: 'long enough' } })).finish();
    assert.throws(() => decodeSchedulerMessage(Buffer.from(bytes.subarray(0, bytes.length - 3))));
  });
});
