import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors';
import { IdentityHost } from './identity';
import { loadConfig } from './load-config';

function fakeHost(files: Record<string, string> = {}): IdentityHost & { written: Record<string, string> } {
  const written: Record<string, string> = {};
  return {
    written,
    readFile: (path) => written[path] ?? files[path],
    writeFile: (path, content) => (written[path] = content),
    cpuCount: () => 8,
    totalMemoryBytes: () => 16 * 1024 ** 3,
    interfaces: () => ({
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as never],
      eth0: [{ address: '192.0.2.7', family: 'IPv4', internal: false } as never],
    }),
    randomHex: (bytes) => 'ab'.repeat(bytes),
  };
}

const MINIMAL_FLAGS = { schedulers: '127.0.0.1:7071', joinToken: 'secret' };

describe('loadConfig', () => {
  it('applies defaults and detects identity', () => {
    const host = fakeHost({ '/etc/machine-id': '0123456789abcdef0123456789abcdef\n' });
    const config = loadConfig({ flags: MINIMAL_FLAGS, env: {}, host });
    assert.deepEqual(config.schedulers, ['127.0.0.1:7071']);
    assert.equal(config.machineId, '0123456789abcdef0123456789abcdef');
    assert.equal(config.publicAddress, '192.0.2.7');
    assert.equal(config.stateDir, '/var/lib/berth');
    assert.equal(config.runDir, '/run/berth');
    assert.deepEqual(config.capacity, { cpus: 8, memoryBytes: 16 * 1024 ** 3 - 256 * 1024 ** 2 });
    assert.equal(config.drainOnShutdown, false);
  });

  it('generates and keeps a machine id without /etc/machine-id', () => {
    const host = fakeHost();
    const config = loadConfig({ flags: { ...MINIMAL_FLAGS, stateDir: '/srv/berth' }, env: {}, host });
    assert.equal(config.machineId, 'ab'.repeat(16));
    assert.equal(host.written['/srv/berth/machine-id'], `${'ab'.repeat(16)}\n`);
    const again = loadConfig({ flags: { ...MINIMAL_FLAGS, stateDir: '/srv/berth' }, env: {}, host });
    assert.equal(again.machineId, config.machineId);
  });

  it('lets flags win over environment', () => {
    const config = loadConfig({
      flags: { ...MINIMAL_FLAGS, metadata: 'role=web' },
      env: { BERTH_METADATA: 'role=db,region=eu', BERTH_RESERVED_CPUS: '2', BERTH_RESERVED_MEMORY: '1G' },
      host: fakeHost(),
    });
    assert.deepEqual(config.metadata, { role: 'web' });
    assert.deepEqual(config.capacity, { cpus: 6, memoryBytes: 15 * 1024 ** 3 });
  });

  it('reads INI and JSON files below the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-agent-config-'));
    try {
      writeFileSync(join(dir, 'agent.conf'), '# comment\nschedulers = "10.0.0.1:7071,10.0.0.2:7071"\njoin_token = t\nmetadata=role=web\n');
      const ini = loadConfig({ flags: {}, env: { BERTH_CONFIG: join(dir, 'agent.conf') }, host: fakeHost() });
      assert.deepEqual(ini.schedulers, ['10.0.0.1:7071', '10.0.0.2:7071']);
      assert.deepEqual(ini.metadata, { role: 'web' });

      writeFileSync(join(dir, 'agent.json'), JSON.stringify({ schedulers: ['10.0.0.3:7071'], joinToken: 'j', metadata: { disk: 'ssd' }, cpus: 3 }));
      const json = loadConfig({ flags: {}, env: { BERTH_JOIN_TOKEN: 'from-env' }, configFile: join(dir, 'agent.json'), host: fakeHost() });
      assert.deepEqual(json.schedulers, ['10.0.0.3:7071']);
      assert.equal(json.joinToken, 'from-env');
      assert.deepEqual(json.metadata, { disk: 'ssd' });
      assert.equal(json.capacity.cpus, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes registry credentials', () => {
    const auth = Buffer.from('alice:pa:ss').toString('base64');
    const host = fakeHost({ '/etc/berth/auth.json': JSON.stringify({ auths: { '127.0.0.1:5000': { auth } } }) });
    const config = loadConfig({ flags: { ...MINIMAL_FLAGS, registryAuthFile: '/etc/berth/auth.json' }, env: {}, host });
    assert.deepEqual(config.registryCredentials, { '127.0.0.1:5000': { username: 'alice', password: 'pa:ss' } });
  });

  it('reads the scheduler CA for TLS', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const config = loadConfig({ flags: { ...MINIMAL_FLAGS, schedulerCaFile: '/etc/berth/ca.pem' }, env: {}, host: fakeHost({ '/etc/berth/ca.pem': pem }) });
    assert.equal(config.schedulerCa, pem);
    assert.throws(() => loadConfig({ flags: { ...MINIMAL_FLAGS, schedulerCaFile: '/etc/berth/key.pem' }, env: {}, host: fakeHost({ '/etc/berth/key.pem': 'x' }) }), /contains no PEM certificate/);
  });

  const invalid: Array<{ name: string; flags: Record<string, unknown>; env?: Record<string, string>; setting: string; message: RegExp }> = [
    { name: 'missing schedulers', flags: { joinToken: 't' }, setting: 'schedulers', message: /missing/ },
    { name: 'scheduler without port', flags: { ...MINIMAL_FLAGS, schedulers: 'sched.example' }, setting: 'schedulers', message: /host:port/ },
    { name: 'missing join token', flags: { schedulers: '127.0.0.1:1' }, setting: 'joinToken', message: /missing/ },
    { name: 'malformed machine id', flags: { ...MINIMAL_FLAGS, machineId: 'host-1' }, setting: 'machineId', message: /32 lowercase hex/ },
    { name: 'metadata pair without =', flags: { ...MINIMAL_FLAGS, metadata: 'role=web,ssd' }, setting: 'metadata', message: /"ssd"/ },
    { name: 'memory that is not a size', flags: { ...MINIMAL_FLAGS, memory: 'lots' }, setting: 'memory', message: /512M/ },
    { name: 'negative reserve', flags: MINIMAL_FLAGS, env: { BERTH_RESERVED_CPUS: '-1' }, setting: 'reservedCpus', message: /non-negative/ },
    { name: 'relative state dir', flags: { ...MINIMAL_FLAGS, stateDir: 'var/berth' }, setting: 'stateDir', message: /absolute/ },
    { name: 'bad subnet', flags: { ...MINIMAL_FLAGS, containerSubnet: '10.0.0.0/33' }, setting: 'containerSubnet', message: /IPv4 subnet/ },
    { name: 'long bridge name', flags: { ...MINIMAL_FLAGS, bridgeName: 'a-very-long-bridge-name' }, setting: 'bridgeName', message: /15/ },
    { name: 'unknown log level', flags: { ...MINIMAL_FLAGS, logLevel: 'loud' }, setting: 'logLevel', message: /one of/ },
    { name: 'drain not boolean', flags: MINIMAL_FLAGS, env: { BERTH_DRAIN: 'maybe' }, setting: 'drain', message: /true or false/ },
  ];
  for (const testCase of invalid) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(
        () => loadConfig({ flags: testCase.flags, env: testCase.env ?? {}, host: fakeHost() }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
          assert.equal(error.setting, testCase.setting);
          assert.match(error.message, testCase.message);
          return true;
        },
      );
    });
  }

  it('rejects unknown keys in the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-agent-config-'));
    try {
      writeFileSync(join(dir, 'agent.conf'), 'schedulers = 127.0.0.1:1\njoin_token = t\netcd_servers = x\n');
      assert.throws(() => loadConfig({ flags: {}, env: {}, configFile: join(dir, 'agent.conf'), host: fakeHost() }), /etcd_servers.*unknown setting/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
