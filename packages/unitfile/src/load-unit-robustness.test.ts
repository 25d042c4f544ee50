import { strict as assert } from 'node:assert';

import { loadUnit } from './load-unit';
import { parseUnitFile } from './parser';

/** Fragments that exercise quoting, escapes, specifiers, continuations and section syntax. */
const FRAGMENTS = [
  '[', ']', '[Container]', '[X-Fleet]', '[Service]', '[Unit]', '=', '"', "'", '\\', '\\\n', '\n', '\r\n',
  ' ', '\t', '#', ';', '%', '%i', '%H', '%%', '@', '*', '?', '[a-', 'Image=', 'Exec=', 'MachineOf=',
  'MachineMetadata=', 'Conflicts=', 'Global=', 'Replaces=', 'MachineID=', 'PublishPort=', 'Volume=',
  'Memory=', 'HealthHttp=', 'Restart=', 'Environment=', 'a=b=c', '8080:80', '1min', 'é', '\uFEFF', 'x'.repeat(700),
];

/** Deterministic linear congruential generator, so a failure reproduces with its seed. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function randomText(next: () => number): string {
  const count = Math.floor(next() * 60);
  let text = '';
  for (let i = 0; i < count; i++) {
    text += FRAGMENTS[Math.floor(next() * FRAGMENTS.length)];
  }
  return text;
}

describe('loadUnit robustness', () => {
  const SEEDS = 400;

  it('returns diagnostics instead of throwing', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const next = generator(seed);
      const text = randomText(next);
      for (const name of ['web@1.service', 'web@.service', 'bad name']) {
        const result = loadUnit(name, text, `seed-${seed}`, { hostname: 'h', machineId: 'm' });
        assert.ok(Array.isArray(result.diagnostics), `seed ${seed}`);
        for (const diagnostic of result.diagnostics) {
          assert.ok(diagnostic.line >= 0, `seed ${seed}: line ${diagnostic.line}`);
        }
      }
    }
  });

  it('places every diagnostic on an existing line', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const text = randomText(generator(seed));
      const lineCount = text.split('\n').length;
      for (const diagnostic of parseUnitFile(text).diagnostics) {
        assert.ok(diagnostic.line >= 1, `seed ${seed}: line ${diagnostic.line}`);
        assert.ok(diagnostic.line <= lineCount, `seed ${seed}: line ${diagnostic.line} of ${lineCount}`);
      }
    }
  });
});
