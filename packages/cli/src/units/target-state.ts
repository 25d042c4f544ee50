import type { UnitDetail, UnitState } from '../api/types';
import { lastExitText } from '../format/status';
import { machineLegend } from '../format/table';

/** The commands that wait for a unit to reach a state. */
export type WaitVerb = 'load' | 'start' | 'stop' | 'unload' | 'destroy';

/** The result of one poll of the API for a unit. */
export interface Observation {
  /** The unit, or null when the scheduler returned 404. */
  unit: UnitDetail | null;
  /** Every state reported for the unit (only fetched for `destroy`, where the unit itself is gone). */
  reportedStates?: UnitState[];
  /** `Restart=` of the unit, when its text could be read. */
  restartPolicy?: 'no' | 'on-failure' | 'always';
}

/**
 * The verdict on one observation:
 * - `reached`: the unit is in the requested state;
 * - `waiting`: not yet, and `why` describes what is missing. `stuck` marks a condition that does
 *   not clear by itself, such as no machine fitting or a failed container that is not restarted;
 * - `failed`: the state cannot be reached any more, for example because the unit was destroyed.
 */
export type Progress =
  | { kind: 'reached'; machineId: string | null }
  | { kind: 'waiting'; why: string; stuck: boolean }
  | { kind: 'failed'; why: string };

/** The goal of each verb's wait, as printed in messages. */
export const WAIT_GOALS: Record<WaitVerb, string> = {
  load: 'be loaded',
  start: 'be active (running)',
  stop: 'be stopped',
  unload: 'be unloaded',
  destroy: 'be removed from its machine',
};

/** Decides whether `observation` shows the unit in the state `verb` asked for. Pure. */
export function evaluateProgress(verb: WaitVerb, observation: Observation): Progress {
  const { unit } = observation;
  if (verb === 'destroy') return evaluateDestroy(observation);
  if (unit === null) {
    if (verb === 'unload') return { kind: 'reached', machineId: null };
    return { kind: 'failed', why: 'the unit was destroyed while waiting' };
  }
  if (verb === 'unload') return evaluateUnload(unit);

  const placed = evaluatePlaced(unit);
  if (placed !== undefined) return placed;
  const state = unit.state as UnitState;
  if (verb === 'load') return { kind: 'reached', machineId: state.machineId };
  if (verb === 'stop') return evaluateStopped(state);
  return evaluateRunning(state, observation.restartPolicy);
}

// Common to load, start and stop: placed, reported by the agent, current hash, loaded.
function evaluatePlaced(unit: UnitDetail): Progress | undefined {
  const state = unit.state;
  if (unit.reason !== null && (state === null || unit.machineId === null)) {
    return { kind: 'waiting', why: `not placed: ${unit.reason}`, stuck: true };
  }
  if (unit.machineId === null) return { kind: 'waiting', why: 'waiting for the scheduler to place it', stuck: false };
  const on = machineLegend(unit.machineId, undefined, false);
  if (state === null) return { kind: 'waiting', why: `placed on ${on}, no report from its agent yet`, stuck: false };
  if (state.hash !== unit.hash) {
    return { kind: 'waiting', why: `machine ${on} still reports unit hash ${state.hash.slice(0, 7)}${errorSuffix(state)}`, stuck: false };
  }
  // An agent reports `error` for an assignment it cannot run at all, so this hash never loads there.
  if (state.loadState === 'error') return { kind: 'waiting', why: `machine ${on} cannot load it${errorSuffix(state)}`, stuck: true };
  if (state.loadState !== 'loaded') {
    return { kind: 'waiting', why: `load state on ${on} is ${state.loadState}${errorSuffix(state)}`, stuck: false };
  }
  return undefined;
}

function evaluateRunning(state: UnitState, restartPolicy: Observation['restartPolicy']): Progress {
  const on = machineLegend(state.machineId, undefined, false);
  if (state.activeState === 'failed') {
    const stuck = restartPolicy === 'no';
    const restart = stuck ? ' and Restart=no does not restart it' : '';
    return { kind: 'waiting', why: `failed on ${on} (last exit: ${lastExitText(state)})${restart}${errorSuffix(state)}`, stuck };
  }
  if (state.activeState !== 'active' || state.subState !== 'running') {
    return { kind: 'waiting', why: `${state.activeState} (${state.subState}) on ${on}${errorSuffix(state)}`, stuck: false };
  }
  if (state.health === 'starting') return { kind: 'waiting', why: `running on ${on}, health check still starting`, stuck: false };
  if (state.health === 'unhealthy') {
    return { kind: 'waiting', why: `running on ${on} but its health check reports unhealthy${errorSuffix(state)}`, stuck: false };
  }
  return { kind: 'reached', machineId: state.machineId };
}

function evaluateStopped(state: UnitState): Progress {
  if (state.activeState === 'inactive' || state.activeState === 'failed') return { kind: 'reached', machineId: state.machineId };
  const on = machineLegend(state.machineId, undefined, false);
  return { kind: 'waiting', why: `still ${state.activeState} (${state.subState}) on ${on}${errorSuffix(state)}`, stuck: false };
}

function evaluateUnload(unit: UnitDetail): Progress {
  const state = unit.state;
  if (state === null || state.loadState !== 'loaded') return { kind: 'reached', machineId: null };
  const on = machineLegend(state.machineId, undefined, false);
  return { kind: 'waiting', why: `still loaded on ${on} (${state.activeState})${errorSuffix(state)}`, stuck: false };
}

function evaluateDestroy(observation: Observation): Progress {
  const states = observation.reportedStates ?? [];
  if (observation.unit === null && states.length === 0) return { kind: 'reached', machineId: null };
  if (observation.unit !== null) return { kind: 'waiting', why: 'the scheduler still lists the unit', stuck: false };
  const machines = states.map((state) => machineLegend(state.machineId, undefined, false)).join(', ');
  return { kind: 'waiting', why: `still reported by ${machines}`, stuck: false };
}

function errorSuffix(state: UnitState): string {
  return state.lastError === null || state.lastError === '' ? '' : `: ${state.lastError}`;
}
