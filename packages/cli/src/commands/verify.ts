import { basename, resolve } from 'node:path';
import { formatDiagnostic, hasErrors, loadUnit, sortDiagnostics } from '@berth/unitfile';
import type { Diagnostic } from '@berth/unitfile';
import type { CommandContext } from '../cli/context';
import { PartialFailureError } from '../errors';

export interface VerifyOptions {
  json?: boolean;
}

/**
 * `berthctl verify FILE...`: checks unit files offline. Diagnostics go to stdout as
 * `file:line:column: severity: message` (or one JSON array with `--json`), because they are the
 * command's output. A file that cannot be read is reported on stderr. The unit name is each
 * file's base name. Throws PartialFailureError when any file has an error or cannot be read.
 */
export async function verifyCommand(files: string[], options: VerifyOptions, context: CommandContext): Promise<void> {
  const { io } = context;
  const all: Diagnostic[] = [];
  let failed = false;

  for (const file of files) {
    let text: string;
    try {
      text = await io.readFile(resolve(io.cwd, file));
    } catch (error) {
      context.warn(`cannot read unit file ${file}: ${(error as Error).message}`);
      failed = true;
      continue;
    }
    const diagnostics = sortDiagnostics(loadUnit(basename(file), text, file).diagnostics);
    if (hasErrors(diagnostics)) failed = true;
    all.push(...diagnostics);
  }

  if (options.json === true) io.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  else for (const diagnostic of all) io.stdout.write(`${formatDiagnostic(diagnostic)}\n`);
  if (failed) throw new PartialFailureError('');
}
