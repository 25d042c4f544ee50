#!/usr/bin/env node
import { applyDaemonV8Flags } from './v8-tuning';

applyDaemonV8Flags();
// Loaded only after the V8 flags are set, so that they apply to all of the agent's code.
const { runCli } = require('./cli') as typeof import('./cli');

runCli(process.argv).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`berth-agent: ${error.message}\n`);
    process.exit(1);
  },
);
