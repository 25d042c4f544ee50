#!/usr/bin/env node
import { CommanderError } from 'commander';
import { startScheduler } from './app';
import { parseConfig } from './config/config';
import { createLogger } from './logger';

const EXIT_USAGE = 2;
const EXIT_STARTUP_FAILED = 1;

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
    process.stderr.write(`berth-scheduler: ${(error as Error).message}\n`);
    process.exit(EXIT_USAGE);
  }
  const logger = createLogger(config.logLevel, config.replicaId);
  try {
    await startScheduler(config, logger);
  } catch (error) {
    logger.fatal({ err: (error as Error).message }, 'scheduler failed to start');
    process.exit(EXIT_STARTUP_FAILED);
  }
}

void main();
