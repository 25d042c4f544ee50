import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkLockTimeoutError, NetworkStateError } from './errors';
import { FileLock } from './file-lock';
import { ContainerRecord, loadNetworkState, saveNetworkState, stateFilePath } from './network-state';

function record(containerId: string, address: string): ContainerRecord {
  return { containerId, mode: 'bridge', address, etcDir: `/run/berth/network/${containerId}`, hostname: containerId, publishPorts: [], createdAt: '2026-01-01T00:00:00.000Z' };
}

describe('network state file', function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'berth-network-state-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts empty when there is no file', function () {
    const state = loadNetworkState(stateFilePath(dir, 'berth0'), 'berth0', '10.99.0.0/16');
    assert.deepEqual(state.containers, {});
  });

  it('round-trips records and leaves no temporary file', function () {
    const path = stateFilePath(dir, 'berth0');
    saveNetworkState(path, { version: 1, bridgeName: 'berth0', subnet: '10.99.0.0/16', lastAddress: '10.99.0.2', containers: { web: record('web', '10.99.0.2') } });
    const state = loadNetworkState(path, 'berth0', '10.99.0.0/16');
    assert.deepEqual(state.containers.web, record('web', '10.99.0.2'));
    assert.equal(state.lastAddress, '10.99.0.2');
    assert.deepEqual(readdirSync(join(dir, 'network')), ['berth0.json']);
  });

  it('rejects a subnet change while containers hold addresses', function () {
    const path = stateFilePath(dir, 'berth0');
    saveNetworkState(path, { version: 1, bridgeName: 'berth0', subnet: '10.99.0.0/16', containers: { web: record('web', '10.99.0.2') } });
    assert.throws(() => loadNetworkState(path, 'berth0', '10.98.0.0/16'), (error: unknown) => error instanceof NetworkStateError && /configured subnet is 10\.98\.0\.0\/16/.test(error.message));
  });

  const corrupt: Array<[string, string, RegExp]> = [
    ['not JSON', '{', /is not valid JSON/],
    ['wrong version', '{"version":2,"subnet":"10.99.0.0/16","containers":{}}', /unexpected format/],
    ['record under another id', '{"version":1,"subnet":"10.99.0.0/16","containers":{"a":{"containerId":"b","etcDir":"/x","publishPorts":[]}}}', /invalid record for container a/],
  ];
  for (const [name, text, message] of corrupt) {
    it(`rejects a file that is ${name}`, function () {
      const path = stateFilePath(dir, 'berth0');
      saveNetworkState(path, { version: 1, bridgeName: 'berth0', subnet: '10.99.0.0/16', containers: {} });
      writeFileSync(path, text);
      assert.throws(() => loadNetworkState(path, 'berth0', '10.99.0.0/16'), (error: unknown) => error instanceof NetworkStateError && message.test(error.message));
    });
  }
});

describe('FileLock', function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'berth-network-lock-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs calls one at a time and removes the file', async function () {
    const lock = new FileLock(join(dir, 'lock'), 1000);
    const order: string[] = [];
    const slow = lock.withLock(async () => {
      order.push('slow start');
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('slow end');
    });
    const fast = lock.withLock(async () => {
      order.push('fast');
    });
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ['slow start', 'slow end', 'fast']);
    assert.equal(existsSync(join(dir, 'lock')), false);
  });

  it('takes over a lock whose owner is dead', async function () {
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 999_999_999, startTicks: '1', bootId: 'gone' }));
    const lock = new FileLock(join(dir, 'lock'), 1000);
    assert.equal(await lock.withLock(async () => 'ran'), 'ran');
  });

  it('takes over a half-written lock file', async function () {
    writeFileSync(join(dir, 'lock'), '');
    assert.equal(await new FileLock(join(dir, 'lock'), 1000).withLock(async () => 'ran'), 'ran');
  });

  it('times out while a live process holds the lock', async function () {
    const holder = new FileLock(join(dir, 'lock'), 1000);
    const contender = new FileLock(join(dir, 'lock'), 100);
    let release: () => void = () => undefined;
    const held = holder.withLock(() => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(contender.withLock(async () => 'ran'), NetworkLockTimeoutError);
    release();
    await held;
  });

  it('keeps working after a failed call', async function () {
    const lock = new FileLock(join(dir, 'lock'), 1000);
    await assert.rejects(lock.withLock(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await lock.withLock(async () => 'ran'), 'ran');
  });
});
