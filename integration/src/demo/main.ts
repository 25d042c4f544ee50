#!/usr/bin/env node
import { demoDirFromEnvironment, demoDown } from './demo-down';
import { DEFAULT_DEMO_DIR } from './demo-state';
import { demoUp } from './demo-up';

const USAGE = 'usage: demo up|down   (state directory: $BERTH_DEMO_DIR, default /tmp/berth-demo)';

async function main(): Promise<void> {
  const dir = demoDirFromEnvironment(DEFAULT_DEMO_DIR);
  const verb = process.argv[2];
  if (verb === 'up') await demoUp(dir);
  else if (verb === 'down') await demoDown(dir);
  else {
    console.error(USAGE);
    process.exitCode = 2;
  }
}

main().catch((error: Error) => {
  console.error(`demo: ${error.message}`);
  process.exitCode = 1;
});
