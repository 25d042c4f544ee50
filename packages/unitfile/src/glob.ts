/**
 * Unit-name globs with the syntax of Go's `path.Match`, which fleet uses for `Conflicts=` and
 * `Replaces=`. `*` matches any run of characters except `/`, and `?` one character except `/`.
 * `[...]` is a class of characters and ranges, which may match `/` as in Go. `[^...]` negates a
 * class, while `!` is an ordinary character. `\` escapes the next character. Matching is over Unicode code points and anchored at both
 * ends.
 */

interface ClassItem {
  lo: string;
  hi: string;
}

interface CharClass {
  negated: boolean;
  items: ClassItem[];
}

type Token =
  | { kind: 'star' }
  | { kind: 'any' }
  | { kind: 'literal'; char: string }
  | { kind: 'class'; cls: CharClass };

class BadPatternError extends Error {}

/**
 * Check a glob's syntax. Returns a message describing the first problem, or undefined when the
 * pattern is well formed.
 */
export function validateUnitGlob(pattern: string): string | undefined {
  try {
    tokenize(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof BadPatternError) {
      return `invalid pattern "${pattern}": ${error.message}`;
    }
    throw error;
  }
}

/**
 * True when `name` matches `pattern` as a whole. A malformed pattern matches nothing, as in
 * fleet, which ignores Go's `ErrBadPattern` there; use {@link validateUnitGlob} to report it.
 */
export function matchUnitGlob(pattern: string, name: string): boolean {
  let tokens: Token[];
  try {
    tokens = tokenize(pattern);
  } catch (error) {
    if (error instanceof BadPatternError) {
      return false;
    }
    throw error;
  }
  return matchTokens(tokens, Array.from(name));
}

function tokenize(pattern: string): Token[] {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    if (c === '*') {
      tokens.push({ kind: 'star' });
      i += 1;
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
      i += 1;
    } else if (c === '[') {
      const parsed = parseClass(chars, i + 1);
      tokens.push({ kind: 'class', cls: parsed.cls });
      i = parsed.next;
    } else if (c === '\\') {
      if (i + 1 >= chars.length) {
        throw new BadPatternError('it ends with a lone backslash');
      }
      tokens.push({ kind: 'literal', char: chars[i + 1] });
      i += 2;
    } else {
      tokens.push({ kind: 'literal', char: c });
      i += 1;
    }
  }
  return tokens;
}

/** Parse a class body starting after `[`; returns the class and the index after `]`. */
function parseClass(chars: string[], start: number): { cls: CharClass; next: number } {
  let i = start;
  const negated = chars[i] === '^';
  if (negated) {
    i += 1;
  }
  const items: ClassItem[] = [];
  while (i < chars.length && !(chars[i] === ']' && items.length > 0)) {
    const lo = classChar(chars, i);
    i = lo.next;
    let hi = lo;
    if (chars[i] === '-') {
      hi = classChar(chars, i + 1);
      i = hi.next;
    }
    items.push({ lo: lo.char, hi: hi.char });
  }
  if (i >= chars.length) {
    throw new BadPatternError('a "[" character class has no closing "]"');
  }
  return { cls: { negated, items }, next: i + 1 };
}

/** Read one character of a class: any except `-` and `]` unescaped, or `\` and the next character. */
function classChar(chars: string[], i: number): { char: string; next: number } {
  const c = chars[i];
  if (c === undefined) {
    throw new BadPatternError('a "[" character class has no closing "]"');
  }
  if (c === '\\') {
    if (i + 1 >= chars.length) {
      throw new BadPatternError('it ends with a lone backslash');
    }
    return { char: chars[i + 1], next: i + 2 };
  }
  if (c === '-' || c === ']') {
    throw new BadPatternError(`unexpected "${c}" in a character class (escape it with a backslash)`);
  }
  return { char: c, next: i + 1 };
}

function classMatches(cls: CharClass, char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  const inside = cls.items.some(
    (item) => (item.lo.codePointAt(0) ?? 0) <= code && code <= (item.hi.codePointAt(0) ?? 0),
  );
  return inside !== cls.negated;
}

/** A run of single-character tokens, preceded by one or more stars when `star` is set. */
interface Chunk {
  star: boolean;
  tokens: Token[];
}

function toChunks(tokens: Token[]): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk | undefined;
  for (const token of tokens) {
    if (token.kind === 'star') {
      // Consecutive stars act as one.
      if (current === undefined || current.tokens.length > 0) {
        current = { star: true, tokens: [] };
        chunks.push(current);
      }
    } else {
      if (current === undefined) {
        current = { star: false, tokens: [] };
        chunks.push(current);
      }
      current.tokens.push(token);
    }
  }
  return chunks;
}

/** Match a star-free chunk at `start`; returns the index after it, or -1. */
function matchChunk(chunk: Token[], name: string[], start: number): number {
  if (start + chunk.length > name.length) {
    return -1;
  }
  for (let i = 0; i < chunk.length; i++) {
    if (!tokenMatches(chunk[i], name[start + i])) {
      return -1;
    }
  }
  return start + chunk.length;
}

function tokenMatches(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'any':
      return char !== '/';
    case 'literal':
      return char === token.char;
    case 'class':
      return classMatches(token.cls, char);
    default:
      return false;
  }
}

/**
 * Match chunk by chunk as Go's `path.Match` does: each chunk after a star takes its leftmost
 * position that does not skip a `/`, and the last chunk must end the name. This never
 * backtracks into earlier chunks, so the cost stays polynomial for patterns with many stars.
 */
function matchTokens(tokens: Token[], name: string[]): boolean {
  const chunks = toChunks(tokens);
  let position = 0;
  for (let c = 0; c < chunks.length; c++) {
    const { star, tokens: chunk } = chunks[c];
    const isLast = c === chunks.length - 1;
    if (star && chunk.length === 0) {
      return !name.slice(position).includes('/');
    }
    const end = matchChunk(chunk, name, position);
    if (end >= 0 && (end === name.length || !isLast)) {
      position = end;
      continue;
    }
    const next = star ? findChunkAfterStar(chunk, name, position, isLast) : -1;
    if (next < 0) {
      return false;
    }
    position = next;
  }
  return position === name.length;
}

/** Try the chunk after skipping 1, 2, ... characters that a star may absorb (never a `/`). */
function findChunkAfterStar(chunk: Token[], name: string[], position: number, isLast: boolean): number {
  for (let skip = position; skip < name.length && name[skip] !== '/'; skip++) {
    const end = matchChunk(chunk, name, skip + 1);
    if (end >= 0 && (!isLast || end === name.length)) {
      return end;
    }
  }
  return -1;
}
