import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_DEFAULTS } from './defaults';
import { quoteIdent } from './schema';

export type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseOptions {
  /** A ClickHouse server over HTTP(S), e.g. http://localhost:8123 (CLICKHOUSE_URL). Wins over dataDir. */
  url?: string;
  /** Embedded chDB data directory, created if missing (default CLICKHOUSE_DEFAULTS.dataDir). */
  dataDir?: string;
  /** Default database for unqualified table names; created if missing (default CLICKHOUSE_DEFAULTS.database). */
  database?: string;
  username?: string;
  password?: string;
}

// @clickhouse/client and chdb each declare the Connection contract (same shape, separate declarations):
// name the client's one.
type Connection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;
type Settings = Parameters<Connection['query']>[0]['clickhouse_settings'];

// Settings chDB's connection never applies to the session (HTTP-only, or mapped to its format option); they are
// passed through to it untouched.
const PASSTHROUGH_SETTINGS = new Set([
  'wait_end_of_query', 'send_progress_in_http_headers', 'http_response_buffer_size', 'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms', 'enable_http_compression', 'http_zlib_compression_level', 'http_response_compression_method',
  'http_native_compression_disable_checksumming_on_decompress', 'default_format',
]);

/** The one chDB engine of this process: chDB binds a single data directory per process. */
interface EmbeddedEngine {
  dir: string;
  connection: Promise<Connection>;
  refs: number;
  /** Every call runs alone: the session's current database and settings are shared state. */
  queue: Promise<unknown>;
  currentDatabase: string | undefined;
}

// On globalThis so that two copies of this module (different import paths) still share one engine.
const ENGINE_KEY = Symbol.for('streamloop.clickhouse.chdb-engine');
const holder = globalThis as unknown as { [ENGINE_KEY]?: EmbeddedEngine };

function settingLiteral(key: string, value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  throw new Error(`clickhouse_settings.${key}: expected a number, boolean or string, got ${typeof value}`);
}

/**
 * A Connection per client over the shared chDB session. The chDB connection turns clickhouse_settings into
 * `SET k = v; <query>` on the session: the settings outlive the call (a leaked insert_deduplication_token
 * silently drops later inserts that reuse it), and a multi-statement text with {name:Type} parameters fails
 * ("Substitution not set"). It also ignores the client's `database`. So this wrapper runs each call alone,
 * selects the database with a separate USE, applies settings with separate SETs and resets them afterwards.
 */
class EmbeddedConnection implements Connection {
  private closed = false;

  constructor(private readonly engine: EmbeddedEngine, private readonly database: string) {}

  private run<T>(settings: Settings, call: (conn: Connection, passthrough: Settings) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`ClickHouse client (chDB ${this.engine.dir}, database ${this.database}) is closed`));
    return enqueue(this.engine, async () => {
      const conn = await this.engine.connection;
      if (this.engine.currentDatabase !== this.database) {
        await conn.command({ query: `USE ${quoteIdent(this.database, 'database name')}` });
        this.engine.currentDatabase = this.database;
      }
      const passthrough: NonNullable<Settings> = {};
      const scoped: [string, unknown][] = [];
      for (const [k, v] of Object.entries(settings ?? {})) {
        if (v === undefined) continue;
        if (PASSTHROUGH_SETTINGS.has(k)) (passthrough as Record<string, unknown>)[k] = v;
        else scoped.push([quoteIdent(k, 'setting name').slice(1, -1), v]);
      }
      const applied: string[] = [];
      try {
        for (const [k, v] of scoped) {
          await conn.command({ query: `SET ${k} = ${settingLiteral(k, v)}` });
          applied.push(k);
        }
        return await call(conn, Object.keys(passthrough).length > 0 ? passthrough : undefined);
      } finally {
        for (const k of applied) await conn.command({ query: `SET ${k} = DEFAULT` });
      }
    });
  }

  ping(params: Parameters<Connection['ping']>[0]) {
    return this.run(undefined, (c) => c.ping(params));
  }
  query(params: Parameters<Connection['query']>[0]) {
    return this.run(params.clickhouse_settings, (c, s) => c.query({ ...params, clickhouse_settings: s }));
  }
  insert(params: Parameters<Connection['insert']>[0]) {
    return this.run(params.clickhouse_settings, (c, s) => c.insert({ ...params, clickhouse_settings: s }));
  }
  command(params: Parameters<Connection['command']>[0]) {
    return this.run(params.clickhouse_settings, (c, s) => c.command({ ...params, clickhouse_settings: s }));
  }
  exec(params: Parameters<Connection['exec']>[0]) {
    return this.run(params.clickhouse_settings, (c, s) => c.exec({ ...params, clickhouse_settings: s }));
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
  const dir = resolve(dataDir);
  const current = holder[ENGINE_KEY];
  if (current) {
    if (current.dir !== dir) {
      throw new Error(
        `chDB already has data directory ${current.dir} open in this process and cannot open ${dir} as well ` +
          '(chDB binds one data directory per process): use the same dataDir, close every client of the first one, ' +
          'run the other directory in another process, or set CLICKHOUSE_URL to use a server',
      );
    }
    current.refs += 1;
    return current;
  }
  mkdirSync(dir, { recursive: true });
  const engine: EmbeddedEngine = {
    dir,
    refs: 1,
    queue: Promise.resolve(),
    currentDatabase: undefined,
    // Loaded lazily: a server-only deployment never loads the native library.
    connection: import('chdb/connection').then(({ createChdbConnection }) => createChdbConnection({ path: dir }) as unknown as Connection),
  };
  // Registered before the first await, so concurrent callers share this engine.
  holder[ENGINE_KEY] = engine;
  engine.connection.catch(() => {
    if (holder[ENGINE_KEY] === engine) delete holder[ENGINE_KEY];
  });
  return engine;
}

async function releaseEngine(engine: EmbeddedEngine): Promise<void> {
  engine.refs -= 1;
  if (engine.refs > 0) return;
  if (holder[ENGINE_KEY] === engine) delete holder[ENGINE_KEY];
  // Statements already queued finish before the session goes away.
  await engine.queue;
  const conn = await engine.connection.catch(() => undefined);
  await conn?.close();
}

/** The data directory the embedded engine of this process is bound to, if one is open. */
export function embeddedDataDir(): string | undefined {
  return holder[ENGINE_KEY]?.dir;
}

/**
 * A @clickhouse/client over a server (`url`) or over embedded chDB (`dataDir`, default CLICKHOUSE_DEFAULTS.dataDir),
 * with `database` (created if missing) as its default database so unqualified table names work.
 * Embedded clients share one engine per process (reference counted); close each with closeClickHouse.
 */
export async function createClickHouse(opts: ClickHouseOptions = {}): Promise<ClickHouseClient> {
  const database = opts.database ?? CLICKHOUSE_DEFAULTS.database;
  const quoted = quoteIdent(database, 'database name');
  if (opts.url) {
    const auth = { username: opts.username, password: opts.password };
    // A server refuses every request naming a database that does not exist yet, so create it first.
    const bootstrap = createClient({ url: opts.url, ...auth });
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoted}` });
    } catch (error) {
      throw new Error(`ClickHouse at ${opts.url}: cannot create database ${database}: ${(error as Error).message}`, { cause: error });
    } finally {
      await bootstrap.close();
    }
    return createClient({ url: opts.url, ...auth, database });
  }
  const engine = acquireEngine(opts.dataDir ?? CLICKHOUSE_DEFAULTS.dataDir);
  try {
    await enqueue(engine, async () => (await engine.connection).command({ query: `CREATE DATABASE IF NOT EXISTS ${quoted}` }));
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

/** One query over the embedded session, as ClickHouse's HTTP interface runs it (see openEmbeddedSession). */
export interface EmbeddedQuery {
  query: string;
  /** Database for unqualified names; the session's default database when unset. */
  database?: string;
  /** Output format unless the query names one with FORMAT. */
  format: string;
  /** Settings for this query only (SET before it, back to DEFAULT after it). */
  settings?: Record<string, string>;
  /** Values of {name:Type} placeholders, in ClickHouse's text form. */
  params?: Record<string, string>;
  /** Run under ClickHouse's readonly = 1: writes, DDL, SYSTEM, table functions and setting changes are refused. */
  readOnly: boolean;
  queryId?: string;
}

export interface EmbeddedQueryResult {
  body: Buffer;
  readRows: number;
  readBytes: number;
  elapsedNs: number;
}

/** Raw queries over this process's chDB session, serialized with every other client's calls (the HTTP interface's engine side). */
export interface EmbeddedSession {
  readonly dataDir: string;
  readonly database: string;
  run(query: EmbeddedQuery): Promise<EmbeddedQueryResult>;
  close(): Promise<void>;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/**
 * Opens (or joins) the embedded engine for raw queries in any format. Each run takes the session alone, like every
 * client call: USE its database, SET its settings, then `readonly = 1` when asked, runs the query, and puts readonly and
 * the settings back to DEFAULT before the next call, so nothing of an analyst's query outlives it on the session the
 * platform writes through. (chDB accepts `SET readonly = DEFAULT` in read-only mode: that is how it is lifted again, and
 * why the HTTP interface refuses that statement from analysts before the engine sees it.)
 */
export async function openEmbeddedSession(opts: { dataDir?: string; database?: string } = {}): Promise<EmbeddedSession> {
  const database = opts.database ?? CLICKHOUSE_DEFAULTS.database;
  const quoted = quoteIdent(database, 'database name');
  const engine = acquireEngine(opts.dataDir ?? CLICKHOUSE_DEFAULTS.dataDir);
  try {
    await enqueue(engine, async () => (await engine.connection).command({ query: `CREATE DATABASE IF NOT EXISTS ${quoted}` }));
  } catch (error) {
    await releaseEngine(engine);
    throw new Error(`chDB in ${engine.dir}: cannot create database ${database}: ${(error as Error).message}`, { cause: error });
  }
  let closed = false;
  return {
    dataDir: engine.dir,
    database,
    run(q) {
      if (closed) return Promise.reject(new Error(`chDB session (${engine.dir}) is closed`));
      return enqueue(engine, async () => {
        const conn = await engine.connection;
        const db = q.database ?? database;
        if (engine.currentDatabase !== db) {
          await conn.command({ query: `USE ${quoteIdent(db, 'database name')}` });
          engine.currentDatabase = db;
        }
        const applied: string[] = [];
        let readOnlySet = false;
        try {
          for (const [k, v] of Object.entries(q.settings ?? {})) {
            const name = quoteIdent(k, 'setting name').slice(1, -1);
            await conn.command({ query: `SET ${name} = ${settingLiteral(k, v)}` });
            applied.push(name);
          }
          if (q.readOnly) {
            readOnlySet = true;
            await conn.command({ query: 'SET readonly = 1' });
          }
          const started = process.hrtime.bigint();
          const result = await conn.exec({
            query: q.query,
            query_id: q.queryId,
            query_params: q.params && Object.keys(q.params).length > 0 ? q.params : undefined,
            clickhouse_settings: { default_format: q.format as never },
          });
          const body = await collect(result.stream as AsyncIterable<unknown>);
          const summary = (result as { summary?: { read_rows?: string; read_bytes?: string; elapsed_ns?: string } }).summary;
          return {
            body,
            readRows: Number(summary?.read_rows ?? 0),
            readBytes: Number(summary?.read_bytes ?? 0),
            elapsedNs: Number(summary?.elapsed_ns ?? process.hrtime.bigint() - started),
          };
        } finally {
          // readonly first: while it is set, no other setting can be put back. Every reset is tried even if one fails.
          const resets = [...(readOnlySet || applied.includes('readonly') ? ['readonly'] : []), ...applied.filter((k) => k !== 'readonly')];
          let failed: unknown;
          for (const k of resets) await conn.command({ query: `SET ${k} = DEFAULT` }).catch((error: unknown) => { failed ??= error; });
          // A read-write query is not checked statement by statement: the next call selects its database afresh.
          if (!q.readOnly) engine.currentDatabase = undefined;
          if (failed) throw new Error(`chDB ${engine.dir}: cannot put the session's settings back after a query: ${(failed as Error).message}`, { cause: failed });
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await releaseEngine(engine);
    },
  };
}
