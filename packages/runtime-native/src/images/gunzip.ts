import { loadAddon } from '../runtime/native';

/** One gzip stream's decoder in build/berth_inflate.node (native/inflate/inflate.cc). */
interface NativeGzipInflater {
  /** Lends the next compressed chunk; throws while a run is pending or the last chunk is unread. */
  setInput(chunk: Buffer): void;
  /** Inflates on the thread pool into `out`; resolves with the bytes written. */
  run(out: Buffer): Promise<number>;
  /** True when the next run needs a new chunk: the last one is consumed and no output is pending. */
  needsInput(): boolean;
  /** True when the input so far ends exactly after a gzip member's trailer. */
  complete(): boolean;
}

interface InflateAddon {
  GzipInflater: new () => NativeGzipInflater;
}

/**
 * Room left in the current output buffer below which a new buffer is taken. Each run costs a hop
 * to the thread pool, so no run should fill only a few bytes.
 */
const MIN_RUN_OUTPUT_BYTES = 32 * 1024;

let addon: InflateAddon | undefined;

/** Loads build/berth_inflate.node (native/inflate, linked with ISA-L) on first use. */
function inflateAddon(): InflateAddon {
  addon ??= loadAddon<InflateAddon>('berth_inflate.node', 'ISA-L (Debian: libisal2, and libisal-dev to build)');
  return addon;
}

/**
 * Decompresses a gzip stream (one or more members) with ISA-L, inflating on libuv's thread pool
 * while the caller works on the previous output. Yields slices of buffers of `bufferBytes`; a
 * yielded slice is never written again. Throws an Error starting with "gzip:" for corrupt or
 * truncated data; the caller decides how to report it.
 */
export async function* gunzip(source: AsyncIterable<Buffer>, bufferBytes: number): AsyncGenerator<Buffer> {
  const inflater = new (inflateAddon().GzipInflater)();
  let out = Buffer.allocUnsafe(bufferBytes);
  let offset = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    inflater.setInput(chunk);
    while (!inflater.needsInput()) {
      if (out.length - offset < MIN_RUN_OUTPUT_BYTES) {
        out = Buffer.allocUnsafe(bufferBytes);
        offset = 0;
      }
      const written = await inflater.run(out.subarray(offset));
      if (written === 0) continue;
      yield out.subarray(offset, offset + written);
      offset += written;
    }
  }
  if (!inflater.complete()) throw new Error('gzip: unexpected end of the compressed data');
}
