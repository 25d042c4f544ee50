import type { CommandContext } from '../cli/context';
import { NotFoundError } from '../errors';
import { unitNameFromArgument } from '../units/unit-source';
import { writeJson } from './list';

/**
 * `cat UNIT`: prints the unit file exactly as it was submitted (fleetctl printed a re-serialized
 * copy). Throws NotFoundError when the cluster has no such unit.
 */
export async function catCommand(argument: string, options: { json?: boolean }, context: CommandContext): Promise<void> {
  const name = unitNameFromArgument(argument);
  const unit = await context.client().findUnit(name);
  if (unit === null) throw new NotFoundError(`unit ${name} not found in the cluster; see berthctl list-unit-files`);
  if (options.json === true) return writeJson(context, unit);
  context.io.stdout.write(unit.text.endsWith('\n') || unit.text === '' ? unit.text : `${unit.text}\n`);
}
