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
};

/**
 * Split a command line into arguments with systemd's rules for `ExecStart=`: words are separated
 * by blanks, single or double quotes group text (and may start mid-word, as in `--name="a b"`),
 * and C-style escapes (`\n`, `\t`, `\"`, `\\`, `\xNN`, `\NNN` octal, `\uNNNN`, `\UNNNNNNNN`) work
 * inside and outside quotes. Continuation lines should be joined first (see
 * `joinContinuationLines`). Environment variables (`$VAR`) are passed through unexpanded; wrap
 * the command in `sh -c` to expand them.
 * @throws InvalidValueError for an unterminated quote, a trailing backslash, an unknown escape,
 *   or a lone `;` (systemd's separator between several commands, which a container cannot run)
 */
export function splitCommandLine(text: string): string[] {
  return splitWords(text, 'command line', true);
}

/**
 * Split text into words with the quoting and escapes of {@link splitCommandLine}, as systemd
 * does for `Environment=` too. `kind` names the value in error messages.
 * @throws InvalidValueError as splitCommandLine does; a lone `;` only when `rejectSeparator`
 */
export function splitWords(text: string, kind: string, rejectSeparator = false): string[] {
  const words: string[] = [];
  const chars = Array.from(text);
  let i = 0;
  while (i < chars.length) {
    if (/\s/.test(chars[i])) {
      i += 1;
      continue;
    }
    const word = readWord(text, chars, i, kind);
    if (rejectSeparator && word.value === ';' && !word.quoted) {
      throw new InvalidValueError(
        'command line',
        text,
        'several commands separated by ";" are not supported; run them with sh -c "first; second"',
      );
    }
    words.push(word.value);
    i = word.next;
  }
  return words;
}

interface Word {
  value: string;
  /** True when quotes or escapes were used, so `\;` stays an ordinary argument. */
  quoted: boolean;
  next: number;
}

function readWord(text: string, chars: string[], start: number, kind: string): Word {
  let value = '';
  let quote: string | undefined;
  let quoted = false;
  let i = start;
  while (i < chars.length) {
    const c = chars[i];
    if (quote === undefined && /\s/.test(c)) {
      break;
    }
    if (c === '\\') {
      const escape = readEscape(text, chars, i + 1, kind);
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
    throw new InvalidValueError(kind, text, `the ${quote} quote opened in argument ${JSON.stringify(value)} is never closed`);
  }
  return { value, quoted, next: i };
}

/** Decode the escape whose letter is at `i` (just after the backslash). */
function readEscape(text: string, chars: string[], i: number, kind: string): { value: string; next: number } {
  const c = chars[i];
  if (c === undefined) {
    throw new InvalidValueError(kind, text, 'it ends with a backslash that escapes nothing');
  }
  if (c in SIMPLE_ESCAPES) {
    return { value: SIMPLE_ESCAPES[c], next: i + 1 };
  }
  if (c === ';') {
    return { value: ';', next: i + 1 };
  }
  const hexDigits = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
  if (hexDigits > 0) {
    return decodeDigits({ text, chars, kind }, i + 1, hexDigits, 16);
  }
  if (/[0-7]/.test(c)) {
    return decodeDigits({ text, chars, kind }, i, 3, 8);
  }
  throw new InvalidValueError(kind, text, `unknown escape "\\${c}"; write "\\\\" for a backslash`);
}

function decodeDigits(
  { text, chars, kind }: { text: string; chars: string[]; kind: string },
  start: number,
  count: number,
  radix: number,
): { value: string; next: number } {
  const digits = chars.slice(start, start + count).join('');
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/;
  if (digits.length !== count || !valid.test(digits)) {
    throw new InvalidValueError(kind, text, `escape needs ${count} ${radix === 16 ? 'hex' : 'octal'} digits, found "${digits}"`);
  }
  const code = parseInt(digits, radix);
  if (code === 0 || code > 0x10ffff) {
    throw new InvalidValueError(kind, text, `escape "${digits}" does not encode a usable character`);
  }
  return { value: String.fromCodePoint(code), next: start + count };
}
