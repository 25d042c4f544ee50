import { strict as assert } from 'node:assert';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execCommand, makeTempDir, removeTempDir, runCommand, waitFor } from '@berth/testkit';
import { checkFreeSpace, createLoopFilesystem, describeFilesystem, formatFilesystem, MIN_LOOP_FILESYSTEM_BYTES, useExistingDirectory } from './bench-filesystem';

const LOOP_DETACH_TIMEOUT_MS = 10_000;

async function isMounted(path: string): Promise<boolean> {
  return (await execCommand('findmnt', ['--mountpoint', path])).code === 0;
}

/** Reads the backing file of a loop device, or '' once the device is detached. */
function backingFileOf(device: string): string {
  const file = `/sys/block/${basename(device)}/loop/backing_file`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
}

describe('bench file system', () => {
  it('loop file system has a journal', async () => {
    const filesystem = await createLoopFilesystem(MIN_LOOP_FILESYSTEM_BYTES);
    const { source, mountPoint } = filesystem.info;
    try {
      writeFileSync(join(filesystem.root, 'probe'), 'data');
      assert.equal(filesystem.info.type, 'ext4');
      assert.equal(filesystem.info.journal, true);
      assert.equal(filesystem.info.loopFileBytes, MIN_LOOP_FILESYSTEM_BYTES);
      assert.match(source, /^\/dev\/loop\d+$/);
      assert.ok(await isMounted(mountPoint), `${mountPoint} is not mounted`);
      assert.match(formatFilesystem(filesystem.info), /^ext4 with a journal on \/dev\/loop\d+ /);
    } finally {
      await filesystem.remove();
    }

    assert.equal(await isMounted(mountPoint), false, `${mountPoint} is still mounted`);
    assert.equal(backingFileOf(source).includes(filesystem.backingDir!), false, `${source} is still attached`);
    assert.equal(existsSync(filesystem.backingDir!), false, `${filesystem.backingDir} still exists`);
  });

  it('forced removal detaches busy device', async () => {
    const filesystem = await createLoopFilesystem(MIN_LOOP_FILESYSTEM_BYTES);
    const { source, mountPoint } = filesystem.info;
    const openFile = openSync(join(filesystem.root, 'open'), 'w');
    try {
      filesystem.removeNow();
      assert.equal(await isMounted(mountPoint), false, `${mountPoint} is still mounted`);
      assert.equal(existsSync(filesystem.backingDir!), false, `${filesystem.backingDir} still exists`);
    } finally {
      closeSync(openFile);
    }

    // The lazily unmounted file system is released, and its loop device cleared, after the last close.
    await waitFor(async () => !backingFileOf(source).includes(filesystem.backingDir!), {
      timeoutMs: LOOP_DETACH_TIMEOUT_MS,
      describe: () => `${source} is still attached to ${backingFileOf(source)}`,
    });
  });

  it('tmpfs journal is not checked', async () => {
    const dir = makeTempDir('bench-fs-test');
    const mountPoint = join(dir, 'tmpfs');
    mkdirSync(mountPoint);
    await runCommand('mount', ['-t', 'tmpfs', 'bench-fs-test', mountPoint]);
    try {
      const info = await describeFilesystem(mountPoint);
      assert.equal(info.type, 'tmpfs');
      assert.equal(info.journal, null);
      assert.equal(info.mountPoint, mountPoint);
      assert.match(info.journalUnknownReason ?? '', /tmpfs/);
    } finally {
      await runCommand('umount', [mountPoint]);
      removeTempDir(dir);
    }
  });

  it('existing directory gets its own subdirectory', async () => {
    const parent = makeTempDir('bench-fs-test');
    try {
      const filesystem = await useExistingDirectory(parent);
      assert.ok(filesystem.root.startsWith(join(parent, 'berth-bench-')), filesystem.root);
      assert.equal(filesystem.backingDir, null);
      await filesystem.remove();
      assert.equal(existsSync(filesystem.root), false, `${filesystem.root} still exists`);
      assert.ok(existsSync(parent), `${parent} was removed`);
    } finally {
      removeTempDir(parent);
    }
  });

  it('missing directory is rejected', async () => {
    await assert.rejects(useExistingDirectory('/nonexistent/bench-dir'), /--dir \/nonexistent\/bench-dir is not an existing directory/);
  });

  it('free space check names sizes', () => {
    assert.throws(() => checkFreeSpace('/tmp', Number.MAX_SAFE_INTEGER, 'this test'), /this test needs about \d+\.\d GiB on the file system of \/tmp, but \d+\.\d GiB is available/);
    assert.doesNotThrow(() => checkFreeSpace('/tmp', 1, 'this test'));
  });
});
