import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, runCommand } from './process';

const UMOCI = '/usr/bin/umoci';
const SKOPEO = '/usr/bin/skopeo';
const BUSYBOX = '/bin/busybox';
const COMMAND_TIMEOUT_MS = 120_000;
/** Applets linked into the test busybox image; enough for shell scripts in tests. */
const BUSYBOX_APPLETS = ['sh', 'ls', 'cat', 'echo', 'sleep', 'true', 'false', 'env', 'id', 'mkdir', 'rm', 'wc', 'test'];

/** An OCI image layout directory built by umoci; `tag` names the image inside it. */
export interface OciLayout {
  dir: string;
}

/** Creates an empty OCI layout under a new temporary directory. */
export async function createOciLayout(): Promise<OciLayout> {
  const dir = join(makeTempDir('oci'), 'layout');
  await runCommand(UMOCI, ['init', '--layout', dir], { timeoutMs: COMMAND_TIMEOUT_MS });
  return { dir };
}

/** Removes a layout made by `createOciLayout`. */
export function removeOciLayout(layout: OciLayout): void {
  removeTempDir(join(layout.dir, '..'));
}

/**
 * Adds a new image `tag` to the layout with one layer made by umoci from the tree that `populate`
 * writes into an empty root file system.
 */
export async function newImage(layout: OciLayout, tag: string, populate: (rootfs: string) => void | Promise<void>): Promise<void> {
  await runCommand(UMOCI, ['new', '--image', `${layout.dir}:${tag}`], { timeoutMs: COMMAND_TIMEOUT_MS });
  await addTreeLayer(layout, tag, populate);
}

/**
 * Adds one layer to image `tag`: umoci unpacks the image, `change` edits the root file system
 * (deleting files produces whiteouts), and umoci repacks the difference as a new layer.
 */
export async function addTreeLayer(layout: OciLayout, tag: string, change: (rootfs: string) => void | Promise<void>): Promise<void> {
  const work = makeTempDir('umoci-bundle');
  const bundle = join(work, 'bundle');
  try {
    await runCommand(UMOCI, ['unpack', '--image', `${layout.dir}:${tag}`, bundle], { timeoutMs: COMMAND_TIMEOUT_MS });
    await change(join(bundle, 'rootfs'));
    await runCommand(UMOCI, ['repack', '--image', `${layout.dir}:${tag}`, bundle], { timeoutMs: COMMAND_TIMEOUT_MS });
  } finally {
    removeTempDir(work);
  }
}

/** Appends an uncompressed tar to image `tag` verbatim (umoci gzips it); for hand-made layers. */
export async function addRawLayer(layout: OciLayout, tag: string, tar: Buffer): Promise<void> {
  const work = makeTempDir('raw-layer');
  try {
    const file = join(work, 'layer.tar');
    writeFileSync(file, tar);
    await runCommand(UMOCI, ['raw', 'add-layer', '--image', `${layout.dir}:${tag}`, file], { timeoutMs: COMMAND_TIMEOUT_MS });
  } finally {
    removeTempDir(work);
  }
}

/** Copies image `tag` to `target` as a new tag with a different architecture in its config. */
export async function retagForPlatform(layout: OciLayout, tag: string, target: string, architecture: string): Promise<void> {
  await runCommand(UMOCI, ['config', '--image', `${layout.dir}:${tag}`, '--tag', target, '--architecture', architecture, '--os', 'linux'], { timeoutMs: COMMAND_TIMEOUT_MS });
}

/** Writes a root file system with busybox-static, its applet links and the usual top directories. */
export function writeBusyboxTree(rootfs: string): void {
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, dir), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  chmodSync(join(rootfs, 'root'), 0o700);
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** A platform entry for `createIndex`. */
export interface IndexEntry {
  tag: string;
  architecture: string;
  variant?: string;
}

/** Adds tag `indexTag` to the layout: an OCI image index over the manifests of `entries`, in order. */
export function createIndex(layout: OciLayout, indexTag: string, entries: IndexEntry[]): void {
  const indexPath = join(layout.dir, 'index.json');
  const layoutIndex = JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: Record<string, unknown>[] };
  const manifests = entries.map((entry) => {
    const descriptor = layoutIndex.manifests.find((candidate) => (candidate.annotations as Record<string, string> | undefined)?.['org.opencontainers.image.ref.name'] === entry.tag);
    if (!descriptor) throw new Error(`createIndex: tag ${entry.tag} not found in ${indexPath}`);
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: descriptor.digest,
      size: descriptor.size,
      platform: { os: 'linux', architecture: entry.architecture, ...(entry.variant ? { variant: entry.variant } : {}) },
    };
  });
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  const hex = createHash('sha256').update(body).digest('hex');
  writeFileSync(join(layout.dir, 'blobs', 'sha256', hex), body);
  layoutIndex.manifests = layoutIndex.manifests.filter((candidate) => (candidate.annotations as Record<string, string> | undefined)?.['org.opencontainers.image.ref.name'] !== indexTag);
  layoutIndex.manifests.push({
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: `sha256:${hex}`,
    size: body.length,
    annotations: { 'org.opencontainers.image.ref.name': indexTag },
  });
  writeFileSync(indexPath, JSON.stringify(layoutIndex));
}

/** Options for `pushImage`. */
export interface PushOptions {
  /** Push every manifest of an index (`skopeo copy --all`). */
  all?: boolean;
  /** `v2s2` converts to Docker schema 2; default keeps the OCI types. */
  format?: 'oci' | 'v2s2';
  credentials?: { username: string; password: string };
}

/** Pushes image `tag` of the layout to `registryHost/repository` with skopeo over plain HTTP. */
export async function pushImage(layout: OciLayout, tag: string, destination: string, options: PushOptions = {}): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (options.all) args.push('--all');
  if (options.format) args.push('--format', options.format);
  if (options.credentials) args.push('--dest-creds', `${options.credentials.username}:${options.credentials.password}`);
  args.push(`oci:${layout.dir}:${tag}`, `docker://${destination}`);
  await runCommand(SKOPEO, args, { timeoutMs: COMMAND_TIMEOUT_MS });
}

/** Unpacks image `tag` with `umoci unpack` into `bundle`; the tree is `bundle/rootfs`. */
export async function umociUnpack(layout: OciLayout, tag: string, bundle: string): Promise<string> {
  rmSync(bundle, { recursive: true, force: true });
  await runCommand(UMOCI, ['unpack', '--image', `${layout.dir}:${tag}`, bundle], { timeoutMs: COMMAND_TIMEOUT_MS });
  return join(bundle, 'rootfs');
}
