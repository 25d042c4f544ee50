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
  return matchTokens(tokens, 0, Array.from(name), 0);
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

function matchTokens(tokens: Token[], t: number, name: string[], n: number): boolean {
  if (t === tokens.length) {
    return n === name.length;
  }
  const token = tokens[t];
  if (token.kind === 'star') {
    // Try every split point, never letting `*` swallow a `/`.
    for (let end = n; end <= name.length; end++) {
      if (matchTokens(tokens, t + 1, name, end)) {
        return true;
      }
      if (end < name.length && name[end] === '/') {
        return false;
      }
    }
    return false;
  }
  if (n >= name.length) {
    return false;
  }
  const char = name[n];
  const ok =
    token.kind === 'any'
      ? char !== '/'
      : token.kind === 'literal'
        ? char === token.char
        : classMatches(token.cls, char);
  return ok && matchTokens(tokens, t + 1, name, n + 1);
}
