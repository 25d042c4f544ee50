import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import type { HealthCheck } from '@berth/unitfile';
import { applyProbe, HealthState, initialHealth } from './health-state';
import { ContainerCommandRunner, probeHttp, probeTcp, runProbe } from './probes';

function check(overrides: Partial<HealthCheck> = {}): HealthCheck {
  return { kind: 'tcp', target: ['80'], port: 80, host: '', intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 0, ...overrides } as HealthCheck;
}

function run(config: HealthCheck, steps: Array<{ ok: boolean; atMs: number }>): HealthState[] {
  let state = initialHealth(config);
  return steps.map((step) => (state = applyProbe(config, state, { ok: step.ok, detail: step.ok ? 'ok' : 'down' }, step.atMs)));
}

describe('health state', () => {
  const cases: Array<{ name: string; config: HealthCheck; steps: Array<{ ok: boolean; atMs: number }>; expected: string[] }> = [
    { name: 'success makes healthy', config: check(), steps: [{ ok: true, atMs: 1000 }], expected: ['healthy'] },
    { name: 'retries failures make unhealthy', config: check(), steps: [1, 2, 3].map((n) => ({ ok: false, atMs: n * 1000 })), expected: ['starting', 'starting', 'unhealthy'] },
    { name: 'success clears failures', config: check({ retries: 2 }), steps: [{ ok: false, atMs: 1 }, { ok: true, atMs: 2 }, { ok: false, atMs: 3 }, { ok: false, atMs: 4 }], expected: ['starting', 'healthy', 'healthy', 'unhealthy'] },
    {
      name: 'failures in start period do not count',
      config: check({ retries: 1, startPeriodMs: 5000 }),
      steps: [{ ok: false, atMs: 1000 }, { ok: false, atMs: 4000 }, { ok: false, atMs: 6000 }],
      expected: ['starting', 'starting', 'unhealthy'],
    },
    {
      name: 'success ends the start period early',
      config: check({ retries: 1, startPeriodMs: 5000 }),
      steps: [{ ok: true, atMs: 1000 }, { ok: false, atMs: 2000 }],
      expected: ['healthy', 'unhealthy'],
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(run(testCase.config, testCase.steps).map((state) => state.status), testCase.expected);
    });
  }

  it('is none without a check', () => {
    assert.equal(initialHealth(undefined).status, 'none');
  });
});

describe('health probes', () => {
  let http: Server;
  let httpPort: number;
  before(async () => {
    http = createServer((request, response) => {
      response.statusCode = request.url === '/healthz' ? 200 : 503;
      response.end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    httpPort = (http.address() as AddressInfo).port;
  });
  after(() => http.close());

  it('passes HTTP 200 and fails 503', async () => {
    assert.deepEqual(await probeHttp('127.0.0.1', httpPort, '/healthz', 1000), { ok: true, detail: 'HTTP 200' });
    const failed = await probeHttp('127.0.0.1', httpPort, '/other', 1000);
    assert.equal(failed.ok, false);
    assert.match(failed.detail, /returned HTTP 503/);
  });

  it('fails TCP on a closed port', async () => {
    const server = createTcpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    assert.equal((await probeTcp('127.0.0.1', port, 1000)).ok, true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const closed = await probeTcp('127.0.0.1', port, 1000);
    assert.equal(closed.ok, false);
    assert.match(closed.detail, /ECONNREFUSED/);
  });

  it('probes the container address unless the check names a host', async () => {
    const result = await runProbe(check({ kind: 'http', port: httpPort, path: '/healthz' }), { containerId: 'c', pid: 1, address: '127.0.0.1' }, unusedRunner());
    assert.equal(result.ok, true);
  });

  it('reports a command exit code and timeout', async () => {
    const runner: ContainerCommandRunner = { run: async (_target, args) => (args[0] === 'slow' ? { exitCode: null, output: '' } : { exitCode: 2, output: 'not ready\n' }) };
    assert.deepEqual(await runProbe(check({ kind: 'cmd', target: ['probe'] }), { containerId: 'c', pid: 1 }, runner), { ok: false, detail: 'HealthCmd exited with 2: not ready' });
    assert.match((await runProbe(check({ kind: 'cmd', target: ['slow'] }), { containerId: 'c', pid: 1 }, runner)).detail, /timed out after 500 ms/);
  });
});

function unusedRunner(): ContainerCommandRunner {
  return { run: async () => assert.fail('no command expected') };
}
