import { arch } from 'node:os';
import { Digest, parseDigest } from './digest';
import { DigestMismatchError, NotSupportedError, PlatformMismatchError, RegistryError } from './errors';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** Every manifest and index type we read; sent as `Accept` so registries neither hide nor convert them. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest];

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
const CONFIG_TYPES = new Set<string>([MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig]);

/** Compression of a layer blob, from its media type. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

const LAYER_TYPES = new Map<string, LayerCompression>([
  ['application/vnd.oci.image.layer.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
]);

/** A content descriptor after validation: digest checked for format, size a safe integer. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** The platform fields of an index entry, in Go naming (`amd64`, `arm64`, variant `v8`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type ParsedManifestDocument =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/**
 * Parses a manifest or index from the exact bytes received. The document's `mediaType` (optional in
 * OCI) must agree with `contentType` and its shape, and a document carrying both `manifests` and
 * `layers`/`config` is rejected as ambiguous. Throws NotSupportedError for schema 1 and RegistryError
 * for anything malformed, naming `where`.
 */
export function parseManifestDocument(bytes: Buffer, contentType: string | null, where: string): ParsedManifestDocument {
  const headerType = (contentType ?? '').split(';')[0]!.trim();
  if (SCHEMA1_TYPES.has(headerType)) {
    throw new NotSupportedError(`${where}: Docker schema 1 manifests are not supported; push the image again with a current client`);
  }
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new RegistryError(`${where}: the manifest is not valid JSON (${(error as Error).message})`, undefined, { cause: error });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new RegistryError(`${where}: the manifest is not a JSON object`);
  }
  if (document.schemaVersion === 1) {
    throw new NotSupportedError(`${where}: Docker schema 1 manifests are not supported; push the image again with a current client`);
  }
  const isIndex = 'manifests' in document;
  const isManifest = 'layers' in document || 'config' in document;
  if (isIndex && isManifest) {
    throw new RegistryError(`${where}: the document has both "manifests" and "layers"/"config"; its type is ambiguous and it is rejected`);
  }
  const mediaType = resolveMediaType(document.mediaType, headerType, isIndex, where);
  if (isIndex) {
    return { kind: 'index', mediaType, manifests: descriptorList(document.manifests, `${where} manifests`) };
  }
  return {
    kind: 'manifest',
    mediaType,
    config: parseDescriptor(document.config, `${where} config`),
    layers: descriptorList(document.layers, `${where} layers`),
  };
}

function resolveMediaType(field: unknown, headerType: string, isIndex: boolean, where: string): string {
  const allowed = isIndex ? INDEX_TYPES : MANIFEST_TYPES;
  if (field !== undefined && typeof field !== 'string') {
    throw new RegistryError(`${where}: "mediaType" is not a string`);
  }
  const headerKnown = allowed.has(headerType) || INDEX_TYPES.has(headerType) || MANIFEST_TYPES.has(headerType);
  if (field !== undefined && !allowed.has(field)) {
    throw new RegistryError(`${where}: mediaType "${field}" does not match the document's shape (${isIndex ? 'an index' : 'a manifest'})`);
  }
  if (headerKnown && !allowed.has(headerType)) {
    throw new RegistryError(`${where}: Content-Type "${headerType}" disagrees with the document's shape (${isIndex ? 'an index' : 'a manifest'})`);
  }
  if (field !== undefined && headerKnown && field !== headerType) {
    throw new RegistryError(`${where}: Content-Type "${headerType}" disagrees with the document's mediaType "${field}"`);
  }
  const mediaType = field ?? (headerKnown ? headerType : undefined);
  if (mediaType === undefined) {
    throw new RegistryError(`${where}: neither the document nor the Content-Type ("${headerType}") names a manifest media type this client reads (${MANIFEST_ACCEPT.join(', ')})`);
  }
  return mediaType;
}

function descriptorList(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw new RegistryError(`${where}: expected an array`);
  return value.map((item, index) => parseDescriptor(item, `${where}[${index}]`));
}

/** Validates one descriptor; throws RegistryError naming `where` and the bad field. */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw new RegistryError(`${where}: expected a descriptor object`);
  const raw = value as Record<string, unknown>;
  if (typeof raw.mediaType !== 'string') throw new RegistryError(`${where}: "mediaType" is missing`);
  if (typeof raw.size !== 'number' || !Number.isSafeInteger(raw.size) || raw.size < 0) {
    throw new RegistryError(`${where}: "size" must be a non-negative integer, got ${JSON.stringify(raw.size)}`);
  }
  const descriptor: Descriptor = { mediaType: raw.mediaType, digest: parseDigest(raw.digest, where), size: raw.size };
  if (Array.isArray(raw.urls)) descriptor.urls = raw.urls.filter((url): url is string => typeof url === 'string');
  if (typeof raw.platform === 'object' && raw.platform !== null) {
    const platform = raw.platform as Record<string, unknown>;
    descriptor.platform = {
      os: String(platform.os ?? ''),
      architecture: String(platform.architecture ?? ''),
      ...(typeof platform.variant === 'string' ? { variant: platform.variant } : {}),
    };
  }
  if (typeof raw.annotations === 'object' && raw.annotations !== null) {
    descriptor.annotations = raw.annotations as Record<string, string>;
  }
  return descriptor;
}

/** Returns the compression of a layer media type; throws NotSupportedError for encrypted or unknown types. */
export function layerCompression(descriptor: Descriptor, where: string): LayerCompression {
  const compression = LAYER_TYPES.get(descriptor.mediaType);
  if (compression !== undefined) return compression;
  if (descriptor.mediaType.includes('encrypted')) {
    throw new NotSupportedError(`${where}: encrypted layers (${descriptor.mediaType}) are not supported`);
  }
  throw new NotSupportedError(`${where}: layer media type "${descriptor.mediaType}" is not supported`);
}

/** Checks a config descriptor's media type; throws RegistryError when it is not an image config. */
export function checkConfigType(descriptor: Descriptor, where: string): void {
  if (!CONFIG_TYPES.has(descriptor.mediaType)) {
    throw new RegistryError(`${where}: config media type "${descriptor.mediaType}" is not an image config (${[...CONFIG_TYPES].join(' or ')})`);
  }
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** Returns this host's platform in Go naming. */
export function hostPlatform(): Platform {
  const architecture = GO_ARCH[arch()] ?? arch();
  return { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) };
}

/** Formats a platform as `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/**
 * Picks the index entry for `wanted`. arm64's variant is optional on both sides (v8 is the only
 * one in use); other architectures with a wanted variant need an exact match. Attestation entries
 * are skipped. Throws PlatformMismatchError listing the platforms the index offers.
 */
export function selectPlatform(manifests: Descriptor[], wanted: Platform, where: string): Descriptor {
  const candidates = manifests.filter((entry) => entry.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const match = candidates.find((entry) => entry.platform !== undefined && platformMatches(entry.platform, wanted));
  if (match) return match;
  const available = candidates.map((entry) => (entry.platform ? formatPlatform(entry.platform) : 'unspecified'));
  throw new PlatformMismatchError(
    `${where}: no manifest for platform ${formatPlatform(wanted)}; the index offers ${available.join(', ') || 'no platforms'}`,
  );
}

function platformMatches(offered: Platform, wanted: Platform): boolean {
  if (offered.os !== wanted.os || offered.architecture !== wanted.architecture) return false;
  if (wanted.architecture === 'arm64') return (offered.variant ?? 'v8') === (wanted.variant ?? 'v8');
  return wanted.variant === undefined || offered.variant === wanted.variant;
}

/** The fields of an image config this package reads; everything else is kept as raw JSON. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs: { type: string; diff_ids: Digest[] };
  [key: string]: unknown;
}

/**
 * Parses an image config and checks `rootfs.diff_ids` against the manifest's layer count.
 * Throws RegistryError or DigestMismatchError naming `where`.
 */
export function parseImageConfig(bytes: Buffer, layerCount: number, where: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (error) {
    throw new RegistryError(`${where}: the image config is not valid JSON (${(error as Error).message})`, undefined, { cause: error });
  }
  const rootfs = config?.rootfs;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new RegistryError(`${where}: the image config lacks rootfs {type: "layers", diff_ids: [...]}`);
  }
  rootfs.diff_ids = rootfs.diff_ids.map((diffId, index) => parseDigest(diffId, `${where} rootfs.diff_ids[${index}]`));
  if (rootfs.diff_ids.length !== layerCount) {
    throw new DigestMismatchError(`${where}: the config lists ${rootfs.diff_ids.length} diff_ids but the manifest has ${layerCount} layers`);
  }
  return config;
}
