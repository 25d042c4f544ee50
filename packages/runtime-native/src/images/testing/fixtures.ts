import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addRawLayer, addTreeLayer, newImage, OciLayout, writeBusyboxTree } from '@berth/testkit';
import { pack } from 'tar-stream';

/** Builds an uncompressed tar from entries, for hand-made and hostile layers. */
export async function buildTar(entries: { name: string; type?: string; data?: Buffer | string; linkname?: string; mode?: number; uid?: number; gid?: number; size?: number; pax?: Record<string, string> }[]): Promise<Buffer> {
  const archive = pack();
  // The packer holds back entry callbacks until its output is read, so reading starts first.
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    archive.on('data', (chunk) => chunks.push(Buffer.from(chunk as Uint8Array)));
    archive.on('end', () => resolve());
    archive.on('error', reject);
  });
  for (const entry of entries) {
    const data = entry.data === undefined ? undefined : Buffer.from(entry.data);
    const header = {
      name: entry.name,
      type: (entry.type ?? 'file') as 'file',
      mode: entry.mode ?? (entry.type === 'directory' ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: new Date(1_700_000_000_000),
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
      ...(entry.pax ? { pax: entry.pax } : {}),
      ...(entry.size !== undefined ? { size: entry.size } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      archive.entry(header, data ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve()));
    });
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * Builds image `tag` with four layers. The first is busybox. The second adds hard links, symlinks,
 * special modes and owners. The third deletes files and a directory (whiteouts). The fourth is a
 * hand-made tar, added verbatim by umoci, with an explicit opaque marker, a whiteout and a fifo.
 */
export async function buildMultiLayerImage(layout: OciLayout, tag: string): Promise<void> {
  await newImage(layout, tag, writeBusyboxTree);
  await addTreeLayer(layout, tag, (rootfs) => {
    const fixtures = join(rootfs, 'opt', 'fixtures');
    mkdirSync(join(fixtures, 'dir', 'sub'), { recursive: true });
    writeFileSync(join(fixtures, 'dir', 'hardlink-1'), 'linked content\n');
    linkSync(join(fixtures, 'dir', 'hardlink-1'), join(fixtures, 'dir', 'sub', 'hardlink-2'));
    writeFileSync(join(fixtures, 'original'), 'original\n');
    symlinkSync('/etc/os-release', join(fixtures, 'symlink-absolute'));
    symlinkSync('../original', join(fixtures, 'dir', 'symlink-dotdot'));
    symlinkSync('/does/not/exist', join(fixtures, 'symlink-dangling'));
    writeFileSync(join(fixtures, 'owned'), 'owned by 1000\n');
    chownSync(join(fixtures, 'owned'), 1000, 1000);
    writeFileSync(join(fixtures, 'setuid-file'), '#!/bin/sh\n');
    chmodSync(join(fixtures, 'setuid-file'), 0o4755);
    mkdirSync(join(fixtures, 'sticky'));
    chmodSync(join(fixtures, 'sticky'), 0o1777);
    mkdirSync(join(rootfs, 'etc', 'replace-dir', 'deep'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'replace-dir', 'deep', 'old'), 'old\n');
    writeFileSync(join(rootfs, 'etc', 'delete-me'), 'gone soon\n');
    mkdirSync(join(rootfs, 'var', 'opaque', 'keep-out'), { recursive: true });
    writeFileSync(join(rootfs, 'var', 'opaque', 'lower-file'), 'hidden later\n');
    writeFileSync(join(rootfs, 'var', 'lower-only'), 'deleted by a hand-made whiteout\n');
  });
  await addTreeLayer(layout, tag, (rootfs) => {
    rmSync(join(rootfs, 'etc', 'delete-me'));
    rmSync(join(rootfs, 'bin', 'false'));
    rmSync(join(rootfs, 'etc', 'replace-dir'), { recursive: true });
    mkdirSync(join(rootfs, 'etc', 'replace-dir'));
    writeFileSync(join(rootfs, 'etc', 'replace-dir', 'new'), 'new\n');
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  });
  await addRawLayer(layout, tag, await buildTar([
    { name: 'var/', type: 'directory' },
    { name: 'var/opaque/', type: 'directory', mode: 0o750 },
    { name: 'var/opaque/.wh..wh..opq' },
    { name: 'var/opaque/upper-file', data: 'only this stays\n' },
    { name: 'var/.wh.lower-only' },
    { name: 'opt/fixtures/fifo', type: 'fifo', mode: 0o640 },
  ]));
}
