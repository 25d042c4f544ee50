import type { Diagnostic, Severity } from './types';

/**
 * Format a diagnostic the way compilers do: `file:line:column: severity: message`. A diagnostic
 * about the whole file (line 0) is printed as `file: severity: message`.
 */
export function formatDiagnostic(d: Diagnostic): string {
  if (d.line <= 0) {
    return `${d.file}: ${d.severity}: ${d.message}`;
  }
  return `${d.file}:${d.line}:${Math.max(d.column, 1)}: ${d.severity}: ${d.message}`;
}

/** True when any diagnostic in the list is an error rather than a warning. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Sort by line, then column, keeping the report order of diagnostics at the same spot. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d, index) => ({ d, index }))
    .sort((a, b) => a.d.line - b.d.line || a.d.column - b.d.column || a.index - b.index)
    .map(({ d }) => d);
}

/** Collects the diagnostics of one file so every check can report without knowing the file name. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly file: string) {}

  error(line: number, column: number, message: string): void {
    this.add('error', line, column, message);
  }

  warning(line: number, column: number, message: string): void {
    this.add('warning', line, column, message);
  }

  add(severity: Severity, line: number, column: number, message: string): void {
    this.diagnostics.push({ file: this.file, line, column, severity, message });
  }
}
