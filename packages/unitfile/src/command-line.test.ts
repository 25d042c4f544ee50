import { strict as assert } from 'node:assert';

import { splitCommandLine, splitWords } from './command-line';

describe('splitCommandLine', () => {
  const cases: Array<[text: string, words: string[]]> = [
    ['/bin/httpd -f -p 8080', ['/bin/httpd', '-f', '-p', '8080']],
    ['  spaced\targs  ', ['spaced', 'args']],
    ['', []],
    ['sh -c "echo hello world"', ['sh', '-c', 'echo hello world']],
    ["sh -c 'echo \"quoted\"'", ['sh', '-c', 'echo "quoted"']],
    ['--name="a b" x', ['--name=a b', 'x']],
    ['a"b c"d', ['ab cd']],
    ['echo \\"hi\\"', ['echo', '"hi"']],
    ['"a\\nb"', ['a\nb']],
    ['tab\\there', ['tab\there']],
    ['\\x41\\102\\u00e9', ['ABé']],
    ['back\\\\slash', ['back\\slash']],
    ['echo \\;', ['echo', ';']],
    ['echo ";"', ['echo', ';']],
    ['echo a;b', ['echo', 'a;b']],
    ['""', ['']],
    ["sh -c 'while true; do echo $HOME; done'", ['sh', '-c', 'while true; do echo $HOME; done']],
  ];
  for (const [text, words] of cases) {
    it(`splits ${JSON.stringify(text)}`, () => {
      assert.deepEqual(splitCommandLine(text), words);
    });
  }

  it('keeps unknown escapes when told to', () => {
    const escapes: string[] = [];
    const words = splitWords('grep "\\d+" end\\', { kind: 'command line', onUnknownEscape: (escape) => escapes.push(escape) });
    assert.deepEqual(words, ['grep', '\\d+', 'end\\']);
    assert.deepEqual(escapes, ['\\d', '\\']);
  });

  it('allows a lone semicolon unless rejected', () => {
    assert.deepEqual(splitWords('A=1 ; B=2', { kind: 'environment assignment' }), ['A=1', ';', 'B=2']);
  });

  const bad: Array<[text: string, reason: RegExp]> = [
    ['echo "unterminated', /quote opened .* is never closed/],
    ["echo 'open", /never closed/],
    ['echo \\', /backslash that escapes nothing/],
    ['echo a ; echo b', /several commands/],
    ['echo \\q', /unknown escape "\\q"/],
    ['echo \\x4', /2 hex digits/],
    ['echo \\x00', /usable character/],
  ];
  for (const [text, reason] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => splitCommandLine(text), reason);
    });
  }
});
