import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogPump, RAW_TRUNCATE_BYTES } from './log-pump';
import { UnitLogWriter } from './unit-log';

const FIXED_TIME = new Date('2026-12-04T21:00:00.000Z');

describe('LogPump', () => {
  let dir: string;
  let paths: { stdoutPath: string; stderrPath: string; offsetsPath: string };
  let journalDir: string;
  const newPump = () => new LogPump(new UnitLogWriter({ dir: journalDir, maxBytes: 10 * RAW_TRUNCATE_BYTES, maxFiles: 1, now: () => FIXED_TIME }), paths);
  const journal = () => readFileSync(join(journalDir, 'current.log'), 'utf8');
  const openFds = () => readdirSync('/proc/self/fd').length;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-agent-pump-'));
    journalDir = join(dir, 'journal');
    paths = { stdoutPath: join(dir, 'stdout'), stderrPath: join(dir, 'stderr'), offsetsPath: join(dir, 'offsets.json') };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies new output of both streams', () => {
    writeFileSync(paths.stdoutPath, 'one\n');
    writeFileSync(paths.stderrPath, 'oops\n');
    const pump = newPump();
    assert.equal(pump.pump(), true);
    appendFileSync(paths.stdoutPath, 'two\n');
    assert.equal(pump.pump(), true);
    assert.equal(pump.pump(), false);
    pump.close();
    assert.equal(journal(), `${FIXED_TIME.toISOString()} stdout one\n${FIXED_TIME.toISOString()} stderr oops\n${FIXED_TIME.toISOString()} stdout two\n`);
  });

  it('waits for a raw file created later', () => {
    const pump = newPump();
    assert.equal(pump.pump(), false);
    writeFileSync(paths.stdoutPath, 'late\n');
    assert.equal(pump.pump(), true);
    pump.close();
    assert.equal(journal(), `${FIXED_TIME.toISOString()} stdout late\n`);
  });

  it('continues at the saved offsets', () => {
    writeFileSync(paths.stdoutPath, 'first\n');
    const before = newPump();
    before.pump();
    before.close();
    appendFileSync(paths.stdoutPath, 'second\n');
    const after = newPump();
    after.pump();
    after.close();
    assert.equal(journal(), `${FIXED_TIME.toISOString()} stdout first\n${FIXED_TIME.toISOString()} stdout second\n`);
  });

  it('starts over when the raw file is shorter than the saved offset', () => {
    writeFileSync(paths.offsetsPath, JSON.stringify({ stdout: 1000 }));
    writeFileSync(paths.stdoutPath, 'after truncation\n');
    const pump = newPump();
    pump.pump();
    pump.close();
    assert.equal(journal(), `${FIXED_TIME.toISOString()} stdout after truncation\n`);
  });

  it('empties a raw file past the truncation size', () => {
    const line = `${'x'.repeat(1023)}\n`;
    writeFileSync(paths.stdoutPath, line.repeat(RAW_TRUNCATE_BYTES / line.length));
    const pump = newPump();
    pump.pump();
    assert.equal(statSync(paths.stdoutPath).size, 0);
    appendFileSync(paths.stdoutPath, 'next\n');
    pump.pump();
    pump.close();
    const lines = journal().trimEnd().split('\n');
    assert.equal(lines.length, RAW_TRUNCATE_BYTES / line.length + 1);
    assert.equal(lines[lines.length - 1], `${FIXED_TIME.toISOString()} stdout next`);
  });

  it('closes the raw files on close', () => {
    writeFileSync(paths.stdoutPath, 'one\n');
    writeFileSync(paths.stderrPath, 'two\n');
    const before = openFds();
    const pump = newPump();
    pump.pump();
    assert.ok(openFds() > before, 'the pump keeps the raw files open between pumps');
    pump.close();
    assert.equal(openFds(), before);
  });
});
