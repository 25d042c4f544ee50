import { strict as assert } from 'node:assert';
import type { UnitDetail } from '../api/types';
import { UnitStateError, UnreachableError } from '../errors';
import type { Observation } from './target-state';
import { waitForUnit } from './wait';

/** Creates a clock that advances only when the wait sleeps, so the tests do not depend on wall time. */
function fakeClock() {
  let time = 0;
  return { now: () => time, sleep: async (ms: number) => void (time += ms), elapsed: () => time };
}

function unplaced(reason: string | null): Observation {
  const unit: UnitDetail = {
    name: 'db.service',
    hash: 'abc',
    desiredState: 'launched',
    machineId: null,
    reason,
    state: null,
    text: '',
    generation: null,
  };
  return { unit };
}

describe('waitForUnit', () => {
  it('gives up early when stuck', async () => {
    const clock = fakeClock();
    const wait = waitForUnit('db.service', 'start', async () => unplaced('no machine has MachineMetadata=disk=ssd'), {
      attempts: 30,
      stuckGraceMs: 10_000,
      ...clock,
    });
    await assert.rejects(wait, (error: Error) => {
      assert.ok(error instanceof UnitStateError);
      assert.match(error.message, /unit db\.service cannot start: not placed: no machine has MachineMetadata=disk=ssd/);
      return true;
    });
    assert.ok(clock.elapsed() >= 10_000, `gave up after ${clock.elapsed()} ms, before the grace period`);
    assert.ok(clock.elapsed() < 60_000, `waited the whole ${clock.elapsed()} ms`);
  });

  it('times out naming the last reason', async () => {
    const clock = fakeClock();
    const wait = waitForUnit('db.service', 'start', async () => unplaced(null), { attempts: 3, ...clock });
    await assert.rejects(wait, /timed out after 6 s waiting for unit db\.service to be active \(running\): waiting for the scheduler to place it/);
  });

  it('waits forever when stuck with zero attempts', async () => {
    const clock = fakeClock();
    let polls = 0;
    const observe = async (): Promise<Observation> => {
      polls++;
      if (polls < 200) return unplaced('no machine fits');
      return { unit: null };
    };
    await assert.rejects(waitForUnit('db.service', 'start', observe, { attempts: 0, ...clock }), /destroyed while waiting/);
    assert.equal(polls, 200);
  });

  it('rethrows an unreachable scheduler at the deadline', async () => {
    const clock = fakeClock();
    const observe = async (): Promise<Observation> => {
      throw new UnreachableError('cannot reach the scheduler at http://127.0.0.1:1');
    };
    await assert.rejects(waitForUnit('db.service', 'stop', observe, { attempts: 1, ...clock }), UnreachableError);
  });
});
