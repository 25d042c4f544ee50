import assert from 'node:assert/strict';
import type { ServiceSpec } from '@berth/unitfile';
import { decideAfterExit, emptyHistory, ExitEvent, exitResult, MAX_RESTART_DELAY_MS, recordStart, RestartHistory, restartDelayMs } from './restart-policy';

function service(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return { restart: 'on-failure', restartSecMs: 100, timeoutStopSecMs: 10_000, startLimitBurst: 5, startLimitIntervalMs: 10_000, ...overrides };
}

function exit(overrides: Partial<ExitEvent> = {}): ExitEvent {
  return { exitCode: 1, oomKilled: false, startedAtMs: 1000, exitedAtMs: 1500, ...overrides };
}

describe('restart policy', () => {
  const decisions: Array<{ name: string; service: ServiceSpec; exit: ExitEvent; expected: string }> = [
    { name: 'Restart=no after failure', service: service({ restart: 'no' }), exit: exit(), expected: 'stay-down exit-code' },
    { name: 'Restart=no after success', service: service({ restart: 'no' }), exit: exit({ exitCode: 0 }), expected: 'stay-down success' },
    { name: 'on-failure after exit code', service: service(), exit: exit(), expected: 'restart exit-code' },
    { name: 'on-failure after clean exit', service: service(), exit: exit({ exitCode: 0 }), expected: 'stay-down success' },
    { name: 'on-failure after SIGTERM', service: service(), exit: exit({ exitCode: undefined, signal: 'SIGTERM' }), expected: 'stay-down success' },
    { name: 'on-failure after SIGSEGV', service: service(), exit: exit({ exitCode: undefined, signal: 'SIGSEGV' }), expected: 'restart signal' },
    { name: 'on-failure after OOM kill', service: service(), exit: exit({ exitCode: undefined, signal: 'SIGKILL', oomKilled: true }), expected: 'restart oom-kill' },
    { name: 'always after clean exit', service: service({ restart: 'always' }), exit: exit({ exitCode: 0 }), expected: 'restart success' },
  ];
  for (const testCase of decisions) {
    it(testCase.name, () => {
      const { decision } = decideAfterExit(testCase.service, recordStart(testCase.service, emptyHistory(), 1000), testCase.exit);
      assert.equal(`${decision.kind} ${decision.result}`, testCase.expected);
    });
  }

  const delays: Array<{ name: string; restartSecMs: number; failures: number; expectedMs: number }> = [
    { name: 'first failure waits RestartSec', restartSecMs: 100, failures: 1, expectedMs: 100 },
    { name: 'third failure waits four times', restartSecMs: 100, failures: 3, expectedMs: 400 },
    { name: 'delay is capped', restartSecMs: 1000, failures: 40, expectedMs: MAX_RESTART_DELAY_MS },
    { name: 'zero RestartSec stays zero', restartSecMs: 0, failures: 5, expectedMs: 0 },
  ];
  for (const testCase of delays) {
    it(testCase.name, () => {
      assert.equal(restartDelayMs(testCase.restartSecMs, testCase.failures), testCase.expectedMs);
    });
  }

  it('backs off exponentially across quick crashes', () => {
    const spec = service({ startLimitBurst: 100 });
    let history: RestartHistory = emptyHistory();
    let now = 0;
    const observed: number[] = [];
    for (let run = 0; run < 4; run++) {
      history = recordStart(spec, history, now);
      const result = decideAfterExit(spec, history, exit({ startedAtMs: now, exitedAtMs: now + 10 }));
      assert.equal(result.decision.kind, 'restart');
      if (result.decision.kind === 'restart') observed.push(result.decision.delayMs);
      history = result.history;
      now += 10 + observed[observed.length - 1];
    }
    assert.deepEqual(observed, [100, 200, 400, 800]);
    assert.equal(history.restarts, 4);
  });

  it('starts over after a long run', () => {
    const spec = service();
    const history: RestartHistory = { startTimesMs: [0], restarts: 3, consecutiveFailures: 3 };
    const { decision } = decideAfterExit(spec, history, exit({ startedAtMs: 0, exitedAtMs: 60_000 }));
    assert.deepEqual(decision, { kind: 'restart', delayMs: 100, result: 'exit-code' });
  });

  it('fails at the start limit with the reason', () => {
    const spec = service({ restartSecMs: 0, startLimitBurst: 3, startLimitIntervalMs: 10_000 });
    let history = emptyHistory();
    const kinds: string[] = [];
    for (let run = 0; run < 4; run++) {
      history = recordStart(spec, history, run * 100);
      const result = decideAfterExit(spec, history, exit({ startedAtMs: run * 100, exitedAtMs: run * 100 + 50 }));
      kinds.push(result.decision.kind);
      history = result.history;
      if (result.decision.kind === 'start-limit-hit') {
        assert.match(result.decision.reason, /start limit hit: 3 starts within 10000 ms/);
        break;
      }
    }
    assert.deepEqual(kinds, ['restart', 'restart', 'start-limit-hit']);
    assert.equal(history.restarts, 2);
  });

  it('forgets starts outside the window', () => {
    const spec = service({ restartSecMs: 0, startLimitBurst: 2, startLimitIntervalMs: 1000 });
    let history = recordStart(spec, emptyHistory(), 0);
    history = recordStart(spec, history, 5000);
    assert.deepEqual(history.startTimesMs, [5000]);
    const { decision } = decideAfterExit(spec, history, exit({ startedAtMs: 5000, exitedAtMs: 5100 }));
    assert.equal(decision.kind, 'restart');
  });

  it('has no limit with a zero interval', () => {
    const spec = service({ restartSecMs: 0, startLimitIntervalMs: 0 });
    let history = emptyHistory();
    for (let run = 0; run < 20; run++) history = recordStart(spec, history, run);
    assert.equal(decideAfterExit(spec, history, exit({ startedAtMs: 19, exitedAtMs: 20 })).decision.kind, 'restart');
  });

  it('classifies OOM before the signal', () => {
    assert.equal(exitResult({ signal: 'SIGKILL', oomKilled: true }), 'oom-kill');
    assert.equal(exitResult({ signal: 'SIGKILL', oomKilled: false }), 'signal');
  });
});
