import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFollower } from './log-follower';
import { journalFiles, readLastLines, UnitLogWriter } from './unit-log';

const FIXED_TIME = new Date('2026-12-04T21:00:00.000Z');

describe('unit log', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-agent-log-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('timestamps complete lines per stream', () => {
    const writer = new UnitLogWriter({ dir, maxBytes: 1024, maxFiles: 2, now: () => FIXED_TIME });
    writer.append('stdout', 'hel');
    writer.append('stderr', 'oops\n');
    writer.append('stdout', 'lo\nwor');
    writer.close();
    assert.equal(
      readFileSync(join(dir, 'current.log'), 'utf8'),
      '2026-12-04T21:00:00.000Z stderr oops\n2026-12-04T21:00:00.000Z stdout hello\n2026-12-04T21:00:00.000Z stdout wor\n',
    );
  });

  it('rotates at the size cap and keeps maxFiles', () => {
    const writer = new UnitLogWriter({ dir, maxBytes: 100, maxFiles: 2, now: () => FIXED_TIME });
    for (let index = 0; index < 20; index++) writer.append('stdout', `line ${index}\n`);
    writer.close();
    assert.deepEqual(readdirSync(dir).sort(), ['current.log', 'current.log.1', 'current.log.2']);
    for (const file of journalFiles(dir)) assert.ok(readFileSync(file).length <= 100, `${file} is above the cap`);
    const last = readLastLines(dir, 5).map((line) => line.split(' ').slice(2).join(' '));
    assert.deepEqual(last, ['line 15', 'line 16', 'line 17', 'line 18', 'line 19']);
  });

  it('reads last lines across rotated files', () => {
    const writer = new UnitLogWriter({ dir, maxBytes: 120, maxFiles: 5, now: () => FIXED_TIME });
    for (let index = 0; index < 10; index++) writer.append('stdout', `n${index}\n`);
    writer.close();
    assert.ok(journalFiles(dir).length > 1);
    assert.deepEqual(readLastLines(dir, 4).map((line) => line.slice(-2)), ['n6', 'n7', 'n8', 'n9']);
    assert.equal(readLastLines(dir, 100).length, 10);
    assert.deepEqual(readLastLines(dir, 0), []);
  });

  it('splits a runaway line', () => {
    const writer = new UnitLogWriter({ dir, maxBytes: 1024 * 1024, maxFiles: 1, now: () => FIXED_TIME });
    writer.append('stdout', 'x'.repeat(40 * 1024));
    writer.close();
    assert.equal(readLastLines(dir, 10).length, 3);
  });

  it('follows new lines through a rotation', async () => {
    const writer = new UnitLogWriter({ dir, maxBytes: 200, maxFiles: 2, now: () => FIXED_TIME });
    writer.append('stdout', 'before follow\n');
    const seen: string[] = [];
    const follower = new LogFollower(dir, (lines) => seen.push(...lines.map((line) => line.split(' ').slice(2).join(' '))));
    follower.start();
    for (let index = 0; index < 8; index++) writer.append('stdout', `after ${index}\n`);
    const deadline = Date.now() + 5000;
    while (seen.length < 8 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    follower.stop();
    writer.close();
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7].map((index) => `after ${index}`));
  });
});
