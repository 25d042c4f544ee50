import { mkdirSync } from 'node:fs';
import { Agent, AGENT_VERSION } from './agent';
import { parseCommandLine } from './cli-args';
import { AgentConfig } from './config/agent-config';
import { loadConfig } from './config/load-config';
import { loadAgentGateway } from './connection/proto';
import { controlSocketPath, sendControlCommand } from './control/control-socket';
import { ConfigError, errorMessage, UsageError } from './errors';
import { NsenterCommandRunner } from './health/nsenter-runner';
import { createLogger, Logger } from './logger';
import { garbageCollector } from './runtime/memory-reclaimer';
import { createNativePorts } from './runtime/native-adapters';
import { nativeRuntime } from '@berth/runtime-native/dist/runtime/native';

/** Process exit codes of berth-agent. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID_CONFIG = 2;

/** Parses `argv` (all of `process.argv`) and runs the chosen command; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_FAILURE;
  }
  switch (command.command) {
    case 'help':
      process.stdout.write(command.text);
      return EXIT_OK;
    case 'version':
      process.stdout.write(`${AGENT_VERSION}\n`);
      return EXIT_OK;
    case 'drain':
    case 'status':
      return controlCommand(command.runDir, command.command);
    case 'run':
      return runAgent(command.flags, command.configFile);
  }
}

async function runAgent(flags: Record<string, unknown>, configFile: string | undefined): Promise<number> {
  let config: AgentConfig;
  try {
    config = loadConfig({ flags, env: process.env, configFile });
  } catch (error) {
    process.stderr.write(`berth-agent: ${errorMessage(error)}\n`);
    return error instanceof ConfigError ? EXIT_INVALID_CONFIG : EXIT_FAILURE;
  }
  const log = createLogger({ machine: config.machineId, level: config.logLevel });
  try {
    const agent = await startAgent(config, log);
    return await waitForShutdown(agent, config, log);
  } catch (error) {
    log.fatal({ err: error }, 'agent failed');
    return EXIT_FAILURE;
  }
}

async function startAgent(config: AgentConfig, log: Logger): Promise<Agent> {
  mkdirSync(config.stateDir, { recursive: true, mode: 0o750 });
  mkdirSync(config.runDir, { recursive: true, mode: 0o755 });
  const networkLog = log.child({ component: 'network' });
  const ports = createNativePorts({
    stateDir: config.stateDir,
    runDir: config.runDir,
    bridgeName: config.bridgeName,
    containerSubnet: config.containerSubnet,
    registry: { auth: config.registryCredentials, insecureRegistries: config.insecureRegistries },
    onNetworkEvent: (event) => networkLog.debug({ event }, 'network event'),
  });
  const native = nativeRuntime();
  const agent = new Agent({
    config,
    ports,
    log,
    commandRunner: new NsenterCommandRunner(),
    client: loadAgentGateway(),
    reclaimSteps: { collectGarbage: garbageCollector(), trimMalloc: () => native.trimMalloc() },
  });
  await agent.start();
  log.info({ schedulers: config.schedulers, stateDir: config.stateDir, runDir: config.runDir }, 'agent started');
  return agent;
}

/** Waits for SIGTERM or SIGINT; drains first when configured, else leaves containers running. */
function waitForShutdown(agent: Agent, config: AgentConfig, log: Logger): Promise<number> {
  return new Promise((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      log.info({ signal, drain: config.drainOnShutdown }, config.drainOnShutdown ? 'stopping: draining first' : 'stopping: containers keep running');
      const drained = config.drainOnShutdown ? agent.drain(`agent stopped by ${signal}`) : Promise.resolve();
      drained
        .then(() => resolve(EXIT_OK))
        .catch((error) => {
          log.error({ err: error }, 'drain failed');
          resolve(EXIT_FAILURE);
        })
        .finally(() => agent.stop());
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    agent.onDrained(() => {
      agent.stop();
      resolve(EXIT_OK);
    });
  });
}

async function controlCommand(runDir: string, command: 'drain' | 'status'): Promise<number> {
  try {
    let failed = false;
    await sendControlCommand(controlSocketPath(runDir), command, (line) => {
      if (line.startsWith('error:')) failed = true;
      process.stdout.write(`${line}\n`);
    });
    return failed ? EXIT_FAILURE : EXIT_OK;
  } catch (error) {
    process.stderr.write(`berth-agent ${command}: ${errorMessage(error)}\n`);
    return EXIT_FAILURE;
  }
}
