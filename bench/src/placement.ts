/**
 * Placement throughput of the Berth scheduler.
 *
 * Starts a real etcd and one scheduler process, connects simulated agents (real gRPC streams, no
 * containers), then writes units into the scheduler's etcd layout in transactions of 100, as a
 * bulk import would, so the number measures placement rather than the HTTP API. With --via-api
 * the units are submitted with `PUT /v1/units/NAME` instead, 32 requests at a time, as berthctl
 * users would. Reports how fast the leader assigned every unit and when every agent had received
 * its complete set.
 *
 *   node bench/dist/placement.js [--agents N] [--units N] [--via-api]
 *
 * Needs etcd (Debian package etcd-server) and a built scheduler (`npx tsc -b packages/scheduler`).
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startEtcd, startProcess, waitFor } from '@berth/testkit';
import { loadUnit } from '@berth/unitfile';
import { Etcd3 } from 'etcd3';
import { SimulatedAgent } from './simulated-agent';

const DEFAULT_AGENTS = 1000;
const DEFAULT_UNITS = 10_000;
const UNITS_PER_TXN = 100;
const API_CONCURRENCY = 32;
const AGENTS_PER_WAVE = 100;
const PREFIX = '/berth';
const JOIN_TOKEN = 'bench-join-token';
const TIMEOUT_MS = 300_000;
const SCHEDULER_MAIN = join(__dirname, '..', '..', 'packages', 'scheduler', 'dist', 'main.js');
const UNIT_TEXT = [
  '[X-Fleet]',
  'Conflicts=%p@*.service',
  '',
  '[Container]',
  'Image=127.0.0.1:5000/berth/ticker:v1',
  'Memory=32M',
  'CPUs=0.05',
  '',
].join('\n');

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} expects a positive integer, got ${process.argv[index + 1]}`);
  return value;
}

/** Unit names: groups of ten instances that conflict among themselves, so placement must spread them. */
function unitName(i: number): string {
  return `svc${Math.floor(i / 10)}@${i % 10}.service`;
}

async function writeUnits(client: Etcd3, count: number): Promise<void> {
  const now = new Date().toISOString();
  for (let start = 0; start < count; start += UNITS_PER_TXN) {
    const ops = [];
    for (let i = start; i < Math.min(count, start + UNITS_PER_TXN); i++) {
      const name = unitName(i);
      const loaded = loadUnit(name, UNIT_TEXT);
      if (loaded.unit === undefined) throw new Error(`benchmark unit ${name} does not load: ${JSON.stringify(loaded.diagnostics)}`);
      const record = { name, text: UNIT_TEXT, hash: loaded.unit.hash, desiredState: 'launched', createdAt: now, updatedAt: now };
      ops.push(client.put(`${PREFIX}/units/${name}`).value(JSON.stringify(record)));
    }
    // etcd transactions need a comparison; this key never exists, so the writes always apply.
    await client.if(`${PREFIX}/bench-never-written`, 'Version', '==', 0).then(...ops).commit();
  }
}

async function submitUnits(httpUrl: string, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const name = unitName(next++);
      const response = await fetch(`${httpUrl}/v1/units/${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: UNIT_TEXT, desiredState: 'launched' }),
      });
      if (response.status !== 201) throw new Error(`PUT ${name} returned ${response.status}: ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: API_CONCURRENCY }, worker));
}

async function countAssignments(client: Etcd3): Promise<number> {
  return client.getAll().prefix(`${PREFIX}/assignments/`).count();
}

async function main(): Promise<void> {
  const agentCount = option('--agents', DEFAULT_AGENTS);
  const unitCount = option('--units', DEFAULT_UNITS);
  const viaApi = process.argv.includes('--via-api');
  const etcd = await startEtcd();
  const httpPort = await findFreePort();
  const grpcPort = await findFreePort();
  const scheduler = startProcess(process.execPath, [
    SCHEDULER_MAIN, '--etcd-endpoints', etcd.endpoint, '--prefix', PREFIX, '--join-token', JOIN_TOKEN,
    '--http-listen', `127.0.0.1:${httpPort}`, '--grpc-listen', `127.0.0.1:${grpcPort}`, '--replica-id', 'bench', '--log-level', 'warn',
  ]);
  const client = new Etcd3({ hosts: etcd.endpoint });
  const agents: SimulatedAgent[] = [];
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok, {
      timeoutMs: 20_000,
      describe: () => `scheduler did not start:\n${scheduler.output()}`,
    });

    const connectStart = Date.now();
    for (let i = 0; i < agentCount; i += AGENTS_PER_WAVE) {
      for (let j = i; j < Math.min(agentCount, i + AGENTS_PER_WAVE); j++) {
        const machineId = `bench${String(j).padStart(27, '0')}`;
        agents.push(new SimulatedAgent(`127.0.0.1:${grpcPort}`, JOIN_TOKEN, { machineId, cpus: 4, memoryBytes: 8 * 1024 ** 3 }));
      }
      await waitFor(async () => agents.every((a) => a.registered || a.failure), { timeoutMs: 60_000, describe: () => 'agents did not register' });
    }
    const failed = agents.filter((a) => a.failure);
    if (failed.length > 0) throw new Error(`${failed.length} agents failed: ${failed[0].failure}`);
    const connectMs = Date.now() - connectStart;

    const start = Date.now();
    if (viaApi) await submitUnits(`http://127.0.0.1:${httpPort}`, unitCount);
    else await writeUnits(client, unitCount);
    const writtenMs = Date.now() - start;
    let assigned = 0;
    await waitFor(async () => (assigned = await countAssignments(client)) >= unitCount, {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 20,
      describe: () => `only ${assigned} of ${unitCount} units assigned; scheduler output:\n${scheduler.output()}`,
    });
    const placedMs = Date.now() - start;
    let received = 0;
    await waitFor(async () => (received = agents.reduce((n, a) => n + a.desired.size, 0)) >= unitCount, {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 20,
      describe: () => `agents hold ${received} of ${unitCount} assignments`,
    });
    const deliveredMs = Math.max(...agents.map((a) => a.lastChangeMs)) - start;
    const perMachine = agents.map((a) => a.desired.size);

    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}`);
    console.log(`agents: ${agentCount} connected in ${connectMs} ms`);
    console.log(`units: ${unitCount} ${viaApi ? 'submitted through the HTTP API' : 'written to etcd'} in ${writtenMs} ms`);
    console.log(`placement: all ${unitCount} assigned after ${placedMs} ms = ${Math.round((unitCount / placedMs) * 1000)} placements/s`);
    console.log(`delivery: every agent had its complete set ${deliveredMs} ms after the first unit was written`);
    console.log(`spread: ${Math.min(...perMachine)} to ${Math.max(...perMachine)} units per machine`);
  } finally {
    for (const agent of agents) agent.close();
    client.close();
    await scheduler.stop();
    await etcd.stop();
  }
}

main().catch((error) => {
  console.error(`placement benchmark failed: ${(error as Error).message}`);
  process.exit(1);
});
