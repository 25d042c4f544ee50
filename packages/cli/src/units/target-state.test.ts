import { strict as assert } from 'node:assert';
import type { UnitDetail, UnitState } from '../api/types';
import { evaluateProgress, Observation, Progress, WaitVerb } from './target-state';

const MACHINE = '4c9c3d0a5b7e4f1a9d2c8b6e0f1a2b3c';
const HASH = '1c6fb6f3684bafb0c173d8b8b957ceff031180c1';

function state(overrides: Partial<UnitState> = {}): UnitState {
  return {
    name: 'web.service',
    machineId: MACHINE,
    hash: HASH,
    loadState: 'loaded',
    activeState: 'active',
    subState: 'running',
    health: 'none',
    exitCode: null,
    signal: null,
    oomKilled: false,
    restarts: 0,
    containerId: 'web-service-1',
    imageDigest: 'sha256:00',
    lastError: null,
    updatedAt: '2026-12-04T21:00:00.000Z',
    ...overrides,
  };
}

function unit(overrides: Partial<UnitDetail> = {}): UnitDetail {
  return {
    name: 'web.service',
    hash: HASH,
    desiredState: 'launched',
    machineId: MACHINE,
    reason: null,
    state: state(),
    text: '[Container]\nImage=busybox\n',
    generation: 1,
    ...overrides,
  };
}

type Expect = { kind: Progress['kind']; stuck?: boolean; why?: RegExp };

const cases: { name: string; verb: WaitVerb; observation: Observation; expect: Expect }[] = [
  { name: 'start reached when running', verb: 'start', observation: { unit: unit() }, expect: { kind: 'reached' } },
  {
    name: 'start waits for health check',
    verb: 'start',
    observation: { unit: unit({ state: state({ health: 'starting' }) }) },
    expect: { kind: 'waiting', stuck: false, why: /health check still starting/ },
  },
  {
    name: 'start reached when healthy',
    verb: 'start',
    observation: { unit: unit({ state: state({ health: 'healthy' }) }) },
    expect: { kind: 'reached' },
  },
  {
    name: 'start waits while unhealthy',
    verb: 'start',
    observation: { unit: unit({ state: state({ health: 'unhealthy', lastError: 'HealthHttp=/healthz returned 500' }) }) },
    expect: { kind: 'waiting', stuck: false, why: /unhealthy: HealthHttp=\/healthz returned 500/ },
  },
  {
    name: 'start stuck when unplaceable',
    verb: 'start',
    observation: { unit: unit({ machineId: null, state: null, reason: 'MachineMetadata=role=db matched none of 3 machines' }) },
    expect: { kind: 'waiting', stuck: true, why: /not placed: MachineMetadata=role=db matched none of 3 machines/ },
  },
  {
    name: 'start waits for placement',
    verb: 'start',
    observation: { unit: unit({ machineId: null, state: null }) },
    expect: { kind: 'waiting', stuck: false, why: /scheduler to place/ },
  },
  {
    name: 'start waits for first report',
    verb: 'start',
    observation: { unit: unit({ state: null }) },
    expect: { kind: 'waiting', stuck: false, why: /no report from its agent/ },
  },
  {
    name: 'start waits for new hash',
    verb: 'start',
    observation: { unit: unit({ state: state({ hash: 'ffffffffff' }) }) },
    expect: { kind: 'waiting', stuck: false, why: /still reports unit hash fffffff/ },
  },
  {
    name: 'start failed with Restart=no is stuck',
    verb: 'start',
    observation: {
      unit: unit({ state: state({ activeState: 'failed', subState: 'failed', exitCode: 2, lastError: 'exec /bin/web: no such file' }) }),
      restartPolicy: 'no',
    },
    expect: { kind: 'waiting', stuck: true, why: /failed on 4c9c3d0a\.\.\. \(last exit: code 2\).*no such file/ },
  },
  {
    name: 'start failed with restarts waits',
    verb: 'start',
    observation: { unit: unit({ state: state({ activeState: 'failed', subState: 'failed', exitCode: 1 }) }), restartPolicy: 'always' },
    expect: { kind: 'waiting', stuck: false },
  },
  {
    name: 'start stuck on load error',
    verb: 'start',
    observation: { unit: unit({ state: state({ loadState: 'error', activeState: 'failed', lastError: 'User=web: no such user in the image' }) }) },
    expect: { kind: 'waiting', stuck: true, why: /machine 4c9c3d0a\.\.\. cannot load it: User=web: no such user/ },
  },
  { name: 'start fails when destroyed', verb: 'start', observation: { unit: null }, expect: { kind: 'failed', why: /destroyed/ } },
  {
    name: 'load reached when container inactive',
    verb: 'load',
    observation: { unit: unit({ desiredState: 'loaded', state: state({ activeState: 'inactive', subState: 'dead' }) }) },
    expect: { kind: 'reached' },
  },
  {
    name: 'stop waits while active',
    verb: 'stop',
    observation: { unit: unit({ desiredState: 'loaded', state: state({ activeState: 'deactivating', subState: 'stop-sigterm' }) }) },
    expect: { kind: 'waiting', stuck: false, why: /still deactivating/ },
  },
  {
    name: 'stop reached when failed',
    verb: 'stop',
    observation: { unit: unit({ desiredState: 'loaded', state: state({ activeState: 'failed', exitCode: 143 }) }) },
    expect: { kind: 'reached' },
  },
  {
    name: 'unload reached without state',
    verb: 'unload',
    observation: { unit: unit({ desiredState: 'inactive', machineId: null, state: null }) },
    expect: { kind: 'reached' },
  },
  {
    name: 'unload waits while loaded',
    verb: 'unload',
    observation: { unit: unit({ desiredState: 'inactive' }) },
    expect: { kind: 'waiting', stuck: false, why: /still loaded/ },
  },
  { name: 'destroy reached when gone', verb: 'destroy', observation: { unit: null, reportedStates: [] }, expect: { kind: 'reached' } },
  {
    name: 'destroy waits for machines',
    verb: 'destroy',
    observation: { unit: null, reportedStates: [state()] },
    expect: { kind: 'waiting', why: /still reported by 4c9c3d0a\.\.\./ },
  },
];

describe('evaluateProgress', () => {
  for (const { name, verb, observation, expect } of cases) {
    it(name, () => {
      const progress = evaluateProgress(verb, observation);
      assert.equal(progress.kind, expect.kind);
      if (expect.stuck !== undefined && progress.kind === 'waiting') assert.equal(progress.stuck, expect.stuck);
      if (expect.why !== undefined && progress.kind !== 'reached') assert.match(progress.why, expect.why);
    });
  }
});
