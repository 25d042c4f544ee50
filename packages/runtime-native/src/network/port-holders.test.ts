import assert from 'node:assert/strict';
import { BoundSocket, parseProcNetTable, socketCoversAddress } from './port-holders';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const TCP_TABLE = [
  TCP_HEADER,
  '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1066 1 0000000000000000 100 0 0 10 0',
  '   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0',
  '   2: 0100007F:A445 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3001 1 0000000000000000 20 4 30 10 -1',
  '   3: garbage',
  '',
].join('\n');

const TCP6_TABLE = [
  TCP_HEADER,
  '   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4001 1 0000000000000000 100 0 0 10 0',
  '   1: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4002 1 0000000000000000 100 0 0 10 0',
  '   2: B80D0120000000000000000001000000:0052 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4003 1 0000000000000000 100 0 0 10 0',
].join('\n');

const UDP_TABLE = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  '  100: 0102000A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5001 2 0000000000000000 0',
].join('\n');

describe('parseProcNetTable', function () {
  it('keeps only listening TCP sockets', function () {
    const sockets = parseProcNetTable(TCP_TABLE, 'tcp', false);
    assert.deepEqual(sockets, [
      { protocol: 'tcp', localAddress: '0.0.0.0', localPort: 8080, wildcard: true, inode: 1066 },
      { protocol: 'tcp', localAddress: '127.0.0.1', localPort: 8081, wildcard: false, inode: 2001 },
    ]);
  });

  it('decodes IPv6, wildcard and IPv4-mapped addresses', function () {
    const sockets = parseProcNetTable(TCP6_TABLE, 'tcp', true);
    assert.deepEqual(sockets.map((s) => [s.localAddress, s.localPort, s.wildcard]), [
      ['0:0:0:0:0:0:0:0', 80, true],
      ['127.0.0.1', 81, false],
      ['2001:db8:0:0:0:0:0:1', 82, false],
    ]);
  });

  it('keeps every bound UDP socket', function () {
    const sockets = parseProcNetTable(UDP_TABLE, 'udp', false);
    assert.deepEqual(sockets, [{ protocol: 'udp', localAddress: '10.0.2.1', localPort: 53, wildcard: false, inode: 5001 }]);
  });
});

describe('socketCoversAddress', function () {
  function socket(localAddress: string, wildcard = false): BoundSocket {
    return { protocol: 'tcp', localAddress, localPort: 80, wildcard, inode: 1 };
  }
  const cases: Array<[string, BoundSocket, string, boolean]> = [
    ['wildcard socket, every address', socket('0.0.0.0', true), '', true],
    ['wildcard socket, one address', socket('0.0.0.0', true), '192.0.2.1', true],
    ['IPv6 wildcard socket', socket('0:0:0:0:0:0:0:0', true), '192.0.2.1', true],
    ['loopback socket, every address', socket('127.0.0.1'), '', true],
    ['same address', socket('192.0.2.1'), '192.0.2.1', true],
    ['other address', socket('192.0.2.2'), '192.0.2.1', false],
    ['specific IPv6 socket', socket('2001:db8:0:0:0:0:0:1'), '', false],
  ];
  for (const [name, bound, hostIp, expected] of cases) {
    it(name, function () {
      assert.equal(socketCoversAddress(bound, hostIp), expected);
    });
  }
});
