import pino, { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Creates the agent's root logger: pino JSON on stdout with `machine` bound once. Components derive
 * children with `component`, and per-unit work adds `unit` and `container`.
 */
export function createLogger(options: { machine?: string; level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const base = options.machine ? { machine: options.machine } : {};
  return pino({ level: options.level ?? 'info', base, timestamp: pino.stdTimeFunctions.isoTime }, options.destination);
}

/** A logger that drops everything, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
