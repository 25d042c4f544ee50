import { InvalidNetworkRequestError, NetworkNotSupportedError } from './errors';
import { parseIpv4 } from './ipv4';
import { ContainerNetworkMode, PublishedPortSpec } from './types';

/**
 * Maximum container id length. The id goes into nft rule comments, which the kernel caps at
 * 128 bytes, together with at most 53 bytes of prefix, port and address text.
 */
export const MAX_CONTAINER_ID_LENGTH = 64;
/** Linux interface names are at most 15 bytes (IFNAMSIZ minus the terminating NUL). */
export const MAX_INTERFACE_NAME_LENGTH = 15;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_PORT = 65535;

const CONTAINER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/;
const INTERFACE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HOSTNAME_LABEL_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MODES: readonly ContainerNetworkMode[] = ['bridge', 'host', 'none'];

/**
 * Checks a container id. The id becomes a file name, an interface alias and an nft comment, so it
 * is limited to characters that need no quoting in any of them. Throws InvalidNetworkRequestError.
 */
export function validateContainerId(containerId: string): void {
  if (containerId.length === 0 || containerId.length > MAX_CONTAINER_ID_LENGTH || !CONTAINER_ID_PATTERN.test(containerId)) {
    throw new InvalidNetworkRequestError(
      `invalid container id "${containerId}": expected 1-${MAX_CONTAINER_ID_LENGTH} characters from A-Z a-z 0-9 _ . @ : -, starting with a letter or digit`,
    );
  }
}

/** Checks a bridge device name. Throws InvalidNetworkRequestError. */
export function validateBridgeName(name: string): void {
  if (name.length > MAX_INTERFACE_NAME_LENGTH || !INTERFACE_NAME_PATTERN.test(name)) {
    throw new InvalidNetworkRequestError(
      `invalid bridge name "${name}": expected 1-${MAX_INTERFACE_NAME_LENGTH} characters from A-Z a-z 0-9 _ . -`,
    );
  }
}

/** Checks the network mode. Throws InvalidNetworkRequestError. */
export function validateMode(mode: string): asserts mode is ContainerNetworkMode {
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new InvalidNetworkRequestError(`invalid network mode "${mode}": expected one of ${MODES.join(', ')}`);
  }
}

/** Checks an RFC 1123 hostname. Throws InvalidNetworkRequestError. */
export function validateHostname(hostname: string): void {
  const labels = hostname.split('.');
  if (hostname.length > MAX_HOSTNAME_LENGTH || !labels.every((label) => HOSTNAME_LABEL_PATTERN.test(label))) {
    throw new InvalidNetworkRequestError(
      `invalid hostname "${hostname}": expected dot-separated labels of 1-63 letters, digits and inner hyphens`,
    );
  }
}

/** Derives a valid hostname from a container id: invalid characters become hyphens, at most 63 characters. */
export function hostnameFromContainerId(containerId: string): string {
  const label = containerId.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '');
  return label === '' ? 'container' : label;
}

/**
 * Checks published ports: port ranges, protocols, IPv4 host addresses, and that no two entries
 * of one container claim the same host port. Throws InvalidNetworkRequestError naming the entry.
 */
export function validatePublishPorts(ports: readonly PublishedPortSpec[]): void {
  const seen = new Map<string, PublishedPortSpec>();
  for (const port of ports) {
    const where = describePublishedPort(port);
    if (port.protocol !== 'tcp' && port.protocol !== 'udp') {
      throw new InvalidNetworkRequestError(`invalid PublishPort=${where}: protocol must be tcp or udp`);
    }
    for (const value of [port.hostPort, port.containerPort]) {
      if (!Number.isInteger(value) || value < 1 || value > MAX_PORT) {
        throw new InvalidNetworkRequestError(`invalid PublishPort=${where}: ports must be integers from 1 to ${MAX_PORT}`);
      }
    }
    if (port.hostIp.includes(':')) {
      throw new NetworkNotSupportedError(`PublishPort=${where}: publishing on an IPv6 host address is not supported; use an IPv4 address or none`);
    }
    if (port.hostIp !== '' && parseIpv4(port.hostIp) === undefined) {
      throw new InvalidNetworkRequestError(`invalid PublishPort=${where}: host address must be an IPv4 address`);
    }
    const clash = [...seen.values()].find((other) => publishedPortsClash(other, port));
    if (clash) {
      throw new InvalidNetworkRequestError(`invalid PublishPort=${where}: host port already claimed by PublishPort=${describePublishedPort(clash)}`);
    }
    seen.set(where, port);
  }
}

/**
 * Returns whether two publications compete for the same host socket: same protocol and port, and
 * either one accepts on every address or both name the same address.
 */
export function publishedPortsClash(a: PublishedPortSpec, b: PublishedPortSpec): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  return a.hostIp === '' || b.hostIp === '' || a.hostIp === b.hostIp;
}

/** Formats a publication the way a unit file writes it: `[IP:]HOST:CONTAINER/PROTOCOL`. */
export function describePublishedPort(port: PublishedPortSpec): string {
  const host = port.hostIp === '' ? '' : `${port.hostIp}:`;
  return `${host}${port.hostPort}:${port.containerPort}/${port.protocol}`;
}
