import { CONTAINER_SECTION } from './container-section';
import { FLEET_SECTION } from './fleet-section';
import { SERVICE_SECTION, UNIT_SECTION } from './service-section';
import { suggest } from './suggest';
import type { DiagnosticSink } from './diagnostic';
import type { UnitFileDocument } from './types';

export const INSTALL_SECTION = 'Install';

/**
 * Keys Berth interprets, by section. Deprecated fleet aliases are interpreted too and warned
 * about where they are read.
 */
export const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  [UNIT_SECTION]: ['Description', 'StartLimitBurst', 'StartLimitIntervalSec'],
  [FLEET_SECTION]: [
    'MachineID',
    'X-ConditionMachineID',
    'X-ConditionMachineBootID',
    'MachineOf',
    'X-ConditionMachineOf',
    'MachineMetadata',
    'X-ConditionMachineMetadata',
    'Conflicts',
    'X-Conflicts',
    'Global',
    'Replaces',
  ],
  [CONTAINER_SECTION]: [
    'Image', 'Exec', 'Entrypoint', 'Environment', 'EnvironmentFile', 'WorkingDir', 'User',
    'PublishPort', 'Volume', 'Network', 'Memory', 'CPUs', 'PidsLimit', 'ReadOnly', 'Init',
    'AddCapability', 'DropCapability', 'HealthCmd', 'HealthHttp', 'HealthTcp', 'HealthInterval',
    'HealthTimeout', 'HealthRetries', 'HealthStartPeriod',
  ],
  [SERVICE_SECTION]: [
    'Restart', 'RestartSec', 'TimeoutStopSec', 'StartLimitBurst', 'StartLimitIntervalSec',
    'StartLimitInterval', 'MemoryMax', 'MemoryLimit', 'CPUQuota', 'TasksMax',
  ],
};

/**
 * systemd keys fleet users commonly write that Berth does not act on, with where the setting
 * lives in Berth when it has an equivalent.
 */
const SYSTEMD_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  [UNIT_SECTION]: {
    Documentation: '',
    After: 'Berth does not order unit start-up',
    Before: 'Berth does not order unit start-up',
    Requires: 'use [X-Fleet] MachineOf= to run units together',
    Wants: 'use [X-Fleet] MachineOf= to run units together',
    BindsTo: 'use [X-Fleet] MachineOf= to run units together',
    PartOf: '',
    Conflicts: 'use [X-Fleet] Conflicts= to keep units on different machines',
  },
  [SERVICE_SECTION]: {
    Type: 'the container process is the service',
    ExecStart: 'put the command in [Container] Exec=',
    ExecStartPre: 'put the command in [Container] Exec= or the image',
    ExecStartPost: '',
    ExecStop: 'Berth stops the container with SIGTERM, then SIGKILL after TimeoutStopSec=',
    ExecStopPost: '',
    ExecReload: '',
    Environment: 'use [Container] Environment=',
    EnvironmentFile: 'use [Container] EnvironmentFile=',
    User: 'use [Container] User=',
    Group: 'use [Container] User=uid:gid',
    WorkingDirectory: 'use [Container] WorkingDir=',
    RemainAfterExit: '',
    TimeoutStartSec: '',
    TimeoutSec: 'use TimeoutStopSec=',
    KillMode: '',
    KillSignal: '',
    SuccessExitStatus: '',
    LimitNOFILE: '',
  },
};

/**
 * Warn about sections and keys Berth does not interpret. They stay in the document and in the
 * hash but have no effect. A likely misspelling or a key placed in the wrong section gets a
 * suggestion.
 */
export function reportUnknownKeys(document: UnitFileDocument, sink: DiagnosticSink): void {
  const sectionLines = new Map<string, number>();
  for (const section of document.sections ?? []) {
    if (!sectionLines.has(section.name)) {
      sectionLines.set(section.name, section.line);
    }
  }
  for (const option of document.options) {
    if (!sectionLines.has(option.section)) {
      sectionLines.set(option.section, option.line);
    }
  }
  for (const [section, line] of sectionLines) {
    if (!(section in KNOWN_KEYS)) {
      sink.warning(line, 1, unknownSectionMessage(section));
    }
  }
  for (const option of document.options) {
    if (option.section in KNOWN_KEYS && !KNOWN_KEYS[option.section].includes(option.name)) {
      sink.warning(option.line, option.column ?? 1, unknownKeyMessage(option.section, option.name));
    }
  }
}

function unknownSectionMessage(section: string): string {
  if (section === INSTALL_SECTION) {
    return '[Install] has no effect: Berth starts units when asked, not at boot';
  }
  // Blanks inside the brackets are part of the name, so `[ Unit ]` is compared without them.
  const guess = suggest(section.trim(), Object.keys(KNOWN_KEYS));
  const hint = guess === undefined ? '' : `; did you mean [${guess}]?`;
  return `unknown section [${section}] is kept but has no effect${hint}`;
}

function unknownKeyMessage(section: string, key: string): string {
  const systemdNote = SYSTEMD_KEYS[section]?.[key];
  if (systemdNote !== undefined) {
    return `${key}= in [${section}] is a systemd setting that Berth ignores${systemdNote === '' ? '' : `; ${systemdNote}`}`;
  }
  const guess = suggest(key, KNOWN_KEYS[section]);
  if (guess !== undefined) {
    return `unknown key ${key}= in [${section}] is kept but has no effect; did you mean ${guess}=?`;
  }
  const home = Object.keys(KNOWN_KEYS).find((other) => KNOWN_KEYS[other].includes(key));
  if (home !== undefined) {
    return `${key}= has no effect in [${section}]; it belongs in [${home}]`;
  }
  return `unknown key ${key}= in [${section}] is kept but has no effect`;
}
