import { PublishedPort } from '@berth/unitfile';

/** Returns whether two published ports would bind the same host socket. */
export function portsCollide(a: PublishedPort, b: PublishedPort): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  // An empty host address binds every address, so it collides with any specific one.
  return a.hostIp === '' || b.hostIp === '' || a.hostIp === b.hostIp;
}

/** Formats a published port for reasons: `tcp/8080` or `tcp/127.0.0.1:8080`. */
export function formatPort(port: PublishedPort): string {
  const host = port.hostIp === '' ? '' : `${port.hostIp}:`;
  return `${port.protocol}/${host}${port.hostPort}`;
}

const BYTE_UNITS: Array<[string, number]> = [
  ['T', 1024 ** 4],
  ['G', 1024 ** 3],
  ['M', 1024 ** 2],
  ['K', 1024],
];

/** Formats a byte count the way `Memory=` accepts it (`512M`), exact when possible. */
export function formatBytes(bytes: number): string {
  for (const [suffix, size] of BYTE_UNITS) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}
