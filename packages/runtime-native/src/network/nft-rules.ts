import { commandFailedWith, runHostCommand } from './command';
import { NetworkCommandError } from './errors';
import { PublishedPortSpec } from './types';

/**
 * Berth keeps every rule in its own nftables table, so the host's tables (including those that
 * iptables-nft writes) are never edited. nft evaluates each table's base chains on its own, so
 * Berth's rules add to the host's firewall and cannot open what the host's rules drop.
 */
export const NFT_FAMILY = 'ip';
export const NFT_TABLE = 'berth';

const CONTAINER_COMMENT_PATTERN = /^berth container=(\S+) publish=(\d+)\/(tcp|udp)(?: ip=(\S+))?$/;

/** One container's address and publications, the input for its DNAT rules. */
export interface ContainerRules {
  containerId: string;
  address: string;
  publishPorts: PublishedPortSpec[];
}

/** Everything that decides the content of one bridge's chains. */
export interface BridgeRules {
  bridgeName: string;
  /** Container subnet in CIDR form. */
  subnet: string;
  containers: ContainerRules[];
}

/** The four base chains of one bridge, with the hook and priority of each. */
export function bridgeChains(bridgeName: string): Array<{ name: string; declaration: string }> {
  return [
    { name: `guard-${bridgeName}`, declaration: 'type filter hook prerouting priority raw; policy accept;' },
    { name: `pre-${bridgeName}`, declaration: 'type nat hook prerouting priority dstnat; policy accept;' },
    { name: `out-${bridgeName}`, declaration: 'type nat hook output priority -100; policy accept;' },
    { name: `post-${bridgeName}`, declaration: 'type nat hook postrouting priority srcnat; policy accept;' },
  ];
}

/**
 * Renders an nft script that replaces the content of the bridge's chains in one transaction, so a
 * packet meets either the old or the new rules and a crash leaves no half-written set. Rules are a
 * function of the state records: a rule of a container without a record disappears on the next
 * render.
 *
 * - guard: a container may not send to or from 127.0.0.0/8. route_localnet on the bridge would
 *   otherwise let it reach services that listen on the host's loopback.
 * - pre/out: DNAT of published ports, for traffic arriving from outside (prerouting) and for
 *   traffic the host itself sends, loopback included (output).
 * - post: masquerade of traffic leaving the subnet, and of published-port traffic that came from
 *   loopback or from a container, whose replies would otherwise bypass the host.
 */
export function renderBridgeRules(rules: BridgeRules): string {
  const bridge = JSON.stringify(rules.bridgeName);
  const owner = `comment "berth bridge=${rules.bridgeName}"`;
  const [guard, pre, out, post] = bridgeChains(rules.bridgeName).map((chain) => chain.name);
  const lines = [`add table ${NFT_FAMILY} ${NFT_TABLE}`];
  for (const chain of bridgeChains(rules.bridgeName)) {
    lines.push(`add chain ${NFT_FAMILY} ${NFT_TABLE} ${chain.name} { ${chain.declaration} }`);
    lines.push(`flush chain ${NFT_FAMILY} ${NFT_TABLE} ${chain.name}`);
  }

  const add = (chain: string | undefined, rule: string) => lines.push(`add rule ${NFT_FAMILY} ${NFT_TABLE} ${chain} ${rule}`);
  add(guard, `iifname ${bridge} ip daddr 127.0.0.0/8 drop ${owner}`);
  add(guard, `iifname ${bridge} ip saddr 127.0.0.0/8 drop ${owner}`);
  add(post, `oifname != ${bridge} ip saddr ${rules.subnet} masquerade ${owner}`);
  add(post, `oifname ${bridge} ct status dnat ip saddr { 127.0.0.0/8, ${rules.subnet} } masquerade ${owner}`);

  for (const container of rules.containers) {
    for (const port of container.publishPorts) {
      const rule = dnatRule(container, port);
      add(pre, rule);
      add(out, rule);
    }
  }
  return `${lines.join('\n')}\n`;
}

function dnatRule(container: ContainerRules, port: PublishedPortSpec): string {
  const destination = port.hostIp === '' ? 'fib daddr type local' : `ip daddr ${port.hostIp}`;
  const ip = port.hostIp === '' ? '' : ` ip=${port.hostIp}`;
  const comment = `berth container=${container.containerId} publish=${port.hostPort}/${port.protocol}${ip}`;
  return `${destination} ${port.protocol} dport ${port.hostPort} dnat to ${container.address}:${port.containerPort} comment "${comment}"`;
}

/** Applies a rendered script atomically. Throws NetworkCommandError with nft's message. */
export async function applyNftScript(script: string): Promise<void> {
  await runHostCommand('nft', ['-f', '-'], { input: script });
}

/**
 * Deletes the bridge's chains, and the table when no other bridge's chains remain in it.
 * A missing table is fine.
 */
export async function removeBridgeRules(bridgeName: string): Promise<void> {
  const table = await listBerthTable();
  if (table === undefined) return;
  const ours = new Set(bridgeChains(bridgeName).map((chain) => chain.name));
  const lines: string[] = [];
  for (const chain of table.chains.filter((name) => ours.has(name))) {
    lines.push(`flush chain ${NFT_FAMILY} ${NFT_TABLE} ${chain}`, `delete chain ${NFT_FAMILY} ${NFT_TABLE} ${chain}`);
  }
  if (table.chains.every((name) => ours.has(name))) lines.push(`delete table ${NFT_FAMILY} ${NFT_TABLE}`);
  if (lines.length > 0) await applyNftScript(`${lines.join('\n')}\n`);
}

/** A published port found in Berth's table, read back from its rule comment. */
export interface PublishedRule {
  chain: string;
  containerId: string;
  hostIp: string;
  hostPort: number;
  protocol: 'tcp' | 'udp';
}

/** Chains and container publications currently in Berth's table. */
export interface BerthTable {
  chains: string[];
  published: PublishedRule[];
}

interface NftJsonEntry {
  chain?: { name: string };
  rule?: { chain: string; comment?: string };
}

/** Reads Berth's table; returns undefined when it does not exist. Throws NetworkCommandError otherwise. */
export async function listBerthTable(): Promise<BerthTable | undefined> {
  let stdout: string;
  try {
    stdout = await runHostCommand('nft', ['-j', 'list', 'table', NFT_FAMILY, NFT_TABLE]);
  } catch (error) {
    if (commandFailedWith(error, 'No such file or directory')) return undefined;
    throw error;
  }
  return parseBerthTable(stdout);
}

/** Parses `nft -j list table` output. Throws NetworkCommandError when it is not the expected JSON. */
export function parseBerthTable(json: string): BerthTable {
  let entries: NftJsonEntry[];
  try {
    entries = (JSON.parse(json) as { nftables: NftJsonEntry[] }).nftables;
  } catch (error) {
    throw new NetworkCommandError('nft', ['-j', 'list', 'table', NFT_FAMILY, NFT_TABLE], 0, `output is not nft JSON: ${json.slice(0, 200)}`, { cause: error });
  }
  const table: BerthTable = { chains: [], published: [] };
  for (const entry of entries) {
    if (entry.chain) table.chains.push(entry.chain.name);
    const match = entry.rule?.comment === undefined ? null : CONTAINER_COMMENT_PATTERN.exec(entry.rule.comment);
    if (entry.rule && match) {
      table.published.push({
        chain: entry.rule.chain,
        containerId: match[1] as string,
        hostPort: Number(match[2]),
        protocol: match[3] as 'tcp' | 'udp',
        hostIp: match[4] ?? '',
      });
    }
  }
  return table;
}
