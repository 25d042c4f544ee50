import { InvalidNetworkRequestError, PortInUseError } from './errors';
import { isLocalAddress } from './links';
import { ContainerRecord } from './network-state';
import { bridgeChains, listBerthTable } from './nft-rules';
import { findSocketOwner, listBoundSockets, socketCoversAddress } from './port-holders';
import { PublishedPortSpec } from './types';
import { describePublishedPort, publishedPortsClash } from './validation';

/** Existing publications that a request is checked against. */
export interface PortCheckContext {
  containerId: string;
  bridgeName: string;
  /** Records of this bridge's containers. */
  records: ContainerRecord[];
}

/**
 * Checks that every host port in `ports` is free. A port is taken when another container of this
 * bridge publishes it (state records), when a container of another Berth bridge publishes it
 * (rule comments in Berth's nft table), or when a process has bound it (/proc/net).
 * Throws PortInUseError naming the holder, or InvalidNetworkRequestError when a pinned host
 * address is not assigned to this host.
 */
export async function checkPortsAreFree(ports: readonly PublishedPortSpec[], context: PortCheckContext): Promise<void> {
  if (ports.length === 0) return;
  for (const port of ports) {
    if (port.hostIp !== '' && !(await isLocalAddress(port.hostIp))) {
      throw new InvalidNetworkRequestError(
        `invalid PublishPort=${describePublishedPort(port)}: ${port.hostIp} is not assigned to any interface of this host`,
      );
    }
  }

  for (const port of ports) {
    const holder = findRecordHolder(port, context);
    if (holder !== undefined) throw new PortInUseError(port.protocol, port.hostPort, holder);
  }

  const ownChains = new Set(bridgeChains(context.bridgeName).map((chain) => chain.name));
  const table = await listBerthTable();
  for (const rule of table?.published ?? []) {
    if (ownChains.has(rule.chain) || rule.containerId === context.containerId) continue;
    const clash = ports.find((port) => publishedPortsClash(port, { ...rule, containerPort: rule.hostPort }));
    if (clash) throw new PortInUseError(clash.protocol, clash.hostPort, `container ${rule.containerId} (nft chain ${rule.chain})`);
  }

  const sockets = listBoundSockets();
  for (const port of ports) {
    const socket = sockets.find((s) => s.protocol === port.protocol && s.localPort === port.hostPort && socketCoversAddress(s, port.hostIp));
    if (socket) {
      const owner = findSocketOwner(socket.inode) ?? `a socket with inode ${socket.inode} whose process is not visible`;
      throw new PortInUseError(port.protocol, port.hostPort, `${owner} listening on ${socket.localAddress}`);
    }
  }
}

function findRecordHolder(port: PublishedPortSpec, context: PortCheckContext): string | undefined {
  for (const record of context.records) {
    if (record.containerId === context.containerId) continue;
    const clash = record.publishPorts.find((other) => publishedPortsClash(other, port));
    if (clash) return `container ${record.containerId} (PublishPort=${describePublishedPort(clash)})`;
  }
  return undefined;
}
