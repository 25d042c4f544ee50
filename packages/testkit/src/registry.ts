import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, makeTempDir, ManagedProcess, removeTempDir, startProcess, waitFor } from './process';

const REGISTRY_BINARY = '/usr/bin/docker-registry';
const REGISTRY_START_TIMEOUT_MS = 20_000;

export interface RegistryOptions {
  /** Path of an htpasswd file (bcrypt entries); enables Basic authentication. */
  htpasswdFile?: string;
  /** Address to listen on; default 127.0.0.1. Use a test bridge address to serve network namespaces. */
  address?: string;
  /** Directory for configuration and storage to use and keep; by default a temporary one. */
  dir?: string;
  /** Write the registry's output to this file and let it outlive the caller (for the demo). */
  logFile?: string;
  daemon?: boolean;
}

/** Debian's docker-registry (distribution v2) on loopback, storage under a temporary directory. */
export interface RegistryServer {
  /** `127.0.0.1:PORT`, the form image references use. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  storageDir: string;
  process: ManagedProcess;
  /** Stops the registry and removes its storage. */
  stop(): Promise<void>;
}

/** Starts a registry and waits until `GET /v2/` responds (200, or 401 when authentication is on). */
export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryServer> {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new Error(`docker-registry not found at ${REGISTRY_BINARY}: install the Debian package docker-registry (see .ci/run)`);
  }
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? makeTempDir('registry');
  mkdirSync(dir, { recursive: true });
  const port = await findFreePort();
  const host = `${options.address ?? '127.0.0.1'}:${port}`;
  const auth = options.htpasswdFile
    ? `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${options.htpasswdFile}\n`
    : '';
  const config =
    'version: 0.1\n' +
    'log:\n  level: error\n' +
    `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\n` +
    `http:\n  addr: ${host}\n` +
    auth;
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, config);
  const child = startProcess(REGISTRY_BINARY, ['serve', configPath], { logFile: options.logFile, daemon: options.daemon });

  const url = `http://${host}`;
  const stop = async () => {
    await child.stop();
    if (ownsDir) removeTempDir(dir);
  };
  try {
    await waitFor(async () => {
      const response = await fetch(`${url}/v2/`);
      return response.status === 200 || response.status === 401;
    }, {
      timeoutMs: REGISTRY_START_TIMEOUT_MS,
      describe: () => `docker-registry did not answer at ${url}/v2/ within ${REGISTRY_START_TIMEOUT_MS} ms; output:\n${child.output()}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, url, storageDir: join(dir, 'storage'), process: child, stop };
}
