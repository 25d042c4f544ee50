import { strict as assert } from 'node:assert';

import { parseUnitFile } from './parser';
import { serializeUnitFile, unitHash } from './unit-hash';

function hashOf(text: string): string {
  return unitHash(parseUnitFile(text).document);
}

describe('unitHash', () => {
  it('matches fleet for a one-line service', () => {
    const hash = hashOf('[Service]\nExecStart=/bin/sleep 100\n');
    assert.equal(hash, '1c6fb6f3684bafb0c173d8b8b957ceff031180c1');
    assert.equal(hash.slice(0, 7), '1c6fb6f');
  });

  it('is SHA-1 of nothing for a file without options', () => {
    assert.equal(hashOf(''), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
    assert.equal(hashOf('# only a comment\n[Unit]\n'), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  const base = '[Unit]\nDescription=Web\n\n[Container]\nImage=web:v1\nExec=httpd -f\n';
  const same: Array<[name: string, text: string]> = [
    ['comments', '# header\n[Unit]\n; note\nDescription=Web\n[Container]\n# why\nImage=web:v1\nExec=httpd -f\n'],
    ['blank lines', '\n\n[Unit]\n\nDescription=Web\n\n\n[Container]\nImage=web:v1\n\nExec=httpd -f\n\n'],
    ['blanks around "="', '[Unit]\nDescription = Web\n[Container]\nImage   =web:v1\nExec= httpd -f   \n'],
    ['prelude text', 'garbage before\n[Unit]\nDescription=Web\n[Container]\nImage=web:v1\nExec=httpd -f\n'],
    ['CRLF endings', base.replace(/\n/g, '\r\n')],
    ['indented keys', '[Unit]\n   Description=Web\n[Container]\n\tImage=web:v1\n Exec=httpd -f\n'],
  ];
  for (const [name, text] of same) {
    it(`ignores ${name}`, () => {
      assert.equal(hashOf(text), hashOf(base));
    });
  }

  const different: Array<[name: string, text: string]> = [
    ['option order', '[Unit]\nDescription=Web\n[Container]\nExec=httpd -f\nImage=web:v1\n'],
    ['a value', '[Unit]\nDescription=Web!\n[Container]\nImage=web:v1\nExec=httpd -f\n'],
    ['section order', '[Container]\nImage=web:v1\nExec=httpd -f\n[Unit]\nDescription=Web\n'],
    ['blanks inside a value', '[Unit]\nDescription=Web\n[Container]\nImage=web:v1\nExec=httpd  -f\n'],
  ];
  for (const [name, text] of different) {
    it(`changes with ${name}`, () => {
      assert.notEqual(hashOf(text), hashOf(base));
    });
  }

  it('regroups a section split into two blocks', () => {
    const split = '[Unit]\nDescription=Web\n[Container]\nImage=web:v1\n[Unit]\nDocumentation=x\n[Container]\nExec=httpd -f\n';
    const grouped = '[Unit]\nDescription=Web\nDocumentation=x\n[Container]\nImage=web:v1\nExec=httpd -f\n';
    assert.equal(hashOf(split), hashOf(grouped));
  });
});

describe('serializeUnitFile', () => {
  it('writes sections in first-seen order with one blank line between', () => {
    const text = serializeUnitFile(parseUnitFile('[A]\nx=1\n[B]\ny=2\n[A]\nz=3\n').document);
    assert.equal(text, '[A]\nx=1\nz=3\n\n[B]\ny=2\n');
  });

  it('round-trips through the parser', () => {
    const document = parseUnitFile('[Unit]\nDescription=Foo\n[Service]\nExecStart=a \\\n  b\nEmpty=\n').document;
    const again = parseUnitFile(serializeUnitFile(document)).document;
    assert.deepEqual(
      again.options.map((o) => [o.section, o.name, o.value]),
      document.options.map((o) => [o.section, o.name, o.value]),
    );
  });
});
