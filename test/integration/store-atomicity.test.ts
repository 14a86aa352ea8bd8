import type { Collection } from 'mongodb';
import { Store } from '../../src/store/store';
import { MONGODB_URI, uniqueName } from '../helpers';

/**
 * What the claims, dead letters and counters rely on: one update of one document is atomic, as
 * MongoDB promises. (The local FerretDB is patched for it: scripts/ferretdb/atomic-updates.patch.)
 */
describe('document updates under concurrent writers (the MongoDB-compatible server)', () => {
  let store: Store;
  let coll: Collection<{ _id: string; n?: number; a?: number; b?: number; claimant?: string; status?: string }>;
  beforeAll(async () => {
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('atomic') });
    coll = store.conn.db!.collection('atomicity');
  });
  afterAll(async () => {
    await store.conn.dropDatabase();
    await store.close();
  });

  it('loses no increment when 60 updates of one document run at once', async () => {
    await coll.insertOne({ _id: 'counter', n: 0 });
    await Promise.all(Array.from({ length: 60 }, () => coll.updateOne({ _id: 'counter' }, { $inc: { n: 1 } })));
    expect((await coll.findOne({ _id: 'counter' }))?.n).toBe(60);
  });

  it('keeps both of two concurrent $set of different fields (a resolve racing a retry count)', async () => {
    for (let round = 0; round < 20; round++) {
      const _id = `pair-${round}`;
      await coll.insertOne({ _id, status: 'open', a: 0, b: 0 });
      await Promise.all([
        coll.findOneAndUpdate({ _id, status: 'open' }, { $set: { status: 'resolved', a: 1 } }),
        coll.updateOne({ _id }, { $set: { b: 1 } }),
      ]);
      expect(await coll.findOne({ _id })).toEqual({ _id, status: 'resolved', a: 1, b: 1 });
    }
  });

  it('lets exactly one of 30 concurrent conditional claims win', async () => {
    await coll.insertOne({ _id: 'job' });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => coll.findOneAndUpdate({ _id: 'job', claimant: { $exists: false } }, { $set: { claimant: `w${i}` } }, { returnDocument: 'after' })),
    );
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect((await coll.findOne({ _id: 'job' }))?.claimant).toBe(winners[0]!.claimant);
  });

  it('runs a bulk of 200 updates beside 20 concurrent single updates without holding the connection pool', async () => {
    await coll.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: `bulk-${i}`, n: 0 })));
    const bulk = coll.bulkWrite(Array.from({ length: 200 }, (_, i) => ({ updateOne: { filter: { _id: `bulk-${i}` }, update: { $inc: { n: 1 } } } })), { ordered: false });
    const singles = Promise.all(Array.from({ length: 20 }, (_, i) => coll.updateOne({ _id: `bulk-${i * 10}` }, { $inc: { n: 1 } })));
    const [result] = await Promise.all([bulk, singles]);
    expect(result.modifiedCount).toBe(200);
    const docs = await coll.find({ _id: { $in: Array.from({ length: 200 }, (_, i) => `bulk-${i}`) } }).toArray();
    expect(docs.reduce((sum, d) => sum + (d.n ?? 0), 0)).toBe(220);
  });
});
