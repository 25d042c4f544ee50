import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdServer, findFreePort, ManagedProcess, startEtcd, startProcess, waitFor } from '@berth/testkit';

/** The compiled scheduler; the root build (`npm run build`) produces it. */
const SCHEDULER_MAIN = join(__dirname, '..', '..', '..', 'scheduler', 'dist', 'main.js');
const SCHEDULER_START_TIMEOUT_MS = 30_000;

/** A real etcd and one real scheduler replica on loopback, for end-to-end CLI tests. */
export interface SchedulerCluster {
  etcd: EtcdServer;
  scheduler: ManagedProcess;
  /** Base URL of the HTTP API, for `--endpoint`. */
  endpoint: string;
  /** `host:port` of the agent gateway. */
  gateway: string;
  joinToken: string;
  apiToken: string;
  stop(): Promise<void>;
}

/**
 * Starts etcd and a scheduler with join and API tokens, and waits until the scheduler is the
 * leader. Throws with the scheduler's output when it is not built or does not become ready.
 */
export async function startSchedulerCluster(): Promise<SchedulerCluster> {
  if (!existsSync(SCHEDULER_MAIN)) {
    throw new Error(`scheduler not built at ${SCHEDULER_MAIN}: run "npm run build" at the repository root first`);
  }
  const etcd = await startEtcd();
  const httpPort = await findFreePort();
  const grpcPort = await findFreePort();
  const joinToken = 'cli-test-join-token';
  const apiToken = 'cli-test-api-token';
  const scheduler = startProcess(process.execPath, [
    SCHEDULER_MAIN,
    '--etcd-endpoints', etcd.endpoint,
    '--prefix', '/berth-cli-test',
    '--http-listen', `127.0.0.1:${httpPort}`,
    '--grpc-listen', `127.0.0.1:${grpcPort}`,
    '--join-token', joinToken,
    '--api-token', apiToken,
    '--replica-id', 'cli-test',
    '--log-level', 'warn',
  ]);
  const endpoint = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    await scheduler.stop();
    await etcd.stop();
  };

  try {
    await waitFor(async () => {
      const response = await fetch(`${endpoint}/healthz`);
      const health = (await response.json()) as { status?: string; leader?: boolean };
      return response.ok && health.status === 'ok' && health.leader === true;
    }, {
      timeoutMs: SCHEDULER_START_TIMEOUT_MS,
      describe: () => `scheduler did not become leader at ${endpoint} within ${SCHEDULER_START_TIMEOUT_MS} ms; output:\n${scheduler.output()}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { etcd, scheduler, endpoint, gateway: `127.0.0.1:${grpcPort}`, joinToken, apiToken, stop };
}
