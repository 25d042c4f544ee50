/**
 * Split an `[X-Fleet]` value the way fleet does: only a value that both starts and ends with `"`
 * is split, at spaces outside quotes, with every quote character dropped. There is no escape
 * character, so `"foo\"bar"` becomes `foo\bar`, and `"a"  "b"` (two spaces) yields an empty
 * middle value. Any other value is returned whole.
 */
export function splitFleetValue(value: string): string[] {
  if (!value.startsWith('"') || !value.endsWith('"')) {
    return [value];
  }
  const parts: string[] = [];
  let current = '';
  let inQuotes = false;
  for (const char of value) {
    if (char === '"') {
      inQuotes = !inQuotes;
    } else if (char === ' ' && !inQuotes) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}
