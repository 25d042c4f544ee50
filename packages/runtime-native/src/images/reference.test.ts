import { strict as assert } from 'node:assert';
import { InvalidReferenceError } from './errors';
import { formatReference, parseReference } from './reference';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  const valid: { name: string; input: string; expected: string }[] = [
    { name: 'Docker Hub short name', input: 'busybox', expected: 'docker.io/library/busybox:latest' },
    { name: 'Docker Hub user repository', input: 'team/app:1.0', expected: 'docker.io/team/app:1.0' },
    { name: 'registry with port', input: '127.0.0.1:5000/fixtures/multi:oci', expected: '127.0.0.1:5000/fixtures/multi:oci' },
    { name: 'localhost registry', input: 'localhost/app', expected: 'localhost/app:latest' },
    { name: 'digest only', input: `busybox@${DIGEST}`, expected: `docker.io/library/busybox@${DIGEST}` },
    { name: 'tag and digest', input: `registry.example.com/a/b:v2@${DIGEST}`, expected: `registry.example.com/a/b:v2@${DIGEST}` },
    { name: 'separators in components', input: 'reg.io/a.b/c__d/e-f:x', expected: 'reg.io/a.b/c__d/e-f:x' },
  ];
  for (const testCase of valid) {
    it(`parses ${testCase.name}`, () => {
      assert.equal(formatReference(parseReference(testCase.input)), testCase.expected);
    });
  }

  const invalid: { name: string; input: string; message: RegExp }[] = [
    { name: 'empty reference', input: '', message: /empty/ },
    { name: 'uppercase repository', input: 'Busybox', message: /repository component "Busybox"/ },
    { name: 'bad tag', input: 'busybox:-bad', message: /tag "-bad"/ },
    { name: 'short digest', input: 'busybox@sha256:abc', message: /digest "sha256:abc"/ },
    { name: 'digest with path characters', input: `busybox@sha256:../${'a'.repeat(61)}`, message: /digest/ },
    { name: 'empty component', input: 'reg.io/a//b', message: /repository component ""/ },
    { name: 'bad registry host', input: 'bad_host.io:x/a', message: /tag "x\/a"|registry/ },
  ];
  for (const testCase of invalid) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(() => parseReference(testCase.input), (error: Error) => error instanceof InvalidReferenceError && testCase.message.test(error.message));
    });
  }
});
