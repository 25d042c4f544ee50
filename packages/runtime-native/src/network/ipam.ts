import { AddressPoolExhaustedError, InvalidNetworkRequestError } from './errors';
import { cidrContains, formatIpv4, Ipv4Cidr, parseIpv4, usableRange } from './ipv4';

/**
 * Picks the next free container address in `cidr`, scanning upwards from the one after
 * `lastAddress` and wrapping around. Starting after the last one handed out keeps a just-freed
 * address unused for as long as possible, so stale ARP and conntrack entries of a deleted
 * container do not reach its successor. Throws AddressPoolExhaustedError when none is free.
 */
export function allocateAddress(cidr: Ipv4Cidr, gateway: string, used: Iterable<string>, lastAddress?: string): string {
  const taken = new Set<number>();
  for (const address of used) {
    const value = parseIpv4(address);
    if (value !== undefined) taken.add(value);
  }
  taken.add(parseIpv4(gateway) ?? -1);

  const { first, last } = usableRange(cidr);
  const size = last - first + 1;
  const previous = lastAddress === undefined ? undefined : parseIpv4(lastAddress);
  const start = previous !== undefined && cidrContains(cidr, previous) ? previous + 1 : first;
  for (let offset = 0; offset < size; offset++) {
    const candidate = first + ((start - first + offset) % size);
    if (!taken.has(candidate)) return formatIpv4(candidate);
  }
  throw new AddressPoolExhaustedError(cidr.text, taken.size);
}

/**
 * Resolves the gateway address: `requested` when given, else the first usable address. Throws
 * InvalidNetworkRequestError when the requested address is malformed or outside the usable range.
 */
export function resolveGateway(cidr: Ipv4Cidr, requested?: string): string {
  const { first, last } = usableRange(cidr);
  if (requested === undefined) return formatIpv4(first);
  const value = parseIpv4(requested);
  if (value === undefined || value < first || value > last) {
    throw new InvalidNetworkRequestError(`invalid gateway "${requested}": expected a usable address inside ${cidr.text}`);
  }
  return requested;
}
