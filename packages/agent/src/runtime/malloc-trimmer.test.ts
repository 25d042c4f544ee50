import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeRuntime } from '@berth/runtime-native/dist/runtime/native';
import { waitFor } from '@berth/testkit';
import { MallocTrimmer, TrimResult } from './malloc-trimmer';

describe('MallocTrimmer', () => {
  let trimmer: MallocTrimmer | undefined;

  afterEach(() => trimmer?.close());

  it('trims twice after activity', async () => {
    const results: TrimResult[] = [];
    trimmer = new MallocTrimmer(() => true, (result) => results.push(result), 20, 20, 1000);

    trimmer.noteActivity();
    await waitFor(async () => results.length === 2, { timeoutMs: 5000, describe: () => `${results.length} trims` });

    assert.equal(results[0]!.released, true);
    assert.ok(results[0]!.rssBeforeBytes > 0);
    assert.ok(results[0]!.rssAfterBytes > 0);
  });

  it('does not trim without activity', async () => {
    let trims = 0;
    trimmer = new MallocTrimmer(() => ++trims > 0, undefined, 10, 10, 1000);

    await sleep(100);

    assert.equal(trims, 0);
  });

  it('trims during endless activity', async () => {
    let trims = 0;
    trimmer = new MallocTrimmer(() => ++trims > 0, undefined, 1000, 60_000, 50);
    const busy = setInterval(() => trimmer!.noteActivity(), 5);
    try {
      await waitFor(async () => trims > 0, { timeoutMs: 5000, describe: () => 'no trim while activity went on' });
    } finally {
      clearInterval(busy);
    }
  });

  it('close cancels a pending trim', async () => {
    let trims = 0;
    trimmer = new MallocTrimmer(() => ++trims > 0, undefined, 20, 20, 1000);

    trimmer.noteActivity();
    trimmer.close();
    await sleep(100);

    assert.equal(trims, 0);
  });

  it('calls malloc_trim through the runtime addon', () => {
    const released = nativeRuntime().trimMalloc();

    assert.equal(typeof released, 'boolean');
  });
});
