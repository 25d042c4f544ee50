import { ConfigError } from '../errors';

/** Multipliers of the size suffixes accepted in byte settings (powers of 1024, like systemd). */
const BYTE_SUFFIXES: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses `512M`, `2G` or a plain byte count. Throws ConfigError naming `setting` otherwise. */
export function parseBytes(setting: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!match) throw new ConfigError(setting, `expected a size such as 512M or 2G, got "${text}"`);
  return Math.floor(Number(match[1]) * BYTE_SUFFIXES[match[2].toUpperCase()]);
}

/** Parses a non-negative decimal number. Throws ConfigError naming `setting` otherwise. */
export function parseNonNegative(setting: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(setting, `expected a non-negative number, got "${text}"`);
  }
  return value;
}

/** Parses a positive integer. Throws ConfigError naming `setting` otherwise. */
export function parsePositiveInteger(setting: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(setting, `expected a positive integer, got "${text}"`);
  return value;
}

/** Splits a comma-separated list, trimming entries and dropping empty ones. */
export function parseList(text: string): string[] {
  return text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
}

/** Parses `true/false/yes/no/1/0`. Throws ConfigError naming `setting` otherwise. */
export function parseBoolean(setting: string, text: string): boolean {
  const normalized = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
  if (['0', 'false', 'no', 'off'].includes(normalized)) return false;
  throw new ConfigError(setting, `expected true or false, got "${text}"`);
}

/**
 * Parses machine metadata `k=v,k=v`. Unlike fleet, which dropped malformed pairs silently, a pair
 * without `=` or with an empty key is an error, because a typo here changes where units land.
 */
export function parseMetadata(setting: string, text: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of parseList(text)) {
    const separator = pair.indexOf('=');
    const key = separator > 0 ? pair.slice(0, separator).trim() : '';
    if (key === '') throw new ConfigError(setting, `expected key=value pairs separated by commas, got "${pair}"`);
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new ConfigError(setting, `key "${key}" may contain only letters, digits, ".", "_" and "-"`);
    metadata[key] = pair.slice(separator + 1).trim();
  }
  return metadata;
}

/** Checks `host:port` (IPv6 in brackets), the form of scheduler endpoints and registry hosts. */
export function parseHostPort(setting: string, text: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) === 0 || Number(match[2]) > 65535) {
    throw new ConfigError(setting, `expected host:port such as 10.0.0.5:7071, got "${text}"`);
  }
  return text;
}

/** Checks an IPv4 CIDR such as `10.88.0.0/16` and returns it unchanged. */
export function parseIpv4Cidr(setting: string, text: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  const valid = match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(match[5]) >= 8 && Number(match[5]) <= 30;
  if (!valid) throw new ConfigError(setting, `expected an IPv4 subnet with a prefix between /8 and /30, such as 10.88.0.0/16, got "${text}"`);
  return text;
}

/** Checks a Linux interface name (at most 15 bytes, no `/` or whitespace). */
export function parseInterfaceName(setting: string, text: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(text)) {
    throw new ConfigError(setting, `expected an interface name of 1 to 15 letters, digits, ".", "_" or "-", got "${text}"`);
  }
  return text;
}
