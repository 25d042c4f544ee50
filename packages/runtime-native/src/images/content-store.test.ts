import { strict as assert } from 'node:assert';
import { makeTempDir, removeTempDir } from '@berth/testkit';
import { ContentStore, ImageRecord } from './content-store';
import { Digest, sha256Of } from './digest';

const UPDATES_PER_STORE = 25;

/** Builds a minimal record whose digest is derived from `name`. */
function recordFor(name: string): ImageRecord {
  const digest = sha256Of(name);
  return { digest, names: [name], configDigest: digest as Digest, layers: [], pulledAt: new Date(0).toISOString() };
}

describe('ContentStore records', () => {
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir('content-store');
  });

  afterEach(() => {
    removeTempDir(dir);
  });

  // Two ContentStore objects on one directory stand for two processes (an agent and the CLI):
  // each has its own in-process lock, so only the lock on the file keeps their updates apart.
  it('keeps every record when two stores update at once', async () => {
    const stores = [new ContentStore(dir), new ContentStore(dir)];
    for (const store of stores) await store.open();
    const updates = stores.flatMap((store, index) =>
      Array.from({ length: UPDATES_PER_STORE }, (_, update) => {
        const record = recordFor(`store-${index}/image:${update}`);
        return store.updateRecords((images) => {
          images[record.digest] = record;
        });
      }));
    await Promise.all(updates);

    const records = await new ContentStore(dir).readRecords();
    assert.equal(Object.keys(records).length, stores.length * UPDATES_PER_STORE);
  });
});
