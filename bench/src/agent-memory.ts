/**
 * Agent memory benchmark: runs the real scheduler and one agent with 50 running containers, then
 * measures the agent's resident memory and the memory of the per-container helper process (the
 * runtime's monitor, which waits for the container and records its exit). RSS counts shared
 * pages in full, so PSS (proportional set size, from /proc/PID/smaps_rollup) is printed beside it.
 *
 *   node bench/dist/agent-memory.js [--containers N]
 *
 * It also prints the agent's RSS split into anonymous and file-backed pages, and the agent's CPU
 * time to start the containers and per second while settling. For child processes it prints the
 * CPU time of those it waited for until then (the image pull process, ip, nft) and the memory of
 * those it keeps (the runtime's helper server).
 *
 * Environment for investigations: BENCH_SETTLE_MS (wait before sampling, default 60000),
 * BENCH_NODE_FLAGS (extra node flags for the agent, such as --expose-gc or --trace-gc),
 * BENCH_AGENT_LOG_LEVEL (print the agent's log at that level), BENCH_AGENT_MAIN (the agent's
 * main.js, to measure another build of the agent, such as one from an older commit) and
 * BENCH_MAPPINGS=1 (print the agent's largest memory mappings at the first sample).
 *
 * The agent runs in its own network namespace behind a test bridge, as in the agent's integration
 * tests. Needs root, etcd, docker-registry, umoci, skopeo, iproute2, nftables and util-linux.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createOciLayout, findFreePort, makeTempDir, ManagedProcess, newImage, pushImage, removeOciLayout, removeTempDir,
  runCommand, startEtcd, startProcess, startRegistry, waitFor, writeBusyboxTree,
} from '@berth/testkit';

const REPO_ROOT = resolve(__dirname, '..', '..');
const SCHEDULER_MAIN = join(REPO_ROOT, 'packages', 'scheduler', 'dist', 'main.js');
const AGENT_MAIN = process.env.BENCH_AGENT_MAIN ?? join(REPO_ROOT, 'packages', 'agent', 'dist', 'main.js');
/** Mappings that BENCH_MAPPINGS=1 prints. */
const MAPPINGS_SHOWN = 25;
const DEFAULT_CONTAINERS = 50;
/** Samples of the agent's memory once every container runs, one per second. */
const SAMPLES = 10;
const START_TIMEOUT_MS = 30_000;
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 60_000);
const RUNNING_TIMEOUT_MS = 300_000;

interface Memory {
  rssKiB: number;
  pssKiB: number;
  /** Private memory: the V8 heap, malloc's heap, thread stacks. */
  anonKiB: number;
  /** Pages of mapped files (the node binary, shared libraries), shared with other processes. */
  fileKiB: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKiB: field(status, 'VmRSS'), pssKiB: field(rollup, 'Pss'), anonKiB: field(status, 'RssAnon'), fileKiB: field(status, 'RssFile') };
}

/** Time the process has spent on a CPU so far, in milliseconds (first field of schedstat, in ns). */
function cpuMsOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

/** Returns the process's mappings with the largest RSS, from /proc/PID/smaps, one line each. */
function largestMappings(pid: number): string[] {
  const mappings: Array<{ line: string; rssKiB: number; anonKiB: number }> = [];
  for (const block of readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [header = ''] = block.split('\n', 1);
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(block)?.[1] ?? 0);
    mappings.push({ line: header, rssKiB: field('Rss'), anonKiB: field('Anonymous') });
  }
  return mappings
    .sort((a, b) => b.rssKiB - a.rssKiB)
    .slice(0, MAPPINGS_SHOWN)
    .map((mapping) => `${String(mapping.rssKiB).padStart(7)} KiB RSS ${String(mapping.anonKiB).padStart(7)} KiB anonymous  ${mapping.line}`);
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on Linux x86-64). */
const CLOCK_TICKS_PER_S = 100;

/**
 * Returns the CPU time, in milliseconds, of the child processes that `pid` has waited for, such
 * as the image pull process and the ip and nft commands of the agent (cutime and cstime in
 * /proc/PID/stat).
 */
function reapedChildrenCpuMs(pid: number): number {
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_S;
}

/** Returns the direct child processes of `pid` with their command names (`comm`). */
function childProcesses(pid: number): Array<{ pid: number; name: string }> {
  const children: Array<{ pid: number; name: string }> = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    for (const child of text === '' ? [] : text.split(' ').map(Number)) {
      children.push({ pid: child, name: readFileSync(`/proc/${child}/comm`, 'utf8').trim() });
    }
  }
  return children;
}

function summary(values: number[]): string {
  if (values.length === 0) return 'none';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median} KiB, max ${sorted[sorted.length - 1]} KiB`;
}

/** A network namespace for the agent behind a bridge in the root namespace. */
class Lab {
  readonly tag = randomBytes(3).toString('hex');
  readonly netns = `berth-bm-${this.tag}`;
  readonly bridge = `bbm${this.tag}`;
  readonly subnetIndex = 100 + Math.floor(Math.random() * 150);
  readonly gateway = `10.215.${this.subnetIndex}.1`;
  readonly hostAddress = `10.215.${this.subnetIndex}.11`;

  async create(): Promise<void> {
    const ip = (args: string[]) => runCommand('ip', args);
    await ip(['link', 'add', this.bridge, 'type', 'bridge']);
    await ip(['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    await ip(['link', 'set', this.bridge, 'up']);
    await ip(['netns', 'add', this.netns]);
    await ip(['link', 'add', `vbm${this.tag}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
    await ip(['link', 'set', `vbm${this.tag}`, 'master', this.bridge, 'up']);
    await ip(['-n', this.netns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', this.netns, 'addr', 'add', `${this.hostAddress}/24`, 'dev', 'eth0']);
    await ip(['-n', this.netns, 'link', 'set', 'eth0', 'up']);
  }

  async destroy(): Promise<void> {
    await runCommand('ip', ['link', 'delete', `vbm${this.tag}`]).catch(() => undefined);
    await runCommand('ip', ['netns', 'delete', this.netns]).catch(() => undefined);
    await runCommand('ip', ['link', 'delete', this.bridge]).catch(() => undefined);
  }
}

async function pushSleepImage(registryHost: string): Promise<string> {
  const layout = await createOciLayout();
  try {
    await newImage(layout, 'sleep', (rootfs) => writeBusyboxTree(rootfs));
    await runCommand('umoci', ['config', '--image', `${layout.dir}:sleep`, '--config.env', 'PATH=/bin', '--config.cmd', '/bin/sleep', '--config.cmd', '1000000']);
    const reference = `${registryHost}/bench/sleep:1`;
    await pushImage(layout, 'sleep', reference);
    return reference;
  } finally {
    removeOciLayout(layout);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { containers: { type: 'string', default: String(DEFAULT_CONTAINERS) } } });
  const count = Number(values.containers);
  const dir = makeTempDir('bench-agent-memory');
  const lab = new Lab();
  const processes: ManagedProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let drainRunDir: string | undefined;
  try {
    await lab.create();
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const registry = await startRegistry({ address: lab.gateway });
    cleanups.push(() => registry.stop());
    const joinToken = randomBytes(16).toString('hex');
    const apiToken = randomBytes(16).toString('hex');
    const httpEndpoint = `http://127.0.0.1:${await findFreePort()}`;
    const grpcEndpoint = `${lab.gateway}:${await findFreePort()}`;

    const scheduler = startProcess(process.execPath, [SCHEDULER_MAIN, '--etcd-endpoints', etcd.endpoint, '--http-listen', httpEndpoint.slice('http://'.length),
      '--grpc-listen', grpcEndpoint, '--join-token', joinToken, '--api-token', apiToken, '--log-level', 'warn']);
    processes.push(scheduler);
    await waitFor(async () => (await fetch(`${httpEndpoint}/healthz`)).ok, { timeoutMs: START_TIMEOUT_MS, describe: () => `scheduler did not start:\n${scheduler.output()}` });

    const runDir = join(dir, 'run');
    const agent = startProcess('nsenter', [`--net=/run/netns/${lab.netns}`, '--', process.execPath, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), AGENT_MAIN,
      '--schedulers', grpcEndpoint, '--join-token', joinToken, '--machine-id', randomBytes(16).toString('hex'),
      '--public-address', lab.hostAddress, '--state-dir', join(dir, 'state'), '--run-dir', runDir,
      '--container-subnet', `10.232.${lab.subnetIndex}.0/24`, '--insecure-registries', registry.host, '--log-level', process.env.BENCH_AGENT_LOG_LEVEL ?? 'warn']);
    processes.push(agent);
    drainRunDir = runDir;

    const image = await pushSleepImage(registry.host);
    const text = `[Container]\nImage=${image}\n`;
    for (let index = 1; index <= count; index++) {
      const response = await fetch(`${httpEndpoint}/v1/units/sleep-${index}.service`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
        body: JSON.stringify({ text, desiredState: 'launched' }),
      });
      if (!response.ok) throw new Error(`PUT sleep-${index}.service returned ${response.status}: ${await response.text()}`);
    }
    let running = 0;
    await waitFor(async () => {
      const body = (await (await fetch(`${httpEndpoint}/v1/state`)).json()) as { states: Array<{ subState: string }> };
      running = body.states.filter((state) => state.subState === 'running').length;
      return running === count;
    }, { timeoutMs: RUNNING_TIMEOUT_MS, intervalMs: 500, describe: () => `${running} of ${count} units running; agent output:\n${agent.output().slice(-4000)}` });

    // Let the start-up burst (pull, 50 creations) be collected, as it is on a host that runs for days.
    const startupCpuMs = cpuMsOf(agent.child.pid!);
    const startupChildrenCpuMs = reapedChildrenCpuMs(agent.child.pid!);
    await new Promise((resolveSettle) => setTimeout(resolveSettle, SETTLE_MS));
    const settleCpuMs = cpuMsOf(agent.child.pid!) - startupCpuMs;
    const status = await runCommand(process.execPath, [AGENT_MAIN, 'status', '--run-dir', runDir]);
    console.log(`agent heap: ${JSON.stringify((JSON.parse(status.stdout) as { memory: unknown }).memory)}`);
    const agentSamples: Memory[] = [];
    if (process.env.BENCH_MAPPINGS === '1') console.log(`agent mappings by RSS:\n${largestMappings(agent.child.pid!).join('\n')}`);
    for (let sample = 0; sample < SAMPLES; sample++) {
      agentSamples.push(memoryOf(agent.child.pid!));
      await new Promise((resolveSleep) => setTimeout(resolveSleep, 1000));
    }
    // Per-host helpers the agent keeps running, such as the runtime's helper server.
    const helpers = childProcesses(agent.child.pid!).map((child) => ({ ...child, memory: memoryOf(child.pid) }));
    const monitors: Memory[] = [];
    const programs: Memory[] = [];
    const runtimeDir = join(runDir, 'runtime');
    // The runtime keeps its own caches in dot directories beside the containers' directories.
    const ids = existsSync(runtimeDir) ? readdirSync(runtimeDir).filter((name) => !name.startsWith('.')) : [];
    for (const id of ids) {
      const record = JSON.parse(readFileSync(join(runtimeDir, id, 'process.json'), 'utf8')) as { pid: number; monitorPid: number };
      monitors.push(memoryOf(record.monitorPid));
      programs.push(memoryOf(record.pid));
    }

    console.log(`containers running: ${count} (busybox sleep, bridge network)`);
    console.log(`agent RSS: ${summary(agentSamples.map((m) => m.rssKiB))}; PSS: ${summary(agentSamples.map((m) => m.pssKiB))}`);
    console.log(`agent RSS anonymous: ${summary(agentSamples.map((m) => m.anonKiB))}; file-backed: ${summary(agentSamples.map((m) => m.fileKiB))}`);
    console.log(`CPU time of the agent's exited child processes (pull process, ip, nft) until all ${count} ran: ${Math.round(startupChildrenCpuMs)} ms`);
    console.log(`agent CPU time: ${Math.round(startupCpuMs)} ms until all ${count} ran; ${SETTLE_MS > 0 ? (settleCpuMs / (SETTLE_MS / 1000)).toFixed(1) : '-'} ms per second while settling`);
    for (const helper of helpers) console.log(`agent child process ${helper.name} (pid ${helper.pid}) RSS: ${helper.memory.rssKiB} KiB; PSS: ${helper.memory.pssKiB} KiB`);
    console.log(`runtime monitor per container (${monitors.length}) RSS: ${summary(monitors.map((m) => m.rssKiB))}; PSS: ${summary(monitors.map((m) => m.pssKiB))}`);
    console.log(`container program (busybox sleep, not a helper) (${programs.length}) RSS: ${summary(programs.map((m) => m.rssKiB))}; PSS: ${summary(programs.map((m) => m.pssKiB))}`);

    if (process.env.BENCH_AGENT_LOG_LEVEL) console.log(agent.output().slice(-20000));
  } finally {
    // Drain removes every container, mount, cgroup and veth before the agent exits, also after a
    // failed measurement, because stopping the agent alone would leave the containers running.
    if (drainRunDir) await drainAgent(drainRunDir);
    for (const child of processes.reverse()) await child.stop(15_000).catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await lab.destroy();
    try {
      removeTempDir(dir);
    } catch (error) {
      console.error(`bench/agent-memory: could not remove ${dir}: ${(error as Error).message}`);
    }
  }
}

async function drainAgent(runDir: string): Promise<void> {
  try {
    await runCommand(process.execPath, [AGENT_MAIN, 'drain', '--run-dir', runDir], { timeoutMs: 300_000 });
  } catch (error) {
    console.error(`bench/agent-memory: drain failed, containers may be left under ${runDir}: ${(error as Error).message}`);
  }
}

main().catch((error: Error) => {
  console.error(`bench/agent-memory: ${error.message}`);
  process.exitCode = 1;
});
