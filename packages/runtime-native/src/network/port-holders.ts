import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { formatIpv4, parseIpv4 } from './ipv4';

/** A socket bound on the host, as listed in /proc/net/{tcp,tcp6,udp,udp6}. */
export interface BoundSocket {
  protocol: 'tcp' | 'udp';
  /** Local IPv4 address, `0.0.0.0` for a wildcard bind, or `::`-style text for IPv6. */
  localAddress: string;
  localPort: number;
  /** Whether the local address is a wildcard (`0.0.0.0` or `::`). */
  wildcard: boolean;
  inode: number;
}

/** `TCP_LISTEN` in the kernel's tcp_states.h, as /proc/net/tcp prints it. */
const TCP_LISTEN_STATE = '0A';

/**
 * Parses one /proc/net table. For TCP only listening sockets count as holders; for UDP every bound
 * socket does, because UDP has no listen state. Lines that do not parse are skipped: the kernel
 * writes the format, and a future extra column must not break port checks.
 */
export function parseProcNetTable(text: string, protocol: 'tcp' | 'udp', ipv6: boolean): BoundSocket[] {
  const sockets: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [addressHex, portHex] = (fields[1] ?? '').split(':');
    const state = fields[3];
    const inode = Number(fields[9]);
    if (addressHex === undefined || portHex === undefined || !Number.isInteger(inode)) continue;
    if (protocol === 'tcp' && state !== TCP_LISTEN_STATE) continue;

    const localAddress = ipv6 ? decodeIpv6(addressHex) : decodeIpv4(addressHex);
    if (localAddress === undefined) continue;
    const wildcard = /^0+$/.test(addressHex);
    sockets.push({ protocol, localAddress, localPort: parseInt(portHex, 16), wildcard, inode });
  }
  return sockets;
}

/** Decodes an IPv4 address, which the kernel prints as its 32-bit value in host byte order (little-endian on x86 and arm64). */
function decodeIpv4(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  return formatIpv4(bytes.readUInt32LE(0));
}

/** IPv6 is printed as four 32-bit words, each in host byte order. An IPv4-mapped address comes back as IPv4 text. */
function decodeIpv6(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return undefined;
  const words = Buffer.from(hex, 'hex');
  const bytes = Buffer.alloc(16);
  for (let word = 0; word < 4; word++) bytes.writeUInt32BE(words.readUInt32LE(word * 4), word * 4);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return formatIpv4(bytes.readUInt32BE(12));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Lists the sockets bound in the caller's network namespace. */
export function listBoundSockets(): BoundSocket[] {
  const tables: Array<[string, 'tcp' | 'udp', boolean]> = [
    ['/proc/net/tcp', 'tcp', false],
    ['/proc/net/tcp6', 'tcp', true],
    ['/proc/net/udp', 'udp', false],
    ['/proc/net/udp6', 'udp', true],
  ];
  const sockets: BoundSocket[] = [];
  for (const [path, protocol, ipv6] of tables) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue; // A kernel built without IPv6 has no tcp6/udp6 tables.
    }
    sockets.push(...parseProcNetTable(text, protocol, ipv6));
  }
  return sockets;
}

/**
 * Returns whether `socket` would receive traffic meant for a publication on `hostIp` (empty for
 * every address): a wildcard socket, or an IPv4 socket on the published address.
 */
export function socketCoversAddress(socket: BoundSocket, hostIp: string): boolean {
  if (socket.wildcard) return true;
  // Publications are IPv4 only, so a socket on one specific IPv6 address never receives their traffic.
  if (parseIpv4(socket.localAddress) === undefined) return false;
  return hostIp === '' || socket.localAddress === hostIp;
}

/**
 * Finds the process that owns socket `inode` by scanning /proc/PID/fd, and describes it as
 * `process NAME (pid N)`. Returns undefined when no visible process owns it (another PID
 * namespace, or the owner exited).
 */
export function findSocketOwner(inode: number): string | undefined {
  const target = `socket:[${inode}]`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // The process exited or its fd table is not readable.
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link === target) return `process ${processName(entry)} (pid ${entry})`;
    }
  }
  return undefined;
}

function processName(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
