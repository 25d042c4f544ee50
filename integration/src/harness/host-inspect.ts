import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '@berth/testkit';
import { AgentProcess, REPO_ROOT } from './cluster';

const RUNTIME_CLI = join(REPO_ROOT, 'packages', 'runtime-native', 'dist', 'cli', 'runtime-cli.js');
const CGROUP_ROOT = '/sys/fs/cgroup';

/** A container as `berth-runtime list --format json` prints it. */
export interface RuntimeContainer {
  id: string;
  pid?: number;
  status: string;
  bundle: string;
}

/** Lists the containers recorded by the runtime of an agent's host, read from its run directory. */
export async function runtimeContainers(agent: AgentProcess): Promise<RuntimeContainer[]> {
  const root = join(agent.runDir, 'runtime');
  if (!existsSync(root)) return [];
  const { stdout } = await runCommand(process.execPath, [RUNTIME_CLI, '--root', root, 'list', '--format', 'json']);
  return JSON.parse(stdout) as RuntimeContainer[];
}

/** True while a process with this PID exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Describes what is left of the given containers on a host: runtime records, processes, mounts,
 * cgroups, veths and firewall rules. An empty list means nothing is left.
 */
export async function leftoversOf(agent: AgentProcess, containerIds: string[], pids: number[]): Promise<string[]> {
  const found: string[] = [];
  for (const container of await runtimeContainers(agent)) {
    if (containerIds.includes(container.id)) found.push(`runtime record ${container.id} (${container.status})`);
  }
  for (const pid of pids) if (processExists(pid)) found.push(`process ${pid}`);

  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  for (const line of mountinfo) {
    if (containerIds.some((id) => line.includes(id))) found.push(`mount: ${line}`);
  }
  for (const path of cgroupDirectories()) {
    if (containerIds.some((id) => path.includes(id))) found.push(`cgroup ${path}`);
  }

  const links = (await runCommand('ip', ['-n', agent.netns, '-o', 'link', 'show', 'type', 'veth'])).stdout;
  for (const line of links.split('\n').filter((entry) => entry.trim() !== '')) {
    if (!/^\d+: eth0@/.test(line)) found.push(`veth: ${line.trim()}`);
  }
  const rules = await runCommand('ip', ['netns', 'exec', agent.netns, 'nft', 'list', 'ruleset']);
  for (const line of rules.stdout.split('\n')) {
    if (containerIds.some((id) => line.includes(id))) found.push(`nft rule: ${line.trim()}`);
  }
  return found;
}

/** Returns every cgroup directory up to four levels below each hierarchy, for leftover checks. */
function cgroupDirectories(): string[] {
  const result: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      result.push(path);
      walk(path, depth + 1);
    }
  };
  walk(CGROUP_ROOT, 0);
  return result;
}
