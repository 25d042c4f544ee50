import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerNetwork, HostNetworkOptions, PublishedPortSpec, SetupStep } from './types';
import { DriverRequest, DriverResponse } from './test-support/host-network-driver';
import { createNetnsLab, fetchIn, fetchOnce, LabHost, NetnsLab, NetnsProcess, runIn, startIn } from './test-support/netns-lab';

/**
 * Integration tests: each HostNetwork runs in a child process inside a simulated host namespace
 * of a lab LAN; "containers" are busybox processes started in the namespaces it creates. Nothing
 * is created in the namespace this test runs in.
 */

const DRIVER = join(__dirname, 'test-support', 'host-network-driver.js');
const CONTAINER_SUBNET = '10.99.0.0/24';
const HTTP_PORT = 8080;

/** A driver request without the options, which `drive` adds; distributes over the union. */
type DriverCall = DriverRequest extends infer R ? (R extends DriverRequest ? Omit<R, 'options'> : never) : never;

interface TestHost {
  lab: LabHost;
  options: HostNetworkOptions;
  root: string;
}

function tcp(hostPort: number, containerPort = HTTP_PORT, hostIp = ''): PublishedPortSpec {
  return { hostIp, hostPort, containerPort, protocol: 'tcp' };
}

/** Runs one HostNetwork operation in a fresh Node process inside the host's namespace. */
function drive(host: TestHost, request: DriverCall): Promise<DriverResponse & { signal: string | null }> {
  const full = { ...request, options: host.options };
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${host.lab.netnsPath}`, '--', process.execPath, DRIVER, JSON.stringify(full)], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const signal = error && 'signal' in error ? (error.signal as string | null) : null;
      if (signal === 'SIGKILL') {
        resolve({ ok: false, error: { name: 'Killed', message: 'driver killed itself' }, events: [], signal });
        return;
      }
      try {
        resolve({ ...(JSON.parse(stdout) as DriverResponse), signal });
      } catch {
        reject(new Error(`driver printed no JSON (${error?.message ?? 'exit 0'}): ${stdout}${stderr}`));
      }
    });
  });
}

async function setup(host: TestHost, containerId: string, publishPorts: PublishedPortSpec[] = [], mode: 'bridge' | 'none' | 'host' = 'bridge'): Promise<ContainerNetwork> {
  const response = await drive(host, { op: 'setup', containerId, request: { mode, publishPorts, hostname: containerId } });
  assert.ok(response.ok, `setup of ${containerId} failed: ${response.ok ? '' : `${response.error.name}: ${response.error.message}`}`);
  return response.result as ContainerNetwork;
}

async function expectOk(host: TestHost, request: DriverCall): Promise<unknown> {
  const response = await drive(host, request);
  assert.ok(response.ok, `${request.op} failed: ${response.ok ? '' : `${response.error.name}: ${response.error.message}`}`);
  return response.result;
}

/** Serves a page naming `label` with busybox httpd inside `netnsPath`. */
function serve(netnsPath: string, dir: string, label: string, port = HTTP_PORT, bind = ''): NetnsProcess {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), `hello from ${label}\n`);
  return startIn(netnsPath, 'busybox', ['httpd', '-f', '-v', '-p', bind === '' ? String(port) : `${bind}:${port}`, '-h', dir]);
}

/** Fixed source port of the UDP client, so two requests belong to one conntrack flow. */
const UDP_CLIENT_PORT = 40_053;

/** UDP server script that replies to each datagram with `pong:` and its text. */
const UDP_ECHO_SERVER = `
const socket = require('node:dgram').createSocket('udp4');
socket.on('message', (message, peer) => socket.send('pong:' + message, peer.port, peer.address));
socket.bind(5353);`;

/** Sends `text` over UDP from inside a namespace and returns the reply; retries while the server starts. */
async function udpRequest(netnsPath: string, host: string, port: number, text: string, sourcePort = 0): Promise<string> {
  const client = `
const socket = require('node:dgram').createSocket('udp4');
socket.bind(${sourcePort});
let sent = 0;
const send = () => { if (sent++ === 50) process.exit(1); socket.send(${JSON.stringify(text)}, ${port}, ${JSON.stringify(host)}); };
socket.on('message', (message) => { process.stdout.write(String(message)); process.exit(0); });
setInterval(send, 100);
send();`;
  return runIn(netnsPath, process.execPath, ['-e', client]);
}

interface BerthLeftovers {
  veths: string[];
  rules: string[];
  records: string[];
  netnsFiles: string[];
  mounts: string[];
}

/** Collects every trace of Berth's containers on a host: marked veths, rule comments, records, files and mounts. */
async function findLeftovers(host: TestHost): Promise<BerthLeftovers> {
  const links = JSON.parse(await runIn(host.lab.netnsPath, 'ip', ['-j', 'link', 'show', 'type', 'veth'])) as Array<{ ifname: string; ifalias?: string }>;
  let rules: string[] = [];
  const tableText = await runIn(host.lab.netnsPath, 'nft', ['-j', 'list', 'table', 'ip', 'berth']).catch(() => '');
  if (tableText !== '') {
    const entries = (JSON.parse(tableText) as { nftables: Array<{ rule?: { comment?: string } }> }).nftables;
    rules = entries.map((entry) => entry.rule?.comment ?? '').filter((comment) => comment.startsWith('berth container='));
  }
  const statePath = join(host.options.stateDir, 'network', 'berth0.json');
  const records = existsSync(statePath) ? Object.keys((JSON.parse(readFileSync(statePath, 'utf8')) as { containers: object }).containers) : [];
  const netnsDir = join(host.options.runDir, 'netns');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => point.startsWith(host.root));
  return {
    veths: links.filter((link) => link.ifalias?.startsWith('berth container=') || link.ifname.startsWith('bth')).map((link) => link.ifname),
    rules,
    records,
    netnsFiles: existsSync(netnsDir) ? readdirSync(netnsDir) : [],
    mounts,
  };
}

async function assertNoLeftovers(host: TestHost): Promise<void> {
  assert.deepEqual(await findLeftovers(host), { veths: [], rules: [], records: [], netnsFiles: [], mounts: [] });
}

/** Unmounts anything left under a test root, in case a test failed between setup and teardown. */
async function unmountUnder(root: string): Promise<void> {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => point.startsWith(root));
  for (const point of points.reverse()) {
    await new Promise<void>((resolve) => execFile('umount', [point], () => resolve()));
  }
}

describe('HostNetwork in simulated hosts', function () {
  this.timeout(120_000);
  let lab: NetnsLab | undefined;
  let hostA: TestHost;
  let hostB: TestHost;
  const processes: NetnsProcess[] = [];
  const roots: string[] = [];

  function makeHost(labHost: LabHost): TestHost {
    const root = mkdtempSync(join(tmpdir(), 'berth-network-'));
    roots.push(root);
    const resolvConf = join(root, 'host-resolv.conf');
    writeFileSync(resolvConf, 'nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch lab.example\n');
    const options: HostNetworkOptions = {
      stateDir: join(root, 'state'),
      runDir: join(root, 'run'),
      subnet: CONTAINER_SUBNET,
      hostResolvConfPath: resolvConf,
    };
    return { lab: labHost, options, root };
  }

  function track(process: NetnsProcess): NetnsProcess {
    processes.push(process);
    return process;
  }

  before(async function () {
    lab = await createNetnsLab(2);
    const [a, b] = lab.hosts;
    assert.ok(a, 'lab has host 1');
    assert.ok(b, 'lab has host 2');
    hostA = makeHost(a);
    hostB = makeHost(b);
  });

  // Each test starts from a clean host even when the previous one failed before its teardown.
  afterEach(async function () {
    for (const process of processes.splice(0)) await process.stop();
    for (const host of [hostA, hostB]) await expectOk(host, { op: 'collectGarbage', liveContainerIds: [] });
  });

  after(async function () {
    const failures: string[] = [];
    for (const host of [hostA, hostB].filter(Boolean)) {
      await drive(host, { op: 'collectGarbage', liveContainerIds: [] }).catch((error: Error) => failures.push(error.message));
      await drive(host, { op: 'removeBridge' }).catch((error: Error) => failures.push(error.message));
    }
    for (const root of roots) {
      await unmountUnder(root);
      rmSync(root, { recursive: true, force: true });
    }
    await lab?.destroy().catch((error: Error) => failures.push(error.message));
    assert.deepEqual(failures, [], 'cleanup failed');
  });

  it('connects two containers on one host by address', async function () {
    const one = await setup(hostA, 'one');
    const two = await setup(hostA, 'two');
    assert.ok(one.address, 'container one has an address');
    assert.ok(one.netnsPath, 'container one has a namespace');
    assert.ok(two.address, 'container two has an address');
    assert.ok(two.netnsPath, 'container two has a namespace');
    assert.notEqual(one.address, two.address);
    assert.equal(one.gateway, '10.99.0.1');
    track(serve(two.netnsPath, join(hostA.root, 'www-two'), 'two'));

    assert.equal(await fetchIn(one.netnsPath, `http://${two.address}:${HTTP_PORT}/`), 'hello from two\n');
    assert.match(readFileSync(one.etcFiles.hosts, 'utf8'), new RegExp(`^${one.address.replace(/\./g, '\\.')}\\tone$`, 'm'));
    assert.equal(readFileSync(one.etcFiles.hostname, 'utf8'), 'one\n');
    assert.equal(readFileSync(one.etcFiles.resolvConf, 'utf8'), 'search lab.example\nnameserver 192.0.2.53\n');

    await expectOk(hostA, { op: 'teardown', containerId: 'one' });
    await expectOk(hostA, { op: 'teardown', containerId: 'two' });
    await assertNoLeftovers(hostA);
  });

  it('lets a container reach a server on another host', async function () {
    const client = await setup(hostA, 'client');
    assert.ok(client.netnsPath);
    const server = track(serve(hostB.lab.netnsPath, join(hostB.root, 'www-b'), 'host b', 8081));

    assert.equal(await fetchIn(client.netnsPath, `http://${hostB.lab.address}:8081/`), 'hello from host b\n');
    // Outbound traffic is masqueraded, so host B logs host A's LAN address as the client.
    assert.match(server.output(), new RegExp(hostA.lab.address.replace(/\./g, '\\.')));

    await expectOk(hostA, { op: 'teardown', containerId: 'client' });
    await assertNoLeftovers(hostA);
  });

  it('answers a published port from another host and from loopback', async function () {
    const web = await setup(hostA, 'web', [tcp(18080)]);
    assert.ok(web.netnsPath);
    track(serve(web.netnsPath, join(hostA.root, 'www-web'), 'web'));

    assert.equal(await fetchIn(hostB.lab.netnsPath, `http://${hostA.lab.address}:18080/`), 'hello from web\n');
    assert.equal(await fetchIn(hostA.lab.netnsPath, 'http://127.0.0.1:18080/'), 'hello from web\n');
    assert.equal(await fetchIn(hostA.lab.netnsPath, `http://${hostA.lab.address}:18080/`), 'hello from web\n');
    const peer = await setup(hostA, 'peer');
    assert.ok(peer.netnsPath);
    assert.equal(await fetchIn(peer.netnsPath, `http://${hostA.lab.address}:18080/`), 'hello from web\n', 'through the host address');
    assert.equal(await fetchIn(web.netnsPath, `http://${hostA.lab.address}:18080/`), 'hello from web\n', 'to its own published port');
    await expectOk(hostA, { op: 'teardown', containerId: 'peer' });

    await expectOk(hostA, { op: 'teardown', containerId: 'web' });
    await assertNoLeftovers(hostA);
    await assert.rejects(fetchOnce(hostB.lab.netnsPath, `http://${hostA.lab.address}:18080/`));
  });

  it('publishes a port bound to one host address only', async function () {
    const pinned = await setup(hostA, 'pinned', [tcp(18081, HTTP_PORT, '127.0.0.1')]);
    assert.ok(pinned.netnsPath);
    track(serve(pinned.netnsPath, join(hostA.root, 'www-pinned'), 'pinned'));

    assert.equal(await fetchIn(hostA.lab.netnsPath, 'http://127.0.0.1:18081/'), 'hello from pinned\n');
    await assert.rejects(fetchOnce(hostB.lab.netnsPath, `http://${hostA.lab.address}:18081/`));

    await expectOk(hostA, { op: 'teardown', containerId: 'pinned' });
    await assertNoLeftovers(hostA);
  });

  it('publishes a UDP port', async function () {
    const dns = await setup(hostA, 'dns', [{ hostIp: '', hostPort: 15353, containerPort: 5353, protocol: 'udp' }]);
    assert.ok(dns.netnsPath);
    track(startIn(dns.netnsPath, process.execPath, ['-e', UDP_ECHO_SERVER]));

    assert.equal(await udpRequest(hostB.lab.netnsPath, hostA.lab.address, 15353, 'ping', UDP_CLIENT_PORT), 'pong:ping');
    assert.equal(await udpRequest(hostA.lab.netnsPath, '127.0.0.1', 15353, 'local'), 'pong:local');
    await expectOk(hostA, { op: 'teardown', containerId: 'dns' });

    // The same client flow must reach the successor, not the deleted container's address.
    const successor = await setup(hostA, 'dns-2', [{ hostIp: '', hostPort: 15353, containerPort: 5353, protocol: 'udp' }]);
    assert.ok(successor.netnsPath);
    assert.notEqual(successor.address, dns.address);
    track(startIn(successor.netnsPath, process.execPath, ['-e', UDP_ECHO_SERVER]));
    assert.equal(await udpRequest(hostB.lab.netnsPath, hostA.lab.address, 15353, 'again', UDP_CLIENT_PORT), 'pong:again');

    await expectOk(hostA, { op: 'teardown', containerId: 'dns-2' });
    await assertNoLeftovers(hostA);
  });

  it('rejects a host port published by another container', async function () {
    await setup(hostA, 'first', [tcp(18082)]);

    const second = await drive(hostA, { op: 'setup', containerId: 'second', request: { mode: 'bridge', publishPorts: [tcp(18082, 9090)] } });
    assert.equal(second.ok, false);
    assert.equal(second.ok ? '' : second.error.name, 'PortInUseError');
    assert.match(second.ok ? '' : second.error.message, /host port 18082\/tcp is already in use by container first/);
    const found = await findLeftovers(hostA);
    assert.deepEqual(found.records, ['first'], 'the rejected container left no record');

    await expectOk(hostA, { op: 'teardown', containerId: 'first' });
    await assertNoLeftovers(hostA);
  });

  it('rejects a host port a process listens on', async function () {
    track(serve(hostA.lab.netnsPath, join(hostA.root, 'www-host'), 'host', 18083));
    await fetchIn(hostA.lab.netnsPath, 'http://127.0.0.1:18083/');

    const blocked = await drive(hostA, { op: 'setup', containerId: 'blocked', request: { mode: 'bridge', publishPorts: [tcp(18083)] } });
    assert.equal(blocked.ok ? '' : blocked.error.name, 'PortInUseError');
    assert.match(blocked.ok ? '' : blocked.error.message, /host port 18083\/tcp is already in use by process busybox \(pid \d+\)/);
    await assertNoLeftovers(hostA);
  });

  it('gives a none-mode container loopback only', async function () {
    const isolated = await setup(hostA, 'isolated', [], 'none');
    assert.ok(isolated.netnsPath);
    assert.equal(isolated.address, undefined);
    const links = JSON.parse(await runIn(isolated.netnsPath, 'ip', ['-j', 'link', 'show'])) as Array<{ ifname: string; operstate: string }>;
    assert.deepEqual(links.map((link) => link.ifname), ['lo']);

    await expectOk(hostA, { op: 'teardown', containerId: 'isolated' });
    await assertNoLeftovers(hostA);
  });

  it('leaves a host-mode container in the host namespace', async function () {
    const agent = await setup(hostA, 'agent', [], 'host');
    assert.equal(agent.netnsPath, undefined);
    assert.equal(agent.address, undefined);
    assert.match(readFileSync(agent.etcFiles.hosts, 'utf8'), /^127\.0\.1\.1\tagent$/m);
    assert.equal(readFileSync(agent.etcFiles.resolvConf, 'utf8'), readFileSync(hostA.options.hostResolvConfPath as string, 'utf8'));

    const published = await drive(hostA, { op: 'setup', containerId: 'agent-2', request: { mode: 'host', publishPorts: [tcp(18089)] } });
    assert.match(published.ok ? '' : published.error.message, /PublishPort= needs Network=bridge/);

    await expectOk(hostA, { op: 'teardown', containerId: 'agent' });
    assert.equal(existsSync(agent.etcFiles.hosts), false);
    await assertNoLeftovers(hostA);
  });

  it('collects leftovers of a crash and keeps live containers', async function () {
    const survivor = await setup(hostA, 'survivor', [tcp(18084)]);
    await setup(hostA, 'lost', [tcp(18085)]);
    const steps: SetupStep[] = ['veth', 'addresses', 'rules'];
    for (const [index, step] of steps.entries()) {
      const request = { mode: 'bridge' as const, publishPorts: [tcp(18090 + index)] };
      const crashed = await drive(hostA, { op: 'setup', containerId: `crashed-${step}`, request, crashAfterStep: step });
      assert.equal(crashed.signal, 'SIGKILL', `driver crashed after step ${step}`);
    }
    const before = await findLeftovers(hostA);
    assert.equal(before.veths.length, 5, 'each crashed setup left its veth behind');

    const report = (await expectOk(hostA, { op: 'collectGarbage', liveContainerIds: ['survivor'] })) as { records: string[] };
    assert.deepEqual([...report.records].sort(), ['crashed-addresses', 'crashed-rules', 'crashed-veth', 'lost']);

    const after = await findLeftovers(hostA);
    assert.deepEqual(after.records, ['survivor']);
    assert.deepEqual(after.veths, [survivor.hostInterface]);
    assert.deepEqual(after.rules, ['berth container=survivor publish=18084/tcp', 'berth container=survivor publish=18084/tcp']);
    assert.deepEqual(after.netnsFiles, ['survivor']);

    assert.ok(survivor.netnsPath);
    track(serve(survivor.netnsPath, join(hostA.root, 'www-survivor'), 'survivor'));
    assert.equal(await fetchIn(hostB.lab.netnsPath, `http://${hostA.lab.address}:18084/`), 'hello from survivor\n');
    const next = await setup(hostA, 'next');
    assert.notEqual(next.address, survivor.address, 'a restarted agent does not hand out a live address');

    await expectOk(hostA, { op: 'teardown', containerId: 'survivor' });
    await expectOk(hostA, { op: 'teardown', containerId: 'next' });
    await assertNoLeftovers(hostA);
  });

  it('collects a veth and namespace whose record was lost', async function () {
    await setup(hostA, 'orphan', [tcp(18087)]);
    rmSync(join(hostA.options.stateDir, 'network', 'berth0.json'));
    assert.equal((await findLeftovers(hostA)).veths.length, 1);

    const report = (await expectOk(hostA, { op: 'collectGarbage', liveContainerIds: [] })) as { rules: string[]; veths: string[]; netnsFiles: string[] };
    assert.deepEqual(report.rules, ['orphan']);
    assert.deepEqual(report.veths, ['orphan']);
    assert.deepEqual(report.netnsFiles, ['orphan']);
    await assertNoLeftovers(hostA);
  });

  it('reuses an id whose record was lost', async function () {
    await setup(hostA, 'reused');
    rmSync(join(hostA.options.stateDir, 'network', 'berth0.json'));

    const again = await setup(hostA, 'reused');
    assert.ok(again.netnsPath);
    const links = JSON.parse(await runIn(again.netnsPath, 'ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>;
    assert.deepEqual(links.map((link) => link.ifname).sort(), ['eth0', 'lo']);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4] === again.netnsPath);
    assert.equal(mounts.length, 1, 'one namespace bound on the file');

    await expectOk(hostA, { op: 'teardown', containerId: 'reused' });
    await assertNoLeftovers(hostA);
  });
});
