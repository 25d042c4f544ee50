#!/usr/bin/env node
import { processIo } from './cli/io';
import { runCli } from './cli/run';

// A reader that stops early (`berthctl journal -f | head`) closes the pipe; end quietly then.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

runCli(process.argv.slice(2), processIo()).then((status) => {
  process.exitCode = status;
});
