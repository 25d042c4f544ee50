import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ENDPOINT, DEFAULT_REQUEST_TIMEOUT_S, parseEndpoints, SchedulerClient } from '../api/client';
import { UsageError } from '../errors';
import { CliIo, useColour } from './io';

/** The global flags, after commander parsed them; unset flags fall back to the environment. */
export interface GlobalOptions {
  endpoint?: string;
  token?: string;
  requestTimeout?: string;
}

/** The process surroundings and a lazily built API client, passed to every command. */
export interface CommandContext {
  io: CliIo;
  /** Builds the client on first use, so offline commands never validate the endpoint flags. */
  client(): SchedulerClient;
  /** True when stdout is a terminal that accepts colour. */
  colour: boolean;
  /** Writes one line to stderr, prefixed like every berthctl message. */
  warn(message: string): void;
}

/** Creates the context for one invocation. Throws UsageError (from `client()`) for invalid global flags. */
export function createContext(io: CliIo, globals: GlobalOptions): CommandContext {
  let client: SchedulerClient | undefined;
  return {
    io,
    colour: useColour(io.stdout, io.env),
    warn: (message) => io.stderr.write(`berthctl: ${message}\n`),
    client() {
      client ??= new SchedulerClient({
        endpoints: parseEndpoints(globals.endpoint ?? io.env.BERTHCTL_ENDPOINT ?? DEFAULT_ENDPOINT),
        token: globals.token ?? io.env.BERTHCTL_TOKEN,
        requestTimeoutMs: parseTimeoutSeconds(globals.requestTimeout ?? io.env.BERTHCTL_REQUEST_TIMEOUT) * 1000,
      });
      return client;
    },
  };
}

function parseTimeoutSeconds(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_REQUEST_TIMEOUT_S;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`invalid request timeout "${value}": expected a positive number of seconds, such as 10 or 2.5`);
  }
  return seconds;
}

/** The version of this berthctl, from the package's package.json. */
export function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Parses a non-negative integer flag value such as `--block-attempts 5`. Throws UsageError otherwise. */
export function parseCount(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`invalid ${flag} "${value}": expected a whole number of 0 or more`);
    return Number(value);
  };
}
