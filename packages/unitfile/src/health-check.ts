import { InvalidValueError } from './errors';
import { parseCount, parseDuration } from './quantities';
import type { HealthCheck } from './types';
import type { OptionValue, UnitReader } from './unit-reader';

/** Defaults as in docker and podman health checks. */
export const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
export const DEFAULT_HEALTH_RETRIES = 3;
export const DEFAULT_HEALTH_START_PERIOD_MS = 0;

const SECTION = 'Container';
const PROBE_KEYS = ['HealthCmd', 'HealthHttp', 'HealthTcp'] as const;
const TIMING_KEYS = ['HealthInterval', 'HealthTimeout', 'HealthRetries', 'HealthStartPeriod'] as const;

type Probe = Pick<HealthCheck, 'kind' | 'target' | 'host' | 'port' | 'path'>;

/**
 * Read the health check of `[Container]`: one of `HealthCmd=`, `HealthHttp=` or `HealthTcp=`,
 * with optional timing keys. Returns undefined when no probe is set (timing keys alone are
 * reported as having no effect) or when the probe is invalid.
 */
export function readHealthCheck(reader: UnitReader): HealthCheck | undefined {
  const probes = PROBE_KEYS.map((key) => reader.last(SECTION, key))
    .filter((v): v is OptionValue => v !== undefined)
    .sort((a, b) => a.option.line - b.option.line);
  if (probes.length === 0) {
    for (const key of TIMING_KEYS) {
      for (const value of reader.values(SECTION, key)) {
        reader.warning(value, `${key}= has no effect without HealthCmd=, HealthHttp= or HealthTcp=`);
      }
    }
    return undefined;
  }
  for (const extra of probes.slice(1)) {
    reader.error(extra, `${extra.option.name}= conflicts with ${probes[0].option.name}= (line ${probes[0].option.line}); a container has one health check`);
  }
  const probe = readProbe(reader, probes[0]);
  const timing = readTiming(reader);
  return probe === undefined ? undefined : { ...probe, ...timing };
}

function readProbe(reader: UnitReader, value: OptionValue): Probe | undefined {
  try {
    switch (value.option.name) {
      case 'HealthCmd':
        return parseCommandProbe(value.joined, reader.splitValue(value, 'command line', true));
      case 'HealthHttp':
        return parseHttpProbe(value.text);
      default:
        return parseTcpProbe(value.text);
    }
  } catch (error) {
    reader.errorFrom(value, value.option.name, error);
    return undefined;
  }
}

function parseCommandProbe(text: string, target: string[]): Probe {
  if (target.length === 0) {
    throw new InvalidValueError('health command', text, 'it is empty; give the command to run inside the container');
  }
  return { kind: 'cmd', target };
}

/** `[http://][host:]port[/path]`; an empty host probes the container's own address. */
export function parseHttpProbe(text: string): Probe {
  const rest = text.replace(/^http:\/\//, '');
  const slash = rest.indexOf('/');
  const hostPort = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '/' : rest.slice(slash);
  if (/\s/.test(path)) {
    throw new InvalidValueError('HTTP health check', text, 'the path contains blanks; encode them as %20');
  }
  const { host, port } = parseHostPort(hostPort, text, 'HTTP health check');
  return { kind: 'http', target: [`${host}:${port}${path}`], host, port, path };
}

/** `[host:]port`; an empty host probes the container's own address. */
export function parseTcpProbe(text: string): Probe {
  const { host, port } = parseHostPort(text, text, 'TCP health check');
  return { kind: 'tcp', target: [host === '' ? String(port) : `${host}:${port}`], host, port };
}

function parseHostPort(text: string, whole: string, kind: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? '' : text.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const portText = colon < 0 ? text : text.slice(colon + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new InvalidValueError(kind, whole, `expected [host:]port with a port from 1 to 65535, for example 8080${kind.startsWith('HTTP') ? '/healthz' : ''}`);
  }
  if (/[\s/]/.test(host)) {
    throw new InvalidValueError(kind, whole, `host "${host}" is not a host name or address`);
  }
  return { host, port };
}

function readTiming(reader: UnitReader): Pick<HealthCheck, 'intervalMs' | 'timeoutMs' | 'retries' | 'startPeriodMs'> {
  const duration = (key: string, fallback: number, allowZero: boolean): number => {
    const value = reader.last(SECTION, key);
    if (value === undefined) {
      return fallback;
    }
    try {
      const ms = parseDuration(value.text);
      if (ms === 0 && !allowZero) {
        throw new InvalidValueError('duration', value.text, 'it must be greater than zero');
      }
      return ms;
    } catch (error) {
      reader.errorFrom(value, key, error);
      return fallback;
    }
  };
  return {
    intervalMs: duration('HealthInterval', DEFAULT_HEALTH_INTERVAL_MS, false),
    timeoutMs: duration('HealthTimeout', DEFAULT_HEALTH_TIMEOUT_MS, false),
    retries: readRetries(reader),
    startPeriodMs: duration('HealthStartPeriod', DEFAULT_HEALTH_START_PERIOD_MS, true),
  };
}

function readRetries(reader: UnitReader): number {
  const value = reader.last(SECTION, 'HealthRetries');
  if (value === undefined) {
    return DEFAULT_HEALTH_RETRIES;
  }
  try {
    const retries = parseCount(value.text, 'retry count');
    if (retries === 0) {
      throw new InvalidValueError('retry count', value.text, 'it must be at least 1');
    }
    return retries;
  } catch (error) {
    reader.errorFrom(value, 'HealthRetries', error);
    return DEFAULT_HEALTH_RETRIES;
  }
}
