import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { canTransition, ConnectionLifecycle, ConnectionState } from './connection-state';

describe('connection lifecycle', () => {
  const cases: Array<{ from: ConnectionState; to: ConnectionState; allowed: boolean }> = [
    { from: ConnectionState.Idle, to: ConnectionState.Connecting, allowed: true },
    { from: ConnectionState.Idle, to: ConnectionState.Draining, allowed: true },
    { from: ConnectionState.Connecting, to: ConnectionState.Connected, allowed: true },
    { from: ConnectionState.Connecting, to: ConnectionState.Backoff, allowed: true },
    { from: ConnectionState.Connected, to: ConnectionState.Backoff, allowed: true },
    { from: ConnectionState.Backoff, to: ConnectionState.Connecting, allowed: true },
    { from: ConnectionState.Connected, to: ConnectionState.Draining, allowed: true },
    { from: ConnectionState.Draining, to: ConnectionState.Stopped, allowed: true },
    { from: ConnectionState.Backoff, to: ConnectionState.Connected, allowed: false },
    { from: ConnectionState.Draining, to: ConnectionState.Connecting, allowed: false },
    { from: ConnectionState.Stopped, to: ConnectionState.Connecting, allowed: false },
  ];
  for (const testCase of cases) {
    it(`${testCase.from} -> ${testCase.to} is ${testCase.allowed ? 'allowed' : 'rejected'}`, () => {
      assert.equal(canTransition(testCase.from, testCase.to), testCase.allowed);
    });
  }

  it('logs old -> new on each transition', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => { lines.push(JSON.parse(chunk.toString()).msg); done(); } }));
    const lifecycle = new ConnectionLifecycle(log);
    lifecycle.transition(ConnectionState.Connecting);
    lifecycle.transition(ConnectionState.Connected);
    lifecycle.transition(ConnectionState.Connected);
    assert.deepEqual(lines, ['connection idle -> connecting', 'connection connecting -> connected']);
    assert.throws(() => lifecycle.transition(ConnectionState.Idle), /cannot move from connected to idle/);
  });
});
