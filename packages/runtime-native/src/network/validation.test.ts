import assert from 'node:assert/strict';
import { InvalidNetworkRequestError, NetworkNotSupportedError } from './errors';
import { PublishedPortSpec } from './types';
import {
  describePublishedPort, hostnameFromContainerId, publishedPortsClash, validateBridgeName, validateContainerId,
  validateHostname, validateMode, validatePublishPorts,
} from './validation';

function port(hostPort: number, options: Partial<PublishedPortSpec> = {}): PublishedPortSpec {
  return { hostIp: '', hostPort, containerPort: 80, protocol: 'tcp', ...options };
}

function rejects(run: () => void, message: RegExp): void {
  assert.throws(run, (error: unknown) => error instanceof InvalidNetworkRequestError && message.test(error.message));
}

describe('network request validation', function () {
  describe('container ids', function () {
    for (const id of ['web', 'web@3.service', 'a1b2c3', 'app_1:blue-2', 'x'.repeat(64)]) {
      it(`accepts "${id.slice(0, 20)}"`, function () {
        validateContainerId(id);
      });
    }
    for (const id of ['', '-web', '.hidden', '../etc', 'web service', 'web"x', 'x'.repeat(65), 'a/b']) {
      it(`rejects "${id.slice(0, 20)}"`, function () {
        rejects(() => validateContainerId(id), /invalid container id/);
      });
    }
  });

  describe('bridge names', function () {
    it('accepts berth0', function () {
      validateBridgeName('berth0');
    });
    for (const name of ['', 'a-bridge-name-too-long', 'br 0', 'br/0']) {
      it(`rejects "${name}"`, function () {
        rejects(() => validateBridgeName(name), /invalid bridge name/);
      });
    }
  });

  it('rejects an unknown mode', function () {
    rejects(() => validateMode('macvlan'), /expected one of bridge, host, none/);
  });

  describe('hostnames', function () {
    for (const name of ['web', 'web-1', 'web.example.org', 'a'.repeat(63)]) {
      it(`accepts "${name.slice(0, 20)}"`, function () {
        validateHostname(name);
      });
    }
    for (const name of ['', '-web', 'web-', 'web_1', 'a'.repeat(64), 'web..org']) {
      it(`rejects "${name.slice(0, 20)}"`, function () {
        rejects(() => validateHostname(name), /invalid hostname/);
      });
    }
  });

  describe('hostnameFromContainerId', function () {
    const cases: Array<[string, string]> = [
      ['web', 'web'],
      ['web@3.service', 'web-3-service'],
      ['_x_', 'x'],
      ['___', 'container'],
      ['a'.repeat(70), 'a'.repeat(63)],
    ];
    for (const [id, expected] of cases) {
      it(`derives "${expected.slice(0, 20)}" from "${id.slice(0, 20)}"`, function () {
        assert.equal(hostnameFromContainerId(id), expected);
        validateHostname(hostnameFromContainerId(id));
      });
    }
  });

  describe('published ports', function () {
    it('accepts distinct ports and protocols', function () {
      validatePublishPorts([port(8080), port(8080, { protocol: 'udp' }), port(8443, { hostIp: '192.0.2.1' })]);
    });

    const invalid: Array<[string, PublishedPortSpec[], RegExp]> = [
      ['port zero', [port(0)], /ports must be integers from 1 to 65535/],
      ['port above 65535', [port(70000)], /ports must be integers/],
      ['fractional port', [port(80.5)], /ports must be integers/],
      ['unknown protocol', [port(80, { protocol: 'sctp' as 'tcp' })], /protocol must be tcp or udp/],
      ['malformed host address', [port(80, { hostIp: '192.0.2' })], /host address must be an IPv4 address/],
      ['same port twice', [port(80), port(80, { containerPort: 81 })], /already claimed by PublishPort=80:80\/tcp/],
      ['wildcard and pinned', [port(80, { hostIp: '192.0.2.1' }), port(80)], /already claimed/],
    ];
    it('rejects an IPv6 host address as not supported', function () {
      assert.throws(() => validatePublishPorts([port(80, { hostIp: '::1' })]), (error: unknown) => error instanceof NetworkNotSupportedError && /IPv6 host address is not supported/.test(error.message));
    });

    for (const [name, ports, message] of invalid) {
      it(`rejects ${name}`, function () {
        rejects(() => validatePublishPorts(ports), message);
      });
    }
  });

  describe('publishedPortsClash', function () {
    const cases: Array<[string, PublishedPortSpec, PublishedPortSpec, boolean]> = [
      ['same wildcard port', port(80), port(80), true],
      ['other protocol', port(80), port(80, { protocol: 'udp' }), false],
      ['other port', port(80), port(81), false],
      ['wildcard against pinned', port(80), port(80, { hostIp: '192.0.2.1' }), true],
      ['two different pinned addresses', port(80, { hostIp: '192.0.2.1' }), port(80, { hostIp: '192.0.2.2' }), false],
      ['same pinned address', port(80, { hostIp: '192.0.2.1' }), port(80, { hostIp: '192.0.2.1' }), true],
    ];
    for (const [name, a, b, expected] of cases) {
      it(name, function () {
        assert.equal(publishedPortsClash(a, b), expected);
      });
    }
  });

  it('describes a port the way a unit file writes it', function () {
    assert.equal(describePublishedPort(port(8080, { hostIp: '127.0.0.1', protocol: 'udp' })), '127.0.0.1:8080:80/udp');
  });
});
