/**
 * Added latency of a published port against a direct connection to the container address.
 *
 * The benchmark builds a lab of two simulated hosts: network namespaces joined by a bridge in a
 * third one. HostNetwork runs inside host 1 and sets up a container with `PublishPort=18080:8080`,
 * whose namespace runs a TCP echo server. Clients on host 2 (another machine) and on host 1 itself
 * connect once through the published port and once directly to the container address. Nothing
 * is created in the namespace the benchmark is started from.
 *
 *   node bench/dist/port-latency.js [--connections N] [--echoes N]
 *
 * Needs root, iproute2, nftables and util-linux.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsLab, LabHost, NetnsLab, run, runIn, startIn } from '@berth/runtime-native/dist/network/test-support/netns-lab';

const CONTAINER_PORT = 8080;
const PUBLISHED_PORT = 18080;
const CONTAINER_SUBNET = '10.99.0.0/24';
const DEFAULT_CONNECTIONS = 2000;
const DEFAULT_ECHOES = 5000;
const WARMUP_ROUNDS = 200;
const PASSES = 5;
const MESSAGE = Buffer.alloc(32, 0x61);
const SERVER_READY_ATTEMPTS = 100;

/** Latency samples of one path, in microseconds. */
interface PathResult {
  /** TCP connect plus the first echo on a new connection: includes NAT set-up for published ports. */
  connectUs: number[];
  /** One echo on an established connection. */
  echoUs: number[];
}

function elapsedUs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

function echoOnce(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received >= MESSAGE.length) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(MESSAGE);
  });
}

function openSocket(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Client role: measures `connections` new connections and `echoes` echoes on one connection. */
async function measure(host: string, port: number, connections: number, echoes: number): Promise<PathResult> {
  const result: PathResult = { connectUs: [], echoUs: [] };
  for (let round = 0; round < WARMUP_ROUNDS + connections; round++) {
    const start = process.hrtime.bigint();
    const socket = await openSocket(host, port);
    await echoOnce(socket);
    const us = elapsedUs(start);
    socket.destroy();
    if (round >= WARMUP_ROUNDS) result.connectUs.push(us);
  }
  const socket = await openSocket(host, port);
  for (let round = 0; round < WARMUP_ROUNDS + echoes; round++) {
    const start = process.hrtime.bigint();
    await echoOnce(socket);
    if (round >= WARMUP_ROUNDS) result.echoUs.push(elapsedUs(start));
  }
  socket.destroy();
  return result;
}

/** Server role: echoes every byte back. Runs until killed. */
function serve(port: number): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.pipe(socket);
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write('listening\n'));
}

function percentile(samples: number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}

/** Runs one HostNetwork call through the runtime's driver in the host namespace. */
async function driveHostNetwork(host: LabHost, request: object): Promise<Record<string, unknown>> {
  const driver = require.resolve('@berth/runtime-native/dist/network/test-support/host-network-driver.js');
  const stdout = await runIn(host.netnsPath, process.execPath, [driver, JSON.stringify(request)]);
  const response = JSON.parse(stdout) as { ok: boolean; result?: Record<string, unknown>; error?: { message: string } };
  if (!response.ok) throw new Error(`HostNetwork call failed in ${host.netns}: ${response.error?.message}`);
  return response.result ?? {};
}

/** Starts this script as a client inside `netnsPath` and returns its samples. */
async function measureIn(netnsPath: string, host: string, port: number, counts: { connections: number; echoes: number }): Promise<PathResult> {
  const stdout = await runIn(netnsPath, process.execPath, [__filename, 'measure', host, String(port), String(counts.connections), String(counts.echoes)], 600_000);
  return JSON.parse(stdout) as PathResult;
}

async function waitForServer(netnsPath: string, address: string): Promise<void> {
  for (let attempt = 0; attempt < SERVER_READY_ATTEMPTS; attempt++) {
    try {
      await measureIn(netnsPath, address, CONTAINER_PORT, { connections: 1, echoes: 1 });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`echo server at ${address}:${CONTAINER_PORT} did not respond`);
}

function countOption(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} expects a positive integer, got ${process.argv[index + 1]}`);
  return value;
}

function report(rows: Array<{ path: string; result: PathResult }>): void {
  const line = (cells: string[]) => process.stdout.write(`| ${cells.join(' | ')} |\n`);
  line(['path', 'connect+echo p50 (µs)', 'p99 (µs)', 'echo p50 (µs)', 'p99 (µs)']);
  line(['---', '---:', '---:', '---:', '---:']);
  for (const { path, result } of rows) {
    line([path, ...[result.connectUs, result.echoUs].flatMap((samples) => [percentile(samples, 0.5), percentile(samples, 0.99)].map((us) => us.toFixed(0)))]);
  }
}

async function orchestrate(): Promise<void> {
  const counts = { connections: countOption('connections', DEFAULT_CONNECTIONS), echoes: countOption('echoes', DEFAULT_ECHOES) };
  const root = mkdtempSync(join(tmpdir(), 'berth-bench-ports-'));
  let lab: NetnsLab | undefined;
  let options: object | undefined;
  const server: { stop(): Promise<void> }[] = [];
  try {
    lab = await createNetnsLab(2);
    const [hostA, hostB] = lab.hosts as [LabHost, LabHost];
    options = { stateDir: join(root, 'state'), runDir: join(root, 'run'), subnet: CONTAINER_SUBNET };
    const publish = [{ hostIp: '', hostPort: PUBLISHED_PORT, containerPort: CONTAINER_PORT, protocol: 'tcp' }];
    const container = await driveHostNetwork(hostA, { op: 'setup', options, containerId: 'bench', request: { mode: 'bridge', publishPorts: publish } });
    const address = String(container.address);
    const netnsPath = String(container.netnsPath);
    // Host 2 reaches the container subnet through host 1, as a LAN route would, so the direct path
    // crosses the same devices as the published one and differs only by DNAT.
    await run('ip', ['-n', hostB.netns, 'route', 'add', CONTAINER_SUBNET, 'via', hostA.address]);
    server.push(startIn(netnsPath, process.execPath, [__filename, 'serve', String(CONTAINER_PORT)]));
    await waitForServer(hostA.netnsPath, address);

    process.stdout.write(`port latency: ${counts.connections} connections and ${counts.echoes} echoes of ${MESSAGE.length} bytes per path in ${PASSES} passes, each after ${WARMUP_ROUNDS} warm-up rounds\n`);
    process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} CPUs, kernel ${(await run('uname', ['-r'])).trim()}\n\n`);
    const paths = [
      { path: 'other host -> container address (direct)', netnsPath: hostB.netnsPath, host: address, port: CONTAINER_PORT },
      { path: `other host -> ${hostA.address}:${PUBLISHED_PORT} (published)`, netnsPath: hostB.netnsPath, host: hostA.address, port: PUBLISHED_PORT },
      { path: 'same host -> container address (direct)', netnsPath: hostA.netnsPath, host: address, port: CONTAINER_PORT },
      { path: `same host -> 127.0.0.1:${PUBLISHED_PORT} (published)`, netnsPath: hostA.netnsPath, host: '127.0.0.1', port: PUBLISHED_PORT },
    ];
    const rows = paths.map((path) => ({ path: path.path, result: { connectUs: [], echoUs: [] } as PathResult }));
    // Paths take turns in several passes, so drift of the machine over the run (CPU frequency,
    // other load) spreads over every path instead of favouring the ones measured first.
    const perPass = { connections: Math.ceil(counts.connections / PASSES), echoes: Math.ceil(counts.echoes / PASSES) };
    for (let pass = 0; pass < PASSES; pass++) {
      for (const [index, path] of paths.entries()) {
        const samples = await measureIn(path.netnsPath, path.host, path.port, perPass);
        rows[index]?.result.connectUs.push(...samples.connectUs);
        rows[index]?.result.echoUs.push(...samples.echoUs);
      }
    }
    report(rows);
    const added = (published: PathResult, direct: PathResult, key: keyof PathResult) => (percentile(published[key], 0.5) - percentile(direct[key], 0.5)).toFixed(0);
    const [remoteDirect, remotePublished, localDirect, localPublished] = rows.map((row) => row.result) as [PathResult, PathResult, PathResult, PathResult];
    process.stdout.write(`\nadded p50 from another host: ${added(remotePublished, remoteDirect, 'connectUs')} µs per new connection, ${added(remotePublished, remoteDirect, 'echoUs')} µs per echo\n`);
    process.stdout.write(`added p50 from loopback:     ${added(localPublished, localDirect, 'connectUs')} µs per new connection, ${added(localPublished, localDirect, 'echoUs')} µs per echo\n`);
  } finally {
    for (const child of server) await child.stop();
    if (lab !== undefined && options !== undefined) {
      const [hostA] = lab.hosts as [LabHost];
      await driveHostNetwork(hostA, { op: 'teardown', options, containerId: 'bench' }).catch(() => undefined);
      await driveHostNetwork(hostA, { op: 'removeBridge', options }).catch(() => undefined);
    }
    await lab?.destroy();
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'serve') {
    serve(Number(args[0]));
    return;
  }
  if (role === 'measure') {
    const [host, port, connections, echoes] = args;
    process.stdout.write(JSON.stringify(await measure(host ?? '', Number(port), Number(connections), Number(echoes))));
    return;
  }
  await orchestrate();
}

main().catch((error: unknown) => {
  process.stderr.write(`port-latency: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
