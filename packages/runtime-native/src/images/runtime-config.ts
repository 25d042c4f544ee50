import { posix } from 'node:path';
import { RegistryError } from './errors';
import { ImageConfig } from './manifest';

/** The parts of an image config a container runtime uses, validated. */
export interface ImageRuntimeConfig {
  entrypoint: string[];
  cmd: string[];
  /** `KEY=value` entries in image order. */
  env: string[];
  /** Absolute, normalized, without `..`; `/` when the image sets none. */
  workingDir: string;
  user?: string;
  /** Absolute, normalized container paths. */
  volumes: string[];
  exposedPorts: string[];
  stopSignal?: string;
  labels: Record<string, string>;
}

const MAX_CONFIG_PATH_LENGTH = 4096;

/**
 * Extracts and validates the runtime fields of an image config, which come from whoever built the
 * image. Paths (`WorkingDir`, `Volumes`) must be absolute and free of `..` and NUL bytes, so a later
 * mount or mkdir cannot be steered outside the container's root. Throws RegistryError naming the
 * field and `where`.
 */
export function parseRuntimeConfig(image: ImageConfig, where: string): ImageRuntimeConfig {
  const config = (image.config ?? {}) as Record<string, unknown>;
  const field = (name: string) => `${where} config.${name}`;
  const result: ImageRuntimeConfig = {
    entrypoint: stringList(config.Entrypoint, field('Entrypoint')),
    cmd: stringList(config.Cmd, field('Cmd')),
    env: stringList(config.Env, field('Env')),
    workingDir: config.WorkingDir === undefined || config.WorkingDir === '' ? '/' : containerPath(config.WorkingDir, field('WorkingDir')),
    volumes: Object.keys(objectField(config.Volumes, field('Volumes'))).map((path) => containerPath(path, field('Volumes'))),
    exposedPorts: Object.keys(objectField(config.ExposedPorts, field('ExposedPorts'))),
    labels: stringMap(config.Labels, field('Labels')),
  };
  for (const entry of result.env) {
    if (!/^[^=\0]+=/.test(entry) || entry.includes('\0')) throw new RegistryError(`${field('Env')}: entry ${JSON.stringify(entry)} is not KEY=value`);
  }
  if (typeof config.User === 'string' && config.User !== '') result.user = config.User;
  if (typeof config.StopSignal === 'string' && config.StopSignal !== '') result.stopSignal = config.StopSignal;
  return result;
}

function containerPath(value: unknown, where: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('\0') || value.length > MAX_CONFIG_PATH_LENGTH) {
    throw new RegistryError(`${where}: ${JSON.stringify(value)} is not an absolute path`);
  }
  if (value.split('/').includes('..')) throw new RegistryError(`${where}: ${JSON.stringify(value)} contains a ".." component`);
  return posix.normalize(value);
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new RegistryError(`${where}: expected an array of strings`);
  return value as string[];
}

function objectField(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new RegistryError(`${where}: expected an object`);
  return value as Record<string, unknown>;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  const object = objectField(value, where);
  for (const [key, item] of Object.entries(object)) {
    if (typeof item !== 'string') throw new RegistryError(`${where}: label ${JSON.stringify(key)} is not a string`);
  }
  return object as Record<string, string>;
}
