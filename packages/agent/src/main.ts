#!/usr/bin/env node
import { runCli } from './cli';

runCli(process.argv).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`berth-agent: ${error.message}\n`);
    process.exit(1);
  },
);
