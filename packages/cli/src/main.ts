#!/usr/bin/env node
import { processIo } from './cli/io';
import { runCli } from './cli/run';

runCli(process.argv.slice(2), processIo()).then((status) => {
  process.exitCode = status;
});
