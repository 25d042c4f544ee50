import { waitFor } from '@berth/testkit';
import { Cluster } from './cluster';

/** A unit as `GET /v1/units` lists it. */
export interface UnitSummary {
  name: string;
  hash: string;
  desiredState: string;
  machineId: string | null;
  reason: string | null;
}

/** A unit state as agents report it through `GET /v1/state`. */
export interface UnitState {
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
  containerId: string;
  imageDigest: string;
  lastError: string | null;
}

/** Reads `path` from the first live scheduler replica and parses the JSON body. */
export async function apiGet<T>(cluster: Cluster, path: string): Promise<T> {
  const response = await fetch(`${cluster.liveScheduler().httpEndpoint}${path}`);
  if (!response.ok) throw new Error(`GET ${path} returned ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export async function listUnits(cluster: Cluster): Promise<UnitSummary[]> {
  return (await apiGet<{ units: UnitSummary[] }>(cluster, '/v1/units')).units;
}

export async function listStates(cluster: Cluster): Promise<UnitState[]> {
  return (await apiGet<{ states: UnitState[] }>(cluster, '/v1/state')).states;
}

/** Active states of `name`, one per machine reporting it. */
export async function statesOf(cluster: Cluster, name: string): Promise<UnitState[]> {
  return (await listStates(cluster)).filter((state) => state.name === name);
}

export function isRunning(state: UnitState): boolean {
  return state.activeState === 'active' && state.subState === 'running';
}

/**
 * Waits until `check` returns true for the current unit states, and fails with the last states
 * and the cluster's logs otherwise.
 */
export async function waitForStates(
  cluster: Cluster,
  description: string,
  check: (states: UnitState[]) => boolean,
  timeoutMs = 60_000,
): Promise<UnitState[]> {
  let last: UnitState[] = [];
  await waitFor(async () => {
    last = await listStates(cluster);
    return check(last);
  }, {
    timeoutMs,
    intervalMs: 250,
    describe: () => `timed out after ${timeoutMs} ms waiting for ${description}; states:\n${JSON.stringify(last, null, 2)}\n${cluster.logTail()}`,
  });
  return last;
}

/** Machine id to agent index. */
export function agentIndexOf(cluster: Cluster, machineId: string): number {
  const index = cluster.agents.findIndex((agent) => agent.machineId === machineId);
  if (index < 0) throw new Error(`machine ${machineId} is not one of the cluster's agents`);
  return index;
}
