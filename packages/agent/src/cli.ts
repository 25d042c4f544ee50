import { mkdirSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Agent, AGENT_VERSION } from './agent';
import { AgentConfig, DEFAULT_RUN_DIR } from './config/agent-config';
import { loadConfig } from './config/load-config';
import { SETTINGS } from './config/settings';
import { loadAgentGateway } from './connection/proto';
import { controlSocketPath, sendControlCommand } from './control/control-socket';
import { ConfigError, errorMessage } from './errors';
import { NsenterCommandRunner } from './health/nsenter-runner';
import { createLogger, Logger } from './logger';
import { createNativePorts } from './runtime/native-adapters';
import { nativeRuntime } from '@berth/runtime-native/dist/runtime/native';

/** Process exit codes of berth-agent. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID_CONFIG = 2;

/** Parses `argv` and runs the chosen command; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command('berth-agent').version(AGENT_VERSION).description('Berth agent: runs the units the scheduler assigns to this host');

  const run = program.command('run', { isDefault: true }).description('run the agent (the default command)');
  run.option('--config <path>', 'JSON or INI file with settings (also BERTH_CONFIG); flags and BERTH_* variables override it');
  for (const setting of SETTINGS) {
    const flags = setting.valueName === '' ? `--${setting.flag}` : `--${setting.flag} <${setting.valueName.toLowerCase().replace(/[^a-z0-9,.:=]/g, '')}>`;
    run.addOption(new Option(flags, setting.description));
  }
  run.action(async (options: Record<string, unknown>) => {
    exitCode = await runAgent(options);
  });

  program
    .command('drain')
    .description('tell the scheduler this host is leaving, stop and remove every unit, then stop the agent')
    .option('--run-dir <dir>', 'run directory of the agent to drain', process.env.BERTH_RUN_DIR ?? DEFAULT_RUN_DIR)
    .action(async (options: { runDir: string }) => {
      exitCode = await controlCommand(options.runDir, 'drain');
    });

  program
    .command('status')
    .description('print the running agent\'s connection state and unit states as JSON')
    .option('--run-dir <dir>', 'run directory of the agent', process.env.BERTH_RUN_DIR ?? DEFAULT_RUN_DIR)
    .action(async (options: { runDir: string }) => {
      exitCode = await controlCommand(options.runDir, 'status');
    });

  await program.parseAsync(argv);
  return exitCode;
}

async function runAgent(options: Record<string, unknown>): Promise<number> {
  let config: AgentConfig;
  try {
    const { config: configFile, ...flags } = options;
    config = loadConfig({ flags, env: process.env, configFile: configFile as string | undefined });
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
    config, ports, log, commandRunner: new NsenterCommandRunner(), client: loadAgentGateway(), trimMalloc: () => native.trimMalloc(),
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
