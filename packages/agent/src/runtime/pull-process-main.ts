/**
 * Entry of the agent's image pull process, which `PullProcessImagePort` forks. Pulls run here
 * instead of in the agent so that the image modules, the code compiled for them, the layer
 * worker threads and the malloc arenas of a pull burst are freed when this process exits. It
 * exits as soon as the agent closes the IPC channel, which the agent does once no pull is pending
 * and which also happens when the agent dies.
 */
import { ImageStore, PullProgress as LayerProgress } from '@berth/runtime-native/dist/images/image-store';
import { prestartLayerWorkers } from '@berth/runtime-native/dist/images/layer-worker';
import type { RegistryClientOptions } from '@berth/runtime-native/dist/images/registry-client';
import { runConfigOf } from '../spec/image-config';
import type { LocalImage, PullProgress } from './ports';
import { AgentToPullerMessage, PullerToAgentMessage, serializeError, StartMessage } from './pull-messages';

/** Minimum time between two progress messages of one pull; the last one before the end is always sent. */
const PROGRESS_INTERVAL_MS = 200;
/** Exit code when the process was started without an IPC channel or got a pull before `start`. */
const EXIT_USAGE = 2;

let store: ImageStore | undefined;
let registry: RegistryClientOptions = {};

function send(message: PullerToAgentMessage): void {
  // A closed channel means the agent has gone; the disconnect handler ends this process.
  if (process.connected) process.send!(message);
}

function start(message: StartMessage): void {
  store = new ImageStore({ stateDir: message.stateDir });
  registry = { auth: message.auth, insecureRegistries: message.insecureRegistries };
  // The first pull's manifest and config requests then overlap the threads' start.
  prestartLayerWorkers();
}

/** Pulls one reference and sends its progress and its result or failure, tagged with `id`. */
async function pull(id: number, reference: string): Promise<void> {
  const layers = new Map<string, { done: number; total: number }>();
  let lastSentMs = 0;
  let pending: PullProgress | undefined;
  const onProgress = (progress: LayerProgress) => {
    layers.set(progress.layer, { done: progress.bytesDone, total: progress.bytesTotal });
    let completedBytes = 0;
    let totalBytes = 0;
    for (const layer of layers.values()) {
      completedBytes += layer.done;
      totalBytes += layer.total;
    }
    pending = { reference, completedBytes, totalBytes };
    if (Date.now() - lastSentMs < PROGRESS_INTERVAL_MS) return;
    lastSentMs = Date.now();
    send({ type: 'progress', id, progress: pending });
    pending = undefined;
  };

  try {
    const result = await store!.pull(reference, { ...registry, onProgress });
    if (pending) send({ type: 'progress', id, progress: pending });
    const image: LocalImage = {
      reference: result.reference,
      digest: result.digest,
      layerDirs: result.layers.map((layer) => layer.snapshotPath),
      config: runConfigOf(result.config.config),
    };
    send({ type: 'pulled', id, image });
  } catch (error) {
    send({ type: 'failed', id, error: serializeError(error) });
  }
}

function receive(message: AgentToPullerMessage): void {
  if (message.type === 'start') {
    start(message);
    return;
  }
  if (store === undefined) {
    process.stderr.write('berth-agent pull process: received a pull before the start message\n');
    process.exit(EXIT_USAGE);
  }
  void pull(message.id, message.reference);
}

if (process.send === undefined) {
  process.stderr.write('berth-agent pull process: no IPC channel; the agent starts this process with child_process.fork\n');
  process.exit(EXIT_USAGE);
}
process.on('message', receive);
process.on('disconnect', () => process.exit(0));
