import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

export type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseOptions {
  /** A ClickHouse server over HTTP(S), e.g. http://localhost:8123. Wins over dataDir. */
  url?: string;
  /** Embedded chDB data directory (created if missing), or ':memory:' for a throw-away engine. */
  dataDir?: string;
  /** Default database for unqualified table names; created if missing. Default 'streamloop'. */
  database?: string;
  username?: string;
  password?: string;
}

export const DEFAULT_DATABASE = 'streamloop';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertIdentifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`${what} ${JSON.stringify(name)} is not a valid ClickHouse identifier (expected [A-Za-z_][A-Za-z0-9_]*)`);
  return name;
}

// Settings that chdb's connection drops because they only mean something over HTTP (or maps to an
// engine option); they never reach the session, so they need no reset either.
const NOT_SESSION_SETTINGS = new Set([
  'wait_end_of_query', 'send_progress_in_http_headers', 'http_response_buffer_size', 'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms', 'enable_http_compression', 'http_zlib_compression_level', 'http_response_compression_method',
  'http_native_compression_disable_checksumming_on_decompress', 'default_format',
]);

// @clickhouse/client bundles its own copy of the Connection contract that chdb implements (from
// @clickhouse/client-common); same shape, distinct declarations, so name the client's one.
type Connection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

/** The one chDB engine of this process (chDB binds a single data directory per process). */
interface EmbeddedEngine {
  dir: string;
  connection: Connection;
  refs: number;
  /** Serialises statements: each call is "SET …; USE db; query" and must not interleave with another client's. */
  queue: Promise<unknown>;
  /** Settings some call has SET on the shared session; later calls reset the ones they did not ask for. */
  touched: Set<string>;
}

// Kept on globalThis so that two copies of this module (different import paths) still share one engine.
const ENGINE_KEY = Symbol.for('streamloop.clickhouse.chdb-engine');
type Holder = { [ENGINE_KEY]?: EmbeddedEngine };
const holder = globalThis as unknown as Holder;

/**
 * A Connection per client over the shared chDB session. chDB runs clickhouse_settings as `SET` on the
 * session, so they outlive the call (an insert_deduplication_token would silently drop every later insert),
 * and it ignores the client's `database`. So each call resets settings earlier calls touched, selects its
 * database with USE, and runs alone.
 */
class EmbeddedConnection implements Connection {
  private closed = false;

  constructor(private readonly engine: EmbeddedEngine, private readonly database: string) {}

  private scoped<P extends { query: string; clickhouse_settings?: Record<string, unknown> }>(params: P): P {
    const asked = Object.keys(params.clickhouse_settings ?? {}).filter((k) => params.clickhouse_settings?.[k] !== undefined);
    const resets = [...this.engine.touched].filter((k) => !asked.includes(k));
    for (const k of asked) if (!NOT_SESSION_SETTINGS.has(k)) this.engine.touched.add(k);
    const prefix = `${resets.length > 0 ? `SET ${resets.map((k) => `${k} = DEFAULT`).join(', ')}; ` : ''}USE \`${this.database}\`; `;
    return { ...params, query: prefix + params.query };
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('ClickHouse client is closed'));
    return enqueue(this.engine, fn);
  }

  ping(params: Parameters<Connection['ping']>[0]) {
    return this.run(() => this.engine.connection.ping(params));
  }
  query(params: Parameters<Connection['query']>[0]) {
    return this.run(() => this.engine.connection.query(this.scoped(params)));
  }
  insert(params: Parameters<Connection['insert']>[0]) {
    return this.run(() => this.engine.connection.insert(this.scoped(params)));
  }
  command(params: Parameters<Connection['command']>[0]) {
    return this.run(() => this.engine.connection.command(this.scoped(params)));
  }
  exec(params: Parameters<Connection['exec']>[0]) {
    return this.run(() => this.engine.connection.exec(this.scoped(params)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await releaseEngine(this.engine);
  }
}

function enqueue<T>(engine: EmbeddedEngine, fn: () => Promise<T>): Promise<T> {
  const next = engine.queue.then(fn, fn);
  engine.queue = next.catch(() => undefined);
  return next;
}

function acquireEngine(dataDir: string): EmbeddedEngine {
  const dir = dataDir === ':memory:' ? dataDir : resolve(dataDir);
  const current = holder[ENGINE_KEY];
  if (current) {
    if (current.dir !== dir) {
      throw new Error(
        `chDB is already open on data directory ${current.dir} in this process; it cannot open ${dir} as well ` +
          `(chDB binds one data directory per process: close every client of the first one, or run in another process)`,
      );
    }
    current.refs += 1;
    return current;
  }
  if (dir !== ':memory:') mkdirSync(dir, { recursive: true });
  const engine: EmbeddedEngine = { dir, connection: createChdbConnection({ path: dir }) as unknown as Connection, refs: 1, queue: Promise.resolve(), touched: new Set() };
  holder[ENGINE_KEY] = engine;
  return engine;
}

async function releaseEngine(engine: EmbeddedEngine): Promise<void> {
  engine.refs -= 1;
  if (engine.refs > 0) return;
  if (holder[ENGINE_KEY] === engine) delete holder[ENGINE_KEY];
  // Let statements already queued finish before the session goes away.
  await engine.queue;
  await engine.connection.close();
}

/**
 * A @clickhouse/client over a server (`url`) or over embedded chDB (`dataDir`), with `database` (created if
 * missing) as the default database so unqualified table names work. Close it with closeClickHouse.
 */
export async function createClickHouse(opts: ClickHouseOptions): Promise<ClickHouseClient> {
  const database = assertIdentifier(opts.database ?? DEFAULT_DATABASE, 'database');
  if (opts.url) {
    const auth = { username: opts.username, password: opts.password };
    // The database must exist before a client can use it as its default.
    const bootstrap = createClient({ url: opts.url, ...auth });
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
    } catch (error) {
      throw new Error(`ClickHouse at ${opts.url}: cannot create database ${database}: ${(error as Error).message}`, { cause: error });
    } finally {
      await bootstrap.close();
    }
    return createClient({ url: opts.url, ...auth, database });
  }
  if (!opts.dataDir) {
    throw new Error('createClickHouse: set url (CLICKHOUSE_URL) for a ClickHouse server, or dataDir (CLICKHOUSE_DATA_DIR) for embedded chDB');
  }
  const engine = acquireEngine(opts.dataDir);
  try {
    await enqueue(engine, () => engine.connection.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` }));
  } catch (error) {
    await releaseEngine(engine);
    throw new Error(`chDB in ${engine.dir}: cannot create database ${database}: ${(error as Error).message}`, { cause: error });
  }
  return createClient({ connection: new EmbeddedConnection(engine, database) });
}

/** Closes a client from createClickHouse; the embedded engine closes with its last client. */
export async function closeClickHouse(client: ClickHouseClient): Promise<void> {
  await client.close();
}
