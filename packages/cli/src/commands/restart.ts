import type { CommandContext } from '../cli/context';
import { ExitStatus, NotFoundError, UnitStateError } from '../errors';
import { unitNameFromArgument, unitTextFacts } from '../units/unit-source';
import { BlockOptions, reportFailure, throwIfAnyFailed, waitEach, waitForUnits } from './blocking';

/**
 * `restart`: stops each launched unit, waits until its container has stopped, then starts it
 * again and waits until it runs, as `stop` and `start` would. A unit that is only loaded is
 * started. The stop is always awaited, even with `--no-block`, because setting `loaded` and
 * `launched` back to back could reach the agent as no change at all.
 */
export async function restartCommand(args: string[], options: BlockOptions, context: CommandContext): Promise<void> {
  const client = context.client();
  const results: (ExitStatus | undefined)[] = [];
  const toStop: string[] = [];
  const toStart: string[] = [];

  for (const argument of args) {
    try {
      const name = unitNameFromArgument(argument);
      const unit = await client.findUnit(name);
      if (unit === null) throw new NotFoundError(`unit ${name} not found in the cluster; see berthctl list-unit-files`);
      if (unit.desiredState === 'inactive') {
        throw new UnitStateError(`cannot restart unit ${name}: it is not loaded (desired state inactive); use berthctl start`);
      }
      if (unitTextFacts(name, unit.text).global) {
        // NOTE: a global unit has no single machine to watch for the stop, so the two-step restart
        // cannot be confirmed. fleetctl ran systemctl restart over SSH on every machine instead.
        throw new UnitStateError(`restarting global unit ${name} is not supported; use berthctl stop, then berthctl start`);
      }
      if (unit.desiredState === 'launched') {
        await client.setDesiredState(name, 'loaded');
        toStop.push(name);
      }
      toStart.push(name);
    } catch (error) {
      results.push(reportFailure(error, context));
    }
  }

  const stopped = await waitEach(toStop, 'stop', options.blockAttempts, context, false);
  results.push(...stopped.values());
  const ready = toStart.filter((name) => stopped.get(name) === undefined);
  const started: string[] = [];
  for (const name of ready) {
    try {
      await client.setDesiredState(name, 'launched');
      started.push(name);
    } catch (error) {
      results.push(reportFailure(error, context));
    }
  }
  if (started.length > 0) {
    await waitForUnits(started, 'start', options, context).catch((error: unknown) => results.push(reportFailure(error, context)));
  }
  throwIfAnyFailed(results);
}
