import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** One simulated machine: a named network namespace with an address on the lab LAN. */
export interface LabHost {
  /** Namespace name under /run/netns. */
  netns: string;
  netnsPath: string;
  /** Address on the LAN, 192.0.2.0/24 (TEST-NET-1, never routed anywhere). */
  address: string;
}

/**
 * Simulated machines joined as a LAN would join them: a bridge in a namespace of its own, and one
 * veth from it to each host namespace. Nothing is created in the caller's namespace, so the real
 * host's interfaces, routes and firewall stay untouched.
 */
export interface NetnsLab {
  tag: string;
  lanNetns: string;
  hosts: LabHost[];
  /** Deletes every namespace the lab created. Throws listing what could not be deleted. */
  destroy(): Promise<void>;
}

const LAN_PREFIX = '192.0.2';
const LAN_GATEWAY = `${LAN_PREFIX}.1`;
const COMMAND_TIMEOUT_MS = 30_000;

/** Runs a command to completion and returns stdout; throws with the command line and stderr on failure. */
export function run(command: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.code ?? error.signal}): ${stderr.trim() || stdout.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Runs a command inside the namespace at `netnsPath` and returns stdout. */
export function runIn(netnsPath: string, command: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  return run('nsenter', [`--net=${netnsPath}`, '--', command, ...args], timeoutMs);
}

/** Creates a LAN namespace with a bridge and `hostCount` host namespaces attached to it. */
export async function createNetnsLab(hostCount: number): Promise<NetnsLab> {
  const tag = randomBytes(3).toString('hex');
  const lanNetns = `berth-test-${tag}-lan`;
  const created: string[] = [];
  const hosts: LabHost[] = [];
  const destroy = async () => {
    const failures: string[] = [];
    for (const name of created.reverse()) {
      await run('ip', ['netns', 'delete', name]).catch((error: Error) => failures.push(error.message));
    }
    if (failures.length > 0) throw new Error(`lab cleanup failed: ${failures.join('; ')}`);
  };

  try {
    await run('ip', ['netns', 'add', lanNetns]);
    created.push(lanNetns);
    await run('ip', ['-n', lanNetns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', lanNetns, 'link', 'add', 'lan0', 'type', 'bridge']);
    await run('ip', ['-n', lanNetns, 'addr', 'add', `${LAN_GATEWAY}/24`, 'dev', 'lan0']);
    await run('ip', ['-n', lanNetns, 'link', 'set', 'lan0', 'up']);
    for (let index = 1; index <= hostCount; index++) {
      const host = await addHost(lanNetns, tag, index);
      created.push(host.netns);
      hosts.push(host);
      await wireHost(lanNetns, host, index);
    }
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }
  return { tag, lanNetns, hosts, destroy };
}

async function addHost(lanNetns: string, tag: string, index: number): Promise<LabHost> {
  const netns = `berth-test-${tag}-h${index}`;
  await run('ip', ['netns', 'add', netns]);
  return { netns, netnsPath: `/run/netns/${netns}`, address: `${LAN_PREFIX}.${10 + index}` };
}

async function wireHost(lanNetns: string, host: LabHost, index: number): Promise<void> {
  const port = `h${index}`;
  await run('ip', ['-n', lanNetns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
  await run('ip', ['-n', lanNetns, 'link', 'set', port, 'master', 'lan0', 'up']);
  await run('ip', ['-n', host.netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', host.netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', host.netns, 'route', 'add', 'default', 'via', LAN_GATEWAY]);
}

/** A long-running process started inside a namespace, with its output kept for failure messages. */
export interface NetnsProcess {
  child: ChildProcess;
  output(): string;
  /** Sends SIGKILL to the process (nsenter execs the command, so this is the command itself) and waits for it. */
  stop(): Promise<void>;
}

/** Starts `command` inside the namespace at `netnsPath`; the caller must stop it. */
export function startIn(netnsPath: string, command: string, args: readonly string[]): NetnsProcess {
  const child = spawn('nsenter', [`--net=${netnsPath}`, '--', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-65536));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}

const FETCH_TIMEOUT_S = 3;

/** Fetches `url` once with busybox wget from inside a namespace; throws when the request fails. */
export function fetchOnce(netnsPath: string, url: string): Promise<string> {
  // busybox 1.35's wget crashes with SIGSEGV when given -T, so coreutils timeout bounds it instead.
  return runIn(netnsPath, 'timeout', [String(FETCH_TIMEOUT_S), 'busybox', 'wget', '-q', '-O', '-', url]);
}

/**
 * Fetches `url` with busybox wget from inside a namespace, retrying a bounded number of times
 * while the server starts. Throws with the last error when every attempt failed.
 */
export async function fetchIn(netnsPath: string, url: string, attempts = 50): Promise<string> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await fetchOnce(netnsPath, url);
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw lastError;
}
