import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { createOciLayout, makeTempDir, newImage, OciLayout, pushImage, RegistryServer, removeOciLayout, removeTempDir, runCommand, startRegistry, writeBusyboxTree } from '@berth/testkit';

const CLI = join(__dirname, 'image-cli.js');

describe('berth-image CLI', function () {
  this.timeout(120_000);
  let registry: RegistryServer;
  let layout: OciLayout;
  let state: string;

  before(async () => {
    registry = await startRegistry();
    layout = await createOciLayout();
    await newImage(layout, 'base', writeBusyboxTree);
    await pushImage(layout, 'base', `${registry.host}/cli/base:1`);
    state = makeTempDir('image-cli');
  });
  after(async () => {
    await registry?.stop();
    if (layout) removeOciLayout(layout);
    if (state) removeTempDir(state);
  });

  function cli(...args: string[]) {
    return runCommand(process.execPath, [CLI, '--state', state, ...args]);
  }

  it('pulls, lists, removes and prunes', async () => {
    const pulled = await cli('pull', `${registry.host}/cli/base:1`);
    assert.match(pulled.stdout, new RegExp(`^${registry.host}/cli/base:1 sha256:[0-9a-f]{64}\\n$`));
    assert.match(pulled.stderr, /done/);

    const listed = await cli('images');
    assert.match(listed.stdout.split('\n')[0]!, /^NAME +DIGEST +LAYERS +PLATFORM +PULLED$/);
    assert.match(listed.stdout, new RegExp(`${registry.host}/cli/base:1 +sha256:[0-9a-f]{12} +1 `));

    await cli('rm', `${registry.host}/cli/base:1`);
    const pruned = await cli('prune');
    assert.equal(pruned.stdout, 'removed 3 blobs and 1 snapshots\n');
  });

  it('exits 1 with the reason for a missing image', async () => {
    await assert.rejects(cli('rm', `${registry.host}/cli/none:1`), /exited with 1: berth-image: image .*cli\/none:1 is not in the store/);
  });

  it('exits 2 on a usage error', async () => {
    await assert.rejects(cli('frobnicate'), /exited with 2: berth-image: unknown command "frobnicate"/);
  });
});
