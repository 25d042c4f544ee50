import { strict as assert } from 'node:assert';
import { InterruptedError, Interruption } from './interruption';

describe('bench interruption', () => {
  it('signal ends sleep early', async () => {
    const interruption = new Interruption();
    interruption.install();
    try {
      const sleeping = interruption.sleep(60_000);
      process.kill(process.pid, 'SIGTERM');
      await assert.rejects(sleeping, InterruptedError);
      assert.equal(interruption.signal, 'SIGTERM');
      assert.throws(() => interruption.check(), /interrupted by SIGTERM/);
    } finally {
      interruption.dispose();
    }
  });
});
