import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, makeTempDir, ManagedProcess, removeTempDir, startProcess, waitFor } from './process';

const ETCD_BINARY = '/usr/bin/etcd';
const ETCD_START_TIMEOUT_MS = 20_000;

/** A single-member etcd cluster on loopback with its data under a temporary directory. */
export interface EtcdServer {
  /** Client URL, `http://127.0.0.1:PORT`. */
  endpoint: string;
  dataDir: string;
  process: ManagedProcess;
  /** Stops etcd and removes its data directory. */
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** Data directory to use and keep; by default a temporary one that `stop` removes. */
  dataDir?: string;
  /** Write etcd's output to this file and let it outlive the caller (for the demo). */
  logFile?: string;
  daemon?: boolean;
}

/**
 * Starts Debian's etcd on free loopback ports and waits until it serves `/health`.
 * Throws with etcd's own output when it does not start, so a test fails with the reason.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  if (!existsSync(ETCD_BINARY)) {
    throw new Error(`etcd not found at ${ETCD_BINARY}: install the Debian package etcd-server (see .ci/run)`);
  }
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? makeTempDir('etcd');
  const clientPort = await findFreePort();
  const peerPort = await findFreePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = startProcess(ETCD_BINARY, [
    '--name', 'test',
    '--data-dir', join(dataDir, 'data'),
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `test=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--log-level', 'error',
    // Tests create many short leases and watches; a small snapshot count keeps the WAL small.
    '--snapshot-count', '10000',
  ], { logFile: options.logFile, daemon: options.daemon });

  const stop = async () => {
    await child.stop();
    if (ownsDataDir) removeTempDir(dataDir);
  };
  try {
    await waitFor(async () => (await fetch(`${endpoint}/health`)).ok, {
      timeoutMs: ETCD_START_TIMEOUT_MS,
      describe: () => `etcd did not become healthy at ${endpoint} within ${ETCD_START_TIMEOUT_MS} ms; output:\n${child.output()}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, dataDir, process: child, stop };
}
