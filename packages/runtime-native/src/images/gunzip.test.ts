import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants, gzipSync } from 'node:zlib';
import { gunzip } from './gunzip';

/** Text-like data that compresses about 3:1, as layer contents do. */
function sampleData(bytes: number): Buffer {
  const words = ['layer', 'snapshot', 'overlay', 'digest', 'manifest', 'registry', '\n', ' ', '/usr/lib/'];
  const parts: string[] = [];
  let length = 0;
  for (let index = 0; length < bytes; index++) {
    const word = words[(index * 7 + (index >> 3)) % words.length]! + (index % 97).toString(16);
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Splits `data` into chunks of `size` bytes, as a network read would deliver it. */
async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function inflateAll(data: Buffer, chunkBytes: number, bufferBytes = 256 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of gunzip(chunked(data, chunkBytes), bufferBytes)) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

const FLAG_HEADER_CRC = 0x02;
const FLAG_EXTRA = 0x04;
const FLAG_NAME = 0x08;
const FLAG_COMMENT = 0x10;

/**
 * Builds a gzip member whose header carries the optional fields that `flags` selects (RFC 1952,
 * section 2.3). zlib writes none of them, gzip(1) writes FNAME, and other tools may write the rest.
 */
function gzipWithHeaderFields(payload: Buffer, flags: number, corruptHeaderCrc = false): Buffer {
  const plain = gzipSync(payload);
  const deflated = plain.subarray(10, plain.length - 8);
  const trailer = plain.subarray(plain.length - 8);
  const parts = [Buffer.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3])];
  if (flags & FLAG_EXTRA) parts.push(Buffer.from([6, 0, 0x42, 0x42, 2, 0, 1, 2]));
  if (flags & FLAG_NAME) parts.push(Buffer.from('layer.tar\0'));
  if (flags & FLAG_COMMENT) parts.push(Buffer.from('built by a test\0'));
  let header = Buffer.concat(parts);
  if (flags & FLAG_HEADER_CRC) {
    const crc = (crc32(header) ^ (corruptHeaderCrc ? 1 : 0)) & 0xffff;
    header = Buffer.concat([header, Buffer.from([crc & 0xff, crc >> 8])]);
  }
  return Buffer.concat([header, deflated, trailer]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('gunzip (ISA-L)', () => {
  const text = sampleData(3 * 1024 * 1024 + 17);
  const noise = randomBytes(300 * 1024);

  const accepted: { name: string; input: () => Buffer; expected: () => Buffer; chunkBytes: number; bufferBytes?: number }[] = [
    { name: 'text in network-sized chunks', input: () => gzipSync(text), expected: () => text, chunkBytes: 64 * 1024 },
    { name: 'text one byte at a time', input: () => gzipSync(text.subarray(0, 200 * 1024)), expected: () => text.subarray(0, 200 * 1024), chunkBytes: 1 },
    { name: 'incompressible data stored in raw blocks', input: () => gzipSync(noise, { level: 0 }), expected: () => noise, chunkBytes: 7000 },
    { name: 'incompressible data, best compression', input: () => gzipSync(noise, { level: 9 }), expected: () => noise, chunkBytes: 65536 },
    { name: 'one chunk holding the whole blob', input: () => gzipSync(text), expected: () => text, chunkBytes: 64 * 1024 * 1024 },
    { name: 'output buffers smaller than one run', input: () => gzipSync(text), expected: () => text, chunkBytes: 65536, bufferBytes: 40 * 1024 },
    { name: 'empty payload', input: () => gzipSync(Buffer.alloc(0)), expected: () => Buffer.alloc(0), chunkBytes: 5 },
    {
      name: 'two concatenated members',
      input: () => Buffer.concat([gzipSync(text.subarray(0, 100_000)), gzipSync(noise)]),
      expected: () => Buffer.concat([text.subarray(0, 100_000), noise]),
      chunkBytes: 3333,
    },
    {
      name: 'second member starting exactly at a chunk boundary',
      input: () => Buffer.concat([gzipSync(noise.subarray(0, 1000)), gzipSync(text.subarray(0, 1000))]),
      expected: () => Buffer.concat([noise.subarray(0, 1000), text.subarray(0, 1000)]),
      chunkBytes: gzipSync(noise.subarray(0, 1000)).length,
    },
    { name: 'zlib with Z_FULL_FLUSH points', input: () => gzipSync(text, { flush: constants.Z_FULL_FLUSH }), expected: () => text, chunkBytes: 4096 },
  ];
  const headerFields: [string, number][] = [
    ['a header CRC', FLAG_HEADER_CRC],
    ['an extra field', FLAG_EXTRA],
    ['a file name', FLAG_NAME],
    ['a comment', FLAG_COMMENT],
    ['every optional field', FLAG_HEADER_CRC | FLAG_EXTRA | FLAG_NAME | FLAG_COMMENT],
  ];
  for (const [fields, flags] of headerFields) {
    for (const chunkBytes of [1, 11, 1024 * 1024]) {
      accepted.push({ name: `a header with ${fields}, in ${chunkBytes}-byte chunks`, input: () => gzipWithHeaderFields(text.subarray(0, 50_000), flags), expected: () => text.subarray(0, 50_000), chunkBytes });
    }
  }
  for (const testCase of accepted) {
    it(`inflates ${testCase.name} exactly as zlib does`, async () => {
      const output = await inflateAll(testCase.input(), testCase.chunkBytes, testCase.bufferBytes);
      assert.ok(output.equals(testCase.expected()), `output differs: ${output.length} bytes against ${testCase.expected().length}`);
    });
  }

  const rejected: { name: string; input: () => Buffer; message: RegExp }[] = [
    { name: 'empty input', input: () => Buffer.alloc(0), message: /unexpected end/ },
    { name: 'truncated deflate data', input: () => gzipSync(text).subarray(0, 5000), message: /unexpected end/ },
    { name: 'missing trailer', input: () => { const blob = gzipSync(text); return blob.subarray(0, blob.length - 8); }, message: /unexpected end/ },
    { name: 'wrong magic bytes', input: () => { const blob = Buffer.from(gzipSync(text)); blob[0] = 0x1e; return blob; }, message: /gzip: invalid gzip header/ },
    { name: 'unknown compression method', input: () => { const blob = Buffer.from(gzipSync(text)); blob[2] = 7; return blob; }, message: /gzip: unsupported gzip compression method/ },
    { name: 'wrong CRC-32 in the trailer', input: () => { const blob = Buffer.from(gzipSync(text)); blob[blob.length - 6] ^= 0xff; return blob; }, message: /gzip: gzip CRC-32 or length check failed/ },
    { name: 'wrong length in the trailer', input: () => { const blob = Buffer.from(gzipSync(text)); blob[blob.length - 1] ^= 0x01; return blob; }, message: /gzip: gzip CRC-32 or length check failed/ },
    { name: 'a wrong header CRC', input: () => gzipWithHeaderFields(text, FLAG_HEADER_CRC | FLAG_NAME, true), message: /gzip: gzip header CRC mismatch/ },
    { name: 'reserved header flags', input: () => { const blob = Buffer.from(gzipSync(text)); blob[3] = 0x20; return blob; }, message: /gzip: gzip header sets reserved flags/ },
    { name: 'invalid block type', input: () => { const blob = Buffer.from(gzipSync(text)); blob[10] = 0x07; return blob; }, message: /gzip: invalid deflate block/ },
    { name: 'garbage after the trailer', input: () => Buffer.concat([gzipSync(text.subarray(0, 1000)), Buffer.from('not a gzip member')]), message: /gzip: invalid gzip header/ },
    { name: 'a second header cut short', input: () => Buffer.concat([gzipSync(noise), Buffer.from([0x1f, 0x8b, 8])]), message: /unexpected end/ },
    { name: 'a second member cut short', input: () => Buffer.concat([gzipSync(noise), gzipSync(text).subarray(0, 40)]), message: /unexpected end/ },
  ];
  for (const testCase of rejected) {
    it(`rejects ${testCase.name}`, async () => {
      await assert.rejects(inflateAll(testCase.input(), 1000), testCase.message);
    });
  }

  it('never writes into a slice it already yielded', async () => {
    const yielded: { part: Buffer; copy: Buffer }[] = [];
    for await (const part of gunzip(chunked(gzipSync(text), 65536), 256 * 1024)) yielded.push({ part, copy: Buffer.from(part) });
    for (const { part, copy } of yielded) assert.ok(part.equals(copy));
    assert.ok(Buffer.concat(yielded.map(({ copy }) => copy)).equals(text));
  });

  it('stops at once when the consumer stops reading', async () => {
    let chunksRead = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of chunked(gzipSync(text), 4096)) {
        chunksRead++;
        yield chunk;
      }
    }
    for await (const part of gunzip(counted(), 64 * 1024)) {
      assert.ok(part.length > 0);
      break;
    }
    assert.ok(chunksRead < 10, `read ${chunksRead} chunks after the consumer stopped`);
  });
});
