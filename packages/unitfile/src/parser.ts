import { DiagnosticSink } from './diagnostic';
import type { Diagnostic, UnitFileDocument, UnitOption, UnitSection } from './types';

/**
 * Limit on the bytes of one physical line. systemd truncates lines longer than its LINE_MAX, so
 * fleet rejects any line of this many bytes or more rather than let a value be cut silently.
 */
export const MAX_LINE_BYTES = 2048;

const COMMENT_CHARS = '#;';

/** Result of {@link parseUnitFile}. */
export interface ParseResult {
  document: UnitFileDocument;
  diagnostics: Diagnostic[];
}

/**
 * Parse unit-file text with the observable behaviour of fleet's systemd parser: text before the
 * first section is ignored, keys repeat in order, `Key=` is an empty value, and a value ending in
 * a backslash continues on the next line with the backslash and newline kept in the value (see
 * {@link joinContinuationLines} for the text systemd would run). Unlike fleet, parsing does not
 * stop at the first problem: every malformed line is reported and skipped. Never throws.
 */
export function parseUnitFile(text: string, file = '<input>'): ParseResult {
  const parser = new LineParser(splitPhysicalLines(text), new DiagnosticSink(file));
  parser.run();
  return {
    document: { options: parser.options, sections: parser.sections },
    diagnostics: parser.sink.diagnostics,
  };
}

/** Split on `\n`, dropping the `\r` of CRLF endings and a leading byte-order mark. */
function splitPhysicalLines(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return body.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}

/** Longest piece of a line quoted in a message; the rest is elided. */
const MAX_EXCERPT_CHARS = 60;

function excerpt(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= MAX_EXCERPT_CHARS ? trimmed : `${trimmed.slice(0, MAX_EXCERPT_CHARS)}...`;
}

function firstNonBlank(line: string): number {
  const match = /\S/.exec(line);
  return match === null ? -1 : match.index;
}

class LineParser {
  readonly options: UnitOption[] = [];
  readonly sections: UnitSection[] = [];
  private section: string | undefined;
  private index = 0;

  constructor(
    private readonly lines: string[],
    readonly sink: DiagnosticSink,
  ) {}

  run(): void {
    while (this.index < this.lines.length) {
      const lineNo = this.index + 1;
      const line = this.take();
      if (this.section === undefined) {
        this.parsePreludeLine(line, lineNo);
      } else {
        this.parseSectionLine(line, lineNo);
      }
    }
  }

  /** Consume the next physical line, checking its length on the way. */
  private take(): string {
    const line = this.lines[this.index];
    this.index += 1;
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes >= MAX_LINE_BYTES) {
      this.sink.error(
        this.index,
        1,
        `line is too long (${bytes} bytes, the limit is ${MAX_LINE_BYTES - 1}); ` +
          'split the value over several lines ending in a backslash',
      );
    }
    return line;
  }

  /**
   * Before the first section fleet skips everything, but a `[` anywhere outside a comment
   * starts the first section, so `junk[Unit]` is still a header.
   */
  private parsePreludeLine(line: string, lineNo: number): void {
    for (let i = 0; i < line.length; i++) {
      if (COMMENT_CHARS.includes(line[i])) {
        this.skipCommentContinuation(line, lineNo);
        return;
      }
      if (line[i] === '[') {
        this.parseHeader(line, i, lineNo);
        return;
      }
    }
  }

  private parseSectionLine(line: string, lineNo: number): void {
    const start = firstNonBlank(line);
    if (start < 0) {
      return;
    }
    if (line[start] === '[') {
      this.parseHeader(line, start, lineNo);
    } else if (COMMENT_CHARS.includes(line[start])) {
      this.skipCommentContinuation(line, lineNo);
    } else {
      this.parseOption(line, start, lineNo);
    }
  }

  private parseHeader(line: string, open: number, lineNo: number): void {
    const close = line.indexOf(']', open + 1);
    let name: string;
    if (close < 0) {
      name = line.slice(open + 1).trim();
      this.sink.error(lineNo, open + 1, `section header "${excerpt(line.slice(open))}" is missing the closing "]"`);
    } else {
      name = line.slice(open + 1, close);
      const rest = line.slice(close + 1);
      if (!isBlank(rest)) {
        this.sink.error(
          lineNo,
          close + 2 + firstNonBlank(rest),
          `unexpected text "${excerpt(rest)}" after section header [${name}]; put it on its own line`,
        );
      }
    }
    if (name === '') {
      this.sink.error(lineNo, open + 1, 'section header has an empty name');
    }
    this.section = name;
    this.sections.push({ name, line: lineNo });
  }

  /** fleet treats a comment that ends in a backslash as continuing onto the next line. */
  private skipCommentContinuation(line: string, lineNo: number): void {
    let current = line;
    while (current.trimEnd().endsWith('\\') && this.index < this.lines.length) {
      current = this.take();
      // Swallowing another comment or a blank line is harmless; swallowing a setting is not.
      const start = firstNonBlank(current);
      if (start >= 0 && !COMMENT_CHARS.includes(current[start])) {
        this.sink.warning(this.index, start + 1, `this line is part of the comment on line ${lineNo}, which ends in a backslash`);
      }
    }
  }

  private parseOption(line: string, start: number, lineNo: number): void {
    const equals = line.indexOf('=', start);
    if (equals < 0) {
      this.reportLineWithoutEquals(line, start, lineNo);
      return;
    }
    const name = line.slice(start, equals).trim();
    if (name === '') {
      this.sink.error(lineNo, start + 1, 'option has no name before "="');
      return;
    }
    const afterEquals = line.slice(equals + 1);
    const valueStart = firstNonBlank(afterEquals);
    this.options.push({
      section: this.section ?? '',
      name,
      value: this.readValue(afterEquals),
      line: lineNo,
      column: start + 1,
      valueColumn: equals + 2 + Math.max(valueStart, 0),
    });
  }

  private reportLineWithoutEquals(line: string, start: number, lineNo: number): void {
    const previous = lineNo >= 2 ? this.lines[lineNo - 2] : '';
    const hint = /\\[ \t]+$/.test(previous)
      ? `; line ${lineNo - 1} has blanks after its final backslash, so it does not continue here`
      : '';
    this.sink.error(
      lineNo,
      start + 1,
      `expected "Key=value", a comment or a [Section] header, found "${excerpt(line)}"${hint}`,
    );
  }

  /**
   * Read a value and its continuation lines as fleet does: a line ending exactly in `\` is
   * joined to the next with a newline, and a blank line ends the value (leaving one trailing
   * newline). The result is trimmed.
   */
  private readValue(firstLine: string): string {
    if (isBlank(firstLine)) {
      return '';
    }
    const startLine = this.index;
    let value = firstLine;
    let current = firstLine;
    while (current.endsWith('\\') && this.index < this.lines.length) {
      value += '\n';
      current = this.take();
      if (isBlank(current)) {
        return value.trim() + '\n';
      }
      value += current;
    }
    this.warnIfValueEndsInComment(current, startLine);
    return value.trim();
  }

  /**
   * fleet ends a continued value at a comment line without a backslash, but systemd skips the
   * comment and joins the next line too, so the two would disagree about the following line.
   */
  private warnIfValueEndsInComment(lastLine: string, startLine: number): void {
    const start = firstNonBlank(lastLine);
    const isContinuedComment = this.index > startLine && start >= 0 && COMMENT_CHARS.includes(lastLine[start]);
    const next = this.lines[this.index];
    if (isContinuedComment && next !== undefined && !isBlank(next)) {
      this.sink.warning(
        this.index,
        start + 1,
        `the value continued from line ${startLine} ends at this comment, but systemd would also join line ${this.index + 1} to it; move the comment out of the value`,
      );
    }
  }
}

/**
 * Join a value's continuation lines the way systemd does when it runs the unit: each backslash
 * at the end of a line becomes a space, the next line's leading blanks are dropped, and comment
 * lines inside the value are skipped.
 */
export function joinContinuationLines(value: string): string {
  if (!value.includes('\n') && !value.endsWith('\\')) {
    return value;
  }
  const lines = value.split('\n');
  let joined = '';
  lines.forEach((raw, index) => {
    const line = index === 0 ? raw : raw.trimStart();
    if (index > 0 && COMMENT_CHARS.includes(line[0] ?? '')) {
      return;
    }
    joined += line.endsWith('\\') ? `${line.slice(0, -1)} ` : line;
  });
  return joined.trim();
}
