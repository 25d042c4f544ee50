import type { Machine } from '../api/types';
import { compare } from './list-units';
import { Column, EMPTY_CELL, formatBytes, machineLegend, renderTable, TableOptions } from './table';

/** fleetctl's default `list-machines --fields`. */
export const LIST_MACHINES_DEFAULT_FIELDS = 'machine,ip,metadata';

/** The columns of `list-machines`: fleetctl's three, then unit count, resources and version. */
export const LIST_MACHINES_COLUMNS: Column<Machine>[] = [
  { name: 'machine', render: (machine, options) => machineLegend(machine.id, undefined, options.full) },
  { name: 'ip', render: (machine) => machine.address ?? EMPTY_CELL },
  { name: 'metadata', render: (machine) => formatMetadata(machine.metadata) },
  { name: 'units', render: (machine) => String(machine.units) },
  { name: 'cpus', render: (machine) => `${machine.allocated.cpus}/${machine.capacity?.cpus ?? EMPTY_CELL}` },
  {
    name: 'memory',
    render: (machine) => {
      const capacity = machine.capacity === null ? EMPTY_CELL : formatBytes(machine.capacity.memoryBytes);
      return `${formatBytes(machine.allocated.memoryBytes)}/${capacity}`;
    },
  },
  { name: 'version', render: (machine) => machine.version ?? EMPTY_CELL },
];

/** Renders `GET /v1/machines` as the `list-machines` table, sorted by machine id. */
export function formatListMachines(machines: Machine[], options: TableOptions): string {
  const rows = [...machines].sort((a, b) => compare(a.id, b.id));
  return renderTable(LIST_MACHINES_COLUMNS, rows, options);
}

/** Returns metadata as `key=value` pairs sorted by key and joined by commas, as fleetctl prints it. */
export function formatMetadata(metadata: Record<string, string>): string {
  const keys = Object.keys(metadata).sort(compare);
  if (keys.length === 0) return EMPTY_CELL;
  return keys.map((key) => `${key}=${metadata[key]}`).join(',');
}
