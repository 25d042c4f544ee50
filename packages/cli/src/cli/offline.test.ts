import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { describeResult, REPO_ROOT, runBerthctl } from '../test-support/run-berthctl';

const FIXTURES = join(__dirname, '..', '..', 'test-fixtures');

describe('berthctl verify', () => {
  it('passes on the example units', async () => {
    const unitsDir = join(REPO_ROOT, 'units');
    const files = readdirSync(unitsDir)
      .filter((file) => /\.(service|socket|timer|target|path)$/.test(file))
      .map((file) => join('units', file));
    assert.ok(files.length > 0, `no example unit files in ${unitsDir}`);

    const result = await runBerthctl(['verify', ...files]);
    assert.equal(result.status, 0, describeResult(result));
    assert.doesNotMatch(result.stdout, /: error: /, describeResult(result));
  });

  // The unit-file library's fixture, and berthctl's own copy with other kinds of mistakes.
  const fiveMistakes = [
    {
      file: join(REPO_ROOT, 'packages', 'unitfile', 'test-fixtures', 'five-mistakes.service'),
      expected: [['6', '1', 'warning'], ['8', '11', 'error'], ['10', '1', 'error'], ['12', '13', 'error'], ['13', '8', 'error']],
    },
    {
      file: join(FIXTURES, 'five-mistakes.service'),
      expected: [['8', '1', 'error'], ['10', '8', 'error'], ['15', '9', 'error'], ['20', '1', 'warning'], ['22', '17', 'error']],
    },
  ];
  for (const { file, expected } of fiveMistakes) {
    it(`reports five mistakes in ${relative(REPO_ROOT, file)}`, async () => {
      const result = await runBerthctl(['verify', file]);
      assert.equal(result.status, 1, describeResult(result));

      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 5, describeResult(result));
      const positions = lines.map((line) => /^(.*):(\d+):(\d+): (error|warning): /.exec(line)?.slice(1, 5));
      assert.deepEqual(positions, expected.map((position) => [file, ...position]));
      assert.equal(result.stderr, '');
    });
  }

  it('suggests the misspelled key', async () => {
    const result = await runBerthctl(['verify', join(FIXTURES, 'five-mistakes.service')]);
    assert.match(result.stdout, /:20:1: warning: .*did you mean MachineMetadata=\?/);
  });

  it('prints diagnostics as JSON', async () => {
    const result = await runBerthctl(['verify', '--json', join(FIXTURES, 'five-mistakes.service')]);
    assert.equal(result.status, 1, describeResult(result));
    const diagnostics = JSON.parse(result.stdout) as { line: number; severity: string }[];
    assert.deepEqual(diagnostics.map((diagnostic) => diagnostic.line), [8, 10, 15, 20, 22]);
  });

  it('fails on a missing file', async () => {
    const result = await runBerthctl(['verify', 'no/such/file.service']);
    assert.equal(result.status, 1, describeResult(result));
    assert.match(result.stderr, /cannot read unit file no\/such\/file\.service: .*ENOENT/);
  });

  it('names the unit after the file', async () => {
    const file = join(FIXTURES, 'web!.service');
    const result = await runBerthctl(['verify', file]);
    assert.equal(result.status, 1, describeResult(result));
    assert.equal(result.stdout, `${file}: error: unit name "web!.service" contains "!"; only ASCII letters, digits and : - _ . \\ @ are allowed\n`);
  });
});

describe('berthctl usage', () => {
  it('prints help with exit 0', async () => {
    const result = await runBerthctl(['--help']);
    assert.equal(result.status, 0, describeResult(result));
    for (const verb of ['verify', 'submit', 'load', 'start', 'stop', 'unload', 'destroy', 'restart', 'cat', 'list-units', 'list-unit-files', 'list-machines', 'status', 'journal', 'version']) {
      assert.match(result.stdout, new RegExp(`\\n  ${verb} `), `help does not list ${verb}`);
    }
  });

  it('prints the version both ways', async () => {
    for (const args of [['--version'], ['version']]) {
      const result = await runBerthctl(args);
      assert.equal(result.status, 0, describeResult(result));
      assert.match(result.stdout, /^berthctl version \d+\.\d+\.\d+\n$/);
    }
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [['no-such-command'], ['start'], ['list-units', '--fields', 'unit,colour'], ['start', '--block-attempts', 'x', 'a'], ['stop', 'bad!name']]) {
      const result = await runBerthctl(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${describeResult(result)}`);
      assert.notEqual(result.stderr, '', `${args.join(' ')} printed no error`);
    }
  });

  it('exits 3 naming an unreachable endpoint', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const result = await runBerthctl(['list-units'], { env: { BERTHCTL_ENDPOINT: endpoint } });
    assert.equal(result.status, 3, describeResult(result));
    assert.match(result.stderr, new RegExp(`cannot reach the scheduler at ${endpoint.replace(/\./g, '\\.')} \\(.*ECONNREFUSED`));
    assert.match(result.stderr, /--endpoint URL or BERTHCTL_ENDPOINT/);
    assert.equal(result.stdout, '');
  });

  it('rejects a unix socket endpoint', async () => {
    const result = await runBerthctl(['--endpoint', 'unix:///var/run/fleet.sock', 'list-units']);
    assert.equal(result.status, 2, describeResult(result));
    assert.match(result.stderr, /scheme "unix:" .* is not supported/);
  });
});

/** Returns a loopback port with nothing listening on it. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
