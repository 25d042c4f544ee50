import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBerthTable, renderBridgeRules } from './nft-rules';

/** Golden files live in src/; tests run from dist/, so the path goes back to the source tree. */
const TESTDATA = join(__dirname, '..', '..', 'src', 'network', 'testdata');

describe('nft rules', function () {
  it('renders bridge chains and DNAT rules', function () {
    const script = renderBridgeRules({
      bridgeName: 'berth0',
      subnet: '10.99.0.0/16',
      containers: [
        { containerId: 'web', address: '10.99.0.2', publishPorts: [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
        { containerId: 'dns', address: '10.99.0.3', publishPorts: [{ hostIp: '192.0.2.1', hostPort: 53, containerPort: 5353, protocol: 'udp' }] },
        { containerId: 'quiet', address: '10.99.0.4', publishPorts: [] },
      ],
    });
    assert.equal(script, readFileSync(join(TESTDATA, 'bridge-rules.nft'), 'utf8'));
  });

  it('renders only bridge rules without containers', function () {
    const script = renderBridgeRules({ bridgeName: 'berth0', subnet: '10.99.0.0/16', containers: [] });
    assert.doesNotMatch(script, /dnat to/);
    assert.match(script, /masquerade/);
  });

  // berth-table.json is `nft -j list table ip berth` (nftables 1.0.6) after applying bridge-rules.nft.
  it('reads chains and published ports back from nft JSON', function () {
    const table = parseBerthTable(readFileSync(join(TESTDATA, 'berth-table.json'), 'utf8'));
    assert.deepEqual(table.chains, ['guard-berth0', 'pre-berth0', 'out-berth0', 'post-berth0']);
    assert.deepEqual(table.published, [
      { chain: 'pre-berth0', containerId: 'web', hostPort: 8080, protocol: 'tcp', hostIp: '' },
      { chain: 'pre-berth0', containerId: 'dns', hostPort: 53, protocol: 'udp', hostIp: '192.0.2.1' },
      { chain: 'out-berth0', containerId: 'web', hostPort: 8080, protocol: 'tcp', hostIp: '' },
      { chain: 'out-berth0', containerId: 'dns', hostPort: 53, protocol: 'udp', hostIp: '192.0.2.1' },
    ]);
  });

  it('rejects output that is not nft JSON', function () {
    assert.throws(() => parseBerthTable('table ip berth {}'), /output is not nft JSON/);
  });
});
