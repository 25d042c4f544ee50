#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { ContainerState, Runtime, RuntimeError } from '../runtime';

const USAGE = `usage: berth-runtime [--root DIR] COMMAND [ARGS]

commands:
  create ID --bundle DIR [--stdout FILE] [--stderr FILE] [--init]
  start ID
  run ID --bundle DIR [--stdout FILE] [--stderr FILE] [--init]
                           create, start, wait, delete; exits with the container's code
  state ID                 print the OCI state as JSON
  kill ID [SIGNAL]         default SIGTERM
  delete ID [--force]      --force kills a running container first
  list [--format table|json]

--root sets the run directory (default /run/berth/runtime). Without --stdout/--stderr, "run"
connects the container to this command's own stdout and stderr, and "create" discards them.`;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      bundle: { type: 'string', short: 'b' },
      stdout: { type: 'string' },
      stderr: { type: 'string' },
      init: { type: 'boolean' },
      force: { type: 'boolean', short: 'f' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, id, extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  const runtime = new Runtime({ runDir: values.root });
  const needId = () => {
    if (!id) throw new UsageError(`${command}: missing container ID`);
    return id;
  };
  const needBundle = () => {
    if (!values.bundle) throw new UsageError(`${command}: missing --bundle DIR`);
    return values.bundle;
  };

  switch (command) {
    case 'create':
      await runtime.create(needId(), needBundle(), { stdoutPath: values.stdout, stderrPath: values.stderr, init: values.init });
      return EXIT_OK;
    case 'start':
      await runtime.start(needId());
      return EXIT_OK;
    case 'run':
      return run(runtime, needId(), needBundle(), values);
    case 'state':
      process.stdout.write(`${JSON.stringify(await runtime.state(needId()), null, 2)}\n`);
      return EXIT_OK;
    case 'kill':
      await runtime.kill(needId(), extra ?? 'SIGTERM');
      return EXIT_OK;
    case 'delete':
      await runtime.delete(needId(), { force: values.force });
      return EXIT_OK;
    case 'list':
      printList(await runtime.list(), values.format ?? 'table');
      return EXIT_OK;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function run(runtime: Runtime, id: string, bundle: string, values: { stdout?: string; stderr?: string; init?: boolean }): Promise<number> {
  // Without files, the container writes straight to this command's stdout and stderr.
  const stdoutFd = values.stdout ? undefined : 1;
  const stderrFd = values.stderr ? undefined : 2;
  await runtime.run(id, bundle, { stdoutPath: values.stdout, stderrPath: values.stderr, stdoutFd, stderrFd, init: values.init });
  const final = await runtime.waitExit(id);
  await runtime.delete(id);
  return final.exitCode ?? EXIT_FAILURE;
}

function printList(states: ContainerState[], format: string): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(states, null, 2)}\n`);
    return;
  }
  if (format !== 'table') throw new UsageError(`--format: expected table or json, got "${format}"`);
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED'], ...states.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created])];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const prefix = error instanceof RuntimeError || usage ? '' : 'internal error: ';
    process.stderr.write(`berth-runtime: ${prefix}${(error as Error).message}\n`);
    if (usage) process.stderr.write(`${USAGE}\n`);
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILURE;
  },
);
