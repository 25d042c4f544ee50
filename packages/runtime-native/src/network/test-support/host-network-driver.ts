/**
 * Runs one HostNetwork operation and prints its JSON result, for tests that run it inside a host
 * namespace (`nsenter --net=HOST node host-network-driver.js REQUEST`). Each call is a fresh
 * process, the way an agent restart would be. With `crashAfterStep` the process kills itself with
 * SIGKILL right after that setup step, leaving what a crashed agent leaves.
 */
import { HostNetwork } from '../host-network';
import { ContainerNetworkRequest, HostNetworkEvent, HostNetworkOptions, SetupStep } from '../types';

/** The request a test passes as the single argument. */
export type DriverRequest =
  | { op: 'setup'; options: HostNetworkOptions; containerId: string; request: ContainerNetworkRequest; crashAfterStep?: SetupStep }
  | { op: 'teardown'; options: HostNetworkOptions; containerId: string }
  | { op: 'collectGarbage'; options: HostNetworkOptions; liveContainerIds: string[] }
  | { op: 'inspect'; options: HostNetworkOptions; containerId: string }
  | { op: 'removeBridge'; options: HostNetworkOptions };

/** Driver output: the result or the error's class name and message, plus the events emitted. */
export type DriverResponse = { ok: true; result: unknown; events: HostNetworkEvent[] } | { ok: false; error: { name: string; message: string }; events: HostNetworkEvent[] };

async function perform(network: HostNetwork, request: DriverRequest): Promise<unknown> {
  switch (request.op) {
    case 'setup':
      return network.setup(request.containerId, request.request);
    case 'teardown':
      return network.teardown(request.containerId);
    case 'collectGarbage':
      return network.collectGarbage(request.liveContainerIds);
    case 'inspect':
      return network.inspect(request.containerId);
    case 'removeBridge':
      return network.removeBridge();
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as DriverRequest;
  const events: HostNetworkEvent[] = [];
  let response: DriverResponse;
  try {
    const network = new HostNetwork(request.options);
    network.on('event', (event) => {
      events.push(event);
      if (request.op === 'setup' && event.kind === 'step' && event.step === request.crashAfterStep) process.kill(process.pid, 'SIGKILL');
    });
    response = { ok: true, result: (await perform(network, request)) ?? null, events };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    response = { ok: false, error: { name: failure.name, message: failure.message }, events };
  }
  process.stdout.write(`${JSON.stringify(response)}\n`);
}

void main();
