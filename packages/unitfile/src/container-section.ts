import {
  checkImageReference,
  checkUser,
  isCleanAbsolutePath,
  normalizeCapability,
  parseAssignments,
  parsePublishPort,
  parseVolume,
} from './container-values';
import { InvalidValueError } from './errors';
import { readHealthCheck } from './health-check';
import { parseBoolean, parseCount, parseSize } from './quantities';
import type { ContainerSpec, NetworkMode, PublishedPort, VolumeMount } from './types';
import type { OptionValue, UnitReader } from './unit-reader';

export const CONTAINER_SECTION = 'Container';
export const DEFAULT_NETWORK: NetworkMode = 'bridge';
const NETWORK_MODES: readonly NetworkMode[] = ['bridge', 'host', 'none'];

/**
 * Interpret `[Container]`. Returns undefined when the unit has no such section; a section
 * without `Image=` yields an empty `image`, which the caller reports.
 */
export function readContainerSection(reader: UnitReader): ContainerSpec | undefined {
  const present = reader.document.options.some((option) => option.section === CONTAINER_SECTION);
  if (!present) {
    return undefined;
  }
  const spec: ContainerSpec = {
    image: readImage(reader),
    exec: readCommand(reader, 'Exec') ?? [],
    environment: readEnvironment(reader),
    environmentFiles: readEnvironmentFiles(reader),
    publishPorts: readPublishPorts(reader),
    volumes: readVolumes(reader),
    network: readNetwork(reader),
    readOnly: readScalar(reader, 'ReadOnly', parseBoolean) ?? false,
    addCapabilities: readCapabilities(reader, 'AddCapability'),
    dropCapabilities: readCapabilities(reader, 'DropCapability'),
  };
  assignDefined(spec, {
    entrypoint: readCommand(reader, 'Entrypoint'),
    workingDir: readScalar(reader, 'WorkingDir', checkedAbsolutePath),
    user: readScalar(reader, 'User', (text) => (checkUser(text), text)),
    memoryBytes: readScalar(reader, 'Memory', positiveSize),
    cpus: readScalar(reader, 'CPUs', parseCpus),
    pidsLimit: readScalar(reader, 'PidsLimit', positiveCount),
    init: readScalar(reader, 'Init', parseBoolean),
    health: readHealthCheck(reader),
  });
  checkNetworkUse(reader, spec);
  return spec;
}

/** Report settings that the chosen network mode makes useless or impossible. */
function checkNetworkUse(reader: UnitReader, spec: ContainerSpec): void {
  const ports = reader.list(CONTAINER_SECTION, 'PublishPort');
  if (spec.network === 'none') {
    for (const value of ports) {
      reader.error(value, 'PublishPort= needs a network, but Network=none gives the container only loopback; use Network=bridge');
    }
    const health = spec.health;
    if (health !== undefined && health.kind !== 'cmd' && health.host === '') {
      const key = health.kind === 'http' ? 'HealthHttp' : 'HealthTcp';
      const probe = reader.values(CONTAINER_SECTION, key).at(-1);
      if (probe !== undefined) {
        reader.warning(probe, `${key}= probes the container's address, which Network=none does not give it; use HealthCmd=`);
      }
    }
  }
  if (spec.network === 'host') {
    for (const value of ports) {
      reader.warning(value, 'PublishPort= has no effect with Network=host, where the container listens on the host\'s ports directly');
    }
  }
}

/** Copy only the fields that have a value, so optional fields stay absent rather than undefined. */
function assignDefined<T extends object>(target: T, fields: Partial<T>): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) {
      (target as Record<string, unknown>)[key] = value;
    }
  }
}

/**
 * Read a single-valued key through `parse`, reporting a failure at the option. Values that wait
 * for a machine (`%H`, `%m`) or an instance are passed through unparsed only for text keys.
 */
function readScalar<T>(reader: UnitReader, key: string, parse: (text: string) => T): T | undefined {
  const value = reader.last(CONTAINER_SECTION, key);
  if (value === undefined) {
    return undefined;
  }
  try {
    return parse(value.text.trim());
  } catch (error) {
    reader.errorFrom(value, key, error);
    return undefined;
  }
}

function readImage(reader: UnitReader): string {
  const value = reader.last(CONTAINER_SECTION, 'Image');
  if (value === undefined) {
    return '';
  }
  const image = value.text.trim();
  if (!value.pending) {
    try {
      checkImageReference(image);
    } catch (error) {
      reader.errorFrom(value, 'Image', error);
    }
  }
  return image;
}

function readCommand(reader: UnitReader, key: string): string[] | undefined {
  const value = reader.last(CONTAINER_SECTION, key);
  if (value === undefined) {
    return undefined;
  }
  try {
    return reader.splitValue(value, 'command line', true);
  } catch (error) {
    reader.errorFrom(value, key, error);
    return undefined;
  }
}

function readEnvironment(reader: UnitReader): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const value of reader.list(CONTAINER_SECTION, 'Environment')) {
    try {
      const words = reader.splitValue(value, 'environment assignment');
      for (const [name, text] of parseAssignments(words, value.joined)) {
        environment[name] = text;
      }
    } catch (error) {
      reader.errorFrom(value, 'Environment', error);
    }
  }
  return environment;
}

/** Read `EnvironmentFile=` paths, where a leading `-` marks a file that may be missing (as in systemd). */
function readEnvironmentFiles(reader: UnitReader): string[] {
  return readEach(reader, 'EnvironmentFile', (text) => {
    if (!isCleanAbsolutePath(text.replace(/^-/, ''))) {
      throw new InvalidValueError('path', text, 'an environment file must be an absolute path on the host, optionally prefixed with "-"');
    }
    return text;
  });
}

function readPublishPorts(reader: UnitReader): PublishedPort[] {
  const ports: PublishedPort[] = [];
  const seen = new Map<string, OptionValue>();
  for (const value of reader.list(CONTAINER_SECTION, 'PublishPort')) {
    const port = parseEach(reader, value, 'PublishPort', parsePublishPort);
    if (port === undefined) {
      continue;
    }
    const id = `${port.hostIp}:${port.hostPort}/${port.protocol}`;
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      reader.error(value, `PublishPort: host port ${port.hostPort}/${port.protocol} is already published on line ${earlier.option.line}`);
      continue;
    }
    seen.set(id, value);
    ports.push(port);
  }
  return ports;
}

function readVolumes(reader: UnitReader): VolumeMount[] {
  return readEach(reader, 'Volume', parseVolume);
}

function readNetwork(reader: UnitReader): NetworkMode {
  const mode = readScalar(reader, 'Network', (text): NetworkMode => {
    const found = NETWORK_MODES.find((candidate) => candidate === text);
    if (found === undefined) {
      throw new InvalidValueError('network mode', text, `not supported; use ${NETWORK_MODES.join(', ')}`);
    }
    return found;
  });
  return mode ?? DEFAULT_NETWORK;
}

/** Capability lists accept several names per line, separated by blanks. */
function readCapabilities(reader: UnitReader, key: string): string[] {
  const names = readEach(reader, key, (text) => text.split(/\s+/).map(normalizeCapability));
  return [...new Set(names.flat())];
}

function readEach<T>(reader: UnitReader, key: string, parse: (text: string) => T): T[] {
  return reader
    .list(CONTAINER_SECTION, key)
    .map((value) => parseEach(reader, value, key, parse))
    .filter((item): item is T => item !== undefined);
}

function parseEach<T>(reader: UnitReader, value: OptionValue, key: string, parse: (text: string) => T): T | undefined {
  try {
    return parse(value.text.trim());
  } catch (error) {
    reader.errorFrom(value, key, error);
    return undefined;
  }
}

function checkedAbsolutePath(text: string): string {
  if (!isCleanAbsolutePath(text)) {
    throw new InvalidValueError('path', text, 'must be an absolute path inside the container, without "." or ".."');
  }
  return text;
}

/** Size in bytes greater than zero. */
export function positiveSize(text: string): number {
  const bytes = parseSize(text);
  if (bytes === 0) {
    throw new InvalidValueError('size', text, 'a memory limit must be greater than zero');
  }
  return bytes;
}

/** Whole number greater than zero. */
export function positiveCount(text: string): number {
  const count = parseCount(text);
  if (count === 0) {
    throw new InvalidValueError('number', text, 'it must be at least 1');
  }
  return count;
}

/** CPU count as a decimal such as `0.5` or `2`. */
export function parseCpus(text: string): number {
  const cpus = /^(\d+(\.\d+)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(cpus > 0)) {
    throw new InvalidValueError('CPU count', text, 'expected a number of CPUs greater than zero, such as 0.5 or 2');
  }
  return cpus;
}
