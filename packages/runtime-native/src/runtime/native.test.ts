import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { nativeRuntime } from './native';

describe('addon readFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-readfiles-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: { name: string; setup: () => string; maxBytes: number; expect: (result: Promise<(Buffer | null)[]>) => Promise<void> }[] = [
    {
      name: 'returns the contents of a file',
      setup: () => (writeFileSync(join(dir, 'a'), 'hello'), join(dir, 'a')),
      maxBytes: 100,
      expect: async (result) => assert.deepEqual((await result).map((b) => b?.toString()), ['hello']),
    },
    {
      name: 'returns an empty buffer for an empty file',
      setup: () => (writeFileSync(join(dir, 'empty'), ''), join(dir, 'empty')),
      maxBytes: 100,
      expect: async (result) => assert.equal((await result)[0]?.length, 0),
    },
    {
      name: 'returns null for a missing file',
      setup: () => join(dir, 'missing'),
      maxBytes: 100,
      expect: async (result) => assert.deepEqual(await result, [null]),
    },
    {
      name: 'rejects a file larger than the limit with EFBIG',
      setup: () => (writeFileSync(join(dir, 'big'), Buffer.alloc(40000, 1)), join(dir, 'big')),
      maxBytes: 32768,
      expect: (result) => assert.rejects(result, (e: NodeJS.ErrnoException) => e.code === 'EFBIG' && e.message.includes(join(dir, 'big'))),
    },
    {
      name: 'rejects a directory with EISDIR naming it',
      setup: () => (mkdirSync(join(dir, 'sub')), join(dir, 'sub')),
      maxBytes: 100,
      expect: (result) => assert.rejects(result, (e: NodeJS.ErrnoException) => e.code === 'EISDIR' && e.message.includes('read ' + join(dir, 'sub'))),
    },
  ];
  for (const c of cases) {
    it(c.name, () => c.expect(nativeRuntime().readFiles([c.setup()], c.maxBytes)));
  }

  it('reads several files in order, with null for the missing ones', async () => {
    writeFileSync(join(dir, 'one'), '1');
    writeFileSync(join(dir, 'two'), '22');
    const result = await nativeRuntime().readFiles([join(dir, 'one'), join(dir, 'nothing'), join(dir, 'two')], 10);
    assert.deepEqual(result.map((b) => b?.toString() ?? null), ['1', null, '22']);
  });

  it('rejects arguments of the wrong type', () => {
    assert.throws(() => (nativeRuntime().readFiles as unknown as (a: unknown, b: unknown) => unknown)('x', 1), /expected \(paths, maxBytes\)/);
    assert.throws(() => nativeRuntime().readFiles([7 as unknown as string], 1), /every path must be a string/);
  });
});
