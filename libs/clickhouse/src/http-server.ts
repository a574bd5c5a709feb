import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { EmbeddedSession } from './client';
import {
  assertNoSessionStatement, assertReadOnlyStatement, asClickHouseError, CH_ERRORS, ClickHouseHttpError, contentTypeOf, errorBody,
  httpStatusOf, outputFormatOf, parseHttpQuery, summaryHeader,
} from './http-protocol';

/** A user of the HTTP interface. */
export interface ClickHouseHttpUser {
  name: string;
  /** Empty: no password (the interface refuses that off loopback, see clickHouseHttpProblems). */
  password: string;
  /** Queries run under readonly = 1 behind the statement check (analysts); false: a read-write service user. */
  readOnly: boolean;
}

export interface ClickHouseHttpOptions {
  session: EmbeddedSession;
  host: string;
  /** 0: any free port. */
  port: number;
  users: readonly ClickHouseHttpUser[];
  /**
   * A user not among `users` is let in as a read-only account when this accepts its name and password (the platform's
   * API tokens with scope `read`: user = the token's name, password = the token). Absent: only `users`.
   */
  authenticate?: (user: string, password: string) => boolean;
  /** Largest request body (the query, or the query and its data); default 16 MiB. */
  maxBodyBytes?: number;
  /** X-ClickHouse-Server-Display-Name; default the machine's host name. */
  displayName?: string;
  /** Told about every failed query (not the refusals' bodies: those go to the client). */
  onError?: (error: ClickHouseHttpError, user: string) => void;
}

export interface ClickHouseHttpServer {
  /** http://host:port of the interface. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether a listen address only takes connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Why these users cannot be served on this host (empty: they can). A user without a password is only allowed on a
 * loopback address: anyone who reaches the port could read every table otherwise.
 */
export function clickHouseHttpProblems(host: string, users: readonly ClickHouseHttpUser[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const u of users) {
    if (!u.name) problems.push('a ClickHouse HTTP user needs a name');
    if (names.has(u.name)) problems.push(`ClickHouse HTTP user ${u.name} is defined twice: give each user its own name`);
    names.add(u.name);
    if (!u.password && !isLoopbackHost(host)) {
      problems.push(`ClickHouse HTTP user ${u.name} has no password and the interface would listen on ${host}: set its password, or listen on 127.0.0.1`);
    }
  }
  return problems;
}

const DEFAULT_MAX_BODY = 16 * 1024 * 1024;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function samePassword(given: string, expected: string): boolean {
  // Digests of equal length, compared in constant time: neither the password nor its length leaks through timing.
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw new ClickHouseHttpError(CH_ERRORS.QUERY_IS_TOO_LARGE, 'QUERY_IS_TOO_LARGE', `Request body is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
  try {
    if (!encoding || encoding === 'identity') return raw.toString('utf8');
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(raw).toString('utf8');
    if (encoding === 'deflate') return inflateSync(raw).toString('utf8');
    if (encoding === 'br') return brotliDecompressSync(raw).toString('utf8');
  } catch (error) {
    throw new ClickHouseHttpError(CH_ERRORS.BAD_ARGUMENTS, 'BAD_ARGUMENTS', `Cannot decompress the request body (${encoding}): ${(error as Error).message}`);
  }
  throw new ClickHouseHttpError(CH_ERRORS.NOT_IMPLEMENTED, 'NOT_IMPLEMENTED', `Content-Encoding ${encoding} is not supported: expected gzip, deflate, br or none`);
}

/**
 * Serves ClickHouse's HTTP interface over the embedded chDB session: `/` (queries), `/ping` and `/replicas_status`.
 * Read-only users' queries pass assertReadOnlyStatement and run under readonly = 1; see docs/clickhouse.md.
 */
export async function startClickHouseHttp(opts: ClickHouseHttpOptions): Promise<ClickHouseHttpServer> {
  const problems = clickHouseHttpProblems(opts.host, opts.users);
  if (problems.length > 0) throw new Error(`cannot start the ClickHouse HTTP interface: ${problems.join('; ')}`);
  const users = new Map(opts.users.map((u) => [u.name, u]));
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const displayName = opts.displayName ?? hostname();
  // The engine's version and time zone, for the error text and X-ClickHouse-Timezone.
  const about = (await opts.session.run({ query: 'SELECT version(), timezone()', format: 'TabSeparated', readOnly: true })).body.toString('utf8').trim().split('\t');
  const version = about[0] || 'chdb';
  const timezone = about[1] || 'UTC';

  const sendError = (res: ServerResponse, error: ClickHouseHttpError, queryId: string) => {
    const body = errorBody(error, version);
    res.writeHead(httpStatusOf(error.code), {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(error.code),
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Server-Display-Name': displayName,
      'X-ClickHouse-Timezone': timezone,
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if ((url.pathname === '/ping' || url.pathname === '/replicas_status') && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 4 });
      res.end(method === 'HEAD' ? undefined : 'Ok.\n');
      return;
    }
    let queryId = url.searchParams.get('query_id') || randomUUID();
    if (url.pathname !== '/') {
      const text = `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`;
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    let user = 'default';
    try {
      const body = method === 'POST' ? await readBody(req, maxBody) : '';
      if (method === 'GET' && !url.searchParams.has('query')) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 4 });
        res.end('Ok.\n');
        return;
      }
      const parsed = parseHttpQuery({ method, url: req.url ?? '/', headers: req.headers, body });
      user = parsed.user;
      queryId = parsed.queryId ?? queryId;
      let account = users.get(parsed.user);
      if (!account && parsed.password !== undefined && opts.authenticate?.(parsed.user, parsed.password)) {
        account = { name: parsed.user, password: parsed.password, readOnly: true };
      }
      if (account && parsed.password === undefined && account.password) {
        throw new ClickHouseHttpError(CH_ERRORS.REQUIRED_PASSWORD, 'REQUIRED_PASSWORD', `Password required for user ${parsed.user}`);
      }
      if (!account || !samePassword(parsed.password ?? '', account.password)) {
        throw new ClickHouseHttpError(CH_ERRORS.AUTHENTICATION_FAILED, 'AUTHENTICATION_FAILED',
          `${parsed.user}: Authentication failed: password is incorrect, or there is no user with such name`);
      }
      if (!parsed.query.trim()) throw new ClickHouseHttpError(CH_ERRORS.SYNTAX_ERROR, 'SYNTAX_ERROR', 'Empty query');
      if (parsed.database !== undefined && !IDENT.test(parsed.database)) {
        throw new ClickHouseHttpError(CH_ERRORS.BAD_ARGUMENTS, 'BAD_ARGUMENTS', `database ${JSON.stringify(parsed.database)}: expected a plain identifier (letters, digits, _)`);
      }
      const settings = { ...parsed.settings };
      if (account.readOnly) {
        assertReadOnlyStatement(parsed.query, account.name);
        // readonly = 1 is set around the query anyway: asking for it is fine, asking for less is refused.
        if (settings.readonly !== undefined) {
          if (settings.readonly !== '1') {
            throw new ClickHouseHttpError(CH_ERRORS.READONLY, 'READONLY', `${account.name}: Cannot modify 'readonly' setting in readonly mode`);
          }
          delete settings.readonly;
        }
      } else {
        assertNoSessionStatement(parsed.query);
      }
      for (const name of Object.keys(settings)) {
        if (!IDENT.test(name)) throw new ClickHouseHttpError(CH_ERRORS.BAD_ARGUMENTS, 'BAD_ARGUMENTS', `setting ${JSON.stringify(name)}: expected a setting name`);
      }
      const format = outputFormatOf(parsed.query, parsed.defaultFormat);
      const result = await opts.session.run({
        query: parsed.query, database: parsed.database, format, settings, params: parsed.params, readOnly: account.readOnly, queryId,
      });
      res.writeHead(200, {
        'Content-Type': contentTypeOf(format),
        'X-ClickHouse-Format': format,
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Server-Display-Name': displayName,
        'X-ClickHouse-Timezone': timezone,
        'X-ClickHouse-Summary': summaryHeader({
          readRows: result.readRows, readBytes: result.readBytes, resultRows: result.readRows, resultBytes: result.body.length, elapsedNs: result.elapsedNs,
        }),
        'Content-Length': result.body.length,
      });
      res.end(result.body);
    } catch (raw) {
      const error = asClickHouseError(raw);
      opts.onError?.(error, user);
      sendError(res, error, queryId);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Only a failure to write the response gets here: the connection is beyond answering.
      if (!res.headersSent) sendError(res, asClickHouseError(error), randomUUID());
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
