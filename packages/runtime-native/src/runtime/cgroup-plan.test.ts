import assert from 'node:assert/strict';

import { parseCgroupLayout } from './cgroup-layout';
import { CgroupPlanError, planCgroups, planV2Resources, sharesToWeight } from './cgroup-plan';

const HYBRID_MOUNTINFO = [
  '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate',
  '32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory',
  '33 30 0:29 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu',
  '34 30 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids',
  '35 30 0:31 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,devices',
  '36 30 0:32 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,xattr,name=systemd',
].join('\n');

const V2_MOUNTINFO = '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

describe('cgroup layout detection', () => {
  const cases: { name: string; mountinfo: string; mode: string; hierarchies: number }[] = [
    { name: 'hybrid host with a cgroup2 mount beside v1', mountinfo: HYBRID_MOUNTINFO, mode: 'hybrid', hierarchies: 5 },
    { name: 'pure v2 host', mountinfo: V2_MOUNTINFO, mode: 'v2', hierarchies: 0 },
    { name: 'pure v1 host', mountinfo: HYBRID_MOUNTINFO.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'), mode: 'v1', hierarchies: 5 },
  ];
  for (const c of cases) {
    it(`detects ${c.name}`, () => {
      const layout = parseCgroupLayout(c.mountinfo);
      assert.equal(layout.mode, c.mode);
      assert.equal(layout.v1.length, c.hierarchies);
    });
  }

  it('reads named hierarchies and controllers', () => {
    const layout = parseCgroupLayout(HYBRID_MOUNTINFO);
    assert.deepEqual(layout.v1.map((h) => h.controllers), [['memory'], ['cpu'], ['pids'], ['devices'], ['name=systemd']]);
  });

  it('fails without any cgroup mount', () => {
    assert.throws(() => parseCgroupLayout('30 25 0:26 / /tmp rw - tmpfs tmpfs rw'), /no cgroup file system/);
  });
});

describe('cgroup plan on v1', () => {
  const layout = parseCgroupLayout(HYBRID_MOUNTINFO);
  const files = (resources: Parameters<typeof planCgroups>[2]) =>
    planCgroups(layout, '/berth/c1', resources)
      .writes.filter((w) => !w.file.startsWith('devices.'))
      .map((w) => `${w.dir}/${w.file}=${w.value}`);

  const cases: { name: string; resources: Parameters<typeof planCgroups>[2]; expected: string[] }[] = [
    { name: 'memory limit and swap', resources: { memory: { limit: 1048576, swap: 2097152 } }, expected: ['/sys/fs/cgroup/memory/berth/c1/memory.limit_in_bytes=1048576', '/sys/fs/cgroup/memory/berth/c1/memory.memsw.limit_in_bytes=2097152'] },
    { name: 'cpu period before quota', resources: { cpu: { shares: 512, quota: 50000, period: 100000 } }, expected: ['/sys/fs/cgroup/cpu/berth/c1/cpu.shares=512', '/sys/fs/cgroup/cpu/berth/c1/cpu.cfs_period_us=100000', '/sys/fs/cgroup/cpu/berth/c1/cpu.cfs_quota_us=50000'] },
    { name: 'pids limit', resources: { pids: { limit: 64 } }, expected: ['/sys/fs/cgroup/pids/berth/c1/pids.max=64'] },
    { name: 'unlimited pids', resources: { pids: { limit: 0 } }, expected: ['/sys/fs/cgroup/pids/berth/c1/pids.max=max'] },
  ];
  for (const c of cases) {
    it(`writes ${c.name}`, () => assert.deepEqual(files(c.resources), c.expected));
  }

  it('creates the path in every hierarchy', () => {
    assert.equal(planCgroups(layout, '/berth/c1').dirs.length, 5);
  });

  it('starts device rules with deny-all', () => {
    const devices = planCgroups(layout, '/x').writes.filter((w) => w.file.startsWith('devices.'));
    assert.deepEqual(devices[0], { dir: '/sys/fs/cgroup/devices/x', file: 'devices.deny', value: 'a' });
    assert.ok(devices.some((w) => w.file === 'devices.allow' && w.value === 'c 1:3 rwm'));
  });

  it('watches memory.oom_control for OOM kills', () => {
    assert.equal(planCgroups(layout, '/x').oomEventsFile, '/sys/fs/cgroup/memory/x/memory.oom_control');
  });

  it('rejects a controller that is not mounted', () => {
    assert.throws(() => planCgroups(layout, '/x', { cpu: { cpus: '0' } }), /cpuset controller is not mounted/);
  });

  it('rejects unified keys on v1', () => {
    assert.throws(() => planCgroups(layout, '/x', { unified: { 'memory.high': '1' } }), CgroupPlanError);
  });

  it('rejects a relative or escaping path', () => {
    assert.throws(() => planCgroups(layout, 'x', {}), CgroupPlanError);
    assert.throws(() => planCgroups(layout, '/a/../b', {}), CgroupPlanError);
  });
});

describe('cgroup plan on v2', () => {
  const layout = parseCgroupLayout(V2_MOUNTINFO);
  it('hands device rules to the eBPF program', () => {
    const plan = planCgroups(layout, '/berth/c1', { devices: [{ allow: false, access: 'rwm' }] });
    assert.equal(plan.deviceProgramDir, '/sys/fs/cgroup/berth/c1');
    assert.deepEqual(plan.deviceRules?.[0], { allow: false, access: 'rwm' });
    assert.ok(plan.deviceRules?.some((r) => r.allow && r.major === 1 && r.minor === 3));
    assert.ok(!plan.writes.some((w) => w.file.startsWith('devices.')));
  });

  it('enables only the controllers it uses', () => {
    const plan = planV2Resources(layout, '/berth/c1', {});
    assert.deepEqual(plan.writes.filter((w) => w.file === 'cgroup.subtree_control').map((w) => w.value), []);
    assert.equal(plan.oomEventsFile, undefined);
  });

  const translations: { name: string; resources: Parameters<typeof planCgroups>[2]; file: string; value: string }[] = [
    { name: 'memory limit to memory.max', resources: { memory: { limit: 1000 } }, file: 'memory.max', value: '1000' },
    { name: 'swap to memory.swap.max minus memory', resources: { memory: { limit: 1000, swap: 3000 } }, file: 'memory.swap.max', value: '2000' },
    { name: 'reservation to memory.low', resources: { memory: { reservation: 500 } }, file: 'memory.low', value: '500' },
    { name: 'quota and period to cpu.max', resources: { cpu: { quota: 25000, period: 50000 } }, file: 'cpu.max', value: '25000 50000' },
    { name: 'no quota to max', resources: { cpu: { period: 50000 } }, file: 'cpu.max', value: 'max 50000' },
    { name: 'shares to cpu.weight', resources: { cpu: { shares: 1024 } }, file: 'cpu.weight', value: '39' },
    { name: 'pids', resources: { pids: { limit: 10 } }, file: 'pids.max', value: '10' },
    { name: 'unified keys verbatim', resources: { unified: { 'memory.high': '4096' } }, file: 'memory.high', value: '4096' },
  ];
  for (const t of translations) {
    it(`translates ${t.name}`, () => {
      const writes = planV2Resources(layout, '/berth/c1', t.resources ?? {}).writes;
      assert.ok(
        writes.some((w) => w.dir === '/sys/fs/cgroup/berth/c1' && w.file === t.file && w.value === t.value),
        JSON.stringify(writes),
      );
    });
  }

  it('enables controllers in every ancestor first', () => {
    const writes = planV2Resources(layout, '/berth/c1', { pids: { limit: 1 } }).writes.filter((w) => w.file === 'cgroup.subtree_control');
    assert.deepEqual(writes.map((w) => w.dir), ['/sys/fs/cgroup', '/sys/fs/cgroup/berth']);
    assert.match(writes[0].value, /\+pids/);
  });

  it('maps shares to weight linearly', () => {
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(262144), 10000);
  });
});
