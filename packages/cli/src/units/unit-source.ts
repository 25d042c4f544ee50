import { basename, dirname, join, resolve } from 'node:path';
import { formatDiagnostic, hasErrors, loadUnit, normalizeUnitName, parseUnitName, validateUnitName } from '@berth/unitfile';
import type { Diagnostic, Unit } from '@berth/unitfile';
import { UnitFileError, UsageError } from '../errors';
import type { CliIo } from '../cli/io';

/** A unit named on the command line, with the local file text when one exists. */
export interface LocalUnit {
  /** Full unit name, such as `web@1.service`. */
  name: string;
  /** The path the argument points to, with `.service` appended when it had no unit suffix. */
  path: string;
  /** Unit file text from `path`, or from the template file beside it for an instance. */
  text?: string;
  /** The file `text` came from. */
  textFile?: string;
  /** The interpreted unit, when `text` is set. */
  unit?: Unit;
  /** Warnings found in `text`. */
  warnings: Diagnostic[];
}

/**
 * Turns a unit name from the command line into a full unit name, as fleetctl does: the last path
 * component, with `.service` appended unless it ends in a unit suffix. Throws UsageError for a
 * name systemd would reject.
 */
export function unitNameFromArgument(argument: string): string {
  const name = normalizeUnitName(argument);
  const problem = validateUnitName(name);
  if (problem !== undefined) throw new UsageError(problem);
  return name;
}

/**
 * Resolves an argument of submit, load or start: reads `ARG` (or `ARG.service`) when it exists,
 * else for an instance `web@1.service` the template `web@.service` in the same directory.
 * Returns no text when neither file exists, so the caller can use the unit or template stored in
 * the cluster. Throws UnitFileError when a file exists but cannot be read or has errors.
 */
export async function readLocalUnit(argument: string, io: CliIo): Promise<LocalUnit> {
  const name = unitNameFromArgument(argument);
  const path = resolve(io.cwd, basename(argument) === name ? argument : join(dirname(argument), name));
  const candidates = [path];
  const info = parseUnitName(name);
  if (info?.isInstance === true) candidates.push(join(dirname(path), info.template));

  for (const file of candidates) {
    const text = await readIfExists(file, io);
    if (text === undefined) continue;
    const result = loadUnit(name, text, file);
    if (hasErrors(result.diagnostics) || result.unit === undefined) {
      const lines = result.diagnostics.map(formatDiagnostic).join('\n');
      throw new UnitFileError(`unit file ${file} is invalid:\n${lines}`);
    }
    return { name, path, text, textFile: file, unit: result.unit, warnings: result.diagnostics };
  }
  return { name, path, warnings: [] };
}

async function readIfExists(file: string, io: CliIo): Promise<string | undefined> {
  try {
    return await io.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UnitFileError(`cannot read unit file ${file}: ${(error as Error).message}`);
  }
}

/** Facts from a stored unit's text that the list and wait code use. */
export interface UnitTextFacts {
  global: boolean;
  description: string;
  restartPolicy?: Unit['service']['restart'];
}

/**
 * Reads `Global=`, `Description=` and `Restart=` from a unit's stored text. Text the local parser
 * rejects (a scheduler newer than this berthctl, say) yields defaults rather than an error,
 * because these facts only decorate the output.
 */
export function unitTextFacts(name: string, text: string): UnitTextFacts {
  const { unit } = loadUnit(name, text);
  if (unit === undefined) return { global: false, description: '' };
  return { global: unit.fleet.global, description: unit.description, restartPolicy: unit.service.restart };
}
