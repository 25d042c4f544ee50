import { CommanderError } from 'commander';
import { CliError, ExitCode, ExitStatus, UsageError } from '../errors';
import { cliVersion } from './context';
import type { CliIo } from './io';
import { buildProgram } from './program';

/** Commander codes that end a run successfully: help or version was requested and printed. */
const SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * Runs berthctl with `argv` (without the node and script paths) and returns the exit status.
 * Every expected failure is printed to stderr as `berthctl: MESSAGE`; a bug is printed with its
 * stack and exits 1.
 */
export async function runCli(argv: string[], io: CliIo): Promise<ExitStatus> {
  const program = buildProgram(io, cliVersion());
  const commandNames = program.commands.map((command) => command.name());
  try {
    await program.parseAsync(expandCommandPrefix(argv, commandNames), { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help text). `berthctl help` succeeds,
      // but a bare `berthctl` prints the same help as a usage error.
      if (SUCCESS_CODES.has(error.code) || (error.code === 'commander.help' && argv.length > 0)) return ExitCode.ok;
      return ExitCode.usage;
    }
    if (error instanceof CliError) {
      if (error.message !== '') io.stderr.write(`berthctl: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`berthctl: internal error, please report it: ${error instanceof Error ? error.stack : String(error)}\n`);
    return ExitCode.failure;
  }
}

/** Global flags that take a value in the next argument. */
const GLOBAL_FLAGS_WITH_VALUE = new Set(['--endpoint', '--token', '--request-timeout']);

/**
 * Replaces a unique prefix of a command name with the name (`berthctl j web` runs `journal`), as
 * fleetctl accepted. Throws a UsageError listing the candidates for an ambiguous prefix; an
 * unknown word is left for commander to reject.
 */
export function expandCommandPrefix(argv: string[], commandNames: string[]): string[] {
  let index = 0;
  while (index < argv.length && argv[index].startsWith('-')) {
    index += GLOBAL_FLAGS_WITH_VALUE.has(argv[index]) ? 2 : 1;
  }
  const word = argv[index];
  if (word === undefined || commandNames.includes(word)) return argv;

  const matches = commandNames.filter((name) => name.startsWith(word));
  if (matches.length > 1) {
    throw new UsageError(`ambiguous command "${word}": it matches ${matches.join(', ')}; type more of the name`);
  }
  if (matches.length === 0) return argv;
  return [...argv.slice(0, index), matches[0], ...argv.slice(index + 1)];
}
