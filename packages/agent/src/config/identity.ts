import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, networkInterfaces, NetworkInterfaceInfo, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors';

const MACHINE_ID_PATTERN = /^[0-9a-f]{32}$/;

/** What identity detection reads from the host; tests pass a fake. */
export interface IdentityHost {
  readFile(path: string): string | undefined;
  writeFile(path: string, content: string): void;
  cpuCount(): number;
  totalMemoryBytes(): number;
  interfaces(): NodeJS.Dict<NetworkInterfaceInfo[]>;
  randomHex(bytes: number): string;
}

/** The real host: files, `os.cpus()`, `os.totalmem()` and `os.networkInterfaces()`. */
export const systemIdentityHost: IdentityHost = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  writeFile(path, content) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, content, { mode: 0o644 });
    renameSync(`${path}.tmp`, path);
  },
  cpuCount: () => cpus().length,
  totalMemoryBytes: () => totalmem(),
  interfaces: () => networkInterfaces(),
  randomHex: (bytes) => randomBytes(bytes).toString('hex'),
};

/**
 * Returns the machine id: the configured one, else /etc/machine-id, else an id generated once and
 * kept in `STATE_DIR/machine-id` so that it survives restarts. Throws ConfigError for a malformed one.
 */
export function resolveMachineId(host: IdentityHost, stateDir: string, configured?: string): string {
  if (configured !== undefined) return checkMachineId('machineId', configured.trim().toLowerCase());

  const system = host.readFile('/etc/machine-id')?.trim();
  if (system && MACHINE_ID_PATTERN.test(system)) return system;

  const keptPath = join(stateDir, 'machine-id');
  const kept = host.readFile(keptPath)?.trim();
  if (kept !== undefined && kept !== '') return checkMachineId(`machineId (from ${keptPath})`, kept);

  const generated = host.randomHex(16);
  host.writeFile(keptPath, `${generated}\n`);
  return generated;
}

function checkMachineId(setting: string, value: string): string {
  if (!MACHINE_ID_PATTERN.test(value)) throw new ConfigError(setting, `expected 32 lowercase hex characters like /etc/machine-id, got "${value}"`);
  return value;
}

/**
 * Returns the first non-internal IPv4 address, sorted by interface name so the choice is stable.
 * Throws ConfigError when there is none, asking for `publicAddress`.
 */
export function detectPublicAddress(host: IdentityHost): string {
  const interfaces = host.interfaces();
  for (const name of Object.keys(interfaces).sort()) {
    const found = (interfaces[name] ?? []).find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (found) return found.address;
  }
  throw new ConfigError('publicAddress', 'no non-loopback IPv4 address found on this host; set it explicitly');
}

/** Detected capacity minus the reserve, never below zero. */
export function detectCapacity(host: IdentityHost, reserved: { cpus: number; memoryBytes: number }): { cpus: number; memoryBytes: number } {
  return {
    cpus: Math.max(0, host.cpuCount() - reserved.cpus),
    memoryBytes: Math.max(0, host.totalMemoryBytes() - reserved.memoryBytes),
  };
}
