import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** packages/cli/test-fixtures, seen from the compiled test-support folder. */
export const FIXTURES_DIR = join(__dirname, '..', '..', 'test-fixtures');

/**
 * Compares `actual` with `test-fixtures/golden/NAME`. With UPDATE_GOLDEN=1 in the environment it
 * rewrites the file instead, after an intended output change; review the diff before committing.
 */
export function assertGolden(name: string, actual: string): void {
  const path = join(FIXTURES_DIR, 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from ${path}`);
}
