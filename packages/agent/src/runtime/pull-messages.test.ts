import { strict as assert } from 'node:assert';
import {
  AuthenticationError, HostileLayerError, ImageError, RegistryError, TransientRegistryError,
} from '@berth/runtime-native/dist/images/errors';
import { deserializeError, serializeError } from './pull-messages';

/** Sends an error through JSON as the IPC channel does, and rebuilds it. */
function roundTrip(error: unknown): Error {
  return deserializeError(JSON.parse(JSON.stringify(serializeError(error))));
}

describe('pull process errors', () => {
  const imageErrors: Array<{ name: string; error: ImageError; retryable: boolean }> = [
    { name: 'transient registry failure', error: new TransientRegistryError('registry 127.0.0.1:5000 responded 503'), retryable: true },
    { name: 'authentication failure', error: new AuthenticationError('no credentials for 127.0.0.1:5000'), retryable: false },
    { name: 'hostile layer', error: new HostileLayerError('layer 0: path escapes the root'), retryable: false },
  ];
  for (const { name, error, retryable } of imageErrors) {
    it(`keeps the class: ${name}`, () => {
      const rebuilt = roundTrip(error);

      assert.ok(rebuilt instanceof error.constructor, `${rebuilt.name} is not a ${error.name}`);
      assert.equal(rebuilt.name, error.name);
      assert.equal(rebuilt.message, error.message);
      assert.equal((rebuilt as ImageError).retryable, retryable);
    });
  }

  it('keeps status and retryable of RegistryError', () => {
    const rebuilt = roundTrip(new RegistryError('manifest not found (404)', 404));

    assert.ok(rebuilt instanceof RegistryError);
    assert.equal(rebuilt.status, 404);
    assert.equal(rebuilt.retryable, false);
  });

  it('keeps the cause chain', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
    const rebuilt = roundTrip(new TransientRegistryError('request failed after 5 attempts', { cause }));

    assert.ok(rebuilt.cause instanceof Error);
    assert.equal(rebuilt.cause.message, cause.message);
    assert.equal((rebuilt.cause as { code?: string }).code, 'ECONNREFUSED');
  });

  it('keeps name and code of system errors', () => {
    const rebuilt = roundTrip(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));

    assert.equal(rebuilt.name, 'Error');
    assert.equal((rebuilt as { code?: string }).code, 'ENOSPC');
    assert.equal((rebuilt as { retryable?: boolean }).retryable, undefined);
  });

  it('turns a thrown string into an Error', () => {
    const rebuilt = roundTrip('layer helper crashed');

    assert.ok(rebuilt instanceof Error);
    assert.equal(rebuilt.message, 'layer helper crashed');
  });
});
