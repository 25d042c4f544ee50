import { matchUnitGlob, validateUnitGlob } from './glob';
import { splitFleetValue } from './multivalue';
import type { FleetRequirements } from './types';
import type { OptionValue, UnitReader } from './unit-reader';
import { parseUnitName, validateUnitName } from './unit-name';

export const FLEET_SECTION = 'X-Fleet';

/** Words fleet reads as true in `Global=` (case-insensitive); anything else is false. */
const GLOBAL_TRUE_WORDS = ['true', 'yes', '1', 'on', 't'];
const GLOBAL_FALSE_WORDS = ['false', 'no', '0', 'off', 'f', ''];

/** One item of a multi-value line, remembering the option it came from for diagnostics. */
interface Item {
  text: string;
  source: OptionValue;
}

/**
 * Interpret `[X-Fleet]` with fleet's rules, reporting as errors what fleet drops silently
 * (malformed `MachineMetadata` pairs) and the option combinations fleet's API rejects.
 */
export function readFleetSection(reader: UnitReader): FleetRequirements {
  const requirements: FleetRequirements = {
    machineId: readMachineId(reader),
    machineOf: readMachineOf(reader).map((item) => item.text),
    machineMetadata: readMachineMetadata(reader),
    conflicts: readConflicts(reader).map((item) => item.text),
    global: readGlobal(reader),
    replaces: readReplaces(reader).map((item) => item.text),
  };
  if (requirements.machineId === undefined) {
    delete requirements.machineId;
  }
  checkCombinations(reader, requirements);
  return requirements;
}

/** Split every value of the keys (deprecated aliases after the main key) into items. */
function items(reader: UnitReader, key: string, aliases: string[] = []): Item[] {
  const result: Item[] = [];
  for (const name of [key, ...aliases]) {
    for (const value of reader.values(FLEET_SECTION, name)) {
      if (name !== key) {
        reader.warning(value, `${name}= is deprecated; use ${key}=`);
      }
      if (value.usesMachine) {
        reader.error(value, `${name}= uses %H or %m, which are known only after the unit is placed on a machine; scheduling options cannot depend on them`);
      }
      for (const text of splitFleetValue(value.text)) {
        result.push({ text, source: value });
      }
    }
  }
  return result;
}

/**
 * fleet takes the first MachineID value, falling back to X-ConditionMachineID and then to
 * X-ConditionMachineBootID only when the keys before are absent.
 */
function readMachineId(reader: UnitReader): string | undefined {
  const keys = ['MachineID', 'X-ConditionMachineID', 'X-ConditionMachineBootID'];
  const key = keys.find((name) => reader.values(FLEET_SECTION, name).length > 0);
  if (key === undefined) {
    return undefined;
  }
  for (const other of keys.filter((name) => name !== key)) {
    for (const ignored of reader.values(FLEET_SECTION, other)) {
      reader.warning(ignored, `${other}= is ignored because ${key}= is set`);
    }
  }
  const all = items(reader, key);
  for (const extra of all.slice(1)) {
    reader.warning(extra.source, `MachineID value "${extra.text}" is ignored; only the first value, "${all[0].text}", is used`);
  }
  if (key !== 'MachineID') {
    reader.warning(all[0].source, `${key}= is deprecated; use MachineID=`);
  }
  const first = all[0];
  if (first.text.trim() === '' && !first.source.pending) {
    reader.error(first.source, 'MachineID= is empty; give a machine id or its first 8 characters');
  } else if (/\s/.test(first.text)) {
    reader.error(first.source, `MachineID "${first.text}" contains blanks; give one machine id`);
  }
  return first.text;
}

function readMachineOf(reader: UnitReader): Item[] {
  const all = items(reader, 'MachineOf', ['X-ConditionMachineOf']);
  for (const item of all) {
    if (item.source.pending) {
      continue;
    }
    const problem = machineOfProblem(item.text, reader.nameInfo.name);
    if (problem !== undefined) {
      reader.error(item.source, problem);
    }
  }
  return all;
}

function machineOfProblem(peer: string, self: string): string | undefined {
  if (/\s/.test(peer)) {
    return `MachineOf value "${peer}" contains blanks; name one unit per value: quote each name ("a.service" "b.service") or use one line per name`;
  }
  const invalid = validateUnitName(peer);
  if (invalid !== undefined) {
    return `MachineOf: ${invalid}`;
  }
  if (parseUnitName(peer)?.isTemplate === true) {
    return `MachineOf names template "${peer}", which never runs; name an instance such as "${peer.replace('@.', '@1.')}"`;
  }
  if (peer === self) {
    return `MachineOf names the unit itself ("${peer}"); name the unit this one must run next to`;
  }
  return undefined;
}

/**
 * A repeated key adds allowed values (OR) and different keys must all match (AND). Malformed
 * pairs are errors here, where fleet ignores them without a word.
 */
function readMachineMetadata(reader: UnitReader): Record<string, string[]> {
  const metadata: Record<string, string[]> = {};
  for (const item of items(reader, 'MachineMetadata', ['X-ConditionMachineMetadata'])) {
    const problem = item.source.pending ? undefined : metadataProblem(item.text);
    if (problem !== undefined) {
      reader.error(item.source, problem);
      continue;
    }
    const [key, value] = item.text.split('=');
    const values = (metadata[key] ??= []);
    if (!values.includes(value)) {
      values.push(value);
    }
  }
  return metadata;
}

function metadataProblem(pair: string): string | undefined {
  const parts = pair.split('=');
  if (/\s/.test(pair)) {
    return `MachineMetadata "${pair}" contains blanks; write one key=value pair per value, quoting each pair ("role=web" "disk=ssd") or using one line per pair`;
  }
  if (parts.length !== 2) {
    return `MachineMetadata "${pair}" must contain exactly one "="; write key=value, for example role=web`;
  }
  if (parts[0] === '') {
    return `MachineMetadata "${pair}" has an empty key; write key=value, for example role=web`;
  }
  if (parts[1] === '') {
    return `MachineMetadata "${pair}" has an empty value; write key=value, for example role=web`;
  }
  return undefined;
}

/** Conflicts values are split at blanks as well, so one line may list several globs. */
function readConflicts(reader: UnitReader): Item[] {
  const all = items(reader, 'Conflicts', ['X-Conflicts']).flatMap((item) =>
    item.text
      .split(/\s+/)
      .filter((text) => text !== '')
      .map((text) => ({ text, source: item.source })),
  );
  checkGlobs(reader, 'Conflicts', all);
  return all;
}

/** Replaces values are not split at blanks, so a blank is reported rather than kept. */
function readReplaces(reader: UnitReader): Item[] {
  const all = items(reader, 'Replaces');
  for (const item of all) {
    if (/\s/.test(item.text)) {
      reader.error(item.source, `Replaces value "${item.text}" contains blanks; give one pattern per line or quote each pattern`);
    }
  }
  checkGlobs(reader, 'Replaces', all.filter((item) => !/\s/.test(item.text)));
  return all;
}

function checkGlobs(reader: UnitReader, key: string, all: Item[]): void {
  for (const item of all) {
    const problem = item.text === '' ? 'the pattern is empty' : validateUnitGlob(item.text);
    if (problem !== undefined && !item.source.pending) {
      reader.error(item.source, `${key}: ${problem}`);
    }
  }
}

/** Read `Global=`: the last value wins, and words outside fleet's true and false lists are read as false. */
function readGlobal(reader: UnitReader): boolean {
  let global = false;
  for (const item of items(reader, 'Global')) {
    const word = item.text.trim().toLowerCase();
    global = GLOBAL_TRUE_WORDS.includes(word);
    if (!global && !GLOBAL_FALSE_WORDS.includes(word)) {
      reader.warning(item.source, `Global value "${item.text}" is not a boolean and is read as false; write true or false`);
    }
  }
  return global;
}

/** Reject the combinations fleet's API rejects, each reported at the option that completes it. */
function checkCombinations(reader: UnitReader, fleet: FleetRequirements): void {
  const at = (key: string): OptionValue | undefined => reader.values(FLEET_SECTION, key)[0];
  const machineIdAt = at('MachineID') ?? at('X-ConditionMachineID') ?? at('X-ConditionMachineBootID');
  const globalAt = fleet.global ? reader.values(FLEET_SECTION, 'Global').at(-1) : undefined;
  const machineOfAt = at('MachineOf') ?? at('X-ConditionMachineOf');
  const conflictsAt = at('Conflicts') ?? at('X-Conflicts');
  const replacesAt = at('Replaces');

  const pairs: Array<[OptionValue | undefined, OptionValue | undefined, string]> = [
    [machineIdAt, machineOfAt, 'a unit pinned to one machine cannot also follow another unit'],
    [machineIdAt, conflictsAt, 'a unit pinned to one machine cannot also avoid other units'],
    [machineIdAt, globalAt, 'a global unit runs on every machine, so it cannot be pinned to one'],
    [machineIdAt, replacesAt, 'a unit pinned to one machine cannot also displace other units'],
    [globalAt, machineOfAt, 'a global unit runs on every machine, so it cannot follow another unit'],
    [globalAt, replacesAt, 'a global unit runs on every machine, so it cannot displace other units'],
    [conflictsAt, replacesAt, 'fleet does not allow Conflicts= and Replaces= in one unit'],
  ];
  for (const [first, second, reason] of pairs) {
    if (first !== undefined && second !== undefined) {
      const [early, late] = first.option.line <= second.option.line ? [first, second] : [second, first];
      reader.error(late, `${late.option.name}= cannot be combined with ${early.option.name}= (line ${early.option.line}): ${reason}`);
    }
  }
  checkPeersAgainstGlobs(reader, fleet, machineOfAt);
}

/** Reject a MachineOf peer that Conflicts or Replaces also matches, since it can never be satisfied. */
function checkPeersAgainstGlobs(reader: UnitReader, fleet: FleetRequirements, machineOfAt: OptionValue | undefined): void {
  if (machineOfAt === undefined) {
    return;
  }
  for (const peer of fleet.machineOf) {
    for (const [key, patterns] of [['Conflicts', fleet.conflicts], ['Replaces', fleet.replaces]] as const) {
      const pattern = patterns.find((glob) => matchUnitGlob(glob, peer));
      if (pattern !== undefined) {
        reader.error(
          machineOfAt,
          `MachineOf peer "${peer}" is also matched by ${key}=${pattern}; a unit cannot both share a machine with another unit and ${key === 'Conflicts' ? 'avoid' : 'displace'} it`,
        );
      }
    }
  }
}
