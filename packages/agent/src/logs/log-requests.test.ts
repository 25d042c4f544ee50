import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogChunkMessage, LogRequests } from './log-requests';
import { UnitLogWriter } from './unit-log';

describe('LogRequests', () => {
  let dir: string;
  let chunks: LogChunkMessage[];
  let requests: LogRequests;
  let streamUp: boolean;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-agent-logreq-'));
    chunks = [];
    streamUp = true;
    requests = new LogRequests(dir, (chunk) => {
      if (streamUp) chunks.push(chunk);
      return streamUp;
    });
  });
  afterEach(() => {
    requests.cancelAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeLines(count: number, from = 0): UnitLogWriter {
    const writer = new UnitLogWriter({ dir: join(dir, 'web.service'), maxBytes: 1024 * 1024, maxFiles: 1 });
    for (let index = from; index < from + count; index++) writer.append('stdout', `line ${index}\n`);
    return writer;
  }

  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it('answers an unknown unit with an error', () => {
    requests.handle({ requestId: 'r1', unit: 'ghost.service', lines: 10, follow: false });
    assert.deepEqual(chunks, [{ requestId: 'r1', lines: [], eof: true, error: 'no journal for unit "ghost.service" on this machine' }]);
  });

  it('rejects a unit name that leaves the log directory', () => {
    requests.handle({ requestId: 'r1', unit: '../state', lines: 10, follow: false });
    assert.match(chunks[0].error, /no journal/);
  });

  it('sends the last lines in chunks ending with eof', () => {
    writeLines(1200).close();
    requests.handle({ requestId: 'r2', unit: 'web.service', lines: 1100, follow: false });
    assert.deepEqual(chunks.map((chunk) => [chunk.lines.length, chunk.eof]), [[500, false], [500, false], [100, true]]);
    assert.match(chunks[2].lines[99], / stdout line 1199$/);
  });

  it('follows until cancelled', async () => {
    const writer = writeLines(2);
    requests.handle({ requestId: 'r3', unit: 'web.service', lines: 1, follow: true });
    writer.append('stdout', 'new line\n');
    await until(() => chunks.some((chunk) => chunk.lines.some((line) => line.endsWith('new line'))));
    requests.cancel('r3');
    writer.close();
    assert.equal(chunks[0].eof, false);
    assert.ok(chunks.some((chunk) => chunk.lines.some((line) => line.endsWith('new line'))));
    assert.deepEqual(chunks[chunks.length - 1], { requestId: 'r3', lines: [], eof: true, error: '' });
  });

  it('ends a follow when the stream is down', async () => {
    const writer = writeLines(1);
    requests.handle({ requestId: 'r4', unit: 'web.service', lines: 0, follow: true });
    streamUp = false;
    writer.append('stdout', 'lost\n');
    await new Promise((resolve) => setTimeout(resolve, 600));
    streamUp = true;
    writer.append('stdout', 'after\n');
    await new Promise((resolve) => setTimeout(resolve, 600));
    writer.close();
    assert.equal(chunks.some((chunk) => chunk.lines.some((line) => line.endsWith('after'))), false);
  });
});
