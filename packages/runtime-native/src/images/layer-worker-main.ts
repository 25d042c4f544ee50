/**
 * Entry of a layer worker thread (see LayerWorker in layer-worker.ts): unpacks one layer after
 * another from the jobs and blob chunks the main thread posts.
 */
import { createReadStream, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { basename } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LayerApplier } from './layer-applier';
import { unpackLayer } from './layer-unpack';
import { CHUNKS_PER_ACK, FromWorker, LayerJob, LOW_PRIORITY_NICE, ToWorker, WORKER_MARK } from './layer-worker';

/** The worker side: runs one job after another, as the main thread sends them. */
async function runWorker(): Promise<void> {
  const port = parentPort!;
  const queue: ToWorker[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (message: ToWorker) => {
    queue.push(message);
    wake?.();
  });
  const next = async (): Promise<ToWorker> => {
    while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return queue.shift()!;
  };
  for (;;) {
    const message = await next();
    if (message.type === 'job') await runJob(message.job, port, next, () => queue.length > 0);
  }
}

/** Unpacks one layer from the chunks the main thread posts, then waits for `finish`. */
async function runJob(job: LayerJob, port: NonNullable<typeof parentPort>, next: () => Promise<ToWorker>, hasQueued: () => boolean): Promise<void> {
  const posted = async function* (): AsyncGenerator<Buffer> {
    let unacknowledged = 0;
    for (;;) {
      const message = await next();
      if (message.type === 'end') return;
      if (message.type === 'error') throw new Error(message.message);
      if (message.type !== 'chunk') continue;
      unacknowledged++;
      if (unacknowledged >= CHUNKS_PER_ACK || !hasQueued()) {
        port.postMessage({ type: 'ack', chunks: unacknowledged } satisfies FromWorker);
        unacknowledged = 0;
      }
      yield Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
    }
  };

  const report = (error: unknown) => {
    const failure = error as NodeJS.ErrnoException;
    port.postMessage({ type: 'failed', name: failure?.name ?? 'Error', message: failure?.message ?? String(error), ...(failure?.code ? { code: failure.code } : {}) } satisfies FromWorker);
  };
  const lowered = job.lowPriority === true && setThreadNice(LOW_PRIORITY_NICE);
  let reusable = true;
  try {
    const applier = new LayerApplier({ root: job.root, where: job.where, allowDevices: job.allowDevices, helperPath: job.helperPath });
    try {
      await unpackLayer({
        source: job.sourceFile ? createReadStream(job.sourceFile) : posted(),
        blobDigest: job.blobDigest, blobSize: job.blobSize, diffId: job.diffId, compression: job.compression,
        applier, where: job.where, maxUncompressedBytes: job.maxUncompressedBytes,
        ...(job.blobFile ? { blobFile: job.blobFile } : {}),
      });
    } finally {
      // Raising the priority again needs CAP_SYS_NICE or a RLIMIT_NICE that allows it. Without
      // either, the thread stays at low priority and is not kept for another layer.
      if (lowered) reusable = setThreadNice(0);
    }
    port.postMessage({ type: 'unpacked' } satisfies FromWorker);
    let message = await next();
    while (message.type !== 'finish') message = await next();
    await applier.finish(message.lowerRoots);
    port.postMessage({ type: 'finished', reusable } satisfies FromWorker);
  } catch (error) {
    report(error);
  }
}

/**
 * Sets the nice value of the calling thread. On Linux the nice value belongs to each thread, and
 * setpriority given a thread ID changes only that thread (setpriority(2), BUGS). Returns false when
 * that fails, for example without /proc or without permission to raise the priority.
 */
function setThreadNice(nice: number): boolean {
  try {
    setPriority(Number(basename(readlinkSync('/proc/thread-self'))), nice);
    return true;
  } catch {
    return false;
  }
}

if (!isMainThread && (workerData as Record<string, unknown> | undefined)?.[WORKER_MARK] === true) {
  void runWorker();
}
