import { InvalidValueError } from './errors';

const MS_PER_S = 1000;
const MS_PER_MIN = 60 * MS_PER_S;
const MS_PER_H = 60 * MS_PER_MIN;
const MS_PER_DAY = 24 * MS_PER_H;

/** Time units systemd accepts in durations (systemd.time(7)), in milliseconds. */
const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  nsec: 1e-6,
  us: 1e-3,
  usec: 1e-3,
  'µs': 1e-3,
  ms: 1,
  msec: 1,
  s: MS_PER_S,
  sec: MS_PER_S,
  second: MS_PER_S,
  seconds: MS_PER_S,
  m: MS_PER_MIN,
  min: MS_PER_MIN,
  minute: MS_PER_MIN,
  minutes: MS_PER_MIN,
  h: MS_PER_H,
  hr: MS_PER_H,
  hour: MS_PER_H,
  hours: MS_PER_H,
  d: MS_PER_DAY,
  day: MS_PER_DAY,
  days: MS_PER_DAY,
  w: 7 * MS_PER_DAY,
  week: 7 * MS_PER_DAY,
  weeks: 7 * MS_PER_DAY,
  M: 30.44 * MS_PER_DAY,
  month: 30.44 * MS_PER_DAY,
  months: 30.44 * MS_PER_DAY,
  y: 365.25 * MS_PER_DAY,
  year: 365.25 * MS_PER_DAY,
  years: 365.25 * MS_PER_DAY,
};

const DURATION_PART = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-zµ]*)\s*/;

/**
 * Parse a systemd time span into milliseconds: one or more number-unit pairs such as `90s`,
 * `1min 30s`, `500ms` or `2h30m`, where a bare number means seconds. `infinity` is rejected
 * because every Berth duration needs a bound.
 * @throws InvalidValueError when the text is empty, negative or uses an unknown unit
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '') {
    throw new InvalidValueError('duration', text, 'it is empty; write a time span such as "90s" or "1min 30s"');
  }
  if (input === 'infinity') {
    throw new InvalidValueError('duration', text, '"infinity" is not supported here; give a finite time span');
  }
  let rest = input;
  let total = 0;
  while (rest !== '') {
    const match = DURATION_PART.exec(rest);
    if (match === null) {
      throw new InvalidValueError('duration', text, 'expected a number followed by a unit, as in "90s" or "1min 30s"');
    }
    const unit = match[2];
    const factor = unit === '' ? MS_PER_S : DURATION_UNITS_MS[unit];
    if (factor === undefined) {
      throw new InvalidValueError('duration', text, `unknown time unit "${unit}"; use ms, s, min, h, d or w`);
    }
    total += Number(match[1]) * factor;
    rest = rest.slice(match[0].length);
  }
  return total;
}

const SIZE_FACTORS: Record<string, number> = {
  '': 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
  E: 1024 ** 6,
};

const SIZE_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([KMGTPE]?)(B|iB)?$/i;

/**
 * Parse a size into bytes with base-1024 suffixes as systemd does: `512M`, `1G`, `1.5G`, `64K`
 * or a bare byte count. Suffixes are case-insensitive, so podman-style `512m` works, and may be
 * followed by `B` or `iB`. Fractions of a byte are rounded down.
 * @throws InvalidValueError when the text is not a size or exceeds 2^53 bytes
 */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  if (match === null) {
    throw new InvalidValueError('size', text, 'expected a number with an optional K, M, G, T, P or E suffix (base 1024), as in "512M"');
  }
  const bytes = Math.floor(Number(match[1]) * SIZE_FACTORS[match[2].toUpperCase()]);
  if (!Number.isSafeInteger(bytes)) {
    throw new InvalidValueError('size', text, 'it is larger than 2^53 bytes');
  }
  return bytes;
}

const TRUE_WORDS = ['1', 'yes', 'y', 'true', 't', 'on'];
const FALSE_WORDS = ['0', 'no', 'n', 'false', 'f', 'off'];

/**
 * Parse a systemd boolean (`yes`/`no`, `true`/`false`, `on`/`off`, `1`/`0`, case-insensitive).
 * @throws InvalidValueError for any other word
 */
export function parseBoolean(text: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) {
    return true;
  }
  if (FALSE_WORDS.includes(word)) {
    return false;
  }
  throw new InvalidValueError('boolean', text, 'expected yes, no, true, false, on, off, 1 or 0');
}

/**
 * Parse a non-negative decimal integer such as a retry count or a pid limit.
 * @throws InvalidValueError for signs, fractions, other text or values above 2^53
 */
export function parseCount(text: string, kind = 'number'): number {
  const word = text.trim();
  if (!/^\d+$/.test(word) || !Number.isSafeInteger(Number(word))) {
    throw new InvalidValueError(kind, text, 'expected a whole number such as 5');
  }
  return Number(word);
}
