import { formatDiagnostic, loadUnit, MachineIdentity, Unit } from '@berth/unitfile';
import type { DesiredState, DesiredUnit } from '../reconcile/plan';

/** One assignment from the scheduler, parsed. */
export interface DesiredEntry {
  name: string;
  hash: string;
  state: DesiredState;
  text: string;
  /** Set when the text loads and has a `[Container]` section. */
  unit?: Unit;
  /** Why the unit cannot run, when `unit` is undefined. */
  invalid?: string;
}

/** Assignment as carried by the proto (camelCase, enum names). */
export interface AssignmentMessage {
  unitName: string;
  unitText: string;
  unitHash: string;
  desiredState: string;
}

const MAX_DIAGNOSTICS_IN_ERROR = 3;

/**
 * Parses an assignment with @berth/unitfile, expanding `%H` and `%m` for this machine. A unit that
 * does not load, has no `[Container]` section or an unknown desired state becomes an entry with
 * `invalid` set, which the agent reports as load state `error` instead of running it.
 */
export function parseAssignment(assignment: AssignmentMessage, machine: MachineIdentity): DesiredEntry {
  const state = desiredStateOf(assignment.desiredState);
  const base = { name: assignment.unitName, hash: assignment.unitHash, state: state ?? 'loaded', text: assignment.unitText };
  if (state === undefined) return { ...base, invalid: `unknown desired state "${assignment.desiredState}"` };

  const result = loadUnit(assignment.unitName, assignment.unitText, undefined, machine);
  if (!result.unit) {
    const errors = result.diagnostics.filter((diagnostic) => diagnostic.severity === 'error').slice(0, MAX_DIAGNOSTICS_IN_ERROR);
    return { ...base, invalid: `unit file does not load: ${errors.map(formatDiagnostic).join('; ')}` };
  }
  if (!result.unit.container) return { ...base, invalid: 'the unit has no [Container] section, so there is nothing to run' };
  return { ...base, unit: result.unit };
}

function desiredStateOf(value: string): DesiredState | undefined {
  if (value === 'DESIRED_STATE_LOADED' || value === 'loaded') return 'loaded';
  if (value === 'DESIRED_STATE_LAUNCHED' || value === 'launched') return 'launched';
  return undefined;
}

/** The planner's view of an entry. */
export function toDesiredUnit(entry: DesiredEntry): DesiredUnit {
  const desired: DesiredUnit = { name: entry.name, hash: entry.hash, state: entry.state, image: entry.unit?.container?.image ?? '' };
  if (entry.invalid !== undefined) desired.invalid = entry.invalid;
  return desired;
}
