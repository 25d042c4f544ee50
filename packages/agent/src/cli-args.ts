import { parseArgs, ParseArgsConfig } from 'node:util';
import { DEFAULT_RUN_DIR } from './config/agent-config';
import { SETTINGS } from './config/settings';
import { UsageError } from './errors';

/**
 * The berth-agent command line, parsed with node's `util.parseArgs`. The daemon used commander
 * before, which stayed loaded for the agent's whole life to parse one command line. Loading
 * commander added 0.9 MiB of RSS to a bare node process (no TurboFan or Sparkplug).
 */

/** A parsed command line. `run` carries the setting flags by setting name, for loadConfig. */
export type CliCommand =
  | { command: 'run'; configFile?: string; flags: Record<string, string | boolean> }
  | { command: 'drain' | 'status'; runDir: string }
  | { command: 'help'; text: string }
  | { command: 'version' };

interface CommandDefinition {
  name: 'run' | 'drain' | 'status';
  description: string;
}

const COMMANDS: CommandDefinition[] = [
  { name: 'run', description: 'run the agent (the default command)' },
  { name: 'drain', description: 'tell the scheduler this host is leaving, stop and remove every unit, then stop the agent' },
  { name: 'status', description: 'print the running agent\'s connection state and unit states as JSON' },
];

const CONFIG_DESCRIPTION = 'JSON or INI file with settings (also BERTH_CONFIG); flags and BERTH_* variables override it';
const RUN_DIR_DESCRIPTION = 'run directory of the agent (default: BERTH_RUN_DIR, else /run/berth)';
const COMMON_OPTIONS = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } } as const;

/**
 * Parses `args` (the arguments after the script, `process.argv.slice(2)`). Throws UsageError
 * naming the unknown command, the unknown option or the option that misses its value.
 */
export function parseCommandLine(args: string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const named = COMMANDS.find((command) => command.name === args[0]);
  const command = named?.name ?? 'run';
  const rest = named ? args.slice(1) : args;
  const { values, positionals } = parseOrThrow(command, rest);

  if (values.help) return { command: 'help', text: helpText() };
  if (values.version) return { command: 'version' };
  if (positionals.length > 0) {
    throw new UsageError(`berth-agent: unknown command "${positionals[0]}"; the commands are ${COMMANDS.map((each) => each.name).join(', ')} ("berth-agent --help" lists them)`);
  }
  if (command !== 'run') return { command, runDir: (values['run-dir'] as string | undefined) ?? env.BERTH_RUN_DIR ?? DEFAULT_RUN_DIR };

  const flags: Record<string, string | boolean> = {};
  for (const setting of SETTINGS) {
    // No option is declared `multiple`, so every value is a single string or boolean.
    const value = values[setting.flag] as string | boolean | undefined;
    if (value !== undefined) flags[setting.name] = value;
  }
  return { command: 'run', configFile: values.config as string | undefined, flags };
}

function parseOrThrow(command: CommandDefinition['name'], args: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = { ...COMMON_OPTIONS };
  if (command === 'run') {
    options.config = { type: 'string' };
    for (const setting of SETTINGS) options[setting.flag] = { type: setting.valueName === '' ? 'boolean' : 'string' };
  } else {
    options['run-dir'] = { type: 'string' };
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs names the option in its message, such as "Unknown option '--join'".
    throw new UsageError(`berth-agent ${command}: ${(error as Error).message}; "berth-agent --help" lists the options`);
  }
}

/** Returns the text that `--help` prints. */
export function helpText(): string {
  const rows = (entries: Array<[string, string]>) => {
    const width = Math.max(...entries.map(([left]) => left.length)) + 2;
    return entries.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n');
  };
  const settingRows: Array<[string, string]> = SETTINGS.map((setting) => [
    setting.valueName === '' ? `--${setting.flag}` : `--${setting.flag} ${setting.valueName}`,
    setting.description,
  ]);
  return [
    'Usage: berth-agent [run] [options]',
    '       berth-agent drain|status [--run-dir DIR]',
    '',
    'Berth agent: runs the units the scheduler assigns to this host',
    '',
    'Commands:',
    rows(COMMANDS.map((command) => [command.name, command.description])),
    '',
    'Options of run (each also BERTH_<FLAG> in the environment):',
    rows([['--config PATH', CONFIG_DESCRIPTION], ...settingRows]),
    '',
    'Options of drain and status:',
    rows([['--run-dir DIR', RUN_DIR_DESCRIPTION]]),
    '',
    'Options of every command:',
    rows([['-h, --help', 'print this help'], ['-V, --version', 'print the agent version']]),
    '',
  ].join('\n');
}
