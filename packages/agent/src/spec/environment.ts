import { UnitSpecError } from '../errors';

/**
 * Parses an `EnvironmentFile=` in systemd's simple form: `KEY=value` lines, `#` and `;` comments,
 * optional `export ` prefix, values optionally in single or double quotes.
 * Throws UnitSpecError naming the file and line of a malformed entry.
 */
export function parseEnvironmentFile(unit: string, path: string, text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const separator = line.indexOf('=');
    const key = separator > 0 ? line.slice(0, separator).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UnitSpecError(unit, `${path}:${index + 1}: expected KEY=value with a name of letters, digits and "_", got "${lines[index].trim()}"`);
    }
    values[key] = unquote(line.slice(separator + 1).trim());
  }
  return values;
}

function unquote(value: string): string {
  const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]);
  return quoted ? value.slice(1, -1) : value;
}

/**
 * Merges environments, later layers overriding earlier ones, into `KEY=value` entries in first-seen
 * order. Image entries without `=` are dropped, as Docker does.
 */
export function mergeEnvironment(imageEnv: string[], ...layers: Array<Record<string, string>>): string[] {
  const merged = new Map<string, string>();
  for (const entry of imageEnv) {
    const separator = entry.indexOf('=');
    if (separator > 0) merged.set(entry.slice(0, separator), entry.slice(separator + 1));
  }
  for (const layer of layers) for (const [key, value] of Object.entries(layer)) merged.set(key, value);
  return [...merged].map(([key, value]) => `${key}=${value}`);
}
