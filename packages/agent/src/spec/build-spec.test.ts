import assert from 'node:assert/strict';
import type { ContainerSpec } from '@berth/unitfile';
import { UnitSpecError } from '../errors';
import { ANNOTATION_HASH, buildSpec, SpecInput } from './build-spec';
import { OciSpec } from './oci-types';

const DOCKER_DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID'];

function baseSpec(): OciSpec {
  return {
    ociVersion: '1.0.2',
    process: { user: { uid: 0, gid: 0 }, args: [], env: [], cwd: '/', noNewPrivileges: true, capabilities: { bounding: DOCKER_DEFAULT_CAPS } },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/data', type: 'tmpfs', source: 'tmpfs' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'mount' }], maskedPaths: ['/proc/kcore'] },
  };
}

function container(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: 'r/web:1', exec: [], environment: {}, environmentFiles: [], publishPorts: [], volumes: [], network: 'bridge',
    readOnly: false, addCapabilities: [], dropCapabilities: [], ...overrides,
  };
}

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    unit: 'web.service', unitHash: 'h1', container: container(), imageDigest: 'sha256:ab',
    image: { entrypoint: ['/bin/entry'], cmd: ['serve'], env: ['PATH=/bin', 'MODE=image'], workingDir: '/srv' },
    base: baseSpec(), rootfsPath: '/run/berth/c1/rootfs', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    environmentFiles: [], network: { mode: 'bridge', netnsPath: '/run/berth/netns/c1', hostname: 'web' }, ...overrides,
  };
}

describe('buildSpec', () => {
  const commands: Array<{ name: string; container: Partial<ContainerSpec>; expected: string[] }> = [
    { name: 'image entrypoint and cmd', container: {}, expected: ['/bin/entry', 'serve'] },
    { name: 'Exec replaces cmd', container: { exec: ['run', '--fast'] }, expected: ['/bin/entry', 'run', '--fast'] },
    { name: 'entrypoint override drops image cmd', container: { entrypoint: ['/bin/sh'] }, expected: ['/bin/sh'] },
    { name: 'entrypoint override with Exec', container: { entrypoint: ['/bin/sh', '-c'], exec: ['echo hi'] }, expected: ['/bin/sh', '-c', 'echo hi'] },
  ];
  for (const testCase of commands) {
    it(`command: ${testCase.name}`, () => {
      assert.deepEqual(buildSpec(input({ container: container(testCase.container) })).process.args, testCase.expected);
    });
  }

  it('rejects a container without any command', () => {
    assert.throws(() => buildSpec(input({ image: {} })), (error: unknown) => error instanceof UnitSpecError && /no Entrypoint or Cmd/.test(error.message));
  });

  it('layers environment image < files < unit and adds HOME and HOSTNAME', () => {
    const spec = buildSpec(input({ environmentFiles: [{ MODE: 'file', A: '1' }], container: container({ environment: { A: '2' } }) }));
    assert.deepEqual(spec.process.env, ['PATH=/bin', 'MODE=file', 'A=2', 'HOME=/root', 'HOSTNAME=web']);
  });

  it('uses the working dir of the unit, then the image, then /', () => {
    assert.equal(buildSpec(input()).process.cwd, '/srv');
    assert.equal(buildSpec(input({ container: container({ workingDir: '/app/' }) })).process.cwd, '/app');
    assert.equal(buildSpec(input({ image: { cmd: ['x'] } })).process.cwd, '/');
    assert.throws(() => buildSpec(input({ container: container({ workingDir: 'app' }) })), /absolute/);
  });

  const capabilityCases: Array<{ name: string; add: string[]; drop: string[]; uid?: number; bounding: string[]; effective: string[] }> = [
    { name: 'defaults', add: [], drop: [], bounding: DOCKER_DEFAULT_CAPS, effective: DOCKER_DEFAULT_CAPS },
    { name: 'drop one', add: [], drop: ['net_raw'], bounding: DOCKER_DEFAULT_CAPS.filter((cap) => cap !== 'CAP_NET_RAW'), effective: DOCKER_DEFAULT_CAPS.filter((cap) => cap !== 'CAP_NET_RAW') },
    { name: 'drop all add one', add: ['NET_BIND_SERVICE'], drop: ['ALL'], bounding: ['CAP_NET_BIND_SERVICE'], effective: ['CAP_NET_BIND_SERVICE'] },
    { name: 'add one', add: ['CAP_SYS_TIME'], drop: [], bounding: [...DOCKER_DEFAULT_CAPS, 'CAP_SYS_TIME'], effective: [...DOCKER_DEFAULT_CAPS, 'CAP_SYS_TIME'] },
    { name: 'non-root keeps bounding only', add: [], drop: [], uid: 1000, bounding: DOCKER_DEFAULT_CAPS, effective: [] },
  ];
  for (const testCase of capabilityCases) {
    it(`capabilities: ${testCase.name}`, () => {
      const spec = buildSpec(input({
        container: container({ addCapabilities: testCase.add, dropCapabilities: testCase.drop }),
        user: { uid: testCase.uid ?? 0, gid: 0, additionalGids: [], home: '/' },
      }));
      assert.deepEqual(spec.process.capabilities?.bounding, testCase.bounding);
      assert.deepEqual(spec.process.capabilities?.effective, testCase.effective);
      assert.deepEqual(spec.process.capabilities?.permitted, testCase.effective);
    });
  }

  it('rejects an unknown capability', () => {
    assert.throws(() => buildSpec(input({ container: container({ addCapabilities: ['FLY'] }) })), /unknown capability "FLY"/);
  });

  it('sets limits and a read-only root', () => {
    const spec = buildSpec(input({ container: container({ memoryBytes: 64 * 1024 * 1024, cpus: 1.5, pidsLimit: 100, readOnly: true }) }));
    assert.deepEqual(spec.linux?.resources?.memory, { limit: 64 * 1024 * 1024, swap: 64 * 1024 * 1024 });
    assert.deepEqual(spec.linux?.resources?.cpu, { quota: 150_000, period: 100_000 });
    assert.deepEqual(spec.linux?.resources?.pids, { limit: 100 });
    assert.deepEqual(spec.root, { path: '/run/berth/c1/rootfs', readonly: true });
  });

  it('mounts volumes over default mounts and adds /etc files', () => {
    const spec = buildSpec(input({
      container: container({ volumes: [{ source: '/srv/data', destination: '/data', readOnly: true }] }),
      network: { mode: 'bridge', netnsPath: '/n', hostname: 'web', etcFiles: { hosts: '/e/hosts', hostname: '/e/hostname', resolvConf: '/e/resolv.conf' } },
    }));
    assert.deepEqual(spec.mounts.map((mount) => `${mount.destination}<-${mount.source}`), ['/proc<-proc', '/data<-/srv/data', '/etc/hosts<-/e/hosts', '/etc/hostname<-/e/hostname', '/etc/resolv.conf<-/e/resolv.conf']);
    assert.deepEqual(spec.mounts[1].options, ['rbind', 'rprivate', 'ro']);
  });

  it('rejects volumes with relative or escaping paths', () => {
    assert.throws(() => buildSpec(input({ container: container({ volumes: [{ source: 'data', destination: '/data', readOnly: false }] }) })), /absolute/);
    assert.throws(() => buildSpec(input({ container: container({ volumes: [{ source: '/d', destination: '/data/../etc', readOnly: false }] }) })), /".."/);
  });

  const networkCases: Array<{ name: string; network: SpecInput['network']; expected: unknown }> = [
    { name: 'bridge joins the prepared namespace', network: { mode: 'bridge', netnsPath: '/run/ns/c1', hostname: 'h' }, expected: { type: 'network', path: '/run/ns/c1' } },
    { name: 'none gets a fresh namespace', network: { mode: 'none', hostname: 'h' }, expected: { type: 'network' } },
    { name: 'host shares the host namespace', network: { mode: 'host', hostname: 'h' }, expected: undefined },
  ];
  for (const testCase of networkCases) {
    it(`network: ${testCase.name}`, () => {
      const namespaces = buildSpec(input({ network: testCase.network })).linux?.namespaces ?? [];
      assert.deepEqual(namespaces.find((namespace) => namespace.type === 'network'), testCase.expected);
      assert.equal(namespaces.filter((namespace) => namespace.type === 'pid').length, 1);
    });
  }

  it('keeps runtime defaults and does not modify the base', () => {
    const base = baseSpec();
    const spec = buildSpec(input({ base }));
    assert.equal(spec.process.noNewPrivileges, true);
    assert.deepEqual(spec.linux?.maskedPaths, ['/proc/kcore']);
    assert.equal(spec.annotations?.[ANNOTATION_HASH], 'h1');
    assert.deepEqual(base.process.args, []);
  });
});
