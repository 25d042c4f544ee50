import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeRuntime } from '@berth/runtime-native/dist/runtime/native';
import { waitFor } from '@berth/testkit';
import { garbageCollector, MemoryReclaimer, ReclaimResult } from './memory-reclaimer';

describe('MemoryReclaimer', () => {
  let reclaimer: MemoryReclaimer | undefined;
  let calls: string[];
  const steps = {
    collectGarbage: () => {
      calls.push('gc');
    },
    trimMalloc: () => {
      calls.push('trim');
      return true;
    },
  };

  beforeEach(() => {
    calls = [];
  });

  afterEach(() => reclaimer?.close());

  it('collects then trims, twice after activity', async () => {
    const results: ReclaimResult[] = [];
    reclaimer = new MemoryReclaimer(steps, (result) => results.push(result), 20, 20, 1000);

    reclaimer.noteActivity();
    await waitFor(async () => results.length === 2, { timeoutMs: 5000, describe: () => `${results.length} passes` });

    assert.deepEqual(calls, ['gc', 'trim', 'gc', 'trim']);
    assert.equal(results[0]!.released, true);
    assert.ok(results[0]!.rssBeforeBytes > 0);
    assert.ok(results[0]!.rssAfterBytes > 0);
  });

  it('does nothing without activity', async () => {
    reclaimer = new MemoryReclaimer(steps, undefined, 10, 10, 1000);

    await sleep(100);

    assert.deepEqual(calls, []);
  });

  it('reclaims during endless activity', async () => {
    reclaimer = new MemoryReclaimer(steps, undefined, 1000, 60_000, 50);
    const busy = setInterval(() => reclaimer!.noteActivity(), 5);
    try {
      await waitFor(async () => calls.length > 0, { timeoutMs: 5000, describe: () => 'no pass while activity went on' });
    } finally {
      clearInterval(busy);
    }
  });

  it('close cancels a pending pass', async () => {
    reclaimer = new MemoryReclaimer(steps, undefined, 20, 20, 1000);

    reclaimer.noteActivity();
    reclaimer.close();
    await sleep(100);

    assert.deepEqual(calls, []);
  });

  it('garbageCollector frees unreachable objects', () => {
    const collect = garbageCollector();
    // The objects become unreachable when the function returns.
    const allocated = (() => Array.from({ length: 100_000 }, (_, index) => ({ index })).length)();
    const withGarbage = process.memoryUsage().heapUsed;

    collect();

    assert.equal(allocated, 100_000);
    assert.ok(process.memoryUsage().heapUsed < withGarbage, `heap used ${process.memoryUsage().heapUsed} is not below ${withGarbage}`);
  });

  it('calls malloc_trim through the runtime addon', () => {
    const released = nativeRuntime().trimMalloc();

    assert.equal(typeof released, 'boolean');
  });
});
