import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DefaultSpecOptions, defaultSpec } from '../default-spec';
import { OciSpec } from '../oci-types';

const BUSYBOX = '/bin/busybox';

/** A bundle directory with a busybox-static rootfs, for tests and benchmarks. */
export interface TestBundle {
  dir: string;
  rootfs: string;
  /** Rewrites config.json. */
  writeConfig(spec: OciSpec): void;
  remove(): void;
}

/**
 * Creates a bundle under a fresh temporary directory: busybox-static with a link per applet, the
 * usual top-level directories, and a config.json built by `defaultSpec(options)`. Throws when
 * busybox is not a static binary, because a dynamic one would need the host's libraries.
 */
export function makeBusyboxBundle(options: Partial<DefaultSpecOptions> = {}, parent = tmpdir()): TestBundle {
  const fileType = execFileSync('file', ['-L', BUSYBOX], { encoding: 'utf8' });
  if (!/statically linked|static-pie/.test(fileType)) {
    throw new Error(`${BUSYBOX} is not statically linked (${fileType.trim()}); install busybox-static`);
  }
  const dir = mkdtempSync(join(parent, 'berth-bundle-'));
  const rootfs = join(dir, 'rootfs');
  for (const sub of ['bin', 'dev', 'proc', 'sys', 'tmp', 'etc', 'root']) mkdirSync(join(rootfs, sub), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  execFileSync('chmod', ['0755', join(rootfs, 'bin', 'busybox')]);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
  }
  execFileSync('chmod', ['1777', join(rootfs, 'tmp')]);
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');

  const bundle: TestBundle = {
    dir,
    rootfs,
    writeConfig(spec: OciSpec) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  bundle.writeConfig(defaultSpec({ args: ['true'], ...options }));
  return bundle;
}
