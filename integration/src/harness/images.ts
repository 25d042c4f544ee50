import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, runCommand } from '@berth/testkit';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'httpd', 'nc', 'wget', 'cat', 'echo', 'sleep', 'ls', 'ps', 'hostname', 'id', 'env', 'true', 'false'];

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
  const workDir = makeTempDir('image');
  try {
    const layout = join(workDir, 'layout');
    const bundle = join(workDir, 'bundle');
    const ref = `${layout}:${image.tag}`;
    await runCommand('umoci', ['init', '--layout', layout]);
    await runCommand('umoci', ['new', '--image', ref]);
    await runCommand('umoci', ['unpack', '--image', ref, bundle]);

    populateRootfs(join(bundle, 'rootfs'), image.files);
    await runCommand('umoci', ['repack', '--image', ref, bundle]);
    await runCommand('umoci', ['config', '--image', ref, ...configArguments(image)]);

    const reference = `${registryHost}/${image.repository}:${image.tag}`;
    const credentials = options.credentials ? ['--dest-creds', `${options.credentials.username}:${options.credentials.password}`] : [];
    await runCommand('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...credentials, `oci:${ref}`, `docker://${reference}`]);
    return reference;
  } finally {
    removeTempDir(workDir);
  }
}

function populateRootfs(rootfs: string, files: Record<string, string>): void {
  for (const dir of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'www']) mkdirSync(join(rootfs, dir), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
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

/** The demo's web service: busybox httpd on port 8080 serving one page that names its version. */
export function webImage(tag: string): SampleImage {
  return {
    repository: 'berth/web',
    tag,
    files: { 'www/index.html': `<h1>berth web ${tag}</h1>\n` },
    cmd: ['/bin/httpd', '-f', '-v', '-p', '8080', '-h', '/www'],
    exposedPorts: ['8080/tcp'],
  };
}

/** A long-running process that prints a line every few seconds, for Global and MachineOf units. */
export function tickerImage(tag: string): SampleImage {
  return {
    repository: 'berth/ticker',
    tag,
    files: {},
    cmd: ['/bin/sh', '-c', 'while true; do echo "tick from $(hostname)"; sleep 5; done'],
  };
}
