import { strict as assert } from 'node:assert';
import { CliCommand, parseCommandLine } from './cli-args';
import { UsageError } from './errors';

describe('parseCommandLine', () => {
  const env = { BERTH_RUN_DIR: '/run/berth-test' };
  const cases: Array<{ name: string; args: string[]; expected: CliCommand }> = [
    { name: 'no arguments run the agent', args: [], expected: { command: 'run', configFile: undefined, flags: {} } },
    {
      name: 'setting flags by setting name',
      args: ['--schedulers', '10.0.0.1:7001', '--join-token=abc', '--state-dir', '/srv/berth', '--drain'],
      expected: { command: 'run', configFile: undefined, flags: { schedulers: '10.0.0.1:7001', joinToken: 'abc', stateDir: '/srv/berth', drain: true } },
    },
    { name: 'explicit run with config', args: ['run', '--config', '/etc/berth/agent.ini'], expected: { command: 'run', configFile: '/etc/berth/agent.ini', flags: {} } },
    { name: 'drain with run dir', args: ['drain', '--run-dir', '/tmp/run'], expected: { command: 'drain', runDir: '/tmp/run' } },
    { name: 'status defaults to BERTH_RUN_DIR', args: ['status'], expected: { command: 'status', runDir: '/run/berth-test' } },
    { name: 'version', args: ['-V'], expected: { command: 'version' } },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(parseCommandLine(testCase.args, env), testCase.expected);
    });
  }

  it('help lists every setting flag', () => {
    const parsed = parseCommandLine(['--help'], env);

    const text = parsed.command === 'help' ? parsed.text : '';

    assert.equal(parsed.command, 'help');
    assert.ok(text.includes('--container-subnet CIDR'), text);
    assert.ok(text.includes('--run-dir DIR'), text);
  });

  const rejected: Array<{ name: string; args: string[]; message: RegExp }> = [
    { name: 'unknown option', args: ['--join', 'x'], message: /berth-agent run: Unknown option '--join'/ },
    { name: 'missing value', args: ['--schedulers'], message: /'--schedulers <value>' argument missing/ },
    { name: 'unknown command', args: ['frob'], message: /unknown command "frob"; the commands are run, drain, status/ },
    { name: 'setting flag on drain', args: ['drain', '--state-dir', '/srv'], message: /berth-agent drain: Unknown option '--state-dir'/ },
  ];
  for (const testCase of rejected) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(() => parseCommandLine(testCase.args, env), (error: unknown) => {
        assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
        assert.match(error.message, testCase.message);
        return true;
      });
    });
  }
});
