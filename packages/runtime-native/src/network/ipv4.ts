import { InvalidNetworkRequestError } from './errors';

/** An IPv4 network in CIDR form, with its address held as an unsigned 32-bit number. */
export interface Ipv4Cidr {
  /** Network address (host bits zero). */
  network: number;
  prefixLength: number;
  /** Canonical text, `10.99.0.0/16`. */
  text: string;
}

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MIN_PREFIX_LENGTH = 8;
/** A /30 leaves two usable addresses: the gateway and one container. */
const MAX_PREFIX_LENGTH = 30;

/** Parses dotted-quad IPv4 text into a number; returns undefined when `text` is not one. */
export function parseIpv4(text: string): number | undefined {
  const match = IPV4_PATTERN.exec(text);
  if (!match) return undefined;
  let value = 0;
  for (const part of match.slice(1)) {
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats a 32-bit number as dotted-quad IPv4 text. */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/**
 * Parses `A.B.C.D/N` for a container subnet. Throws InvalidNetworkRequestError when the text is
 * malformed, has host bits set, or the prefix is outside /8../30.
 */
export function parseCidr(text: string): Ipv4Cidr {
  const [addressText, prefixText, extra] = text.split('/');
  const address = parseIpv4(addressText ?? '');
  const prefixLength = /^\d{1,2}$/.test(prefixText ?? '') ? Number(prefixText) : NaN;
  if (address === undefined || extra !== undefined || Number.isNaN(prefixLength)) {
    throw new InvalidNetworkRequestError(`invalid subnet "${text}": expected IPv4 CIDR such as 10.99.0.0/16`);
  }
  if (prefixLength < MIN_PREFIX_LENGTH || prefixLength > MAX_PREFIX_LENGTH) {
    throw new InvalidNetworkRequestError(`invalid subnet "${text}": prefix length must be between /${MIN_PREFIX_LENGTH} and /${MAX_PREFIX_LENGTH}`);
  }
  const network = (address & prefixMask(prefixLength)) >>> 0;
  if (network !== address) {
    throw new InvalidNetworkRequestError(`invalid subnet "${text}": host bits are set; did you mean ${formatIpv4(network)}/${prefixLength}?`);
  }
  return { network, prefixLength, text: `${formatIpv4(network)}/${prefixLength}` };
}

/** Parses a route destination, `A.B.C.D` or `A.B.C.D/N` with any prefix; returns undefined when malformed. */
export function parseRouteDestination(text: string): Ipv4Cidr | undefined {
  const [addressText, prefixText] = text.split('/');
  const address = parseIpv4(addressText ?? '');
  const prefixLength = prefixText === undefined ? 32 : /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (address === undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) return undefined;
  const network = (address & prefixMask(prefixLength)) >>> 0;
  return { network, prefixLength, text: `${formatIpv4(network)}/${prefixLength}` };
}

/** Returns the netmask of a prefix length as an unsigned number. */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Returns the broadcast address of `cidr`. */
export function broadcastAddress(cidr: Ipv4Cidr): number {
  return (cidr.network | ~prefixMask(cidr.prefixLength)) >>> 0;
}

/** Returns whether `address` lies inside `cidr`. */
export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return ((address & prefixMask(cidr.prefixLength)) >>> 0) === cidr.network;
}

/** Returns whether two networks share at least one address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = prefixMask(shorter);
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** Returns the first and last address a host may use: the network and broadcast addresses excluded. */
export function usableRange(cidr: Ipv4Cidr): { first: number; last: number } {
  return { first: cidr.network + 1, last: broadcastAddress(cidr) - 1 };
}
