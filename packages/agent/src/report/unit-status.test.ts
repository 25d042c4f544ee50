import assert from 'node:assert/strict';
import { sameReport, systemdStates, toReportMessage, UnitPhase, UnitStatus } from './unit-status';
import type { ExitResult } from '../supervise/restart-policy';

function status(overrides: Partial<UnitStatus> = {}): UnitStatus {
  return {
    name: 'web.service', hash: 'h1', loadState: 'loaded', phase: 'running', health: 'none',
    oomKilled: false, restarts: 0, containerId: 'c1', imageDigest: 'sha256:aa', lastError: '', ...overrides,
  };
}

describe('unit status', () => {
  const cases: Array<{ phase: UnitPhase; result?: ExitResult; expected: string }> = [
    { phase: 'pulling', expected: 'activating/pulling' },
    { phase: 'creating', expected: 'activating/creating' },
    { phase: 'created', expected: 'inactive/dead' },
    { phase: 'starting', expected: 'activating/start' },
    { phase: 'running', expected: 'active/running' },
    { phase: 'stopping', expected: 'deactivating/stop-sigterm' },
    { phase: 'auto-restart', result: 'exit-code', expected: 'activating/auto-restart' },
    { phase: 'exited', result: 'success', expected: 'inactive/dead' },
    { phase: 'exited', result: 'exit-code', expected: 'failed/failed' },
    { phase: 'exited', result: 'oom-kill', expected: 'failed/failed' },
    { phase: 'failed', result: 'exit-code', expected: 'failed/failed' },
    { phase: 'removed', expected: 'inactive/dead' },
  ];
  for (const testCase of cases) {
    it(`maps ${testCase.phase}${testCase.result ? ` after ${testCase.result}` : ''}`, () => {
      const { activeState, subState } = systemdStates({ phase: testCase.phase, result: testCase.result });
      assert.equal(`${activeState}/${subState}`, testCase.expected);
    });
  }

  it('carries exit details and marks removal', () => {
    const message = toReportMessage(status({ phase: 'removed', exitCode: 137, signal: 'SIGKILL', oomKilled: true, restarts: 2 }), 42);
    assert.equal(message.removed, true);
    assert.equal(message.exitCode, 137);
    assert.equal(message.signal, 'SIGKILL');
    assert.equal(message.oomKilled, true);
    assert.equal(message.restarts, 2);
    assert.equal(message.timestampMs, '42');
  });

  it('leaves exit fields unset before any exit', () => {
    const message = toReportMessage(status(), 1);
    assert.equal('exitCode' in message, false);
    assert.equal('signal' in message, false);
  });

  it('compares reports without the timestamp', () => {
    assert.equal(sameReport(status(), status()), true);
    assert.equal(sameReport(status(), status({ health: 'unhealthy' })), false);
  });
});
