import { main } from '../../src/cli/main';
import { Store } from '../../src/store/store';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, makeConfig, uniqueName } from '../helpers';

/** `repwatch alerts ack|resolve` and `repwatch report` against the MongoDB-compatible server and Redis. */
describe('repwatch alerts and report', () => {
  const dbName = uniqueName('cli');
  let store: Store;
  let dir: string;
  const saved = { uri: process.env.MONGODB_URI, config: process.env.REPWATCH_CONFIG };
  const output = { out: '', err: '' };
  let spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    ({ dir } = makeConfig({ brands: { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['zeezicht'], sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] }] }, extra: { 'p.jsonl': '' } }, {}));
    const uri = `${MONGODB_URI().replace(/\/$/, '')}/${dbName}`;
    store = await Store.connect({ uri });
    const alert = { ...fixtureEvent().alert, createdAt: new Date(Date.now() - 90_000).toISOString() };
    await store.appendEvents([{ type: 'alert.triggered', alert, at: alert.createdAt }]);
    await store.saveAlerts([alert]);
    process.env.MONGODB_URI = uri;
    process.env.REPWATCH_CONFIG = dir;
  });
  afterAll(async () => {
    process.env.MONGODB_URI = saved.uri;
    if (saved.config === undefined) delete process.env.REPWATCH_CONFIG;
    else process.env.REPWATCH_CONFIG = saved.config;
    await store.conn.dropDatabase();
    await store.close();
  });
  beforeEach(() => {
    output.out = '';
    output.err = '';
    spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation((s: any) => ((output.out += String(s)), true)),
      jest.spyOn(process.stderr, 'write').mockImplementation((s: any) => ((output.err += String(s)), true)),
    ];
  });
  afterEach(() => spies.forEach((s) => s.mockRestore()));

  const id = fixtureEvent().alert.id;

  it('lists, acknowledges and resolves an alert, each change an event on the stream', async () => {
    expect(await main(['alerts', 'list'])).toBe(0);
    expect(output.out).toContain(`${id}\ttriggered\tcritical`);
    expect(await main(['alerts', 'ack', id, '--by', 'anna@example.com'])).toBe(0);
    expect(output.out).toContain(`${id}: acknowledged by anna@example.com`);
    expect(await main(['alerts', 'resolve', id, '--by', 'ben@example.com'])).toBe(0);
    const alert = await store.getAlert(id);
    expect(alert).toMatchObject({ status: 'resolved', acknowledgedBy: 'anna@example.com', resolvedBy: 'ben@example.com', version: 3 });
    const events = await store.eventsAfter(0);
    expect(events.map((e) => [e.type, e.by])).toEqual([['alert.triggered', undefined], ['alert.acknowledged', 'anna@example.com'], ['alert.resolved', 'ben@example.com']]);
  });

  it('refuses what makes no sense, with a code and exit 2', async () => {
    expect(await main(['alerts', 'resolve', id, '--by', 'anna@example.com'])).toBe(2);
    expect(output.err).toContain('RW_ERR_ALERT_STATE');
    expect(await main(['alerts', 'ack', 'no-such-alert', '--by', 'anna'])).toBe(2);
    expect(output.err).toContain('RW_ERR_UNKNOWN_REFERENCE');
    expect(await main(['alerts', 'ack'])).toBe(2);
    expect(await main(['report', '--since', 'soon'])).toBe(2);
  });

  it('reports time to acknowledge and resolve per brand', async () => {
    expect(await main(['report', '--since', '7d'])).toBe(0);
    expect(output.out).toContain('Hotel Zeezicht');
    expect(output.out).toMatch(/Time to acknowledge\s+1 alert/);
  });

  it('repwatch sources lists each source with its state (exit 1 while one is not hearing), and receivers can be enabled again', async () => {
    expect(await main(['sources'])).toBe(0);
    expect(output.out).toMatch(/^hotel-zeezicht\/s\treplay\tok\t/m);
    output.out = '';
    expect(await main(['receivers', 'enable'])).toBe(2);
    expect(await main(['receivers', 'enable', 'nope'])).toBe(2);
    expect(output.err).toContain('RW_ERR_UNKNOWN_REFERENCE');
  });

  it('repwatch config check says what a YouTube source spends of its daily quota', async () => {
    const { dir: ytDir } = makeConfig(
      { brands: { brands: [{ id: 'acme', name: 'Acme', keywords: ['acme'], sources: [{ id: 'yt', platform: 'youtube', apiKeyEnv: 'YT_KEY', channelId: 'UC_x5XG1OV2P6uZZ5FSM9Ttw' }] }] } },
      { YT_KEY: 'AIzaSy-test-key-0123456789abcdefghij' },
    );
    process.env.YT_KEY = 'AIzaSy-test-key-0123456789abcdefghij';
    try {
      expect(await main(['config', 'check', '--config', ytDir])).toBe(0);
    } finally {
      delete process.env.YT_KEY;
    }
    expect(output.out).toMatch(/acme\/yt \(youtube\): about \d+ of 10000 units a day/);
    expect(output.out).not.toContain('AIzaSy-test-key');
  });
});
