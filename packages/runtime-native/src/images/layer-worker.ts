import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Digest } from './digest';
import * as errors from './errors';
import { LayerCompression } from './manifest';

/** Chunks sent to a worker but not yet consumed; bounds memory per layer to about 16 × 64 KiB. */
const MAX_CHUNKS_IN_FLIGHT = 16;
/**
 * The worker acknowledges consumed chunks in batches of this many, or fewer when it runs out of
 * queued chunks, so that about one message in four crosses back per chunk sent.
 */
export const CHUNKS_PER_ACK = 4;
/** Idle worker threads kept for the next layer; as many as the store unpacks at once by default. */
const MAX_IDLE_WORKERS = 3;
/** An idle worker is ended after this long without a layer. */
const IDLE_WORKER_TTL_MS = 30_000;
/** Marks the thread as a layer worker in its workerData. */
export const WORKER_MARK = 'berthLayerWorker';
/** Nice value of a thread whose job requests low priority (`LayerJob.lowPriority`). */
export const LOW_PRIORITY_NICE = 10;
/**
 * The worker side, in a module of its own: the main thread then does not load the extraction code
 * (tar-stream, the applier), which took about 15 ms of a new pull process's start.
 */
const WORKER_MAIN = join(__dirname, 'layer-worker-main.js');

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
  /**
   * Unpack at a lower CPU priority (nice 10) until the data is applied. The image store sets it
   * for every layer but the largest, which decides when a pull ends, so that layer gets a CPU first
   * on a host with fewer CPUs than layers in flight.
   */
  lowPriority?: boolean;
}

/** Messages from the main thread to a layer worker. */
export type ToWorker =
  | { type: 'job'; job: LayerJob }
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'error'; message: string }
  | { type: 'finish'; lowerRoots: string[] };
/** Messages from a layer worker to the main thread. */
export type FromWorker =
  | { type: 'ack'; chunks: number }
  | { type: 'unpacked' }
  | { type: 'finished'; reusable: boolean }
  | { type: 'failed'; name: string; message: string; code?: string };

interface IdleWorker {
  worker: Worker;
  timer: NodeJS.Timeout;
  drop: () => void;
}

/**
 * Threads that finished a layer cleanly, waiting for the next. Starting a thread and compiling the
 * extraction code in it costs about 50 ms of CPU per layer; a kept thread has its code compiled.
 * Only a thread whose job ended with `finished` comes back here; after any failure it is ended.
 * A thread that could not return to normal priority after a low-priority job is ended too.
 */
const idleWorkers: IdleWorker[] = [];

function startWorker(): Worker {
  return new Worker(WORKER_MAIN, { workerData: { [WORKER_MARK]: true } });
}

function takeWorker(): Worker {
  const idle = idleWorkers.pop();
  if (!idle) return startWorker();
  clearTimeout(idle.timer);
  // Only our own listeners go: Worker registers its own to reference its message port.
  idle.worker.off('error', idle.drop);
  idle.worker.off('exit', idle.drop);
  idle.worker.ref();
  return idle.worker;
}

function keepWorker(worker: Worker): void {
  if (idleWorkers.length >= MAX_IDLE_WORKERS) {
    void worker.terminate();
    return;
  }
  // An idle thread must not keep the process alive, nor crash it if it dies meanwhile.
  worker.unref();
  const idle: IdleWorker = {
    worker,
    timer: setTimeout(() => idle.drop(), IDLE_WORKER_TTL_MS),
    drop: () => {
      const index = idleWorkers.indexOf(idle);
      if (index < 0) return;
      idleWorkers.splice(index, 1);
      clearTimeout(idle.timer);
      void worker.terminate();
    },
  };
  idle.timer.unref();
  worker.on('error', idle.drop);
  worker.on('exit', idle.drop);
  idleWorkers.push(idle);
}

/**
 * Starts worker threads ahead of the first layer, up to the number kept idle (3), so that their
 * start and module loading overlap the manifest and config requests of a first pull. A process
 * that is about to pull (the agent's pull process) calls it at start.
 */
export function prestartLayerWorkers(count = MAX_IDLE_WORKERS): void {
  for (let started = idleWorkers.length; started < Math.min(count, MAX_IDLE_WORKERS); started++) {
    keepWorker(startWorker());
  }
}

/** Number of started worker threads waiting for a layer (for tests and diagnostics). */
export function idleLayerWorkerCount(): number {
  return idleWorkers.length;
}

/**
 * Unpacks one layer on a worker thread, so the synchronous file-system calls of several layers run
 * in parallel and never block the main thread. `feed` streams the blob in with backpressure;
 * `unpacked` settles once both digests are checked; `finish` runs the applier's final pass.
 */
export class LayerWorker {
  private readonly worker: Worker;
  private readonly listeners: { message: (message: FromWorker) => void; error: (error: Error) => void; exit: () => void };
  private finished = false;
  private reusable = false;
  private readonly waiters: { type: FromWorker['type']; resolve: () => void; reject: (error: Error) => void }[] = [];
  private ackWaiter: (() => void) | undefined;
  private inFlight = 0;
  private failure: Error | undefined;
  private exited = false;
  readonly unpacked: Promise<void>;

  constructor(job: LayerJob) {
    this.worker = takeWorker();
    this.listeners = {
      message: (message) => this.onMessage(message),
      error: (error) => this.fail(error),
      exit: () => {
        this.exited = true;
        this.fail(new errors.InternalImageError(`layer worker for ${job.where} exited early`));
      },
    };
    this.worker.on('message', this.listeners.message);
    this.worker.on('error', this.listeners.error);
    this.worker.on('exit', this.listeners.exit);
    this.unpacked = this.waitFor('unpacked');
    this.unpacked.catch(() => undefined);
    this.post({ type: 'job', job });
  }

  /** Posts the blob's chunks; stops early once the worker failed. Rethrows the source's own error. */
  async feed(source: AsyncIterable<Buffer>, onBytes?: (bytesDone: number) => void): Promise<void> {
    let bytes = 0;
    try {
      for await (const chunk of source) {
        if (this.failure) return;
        while (this.inFlight >= MAX_CHUNKS_IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => (this.ackWaiter = resolve));
        // Transferring the chunk's own memory detaches it here, so its length is taken first.
        bytes += chunk.length;
        const data = ownsWholeBuffer(chunk) ? chunk : new Uint8Array(chunk);
        this.inFlight++;
        this.post({ type: 'chunk', data }, [data.buffer as ArrayBuffer]);
        onBytes?.(bytes);
      }
      this.post({ type: 'end' });
    } catch (error) {
      this.post({ type: 'error', message: (error as Error).message });
      throw error;
    }
  }

  /** Runs the applier's final pass with the lower snapshots, topmost first. */
  async finish(lowerRoots: string[]): Promise<void> {
    const done = this.waitFor('finished');
    this.post({ type: 'finish', lowerRoots });
    await done;
    this.finished = true;
  }

  /** Releases the thread: kept for the next layer after a clean finish, ended otherwise. Idempotent. */
  async stop(): Promise<void> {
    if (this.exited) return;
    if (this.finished && this.reusable && !this.failure) {
      this.exited = true;
      this.worker.off('message', this.listeners.message);
      this.worker.off('error', this.listeners.error);
      this.worker.off('exit', this.listeners.exit);
      keepWorker(this.worker);
      return;
    }
    await this.worker.terminate();
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
      this.inFlight -= message.chunks;
      this.ackWaiter?.();
      this.ackWaiter = undefined;
      return;
    }
    if (message.type === 'failed') return this.fail(rebuildError(message));
    if (message.type === 'finished') this.reusable = message.reusable;
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

/**
 * Reports whether `chunk` is the only view of its memory, so the memory can move to the worker
 * without a copy. Node reads each socket buffer into memory of its own. A chunk cut from a larger
 * buffer (Node's pool, or a read that also contained the response headers) is copied instead.
 */
function ownsWholeBuffer(chunk: Buffer): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
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
