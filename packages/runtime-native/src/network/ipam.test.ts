import assert from 'node:assert/strict';
import { AddressPoolExhaustedError, InvalidNetworkRequestError } from './errors';
import { allocateAddress, resolveGateway } from './ipam';
import { parseCidr } from './ipv4';

describe('allocateAddress', function () {
  const subnet = parseCidr('10.99.0.0/29'); // usable .1 to .6, gateway .1
  const gateway = '10.99.0.1';
  const cases: Array<{ name: string; used: string[]; last?: string; expected: string }> = [
    { name: 'first address after the gateway', used: [], expected: '10.99.0.2' },
    { name: 'skips used addresses', used: ['10.99.0.2', '10.99.0.3'], expected: '10.99.0.4' },
    { name: 'continues after the last one handed out', used: ['10.99.0.2'], last: '10.99.0.4', expected: '10.99.0.5' },
    { name: 'does not reuse a freed address at once', used: [], last: '10.99.0.2', expected: '10.99.0.3' },
    { name: 'wraps around past the end', used: ['10.99.0.3'], last: '10.99.0.6', expected: '10.99.0.2' },
    { name: 'ignores a last address outside the subnet', used: [], last: '10.98.0.5', expected: '10.99.0.2' },
    { name: 'never hands out the gateway', used: ['10.99.0.2', '10.99.0.3', '10.99.0.4', '10.99.0.5'], expected: '10.99.0.6' },
  ];
  for (const testCase of cases) {
    it(testCase.name, function () {
      assert.equal(allocateAddress(subnet, gateway, testCase.used, testCase.last), testCase.expected);
    });
  }

  it('throws when the pool is exhausted', function () {
    const used = ['10.99.0.2', '10.99.0.3', '10.99.0.4', '10.99.0.5', '10.99.0.6'];
    assert.throws(() => allocateAddress(subnet, gateway, used), AddressPoolExhaustedError);
  });
});

describe('resolveGateway', function () {
  const subnet = parseCidr('10.99.0.0/24');

  it('defaults to the first usable address', function () {
    assert.equal(resolveGateway(subnet), '10.99.0.1');
  });

  it('accepts an address inside the subnet', function () {
    assert.equal(resolveGateway(subnet, '10.99.0.254'), '10.99.0.254');
  });

  for (const bad of ['10.99.0.0', '10.99.0.255', '10.98.0.1', 'gateway']) {
    it(`rejects ${bad}`, function () {
      assert.throws(() => resolveGateway(subnet, bad), InvalidNetworkRequestError);
    });
  }
});
