import type { Machine, UnitSummary } from '../api/types';
import { currentFleetState } from '../units/fleet-state';
import { paint, stateColour } from './colour';
import { compare } from './list-units';
import { Column, EMPTY_CELL, hashCell, machineLegend, renderTable, TableOptions } from './table';

/** fleetctl's default `list-unit-files --fields`. */
export const LIST_UNIT_FILES_DEFAULT_FIELDS = 'unit,hash,dstate,state,target';

/** One row of `list-unit-files`: a stored unit and what its text declares. */
export interface UnitFileRow {
  unit: UnitSummary;
  /** `Global=` from the unit's `[X-Fleet]` section. */
  global: boolean;
  /** `Description=` from `[Unit]`, empty when unset. */
  description: string;
  machineAddress: string | null | undefined;
}

/** The columns of `list-unit-files`, as fleetctl names them; `reason` is berthctl's addition. */
export const LIST_UNIT_FILES_COLUMNS: Column<UnitFileRow>[] = [
  { name: 'unit', render: (row) => row.unit.name },
  { name: 'global', render: (row) => String(row.global) },
  { name: 'dstate', render: (row) => row.unit.desiredState },
  { name: 'state', render: (row, options) => paintState(currentStateCell(row), options.colour) },
  { name: 'target', render: (row, options) => targetCell(row, options.full) },
  { name: 'hash', render: (row, options) => hashCell(row.unit.hash, options.full) },
  { name: 'desc', render: (row) => row.description },
  { name: 'reason', render: (row) => row.unit.reason ?? EMPTY_CELL },
];

/** Renders stored units as the `list-unit-files` table, sorted by name. */
export function formatListUnitFiles(rows: UnitFileRow[], options: TableOptions): string {
  const sorted = [...rows].sort((a, b) => compare(a.unit.name, b.unit.name));
  return renderTable(LIST_UNIT_FILES_COLUMNS, sorted, options);
}

/** Joins units with their machines' addresses; `describe` supplies what each unit's text declares. */
export function unitFileRows(
  units: UnitSummary[],
  machines: Machine[],
  describe: (unit: UnitSummary) => { global: boolean; description: string },
): UnitFileRow[] {
  const addresses = new Map(machines.map((machine) => [machine.id, machine.address]));
  return units.map((unit) => ({
    unit,
    ...describe(unit),
    machineAddress: unit.machineId === null ? undefined : addresses.get(unit.machineId),
  }));
}

// A global unit runs on many machines, so it has no single current state; fleetctl prints `-`.
function currentStateCell(row: UnitFileRow): string {
  return row.global ? EMPTY_CELL : currentFleetState(row.unit.desiredState, row.unit.state);
}

function targetCell(row: UnitFileRow, full: boolean): string {
  if (row.global) return 'global';
  return machineLegend(row.unit.machineId, row.machineAddress, full);
}

function paintState(state: string, colour: boolean): string {
  return paint(state, stateColour(state), colour);
}
