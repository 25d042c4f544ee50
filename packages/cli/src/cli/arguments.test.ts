import { strict as assert } from 'node:assert';
import { parseEndpoints } from '../api/client';
import { UsageError } from '../errors';
import { useColour } from './io';
import { expandCommandPrefix } from './run';

const COMMANDS = ['verify', 'version', 'submit', 'load', 'start', 'stop', 'status', 'list-units', 'list-unit-files', 'journal'];

describe('expandCommandPrefix', () => {
  const cases: { name: string; argv: string[]; expected: string[] }[] = [
    { name: 'unique prefix expands', argv: ['j', 'web'], expected: ['journal', 'web'] },
    { name: 'exact name stays', argv: ['stop', 'web'], expected: ['stop', 'web'] },
    { name: 'unknown word stays', argv: ['frobnicate'], expected: ['frobnicate'] },
    { name: 'skips global flag values', argv: ['--endpoint', 'http://x:1', 'sub', 'a'], expected: ['--endpoint', 'http://x:1', 'submit', 'a'] },
    { name: 'skips inline flag values', argv: ['--token=s', 'lo', 'a'], expected: ['--token=s', 'load', 'a'] },
    { name: 'only flags stay', argv: ['--help'], expected: ['--help'] },
  ];
  for (const { name, argv, expected } of cases) {
    it(name, () => assert.deepEqual(expandCommandPrefix(argv, COMMANDS), expected));
  }

  const ambiguous: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'st prefix is ambiguous', argv: ['st', 'web'], message: /ambiguous command "st": it matches start, stop, status/ },
    { name: 'list prefix is ambiguous', argv: ['list-unit'], message: /it matches list-units, list-unit-files/ },
  ];
  for (const { name, argv, message } of ambiguous) {
    it(name, () => {
      assert.throws(() => expandCommandPrefix(argv, COMMANDS), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }
});

describe('parseEndpoints', () => {
  it('splits and trims a list', () => {
    assert.deepEqual(parseEndpoints(' http://a:7070/ , https://b:7070'), ['http://a:7070', 'https://b:7070']);
  });

  const invalid: { name: string; value: string; message: RegExp }[] = [
    { name: 'empty list', value: ' , ', message: /invalid endpoint/ },
    { name: 'missing scheme', value: 'localhost:7070', message: /invalid endpoint "localhost:7070": expected a URL with a scheme, such as http:\/\/localhost:7070/ },
    { name: 'unix socket', value: 'unix:///var/run/fleet.sock', message: /scheme "unix:" .* is not supported/ },
    { name: 'garbage', value: 'http://', message: /invalid endpoint "http:\/\/"/ },
  ];
  for (const { name, value, message } of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseEndpoints(value), (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('useColour', () => {
  const terminal = { write: () => undefined, isTTY: true };
  const pipe = { write: () => undefined, isTTY: false };
  const cases: { name: string; stream: typeof terminal; env: Record<string, string>; expected: boolean }[] = [
    { name: 'terminal gets colour', stream: terminal, env: { TERM: 'xterm-256color' }, expected: true },
    { name: 'pipe gets none', stream: pipe, env: { TERM: 'xterm-256color' }, expected: false },
    { name: 'NO_COLOR disables', stream: terminal, env: { NO_COLOR: '1' }, expected: false },
    { name: 'empty NO_COLOR is ignored', stream: terminal, env: { NO_COLOR: '' }, expected: true },
    { name: 'dumb terminal gets none', stream: terminal, env: { TERM: 'dumb' }, expected: false },
  ];
  for (const { name, stream, env, expected } of cases) {
    it(name, () => assert.equal(useColour(stream, env), expected));
  }
});
