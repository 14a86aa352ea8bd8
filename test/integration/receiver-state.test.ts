import { Redis } from 'ioredis';
import { ReceiverState, RECEIVER_STATE_CACHE_MS, RECEIVER_STATE_LONGEST_CACHE_MS } from '../../src/store/receiver-state';
import { Store } from '../../src/store/store';
import { MONGODB_URI, REDIS_URL, uniqueName } from '../helpers';

describe('receiver states across processes (real Redis and the MongoDB-compatible server)', () => {
  const dbName = uniqueName('receivers');
  const prefix = `{${uniqueName('receivers')}}`;
  const redis = new Redis(REDIS_URL());
  let ops: Store;
  let deliverer: Store;
  let clock = Date.now();

  beforeAll(async () => {
    // Two connections: the process that changes a state and a delivery process, each with its own cache.
    ops = await Store.connect({ uri: MONGODB_URI(), dbName });
    deliverer = await Store.connect({ uri: MONGODB_URI(), dbName });
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await ops.conn.dropDatabase().catch(() => undefined);
    await ops.close();
    await deliverer.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('a delivery process reads the states from MongoDB once, and again only when a change is announced (or a minute passed)', async () => {
    const changer = new ReceiverState(ops, { redis, prefix });
    const delivery = new ReceiverState(deliverer, { redis, prefix });
    const reads = jest.spyOn(deliverer.models.ReceiverState.collection, 'find');

    expect(await delivery.isDisabled('crm')).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(1);
    clock += 10 * RECEIVER_STATE_CACHE_MS;
    expect(await delivery.isDisabled('crm')).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(1);

    // Disabled elsewhere: seen by the next delivery, not seconds later.
    await changer.disable('crm', 'the endpoint answered 410 Gone', 'RW_ERR_RECEIVER_GONE', clock);
    expect(await delivery.isDisabled('crm')).toMatchObject({ state: 'disabled', code: 'RW_ERR_RECEIVER_GONE' });
    expect(reads).toHaveBeenCalledTimes(2);
    await changer.enable('crm', 'ops', clock);
    expect(await delivery.isDisabled('crm')).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(3);

    // Redis lost the announcement key: a new version, read again.
    await redis.del(`${prefix}:receiver-states-version`);
    expect(await delivery.isDisabled('crm')).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(4);

    // A change made around repwatch (by hand in MongoDB) is seen within a minute.
    await ops.models.ReceiverState.collection.insertOne({ _id: 'pagerduty', receiverId: 'pagerduty', state: 'disabled', since: clock, reason: 'by hand' } as any);
    expect(await delivery.isDisabled('pagerduty')).toBeUndefined();
    clock += RECEIVER_STATE_LONGEST_CACHE_MS;
    expect(await delivery.isDisabled('pagerduty')).toMatchObject({ state: 'disabled', reason: 'by hand' });
    expect(reads).toHaveBeenCalledTimes(5);
  });

  it('deliveries that find the states stale at the same moment share one read', async () => {
    const delivery = new ReceiverState(deliverer, { redis, prefix });
    const reads = jest.spyOn(deliverer.models.ReceiverState.collection, 'find');
    clock += RECEIVER_STATE_LONGEST_CACHE_MS;
    reads.mockClear();
    const states = await Promise.all(Array.from({ length: 8 }, () => delivery.isDisabled('pagerduty')));
    expect(states.every((s) => s?.state === 'disabled')).toBe(true);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('without announcements, a process reads again every RECEIVER_STATE_CACHE_MS', async () => {
    const alone = new ReceiverState(deliverer);
    const reads = jest.spyOn(deliverer.models.ReceiverState.collection, 'find');
    reads.mockClear();
    clock += RECEIVER_STATE_LONGEST_CACHE_MS;
    await alone.isDisabled('crm');
    await alone.isDisabled('crm');
    expect(reads).toHaveBeenCalledTimes(1);
    clock += RECEIVER_STATE_CACHE_MS;
    await alone.isDisabled('crm');
    expect(reads).toHaveBeenCalledTimes(2);
  });
});
