import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';

export const DEFAULT_HTTP_LISTEN = '127.0.0.1:7070';
// Agents dial in from other hosts, so the gateway listens on every address by default. The HTTP
// API stays on loopback because it carries operator writes.
export const DEFAULT_GRPC_LISTEN = '0.0.0.0:7071';
export const DEFAULT_PREFIX = '/berth';
export const DEFAULT_PRESENCE_TTL_S = 15;
export const DEFAULT_LEADER_TTL_S = 10;

/** Settings of one scheduler replica, from flags and BERTH_* environment variables. */
export interface SchedulerConfig {
  etcdEndpoints: string[];
  /** Key prefix without a trailing slash, such as `/berth`. */
  prefix: string;
  httpListen: { host: string; port: number };
  grpcListen: { host: string; port: number };
  /** Join token agents must present; empty disables the check (only for tests on loopback). */
  joinToken: string;
  /** Token required for API writes; empty leaves writes open. */
  apiToken: string;
  tls?: { cert: Buffer; key: Buffer };
  presenceTtlS: number;
  leaderTtlS: number;
  replicaId: string;
  logLevel: string;
}

/** Parses `host:port`; throws commander's InvalidArgumentError naming the value. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new CommanderInvalidArgument(`expected HOST:PORT such as 127.0.0.1:7070, got "${value}"`);
  return { host: match[1].replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

function parseSeconds(option: string, value: string): number {
  const n = Number(value);
  // etcd leases have whole-second TTLs, and below 2 s a lease can expire between keep-alives.
  if (!Number.isInteger(n) || n < 2) throw new CommanderInvalidArgument(`${option} expects whole seconds of at least 2, got "${value}"`);
  return n;
}

function readToken(value: string): string {
  // A token may be given inline or as @FILE so it stays out of the process list.
  if (!value.startsWith('@')) return value;
  return readFileSync(value.slice(1), 'utf8').trim();
}

/** Builds the command line; options fall back to the named environment variables. */
export function buildCommand(): Command {
  return new Command('berth-scheduler')
    .description('Berth scheduler: desired state in etcd, placement, agent gateway and HTTP API')
    .addOption(new Option('--etcd-endpoints <urls>', 'comma-separated etcd client URLs').env('BERTH_ETCD_ENDPOINTS').default('http://127.0.0.1:2379'))
    .addOption(new Option('--prefix <key>', 'etcd key prefix for all Berth state').env('BERTH_PREFIX').default(DEFAULT_PREFIX))
    .addOption(new Option('--http-listen <host:port>', 'HTTP API address').env('BERTH_HTTP_LISTEN').default(DEFAULT_HTTP_LISTEN))
    .addOption(new Option('--grpc-listen <host:port>', 'agent gateway (gRPC) address').env('BERTH_GRPC_LISTEN').default(DEFAULT_GRPC_LISTEN))
    .addOption(new Option('--join-token <token|@file>', 'token agents must present').env('BERTH_JOIN_TOKEN'))
    .addOption(new Option('--api-token <token|@file>', 'token required for API writes').env('BERTH_API_TOKEN'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate for both listeners').env('BERTH_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for both listeners').env('BERTH_TLS_KEY'))
    .addOption(new Option('--presence-ttl <seconds>', 'seconds without heartbeat before a machine expires').env('BERTH_PRESENCE_TTL').default(String(DEFAULT_PRESENCE_TTL_S)))
    .addOption(new Option('--leader-ttl <seconds>', 'TTL of the leader lease').env('BERTH_LEADER_TTL').default(String(DEFAULT_LEADER_TTL_S)))
    .addOption(new Option('--replica-id <id>', 'name of this replica (default: host name and pid)').env('BERTH_REPLICA_ID'))
    .addOption(new Option('--log-level <level>', 'pino log level').env('BERTH_LOG_LEVEL').default('info'));
}

/** Parses argv into a config; throws with the offending option named. */
export function parseConfig(argv: string[]): SchedulerConfig {
  // Errors are thrown and printed once by the caller, so commander's own error output is muted.
  const command = buildCommand().exitOverride().configureOutput({ writeErr: () => undefined });
  command.parse(argv, { from: 'user' });
  const o = command.opts();
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new CommanderInvalidArgument('--tls-cert and --tls-key must be given together');
  }
  return {
    etcdEndpoints: String(o.etcdEndpoints).split(',').map((s) => s.trim()).filter(Boolean),
    prefix: String(o.prefix).replace(/\/+$/, '') || DEFAULT_PREFIX,
    httpListen: parseListen(String(o.httpListen)),
    grpcListen: parseListen(String(o.grpcListen)),
    joinToken: o.joinToken ? readToken(String(o.joinToken)) : '',
    apiToken: o.apiToken ? readToken(String(o.apiToken)) : '',
    tls: o.tlsCert ? { cert: readFileSync(String(o.tlsCert)), key: readFileSync(String(o.tlsKey)) } : undefined,
    presenceTtlS: parseSeconds('--presence-ttl', String(o.presenceTtl)),
    leaderTtlS: parseSeconds('--leader-ttl', String(o.leaderTtl)),
    replicaId: o.replicaId ? String(o.replicaId) : `${hostname()}-${process.pid}`,
    logLevel: String(o.logLevel),
  };
}
