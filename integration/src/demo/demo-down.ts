import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '@berth/testkit';
import { REPO_ROOT } from '../harness/cluster';
import { DemoState, isAlive, readDemoState } from './demo-state';

const RUNTIME_CLI = join(REPO_ROOT, 'packages', 'runtime-native', 'dist', 'cli', 'runtime-cli.js');

const STOP_GRACE_MS = 45_000;
const POLL_MS = 200;

/**
 * Destroys the demo's units (so agents stop and remove their containers), stops every process the
 * demo started by PID, deletes the host namespaces and the bridge, and removes the demo directory.
 */
export async function demoDown(dir: string): Promise<void> {
  const state = readDemoState(dir);
  if (!state) {
    console.log(`no demo state in ${dir}; nothing to tear down`);
    return;
  }

  await destroyUnits(state);
  for (const entry of [...restartedAgents(state), ...state.processes]) await stopProcess(entry.name, entry.pid);
  for (const runDir of state.agentRunDirs) await removeLeftoverContainers(runDir);
  await unmountUnder(dir);
  for (const port of state.bridgePorts) await runCommand('ip', ['link', 'delete', port]).catch(() => undefined);
  for (const netns of state.netns) await runCommand('ip', ['netns', 'delete', netns]).catch(() => undefined);
  await runCommand('ip', ['link', 'delete', state.bridge]).catch(() => undefined);

  rmSync(dir, { recursive: true, force: true });
  console.log(`demo stopped; removed ${dir}`);
}

/** Agents started again by hand with `hostN/start-agent.sh`, which records each new PID. */
function restartedAgents(state: DemoState): { name: string; pid: number }[] {
  return state.agentRunDirs.flatMap((runDir, index) => {
    const pidFile = join(runDir, '..', 'agent.pid');
    if (!existsSync(pidFile)) return [];
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? [{ name: `agent ${index + 1}`, pid }] : [];
  });
}

/**
 * Force-deletes containers that an agent left in its runtime directory. Agents remove their
 * containers when units are destroyed, so this only finds something when an agent was down.
 */
async function removeLeftoverContainers(runDir: string): Promise<void> {
  const root = join(runDir, 'runtime');
  if (!existsSync(root)) return;
  const runtime = (args: string[]) => runCommand(process.execPath, [RUNTIME_CLI, '--root', root, ...args]);
  const containers = JSON.parse((await runtime(['list', '--format', 'json'])).stdout) as { id: string }[];
  for (const container of containers) {
    console.log(`removing container ${container.id} left in ${root}`);
    await runtime(['delete', '--force', container.id]).catch((error: Error) => console.log(error.message));
  }
}

/** Unmounts every mount point below `dir`, deepest first (container root filesystems, netns files). */
async function unmountUnder(dir: string): Promise<void> {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => mountPoint !== undefined && mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mountPoints) {
    console.log(`unmounting ${mountPoint}`);
    await runCommand('umount', [mountPoint]).catch(() => runCommand('umount', ['--lazy', mountPoint]));
  }
}

async function destroyUnits(state: DemoState): Promise<void> {
  const headers = { authorization: `Bearer ${state.apiToken}` };
  try {
    const response = await fetch(`${state.apiEndpoint}/v1/units`);
    const body = (await response.json()) as { units: { name: string }[] };
    for (const unit of body.units) {
      await fetch(`${state.apiEndpoint}/v1/units/${encodeURIComponent(unit.name)}`, { method: 'DELETE', headers });
    }
    await waitForNoStates(state);
  } catch (error) {
    console.log(`could not destroy units through ${state.apiEndpoint}: ${(error as Error).message}`);
  }
}

/** Waits until agents report no unit, which means they stopped and removed every container. */
async function waitForNoStates(state: DemoState): Promise<void> {
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    const response = await fetch(`${state.apiEndpoint}/v1/state`);
    const body = (await response.json()) as { states: unknown[] };
    if (body.states.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  console.log('agents still report units after destroy; stopping them anyway');
}

async function stopProcess(name: string, pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  if (isAlive(pid)) {
    console.log(`${name} (pid ${pid}) ignored SIGTERM; sending SIGKILL`);
    process.kill(pid, 'SIGKILL');
  }
}

export function demoDirFromEnvironment(defaultDir: string): string {
  return process.env.BERTH_DEMO_DIR ? join(process.env.BERTH_DEMO_DIR) : defaultDir;
}
