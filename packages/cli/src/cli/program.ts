import { Command } from 'commander';
import { catCommand } from '../commands/cat';
import { createCommand, CreateVerb } from '../commands/submit';
import { DEFAULT_JOURNAL_LINES, journalCommand } from '../commands/journal';
import { listMachinesCommand, listUnitFilesCommand, listUnitsCommand } from '../commands/list';
import { destroyCommand, stopCommand, unloadCommand } from '../commands/state-change';
import { restartCommand } from '../commands/restart';
import { statusCommand } from '../commands/status';
import { verifyCommand } from '../commands/verify';
import { DEFAULT_ENDPOINT, DEFAULT_REQUEST_TIMEOUT_S } from '../api/client';
import { LIST_MACHINES_DEFAULT_FIELDS } from '../format/list-machines';
import { LIST_UNIT_FILES_DEFAULT_FIELDS } from '../format/list-unit-files';
import { LIST_UNITS_DEFAULT_FIELDS } from '../format/list-units';
import { BLOCK_ATTEMPT_MS, DEFAULT_BLOCK_ATTEMPTS } from '../units/wait';
import { CommandContext, createContext, GlobalOptions, parseCount } from './context';
import type { CliIo } from './io';

type Action = (context: CommandContext, args: unknown[]) => Promise<void>;
/** Wraps an action into a commander action handler that first builds the command context. */
type Runner = (action: Action) => (...args: unknown[]) => Promise<void>;

/**
 * Builds the `berthctl` command tree. Commander is set to throw instead of exiting, so the caller
 * maps usage errors to exit status 2.
 */
export function buildProgram(io: CliIo, version: string): Command {
  const program = new Command('berthctl')
    .description('Control a Berth cluster: submit, start and inspect units through the scheduler API.')
    .version(`berthctl version ${version}`, '-v, --version', 'print the berthctl version and exit')
    .option('--endpoint <url>', `scheduler URL, or a comma-separated list tried in order; env BERTHCTL_ENDPOINT (default: ${DEFAULT_ENDPOINT})`)
    .option('--token <token>', 'API token sent as "Authorization: Bearer TOKEN"; env BERTHCTL_TOKEN')
    .option('--request-timeout <seconds>', `time allowed for each API request, in seconds; env BERTHCTL_REQUEST_TIMEOUT (default: ${DEFAULT_REQUEST_TIMEOUT_S})`)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showSuggestionAfterError()
    .helpCommand('help [command]', 'show help for a command');

  const run: Runner = (action) =>
    async (...args: unknown[]) => {
      // Commander passes the declared arguments, the options, then the command itself.
      const command = args[args.length - 1] as Command;
      await action(createContext(io, command.optsWithGlobals<GlobalOptions>()), args);
    };

  addVerify(program, run);
  addVersion(program, version, io);
  for (const verb of ['submit', 'load', 'start'] as CreateVerb[]) addCreate(program, verb, run);
  addStateChanges(program, run);
  addReads(program, run);
  return program;
}

function addVerify(program: Command, run: Runner): void {
  program
    .command('verify')
    .description('check unit files offline and print every problem as FILE:LINE:COLUMN: SEVERITY: MESSAGE on stdout')
    .argument('<file...>', 'unit files; each unit is named after its file name')
    .option('--json', 'print the diagnostics as a JSON array')
    .action(run((context, [files, options]) => verifyCommand(files as string[], options as { json?: boolean }, context)));
}

function addVersion(program: Command, version: string, io: CliIo): void {
  program
    .command('version')
    .description('print the berthctl version')
    .action(() => io.stdout.write(`berthctl version ${version}\n`));
}

function blockOptions(command: Command, withReplace: boolean): Command {
  if (withReplace) command.option('--replace', 'replace a unit in the cluster whose content differs from the local file');
  return command
    .option('--no-block', 'return once the request is accepted, without waiting for the state')
    .option(
      '--block-attempts <n>',
      `wait up to N attempts of ${BLOCK_ATTEMPT_MS / 1000} s each for the state; 0 waits until it is reached (default: ${DEFAULT_BLOCK_ATTEMPTS})`,
      parseCount('--block-attempts'),
    );
}

function addCreate(program: Command, verb: CreateVerb, run: Runner): void {
  const descriptions: Record<CreateVerb, string> = {
    submit: 'store units in the cluster without scheduling them (desired state inactive)',
    load: 'submit if needed, place the units and create their containers (desired state loaded)',
    start: 'submit if needed and run the units; waits until each is active and, with a health check, healthy',
  };
  const command = program
    .command(verb)
    .description(descriptions[verb])
    .argument('<unit...>', 'unit files or names; ".service" is appended to names without a unit suffix');
  if (verb === 'submit') command.option('--replace', 'replace a unit in the cluster whose content differs from the local file');
  else blockOptions(command, true);
  command.action(run((context, [units, options]) => createCommand(verb, units as string[], withBlock(options), context)));
}

function addStateChanges(program: Command, run: Runner): void {
  const verbs = [
    ['stop', 'stop the units and keep them loaded: a new container is created but not started (desired state loaded)', stopCommand],
    ['unload', 'remove the units from their machines but keep them in the cluster (desired state inactive)', unloadCommand],
    ['destroy', 'delete the units from the cluster; their machines stop and remove them', destroyCommand],
    ['restart', 'stop launched units, wait until they have stopped, then start them and wait until they run', restartCommand],
  ] as const;
  for (const [verb, description, handler] of verbs) {
    blockOptions(program.command(verb).description(description).argument('<unit...>', 'unit names'), false).action(
      run((context, [units, options]) => handler(units as string[], withBlock(options), context)),
    );
  }
}

function addReads(program: Command, run: Runner): void {
  program
    .command('cat')
    .description('print a unit file as it was submitted')
    .argument('<unit>', 'unit name')
    .option('--json', 'print the unit as the API returns it, with its state')
    .action(run((context, [unit, options]) => catCommand(unit as string, options as { json?: boolean }, context)));

  const lists = [
    ['list-units', 'list the state of each unit on each machine', LIST_UNITS_DEFAULT_FIELDS, 'unit, load, active, sub, machine, hash, health, restarts', listUnitsCommand],
    ['list-unit-files', 'list the units stored in the cluster', LIST_UNIT_FILES_DEFAULT_FIELDS, 'unit, global, dstate, state, target, hash, desc, reason', listUnitFilesCommand],
    ['list-machines', 'list the machines whose agents are connected', LIST_MACHINES_DEFAULT_FIELDS, 'machine, ip, metadata, units, cpus, memory, version', listMachinesCommand],
  ] as const;
  for (const [name, description, fields, valid, handler] of lists) {
    program
      .command(name)
      .description(description)
      .option('--fields <fields>', `comma-separated columns to print; valid: ${valid}`, fields)
      .option('--no-legend', 'do not print the header row')
      .option('-l, --full', 'print full unit hashes and machine ids')
      .option('--json', 'print the API objects as JSON instead of a table')
      .action(run((context, [options]) => handler(options as never, context)));
  }

  program
    .command('status')
    .description('show state, machine, container, image, health, restarts, last exit, placement reason and last log lines')
    .argument('<unit...>', 'unit names')
    .option('-n, --lines <n>', 'number of log lines to show; 0 shows none', parseCount('--lines'), DEFAULT_JOURNAL_LINES)
    .option('--json', 'print the gathered reports as JSON')
    .action(run((context, [units, options]) => statusCommand(units as string[], options as never, context)));

  program
    .command('journal')
    .description("print a unit's log through the scheduler")
    .argument('<unit>', 'unit name')
    .option('-n, --lines <n>', 'number of lines to print', parseCount('--lines'), DEFAULT_JOURNAL_LINES)
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('--json', 'print one JSON object per line: {"time", "stream", "message"}')
    .option('--machine <id>', 'machine to read from, a full id or its first 8 characters, for a unit on several machines (Global=true)')
    .action(run((context, [unit, options]) => journalCommand(unit as string, options as never, context)));
}

function withBlock(options: unknown): { block: boolean; blockAttempts?: number; replace?: boolean } {
  return options as { block: boolean; blockAttempts?: number; replace?: boolean };
}
