import { strict as assert } from 'node:assert';
import { makeTempDir, removeTempDir } from '@berth/testkit';
import { PullProcess } from './pull-process';

const EXIT_TIMEOUT_MS = 20_000;

describe('PullProcess', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir('agent-pull-process-exit');
  });

  afterEach(() => {
    removeTempDir(dir);
  });

  // Node emits no 'close' for a child whose IPC channel the parent disconnected.
  it('reports the exit after end()', async () => {
    let exits = 0;
    const exited = new Promise<void>((resolve) => {
      const puller = new PullProcess({ type: 'start', stateDir: dir }, () => {
        exits++;
        resolve();
      });
      puller.end();
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit reported within ${EXIT_TIMEOUT_MS} ms of end()`)), EXIT_TIMEOUT_MS).unref());
    await Promise.race([exited, timeout]);
    assert.equal(exits, 1);
  });

  it('rejects a pull after the exit', async () => {
    let puller!: PullProcess;
    await new Promise<void>((resolve) => {
      puller = new PullProcess({ type: 'start', stateDir: dir }, resolve);
      puller.end();
    });
    await assert.rejects(puller.pull('127.0.0.1:1/none:1', () => undefined), /already exited/);
  });
});
