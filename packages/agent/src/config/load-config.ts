import { isAbsolute } from 'node:path';
import { ConfigError } from '../errors';
import {
  AgentConfig,
  DEFAULT_BRIDGE_NAME,
  DEFAULT_CONTAINER_SUBNET,
  DEFAULT_LOG_MAX_BYTES,
  DEFAULT_LOG_MAX_FILES,
  DEFAULT_RESERVED_MEMORY_BYTES,
  DEFAULT_RUN_DIR,
  DEFAULT_STATE_DIR,
  RegistryCredential,
} from './agent-config';
import { FileValue, readConfigFile } from './config-file';
import { detectCapacity, detectPublicAddress, IdentityHost, resolveMachineId, systemIdentityHost } from './identity';
import { environmentName, normalizeKey, SETTINGS } from './settings';
import {
  parseBoolean,
  parseBytes,
  parseHostPort,
  parseInterfaceName,
  parseIpv4Cidr,
  parseList,
  parseMetadata,
  parseNonNegative,
  parsePositiveInteger,
} from './values';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Sources of settings. Flags are keyed by camelCase setting name, as parseCommandLine returns them. */
export interface ConfigSources {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** Path of a JSON or INI file; `BERTH_CONFIG` in `env` is used when this is unset. */
  configFile?: string;
  host?: IdentityHost;
}

/** One setting's value and where it came from, for error messages. */
interface RawValue {
  value: FileValue;
  source: string;
}

/**
 * Builds the agent configuration from flags, environment and file, then validates every setting.
 * Throws ConfigError naming the first invalid or missing setting and its source.
 */
export function loadConfig(sources: ConfigSources): AgentConfig {
  const raw = collectRawValues(sources);
  const host = sources.host ?? systemIdentityHost;
  const text = (name: string) => (raw.has(name) ? valueAsText(name, raw.get(name)!) : undefined);
  const list = (name: string) => (raw.has(name) ? valueAsList(raw.get(name)!) : []);

  const schedulers = list('schedulers').map((entry) => parseHostPort('schedulers', entry));
  if (schedulers.length === 0) throw new ConfigError('schedulers', 'missing: set --schedulers, BERTH_SCHEDULERS or schedulers in the configuration file');
  const joinToken = resolveJoinToken(text('joinToken'), text('joinTokenFile'), host);
  const schedulerCa = text('schedulerCaFile') === undefined ? undefined : readCa(host, text('schedulerCaFile')!);
  const stateDir = absoluteDir('stateDir', text('stateDir') ?? DEFAULT_STATE_DIR);
  const runDir = absoluteDir('runDir', text('runDir') ?? DEFAULT_RUN_DIR);

  const reservedCpus = parseNonNegative('reservedCpus', text('reservedCpus') ?? '0');
  const reservedMemory = text('reservedMemory') === undefined ? DEFAULT_RESERVED_MEMORY_BYTES : parseBytes('reservedMemory', text('reservedMemory')!);
  const detected = detectCapacity(host, { cpus: reservedCpus, memoryBytes: reservedMemory });
  const cpus = text('cpus') === undefined ? detected.cpus : parseNonNegative('cpus', text('cpus')!);
  const memoryBytes = text('memory') === undefined ? detected.memoryBytes : parseBytes('memory', text('memory')!);

  const logLevel = text('logLevel') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('logLevel', `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  return {
    schedulers,
    joinToken,
    schedulerCa,
    machineId: resolveMachineId(host, stateDir, text('machineId')),
    publicAddress: text('publicAddress') ?? detectPublicAddress(host),
    metadata: raw.has('metadata') ? metadataOf(raw.get('metadata')!) : {},
    capacity: { cpus, memoryBytes },
    stateDir,
    runDir,
    bridgeName: parseInterfaceName('bridgeName', text('bridgeName') ?? DEFAULT_BRIDGE_NAME),
    containerSubnet: parseIpv4Cidr('containerSubnet', text('containerSubnet') ?? DEFAULT_CONTAINER_SUBNET),
    insecureRegistries: list('insecureRegistries'),
    registryCredentials: text('registryAuthFile') === undefined ? {} : readRegistryAuthFile(host, text('registryAuthFile')!),
    logMaxBytes: text('logMaxBytes') === undefined ? DEFAULT_LOG_MAX_BYTES : parseBytes('logMaxBytes', text('logMaxBytes')!),
    logMaxFiles: text('logMaxFiles') === undefined ? DEFAULT_LOG_MAX_FILES : parsePositiveInteger('logMaxFiles', text('logMaxFiles')!),
    logLevel,
    drainOnShutdown: text('drain') === undefined ? false : parseBoolean('drain', text('drain')!),
  };
}

/** Merges file, environment and flags, later sources winning; rejects unknown file keys. */
function collectRawValues(sources: ConfigSources): Map<string, RawValue> {
  const byKey = new Map(SETTINGS.map((definition) => [normalizeKey(definition.name), definition]));
  const raw = new Map<string, RawValue>();

  const configFile = sources.configFile ?? sources.env.BERTH_CONFIG;
  if (configFile !== undefined && configFile !== '') {
    for (const [key, value] of Object.entries(readConfigFile(configFile))) {
      const definition = byKey.get(normalizeKey(key));
      if (!definition) throw new ConfigError(key, `unknown setting in ${configFile}; known settings: ${SETTINGS.map((entry) => entry.name).join(', ')}`);
      raw.set(definition.name, { value, source: configFile });
    }
  }
  for (const definition of SETTINGS) {
    const value = sources.env[environmentName(definition)];
    if (value !== undefined && value !== '') raw.set(definition.name, { value, source: environmentName(definition) });
  }
  for (const definition of SETTINGS) {
    const value = sources.flags[definition.name];
    if (value !== undefined) raw.set(definition.name, { value: value as FileValue, source: `--${definition.flag}` });
  }
  return raw;
}

function valueAsText(name: string, raw: RawValue): string {
  if (typeof raw.value === 'string') return raw.value;
  if (typeof raw.value === 'number' || typeof raw.value === 'boolean') return String(raw.value);
  throw new ConfigError(name, `expected a single value in ${raw.source}, got ${JSON.stringify(raw.value)}`);
}

function valueAsList(raw: RawValue): string[] {
  if (Array.isArray(raw.value)) return raw.value.map((entry) => String(entry).trim()).filter((entry) => entry !== '');
  return parseList(String(raw.value));
}

function metadataOf(raw: RawValue): Record<string, string> {
  if (typeof raw.value === 'object' && !Array.isArray(raw.value)) {
    return parseMetadata('metadata', Object.entries(raw.value).map(([key, value]) => `${key}=${String(value)}`).join(','));
  }
  return parseMetadata('metadata', String(raw.value));
}

function absoluteDir(setting: string, path: string): string {
  if (!isAbsolute(path)) throw new ConfigError(setting, `expected an absolute path, got "${path}"`);
  return path;
}

function resolveJoinToken(token: string | undefined, tokenFile: string | undefined, host: IdentityHost): string {
  if (token !== undefined && tokenFile !== undefined) throw new ConfigError('joinToken', 'set either joinToken or joinTokenFile, not both');
  if (tokenFile !== undefined) {
    const content = host.readFile(tokenFile);
    if (content === undefined) throw new ConfigError('joinTokenFile', `cannot read ${tokenFile}`);
    token = content.trim();
  }
  if (token === undefined || token === '') throw new ConfigError('joinToken', 'missing: set --join-token, BERTH_JOIN_TOKEN or --join-token-file');
  return token;
}

function readCa(host: IdentityHost, path: string): string {
  const pem = host.readFile(path);
  if (pem === undefined) throw new ConfigError('schedulerCaFile', `cannot read ${path}`);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('schedulerCaFile', `${path} contains no PEM certificate; give the CA certificate that signed the schedulers' certificates`);
  return pem;
}

/** Reads `{"auths": {"HOST": {"auth": base64(user:password)}}}` or `{"username","password"}` entries. */
function readRegistryAuthFile(host: IdentityHost, path: string): Record<string, RegistryCredential> {
  const text = host.readFile(path);
  if (text === undefined) throw new ConfigError('registryAuthFile', `cannot read ${path}`);
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('registryAuthFile', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const credentials: Record<string, RegistryCredential> = {};
  for (const [registry, entry] of Object.entries(parsed.auths ?? {})) {
    credentials[registry] = credentialOf(path, registry, entry);
  }
  return credentials;
}

function credentialOf(path: string, registry: string, entry: { auth?: string; username?: string; password?: string }): RegistryCredential {
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  const decoded = entry.auth === undefined ? '' : Buffer.from(entry.auth, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator <= 0) throw new ConfigError('registryAuthFile', `${path}: entry for "${registry}" needs "auth" as base64 of user:password`);
  return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}
