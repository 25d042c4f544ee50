import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerEtcFiles, ContainerNetworkMode } from './types';

/** systemd-resolved's list of upstream servers, used when /etc/resolv.conf names only its stub. */
const SYSTEMD_RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';

/** Input for the /etc files of one container. */
export interface EtcFilesInput {
  mode: ContainerNetworkMode;
  hostname: string;
  /** Container address (`bridge` mode). */
  address?: string;
  /** Text of the host's resolv.conf. */
  hostResolvConf: string;
  /** Text of the host's hosts file (`host` mode copies it). */
  hostHosts: string;
  /** Name servers that replace the host's. */
  dnsServers?: string[];
}

/** The three generated files as text. */
export interface EtcFilesContent {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

/** Renders hosts, hostname and resolv.conf for a container. */
export function renderEtcFiles(input: EtcFilesInput): EtcFilesContent {
  return {
    hosts: renderHosts(input),
    hostname: `${input.hostname}\n`,
    resolvConf: renderResolvConf(input),
  };
}

function renderHosts(input: EtcFilesInput): string {
  if (input.mode === 'host') {
    const own = `127.0.1.1\t${input.hostname}\n`;
    return input.hostHosts.endsWith('\n') || input.hostHosts === '' ? `${input.hostHosts}${own}` : `${input.hostHosts}\n${own}`;
  }
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  lines.push(input.address === undefined ? `127.0.1.1\t${input.hostname}` : `${input.address}\t${input.hostname}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Keeps the host's search domains and options. In `host` mode the container shares the host's
 * loopback, so the file is copied as is. In other modes a loopback name server (a local stub
 * resolver) is unreachable from the container's namespace, so it is dropped.
 */
function renderResolvConf(input: EtcFilesInput): string {
  if (input.mode === 'host' && input.dnsServers === undefined) return input.hostResolvConf;
  const kept: string[] = [];
  const servers: string[] = [];
  for (const line of input.hostResolvConf.split('\n')) {
    const [keyword, value] = line.trim().split(/\s+/);
    if (keyword === 'nameserver' && value !== undefined) servers.push(value);
    else if (keyword === 'search' || keyword === 'domain' || keyword === 'options') kept.push(line.trim());
  }
  const chosen = input.dnsServers ?? servers.filter((server) => !isLoopbackAddress(server));
  const lines = [...kept, ...chosen.map((server) => `nameserver ${server}`)];
  if (chosen.length === 0) lines.unshift('# No name server of the host is reachable from a container; configure dnsServers.');
  return `${lines.join('\n')}\n`;
}

function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * Reads the host's resolv.conf. When it names only loopback servers and systemd-resolved's
 * upstream list exists, that list is read instead, as it names the real servers.
 */
export function readHostResolvConf(path: string): string {
  const text = readFileSync(path, 'utf8');
  const servers = text.split('\n').filter((line) => /^\s*nameserver\s/.test(line));
  const onlyLoopback = servers.length > 0 && servers.every((line) => isLoopbackAddress(line.trim().split(/\s+/)[1] ?? ''));
  if (onlyLoopback && path === '/etc/resolv.conf' && existsSync(SYSTEMD_RESOLVED_UPSTREAM)) {
    return readFileSync(SYSTEMD_RESOLVED_UPSTREAM, 'utf8');
  }
  return text;
}

/** Writes the files into `dir` (created if needed) and returns their paths. */
export function writeEtcFiles(dir: string, content: EtcFilesContent): ContainerEtcFiles {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = etcFilePaths(dir);
  writeFileSync(files.hosts, content.hosts, { mode: 0o644 });
  writeFileSync(files.hostname, content.hostname, { mode: 0o644 });
  writeFileSync(files.resolvConf, content.resolvConf, { mode: 0o644 });
  return files;
}

/** Returns the paths of the files in `dir` without touching the disk. */
export function etcFilePaths(dir: string): ContainerEtcFiles {
  return { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
}

/** Removes a directory written by writeEtcFiles; a missing directory is fine. */
export function removeEtcFiles(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
