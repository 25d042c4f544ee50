import { formatDiagnostic, parseUnitName } from '@berth/unitfile';
import type { Diagnostic } from '@berth/unitfile';
import type { SchedulerClient } from '../api/client';
import type { FleetState } from '../api/types';
import type { CommandContext } from '../cli/context';
import { ApiError, ExitStatus, UnitFileError } from '../errors';
import { LocalUnit, readLocalUnit, unitTextFacts } from '../units/unit-source';
import { BlockOptions, reportFailure, throwIfAnyFailed, waitForUnits } from './blocking';

/** The commands that create units: each sets a desired state after making sure the unit exists. */
export type CreateVerb = 'submit' | 'load' | 'start';

const DESIRED_STATE: Record<CreateVerb, FleetState> = { submit: 'inactive', load: 'loaded', start: 'launched' };

export interface CreateOptions extends BlockOptions {
  replace?: boolean;
}

/**
 * `submit`, `load` and `start`: creates each unit from its local file (or, for an instance, a
 * local template file or the template stored in the cluster), sets its desired state, then waits
 * for load and start as fleetctl does. A unit that exists in the cluster with other content is
 * kept, with a warning, unless `--replace` is given. Global units are not waited for.
 */
export async function createCommand(verb: CreateVerb, args: string[], options: CreateOptions, context: CommandContext): Promise<void> {
  const client = context.client();
  const toWait: string[] = [];
  const results: (ExitStatus | undefined)[] = [];

  for (const argument of args) {
    try {
      const { name, global } = await createOne(verb, argument, options, context, client);
      if (verb === 'submit') continue;
      if (global) context.io.stdout.write(`Triggered global unit ${name} ${verb}\n`);
      else toWait.push(name);
    } catch (error) {
      results.push(reportFailure(error, context));
    }
  }

  if (verb !== 'submit' && toWait.length > 0) {
    await waitForUnits(toWait, verb, options, context).catch((error: unknown) => results.push(reportFailure(error, context)));
  }
  throwIfAnyFailed(results);
}

async function createOne(
  verb: CreateVerb,
  argument: string,
  options: CreateOptions,
  context: CommandContext,
  client: SchedulerClient,
): Promise<{ name: string; global: boolean }> {
  const local = await readLocalUnit(argument, context.io);
  for (const warning of local.warnings) context.warn(formatDiagnostic(warning));
  const desiredState = DESIRED_STATE[verb];

  if (local.text !== undefined) {
    await putLocalUnit(local, desiredState, options.replace === true, context, client);
    return { name: local.name, global: local.unit?.fleet.global === true };
  }
  if (options.replace === true) {
    throw new UnitFileError(`cannot replace unit ${local.name}: no local file ${local.path} to replace it with`);
  }
  return useStoredUnit(verb, local, desiredState, context, client);
}

async function putLocalUnit(
  local: LocalUnit,
  desiredState: FleetState,
  replace: boolean,
  context: CommandContext,
  client: SchedulerClient,
): Promise<void> {
  try {
    const { created } = await client.putUnit(local.name, { text: local.text, desiredState, replace });
    if (created && desiredState === 'inactive') context.io.stdout.write(`Unit ${local.name} inactive\n`);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'conflict') {
      context.warn(
        `unit ${local.name} in the cluster differs from the local unit file ${local.textFile}; ` +
          'keeping the version in the cluster. Add --replace to use the local file',
      );
      if (desiredState !== 'inactive') await client.setDesiredState(local.name, desiredState);
      return;
    }
    throw withDiagnostics(error, local);
  }
}

/** No local file: use the unit stored in the cluster, or for an instance the stored template. */
async function useStoredUnit(
  verb: CreateVerb,
  local: LocalUnit,
  desiredState: FleetState,
  context: CommandContext,
  client: SchedulerClient,
): Promise<{ name: string; global: boolean }> {
  const stored = await client.findUnit(local.name);
  if (stored !== null) {
    if (stored.desiredState !== desiredState && verb !== 'submit') await client.setDesiredState(local.name, desiredState);
    return { name: local.name, global: unitTextFacts(local.name, stored.text).global };
  }

  if (parseUnitName(local.name)?.isInstance !== true) {
    throw new UnitFileError(`unit ${local.name} not found: there is no file ${local.path} and no unit of that name in the cluster`);
  }
  const { created } = await client.putUnit(local.name, { desiredState });
  if (created && desiredState === 'inactive') context.io.stdout.write(`Unit ${local.name} inactive\n`);
  const instance = await client.findUnit(local.name);
  return { name: local.name, global: instance === null ? false : unitTextFacts(local.name, instance.text).global };
}

/** Adds the per-line problems of a `400 invalid_argument` response to its message. */
function withDiagnostics(error: unknown, local: LocalUnit): unknown {
  if (!(error instanceof ApiError) || !Array.isArray(error.details.diagnostics)) return error;
  const lines = (error.details.diagnostics as Diagnostic[]).map((diagnostic) =>
    formatDiagnostic({ ...diagnostic, file: local.textFile ?? diagnostic.file }),
  );
  return new UnitFileError(`the scheduler rejected unit ${local.name}: ${error.message}\n${lines.join('\n')}`);
}
