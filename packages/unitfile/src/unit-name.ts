import type { UnitNameInfo } from './types';

/** Maximum length of a unit name in bytes, as in systemd and fleet. */
export const MAX_UNIT_NAME_BYTES = 256;

/** Every suffix systemd defines. fleet's name check accepts exactly these, case-sensitively. */
export const UNIT_SUFFIXES: readonly string[] = [
  'automount',
  'busname',
  'device',
  'mount',
  'path',
  'scope',
  'service',
  'slice',
  'snapshot',
  'socket',
  'swap',
  'target',
  'timer',
];

/** Suffixes that may carry an `@` instance part. */
export const TEMPLATE_SUFFIXES: readonly string[] = ['path', 'service', 'socket', 'target', 'timer'];

/**
 * Suffixes fleetctl recognizes when mangling a command-line argument; anything else gets
 * `.service` appended, so `x.target` cannot be named from fleetctl.
 */
export const RECOGNIZED_SUFFIXES: readonly string[] = [
  'service',
  'socket',
  'timer',
  'path',
  'device',
  'mount',
  'automount',
];

/** Characters systemd allows before the suffix besides ASCII letters and digits. */
const NAME_PUNCTUATION = ':-_.\\@';

/**
 * Split a unit name into prefix, instance and suffix without validating it: the suffix follows
 * the last dot, the prefix precedes the first `@`, and the instance is everything in between, so
 * `foo@bar@baz.service` has instance `bar@baz`. Returns undefined for a name without a dot.
 */
export function parseUnitName(name: string): UnitNameInfo | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0) {
    return undefined;
  }
  const base = name.slice(0, dot);
  const suffix = name.slice(dot + 1);
  const at = base.indexOf('@');
  const hasAt = at >= 0;
  const prefix = hasAt ? base.slice(0, at) : base;
  const instance = hasAt ? base.slice(at + 1) : '';
  return {
    name,
    prefix,
    instance,
    suffix,
    isTemplate: hasAt && instance === '',
    isInstance: hasAt && instance !== '',
    template: hasAt ? `${prefix}@.${suffix}` : '',
  };
}

/**
 * Check a unit name against systemd's rules as fleet applies them. A name has at most 256 bytes
 * and a known suffix after the last dot. Before the suffix it uses only ASCII letters, digits and
 * `:-_.\@`, does not start with `@`, and contains `@` only for the path, service, socket,
 * target and timer suffixes. Returns a message
 * naming the broken rule, or undefined when the name is valid.
 */
export function validateUnitName(name: string): string | undefined {
  if (name === '') {
    return 'unit name is empty';
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_UNIT_NAME_BYTES) {
    return `unit name is ${bytes} bytes long; the limit is ${MAX_UNIT_NAME_BYTES}`;
  }
  const dot = name.lastIndexOf('.');
  if (dot < 0 || dot === name.length - 1) {
    return `unit name "${name}" has no suffix; add one such as ".service"`;
  }
  return checkSuffix(name, name.slice(dot + 1)) ?? checkBase(name, name.slice(0, dot));
}

function checkSuffix(name: string, suffix: string): string | undefined {
  if (!UNIT_SUFFIXES.includes(suffix)) {
    return `unit name "${name}" has unknown suffix ".${suffix}"; expected one of ${UNIT_SUFFIXES.map((s) => `.${s}`).join(', ')}`;
  }
  if (name.includes('@') && !TEMPLATE_SUFFIXES.includes(suffix)) {
    return `unit name "${name}" contains "@", which only ${TEMPLATE_SUFFIXES.map((s) => `.${s}`).join(', ')} units may use`;
  }
  return undefined;
}

function checkBase(name: string, base: string): string | undefined {
  if (base.startsWith('@')) {
    return `unit name "${name}" starts with "@"; a template needs a prefix, as in "web@.service"`;
  }
  for (const char of base) {
    if (!/^[A-Za-z0-9]$/.test(char) && !NAME_PUNCTUATION.includes(char)) {
      return `unit name "${name}" contains "${char}"; only ASCII letters, digits and ${NAME_PUNCTUATION.split('').join(' ')} are allowed`;
    }
  }
  return undefined;
}

/**
 * Turn a command-line argument into a unit name as fleetctl does: take the last path component
 * and append `.service` unless it already ends in a recognized suffix (`foo.1` becomes
 * `foo.1.service`, `units/db.socket` becomes `db.socket`). The result is not validated.
 */
export function normalizeUnitName(argument: string): string {
  const trimmed = argument.replace(/\/+$/, '');
  const base = trimmed === '' ? argument : trimmed.slice(trimmed.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  const suffix = dot >= 0 ? base.slice(dot + 1) : '';
  return RECOGNIZED_SUFFIXES.includes(suffix) ? base : `${base}.service`;
}
