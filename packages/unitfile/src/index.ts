export * from './types';
export { InternalError, InvalidValueError, UnitFileError } from './errors';
export { formatDiagnostic, hasErrors, sortDiagnostics } from './diagnostic';
export { parseUnitFile, joinContinuationLines, MAX_LINE_BYTES, type ParseResult } from './parser';
export {
  parseUnitName,
  validateUnitName,
  normalizeUnitName,
  MAX_UNIT_NAME_BYTES,
  UNIT_SUFFIXES,
  TEMPLATE_SUFFIXES,
  RECOGNIZED_SUFFIXES,
} from './unit-name';
export { loadUnit } from './load-unit';
export { serializeUnitFile, unitHash } from './unit-hash';
export { matchUnitGlob, validateUnitGlob } from './glob';
export { machineIdMatches, SHORT_MACHINE_ID_LENGTH } from './machine-id';
export { parseDuration, parseSize, parseBoolean } from './quantities';
export { splitCommandLine } from './command-line';
export { expandSpecifiers, type MachineIdentity, type Expansion } from './specifiers';
export { splitFleetValue } from './multivalue';
export {
  DEFAULT_RESTART_SEC_MS,
  DEFAULT_TIMEOUT_STOP_SEC_MS,
  DEFAULT_START_LIMIT_BURST,
  DEFAULT_START_LIMIT_INTERVAL_MS,
} from './service-section';
export { DEFAULT_NETWORK } from './container-section';
export {
  DEFAULT_HEALTH_INTERVAL_MS,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_HEALTH_RETRIES,
  DEFAULT_HEALTH_START_PERIOD_MS,
} from './health-check';
