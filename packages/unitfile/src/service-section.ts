import { parseCpus, positiveCount, positiveSize } from './container-section';
import { InvalidValueError } from './errors';
import { parseCount, parseDuration } from './quantities';
import type { RestartPolicy, ServiceSpec } from './types';
import type { OptionValue, UnitReader } from './unit-reader';

export const SERVICE_SECTION = 'Service';
export const UNIT_SECTION = 'Unit';

/** systemd's default pause between a stop and the restart. */
export const DEFAULT_RESTART_SEC_MS = 100;
export const DEFAULT_TIMEOUT_STOP_SEC_MS = 10_000;
export const DEFAULT_START_LIMIT_BURST = 5;
export const DEFAULT_START_LIMIT_INTERVAL_MS = 10_000;

const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-failure', 'always'];
const UNSUPPORTED_RESTART_POLICIES = ['on-success', 'on-abnormal', 'on-watchdog', 'on-abort'];

/** systemd resource limits from `[Service]`, folded into the container's limits. */
export interface ServiceResources {
  memoryBytes?: OptionResult<number>;
  cpus?: OptionResult<number>;
  pidsLimit?: OptionResult<number>;
}

/** A parsed value with the option it came from, so a conflict can be reported at that line. */
export interface OptionResult<T> {
  value: T;
  source: OptionValue;
}

/** Interpret the restart and stop settings of `[Service]` and the start limits of `[Unit]`/`[Service]`. */
export function readServiceSection(reader: UnitReader): ServiceSpec {
  return {
    restart: readRestart(reader),
    restartSecMs: readDuration(reader, ['RestartSec'], DEFAULT_RESTART_SEC_MS),
    timeoutStopSecMs: readDuration(reader, ['TimeoutStopSec'], DEFAULT_TIMEOUT_STOP_SEC_MS),
    startLimitBurst: readStartLimitBurst(reader),
    startLimitIntervalMs: readDuration(reader, ['StartLimitIntervalSec', 'StartLimitInterval'], DEFAULT_START_LIMIT_INTERVAL_MS, true),
  };
}

/**
 * Return the value that wins among several keys and sections. systemd reads a file top to
 * bottom, so the last assignment in file order counts. systemd moved the start limits from `[Service]` to
 * `[Unit]`, and both places are accepted.
 */
function lastOf(reader: UnitReader, keys: string[], withUnitSection = false): OptionValue | undefined {
  const sections = withUnitSection ? [UNIT_SECTION, SERVICE_SECTION] : [SERVICE_SECTION];
  const all = sections
    .flatMap((section) => keys.flatMap((key) => reader.values(section, key)))
    .sort((a, b) => a.option.line - b.option.line);
  const winner = all.at(-1);
  for (const earlier of all.slice(0, -1)) {
    reader.warning(earlier, `${earlier.option.name}= is overridden by ${winner?.option.name}= on line ${winner?.option.line}`);
  }
  for (const value of all) {
    if (value.option.name === 'StartLimitInterval') {
      reader.warning(value, 'StartLimitInterval= is deprecated; use StartLimitIntervalSec=');
    }
  }
  return winner;
}

function readRestart(reader: UnitReader): RestartPolicy {
  const value = lastOf(reader, ['Restart']);
  if (value === undefined) {
    return 'no';
  }
  const text = value.text.trim();
  const policy = RESTART_POLICIES.find((candidate) => candidate === text);
  if (policy !== undefined) {
    return policy;
  }
  const reason = UNSUPPORTED_RESTART_POLICIES.includes(text)
    ? `"${text}" is not supported by Berth`
    : `"${text}" is not a restart policy`;
  reader.error(value, `Restart: ${reason}; use ${RESTART_POLICIES.join(', ')}`);
  return 'no';
}

function readDuration(reader: UnitReader, keys: string[], fallback: number, withUnitSection = false): number {
  const value = lastOf(reader, keys, withUnitSection);
  if (value === undefined) {
    return fallback;
  }
  try {
    return parseDuration(value.text);
  } catch (error) {
    reader.errorFrom(value, value.option.name, error);
    return fallback;
  }
}

function readStartLimitBurst(reader: UnitReader): number {
  const value = lastOf(reader, ['StartLimitBurst'], true);
  if (value === undefined) {
    return DEFAULT_START_LIMIT_BURST;
  }
  try {
    return parseCount(value.text, 'start limit');
  } catch (error) {
    reader.errorFrom(value, 'StartLimitBurst', error);
    return DEFAULT_START_LIMIT_BURST;
  }
}

/**
 * Read systemd's resource keys (`MemoryMax=`, the older `MemoryLimit=`, `CPUQuota=`,
 * `TasksMax=`). `infinity` means no limit; percentages of host memory or tasks are not
 * supported.
 */
export function readServiceResources(reader: UnitReader): ServiceResources {
  const resources: ServiceResources = {};
  const memory = lastOf(reader, ['MemoryMax', 'MemoryLimit']);
  if (memory?.option.name === 'MemoryLimit') {
    reader.warning(memory, 'MemoryLimit= is deprecated; use MemoryMax=');
  }
  resources.memoryBytes = parseLimit(reader, memory, (text) => positiveSize(rejectPercent(text)));
  resources.cpus = parseLimit(reader, lastOf(reader, ['CPUQuota']), parseCpuQuota);
  resources.pidsLimit = parseLimit(reader, lastOf(reader, ['TasksMax']), (text) => positiveCount(rejectPercent(text)));
  return resources;
}

function parseLimit<T>(reader: UnitReader, value: OptionValue | undefined, parse: (text: string) => T): OptionResult<T> | undefined {
  const text = value?.text.trim();
  if (value === undefined || text === '' || text === 'infinity') {
    return undefined;
  }
  try {
    return { value: parse(text as string), source: value };
  } catch (error) {
    reader.errorFrom(value, value.option.name, error);
    return undefined;
  }
}

function rejectPercent(text: string): string {
  if (text.endsWith('%')) {
    throw new InvalidValueError('limit', text, 'percentages are not supported; give an absolute value');
  }
  return text;
}

/** systemd writes CPU time as a percentage of one CPU: `150%` is one and a half CPUs. */
function parseCpuQuota(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (match === null) {
    throw new InvalidValueError('CPU quota', text, 'expected a percentage of one CPU, such as 50% or 150%');
  }
  return parseCpus(String(Number(match[1]) / 100));
}
