import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, CommandOutcome, REPO_ROOT, BERTHCTL_MAIN } from '../harness/cluster';
import { buildAndPushImage, tickerImage, webImage } from '../harness/images';
import { DemoState, isAlive, readDemoState, writeDemoState } from './demo-state';

const HOST_METADATA = ['role=web', 'role=web', 'role=db'];
const DEMO_SUBNET_INDEX = 77;
const WEB_PORT = 8080;
/** Registry host written in the example units; the demo substitutes its own. */
const EXAMPLE_REGISTRY = '127.0.0.1:5000';
const EXAMPLE_DB_DIR = '/var/lib/berth/db';

/** Starts the demo cluster, runs the scenario, prints how to use it, and leaves it running. */
export async function demoUp(dir: string): Promise<void> {
  const previous = readDemoState(dir);
  if (previous && previous.processes.some((entry) => isAlive(entry.pid))) {
    throw new Error(`a demo cluster is already running from ${dir}; stop it with "npm run demo:down" first`);
  }

  step('Starting etcd, docker-registry, 3 hosts (network namespaces) and 2 scheduler replicas');
  const cluster = await Cluster.start({
    dir,
    hostMetadata: HOST_METADATA,
    schedulerCount: 2,
    daemon: true,
    subnetIndex: DEMO_SUBNET_INDEX,
    tag: 'demo',
  });
  writeDemoState(stateOf(cluster, dir));
  for (const agent of cluster.agents) {
    console.log(`  host ${agent.index + 1}: netns ${agent.netns}, address ${agent.address}, metadata ${agent.metadata}`);
  }

  step('Building images with umoci and busybox-static, pushing them with skopeo');
  for (const image of [webImage('v1'), webImage('v2'), tickerImage('v1')]) {
    console.log(`  pushed ${await buildAndPushImage(cluster.registryHost, image)}`);
  }

  const unitsDir = writeDemoUnits(dir, cluster.registryHost);
  const run = (args: string[]) => berthctl(cluster, args);

  await run(['list-machines']);
  await run(['submit', join(unitsDir, 'web@.service')]);
  await run(['start', '--block-attempts', '30', 'web@1', 'web@2', 'web@3']);
  await run(['start', '--block-attempts', '30', join(unitsDir, 'node-monitor.service')]);
  await run(['start', '--block-attempts', '30', join(unitsDir, 'db.service'), join(unitsDir, 'db-backup.service')]);
  await run(['list-unit-files']);
  await run(['list-units']);
  await run(['status', 'web@1.service']);
  await run(['journal', '-n', '5', 'web@1.service']);

  step('Fetching each web instance through its published port');
  for (const agent of cluster.agents.filter((candidate) => candidate.metadata === 'role=web')) {
    const url = `http://${agent.address}:${WEB_PORT}/`;
    const page = await fetch(url).then((response) => response.text()).catch((error: Error) => `failed: ${error.message}`);
    console.log(`  GET ${url} -> ${page.trim()}`);
  }

  printSummary(cluster, dir);
}

function stateOf(cluster: Cluster, dir: string): DemoState {
  const processes = [
    ...cluster.agents.map((agent) => ({ name: `agent ${agent.index + 1}`, pid: agent.process!.pid })),
    ...cluster.schedulers.map((scheduler) => ({ name: scheduler.replicaId, pid: scheduler.process.pid })),
    { name: 'docker-registry', pid: cluster.registry.process.pid },
    { name: 'etcd', pid: cluster.etcd.process.pid },
  ];
  return {
    dir,
    bridge: cluster.network.bridge,
    bridgePorts: cluster.network.hosts.map((host) => host.bridgePort),
    netns: cluster.network.hosts.map((host) => host.netns),
    processes,
    agentRunDirs: cluster.agents.map((agent) => agent.runDir),
    apiEndpoint: cluster.schedulers[0].httpEndpoint,
    apiToken: cluster.apiToken,
  };
}

/** Copies the example units, pointing them at the demo registry and a data directory under `dir`. */
function writeDemoUnits(dir: string, registryHost: string): string {
  const source = join(REPO_ROOT, 'units');
  const target = join(dir, 'units');
  mkdirSync(target, { recursive: true });
  mkdirSync(join(dir, 'db-data'), { recursive: true });
  for (const name of readdirSync(source)) {
    const text = readFileSync(join(source, name), 'utf8')
      .split(EXAMPLE_REGISTRY).join(registryHost)
      .split(EXAMPLE_DB_DIR).join(join(dir, 'db-data'));
    writeFileSync(join(target, name), text);
  }
  return target;
}

async function berthctl(cluster: Cluster, args: string[]): Promise<CommandOutcome> {
  step(`berthctl ${args.map((arg) => arg.replace(/^\/.*\//, '')).join(' ')}`);
  const outcome = await cluster.berthctl(args);
  if (outcome.stdout) process.stdout.write(indent(outcome.stdout));
  if (outcome.stderr) process.stdout.write(indent(outcome.stderr));
  if (outcome.code !== 0) console.log(`  (exit status ${outcome.code})`);
  return outcome;
}

function step(title: string): void {
  console.log(`\n$ ${title}`);
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ').replace(/ +$/gm, '');
}

function printSummary(cluster: Cluster, dir: string): void {
  console.log(`
The demo cluster keeps running. To use it from this shell:

  export BERTHCTL_ENDPOINT=${cluster.schedulers.map((scheduler) => scheduler.httpEndpoint).join(',')}
  export BERTHCTL_TOKEN=${cluster.apiToken}
  alias berthctl='node ${BERTHCTL_MAIN}'
  berthctl list-units

Hosts: ${cluster.agents.map((agent) => `${agent.netns} (${agent.address})`).join(', ')}.
Enter one with: nsenter --net=/run/netns/${cluster.agents[0].netns} sh
Logs and state: ${dir}
Tear everything down: npm run demo:down`);
}
