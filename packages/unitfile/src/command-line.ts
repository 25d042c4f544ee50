import { InvalidValueError } from './errors';

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  s: ' ',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
  ';': ';',
};

/** Number of hex digits after `\x`, `\u` and `\U`. */
const HEX_ESCAPE_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/** Options of {@link splitWords}. */
export interface SplitOptions {
  /** Names the value in error messages, for example `command line`. */
  kind: string;
  /** Reject a lone `;`, systemd's separator between several commands. */
  rejectSeparator?: boolean;
  /**
   * Called for an escape systemd does not know (`\d`) or a trailing backslash, which are then
   * kept verbatim as systemd keeps them (with a warning). Without it they throw.
   */
  onUnknownEscape?: (escape: string) => void;
}

/**
 * Split a command line into arguments with systemd's rules for `ExecStart=`. Words are separated
 * by blanks, and single or double quotes group text, also mid-word as in `--name="a b"`. C-style
 * escapes (`\n`, `\t`, `\"`, `\\`, `\xNN`, `\NNN` octal, `\uNNNN`, `\UNNNNNNNN`) work inside and
 * outside quotes. Continuation lines should be joined first (see
 * `joinContinuationLines`). Environment variables (`$VAR`) are passed through unexpanded; wrap
 * the command in `sh -c` to expand them.
 * @throws InvalidValueError for an unterminated quote, a trailing backslash, an unknown escape,
 *   or a lone `;` (systemd's separator between several commands, which a container cannot run)
 */
export function splitCommandLine(text: string): string[] {
  return splitWords(text, { kind: 'command line', rejectSeparator: true });
}

/**
 * Split text into words with the quoting and escapes of {@link splitCommandLine}, as systemd
 * does for `Environment=` too.
 * @throws InvalidValueError as splitCommandLine does, within the limits set by `options`
 */
export function splitWords(text: string, options: SplitOptions): string[] {
  const input: Input = { text, chars: Array.from(text), options };
  const words: string[] = [];
  let i = 0;
  while (i < input.chars.length) {
    if (/\s/.test(input.chars[i])) {
      i += 1;
      continue;
    }
    const word = readWord(input, i);
    if (options.rejectSeparator === true && word.value === ';' && !word.quoted) {
      throw new InvalidValueError(
        options.kind,
        text,
        'several commands separated by ";" are not supported; run them with sh -c "first; second"',
      );
    }
    words.push(word.value);
    i = word.next;
  }
  return words;
}

interface Input {
  text: string;
  chars: string[];
  options: SplitOptions;
}

interface Word {
  value: string;
  /** True when quotes or escapes were used, so `\;` stays an ordinary argument. */
  quoted: boolean;
  next: number;
}

function readWord(input: Input, start: number): Word {
  let value = '';
  let quote: string | undefined;
  let quoted = false;
  let i = start;
  while (i < input.chars.length) {
    const c = input.chars[i];
    if (quote === undefined && /\s/.test(c)) {
      break;
    }
    if (c === '\\') {
      const escape = readEscape(input, i + 1);
      value += escape.value;
      quoted = true;
      i = escape.next;
      continue;
    }
    if (quote === undefined && (c === '"' || c === "'")) {
      quote = c;
      quoted = true;
    } else if (c === quote) {
      quote = undefined;
    } else {
      value += c;
    }
    i += 1;
  }
  if (quote !== undefined) {
    throw new InvalidValueError(input.options.kind, input.text, `the ${quote} quote opened in argument ${JSON.stringify(value)} is never closed`);
  }
  return { value, quoted, next: i };
}

/** Decode the escape whose letter is at `i` (just after the backslash). */
function readEscape(input: Input, i: number): { value: string; next: number } {
  const c = input.chars[i];
  if (c === undefined) {
    return unknownEscape(input, '\\', i, 'it ends with a backslash that escapes nothing');
  }
  if (c in SIMPLE_ESCAPES) {
    return { value: SIMPLE_ESCAPES[c], next: i + 1 };
  }
  const hexDigits = HEX_ESCAPE_DIGITS[c];
  if (hexDigits !== undefined) {
    return decodeDigits(input, i + 1, hexDigits, 16);
  }
  if (/[0-7]/.test(c)) {
    return decodeDigits(input, i, 3, 8);
  }
  return unknownEscape(input, `\\${c}`, i + 1, `unknown escape "\\${c}"; write "\\\\" for a backslash`);
}

/** Keep an escape systemd does not know verbatim when the caller allows it, else reject it. */
function unknownEscape(input: Input, escape: string, next: number, reason: string): { value: string; next: number } {
  if (input.options.onUnknownEscape === undefined) {
    throw new InvalidValueError(input.options.kind, input.text, reason);
  }
  input.options.onUnknownEscape(escape);
  return { value: escape, next };
}

function decodeDigits(input: Input, start: number, count: number, radix: number): { value: string; next: number } {
  const digits = input.chars.slice(start, start + count).join('');
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/;
  if (digits.length !== count || !valid.test(digits)) {
    throw new InvalidValueError(input.options.kind, input.text, `escape needs ${count} ${radix === 16 ? 'hex' : 'octal'} digits, found "${digits}"`);
  }
  const code = parseInt(digits, radix);
  if (code === 0 || code > 0x10ffff) {
    throw new InvalidValueError(input.options.kind, input.text, `escape "${digits}" does not encode a usable character`);
  }
  return { value: String.fromCodePoint(code), next: start + count };
}
