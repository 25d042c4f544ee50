import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { commandFailedWith, runHostCommand, runInNetns, runIpJson } from './command';
import { InvalidNetworkRequestError } from './errors';
import { cidrsOverlap, Ipv4Cidr, parseRouteDestination } from './ipv4';

/** Interface alias that marks a veth as Berth's and names its container: `berth container=ID`. */
const CONTAINER_ALIAS_PREFIX = 'berth container=';
/** Interface alias of a bridge Berth created. */
const BRIDGE_ALIAS = 'berth bridge';
/** Name of the container's end of the veth pair, inside its namespace. */
export const CONTAINER_INTERFACE = 'eth0';
const DEFAULT_MTU = 1500;

interface IpLink {
  ifname: string;
  mtu?: number;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

interface IpRoute {
  dst: string;
  dev?: string;
}

interface IpAddressList {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

/**
 * Derives the host-side veth name from the container id: `bth` and 12 hex digits of its SHA-256.
 * The name only avoids collisions; ownership is read from the alias and the state record.
 */
export function hostInterfaceName(containerId: string): string {
  return `bth${createHash('sha256').update(containerId).digest('hex').slice(0, 12)}`;
}

/** Returns the link named `name`, or undefined when there is none. */
export async function findLink(name: string): Promise<IpLink | undefined> {
  try {
    const [link] = await runIpJson<IpLink>(['-d', 'link', 'show', 'dev', name]);
    return link;
  } catch (error) {
    if (commandFailedWith(error, 'does not exist', 'Cannot find device')) return undefined;
    throw error;
  }
}

/**
 * Throws InvalidNetworkRequestError when a route of another device covers part of `subnet`:
 * containers would then shadow, or be shadowed by, a network the host already reaches.
 */
export async function checkSubnetIsFree(subnet: Ipv4Cidr, bridgeName: string): Promise<void> {
  const routes = await runIpJson<IpRoute>(['-4', 'route', 'show', 'table', 'main']);
  for (const route of routes) {
    if (route.dst === 'default' || route.dev === bridgeName) continue;
    const routed = parseRouteDestination(route.dst);
    if (routed !== undefined && cidrsOverlap(subnet, routed)) {
      throw new InvalidNetworkRequestError(
        `container subnet ${subnet.text} overlaps route ${route.dst} on ${route.dev ?? 'unknown device'}; configure another subnet`,
      );
    }
  }
}

/**
 * Creates the bridge when missing, gives it the gateway address, brings it up and sets the
 * sysctls published ports need: IPv4 forwarding, and route_localnet on the bridge so that packets
 * from 127.0.0.1 rewritten to a container may leave through it. Throws InvalidNetworkRequestError
 * when a device of that name exists but is not a bridge.
 */
export async function ensureBridge(bridgeName: string, gateway: string, prefixLength: number): Promise<void> {
  const existing = await findLink(bridgeName);
  if (existing === undefined) {
    await runHostCommand('ip', ['link', 'add', 'name', bridgeName, 'type', 'bridge']);
    await runHostCommand('ip', ['link', 'set', 'dev', bridgeName, 'alias', BRIDGE_ALIAS]);
  } else if (existing.linkinfo?.info_kind !== 'bridge') {
    throw new InvalidNetworkRequestError(
      `device ${bridgeName} exists but is a ${existing.linkinfo?.info_kind ?? 'plain'} device, not a bridge; configure another bridge name`,
    );
  }

  const [addresses] = await runIpJson<IpAddressList>(['-4', 'addr', 'show', 'dev', bridgeName]);
  const hasGateway = addresses?.addr_info?.some((info) => info.local === gateway && info.prefixlen === prefixLength) ?? false;
  if (!hasGateway) await runHostCommand('ip', ['addr', 'add', `${gateway}/${prefixLength}`, 'dev', bridgeName]);
  await runHostCommand('ip', ['link', 'set', 'dev', bridgeName, 'up']);

  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');
  writeFileSync(`/proc/sys/net/ipv4/conf/${bridgeName}/route_localnet`, '1\n');
}

/** Deletes the bridge if its alias marks it as created by Berth; another device of that name is left alone. */
export async function removeBridge(bridgeName: string): Promise<boolean> {
  const existing = await findLink(bridgeName);
  if (existing?.ifalias !== BRIDGE_ALIAS) return false;
  await deleteLink(bridgeName);
  return true;
}

/** Returns the MTU of the device of the default route, or 1500 when there is no default route. */
export async function defaultRouteMtu(): Promise<number> {
  const [route] = await runIpJson<IpRoute>(['-4', 'route', 'show', 'default']);
  if (route?.dev === undefined) return DEFAULT_MTU;
  const link = await findLink(route.dev);
  return link?.mtu ?? DEFAULT_MTU;
}

/** Settings of one container's veth pair. */
export interface VethSpec {
  containerId: string;
  hostInterface: string;
  netnsPath: string;
  bridgeName: string;
  mtu: number;
}

/**
 * Creates a veth pair with its container end already inside the namespace, so that freeing the
 * namespace also destroys the pair, then marks the host end with the container id and attaches
 * it to the bridge. Throws NetworkCommandError.
 */
export async function createVeth(spec: VethSpec): Promise<void> {
  const mtu = String(spec.mtu);
  await runHostCommand('ip', [
    'link', 'add', 'name', spec.hostInterface, 'mtu', mtu, 'type', 'veth',
    'peer', 'name', CONTAINER_INTERFACE, 'mtu', mtu, 'netns', spec.netnsPath,
  ]);
  await runHostCommand('ip', ['link', 'set', 'dev', spec.hostInterface, 'alias', `${CONTAINER_ALIAS_PREFIX}${spec.containerId}`]);
  await runHostCommand('ip', ['link', 'set', 'dev', spec.hostInterface, 'master', spec.bridgeName]);
  // Hairpin lets a container reach its own published port through the host's address.
  await runHostCommand('ip', ['link', 'set', 'dev', spec.hostInterface, 'type', 'bridge_slave', 'hairpin', 'on']);
  await runHostCommand('ip', ['link', 'set', 'dev', spec.hostInterface, 'up']);
}

/** Gives the container's interface its address and a default route through the gateway. */
export async function configureContainerInterface(netnsPath: string, address: string, prefixLength: number, gateway: string): Promise<void> {
  await runInNetns(netnsPath, 'ip', ['addr', 'add', `${address}/${prefixLength}`, 'dev', CONTAINER_INTERFACE]);
  await runInNetns(netnsPath, 'ip', ['link', 'set', 'dev', CONTAINER_INTERFACE, 'up']);
  await runInNetns(netnsPath, 'ip', ['route', 'add', 'default', 'via', gateway, 'dev', CONTAINER_INTERFACE]);
}

/** Deletes a link; one that is already gone is fine. */
export async function deleteLink(name: string): Promise<void> {
  try {
    await runHostCommand('ip', ['link', 'delete', 'dev', name]);
  } catch (error) {
    if (!commandFailedWith(error, 'Cannot find device', 'does not exist')) throw error;
  }
}

/** A veth whose alias marks it as Berth's. */
export interface OwnedVeth {
  name: string;
  containerId: string;
}

/** Lists veths whose alias carries a container id. */
export async function listOwnedVeths(): Promise<OwnedVeth[]> {
  const links = await runIpJson<IpLink>(['link', 'show', 'type', 'veth']);
  const owned: OwnedVeth[] = [];
  for (const link of links) {
    if (link.ifalias?.startsWith(CONTAINER_ALIAS_PREFIX)) {
      owned.push({ name: link.ifname, containerId: link.ifalias.slice(CONTAINER_ALIAS_PREFIX.length) });
    }
  }
  return owned;
}

/** Returns the container id in the alias of `name`, or undefined when the link is missing or unmarked. */
export async function ownerOfLink(name: string): Promise<string | undefined> {
  const link = await findLink(name);
  return link?.ifalias?.startsWith(CONTAINER_ALIAS_PREFIX) ? link.ifalias.slice(CONTAINER_ALIAS_PREFIX.length) : undefined;
}

/** Returns whether `address` is assigned to an interface of the host. */
export async function isLocalAddress(address: string): Promise<boolean> {
  const lists = await runIpJson<IpAddressList>(['-4', 'addr', 'show']);
  return lists.some((list) => list.addr_info?.some((info) => info.local === address) ?? false);
}
