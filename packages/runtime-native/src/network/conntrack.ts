import { commandFailedWith, runHostCommand } from './command';

/** conntrack exits 1 when a delete matched nothing, which is not a failure here. */
const NOTHING_DELETED = '0 flow entries have been deleted';

async function deleteFlows(args: readonly string[]): Promise<void> {
  try {
    await runHostCommand('conntrack', ['-D', ...args]);
  } catch (error) {
    if (!commandFailedWith(error, NOTHING_DELETED)) throw error;
  }
}

/**
 * Deletes connection-tracking entries to or from a container address. NAT decisions live in
 * these entries, so without this a UDP client that keeps sending would stay mapped to the
 * deleted container's address until its flow goes idle, and never reach a successor.
 * Throws NetworkToolMissingError or NetworkCommandError.
 */
export async function forgetContainerFlows(address: string): Promise<void> {
  await deleteFlows(['--orig-src', address]);
  await deleteFlows(['--reply-src', address]);
}

/**
 * Deletes UDP entries whose original destination port is `hostPort`. Datagrams that arrived
 * before the port was published created entries without DNAT, and they would keep bypassing the
 * new rule for as long as the client keeps sending.
 */
export async function forgetUdpPortFlows(hostPort: number): Promise<void> {
  await deleteFlows(['--proto', 'udp', '--orig-port-dst', String(hostPort)]);
}
