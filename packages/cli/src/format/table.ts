import { UsageError } from '../errors';
import { formatColumns } from './tabwriter';

/** Shown for an empty or unknown value, as fleetctl does. */
export const EMPTY_CELL = '-';
/** Length of a unit hash in tables without `--full`. */
const SHORT_HASH_CHARS = 7;
/** Length of a machine id prefix in tables without `--full`. */
const SHORT_MACHINE_ID_CHARS = 8;

/** Table settings from `--fields`, `--no-legend`, `--full` and the terminal check. */
export interface TableOptions {
  fields: string[];
  /** Print the header row of upper-cased field names. */
  legend: boolean;
  /** Print full hashes and machine ids instead of prefixes. */
  full: boolean;
  colour: boolean;
}

/** One column a table can show, selected by `name` in `--fields`. */
export interface Column<Row> {
  name: string;
  render(row: Row, options: TableOptions): string;
}

/** Renders `rows` with the columns `options.fields` names, in that order. */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[], options: TableOptions): string {
  const selected = options.fields.map((field) => {
    const column = columns.find((candidate) => candidate.name === field);
    if (column === undefined) throw new UsageError(`unknown field "${field}"`);
    return column;
  });
  const lines = rows.map((row) => selected.map((column) => cellText(column.render(row, options))));
  if (options.legend) lines.unshift(selected.map((column) => column.name.toUpperCase()));
  return formatColumns(lines);
}

/**
 * Parses a `--fields` value (`unit,machine,active`) against the columns of `command`.
 * Throws UsageError naming the unknown field and the valid ones.
 */
export function parseFields<Row>(value: string, columns: Column<Row>[], command: string): string[] {
  const fields = value.split(',').map((field) => field.trim().toLowerCase());
  const valid = columns.map((column) => column.name);
  for (const field of fields) {
    if (!valid.includes(field)) {
      throw new UsageError(`invalid field "${field}" for ${command}: valid fields are ${valid.join(', ')}`);
    }
  }
  return fields;
}

/** Returns `4c9c3d0a.../10.88.0.2`, or the full id with `full`; the address is left out when unknown. */
export function machineLegend(id: string | null, address: string | null | undefined, full: boolean): string {
  if (id === null || id === '') return EMPTY_CELL;
  const legend = full ? id : `${id.slice(0, SHORT_MACHINE_ID_CHARS)}...`;
  return address !== undefined && address !== null && address !== '' ? `${legend}/${address}` : legend;
}

/** Returns the first seven characters of a unit hash, or all of it with `full`. */
export function hashCell(hash: string | null | undefined, full: boolean): string {
  if (hash === null || hash === undefined || hash === '') return EMPTY_CELL;
  return full ? hash : hash.slice(0, SHORT_HASH_CHARS);
}

/** Returns a byte count in binary units, such as `512M` or `1.5G`. */
export function formatBytes(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${rounded}${units[unit]}`;
}

function cellText(text: string): string {
  // A tab or newline inside a value would break the column layout.
  const flat = text.replace(/[\t\r\n]+/g, ' ');
  return flat === '' ? EMPTY_CELL : flat;
}
