import { strict as assert } from 'node:assert';

import { joinContinuationLines, MAX_LINE_BYTES, parseUnitFile } from './parser';
import type { Diagnostic } from './types';

type Triple = [section: string, name: string, value: string];

function triples(text: string): Triple[] {
  return parseUnitFile(text).document.options.map((o) => [o.section, o.name, o.value]);
}

function errors(text: string): Diagnostic[] {
  return parseUnitFile(text, 'test.service').diagnostics.filter((d) => d.severity === 'error');
}

describe('parseUnitFile', () => {
  const accepted: Array<{ name: string; text: string; expected: Triple[] }> = [
    {
      name: 'prelude before the first section is ignored',
      text: 'This=Ignored\n>>>>>>>\n[Unit]\nDescription=Foo\n',
      expected: [['Unit', 'Description', 'Foo']],
    },
    {
      name: 'blanks around "=" are trimmed',
      text: '[Unit]\nDescription = Foo\n',
      expected: [['Unit', 'Description', 'Foo']],
    },
    {
      name: 'comment lines are dropped, indented ones too',
      text: '[Unit]\n# hash comment\n; semicolon comment\n   # indented\nDescription=Foo\n',
      expected: [['Unit', 'Description', 'Foo']],
    },
    {
      name: 'trailing semicolon in a value is kept',
      text: '[Service]\nExecStart=echo "ping";\n',
      expected: [['Service', 'ExecStart', 'echo "ping";']],
    },
    {
      name: 'hash inside a value is kept',
      text: '[Unit]\nDescription=web # front\n',
      expected: [['Unit', 'Description', 'web # front']],
    },
    {
      name: 'repeated keys keep their order',
      text: '[Service]\nExecStop=/bin/a\nExecStop=/bin/b\n[X-Fleet]\nMachineMetadata=foo=bar\nMachineMetadata=baz=qux\n',
      expected: [
        ['Service', 'ExecStop', '/bin/a'],
        ['Service', 'ExecStop', '/bin/b'],
        ['X-Fleet', 'MachineMetadata', 'foo=bar'],
        ['X-Fleet', 'MachineMetadata', 'baz=qux'],
      ],
    },
    {
      name: 'four angle brackets before "=" form the key',
      text: '[Unit]\n<<<<=bar\n',
      expected: [['Unit', '<<<<', 'bar']],
    },
    {
      name: 'angle brackets before "=" form the key',
      text: '[Unit]\n<<<<<<<<<<<=bar\n',
      expected: [['Unit', '<<<<<<<<<<<', 'bar']],
    },
    {
      name: 'empty assignment gives an empty value',
      text: '[Container]\nEnvironment=\n',
      expected: [['Container', 'Environment', '']],
    },
    {
      name: 'key with inner blanks is kept',
      text: '[Unit]\nSome Key = v\n',
      expected: [['Unit', 'Some Key', 'v']],
    },
    {
      name: 'CRLF line endings',
      text: '[Unit]\r\nDescription=Foo\r\n[Service]\r\nRestart=always\r\n',
      expected: [
        ['Unit', 'Description', 'Foo'],
        ['Service', 'Restart', 'always'],
      ],
    },
    {
      name: 'bracket inside the prelude starts a section',
      text: 'junk [Unit]\nDescription=Foo\n',
      expected: [['Unit', 'Description', 'Foo']],
    },
    {
      name: 'continuation keeps backslashes, newlines and indentation',
      text: '[Service]\nExecStart=echo \\\n  "pi\\\n  ng"\n',
      expected: [['Service', 'ExecStart', 'echo \\\n  "pi\\\n  ng"']],
    },
    {
      name: 'continuation after an empty first line',
      text: '[Service]\nExecStop=\\\necho "po\\\nng"\n',
      expected: [['Service', 'ExecStop', '\\\necho "po\\\nng"']],
    },
    {
      name: 'comment line inside a continuation is part of the value',
      text: '[Service]\nExecStart=echo\\\n#pang\n',
      expected: [['Service', 'ExecStart', 'echo\\\n#pang']],
    },
    {
      name: 'continued comment inside a value spans three lines',
      text: '[Service]\nExecStart=echo\\\n#peng\\\npung\n',
      expected: [['Service', 'ExecStart', 'echo\\\n#peng\\\npung']],
    },
    {
      name: 'blank line ends a continuation and leaves a newline',
      text: '[Service]\nExecStart=echo \\\n\nRestart=no\n',
      expected: [
        ['Service', 'ExecStart', 'echo \\\n'],
        ['Service', 'Restart', 'no'],
      ],
    },
    {
      name: 'empty section produces no options',
      text: '[Unit]\n[Service]\nRestart=no\n',
      expected: [['Service', 'Restart', 'no']],
    },
    {
      name: 'comment ending in a backslash swallows the next line',
      text: '[Unit]\n# old \\\nDescription=Hidden\nDocumentation=x\n',
      expected: [['Unit', 'Documentation', 'x']],
    },
    {
      name: 'UTF-8 values are preserved',
      text: '[Unit]\nDescription=Café ☕\n',
      expected: [['Unit', 'Description', 'Café ☕']],
    },
  ];
  for (const c of accepted) {
    it(c.name, () => {
      assert.deepEqual(errors(c.text), []);
      assert.deepEqual(triples(c.text), c.expected);
    });
  }

  const rejected: Array<{ name: string; text: string; line: number; column: number; message: RegExp }> = [
    { name: 'bare word line', text: '[Unit]\nnonsense upon stilts\n', line: 2, column: 1, message: /expected "Key=value"/ },
    { name: 'merge-conflict marker line', text: '[Unit]\n<<<<<<<<<<<<<<<<\n', line: 2, column: 1, message: /expected "Key=value"/ },
    { name: 'key without "="', text: '[Unit]\nDescription\n', line: 2, column: 1, message: /found "Description"/ },
    { name: 'header without "]"', text: '[Unit\nDescription=Foo\n', line: 1, column: 1, message: /missing the closing "\]"/ },
    { name: 'text after header', text: '[Unit] pants\n', line: 1, column: 8, message: /unexpected text "pants"/ },
    { name: 'empty section name', text: '[]\n', line: 1, column: 1, message: /empty name/ },
    { name: 'option without name', text: '[Unit]\n=value\n', line: 2, column: 1, message: /no name/ },
    { name: 'indented bare word', text: '[Unit]\n\n   stray\n', line: 3, column: 4, message: /found "stray"/ },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name}`, () => {
      const found = errors(c.text);
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0].line, c.line);
      assert.equal(found[0].column, c.column);
      assert.match(found[0].message, c.message);
      assert.equal(found[0].file, 'test.service');
    });
  }

  it('warns when a continued comment swallows a setting', () => {
    const warnings = parseUnitFile('[Unit]\n# old \\\nDescription=Hidden\n').diagnostics;
    assert.deepEqual(
      warnings.map((d) => [d.severity, d.line, d.column]),
      [['warning', 3, 1]],
    );
    assert.match(warnings[0].message, /part of the comment on line 2/);
  });

  it('stays quiet when a continued comment swallows a comment', () => {
    assert.deepEqual(parseUnitFile('[Unit]\n#ExecStart=a \\\n#  --b\n').diagnostics, []);
  });

  it('warns when a continued value ends at a comment', () => {
    const diagnostics = parseUnitFile('[Service]\nExecStart=echo\\\n#pang\nRestart=no\n').diagnostics;
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].severity, 'warning');
    assert.equal(diagnostics[0].line, 3);
    assert.match(diagnostics[0].message, /continued from line 2 ends at this comment, but systemd would also join line 4/);
  });

  it('reports every malformed line, not only the first', () => {
    const found = errors('[Unit]\nfirst\nDescription=ok\nsecond\n[Bad\nthird\n');
    assert.deepEqual(
      found.map((d) => d.line),
      [2, 4, 5, 6],
    );
  });

  it('keeps parsing after a header without "]"', () => {
    const result = parseUnitFile('[Unit\nDescription=Foo\n');
    assert.deepEqual(result.document.options.map((o) => [o.section, o.name]), [['Unit', 'Description']]);
  });

  it('shortens long text quoted in a message', () => {
    const found = errors(`[Unit]\n${'x'.repeat(500)}\n`);
    assert.match(found[0].message, /found "x{60}\.\.\."$/);
  });

  it('hints at blanks after a final backslash', () => {
    const found = errors('[Service]\nExecStart=echo \\ \n  more\n');
    assert.equal(found[0].line, 3);
    assert.match(found[0].message, /line 2 has blanks after its final backslash/);
  });

  it('records line and columns of options', () => {
    const option = parseUnitFile('# c\n\n[Unit]\n  Description =  Foo\n').document.options[0];
    assert.equal(option.line, 4);
    assert.equal(option.column, 3);
    assert.equal(option.valueColumn, 18);
  });

  it('records the start line of a continued value', () => {
    const options = parseUnitFile('[Service]\nA=1 \\\n 2 \\\n 3\nB=4\n').document.options;
    assert.deepEqual(
      options.map((o) => [o.name, o.line]),
      [['A', 2], ['B', 5]],
    );
  });

  it('counts CRLF files line by line', () => {
    const found = errors('[Unit]\r\nDescription=a\r\nbroken\r\n');
    assert.equal(found[0].line, 3);
  });

  it('records section headers with their lines', () => {
    const sections = parseUnitFile('[Unit]\n\n[Install]\n').document.sections;
    assert.deepEqual(sections, [
      { name: 'Unit', line: 1 },
      { name: 'Install', line: 3 },
    ]);
  });

  it('ignores a byte-order mark', () => {
    assert.deepEqual(triples('\uFEFF[Unit]\nDescription=Foo\n'), [['Unit', 'Description', 'Foo']]);
  });

  describe('line length', () => {
    const longValue = (bytes: number): string => 'x'.repeat(bytes - 'Description='.length);

    it('accepts a line of 2047 bytes', () => {
      assert.deepEqual(errors(`[Unit]\nDescription=${longValue(MAX_LINE_BYTES - 1)}\n`), []);
    });

    it('rejects a line of 2048 bytes', () => {
      const found = errors(`[Unit]\nDescription=${longValue(MAX_LINE_BYTES)}\n`);
      assert.equal(found.length, 1);
      assert.equal(found[0].line, 2);
      assert.match(found[0].message, /too long \(2048 bytes/);
    });

    it('counts bytes, not characters', () => {
      const text = `[Unit]\nDescription=${'é'.repeat(1020)}\n`;
      assert.equal(errors(text).length, 1);
    });

    it('accepts a 3000-character command split over lines', () => {
      const chunk = 'a'.repeat(1010);
      const text = `[Container]\nExec=/bin/echo ${chunk} \\\n  ${chunk} \\\n  ${chunk}\n`;
      const result = parseUnitFile(text);
      assert.deepEqual(errors(text), []);
      const joined = joinContinuationLines(result.document.options[0].value);
      assert.equal(joined, `/bin/echo ${chunk}  ${chunk}  ${chunk}`);
      assert.ok(joined.length > 3000);
    });
  });
});

describe('joinContinuationLines', () => {
  const cases: Array<[name: string, raw: string, joined: string]> = [
    ['single line unchanged', 'echo hi', 'echo hi'],
    ['backslash becomes a blank', 'echo \\\n  "pi\\\n  ng"', 'echo  "pi ng"'],
    ['comment lines are skipped', 'echo\\\n#peng\\\npung', 'echo pung'],
    ['trailing newline is dropped', 'echo \\\n', 'echo'],
    ['backslash at end of file', 'echo \\', 'echo'],
  ];
  for (const [name, raw, joined] of cases) {
    it(name, () => {
      assert.equal(joinContinuationLines(raw), joined);
    });
  }
});
