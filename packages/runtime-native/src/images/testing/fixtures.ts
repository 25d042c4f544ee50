import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addRawLayer, addTreeLayer, newImage, OciLayout, writeBusyboxTree } from '@berth/testkit';
import { pack } from 'tar-stream';

/** One entry for buildTar; `rawPax` records go into an extended header written byte for byte. */
export interface TarEntrySpec {
  name: string;
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  pax?: Record<string, string>;
  rawPax?: [key: string, value: Buffer][];
}

/** tar-stream ends an archive with two zero blocks. */
const END_OF_ARCHIVE_BYTES = 1024;

/** Builds an uncompressed tar from entries, for hand-made and hostile layers. */
export async function buildTar(entries: TarEntrySpec[]): Promise<Buffer> {
  if (entries.some((entry) => entry.rawPax)) return buildTarWithRawPax(entries);
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

/** Builds each entry alone and joins them, putting raw extended headers where entries ask for one. */
async function buildTarWithRawPax(entries: TarEntrySpec[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const { rawPax, ...entry } of entries) {
    if (rawPax) parts.push(paxHeaderEntry(rawPax));
    const tar = await buildTar([entry]);
    parts.push(tar.subarray(0, tar.length - END_OF_ARCHIVE_BYTES));
  }
  parts.push(Buffer.alloc(END_OF_ARCHIVE_BYTES));
  return Buffer.concat(parts);
}

/**
 * Encodes a PAX extended header (typeflag `x`, header block plus padded body) whose record values
 * are raw bytes. Put it in front of `buildTar(...)` output to describe that tar's first entry.
 * tar-stream's packer writes values as UTF-8 text, so binary xattr values need this.
 */
export function paxHeaderEntry(records: [key: string, value: Buffer][]): Buffer {
  const body = Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
  return Buffer.concat([tarHeaderBlock('PaxHeader', 'x', body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** Encodes one PAX record, `LENGTH KEY=VALUE\n`, with LENGTH counting the whole record in bytes. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const record = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  // The length prefix counts itself, so a prefix that gains a digit changes the total.
  let length = record.length + 1;
  while (String(length).length + record.length !== length) length = String(length).length + record.length;
  return Buffer.concat([Buffer.from(String(length)), record]);
}

/** Encodes one ustar header block; `size` is the length of the data that follows. */
export function tarHeaderBlock(name: string, typeflag: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136);
  block.write(typeflag, 156);
  block.write('ustar\0' + '00', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/**
 * `security.capability` values as `setcap` writes them: struct vfs_cap_data revision 2 from
 * linux/capability.h, little-endian: magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, then
 * permitted and inheritable for capabilities 0-31 and 32-63. `cap_net_raw+ep` (ping) sets bit 13
 * and happens to be valid UTF-8; `cap_setuid+ep` (newuidmap) sets bit 7, the byte 0x80, which is
 * not, so only a byte-exact reader keeps it.
 */
export const CAP_NET_RAW_EP = Buffer.from('0100000200200000000000000000000000000000', 'hex');
export const CAP_SETUID_EP = Buffer.from('0100000280000000000000000000000000000000', 'hex');

/**
 * Builds image `tag` with four layers. The first is busybox. The second adds hard links, symlinks,
 * special modes and owners. The third deletes files and a directory (whiteouts). The fourth is a
 * hand-made tar, added verbatim by umoci, with an explicit opaque marker, a whiteout, a fifo and
 * two files with binary `security.capability` values, and entries written through the second
 * layer's symlinks (`lib -> usr/lib`, an absolute one and one climbing past the root).
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
    mkdirSync(join(rootfs, 'usr', 'lib', 'berth'), { recursive: true });
    writeFileSync(join(rootfs, 'usr', 'lib', 'berth', 'old-lib'), 'deleted through a symlink\n');
    symlinkSync('usr/lib', join(rootfs, 'lib'));
    symlinkSync('/srv/shared', join(rootfs, 'opt', 'shared'));
    symlinkSync('../../../..', join(rootfs, 'opt', 'up'));
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
    { name: 'lib/berth/new-lib', data: 'written through lib -> usr/lib\n' },
    { name: 'lib/berth/.wh.old-lib' },
    { name: 'opt/shared/data/file', data: 'written through an absolute symlink\n' },
    { name: 'opt/up/top-level', data: 'written through ../../../..\n' },
    { name: 'opt/fixtures/ping', data: '#!/bin/sh\n', mode: 0o755, rawPax: [['SCHILY.xattr.security.capability', CAP_NET_RAW_EP]] },
    { name: 'opt/fixtures/newuidmap', data: '#!/bin/sh\n', mode: 0o755, rawPax: [['SCHILY.xattr.security.capability', CAP_SETUID_EP]] },
  ]));
}
