import { CONTAINER_SECTION, readContainerSection } from './container-section';
import { DiagnosticSink, hasErrors, sortDiagnostics } from './diagnostic';
import { readFleetSection } from './fleet-section';
import { reportUnknownKeys } from './known-keys';
import { parseUnitFile } from './parser';
import { readServiceResources, readServiceSection, UNIT_SECTION, type OptionResult } from './service-section';
import type { MachineIdentity } from './specifiers';
import type { ContainerSpec, LoadResult, UnitFileDocument, UnitNameInfo } from './types';
import { unitHash } from './unit-hash';
import { UnitReader } from './unit-reader';
import { parseUnitName, validateUnitName } from './unit-name';

/**
 * Parse and interpret a unit file submitted under `name`: validate the name, read `[Unit]`,
 * `[X-Fleet]`, `[Container]` and `[Service]`, and expand specifiers for this unit (`%H` and `%m`
 * only when `machine` is given, which the agent does). The stored text and the hash are never
 * affected by expansion. Templates load so they can be stored; their `%i` stays unexpanded and
 * checks that depend on it run when an instance is loaded. Every problem is returned as a
 * diagnostic, sorted by line; `unit` is set only when none of them is an error. Never throws.
 * @param file the path shown in diagnostics; defaults to the unit name
 */
export function loadUnit(name: string, text: string, file?: string, machine?: MachineIdentity): LoadResult {
  const sink = new DiagnosticSink(file ?? name);
  const { document, diagnostics } = parseUnitFile(text, sink.file);
  sink.diagnostics.push(...diagnostics);
  const nameInfo = checkName(name, sink);
  reportUnknownKeys(document, sink);

  const reader = new UnitReader(document, sink, nameInfo, machine);
  const description = reader.last(UNIT_SECTION, 'Description')?.text ?? '';
  const fleet = readFleetSection(reader);
  const container = readContainerSection(reader);
  const service = readServiceSection(reader);
  foldServiceResources(reader, container);
  checkRunnable(document, sink, nameInfo, container);

  const sorted = sortDiagnostics(sink.diagnostics);
  if (hasErrors(sorted)) {
    return { diagnostics: sorted };
  }
  const unit = { name, nameInfo, text, hash: unitHash(document), description, fleet, service, document };
  return { unit: container === undefined ? unit : { ...unit, container }, diagnostics: sorted };
}

/** Report an invalid name; returns its parts (a best-effort split when the name is invalid). */
function checkName(name: string, sink: DiagnosticSink): UnitNameInfo {
  const problem = validateUnitName(name);
  if (problem !== undefined) {
    sink.error(0, 0, problem);
  }
  const info = parseUnitName(name) ?? {
    name,
    prefix: name,
    instance: '',
    suffix: '',
    isTemplate: false,
    isInstance: false,
    template: '',
  };
  if (problem === undefined && info.suffix !== 'service') {
    sink.error(0, 0, `unit "${name}" is a .${info.suffix} unit; not supported: Berth runs containers as .service units`);
  }
  return info;
}

/**
 * `[Service]` resource keys set the same limits as their `[Container]` counterparts; when both
 * are given, `[Container]` wins and the other is reported.
 */
function foldServiceResources(reader: UnitReader, container: ContainerSpec | undefined): void {
  const resources = readServiceResources(reader);
  const pairs: Array<[keyof typeof resources, 'memoryBytes' | 'cpus' | 'pidsLimit', string]> = [
    ['memoryBytes', 'memoryBytes', 'Memory'],
    ['cpus', 'cpus', 'CPUs'],
    ['pidsLimit', 'pidsLimit', 'PidsLimit'],
  ];
  for (const [from, to, containerKey] of pairs) {
    const result: OptionResult<number> | undefined = resources[from];
    if (result === undefined || container === undefined) {
      continue;
    }
    if (container[to] !== undefined) {
      reader.warning(result.source, `${result.source.option.name}= is ignored because [Container] ${containerKey}= is set`);
    } else {
      container[to] = result.value;
    }
  }
}

/** Report a missing image, except in templates, whose instances are checked when they load. */
function checkRunnable(
  document: UnitFileDocument,
  sink: DiagnosticSink,
  nameInfo: UnitNameInfo,
  container: ContainerSpec | undefined,
): void {
  if (nameInfo.isTemplate || (container !== undefined && container.image !== '')) {
    return;
  }
  const header = document.sections?.find((section) => section.name === CONTAINER_SECTION);
  const where = container === undefined ? 'the unit has no [Container] section' : '[Container] has no Image=';
  sink.error(header?.line ?? 0, header === undefined ? 0 : 1, `${where}; Berth runs containers: add [Container] with Image=`);
}
