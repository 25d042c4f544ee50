import { CommanderError } from 'commander';
import { CliError, ExitCode, ExitStatus } from '../errors';
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
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help text).
      return SUCCESS_CODES.has(error.code) ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof CliError) {
      if (error.message !== '') io.stderr.write(`berthctl: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`berthctl: internal error, please report it: ${error instanceof Error ? error.stack : String(error)}\n`);
    return ExitCode.failure;
  }
}
