import type { Machine, UnitDetail, UnitState } from '../api/types';
import { paint, stateColour } from './colour';
import { compare } from './list-units';
import { EMPTY_CELL, machineLegend } from './table';

/** Everything `status` shows about one unit, gathered from the API beforehand. */
export interface UnitStatusReport {
  unit: UnitDetail;
  description: string;
  global: boolean;
  /** The states agents reported: one for a placed unit, one per machine for a global unit. */
  states: UnitState[];
  machines: Machine[];
  /** The last journal lines, the reason they could not be read, or undefined when not requested. */
  journal?: { lines: string[] } | { error: string };
}

const LABEL_WIDTH = 'Image digest'.length;

/** Renders one unit's `status` block in the spirit of `systemctl status`. */
export function formatStatus(report: UnitStatusReport, colour: boolean): string {
  const { unit } = report;
  const headline = report.description === '' ? unit.name : `${unit.name} - ${report.description}`;
  const lines = [`${paint('●', bulletColour(report.states), colour)} ${headline}`];
  lines.push(field('Desired', unit.desiredState));
  if (report.global) lines.push(field('Target', 'global'));
  lines.push(field('Hash', unit.hash));
  if (unit.reason !== null) lines.push(field('Reason', unit.reason));

  if (report.states.length === 0) lines.push(field('State', noStateText(unit)));
  const states = [...report.states].sort((a, b) => compare(a.machineId, b.machineId));
  states.forEach((state, index) => {
    // A global unit has one block per machine; a blank line keeps the blocks apart.
    if (index > 0) lines.push('');
    lines.push(...stateLines(state, report, colour));
  });

  if (report.journal !== undefined) lines.push('', ...journalLines(report.journal));
  return `${lines.join('\n')}\n`;
}

function stateLines(state: UnitState, report: UnitStatusReport, colour: boolean): string[] {
  const address = report.machines.find((machine) => machine.id === state.machineId)?.address;
  const active = paint(state.activeState, stateColour(state.activeState), colour);
  const load = state.loadState === 'loaded' ? '' : `, load state ${state.loadState}`;
  const hashNote = state.hash === report.unit.hash ? [] : [field('Running hash', `${state.hash} (differs from the stored unit)`)];
  return [
    field('State', `${active} (${state.subState})${load}`),
    field('Machine', machineLegend(state.machineId, address, true)),
    ...hashNote,
    field('Container', state.containerId || EMPTY_CELL),
    field('Image digest', state.imageDigest || EMPTY_CELL),
    field('Health', paint(state.health, stateColour(state.health), colour)),
    field('Restarts', String(state.restarts)),
    field('Last exit', lastExitText(state)),
    field('Last error', state.lastError || EMPTY_CELL),
    field('Reported', state.updatedAt),
  ];
}

function noStateText(unit: UnitDetail): string {
  if (unit.desiredState === 'inactive') return 'inactive (not scheduled)';
  if (unit.machineId === null) return 'not placed on any machine';
  return 'placed, no report from the machine yet';
}

/** Returns `code 1`, `signal SIGKILL, OOM killed` and the like, or `-` when nothing exited yet. */
export function lastExitText(state: UnitState): string {
  const parts: string[] = [];
  if (state.exitCode !== null) parts.push(`code ${state.exitCode}`);
  if (state.signal !== null) parts.push(`signal ${state.signal}`);
  if (state.oomKilled) parts.push('OOM killed');
  return parts.length === 0 ? EMPTY_CELL : parts.join(', ');
}

function journalLines(journal: NonNullable<UnitStatusReport['journal']>): string[] {
  if ('error' in journal) return [`Log unavailable: ${journal.error}`];
  if (journal.lines.length === 0) return ['No log lines yet.'];
  const count = journal.lines.length;
  return [`Last ${count} log ${count === 1 ? 'line' : 'lines'}:`, ...journal.lines];
}

function bulletColour(states: UnitState[]): ReturnType<typeof stateColour> {
  if (states.some((state) => state.activeState === 'failed' || state.health === 'unhealthy')) return 'red';
  if (states.length > 0 && states.every((state) => state.activeState === 'active')) return 'green';
  return undefined;
}

function field(label: string, value: string): string {
  return `${label.padStart(LABEL_WIDTH + 2)}: ${value}`;
}
