import type { SchedulerClient } from '../api/client';
import type { UnitSummary } from '../api/types';
import type { CommandContext } from '../cli/context';
import { LIST_MACHINES_COLUMNS, formatListMachines } from '../format/list-machines';
import { LIST_UNIT_FILES_COLUMNS, formatListUnitFiles, unitFileRows } from '../format/list-unit-files';
import { LIST_UNITS_COLUMNS, formatListUnits } from '../format/list-units';
import { parseFields, TableOptions } from '../format/table';
import { UnitTextFacts, unitTextFacts } from '../units/unit-source';

/** The flags every list command takes. */
export interface ListOptions {
  fields: string;
  /** False with `--no-legend`. */
  legend: boolean;
  full?: boolean;
  json?: boolean;
}

/** Unit texts fetched at once by list-unit-files; bounded so a large cluster does not flood the scheduler. */
const DETAIL_FETCH_CONCURRENCY = 8;
/** Fields of list-unit-files that need each unit's text (for `Global=` and `Description=`). */
const FIELDS_NEEDING_TEXT = ['global', 'desc', 'state', 'target'];

/** fleetctl's old name of the `target` field, still accepted with a warning. */
const DEPRECATED_TARGET_FIELD = 'tmachine';
const LIST_UNIT_FILES_ACCEPTED_COLUMNS = [...LIST_UNIT_FILES_COLUMNS, { name: DEPRECATED_TARGET_FIELD, render: () => '' }];

/** `list-units`: one row per unit and machine from the states agents reported. */
export async function listUnitsCommand(options: ListOptions, context: CommandContext): Promise<void> {
  const fields = parseFields(options.fields, LIST_UNITS_COLUMNS, 'list-units');
  const client = context.client();
  const states = await client.listStates();
  if (options.json === true) return writeJson(context, states);

  const machines = fields.includes('machine') ? await client.listMachines() : [];
  context.io.stdout.write(formatListUnits(states, machines, tableOptions(fields, options, context)));
}

/** `list-unit-files`: one row per unit stored in the cluster, whatever its state. */
export async function listUnitFilesCommand(options: ListOptions, context: CommandContext): Promise<void> {
  const fields = parseFields(options.fields, LIST_UNIT_FILES_ACCEPTED_COLUMNS, 'list-unit-files').map((field) => {
    if (field !== DEPRECATED_TARGET_FIELD) return field;
    context.warn(`the field "${DEPRECATED_TARGET_FIELD}" is deprecated; use "target"`);
    return 'target';
  });
  const client = context.client();
  const units = await client.listUnits();
  if (options.json === true) return writeJson(context, units);

  const facts = fields.some((field) => FIELDS_NEEDING_TEXT.includes(field)) ? await fetchTextFacts(client, units) : new Map();
  const machines = fields.includes('target') ? await client.listMachines() : [];
  const rows = unitFileRows(units, machines, (unit) => facts.get(unit.name) ?? { global: false, description: '' });
  context.io.stdout.write(formatListUnitFiles(rows, tableOptions(fields, options, context)));
}

/** `list-machines`: the machines whose agents are connected. */
export async function listMachinesCommand(options: ListOptions, context: CommandContext): Promise<void> {
  const fields = parseFields(options.fields, LIST_MACHINES_COLUMNS, 'list-machines');
  const machines = await context.client().listMachines();
  if (options.json === true) return writeJson(context, machines);
  context.io.stdout.write(formatListMachines(machines, tableOptions(fields, options, context)));
}

/** Writes `value` as indented JSON and a newline. */
export function writeJson(context: CommandContext, value: unknown): void {
  context.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function tableOptions(fields: string[], options: ListOptions, context: CommandContext): TableOptions {
  return { fields, legend: options.legend, full: options.full === true, colour: context.colour };
}

/**
 * Reads each unit's text for the columns derived from it. NOTE: the unit list of the API has no
 * `Global=` or description, so this costs one request per unit.
 */
async function fetchTextFacts(client: SchedulerClient, units: UnitSummary[]): Promise<Map<string, UnitTextFacts>> {
  const facts = new Map<string, UnitTextFacts>();
  const queue = [...units];
  const worker = async () => {
    for (let unit = queue.shift(); unit !== undefined; unit = queue.shift()) {
      const detail = await client.findUnit(unit.name);
      // A unit destroyed between the two requests keeps the defaults.
      if (detail !== null) facts.set(unit.name, unitTextFacts(unit.name, detail.text));
    }
  };
  await Promise.all(Array.from({ length: Math.min(DETAIL_FETCH_CONCURRENCY, units.length) }, worker));
  return facts;
}
