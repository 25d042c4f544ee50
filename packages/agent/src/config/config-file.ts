import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';

/** A value read from a configuration file: INI values are text, JSON values keep their type. */
export type FileValue = string | number | boolean | string[] | Record<string, unknown>;

/**
 * Reads an agent configuration file. `.json` files (or text starting with `{`) are JSON objects;
 * anything else is INI in fleet.conf's style: `key = value` lines, `#` or `;` comments, no sections.
 * Keys are returned as written. Throws ConfigError naming the file and line when it cannot be read.
 */
export function readConfigFile(path: string): Record<string, FileValue> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('config', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (path.endsWith('.json') || text.trimStart().startsWith('{')) return parseJsonConfig(path, text);
  return parseIniConfig(path, text);
}

function parseJsonConfig(path: string, text: string): Record<string, FileValue> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('config', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('config', `${path} must contain a JSON object of settings`);
  }
  return parsed as Record<string, FileValue>;
}

/** Parses INI text; exported for tests. */
export function parseIniConfig(path: string, text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) throw new ConfigError('config', `${path}:${index + 1}: sections are not supported; write key = value lines`);
    const separator = line.indexOf('=');
    if (separator <= 0) throw new ConfigError('config', `${path}:${index + 1}: expected key = value, got "${line}"`);
    values[line.slice(0, separator).trim()] = unquote(line.slice(separator + 1).trim());
  }
  return values;
}

function unquote(value: string): string {
  const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]);
  return quoted ? value.slice(1, -1) : value;
}
