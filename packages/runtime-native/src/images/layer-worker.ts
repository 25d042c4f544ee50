import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Digest } from './digest';
import * as errors from './errors';
import { LayerApplier } from './layer-applier';
import { unpackLayer } from './layer-unpack';
import { LayerCompression } from './manifest';

/** Chunks sent to a worker but not yet consumed; bounds memory per layer to about 16 × 64 KiB. */
const MAX_CHUNKS_IN_FLIGHT = 16;

/** Everything a worker needs to unpack one layer; plain data, so it crosses the thread boundary. */
export interface LayerJob {
  root: string;
  where: string;
  allowDevices?: boolean;
  helperPath?: string;
  blobDigest: Digest;
  blobSize: number;
  diffId: Digest;
  compression: LayerCompression;
  maxUncompressedBytes: number;
  /** Write the blob's bytes here as they arrive (registry source only). */
  blobFile?: string;
  /** Read the blob from this stored file instead of from chunks posted by the main thread. */
  sourceFile?: string;
}

type ToWorker = { type: 'chunk'; data: Uint8Array } | { type: 'end' } | { type: 'error'; message: string } | { type: 'finish'; lowerRoots: string[] };
type FromWorker = { type: 'ack' } | { type: 'unpacked' } | { type: 'finished' } | { type: 'failed'; name: string; message: string; code?: string };

/**
 * Unpacks one layer on a worker thread, so the synchronous file-system calls of several layers run
 * in parallel and never block the main thread. `feed` streams the blob in with backpressure;
 * `unpacked` settles once both digests are checked; `finish` runs the applier's final pass.
 */
export class LayerWorker {
  private readonly worker: Worker;
  private readonly waiters: { type: FromWorker['type']; resolve: () => void; reject: (error: Error) => void }[] = [];
  private ackWaiter: (() => void) | undefined;
  private inFlight = 0;
  private failure: Error | undefined;
  private exited = false;
  readonly unpacked: Promise<void>;

  constructor(job: LayerJob) {
    this.worker = new Worker(join(__dirname, 'layer-worker.js'), { workerData: job });
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => {
      this.exited = true;
      this.fail(new errors.InternalImageError(`layer worker for ${job.where} exited early`));
    });
    this.unpacked = this.waitFor('unpacked');
    this.unpacked.catch(() => undefined);
  }

  /** Posts the blob's chunks; stops early once the worker failed. Rethrows the source's own error. */
  async feed(source: AsyncIterable<Buffer>, onBytes?: (bytesDone: number) => void): Promise<void> {
    let bytes = 0;
    try {
      for await (const chunk of source) {
        if (this.failure) return;
        while (this.inFlight >= MAX_CHUNKS_IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => (this.ackWaiter = resolve));
        const copy = new Uint8Array(chunk);
        this.inFlight++;
        this.post({ type: 'chunk', data: copy }, [copy.buffer]);
        bytes += chunk.length;
        onBytes?.(bytes);
      }
      this.post({ type: 'end' });
    } catch (error) {
      this.post({ type: 'error', message: (error as Error).message });
      throw error;
    }
  }

  /** Runs the applier's final pass with the lower snapshots, topmost first. */
  finish(lowerRoots: string[]): Promise<void> {
    const done = this.waitFor('finished');
    this.post({ type: 'finish', lowerRoots });
    return done;
  }

  /** Stops the worker; safe to call more than once. */
  async stop(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }

  private post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.exited) this.worker.postMessage(message, transfer);
  }

  private waitFor(type: FromWorker['type']): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => this.waiters.push({ type, resolve, reject }));
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'ack') {
      this.inFlight--;
      this.ackWaiter?.();
      this.ackWaiter = undefined;
      return;
    }
    if (message.type === 'failed') return this.fail(rebuildError(message));
    const index = this.waiters.findIndex((waiter) => waiter.type === message.type);
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.ackWaiter?.();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

/** Turns a worker's error report back into the image error class it was thrown as. */
function rebuildError(report: { name: string; message: string; code?: string }): Error {
  const ErrorClass = (errors as Record<string, unknown>)[report.name];
  if (typeof ErrorClass === 'function' && ErrorClass.prototype instanceof errors.ImageError) {
    return new (ErrorClass as new (message: string) => Error)(report.message);
  }
  const error = new Error(report.message) as NodeJS.ErrnoException;
  if (report.code) error.code = report.code;
  return error;
}

/** The worker side: pulls chunks from the main thread, unpacks, then waits for `finish`. */
async function runWorker(job: LayerJob): Promise<void> {
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
  const posted = async function* (): AsyncGenerator<Buffer> {
    for (;;) {
      const message = await next();
      if (message.type === 'end') return;
      if (message.type === 'error') throw new Error(message.message);
      if (message.type !== 'chunk') continue;
      port.postMessage({ type: 'ack' } satisfies FromWorker);
      yield Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
    }
  };

  const report = (error: unknown) => {
    const failure = error as NodeJS.ErrnoException;
    port.postMessage({ type: 'failed', name: failure?.name ?? 'Error', message: failure?.message ?? String(error), ...(failure?.code ? { code: failure.code } : {}) } satisfies FromWorker);
  };
  const applier = new LayerApplier({ root: job.root, where: job.where, allowDevices: job.allowDevices, helperPath: job.helperPath });
  try {
    await unpackLayer({
      source: job.sourceFile ? createReadStream(job.sourceFile) : posted(),
      blobDigest: job.blobDigest, blobSize: job.blobSize, diffId: job.diffId, compression: job.compression,
      applier, where: job.where, maxUncompressedBytes: job.maxUncompressedBytes,
      ...(job.blobFile ? { blobFile: job.blobFile } : {}),
    });
    port.postMessage({ type: 'unpacked' } satisfies FromWorker);
    let message = await next();
    while (message.type !== 'finish') message = await next();
    await applier.finish(message.lowerRoots);
    port.postMessage({ type: 'finished' } satisfies FromWorker);
  } catch (error) {
    report(error);
  }
  port.close();
}

if (!isMainThread && (workerData as LayerJob | undefined)?.root) {
  void runWorker(workerData as LayerJob);
}
