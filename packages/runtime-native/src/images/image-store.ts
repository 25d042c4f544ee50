import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TokenCache } from './auth';
import { InFlight, Semaphore } from './concurrency';
import { ContentStore, ImageRecord, StoredLayer } from './content-store';
import { chainIds, Digest } from './digest';
import { DigestMismatchError, ImageNotFoundError, InvalidReferenceError, RegistryError } from './errors';
import { LayerWorker } from './layer-worker';
import {
  checkConfigType, Descriptor, formatPlatform, hostPlatform, ImageConfig, layerCompression, parseImageConfig,
  parseManifestDocument, Platform, selectPlatform,
} from './manifest';
import { formatReference, ImageReference, parseReference } from './reference';
import { RegistryClient, RegistryClientOptions } from './registry-client';
import { ImageRuntimeConfig, parseRuntimeConfig } from './runtime-config';

/** Default number of layers downloaded and unpacked at once per store. */
export const DEFAULT_MAX_CONCURRENT_LAYERS = 3;
/** Default cap on one layer's uncompressed size, against decompression bombs. */
export const DEFAULT_MAX_LAYER_BYTES = 8 * 1024 ** 3;
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_INDEX_DEPTH = 2;
/** Minimum number of hex digits in a digest prefix that `remove` accepts, as many as `berth-image images` shows. */
const MIN_DIGEST_PREFIX_HEX = 12;
const DIGEST_OR_PREFIX = new RegExp(`^sha(256|512):[0-9a-f]{${MIN_DIGEST_PREFIX_HEX},128}$`);

/** Options of an image store. */
export interface ImageStoreOptions {
  /** Berth's state directory; the store lives in `<stateDir>/images`. */
  stateDir: string;
  maxConcurrentLayers?: number;
  maxLayerBytes?: number;
  /** Create device nodes from layers (needs CAP_MKNOD); otherwise such layers are rejected. */
  allowDevices?: boolean;
  /** Defaults for every pull; `pull` options override them. */
  registry?: RegistryClientOptions;
  /** Platform to select from indexes; default this host. */
  platform?: Platform;
  /** Path of the berth-layer helper; default the one `npm run build:layer` builds. */
  layerHelperPath?: string;
}

/** Progress of one layer during a pull. */
export interface PullProgress {
  layer: Digest;
  bytesDone: number;
  bytesTotal: number;
  /** `cached`: the snapshot existed; `downloading`/`unpacking`: bytes are flowing; `done`: committed. */
  state: 'cached' | 'downloading' | 'unpacking' | 'done';
}

/** Options of one pull. */
export interface PullOptions extends RegistryClientOptions {
  onProgress?: (progress: PullProgress) => void;
  platform?: Platform;
}

/** One layer of a pulled image and where its snapshot lives. */
export interface PulledLayer extends StoredLayer {
  /** The snapshot's `fs` directory, one overlayfs lowerdir. */
  snapshotPath: string;
}

/** The result of a pull. */
export interface PullResult {
  /** The canonical reference, e.g. `127.0.0.1:5000/app:1`. */
  reference: string;
  /** Digest the reference resolved to: the index's when it named an index, else the manifest's. */
  digest: Digest;
  /** Digest of the platform manifest: the key of this image in the store. */
  manifestDigest: Digest;
  configDigest: Digest;
  /** The raw image config; its fields are untrusted, `runtime` has them validated. */
  config: ImageConfig;
  runtime: ImageRuntimeConfig;
  /** Bottom layer first, as in the manifest. */
  layers: PulledLayer[];
}

/**
 * Pulls images from OCI registries into a content store and unpacks each layer once into a snapshot
 * shared by every image and container that uses it. Concurrent pulls share downloads and unpacking.
 */
export class ImageStore {
  readonly store: ContentStore;
  private readonly opened: Promise<void>;
  private readonly layerSlots: Semaphore;
  private readonly snapshotWork = new InFlight<void>();
  private readonly tokenCache = new TokenCache();
  private readonly activePulls = new Set<Promise<PullResult>>();

  constructor(private readonly options: ImageStoreOptions) {
    this.store = new ContentStore(join(options.stateDir, 'images'));
    this.opened = this.store.open();
    this.layerSlots = new Semaphore(options.maxConcurrentLayers ?? DEFAULT_MAX_CONCURRENT_LAYERS);
  }

  /**
   * Pulls `reference` (any form users write) and unpacks its layers. Throws InvalidReferenceError,
   * AuthenticationError, RegistryError, PlatformMismatchError, NotSupportedError, DigestMismatchError,
   * HostileLayerError or TransientRegistryError (the only retryable one) naming what failed.
   */
  async pull(referenceText: string, options: PullOptions = {}): Promise<PullResult> {
    const pulling = this.pullOnce(referenceText, options);
    this.activePulls.add(pulling);
    try {
      return await pulling;
    } finally {
      this.activePulls.delete(pulling);
    }
  }

  private async pullOnce(referenceText: string, options: PullOptions): Promise<PullResult> {
    await this.opened;
    const reference = parseReference(referenceText);
    const client = new RegistryClient({ ...this.options.registry, ...options, tokenCache: this.tokenCache });

    // Manifests and the config are written (and flushed) while the pull goes on, and the record
    // that makes the image visible is saved only after every write has succeeded.
    const blobWrites: Promise<void>[] = [];
    const writeBlobInBackground = (digest: Digest, bytes: Buffer) => {
      const writing = this.store.writeBlob(digest, bytes);
      writing.catch(() => undefined);
      blobWrites.push(writing);
    };
    try {
      const resolved = await this.resolveManifest(client, reference, options.platform ?? this.options.platform ?? hostPlatform(), writeBlobInBackground);
      const configBytes = await client.fetchSmallBlob(reference, resolved.config, MAX_CONFIG_BYTES);
      const where = `image ${formatReference(reference)}`;
      const config = parseImageConfig(configBytes, resolved.layers.length, `${where} config ${resolved.config.digest}`);
      const runtime = parseRuntimeConfig(config, `${where} config ${resolved.config.digest}`);
      writeBlobInBackground(resolved.config.digest, configBytes);

      const layers = this.describeLayers(resolved.layers, config.rootfs.diff_ids, where);
      await Promise.all(layers.map((layer, index) => this.ensureSnapshot(client, reference, layers, index, options.onProgress)));
      await Promise.all(blobWrites);

      const record: ImageRecord = {
        digest: resolved.manifestDigest,
        names: [recordName(reference)],
        ...(resolved.indexDigest ? { indexDigest: resolved.indexDigest } : {}),
        configDigest: resolved.config.digest,
        ...(resolved.platform ? { platform: resolved.platform } : {}),
        layers,
        pulledAt: new Date().toISOString(),
      };
      await this.saveRecord(record);
      return {
        reference: formatReference(reference),
        digest: resolved.indexDigest ?? resolved.manifestDigest,
        manifestDigest: resolved.manifestDigest,
        configDigest: resolved.config.digest,
        config,
        runtime,
        layers: layers.map((layer) => ({ ...layer, snapshotPath: this.store.snapshotFs(layer.chainId) })),
      };
    } finally {
      // A failed pull still waits for its writes, so none runs on after the pull has settled.
      await Promise.allSettled(blobWrites);
    }
  }

  /**
   * Returns a stored image as a pull would, without contacting the registry, or undefined when the
   * reference (any written form) names no stored image or one of its snapshots is missing.
   */
  async lookup(referenceText: string): Promise<PullResult | undefined> {
    await this.opened;
    const reference = parseReference(referenceText);
    const name = recordName(reference);
    const record = Object.values(await this.store.readRecords()).find((candidate) => candidate.names.includes(name));
    if (!record) return undefined;
    for (const layer of record.layers) if (!(await this.store.hasSnapshot(layer.chainId))) return undefined;

    const where = `image ${name} config ${record.configDigest}`;
    const config = parseImageConfig(await this.store.readBlob(record.configDigest), record.layers.length, where);
    return {
      reference: formatReference(reference),
      digest: record.indexDigest ?? record.digest,
      manifestDigest: record.digest,
      configDigest: record.configDigest,
      config,
      runtime: parseRuntimeConfig(config, where),
      layers: record.layers.map((layer) => ({ ...layer, snapshotPath: this.store.snapshotFs(layer.chainId) })),
    };
  }

  /** Lists the stored images. */
  async list(): Promise<ImageRecord[]> {
    await this.opened;
    return Object.values(await this.store.readRecords());
  }

  /**
   * Removes a name (`registry/repo:tag` in any written form) or, given a manifest digest, the whole
   * record. Blobs and snapshots stay until `prune`, and so does an image left without names.
   * Throws ImageNotFoundError when nothing matches.
   */
  async remove(referenceOrDigest: string): Promise<void> {
    await this.opened;
    const byDigest = /^sha(256|512):/.test(referenceOrDigest);
    if (byDigest && !DIGEST_OR_PREFIX.test(referenceOrDigest)) {
      throw new InvalidReferenceError(`invalid digest "${referenceOrDigest}": expected sha256: or sha512: and at least ${MIN_DIGEST_PREFIX_HEX} hex digits, as "berth-image images" shows them`);
    }
    const name = byDigest ? '' : recordName(parseReference(referenceOrDigest));
    const removed = await this.store.updateRecords((images) => {
      if (byDigest) {
        // A full digest or a prefix of one, such as the 12 hex digits that `images` shows.
        const matches = Object.keys(images).filter((digest) => digest.startsWith(referenceOrDigest));
        if (matches.length > 1) {
          throw new InvalidReferenceError(`digest prefix ${referenceOrDigest} matches ${matches.length} images (${matches.join(', ')}); give more digits`);
        }
        if (matches.length === 0) return false;
        delete images[matches[0]!];
        return true;
      }
      for (const record of Object.values(images)) {
        if (!record.names.includes(name)) continue;
        // An image left without names stays recorded until prune, which keeps it while in use.
        record.names = record.names.filter((existing) => existing !== name);
        return true;
      }
      return false;
    });
    if (!removed) throw new ImageNotFoundError(`image ${referenceOrDigest} is not in the store; "berth-image images" lists what is`);
  }

  /**
   * Removes every blob and snapshot that no stored image references. `inUse` lists manifest digests
   * of images whose records should be kept although they have no name (containers still use them).
   * Returns what was removed.
   */
  async prune(inUse: Iterable<string> = []): Promise<{ blobs: Digest[]; snapshots: Digest[] }> {
    await this.opened;
    // A pull records its image only at the end, so its blobs and snapshots look unused until then.
    // NOTE: this covers pulls of this process only; a prune from another process can still race.
    await Promise.allSettled([...this.activePulls]);
    const keep = new Set(inUse);
    const images = await this.store.updateRecords((records) => {
      for (const record of Object.values(records)) if (record.names.length === 0 && !keep.has(record.digest)) delete records[record.digest];
      return Object.values(records);
    });
    const liveBlobs = new Set<string>();
    const liveSnapshots = new Set<string>();
    for (const image of images) {
      for (const digest of [image.digest, image.configDigest, image.indexDigest]) if (digest) liveBlobs.add(digest);
      for (const layer of image.layers) {
        liveBlobs.add(layer.digest);
        liveSnapshots.add(layer.chainId);
      }
    }
    const blobs = (await this.store.listBlobs()).filter((digest) => !liveBlobs.has(digest));
    const snapshots = (await this.store.listSnapshots()).filter((chainId) => !liveSnapshots.has(chainId));
    for (const digest of blobs) await this.store.removeBlob(digest);
    for (const chainId of snapshots) await this.store.removeSnapshot(chainId);
    return { blobs, snapshots };
  }

  /**
   * Returns the snapshot directories of an image in overlayfs `lowerdir` order: topmost layer
   * first, so `lowerdir=${rootfsLayers(image).join(':')}`.
   */
  rootfsLayers(image: PullResult | ImageRecord): string[] {
    return image.layers.map((layer) => this.store.snapshotFs(layer.chainId)).reverse();
  }

  private async resolveManifest(client: RegistryClient, reference: ImageReference, platform: Platform, writeBlob: (digest: Digest, bytes: Buffer) => void) {
    let fetched = await client.fetchManifest(reference, reference.digest ?? reference.tag!);
    let indexDigest: Digest | undefined;
    let selectedPlatform: string | undefined;
    for (let depth = 0; ; depth++) {
      const where = `manifest ${fetched.digest} of ${formatReference(reference)}`;
      const document = parseManifestDocument(fetched.bytes, fetched.contentType, where);
      writeBlob(fetched.digest, fetched.bytes);
      if (document.kind === 'manifest') {
        checkConfigType(document.config, where);
        return { manifestDigest: fetched.digest, indexDigest, platform: selectedPlatform, config: document.config, layers: document.layers };
      }
      if (depth >= MAX_INDEX_DEPTH) throw new RegistryError(`${where}: indexes nest deeper than ${MAX_INDEX_DEPTH} levels`);
      const chosen = selectPlatform(document.manifests, platform, where);
      indexDigest ??= fetched.digest;
      selectedPlatform = chosen.platform ? formatPlatform(chosen.platform) : undefined;
      fetched = await client.fetchManifest(reference, chosen.digest);
    }
  }

  private describeLayers(descriptors: Descriptor[], diffIds: Digest[], where: string): StoredLayer[] {
    const chains = chainIds(diffIds);
    return descriptors.map((descriptor, index) => {
      layerCompression(descriptor, `${where} layer ${index} (${descriptor.digest})`);
      return { digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size, diffId: diffIds[index]!, chainId: chains[index]! };
    });
  }

  /** Makes sure the snapshot of layers[index] exists; shared by concurrent pulls through its chain ID. */
  private ensureSnapshot(
    client: RegistryClient, reference: ImageReference, layers: StoredLayer[], index: number, onProgress?: (progress: PullProgress) => void,
  ): Promise<void> {
    const layer = layers[index]!;
    return this.snapshotWork.run(layer.chainId, async () => {
      if (await this.store.hasSnapshot(layer.chainId)) {
        onProgress?.({ layer: layer.digest, bytesDone: layer.size, bytesTotal: layer.size, state: 'cached' });
        return;
      }
      const tempDir = this.store.tempPath('snapshot');
      try {
        await this.buildSnapshot({ client, reference, layers, index, tempDir, onProgress });
      } catch (error) {
        await fsp.rm(tempDir, { recursive: true, force: true });
        throw error;
      }
      onProgress?.({ layer: layer.digest, bytesDone: layer.size, bytesTotal: layer.size, state: 'done' });
    });
  }

  private async buildSnapshot(job: {
    client: RegistryClient; reference: ImageReference; layers: StoredLayer[]; index: number; tempDir: string;
    onProgress?: (progress: PullProgress) => void;
  }): Promise<void> {
    const { client, reference, layers, index, tempDir, onProgress } = job;
    const layer = layers[index]!;
    const where = `layer ${index} (${layer.digest}) of ${formatReference(reference)}`;
    const root = join(tempDir, 'fs');
    await fsp.mkdir(root, { recursive: true, mode: 0o700 });
    const descriptor: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
    const compression = layerCompression(descriptor, where);
    // The largest layer usually takes longest, so the others unpack at a lower CPU priority.
    const largestLayerSize = Math.max(...layers.map((other) => other.size));
    let worker: LayerWorker | undefined;

    try {
      await this.layerSlots.run(async () => {
        let haveBlob = await this.store.hasBlob(layer.digest);
        for (;;) {
          const blobFile = haveBlob ? undefined : this.store.tempPath('layer');
          worker = new LayerWorker({
            root, where, allowDevices: this.options.allowDevices, helperPath: this.options.layerHelperPath,
            blobDigest: layer.digest, blobSize: layer.size, diffId: layer.diffId, compression,
            maxUncompressedBytes: this.options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES,
            ...(blobFile ? { blobFile } : { sourceFile: this.store.blobPath(layer.digest) }),
            lowPriority: layer.size < largestLayerSize,
          });
          try {
            await this.feedWorker(worker, haveBlob ? undefined : client.blobChunks(reference, descriptor, 0), (bytesDone) =>
              onProgress?.({ layer: layer.digest, bytesDone, bytesTotal: layer.size, state: 'downloading' }));
            if (blobFile) await this.store.commitBlob(blobFile, layer.digest);
            return;
          } catch (error) {
            await worker.stop();
            if (blobFile) await fsp.rm(blobFile, { force: true });
            if (!haveBlob || !(error instanceof DigestMismatchError)) throw error;
          }
          // Blobs are not fsynced, so one cut short by a crash is found here and fetched again.
          await this.store.removeBlob(layer.digest);
          await fsp.rm(root, { recursive: true, force: true });
          await fsp.mkdir(root, { mode: 0o700 });
          haveBlob = false;
        }
      });

      // Implicit parent directories copy their metadata from the layers below, so those come first.
      if (index > 0) await this.ensureSnapshot(client, reference, layers, index - 1, onProgress);
      const lowerRoots = layers.slice(0, index).map((lower) => this.store.snapshotFs(lower.chainId)).reverse();
      await worker!.finish(lowerRoots);
    } finally {
      await worker?.stop();
    }
    await this.store.commitSnapshot(tempDir, layer.chainId, layer);
  }

  /** Streams `source` into the worker; a failing source wins over the worker's consequent error. */
  private async feedWorker(worker: LayerWorker, source: AsyncIterable<Buffer> | undefined, onBytes: (bytesDone: number) => void): Promise<void> {
    const feeding = source ? worker.feed(source, onBytes) : Promise.resolve();
    const [fed, unpacked] = await Promise.allSettled([feeding, worker.unpacked]);
    if (fed.status === 'rejected') throw fed.reason;
    if (unpacked.status === 'rejected') throw unpacked.reason;
  }

  private async saveRecord(record: ImageRecord): Promise<void> {
    await this.store.updateRecords((images) => {
      for (const other of Object.values(images)) {
        if (other.digest !== record.digest) other.names = other.names.filter((name) => !record.names.includes(name));
      }
      const existing = images[record.digest];
      record.names = [...new Set([...(existing?.names ?? []), ...record.names])];
      images[record.digest] = record;
    });
  }
}

/** Returns the name an image record keeps for a reference: with its tag, or with its digest when untagged. */
function recordName(reference: ImageReference): string {
  if (reference.tag === undefined) return formatReference(reference);
  const { digest: _digest, ...tagged } = reference;
  return formatReference(tagged);
}
