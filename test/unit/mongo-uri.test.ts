import { databaseNameOf, withDatabaseName } from '../../src/store/mongo-uri';
import { thrown } from '../helpers';

describe('databaseNameOf (the database a MongoDB connection string names)', () => {
  it.each([
    ['mongodb://127.0.0.1:27027/repwatch', 'repwatch'],
    ['mongodb://db1.example.com:27017,db2.example.com:27017,db3.example.com:27017/reputation?replicaSet=rs0&w=majority', 'reputation'],
    ['mongodb://ana:p%40ss%2Fw%3Ard@db1:27017,db2:27017/prod?authSource=admin', 'prod'],
    ['mongodb+srv://ana:secret@cluster0.abcde.mongodb.net/repwatch?retryWrites=true&w=majority', 'repwatch'],
    ['MONGODB+SRV://cluster0.abcde.mongodb.net/Reputatie', 'Reputatie'],
    ['mongodb://h/caf%C3%A9', 'café'],
    ['mongodb://[::1]:27017/ipv6db', 'ipv6db'],
  ])('%s names %s', (uri, name) => {
    expect(databaseNameOf(uri)).toBe(name);
  });

  it.each([
    'mongodb://db1:27017,db2:27017',
    'mongodb://db1:27017,db2:27017/',
    'mongodb://db1:27017,db2:27017/?replicaSet=rs0',
    'mongodb://db1:27017?replicaSet=rs0',
    'mongodb+srv://ana:secret@cluster0.abcde.mongodb.net/?retryWrites=true',
    'mongodb+srv://cluster0.abcde.mongodb.net',
  ])('%s names none (the default applies)', (uri) => {
    expect(databaseNameOf(uri)).toBeUndefined();
  });

  it('refuses what is not a MongoDB connection string or names an impossible database, without quoting it', () => {
    for (const uri of ['http://ana:hunter2secret@db/x', 'ana:hunter2secret@db1:27017/x', 'mongodb://ana:hunter2secret@db1/a.b', 'mongodb://ana:hunter2secret@db1/%E0%A4%A']) {
      const err = thrown(() => databaseNameOf(uri));
      expect(err.code).toBe('RW_ERR_CONFIG_INVALID');
      expect(err.message).not.toContain('hunter2secret');
    }
  });
});

describe('withDatabaseName (the same connection string for another database)', () => {
  it.each([
    ['mongodb://127.0.0.1:27027/', 'mongodb://127.0.0.1:27027/bench_1'],
    ['mongodb://127.0.0.1:27027', 'mongodb://127.0.0.1:27027/bench_1'],
    ['mongodb://127.0.0.1:27027/repwatch', 'mongodb://127.0.0.1:27027/bench_1'],
    ['mongodb://ana:p%40ss%2Fw%3Ard@db1:27017,db2:27017/prod?authSource=admin', 'mongodb://ana:p%40ss%2Fw%3Ard@db1:27017,db2:27017/bench_1?authSource=admin'],
    ['mongodb+srv://cluster0.abcde.mongodb.net/?retryWrites=true', 'mongodb+srv://cluster0.abcde.mongodb.net/bench_1?retryWrites=true'],
    ['mongodb://db1:27017?replicaSet=rs0', 'mongodb://db1:27017/bench_1?replicaSet=rs0'],
  ])('%s becomes %s', (uri, expected) => {
    expect(withDatabaseName(uri, 'bench_1')).toBe(expected);
    expect(databaseNameOf(withDatabaseName(uri, 'bench_1'))).toBe('bench_1');
  });

  it('refuses what is not a MongoDB connection string, without quoting it', () => {
    const err = thrown(() => withDatabaseName('http://ana:hunter2secret@db/x', 'b'));
    expect(err.code).toBe('RW_ERR_CONFIG_INVALID');
    expect(err.message).not.toContain('hunter2secret');
  });
});
