import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  EtcdServer,
  execCommand,
  findFreePort,
  ManagedProcess,
  RegistryServer,
  runCommand,
  startEtcd,
  startProcess,
  startRegistry,
  waitFor,
} from '@berth/testkit';
import { createTestHostNetwork, TestHostNetwork } from './hosts';

/** Quotes one argument for a POSIX shell. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes `start-agent.sh` and `agent.pid` beside a daemon agent's log, so an operator can bring a
 * killed agent back by hand and `demo down` still finds its process.
 */
function writeAgentScript(agent: AgentProcess, args: string[]): void {
  const hostDir = dirname(agent.logFile);
  const command = ['nsenter', ...args].map(shellQuote).join(' ');
  const script = [
    '#!/bin/sh',
    '# Starts this host\'s agent again with the settings the demo used, in the background.',
    `setsid ${command} >> ${shellQuote(agent.logFile)} 2>&1 &`,
    `echo $! > ${shellQuote(join(hostDir, 'agent.pid'))}`,
    '',
  ].join('\n');
  writeFileSync(join(hostDir, 'start-agent.sh'), script, { mode: 0o755 });
  writeFileSync(join(hostDir, 'agent.pid'), `${agent.process!.pid}\n`);
}

/** Root of the repository, from integration/dist/harness. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const SCHEDULER_MAIN = join(REPO_ROOT, 'packages', 'scheduler', 'dist', 'main.js');
export const AGENT_MAIN = join(REPO_ROOT, 'packages', 'agent', 'dist', 'main.js');
export const BERTHCTL_MAIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js');

const START_TIMEOUT_MS = 30_000;
const BERTHCTL_TIMEOUT_MS = 180_000;

export interface ClusterOptions {
  /** Every file of the cluster lives under this directory. */
  dir: string;
  /** Metadata of each host, `role=web`; its length is the number of hosts. */
  hostMetadata: string[];
  schedulerCount: number;
  /** Processes outlive the caller and log to files (the demo); tests keep them attached. */
  daemon?: boolean;
  presenceTtlS?: number;
  leaderTtlS?: number;
  /** Third octet of the host subnet 10.213.X.0/24. */
  subnetIndex?: number;
  tag?: string;
  /**
   * Also start a registry that requires Basic authentication as `username`/`password`, and give
   * the agents `agentPassword` for it (a wrong one, to test how a bad credential is reported).
   */
  authRegistry?: { username: string; password: string; agentPassword: string };
}

export interface SchedulerProcess {
  replicaId: string;
  httpEndpoint: string;
  grpcEndpoint: string;
  process: ManagedProcess;
  logFile: string;
}

export interface AgentProcess {
  index: number;
  machineId: string;
  netns: string;
  address: string;
  metadata: string;
  stateDir: string;
  runDir: string;
  logFile: string;
  process?: ManagedProcess;
}

/** Output and exit status of one berthctl run; the code is -1 when a signal ended it. */
export interface CommandOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A whole Berth cluster on one machine: etcd and docker-registry on the host bridge, scheduler
 * replicas in the root namespace, and one agent per simulated host. Agents enter only the host's
 * network namespace (`nsenter --net`), not `ip netns exec`, because the latter remounts /sys and
 * hides the cgroup hierarchy the runtime needs.
 */
export class Cluster {
  readonly joinToken = randomBytes(16).toString('hex');
  readonly apiToken = randomBytes(16).toString('hex');
  etcd!: EtcdServer;
  registry!: RegistryServer;
  authRegistry?: RegistryServer;
  network!: TestHostNetwork;
  schedulers: SchedulerProcess[] = [];
  agents: AgentProcess[] = [];

  private constructor(readonly options: ClusterOptions) {}

  /** Starts every component and waits until each agent is listed as a machine. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      await cluster.startInfrastructure();
      for (let index = 0; index < options.schedulerCount; index++) await cluster.startScheduler(index);
      await cluster.prepareAgents();
      for (const agent of cluster.agents) await cluster.startAgent(agent.index);
      await cluster.waitForMachines(cluster.agents.length);
    } catch (error) {
      const logs = cluster.describeFailures();
      await cluster.destroy().catch(() => undefined);
      throw new Error(`cluster failed to start: ${(error as Error).message}\n${logs}`);
    }
    return cluster;
  }

  get registryHost(): string {
    return this.registry.host;
  }

  /** Returns the first scheduler replica that has not been killed. */
  liveScheduler(): SchedulerProcess {
    const live = this.schedulers.find((scheduler) => scheduler.process.child.exitCode === null && scheduler.process.child.signalCode === null);
    if (!live) throw new Error('every scheduler replica of the cluster has exited');
    return live;
  }

  /** Writes a unit file under the cluster directory and returns its path. */
  writeUnit(name: string, text: string): string {
    const dir = join(this.options.dir, 'units');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** Runs berthctl against every live scheduler replica, in order, with the API token. */
  async berthctl(args: string[], options: { endpoint?: string } = {}): Promise<CommandOutcome> {
    const live = this.schedulers.filter((scheduler) => scheduler.process.child.exitCode === null && scheduler.process.child.signalCode === null);
    const env = {
      ...process.env,
      BERTHCTL_ENDPOINT: options.endpoint ?? live.map((scheduler) => scheduler.httpEndpoint).join(','),
      BERTHCTL_TOKEN: this.apiToken,
      NO_COLOR: '1',
    };
    const outcome = await execCommand(process.execPath, [BERTHCTL_MAIN, ...args], { env, timeoutMs: BERTHCTL_TIMEOUT_MS });
    return { code: outcome.code ?? -1, stdout: outcome.stdout, stderr: outcome.stderr };
  }

  /** Kills scheduler replica `index` with SIGKILL and waits for it to exit. */
  async killScheduler(index: number): Promise<void> {
    const child = this.schedulers[index].process.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts (or restarts) the agent of host `index` with its existing state directory. */
  async startAgent(index: number): Promise<void> {
    const agent = this.agents[index];
    const schedulers = this.schedulers.map((scheduler) => scheduler.grpcEndpoint).join(',');
    const args = [
      `--net=/run/netns/${agent.netns}`, '--',
      process.execPath, AGENT_MAIN,
      '--schedulers', schedulers,
      '--join-token', this.joinToken,
      '--machine-id', agent.machineId,
      '--public-address', agent.address,
      '--metadata', agent.metadata,
      '--state-dir', agent.stateDir,
      '--run-dir', agent.runDir,
      '--container-subnet', `10.231.${index + 1}.0/24`,
      '--insecure-registries', [this.registry.host, this.authRegistry?.host].filter(Boolean).join(','),
      '--log-level', 'debug',
    ];
    if (this.authRegistry) args.push('--registry-auth-file', join(this.options.dir, 'registry-auth.json'));
    agent.process = startProcess('nsenter', args, { logFile: agent.logFile, daemon: this.options.daemon });
    if (this.options.daemon) writeAgentScript(agent, args);
  }

  /** Sends `signal` to the agent of host `index` and waits for it to exit. */
  async killAgent(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const agent = this.agents[index];
    if (!agent.process) return;
    const exited = new Promise((resolveExit) => agent.process!.child.once('exit', resolveExit));
    agent.process.child.kill(signal);
    await exited;
    agent.process = undefined;
  }

  /** Stops every process, deletes the host namespaces and the cluster directory's services. */
  async destroy(): Promise<void> {
    const failures: string[] = [];
    for (const agent of this.agents) await agent.process?.stop(15_000).catch((error: Error) => failures.push(error.message));
    for (const scheduler of this.schedulers) await scheduler.process.stop().catch((error: Error) => failures.push(error.message));
    await this.network?.destroy().catch((error: Error) => failures.push(error.message));
    await this.registry?.stop().catch((error: Error) => failures.push(error.message));
    await this.authRegistry?.stop().catch((error: Error) => failures.push(error.message));
    await this.etcd?.stop().catch((error: Error) => failures.push(error.message));
    if (failures.length > 0) throw new Error(`cluster cleanup failed: ${failures.join('; ')}`);
  }

  private async startInfrastructure(): Promise<void> {
    const { dir, daemon } = this.options;
    mkdirSync(dir, { recursive: true });
    this.network = await createTestHostNetwork({
      count: this.options.hostMetadata.length,
      subnetIndex: this.options.subnetIndex,
      tag: this.options.tag,
    });
    this.etcd = await startEtcd({ dataDir: join(dir, 'etcd'), logFile: join(dir, 'etcd.log'), daemon });
    this.registry = await startRegistry({
      address: this.network.gatewayAddress,
      dir: join(dir, 'registry'),
      logFile: join(dir, 'registry.log'),
      daemon,
    });
    if (this.options.authRegistry) await this.startAuthRegistry(this.options.authRegistry);
  }

  private async startAuthRegistry(credentials: { username: string; password: string; agentPassword: string }): Promise<void> {
    const { dir, daemon } = this.options;
    const htpasswdFile = join(dir, 'htpasswd');
    const { stdout } = await runCommand('htpasswd', ['-nbB', credentials.username, credentials.password]);
    writeFileSync(htpasswdFile, stdout.trim() + '\n');
    this.authRegistry = await startRegistry({
      address: this.network.gatewayAddress,
      htpasswdFile,
      dir: join(dir, 'auth-registry'),
      logFile: join(dir, 'auth-registry.log'),
      daemon,
    });
    const auth = Buffer.from(`${credentials.username}:${credentials.agentPassword}`).toString('base64');
    const config = { auths: { [this.authRegistry.host]: { auth } } };
    writeFileSync(join(dir, 'registry-auth.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  }

  private async startScheduler(index: number): Promise<void> {
    const replicaId = `scheduler-${index + 1}`;
    const httpPort = await findFreePort();
    const grpcPort = await findFreePort();
    const httpEndpoint = `http://127.0.0.1:${httpPort}`;
    const grpcEndpoint = `${this.network.gatewayAddress}:${grpcPort}`;
    const logFile = join(this.options.dir, `${replicaId}.log`);
    const args = [
      SCHEDULER_MAIN,
      '--etcd-endpoints', this.etcd.endpoint,
      '--http-listen', `127.0.0.1:${httpPort}`,
      '--grpc-listen', grpcEndpoint,
      '--join-token', this.joinToken,
      '--api-token', this.apiToken,
      '--replica-id', replicaId,
      '--presence-ttl', String(this.options.presenceTtlS ?? 15),
      '--leader-ttl', String(this.options.leaderTtlS ?? 10),
    ];
    const child = startProcess(process.execPath, args, { logFile, daemon: this.options.daemon });
    const scheduler = { replicaId, httpEndpoint, grpcEndpoint, process: child, logFile };
    this.schedulers.push(scheduler);
    await waitFor(async () => (await fetch(`${httpEndpoint}/healthz`)).ok, {
      timeoutMs: START_TIMEOUT_MS,
      describe: () => `scheduler ${replicaId} did not answer ${httpEndpoint}/healthz; output:\n${child.output()}`,
    });
  }

  private async prepareAgents(): Promise<void> {
    this.network.hosts.forEach((host, index) => {
      const hostDir = join(this.options.dir, `host${index + 1}`);
      const agent: AgentProcess = {
        index,
        machineId: randomBytes(16).toString('hex'),
        netns: host.netns,
        address: host.address,
        metadata: this.options.hostMetadata[index],
        stateDir: join(hostDir, 'state'),
        runDir: join(hostDir, 'run'),
        logFile: join(hostDir, 'agent.log'),
      };
      mkdirSync(agent.stateDir, { recursive: true });
      mkdirSync(agent.runDir, { recursive: true });
      writeFileSync(join(hostDir, 'machine-id'), `${agent.machineId}\n`);
      this.agents.push(agent);
    });
  }

  /** Waits until the API lists `count` machines. */
  async waitForMachines(count: number): Promise<void> {
    const endpoint = this.liveScheduler().httpEndpoint;
    await waitFor(async () => {
      const response = await fetch(`${endpoint}/v1/machines`);
      const body = (await response.json()) as { machines: unknown[] };
      return body.machines.length === count;
    }, {
      timeoutMs: START_TIMEOUT_MS,
      describe: () => `fewer than ${count} machines joined within ${START_TIMEOUT_MS} ms\n${this.describeFailures()}`,
    });
  }

  /** Returns the last lines of every scheduler and agent log, for failure messages. */
  logTail(): string {
    return this.describeFailures();
  }

  private describeFailures(): string {
    const parts: string[] = [];
    for (const scheduler of this.schedulers) parts.push(`--- ${scheduler.replicaId}\n${scheduler.process.output().slice(-4000)}`);
    for (const agent of this.agents) if (agent.process) parts.push(`--- agent ${agent.index + 1}\n${agent.process.output().slice(-4000)}`);
    return parts.join('\n');
  }
}
