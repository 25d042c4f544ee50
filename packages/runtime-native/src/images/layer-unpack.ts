import { Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { FileHandle } from 'node:fs/promises';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decompress as ZstdDecompress } from 'fzstd';
import { extract } from 'tar-stream';
import { Digest, hasherFor } from './digest';
import { DigestMismatchError, HostileLayerError, ImageError } from './errors';
import { gunzip } from './gunzip';
import { EntryData, LayerApplier } from './layer-applier';
import { writeAllOnPool } from './layer-file-writer';
import { LayerCompression } from './manifest';
import { PaxCapture } from './pax-records';

/** Blob chunks being written to the blob file at once; with 64 KiB chunks about 512 KiB. */
const MAX_BLOB_WRITES_IN_FLIGHT = 8;
/**
 * Size of the gzip decompressor's output buffers. Every chunk passes the stream, the diff ID digest
 * and the tar parser, so larger chunks cut that per-chunk cost.
 */
const INFLATE_CHUNK_BYTES = 256 * 1024;

/** Inputs for streaming one layer blob into a snapshot. */
export interface UnpackLayerOptions {
  /** The blob's bytes as they arrive, from the registry or from a stored blob. */
  source: AsyncIterable<Buffer> | Iterable<Buffer>;
  blobDigest: Digest;
  blobSize: number;
  diffId: Digest;
  compression: LayerCompression;
  /** When set, the blob's bytes are also written here. */
  blobFile?: string;
  applier: LayerApplier;
  maxUncompressedBytes: number;
  onBytes?: (bytesDone: number) => void;
  where: string;
}

/**
 * Streams a layer in one pass: blob bytes → blob digest (and blob file) → decompression → diff ID
 * digest → tar entries applied to the snapshot. Throws DigestMismatchError naming both digests when
 * either digest differs, HostileLayerError when the layer decompresses past the limit, and whatever
 * the applier throws. The caller discards the snapshot and the blob file on any error.
 */
export async function unpackLayer(options: UnpackLayerOptions): Promise<void> {
  const blob = new HashedSource(options);
  const diffHash = hasherFor(options.diffId);
  const blobHandle = options.blobFile ? await fsp.open(options.blobFile, 'wx', 0o600) : undefined;
  const blobWriter = blobHandle ? new BlobFileWriter(blobHandle) : undefined;
  try {
    // NOTE: the blob file is not fsynced. On ext4 an fsync also flushes every snapshot file written
    // meanwhile, which took seconds per layer on a busy host; a blob is verified whenever it is read.
    await runPipeline(options, blob.chunks(blobWriter), diffHash);
    await blobWriter?.flush();
  } catch (error) {
    if (error instanceof ImageError && !(error instanceof HostileLayerError)) throw error;
    // A layer that fails to decompress or parse may have been altered in transit, and only the blob
    // digest can show that. So the rest of the blob is read and hashed before the error is reported.
    const actual = await blob.finishDigest();
    if (actual !== undefined && actual !== options.blobDigest) throw blobMismatch(options, actual);
    if (error instanceof ImageError) throw error;
    // A failed system call (ENOSPC, EIO) is the host's problem, not the layer's.
    if (typeof (error as NodeJS.ErrnoException).syscall === 'string') throw error;
    // ISA-L, fzstd and tar-stream report a malformed stream (truncated entry, bad header, bad
    // compressed data) as plain errors. Any of them means the layer cannot be trusted.
    throw new HostileLayerError(`${options.where}: malformed layer: ${describeStreamError(error as Error)}`, { cause: error });
  } finally {
    await blobWriter?.settle();
    await blobHandle?.close();
    await blob.close();
  }

  const blobDigest = await blob.finishDigest();
  if (blobDigest !== options.blobDigest) throw blobMismatch(options, blobDigest ?? 'an unreadable stream');
  const diffId = `${options.diffId.split(':')[0]}:${diffHash.digest('hex')}`;
  if (diffId !== options.diffId) {
    throw new DigestMismatchError(`${options.where}: diff ID mismatch, the image config lists ${options.diffId} but the uncompressed layer hashes to ${diffId}`);
  }
}

/**
 * Returns the message of a decompressor or tar parser error, without tar-stream's guess that an
 * archive with a bad header checksum "needs to be gunzipped": Berth has already decompressed it.
 */
function describeStreamError(error: Error): string {
  if (error.message.startsWith('Invalid tar header.')) return 'tar: invalid header checksum, the archive is corrupt';
  return error.message;
}

function blobMismatch(options: UnpackLayerOptions, actual: string): DigestMismatchError {
  return new DigestMismatchError(`${options.where}: digest mismatch, expected blob ${options.blobDigest} but the content hashes to ${actual}`);
}

/**
 * Writes a blob's chunks to its file at their offsets while the stream goes on, at most
 * MAX_BLOB_WRITES_IN_FLIGHT at a time. Awaiting each write before passing its chunk on put a
 * round trip through the thread pool, which the inflater and the file writes share, between every
 * two chunks of the layer.
 */
class BlobFileWriter {
  private position = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(private readonly handle: FileHandle) {}

  /**
   * Starts writing `chunk` after the previous ones, and waits only while too many writes are
   * pending. Throws the error of an earlier write.
   */
  async write(chunk: Buffer): Promise<void> {
    while (this.inFlight.size >= MAX_BLOB_WRITES_IN_FLIGHT && !this.failure) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const position = this.position;
    this.position += chunk.length;
    const writing: Promise<void> = writeAllOnPool(this.handle.fd, chunk, position).then(
      () => {
        this.inFlight.delete(writing);
      },
      (error: Error) => {
        this.failure ??= error;
        this.inFlight.delete(writing);
      },
    );
    this.inFlight.add(writing);
  }

  /** Waits for every write; throws the first write error. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure;
  }

  /** Waits for every write, whatever its outcome, so the file can be closed or removed. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}

/** The blob's bytes with their digest computed as they pass, and a way to finish it after a failure. */
class HashedSource {
  private readonly hash: Hash;
  private readonly iterator: AsyncIterator<Buffer> | Iterator<Buffer>;
  private bytes = 0;
  private digest: string | undefined;

  constructor(private readonly options: UnpackLayerOptions) {
    this.hash = hasherFor(options.blobDigest);
    const source = options.source;
    this.iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  /** Yields the blob's chunks, hashing each and handing it to `blobWriter` when given. */
  async *chunks(blobWriter: BlobFileWriter | undefined): AsyncGenerator<Buffer> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return;
      this.take(next.value);
      await blobWriter?.write(next.value);
      yield next.value;
    }
  }

  /** Reads and hashes whatever the stream still holds; undefined when the source itself fails. */
  async finishDigest(): Promise<string | undefined> {
    if (this.digest !== undefined) return this.digest;
    try {
      for (;;) {
        const next = await this.iterator.next();
        if (next.done) break;
        this.take(next.value);
      }
    } catch {
      return undefined;
    }
    this.digest = `${this.options.blobDigest.split(':')[0]}:${this.hash.digest('hex')}`;
    return this.digest;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }

  private take(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.options.onBytes?.(this.bytes);
  }
}

async function runPipeline(options: UnpackLayerOptions, blobChunks: AsyncIterable<Buffer>, diffHash: Hash): Promise<void> {
  const tar = extract();
  const pax = new PaxCapture(tar, options.where);
  let applying: Promise<void> = Promise.resolve();
  let currentEntry: { destroy(error?: Error): void } | undefined;
  tar.on('entry', (header, stream, next) => {
    currentEntry = stream;
    applying = options.applier.apply(header, stream as unknown as EntryData, pax.take()).then(
      () => next(),
      (error: Error) => {
        next(error);
        throw error;
      },
    );
    // The pipeline reports the error; this keeps the rejection from counting as unhandled.
    applying.catch(() => undefined);
  });

  let tarBytes = 0;
  const tapTar = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      tarBytes += chunk.length;
      if (tarBytes > options.maxUncompressedBytes) {
        return callback(new HostileLayerError(`${options.where}: decompresses to more than ${options.maxUncompressedBytes} bytes, the configured limit (maxLayerBytes)`));
      }
      diffHash.update(chunk);
      callback(null, chunk);
    },
  });

  const stages = [...decompressed(options.compression, blobChunks), tapTar];
  // An entry waiting for data that never comes keeps the tar extractor, and so the pipeline, from
  // closing. Failing the entry lets the applier reject and the pipeline settle.
  for (const stage of stages) stage.once('error', (error: Error) => currentEntry?.destroy(error));
  try {
    await pipeline([...stages, tar as unknown as NodeJS.WritableStream]);
    await applying;
    await options.applier.flush();
  } catch (error) {
    // The caller deletes the snapshot next, so no entry may still be writing into it.
    await applying.catch(() => undefined);
    await options.applier.settle();
    throw error;
  }
}

/** Returns the stream stages that turn the blob's chunks into the uncompressed tar. */
function decompressed(compression: LayerCompression, blobChunks: AsyncIterable<Buffer>): (Readable | Transform)[] {
  if (compression === 'gzip') return [Readable.from(gunzip(blobChunks, INFLATE_CHUNK_BYTES))];
  if (compression === 'zstd') return [Readable.from(blobChunks), zstdTransform()];
  return [Readable.from(blobChunks)];
}

/** Wraps fzstd's streaming decoder (pure JavaScript; Node 20's zlib has no zstd) as a Transform. */
function zstdTransform(): Transform {
  let stream: Transform;
  const decoder = new ZstdDecompress((data) => {
    stream.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  return stream;
}
