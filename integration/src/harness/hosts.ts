import { randomBytes } from 'node:crypto';
import { runCommand } from '@berth/testkit';

/** One simulated machine: a network namespace attached to the test bridge. */
export interface TestHost {
  /** Network namespace name, usable with `ip netns exec NAME`. */
  netns: string;
  /** The host's address on the test bridge. */
  address: string;
  /** Interface name of the host end inside the namespace. */
  interfaceName: string;
  /** The veth end attached to the bridge in the root namespace. */
  bridgePort: string;
}

/** Several simulated machines joined by one bridge in the root namespace, as a LAN would join them. */
export interface TestHostNetwork {
  bridge: string;
  /** Address of the bridge in the root namespace; services for the hosts listen here. */
  gatewayAddress: string;
  /** Prefix length of the test subnet. */
  prefixLength: number;
  hosts: TestHost[];
  /** Deletes every namespace, veth and the bridge created for this network. */
  destroy(): Promise<void>;
}

export interface TestHostNetworkOptions {
  count: number;
  /** Third octet of 10.213.X.0/24, so parallel networks do not overlap; random by default. */
  subnetIndex?: number;
  /** Short tag used in names; random by default. At most 6 characters. */
  tag?: string;
}

const SUBNET_PREFIX = '10.213';

async function ip(args: string[]): Promise<void> {
  await runCommand('ip', args);
}

async function ipInNetns(netns: string, args: string[]): Promise<void> {
  await runCommand('ip', ['-n', netns, ...args]);
}

/**
 * Creates `count` network namespaces `berth-TAG-hN`, each with a veth to a bridge `bTAG` in the root
 * namespace and an address in 10.213.X.0/24 (the bridge takes .1, host N takes .N+10). Nothing routes
 * this subnet anywhere else: traffic stays between the namespaces and the bridge.
 */
export async function createTestHostNetwork(options: TestHostNetworkOptions): Promise<TestHostNetwork> {
  const tag = options.tag ?? randomBytes(3).toString('hex');
  const subnetIndex = options.subnetIndex ?? 100 + Math.floor(Math.random() * 150);
  const bridge = `b${tag}`;
  const gatewayAddress = `${SUBNET_PREFIX}.${subnetIndex}.1`;
  const created: TestHost[] = [];
  let bridgeCreated = false;

  const destroy = async () => {
    const failures: string[] = [];
    for (const host of created) {
      // Deleting the veth first makes cleanup synchronous: a namespace's devices otherwise linger
      // for a moment after `ip netns delete` returns, while the kernel tears the namespace down.
      await ip(['link', 'delete', host.bridgePort]).catch(() => undefined);
      await runCommand('ip', ['netns', 'delete', host.netns]).catch((error: Error) => failures.push(error.message));
    }
    if (bridgeCreated) await ip(['link', 'delete', bridge]).catch((error: Error) => failures.push(error.message));
    if (failures.length > 0) throw new Error(`cleanup of test hosts failed: ${failures.join('; ')}`);
  };

  try {
    await ip(['link', 'add', bridge, 'type', 'bridge']);
    bridgeCreated = true;
    await ip(['addr', 'add', `${gatewayAddress}/24`, 'dev', bridge]);
    await ip(['link', 'set', bridge, 'up']);

    for (let index = 1; index <= options.count; index++) {
      const netns = `berth-${tag}-h${index}`;
      const outer = `v${tag}h${index}`;
      const address = `${SUBNET_PREFIX}.${subnetIndex}.${index + 10}`;
      await runCommand('ip', ['netns', 'add', netns]);
      created.push({ netns, address, interfaceName: 'eth0', bridgePort: outer });
      await ip(['link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      await ip(['link', 'set', outer, 'master', bridge, 'up']);
      await ipInNetns(netns, ['link', 'set', 'lo', 'up']);
      await ipInNetns(netns, ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await ipInNetns(netns, ['link', 'set', 'eth0', 'up']);
      await ipInNetns(netns, ['route', 'add', 'default', 'via', gatewayAddress]);
    }
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }

  return { bridge, gatewayAddress, prefixLength: 24, hosts: created, destroy };
}
