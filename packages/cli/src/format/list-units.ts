import type { Machine, UnitState } from '../api/types';
import { paint, stateColour } from './colour';
import { Column, hashCell, machineLegend, renderTable, TableOptions } from './table';

/** fleetctl's default `list-units --fields`. */
export const LIST_UNITS_DEFAULT_FIELDS = 'unit,machine,active,sub';

/** One row of `list-units`: a unit's state on one machine. */
export interface UnitStateRow {
  state: UnitState;
  machineAddress: string | null | undefined;
}

/** The columns of `list-units`: fleetctl's six, then health and restarts. */
export const LIST_UNITS_COLUMNS: Column<UnitStateRow>[] = [
  { name: 'unit', render: (row) => row.state.name },
  { name: 'load', render: (row) => row.state.loadState },
  { name: 'active', render: (row, options) => paint(row.state.activeState, stateColour(row.state.activeState), options.colour) },
  { name: 'sub', render: (row) => row.state.subState },
  { name: 'machine', render: (row, options) => machineLegend(row.state.machineId, row.machineAddress, options.full) },
  { name: 'hash', render: (row, options) => hashCell(row.state.hash, options.full) },
  { name: 'health', render: (row, options) => paint(row.state.health, stateColour(row.state.health), options.colour) },
  { name: 'restarts', render: (row) => String(row.state.restarts) },
];

/** Renders `GET /v1/state` as the `list-units` table, one row per unit and machine, sorted by both. */
export function formatListUnits(states: UnitState[], machines: Machine[], options: TableOptions): string {
  const addresses = new Map(machines.map((machine) => [machine.id, machine.address]));
  const rows = [...states]
    .sort((a, b) => compare(a.name, b.name) || compare(a.machineId, b.machineId))
    .map((state) => ({ state, machineAddress: addresses.get(state.machineId) }));
  return renderTable(LIST_UNITS_COLUMNS, rows, options);
}

/** Compares by UTF-16 code units, so the order does not depend on the locale. */
export function compare(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}
