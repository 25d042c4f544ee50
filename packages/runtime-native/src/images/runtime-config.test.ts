import { strict as assert } from 'node:assert';
import { Digest } from './digest';
import { RegistryError } from './errors';
import { ImageConfig } from './manifest';
import { parseRuntimeConfig } from './runtime-config';

function image(config: Record<string, unknown>): ImageConfig {
  return { config, rootfs: { type: 'layers', diff_ids: [] as Digest[] } };
}

describe('parseRuntimeConfig', () => {
  it('reads the runtime fields', () => {
    const parsed = parseRuntimeConfig(image({
      Entrypoint: ['/bin/sh'], Cmd: ['-c', 'true'], Env: ['PATH=/bin'], WorkingDir: '/srv//app/', User: '1000',
      Volumes: { '/data': {} }, ExposedPorts: { '80/tcp': {} }, StopSignal: 'SIGINT', Labels: { team: 'web' },
    }), 'image');
    assert.deepEqual(parsed, {
      entrypoint: ['/bin/sh'], cmd: ['-c', 'true'], env: ['PATH=/bin'], workingDir: '/srv/app/', user: '1000',
      volumes: ['/data'], exposedPorts: ['80/tcp'], stopSignal: 'SIGINT', labels: { team: 'web' },
    });
  });

  it('defaults the working directory to the root', () => {
    assert.equal(parseRuntimeConfig(image({}), 'image').workingDir, '/');
  });

  const rejected: { name: string; config: Record<string, unknown>; message: RegExp }[] = [
    { name: 'relative working directory', config: { WorkingDir: 'srv' }, message: /WorkingDir: "srv" is not an absolute path/ },
    { name: 'dot-dot working directory', config: { WorkingDir: '/srv/../../etc' }, message: /WorkingDir: .* contains a "\.\." component/ },
    { name: 'dot-dot volume', config: { Volumes: { '/data/../../host': {} } }, message: /Volumes: .* contains a "\.\." component/ },
    { name: 'relative volume', config: { Volumes: { data: {} } }, message: /Volumes: "data" is not an absolute path/ },
    { name: 'env without equals', config: { Env: ['PATH'] }, message: /Env: entry "PATH" is not KEY=value/ },
    { name: 'non-string command', config: { Cmd: [1] }, message: /Cmd: expected an array of strings/ },
  ];
  for (const testCase of rejected) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(() => parseRuntimeConfig(image(testCase.config), 'image'), (error: Error) => error instanceof RegistryError && testCase.message.test(error.message));
    });
  }
});
