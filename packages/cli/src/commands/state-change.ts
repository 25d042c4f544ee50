import type { SchedulerClient } from '../api/client';
import type { CommandContext } from '../cli/context';
import { ApiError, ExitStatus, NotFoundError, UnitStateError } from '../errors';
import { unitNameFromArgument, unitTextFacts } from '../units/unit-source';
import { BlockOptions, reportFailure, throwIfAnyFailed, waitForUnits } from './blocking';

/**
 * `stop`: sets each loaded or launched unit's desired state to `loaded` and waits until its
 * container is stopped. A unit that is not in the cluster, or is only submitted (desired state
 * `inactive`), is an error, as with fleetctl's inactive units. Unlike fleetctl, a missing unit
 * makes the command exit 1.
 */
export async function stopCommand(args: string[], options: BlockOptions, context: CommandContext): Promise<void> {
  const client = context.client();
  await changeEach(args, 'stop', options, context, async (name) => {
    const unit = await requireUnit(client, name);
    if (unit.desiredState === 'inactive') {
      throw new UnitStateError(`cannot stop unit ${name}: it is not loaded (desired state inactive); use berthctl load or start first`);
    }
    if (unit.desiredState !== 'loaded') await client.setDesiredState(name, 'loaded');
    return waitKind(name, unit.text);
  });
}

/** `unload`: sets each unit's desired state to `inactive`, so it is removed from its machine but kept. */
export async function unloadCommand(args: string[], options: BlockOptions, context: CommandContext): Promise<void> {
  const client = context.client();
  await changeEach(args, 'unload', options, context, async (name) => {
    const unit = await requireUnit(client, name);
    if (unit.desiredState !== 'inactive') await client.setDesiredState(name, 'inactive');
    return waitKind(name, unit.text);
  });
}

/**
 * `destroy`: deletes each unit and waits until no machine reports it. A unit that does not exist
 * is reported on stderr but is not an error, as in fleetctl, so destroy can be repeated safely.
 */
export async function destroyCommand(args: string[], options: BlockOptions, context: CommandContext): Promise<void> {
  const client = context.client();
  await changeEach(args, 'destroy', options, context, async (name) => {
    try {
      await client.deleteUnit(name);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      context.warn(`unit ${name} not found; nothing to destroy`);
      return 'none';
    }
    context.io.stdout.write(`Destroyed ${name}\n`);
    return 'wait';
  });
}

/** The follow-up to a changed unit: a wait, a `Triggered global unit` line, or nothing. */
type FollowUp = 'wait' | 'global' | 'none';

/**
 * Applies `change` to each named unit in order, then waits for the ones that need it. Global
 * units are not waited for, as in fleetctl, because they have no single machine to watch.
 */
async function changeEach(
  args: string[],
  verb: 'stop' | 'unload' | 'destroy',
  options: BlockOptions,
  context: CommandContext,
  change: (name: string) => Promise<FollowUp>,
): Promise<void> {
  const toWait: string[] = [];
  const results: (ExitStatus | undefined)[] = [];
  for (const argument of args) {
    try {
      const name = unitNameFromArgument(argument);
      const followUp = await change(name);
      if (followUp === 'wait') toWait.push(name);
      if (followUp === 'global') context.io.stdout.write(`Triggered global unit ${name} ${verb}\n`);
    } catch (error) {
      results.push(reportFailure(error, context));
    }
  }
  if (toWait.length > 0) {
    await waitForUnits(toWait, verb, options, context).catch((error: unknown) => results.push(reportFailure(error, context)));
  }
  throwIfAnyFailed(results);
}

function waitKind(name: string, text: string): FollowUp {
  return unitTextFacts(name, text).global ? 'global' : 'wait';
}

async function requireUnit(client: SchedulerClient, name: string) {
  const unit = await client.findUnit(name);
  if (unit === null) throw new NotFoundError(`unit ${name} not found in the cluster; see berthctl list-unit-files`);
  return unit;
}
