import { InvalidValueError } from './errors';
import type { PublishedPort, VolumeMount } from './types';

const MAX_PORT = 65535;

/** Linux capabilities up to kernel 6.x, without the `CAP_` prefix. */
export const CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const REGISTRY_HOST = /^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d{1,5})?$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

/**
 * Check an image reference in the distribution grammar: `[registry[:port]/]path[:tag][@digest]`,
 * such as `127.0.0.1:5000/berth/web:v1`. A first component counts as a registry when it contains a
 * dot or a colon or is `localhost`, as in docker.
 * @throws InvalidValueError naming the part that is wrong
 */
export function checkImageReference(reference: string): void {
  const fail = (reason: string): never => {
    throw new InvalidValueError('image reference', reference, reason);
  };
  if (reference === '' || /\s/.test(reference)) {
    fail('it is empty or contains blanks; write registry/path:tag, for example 127.0.0.1:5000/berth/web:v1');
  }
  const [withTag, digest, ...extra] = reference.split('@');
  if (extra.length > 0 || (digest !== undefined && !DIGEST.test(digest))) {
    fail('the digest after "@" must look like sha256:<64 hex digits>');
  }
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? withTag.slice(0, colon) : withTag;
  if (hasTag && !TAG.test(withTag.slice(colon + 1))) {
    fail(`tag "${withTag.slice(colon + 1)}" may use only letters, digits, "_", "." and "-" (at most 128, not starting with "." or "-")`);
  }
  const components = name.split('/');
  const first = components[0];
  const hasRegistry = components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry && !REGISTRY_HOST.test(first)) {
    fail(`registry "${first}" is not a valid host[:port]`);
  }
  const path = hasRegistry ? components.slice(1).join('/') : name;
  if (!REPOSITORY_PATH.test(path)) {
    fail(`repository "${path}" must be lowercase letters and digits, separated by "/", ".", "_" or "-"`);
  }
}

function parsePort(text: string, what: string, whole: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= MAX_PORT)) {
    throw new InvalidValueError('port mapping', whole, `${what} "${text}" is not a port number from 1 to ${MAX_PORT}`);
  }
  return port;
}

/**
 * Parse `PublishPort=` in the form `[hostIp:]hostPort:containerPort[/tcp|/udp]`; an IPv6 host
 * address goes in brackets (`[::1]:8080:80`).
 * @throws InvalidValueError for missing parts, bad ports, ranges or another protocol
 */
export function parsePublishPort(text: string): PublishedPort {
  const [mapping, protocol = 'tcp', ...extra] = text.split('/');
  if (extra.length > 0 || (protocol !== 'tcp' && protocol !== 'udp')) {
    throw new InvalidValueError('port mapping', text, 'the protocol after "/" must be tcp or udp');
  }
  let hostIp = '';
  let ports = mapping;
  const bracket = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(mapping);
  if (bracket !== null) {
    hostIp = bracket[1];
    ports = bracket[2];
  }
  const parts = ports.split(':');
  if (bracket === null && parts.length === 3) {
    hostIp = parts.shift() as string;
    if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostIp)) {
      throw new InvalidValueError('port mapping', text, `host address "${hostIp}" is not an IPv4 address (put IPv6 addresses in brackets)`);
    }
  }
  if (parts.length !== 2) {
    throw new InvalidValueError('port mapping', text, 'expected [hostIp:]hostPort:containerPort[/tcp|/udp], for example 8080:80');
  }
  return {
    hostIp,
    hostPort: parsePort(parts[0], 'host port', text),
    containerPort: parsePort(parts[1], 'container port', text),
    protocol,
  };
}

/** True for an absolute path without `.` or `..` components. */
export function isCleanAbsolutePath(path: string): boolean {
  return path.startsWith('/') && !path.split('/').some((part) => part === '.' || part === '..');
}

/**
 * Parse `Volume=` in the form `/host/path:/container/path[:ro|:rw]`. Named volumes are not
 * supported, so the source must be an absolute host path.
 * @throws InvalidValueError for relative paths, `..` components or unknown options
 */
export function parseVolume(text: string): VolumeMount {
  const [source, destination, options, ...extra] = text.split(':');
  if (destination === undefined || extra.length > 0) {
    throw new InvalidValueError('volume', text, 'expected /host/path:/container/path[:ro], for example /srv/www:/www:ro');
  }
  if (!isCleanAbsolutePath(source)) {
    throw new InvalidValueError('volume', text, `source "${source}" must be an absolute host path without "." or ".." (named volumes are not supported)`);
  }
  if (!isCleanAbsolutePath(destination)) {
    throw new InvalidValueError('volume', text, `destination "${destination}" must be an absolute path without "." or ".."`);
  }
  let readOnly = false;
  for (const option of options === undefined ? [] : options.split(',')) {
    if (option !== 'ro' && option !== 'rw') {
      throw new InvalidValueError('volume', text, `option "${option}" is not supported; use ro or rw`);
    }
    readOnly = option === 'ro';
  }
  return { source, destination, readOnly };
}

/**
 * Normalize a capability name to `CAP_NAME` form; `net_admin`, `CAP_NET_ADMIN` and `ALL` are
 * accepted.
 * @throws InvalidValueError for a name the kernel does not define
 */
export function normalizeCapability(text: string): string {
  const upper = text.toUpperCase();
  if (upper === 'ALL') {
    return 'ALL';
  }
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper;
  if (!CAPABILITIES.includes(bare)) {
    throw new InvalidValueError('capability', text, 'not a Linux capability; write a name such as CAP_NET_BIND_SERVICE, or ALL');
  }
  return `CAP_${bare}`;
}

/**
 * Check `User=`: `uid`, `uid:gid`, `name` or `name:group` with POSIX-portable names.
 * @throws InvalidValueError for anything else
 */
export function checkUser(text: string): void {
  const part = '[A-Za-z0-9_][A-Za-z0-9_.-]*';
  if (!new RegExp(`^${part}(?::${part})?$`).test(text)) {
    throw new InvalidValueError('user', text, 'expected uid, uid:gid, name or name:group');
  }
}

/**
 * Parse `Environment=` words (already unquoted) into a map; each must be `NAME=value`.
 * @throws InvalidValueError for a word without `=` or with an invalid variable name
 */
export function parseAssignments(words: string[], whole: string): Array<[string, string]> {
  return words.map((word) => {
    const equals = word.indexOf('=');
    const name = equals < 0 ? '' : word.slice(0, equals);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InvalidValueError('environment assignment', whole, `"${word}" is not NAME=value with a name of letters, digits and "_"`);
    }
    return [name, word.slice(equals + 1)];
  });
}
