import assert from 'node:assert/strict';
import { Backoff, backoffDelayMs } from './backoff';

describe('Backoff', () => {
  const cases: Array<{ name: string; attempt: number; expectedMs: number }> = [
    { name: 'first attempt uses the initial delay', attempt: 0, expectedMs: 100 },
    { name: 'second attempt doubles', attempt: 1, expectedMs: 200 },
    { name: 'fifth attempt', attempt: 4, expectedMs: 1600 },
    { name: 'large attempt is capped', attempt: 30, expectedMs: 5000 },
    { name: 'huge attempt stays finite', attempt: 10_000, expectedMs: 5000 },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.equal(backoffDelayMs(testCase.attempt, { initialMs: 100, maxMs: 5000 }), testCase.expectedMs);
    });
  }

  it('applies jitter within its fraction', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 0.999999 });
    assert.equal(low.next(), 800);
    assert.equal(high.next(), 1200);
  });

  it('grows per call and starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 1000, jitter: 0 });
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [10, 20, 40]);
    assert.equal(backoff.attempts, 3);
    backoff.reset();
    assert.equal(backoff.next(), 10);
  });

  it('rejects an initial delay above the maximum', () => {
    assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), /initialMs 10/);
  });
});
