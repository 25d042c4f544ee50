import assert from 'node:assert/strict';
import { InvalidNetworkRequestError } from './errors';
import { cidrsOverlap, formatIpv4, parseCidr, parseIpv4, parseRouteDestination, usableRange } from './ipv4';

describe('ipv4', function () {
  describe('parseIpv4', function () {
    const cases: Array<[string, number | undefined]> = [
      ['0.0.0.0', 0],
      ['10.99.0.1', 0x0a630001],
      ['255.255.255.255', 0xffffffff],
      ['256.0.0.1', undefined],
      ['10.0.0', undefined],
      ['10.0.0.01', undefined],
      ['::1', undefined],
      ['', undefined],
    ];
    for (const [text, expected] of cases) {
      it(`parses "${text}"`, function () {
        assert.equal(parseIpv4(text), expected);
      });
    }
  });

  it('formats addresses with the high octet first', function () {
    assert.equal(formatIpv4(0xc0000201), '192.0.2.1');
    assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
  });

  describe('parseCidr', function () {
    const valid: Array<[string, string, number]> = [
      ['10.99.0.0/16', '10.99.0.0/16', 16],
      ['192.0.2.0/24', '192.0.2.0/24', 24],
      ['10.0.0.0/8', '10.0.0.0/8', 8],
      ['10.0.0.4/30', '10.0.0.4/30', 30],
    ];
    for (const [text, canonical, prefixLength] of valid) {
      it(`accepts ${text}`, function () {
        const cidr = parseCidr(text);
        assert.equal(cidr.text, canonical);
        assert.equal(cidr.prefixLength, prefixLength);
      });
    }

    const invalid: Array<[string, RegExp]> = [
      ['10.99.0.1/16', /host bits are set; did you mean 10\.99\.0\.0\/16/],
      ['10.99.0.0', /expected IPv4 CIDR/],
      ['10.99.0.0/33', /prefix length must be between/],
      ['10.0.0.0/31', /prefix length must be between/],
      ['0.0.0.0/0', /prefix length must be between/],
      ['10.99.0.0/16/1', /expected IPv4 CIDR/],
      ['fd00::/64', /expected IPv4 CIDR/],
    ];
    for (const [text, message] of invalid) {
      it(`rejects ${text}`, function () {
        assert.throws(() => parseCidr(text), (error: unknown) => error instanceof InvalidNetworkRequestError && message.test(error.message));
      });
    }
  });

  it('usable range excludes network and broadcast', function () {
    const { first, last } = usableRange(parseCidr('10.99.0.0/24'));
    assert.equal(formatIpv4(first), '10.99.0.1');
    assert.equal(formatIpv4(last), '10.99.0.254');
  });

  describe('cidrsOverlap', function () {
    const cases: Array<[string, string, boolean]> = [
      ['10.99.0.0/16', '10.99.3.0/24', true],
      ['10.99.3.0/24', '10.99.0.0/16', true],
      ['10.99.0.0/16', '10.98.0.0/16', false],
      ['10.0.0.0/8', '10.255.255.0/24', true],
      ['192.0.2.0/24', '192.0.3.0/24', false],
    ];
    for (const [a, b, expected] of cases) {
      it(`${a} and ${b} ${expected ? 'overlap' : 'are apart'}`, function () {
        assert.equal(cidrsOverlap(parseCidr(a), parseCidr(b)), expected);
      });
    }
  });

  describe('parseRouteDestination', function () {
    const cases: Array<[string, string | undefined]> = [
      ['192.0.2.7', '192.0.2.7/32'],
      ['192.0.2.0/24', '192.0.2.0/24'],
      ['192.0.2.9/24', '192.0.2.0/24'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['192.0.2.0/', undefined],
      ['default', undefined],
    ];
    for (const [text, expected] of cases) {
      it(`parses route "${text}"`, function () {
        assert.equal(parseRouteDestination(text)?.text, expected);
      });
    }
  });
});
