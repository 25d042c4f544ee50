import { strict as assert } from 'node:assert';

import { formatDiagnostic, hasErrors, sortDiagnostics } from './diagnostic';
import type { Diagnostic } from './types';

function diagnostic(line: number, column: number, severity: Diagnostic['severity'], message = 'm'): Diagnostic {
  return { file: 'units/web.service', line, column, severity, message };
}

describe('formatDiagnostic', () => {
  const cases: Array<[input: Diagnostic, text: string]> = [
    [diagnostic(12, 13, 'error', 'bad port'), 'units/web.service:12:13: error: bad port'],
    [diagnostic(6, 1, 'warning', 'unknown key'), 'units/web.service:6:1: warning: unknown key'],
    [diagnostic(3, 0, 'error'), 'units/web.service:3:1: error: m'],
    [diagnostic(0, 0, 'error', 'bad name'), 'units/web.service: error: bad name'],
  ];
  for (const [input, text] of cases) {
    it(`prints ${text}`, () => assert.equal(formatDiagnostic(input), text));
  }
});

describe('sortDiagnostics', () => {
  it('orders by line and column, keeping ties in order', () => {
    const input = [diagnostic(5, 2, 'error', 'a'), diagnostic(0, 0, 'error', 'b'), diagnostic(5, 1, 'warning', 'c'), diagnostic(5, 1, 'error', 'd')];
    assert.deepEqual(
      sortDiagnostics(input).map((d) => d.message),
      ['b', 'c', 'd', 'a'],
    );
  });
});

describe('hasErrors', () => {
  it('is false for warnings only', () => assert.equal(hasErrors([diagnostic(1, 1, 'warning')]), false));
  it('is true with one error', () => assert.equal(hasErrors([diagnostic(1, 1, 'warning'), diagnostic(2, 1, 'error')]), true));
  it('is false for no diagnostics', () => assert.equal(hasErrors([]), false));
});
