import { RepwatchError } from '../domain/errors';

/**
 * The database a MongoDB connection string names, or undefined when it names none.
 *
 * `new URL` cannot read these strings: a replica set lists several hosts
 * (`mongodb://a:27017,b:27017/db?replicaSet=rs0`), which is not a URL authority. The form is
 * `mongodb[+srv]://[user[:password]@]host[:port][,host[:port]…][/[database]][?options]`, with
 * `/`, `?`, `@` and `:` percent-encoded inside the user name and password (the driver's rule), so
 * the first `/` or `?` after the scheme ends the hosts. Messages never quote the string: it may
 * carry a password.
 */
export function databaseNameOf(uri: string): string | undefined {
  const { path: encoded } = partsOf(uri);
  if (encoded === '') return undefined;
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', 'the database name in the MongoDB connection string is not valid percent-encoding');
  }
  // MongoDB's rules for database names (any platform): none of / \ . " $ space or NUL, under 64 bytes.
  if (/[/\\. "$\0]/.test(name) || Buffer.byteLength(name) >= 64) {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', 'the database name in the MongoDB connection string is not a valid MongoDB database name');
  }
  return name;
}

/** The same connection string naming another database (hosts, credentials and options kept). */
export function withDatabaseName(uri: string, name: string): string {
  const { scheme, hosts, query } = partsOf(uri);
  return `${scheme}${hosts}/${encodeURIComponent(name)}${query}`;
}

/** A connection string's scheme (with `://`), hosts (with any credentials), encoded database path and `?options`. */
function partsOf(uri: string): { scheme: string; hosts: string; path: string; query: string } {
  const scheme = /^mongodb(\+srv)?:\/\//i.exec(uri);
  if (!scheme) throw new RepwatchError('RW_ERR_CONFIG_INVALID', 'the MongoDB connection string does not start with mongodb:// or mongodb+srv://');
  const rest = uri.slice(scheme[0].length);
  const hostsEnd = rest.search(/[/?]/);
  const hosts = hostsEnd === -1 ? rest : rest.slice(0, hostsEnd);
  const tail = hostsEnd === -1 ? '' : rest.slice(hostsEnd);
  const q = tail.indexOf('?');
  const query = q === -1 ? '' : tail.slice(q);
  const path = (q === -1 ? tail : tail.slice(0, q)).replace(/^\//, '');
  return { scheme: scheme[0], hosts, path, query };
}
