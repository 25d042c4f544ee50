import assert from 'node:assert/strict';
import { DAEMON_V8_FLAGS, daemonV8Flags } from './v8-tuning';

describe('daemonV8Flags', () => {
  const cases: Array<{ name: string; execArgv: string[]; expected: string[] }> = [
    { name: 'plain node sets the daemon flags', execArgv: [], expected: DAEMON_V8_FLAGS },
    { name: 'unrelated node flags keep the daemon flags', execArgv: ['--enable-source-maps', '--max-old-space-size=256'], expected: DAEMON_V8_FLAGS },
    { name: '--turbofan is the operator\'s choice', execArgv: ['--turbofan'], expected: [] },
    { name: '--opt, the older name, is the operator\'s choice', execArgv: ['--opt'], expected: [] },
    { name: '--no-opt is left to node', execArgv: ['--no-opt'], expected: [] },
    { name: 'underscores count like dashes', execArgv: ['--no_turbofan'], expected: [] },
    { name: '--jitless already rules out the optimizer', execArgv: ['--jitless'], expected: [] },
    { name: '--sparkplug is the operator\'s choice', execArgv: ['--sparkplug'], expected: [] },
    { name: 'a flag that only starts alike does not count', execArgv: ['--turbofan-filter=*', '--optimize-for-size'], expected: DAEMON_V8_FLAGS },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(daemonV8Flags(testCase.execArgv), testCase.expected);
    });
  }
});
