import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  createOciLayout,
  EtcdServer,
  findFreePort,
  ManagedProcess,
  newImage,
  pushImage,
  RegistryServer,
  removeOciLayout,
  runCommand,
  startEtcd,
  startProcess,
  startRegistry,
  waitFor,
  writeBusyboxTree,
} from '@berth/testkit';

const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');
export const SCHEDULER_MAIN = join(REPO_ROOT, 'packages', 'scheduler', 'dist', 'main.js');
export const AGENT_MAIN = join(REPO_ROOT, 'packages', 'agent', 'dist', 'main.js');
const START_TIMEOUT_MS = 30_000;

/** A unit state as `GET /v1/state` returns it. */
export interface ReportedState {
  name: string;
  machineId: string;
  hash: string;
  loadState: string;
  activeState: string;
  subState: string;
  health: string;
  exitCode: number | null;
  signal: string | null;
  restarts: number;
  oomKilled: boolean;
  containerId: string;
  imageDigest: string;
  lastError: string | null;
  updatedAt: string;
}

/**
 * One scheduler, etcd, a registry and one agent in its own network namespace, joined to the root
 * namespace by a bridge, so the agent's bridge, veths and nft rules never touch the host's network.
 */
export class AgentCluster {
  readonly tag = randomBytes(3).toString('hex');
  readonly joinToken = randomBytes(16).toString('hex');
  readonly apiToken = randomBytes(16).toString('hex');
  readonly machineId = randomBytes(16).toString('hex');
  readonly netns = `berth-ag-${this.tag}`;
  readonly bridge = `bag${this.tag}`;
  readonly subnetIndex = 100 + Math.floor(Math.random() * 150);
  readonly gateway = `10.214.${this.subnetIndex}.1`;
  readonly hostAddress = `10.214.${this.subnetIndex}.11`;
  readonly stateDir: string;
  readonly runDir: string;
  etcd!: EtcdServer;
  registry!: RegistryServer;
  scheduler: ManagedProcess | undefined;
  agent: ManagedProcess | undefined;
  httpEndpoint = '';
  grpcEndpoint = '';
  private grpcPort = 0;
  private httpPort = 0;

  constructor(readonly dir: string) {
    this.stateDir = join(dir, 'state');
    this.runDir = join(dir, 'run');
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(this.runDir, { recursive: true });
  }

  async start(): Promise<void> {
    await this.createNetwork();
    this.etcd = await startEtcd();
    this.registry = await startRegistry({ address: this.gateway });
    this.httpPort = await findFreePort();
    this.grpcPort = await findFreePort();
    this.httpEndpoint = `http://127.0.0.1:${this.httpPort}`;
    this.grpcEndpoint = `${this.gateway}:${this.grpcPort}`;
    await this.startScheduler();
    await this.startAgent();
  }

  /** Starts the scheduler again on the same ports and etcd. */
  async startScheduler(): Promise<void> {
    this.scheduler = startProcess(process.execPath, [
      SCHEDULER_MAIN,
      '--etcd-endpoints', this.etcd.endpoint,
      '--http-listen', `127.0.0.1:${this.httpPort}`,
      '--grpc-listen', this.grpcEndpoint,
      '--join-token', this.joinToken,
      '--api-token', this.apiToken,
      '--replica-id', `scheduler-${this.tag}`,
      // Longer than the outage the tests cause, so they observe the agent, not machine expiry.
      '--presence-ttl', '120',
    ]);
    const scheduler = this.scheduler;
    await waitFor(async () => (await fetch(`${this.httpEndpoint}/healthz`)).ok, {
      timeoutMs: START_TIMEOUT_MS,
      describe: () => `scheduler did not answer ${this.httpEndpoint}/healthz; output:\n${scheduler.output()}`,
    });
  }

  async stopScheduler(): Promise<void> {
    await this.scheduler?.stop();
    this.scheduler = undefined;
  }

  /** Starts (or restarts) the agent inside the host namespace and waits until the scheduler lists it. */
  async startAgent(): Promise<void> {
    this.spawnAgent();
    await waitFor(async () => {
      const body = (await (await fetch(`${this.httpEndpoint}/v1/machines`)).json()) as { machines: Array<{ id: string }> };
      return body.machines.some((machine) => machine.id === this.machineId);
    }, { timeoutMs: START_TIMEOUT_MS, describe: () => `agent did not join within ${START_TIMEOUT_MS} ms; output:\n${this.agentOutput()}` });
  }

  /** Starts the agent process with the same state and run directories. */
  private spawnAgent(): void {
    this.agent = startProcess('nsenter', [
      `--net=/run/netns/${this.netns}`, '--',
      process.execPath, AGENT_MAIN,
      '--schedulers', this.grpcEndpoint,
      '--join-token', this.joinToken,
      '--machine-id', this.machineId,
      '--public-address', this.hostAddress,
      '--metadata', 'role=test',
      '--state-dir', this.stateDir,
      '--run-dir', this.runDir,
      '--bridge-name', 'berth0',
      '--container-subnet', `10.231.${this.subnetIndex}.0/24`,
      '--insecure-registries', this.registry.host,
      '--log-level', 'debug',
    ]);
  }

  /** Sends SIGKILL to the agent and waits for it to exit. */
  async killAgent(): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    const exited = new Promise((resolveExit) => agent.child.once('exit', resolveExit));
    agent.child.kill('SIGKILL');
    await exited;
    this.agent = undefined;
  }

  agentOutput(): string {
    return this.agent?.output().slice(-6000) ?? '(agent not running)';
  }

  /**
   * Builds a busybox image whose Cmd is `cmd`, with the extra applets linked and `files` written,
   * pushes it, and returns its reference.
   */
  async pushImage(name: string, cmd: string[], extra: { applets?: string[]; files?: Record<string, string> } = {}): Promise<string> {
    const layout = await createOciLayout();
    try {
      await newImage(layout, 'latest', (rootfs) => {
        writeBusyboxTree(rootfs);
        for (const applet of extra.applets ?? []) symlinkSync('busybox', join(rootfs, 'bin', applet));
        for (const [path, content] of Object.entries(extra.files ?? {})) {
          mkdirSync(dirname(join(rootfs, path)), { recursive: true });
          writeFileSync(join(rootfs, path), content);
        }
      });
      await runCommand('umoci', ['config', '--image', `${layout.dir}:latest`, '--config.env', 'PATH=/bin', ...cmd.flatMap((part) => ['--config.cmd', part])]);
      const reference = `${this.registry.host}/berth-agent-test/${name}:latest`;
      await pushImage(layout, 'latest', reference);
      return reference;
    } finally {
      removeOciLayout(layout);
    }
  }

  /** PUT /v1/units/NAME. Throws with the API's response body when the status is not 2xx. */
  async submit(name: string, text: string, desiredState: string): Promise<void> {
    const response = await fetch(`${this.httpEndpoint}/v1/units/${encodeURIComponent(name)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiToken}` },
      body: JSON.stringify({ text, desiredState, replace: true }),
    });
    if (!response.ok) throw new Error(`PUT ${name} returned ${response.status}: ${await response.text()}`);
  }

  async destroyUnit(name: string): Promise<void> {
    const response = await fetch(`${this.httpEndpoint}/v1/units/${encodeURIComponent(name)}`, { method: 'DELETE', headers: { authorization: `Bearer ${this.apiToken}` } });
    if (!response.ok) throw new Error(`DELETE ${name} returned ${response.status}: ${await response.text()}`);
  }

  async state(name: string): Promise<ReportedState | undefined> {
    const response = await fetch(`${this.httpEndpoint}/v1/state?unit=${encodeURIComponent(name)}`);
    const body = (await response.json()) as { states: ReportedState[] };
    return body.states.find((state) => state.name === name);
  }

  /** Polls the reported state until `accept` returns true. */
  async waitForState(name: string, what: string, accept: (state: ReportedState) => boolean, timeoutMs = 60_000): Promise<ReportedState> {
    let last: ReportedState | undefined;
    await waitFor(async () => {
      last = await this.state(name);
      return last !== undefined && accept(last);
    }, { timeoutMs, intervalMs: 250, describe: () => `${name} did not become ${what} within ${timeoutMs} ms; last state ${JSON.stringify(last)}\nagent output:\n${this.agentOutput()}` });
    return last!;
  }

  async journal(name: string, lines: number): Promise<string> {
    const response = await fetch(`${this.httpEndpoint}/v1/units/${encodeURIComponent(name)}/journal?lines=${lines}`);
    return response.text();
  }

  /** Runs `ip ARGS` inside the host namespace. */
  async ipInHost(args: string[]): Promise<string> {
    return (await runCommand('ip', ['-n', this.netns, ...args])).stdout;
  }

  /**
   * Drains the agent, so every container, mount, cgroup and veth is removed even when a test failed
   * or was skipped, then stops everything else and deletes the network.
   */
  async destroy(): Promise<void> {
    await this.drainForCleanup().catch((error: Error) => process.stderr.write(`agent cleanup failed: ${error.message}\n`));
    await this.agent?.stop(15_000);
    await this.scheduler?.stop();
    await this.registry?.stop();
    await this.etcd?.stop();
    await runCommand('ip', ['link', 'delete', `vag${this.tag}`]).catch(() => undefined);
    await runCommand('ip', ['netns', 'delete', this.netns]).catch(() => undefined);
    await runCommand('ip', ['link', 'delete', this.bridge]).catch(() => undefined);
  }

  private async drainForCleanup(): Promise<void> {
    if (!this.agent || this.agent.child.exitCode !== null || this.agent.child.signalCode !== null) {
      if (!existsSync(join(this.stateDir, 'units'))) return;
      this.spawnAgent();
      const socket = join(this.runDir, 'agent.sock');
      await waitFor(async () => existsSync(socket), { timeoutMs: START_TIMEOUT_MS, describe: () => `agent control socket did not appear:\n${this.agentOutput()}` });
    }
    await runCommand(process.execPath, [AGENT_MAIN, 'drain', '--run-dir', this.runDir], { timeoutMs: 120_000 });
  }

  private async createNetwork(): Promise<void> {
    const outer = `vag${this.tag}`;
    await runCommand('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await runCommand('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    await runCommand('ip', ['link', 'set', this.bridge, 'up']);
    await runCommand('ip', ['netns', 'add', this.netns]);
    await runCommand('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
    await runCommand('ip', ['link', 'set', outer, 'master', this.bridge, 'up']);
    await this.ipInHost(['link', 'set', 'lo', 'up']);
    await this.ipInHost(['addr', 'add', `${this.hostAddress}/24`, 'dev', 'eth0']);
    await this.ipInHost(['link', 'set', 'eth0', 'up']);
    await this.ipInHost(['route', 'add', 'default', 'via', this.gateway]);
  }
}
