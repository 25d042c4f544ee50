import type { SchedulerClient } from '../api/client';
import type { Machine, UnitState } from '../api/types';
import type { CommandContext } from '../cli/context';
import { CliError, ExitStatus, NotFoundError } from '../errors';
import { formatStatus, UnitStatusReport } from '../format/status';
import { unitNameFromArgument, unitTextFacts } from '../units/unit-source';
import { reportFailure, throwIfAnyFailed } from './blocking';
import { readJournalTail } from './journal';
import { writeJson } from './list';

export interface StatusOptions {
  lines: number;
  json?: boolean;
}

/**
 * `status UNIT...`: shows each unit's desired and reported state, machine, container, image
 * digest, health, restarts, last exit, placement reason and last log lines. Exits 1 when a unit
 * does not exist or is not active on every machine it is placed on, like `systemctl status`.
 */
export async function statusCommand(args: string[], options: StatusOptions, context: CommandContext): Promise<void> {
  const client = context.client();
  const machines = await client.listMachines();
  const reports: UnitStatusReport[] = [];
  const results: (ExitStatus | undefined)[] = [];

  for (const argument of args) {
    try {
      const report = await gatherStatus(client, unitNameFromArgument(argument), machines, options.lines);
      reports.push(report);
      if (options.json !== true) context.io.stdout.write(`${reports.length > 1 ? '\n' : ''}${formatStatus(report, context.colour)}`);
      results.push(isActive(report) ? undefined : 1);
    } catch (error) {
      results.push(reportFailure(error, context));
    }
  }
  if (options.json === true) writeJson(context, reports.map(({ machines: _machines, ...rest }) => rest));
  throwIfAnyFailed(results);
}

async function gatherStatus(client: SchedulerClient, name: string, machines: Machine[], lines: number): Promise<UnitStatusReport> {
  const unit = await client.findUnit(name);
  if (unit === null) throw new NotFoundError(`unit ${name} not found in the cluster; see berthctl list-unit-files`);
  const { global, description } = unitTextFacts(name, unit.text);
  const states: UnitState[] = global ? await client.listStates({ unit: name }) : unit.state === null ? [] : [unit.state];

  const report: UnitStatusReport = { unit, description, global, states, machines };
  if (states.length > 0 && lines > 0) {
    report.journal = await readJournalTail(client, name, lines).then(
      (journal) => ({ lines: journal }),
      (error: unknown) => {
        if (error instanceof CliError) return { error: error.message };
        throw error;
      },
    );
  }
  return report;
}

function isActive(report: UnitStatusReport): boolean {
  return report.states.length > 0 && report.states.every((state) => state.activeState === 'active');
}
