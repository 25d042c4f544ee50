import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOciLayout, newImage, pushImage, removeOciLayout, runCommand, writeBusyboxTree } from '@berth/testkit';

/** Applets the sample services use beyond the test busybox tree's own. */
const EXTRA_APPLETS = ['httpd', 'nc', 'wget', 'hostname', 'ps'];

export interface SampleImage {
  /** Repository path inside the registry, `berth/web`. */
  repository: string;
  tag: string;
  /** Files to add, path inside the root filesystem to content. */
  files: Record<string, string>;
  /** Image config entrypoint and command. */
  entrypoint?: string[];
  cmd: string[];
  exposedPorts?: string[];
}

/**
 * Builds an OCI image from busybox-static with umoci and pushes it to `registryHost` with skopeo,
 * both independent of Berth. Returns the pushed reference `HOST/REPOSITORY:TAG`.
 */
export async function buildAndPushImage(
  registryHost: string,
  image: SampleImage,
  options: { credentials?: { username: string; password: string } } = {},
): Promise<string> {
  const layout = await createOciLayout();
  try {
    await newImage(layout, image.tag, (rootfs) => populateRootfs(rootfs, image.files));
    await runCommand('umoci', ['config', '--image', `${layout.dir}:${image.tag}`, ...configArguments(image)]);
    const reference = `${registryHost}/${image.repository}:${image.tag}`;
    await pushImage(layout, image.tag, reference, { credentials: options.credentials });
    return reference;
  } finally {
    removeOciLayout(layout);
  }
}

function populateRootfs(rootfs: string, files: Record<string, string>): void {
  writeBusyboxTree(rootfs);
  for (const applet of EXTRA_APPLETS) {
    const link = join(rootfs, 'bin', applet);
    if (!existsSync(link)) symlinkSync('busybox', link);
  }
  for (const [path, content] of Object.entries(files)) {
    const target = join(rootfs, path);
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, content);
  }
}

function configArguments(image: SampleImage): string[] {
  const args: string[] = ['--config.env', 'PATH=/bin'];
  for (const part of image.entrypoint ?? []) args.push('--config.entrypoint', part);
  for (const part of image.cmd) args.push('--config.cmd', part);
  for (const port of image.exposedPorts ?? []) args.push('--config.exposedports', port);
  return args;
}

/** Returns the demo's web service image: busybox httpd on port 8080 serving a page that names its tag. */
export function webImage(tag: string): SampleImage {
  return {
    repository: 'berth/web',
    tag,
    files: { 'www/index.html': `<h1>berth web ${tag}</h1>\n` },
    cmd: ['/bin/httpd', '-f', '-v', '-p', '8080', '-h', '/www'],
    exposedPorts: ['8080/tcp'],
  };
}

/** Returns the image of a long-running shell loop that prints a line every few seconds. */
export function tickerImage(tag: string): SampleImage {
  return {
    repository: 'berth/ticker',
    tag,
    files: {},
    cmd: ['/bin/sh', '-c', 'while true; do echo "tick from $(hostname)"; sleep 5; done'],
  };
}
