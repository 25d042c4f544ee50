import pino, { Logger } from 'pino';

/** Creates the replica's JSON logger; components derive children with a `component` field. */
export function createLogger(level: string, replicaId: string): Logger {
  return pino({ level, base: { replica: replicaId }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
