import type { SchedulerClient } from '../api/client';
import type { CommandContext } from '../cli/context';
import { CliError, ExitCode, ExitStatus, PartialFailureError } from '../errors';
import { machineLegend } from '../format/table';
import { unitTextFacts } from '../units/unit-source';
import type { Observation, WaitVerb } from '../units/target-state';
import { DEFAULT_BLOCK_ATTEMPTS, waitForUnit } from '../units/wait';

/** `--no-block` and `--block-attempts N`, as commander parses them. */
export interface BlockOptions {
  /** False with `--no-block`. */
  block: boolean;
  blockAttempts?: number;
}

/** The fleet state word each verb reports on success (`Unit web.service launched on ...`). */
const REACHED_WORD: Record<WaitVerb, string> = {
  load: 'loaded',
  start: 'launched',
  stop: 'loaded',
  unload: 'inactive',
  destroy: '',
};

/**
 * Waits for each unit to reach the state of `verb`, all at once, printing a line as each one
 * gets there, like fleetctl. With `--no-block` prints `Triggered unit NAME VERB` instead.
 * Each failure is printed as it happens; throws PartialFailureError at the end if any failed.
 */
export async function waitForUnits(names: string[], verb: WaitVerb, options: BlockOptions, context: CommandContext): Promise<void> {
  if (!options.block) {
    for (const name of names) context.io.stdout.write(`Triggered unit ${name} ${verb}\n`);
    return;
  }
  // destroy has already printed "Destroyed NAME"; returning is the sign that cleanup finished.
  const results = await waitEach(names, verb, options.blockAttempts, context, verb !== 'destroy');
  throwIfAnyFailed([...results.values()]);
}

/**
 * Waits for each unit to reach the state of `verb`, all at once, and returns each unit's exit
 * status (undefined when it got there). Failures are printed as they happen; with `announce`,
 * so is each success (`Unit NAME launched on MACHINE`).
 */
export async function waitEach(
  names: string[],
  verb: WaitVerb,
  blockAttempts: number | undefined,
  context: CommandContext,
  announce: boolean,
): Promise<Map<string, ExitStatus | undefined>> {
  const client = context.client();
  const attempts = blockAttempts ?? DEFAULT_BLOCK_ATTEMPTS;
  const results = await Promise.all(
    names.map(async (name): Promise<[string, ExitStatus | undefined]> => {
      try {
        const machineId = await waitForUnit(name, verb, () => observeUnit(client, name, verb), { attempts });
        if (announce) context.io.stdout.write(`Unit ${name} ${REACHED_WORD[verb]}${await onMachine(client, machineId)}\n`);
        return [name, undefined];
      } catch (error) {
        return [name, reportFailure(error, context)];
      }
    }),
  );
  return new Map(results);
}

/** Prints a failed unit's error and returns its exit status; rethrows anything that is not a CliError. */
export function reportFailure(error: unknown, context: CommandContext): ExitStatus {
  if (!(error instanceof CliError)) throw error;
  if (error.message !== '') context.warn(error.message);
  return error.exitCode;
}

/** Throws PartialFailureError with the most severe status when any entry is a failure status. */
export function throwIfAnyFailed(results: (ExitStatus | undefined)[]): void {
  const failures = results.filter((result): result is ExitStatus => result !== undefined && result !== ExitCode.ok);
  if (failures.length === 0) return;
  // An unreachable scheduler outranks a usage error, which outranks an ordinary failure.
  for (const status of [ExitCode.unreachable, ExitCode.usage]) {
    if (failures.includes(status)) throw new PartialFailureError('', status);
  }
  throw new PartialFailureError('', ExitCode.failure);
}

async function observeUnit(client: SchedulerClient, name: string, verb: WaitVerb): Promise<Observation> {
  const unit = await client.findUnit(name);
  if (verb === 'destroy') {
    return { unit, reportedStates: unit === null ? await client.listStates({ unit: name }) : [] };
  }
  return { unit, restartPolicy: unit === null ? undefined : unitTextFacts(name, unit.text).restartPolicy };
}

async function onMachine(client: SchedulerClient, machineId: string | null): Promise<string> {
  if (machineId === null) return '';
  // The address only decorates the success line, so a failed machine lookup is not an error.
  const machines = await client.listMachines().catch(() => []);
  const address = machines.find((machine) => machine.id === machineId)?.address;
  return ` on ${machineLegend(machineId, address, false)}`;
}
