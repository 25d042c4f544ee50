import { strict as assert } from 'node:assert';
import { HostileLayerError } from './errors';
import { parsePaxRecords } from './pax-records';
import { paxRecord } from './testing/fixtures';

describe('parsePaxRecords', () => {
  const valid: { name: string; body: Buffer; records: [string, string][] }[] = [
    { name: 'text records', body: Buffer.concat([paxRecord('path', 'a/b/c.d'), paxRecord('mtime', '1.25')]), records: [['path', '612f622f632e64'], ['mtime', '312e3235']] },
    // A value may contain NUL, newline and non-UTF-8 bytes. Only the length prefix delimits it.
    { name: 'binary value with NUL, newline and 0x80', body: paxRecord('SCHILY.xattr.user.b', Buffer.from([0x00, 0x0a, 0x80])), records: [['SCHILY.xattr.user.b', '000a80']] },
    { name: 'value containing "="', body: Buffer.from('8 k=a=b\n'), records: [['k', '613d62']] },
    { name: 'empty value', body: Buffer.from('5 k=\n'), records: [['k', '']] },
    { name: 'a length of two digits', body: paxRecord('key', 'abc'), records: [['key', '616263']] },
    { name: 'NUL padding after the last record', body: Buffer.concat([paxRecord('k', 'ab'), Buffer.alloc(10)]), records: [['k', '6162']] },
  ];

  for (const testCase of valid) {
    it(`parses ${testCase.name}`, () => {
      const records = parsePaxRecords(testCase.body, 'test');
      assert.deepEqual([...records].map(([key, value]) => [key, value.toString('hex')]), testCase.records);
    });
  }

  const malformed: { name: string; body: string }[] = [
    { name: 'length past the end', body: '99 k=v\n' },
    { name: 'length shorter than the key', body: '3 k=v\n' },
    { name: 'record not ending in newline', body: '6 k=vv ' },
    { name: 'non-decimal length', body: 'x6 k=v\n' },
    { name: 'leading zero length', body: '06 k=v\n' },
    { name: 'record without "="', body: '6 kvv\n\n' },
  ];
  for (const testCase of malformed) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(() => parsePaxRecords(Buffer.from(testCase.body), 'layer L'), (error: Error) => error instanceof HostileLayerError && /^layer L: /.test(error.message));
    });
  }
});
