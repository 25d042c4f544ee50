import { strict as assert } from 'node:assert';

import { InvalidValueError } from './errors';
import { parseBoolean, parseCount, parseDuration, parseSize } from './quantities';

describe('parseDuration', () => {
  const cases: Array<[text: string, ms: number]> = [
    ['90s', 90_000],
    ['1min 30s', 90_000],
    ['1min30s', 90_000],
    ['500ms', 500],
    ['10', 10_000],
    ['0', 0],
    ['1.5s', 1500],
    ['2h', 7_200_000],
    ['2h 30m', 9_000_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['250us', 0.25],
    ['5 s', 5000],
    ['  100ms  ', 100],
    ['3 minutes', 180_000],
    ['1 hour 1 sec', 3_601_000],
    ['1M', 30.44 * 86_400_000],
  ];
  for (const [text, ms] of cases) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  const bad: Array<[text: string, reason: RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['-5s', /expected a number/],
    ['5 parsecs', /unknown time unit "parsecs"/],
    ['s', /expected a number/],
    ['infinity', /not supported/],
    ['1,5s', /expected a number/],
    ['5S', /unknown time unit "S"/],
  ];
  for (const [text, reason] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseDuration(text), (error: unknown) => {
        assert.ok(error instanceof InvalidValueError);
        assert.equal(error.retryable, false);
        assert.match(error.message, /^invalid duration/);
        assert.match(error.message, reason);
        return true;
      });
    });
  }
});

describe('parseSize', () => {
  const cases: Array<[text: string, bytes: number]> = [
    ['512M', 512 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['64K', 65_536],
    ['4096', 4096],
    ['512m', 512 * 1024 ** 2],
    ['2T', 2 * 1024 ** 4],
    ['1P', 1024 ** 5],
    ['100MB', 100 * 1024 ** 2],
    ['100MiB', 100 * 1024 ** 2],
    ['10B', 10],
    ['0', 0],
    ['1.5', 1],
  ];
  for (const [text, bytes] of cases) {
    it(`reads ${text} as ${bytes} bytes`, () => {
      assert.equal(parseSize(text), bytes);
    });
  }
  for (const text of ['', 'lots', '-1M', '1X', '1 G B', '10%', 'infinity', '9E']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseSize(text), /^InvalidValueError: invalid size/);
    });
  }
});

describe('parseBoolean', () => {
  for (const word of ['1', 'yes', 'Y', 'true', 'TRUE', 't', 'on']) {
    it(`reads ${word} as true`, () => assert.equal(parseBoolean(word), true));
  }
  for (const word of ['0', 'no', 'n', 'False', 'f', 'off']) {
    it(`reads ${word} as false`, () => assert.equal(parseBoolean(word), false));
  }
  for (const word of ['', 'maybe', '2']) {
    it(`rejects ${JSON.stringify(word)}`, () => assert.throws(() => parseBoolean(word), /invalid boolean/));
  }
});

describe('parseCount', () => {
  it('reads digits', () => assert.equal(parseCount('42'), 42));
  for (const text of ['-1', '1.5', 'ten', '', '1e3', '99999999999999999999']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseCount(text), /whole number/));
  }
});
