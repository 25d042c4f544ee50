import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Record of everything `demo up` started, which `demo down` reads to stop it. */
export interface DemoState {
  dir: string;
  bridge: string;
  bridgePorts: string[];
  netns: string[];
  /** Processes in the order they must stop: agents, schedulers, registry, etcd. */
  processes: { name: string; pid: number }[];
  agentRunDirs: string[];
  apiEndpoint: string;
  apiToken: string;
}

export const DEFAULT_DEMO_DIR = '/tmp/berth-demo';
const STATE_FILE = 'demo-state.json';

export function readDemoState(dir: string): DemoState | undefined {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as DemoState;
}

/** Writes the state file atomically, so an interrupted `up` never leaves half a record. */
export function writeDemoState(state: DemoState): void {
  const path = join(state.dir, STATE_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${path}.tmp`, path);
}

/** True while a process with this PID exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
