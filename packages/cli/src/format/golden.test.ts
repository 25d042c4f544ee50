import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine, UnitDetail, UnitState } from '../api/types';
import { assertGolden, FIXTURES_DIR } from '../test-support/golden';
import { unitTextFacts } from '../units/unit-source';
import { formatListMachines, LIST_MACHINES_DEFAULT_FIELDS } from './list-machines';
import { formatListUnitFiles, LIST_UNIT_FILES_DEFAULT_FIELDS, unitFileRows } from './list-unit-files';
import { formatListUnits, LIST_UNITS_DEFAULT_FIELDS } from './list-units';
import { formatStatus } from './status';
import { TableOptions } from './table';

const FIXTURES = FIXTURES_DIR;

function fixture<T>(file: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, 'api', file), 'utf8')) as T;
}

const machines = fixture<{ machines: Machine[] }>('machines.json').machines;
const states = fixture<{ states: UnitState[] }>('states.json').states;
const units = fixture<{ units: UnitDetail[] }>('units.json').units;

function table(fields: string, overrides: Partial<TableOptions> = {}): TableOptions {
  return { fields: fields.split(','), legend: true, full: false, colour: false, ...overrides };
}

describe('golden tables from API fixtures', () => {
  const unitFiles = unitFileRows(units, machines, (unit) => unitTextFacts(unit.name, (unit as UnitDetail).text));

  const cases: { name: string; render: () => string }[] = [
    { name: 'list-units.txt', render: () => formatListUnits(states, machines, table(LIST_UNITS_DEFAULT_FIELDS)) },
    {
      name: 'list-units-all-fields-full.txt',
      render: () => formatListUnits(states, machines, table('unit,load,active,sub,machine,hash,health,restarts', { full: true })),
    },
    { name: 'list-units-no-legend.txt', render: () => formatListUnits(states, machines, table('unit,active', { legend: false })) },
    { name: 'list-units-empty.txt', render: () => formatListUnits([], machines, table(LIST_UNITS_DEFAULT_FIELDS)) },
    { name: 'list-units-colour.txt', render: () => formatListUnits(states, machines, table('unit,active,health', { colour: true })) },
    { name: 'list-unit-files.txt', render: () => formatListUnitFiles(unitFiles, table(LIST_UNIT_FILES_DEFAULT_FIELDS)) },
    {
      name: 'list-unit-files-all-fields.txt',
      render: () => formatListUnitFiles(unitFiles, table('unit,global,dstate,state,target,hash,desc,reason')),
    },
    { name: 'list-machines.txt', render: () => formatListMachines(machines, table(LIST_MACHINES_DEFAULT_FIELDS)) },
    {
      name: 'list-machines-all-fields-full.txt',
      render: () => formatListMachines(machines, table('machine,ip,metadata,units,cpus,memory,version', { full: true })),
    },
    { name: 'status-running.txt', render: () => renderStatus('web@1.service', true) },
    { name: 'status-failed.txt', render: () => renderStatus('web@2.service', false) },
    { name: 'status-unplaced.txt', render: () => renderStatus('cache.service', false) },
    { name: 'status-global.txt', render: () => renderStatus('monitor.service', false) },
  ];

  for (const { name, render } of cases) {
    it(name.replace(/\.txt$/, ''), () => assertGolden(name, render()));
  }
});

function renderStatus(name: string, withJournal: boolean): string {
  const unit = units.find((candidate) => candidate.name === name) as UnitDetail;
  const facts = unitTextFacts(name, unit.text);
  let unitStates = unit.state === null ? [] : [unit.state];
  if (facts.global) unitStates = states.filter((state) => state.name === name);
  const journal = withJournal
    ? { lines: readFileSync(join(FIXTURES, 'api', `journal-${name.replace('.service', '')}.txt`), 'utf8').trimEnd().split('\n') }
    : unitStates.length > 0
      ? { error: 'agent on 7e1f0b2c... is not connected' }
      : undefined;
  return formatStatus({ unit, description: facts.description, global: facts.global, states: unitStates, machines, journal }, false);
}
