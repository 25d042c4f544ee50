import { join } from 'node:path';
import { findFreePort, ManagedProcess, startProcess, waitFor } from '@berth/testkit';

const START_TIMEOUT_MS = 20_000;
const MAIN_JS = join(__dirname, '..', 'main.js');

/** Options of a scheduler replica started for a test. */
export interface ReplicaOptions {
  etcdEndpoint: string;
  replicaId: string;
  prefix?: string;
  joinToken?: string;
  apiToken?: string;
  presenceTtlS?: number;
  leaderTtlS?: number;
  extraArgs?: string[];
  /** Readiness check; defaults to GET /healthz over plain HTTP. */
  probe?: (httpUrl: string) => Promise<boolean>;
}

/** A scheduler replica running as a child process. */
export interface Replica {
  id: string;
  httpUrl: string;
  grpcAddress: string;
  process: ManagedProcess;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash. */
  kill(): Promise<void>;
  /** GET a path of the HTTP API and parse JSON. */
  getJson<T = any>(path: string): Promise<{ status: number; body: T }>;
}

/** Starts `dist/main.js` on free loopback ports and waits until /healthz returns 200. */
export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const httpPort = await findFreePort();
  const grpcPort = await findFreePort();
  const args = [
    MAIN_JS,
    '--etcd-endpoints', options.etcdEndpoint,
    '--prefix', options.prefix ?? '/berth',
    '--http-listen', `127.0.0.1:${httpPort}`,
    '--grpc-listen', `127.0.0.1:${grpcPort}`,
    '--replica-id', options.replicaId,
    '--presence-ttl', String(options.presenceTtlS ?? 15),
    '--leader-ttl', String(options.leaderTtlS ?? 10),
    ...(options.joinToken ? ['--join-token', options.joinToken] : []),
    ...(options.apiToken ? ['--api-token', options.apiToken] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = startProcess(process.execPath, args);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const exited = () => child.child.exitCode !== null || child.child.signalCode !== null;
  try {
    const probe = options.probe ?? (async (url: string) => (await fetch(`${url}/healthz`)).ok);
    await waitFor(async () => !exited() && (await probe(httpUrl)), {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 50,
      describe: () => `scheduler ${options.replicaId} did not become healthy at ${httpUrl}; output:\n${child.output()}`,
    });
    if (exited()) throw new Error(`scheduler ${options.replicaId} exited; output:\n${child.output()}`);
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
  return {
    id: options.replicaId,
    httpUrl,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    process: child,
    stop: () => child.stop(5000),
    kill: async () => {
      child.child.kill('SIGKILL');
      await child.stop(0);
    },
    getJson: async (path: string) => {
      const response = await fetch(`${httpUrl}${path}`);
      return { status: response.status, body: (await response.json()) as any };
    },
  };
}

/** Sends a JSON request to a replica and returns status and parsed body (null for empty bodies). */
export async function requestJson(
  replica: Replica,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${replica.httpUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}
