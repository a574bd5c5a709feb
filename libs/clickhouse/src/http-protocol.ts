// ClickHouse's HTTP interface, as far as a client sees it, in pure functions: how a request names its query,
// database, format, credentials, settings and {name:Type} parameters; which statements a read-only user may run;
// and the headers, status codes and error text a response carries. The server (./http-server) runs what these
// functions decide over the process's chDB session.

/** A ClickHouse error: its numeric code, its name (the `(NAME)` at the end of the text) and message. */
export class ClickHouseHttpError extends Error {
  constructor(readonly code: number, readonly codeName: string, message: string) {
    super(message);
    this.name = 'ClickHouseHttpError';
  }
}

/** The ClickHouse error codes this interface raises itself (the engine's own errors keep theirs). */
export const CH_ERRORS = {
  BAD_ARGUMENTS: 36,
  SYNTAX_ERROR: 62,
  READONLY: 164,
  REQUIRED_PASSWORD: 194,
  QUERY_IS_TOO_LARGE: 202,
  AUTHENTICATION_FAILED: 516,
  UNKNOWN_FORMAT: 73,
  NOT_IMPLEMENTED: 48,
} as const;

/** HTTP status of a ClickHouse error code, as ClickHouse's HTTPHandler maps them (exceptionCodeToHTTPStatus). */
export function httpStatusOf(code: number): number {
  if (code === 194) return 401; // REQUIRED_PASSWORD
  if ([192, 193, 516, 512].includes(code)) return 403; // UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, SET_NON_GRANTED_ROLE
  // BAD_ARGUMENTS, CANNOT_PARSE_*, DUPLICATE_COLUMN, ILLEGAL_COLUMN, THERE_IS_NO_COLUMN, TOO_DEEP/BIG_AST, SYNTAX_ERROR,
  // INCORRECT_DATA, TYPE_MISMATCH, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, …
  if ([36, 427, 6, 25, 26, 38, 41, 72, 27, 15, 44, 8, 167, 168, 62, 117, 53, 321].includes(code)) return 400;
  // UNKNOWN_TABLE, UNKNOWN_FUNCTION, UNKNOWN_IDENTIFIER, UNKNOWN_TYPE, UNKNOWN_STORAGE, UNKNOWN_DATABASE, UNKNOWN_SETTING,
  // UNKNOWN_AGGREGATE_FUNCTION, UNKNOWN_FORMAT, UNKNOWN_DATABASE_ENGINE, UNKNOWN_TYPE_OF_QUERY, UNKNOWN_ROLE
  if ([60, 46, 47, 50, 56, 81, 115, 63, 73, 336, 78, 511].includes(code)) return 404;
  if (code === 202) return 413; // QUERY_IS_TOO_LARGE
  if (code === 48) return 501; // NOT_IMPLEMENTED
  if (code === 209 || code === 76) return 503; // SOCKET_TIMEOUT, CANNOT_OPEN_FILE
  if (code === 159) return 408; // TIMEOUT_EXCEEDED
  return 500;
}

/**
 * The error body ClickHouse sends: `Code: N. DB::Exception: <message>. (NAME) (version V)\n`. A message that is already
 * in that form (chDB's own errors) is kept as it is.
 */
export function errorBody(error: ClickHouseHttpError, version: string): string {
  const text = error.message.trim();
  if (/^Code: \d+\. DB::Exception: /.test(text)) return `${text}${/\(version [^)]*\)$/.test(text) ? '' : ` (version ${version})`}\n`;
  return `Code: ${error.code}. DB::Exception: ${text.replace(/\.$/, '')}. (${error.codeName}) (version ${version})\n`;
}

/** An engine error as a ClickHouseHttpError: its `Code: N. … (NAME)` text parsed, anything else an internal error (1001, STD_EXCEPTION). */
export function asClickHouseError(error: unknown): ClickHouseHttpError {
  if (error instanceof ClickHouseHttpError) return error;
  const candidates: unknown[] = [error, (error as { cause?: unknown })?.cause];
  for (const c of candidates) {
    const message = c instanceof Error ? c.message : typeof c === 'string' ? c : undefined;
    const m = message ? /Code: (\d+)\. DB::Exception: [\s\S]*\(([A-Z_0-9]+)\)(?: \(version [^)]*\))?\s*$/.exec(message.trim()) : null;
    if (m && message) return new ClickHouseHttpError(Number(m[1]), m[2], message.trim());
  }
  const coded = error as { code?: unknown; type?: unknown; message?: unknown };
  if (typeof coded?.code === 'string' && /^\d+$/.test(coded.code) && typeof coded.type === 'string') {
    return new ClickHouseHttpError(Number(coded.code), coded.type, String(coded.message ?? coded.type));
  }
  return new ClickHouseHttpError(1001, 'STD_EXCEPTION', error instanceof Error ? error.message : String(error));
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** What a request asks for, once its URL, headers and body are read. */
export interface HttpQueryRequest {
  /** The query text: the `query` parameter, a newline and the body (ClickHouse's rule), or either alone. */
  query: string;
  database?: string;
  /** `default_format`: the output format when the query has no FORMAT clause. */
  defaultFormat?: string;
  queryId?: string;
  user: string;
  /** Undefined when the request carried no password at all. */
  password?: string;
  /** Every other parameter: a ClickHouse setting for this query. */
  settings: Record<string, string>;
  /** `param_<name>` parameters, for `{name:Type}` placeholders; values in ClickHouse's text (escaped) form. */
  params: Record<string, string>;
}

/**
 * Parameters that belong to the HTTP layer of ClickHouse, not to a query's settings: they are read (or knowingly
 * ignored: sessions, compression, progress headers, which this interface does not offer) and never SET on the session.
 */
const HTTP_LAYER_PARAMS = new Set([
  'query', 'database', 'default_format', 'user', 'password', 'query_id', 'quota_key', 'role',
  'session_id', 'session_timeout', 'session_check', 'compress', 'buffer_size', 'wait_end_of_query',
  'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_response_buffer_size', 'enable_http_compression',
  'http_zlib_compression_level', 'http_native_compression_disable_checksumming_on_decompress', 'http_send_progress_interval_ms',
  'http_response_compression_method', 'cancel_http_readonly_queries_on_client_close', 'http_wait_end_of_query', 'stacktrace',
  'client_protocol_version', 'add_http_cors_header',
]);

export interface RawHttpRequest {
  method: string;
  /** Path and query string, as in the request line. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function header(headers: RawHttpRequest['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a query request the way ClickHouse's HTTP handler does; refuses what it cannot serve (ClickHouseHttpError). */
export function parseHttpQuery(req: RawHttpRequest): HttpQueryRequest {
  if (req.method !== 'GET' && req.method !== 'POST') {
    throw new ClickHouseHttpError(CH_ERRORS.BAD_ARGUMENTS, 'BAD_ARGUMENTS', `HTTP method ${req.method} is not supported: expected GET or POST`);
  }
  const search = new URL(req.url, 'http://localhost').searchParams;
  if (search.get('decompress') === '1' || search.get('compress') === '1') {
    throw new ClickHouseHttpError(CH_ERRORS.NOT_IMPLEMENTED, 'NOT_IMPLEMENTED', 'ClickHouse\'s internal compression (compress=1, decompress=1) is not supported by embedded chDB\'s HTTP interface: use Content-Encoding/Accept-Encoding or none');
  }
  const queryParam = search.get('query') ?? '';
  // ClickHouse: the query parameter, then a newline, then the body (the body may be the rest of the query).
  const query = queryParam && req.body ? `${queryParam}\n${req.body}` : queryParam || req.body;

  const headerUser = header(req.headers, 'x-clickhouse-user');
  const headerKey = header(req.headers, 'x-clickhouse-key');
  const authorization = header(req.headers, 'authorization');
  const paramUser = search.get('user') ?? undefined;
  const paramPassword = search.get('password') ?? undefined;
  let basic: { user: string; password: string } | undefined;
  if (authorization) {
    const m = /^Basic\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw new ClickHouseHttpError(CH_ERRORS.AUTHENTICATION_FAILED, 'AUTHENTICATION_FAILED', 'Authorization: expected HTTP Basic credentials');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    basic = colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const ways = [headerUser !== undefined || headerKey !== undefined, basic !== undefined, paramUser !== undefined || paramPassword !== undefined].filter(Boolean).length;
  if (ways > 1) {
    throw new ClickHouseHttpError(CH_ERRORS.BAD_ARGUMENTS, 'BAD_ARGUMENTS',
      'Invalid authentication: it is not allowed to use Authorization HTTP header, X-ClickHouse-User/X-ClickHouse-Key headers and user/password parameters simultaneously');
  }
  const user = headerUser ?? basic?.user ?? paramUser ?? 'default';
  const password = headerKey ?? basic?.password ?? paramPassword;

  const settings: Record<string, string> = {};
  const params: Record<string, string> = {};
  for (const [key, value] of search) {
    if (key.startsWith('param_')) params[key.slice('param_'.length)] = value;
    else if (!HTTP_LAYER_PARAMS.has(key)) settings[key] = value;
  }
  const database = search.get('database') ?? header(req.headers, 'x-clickhouse-database') ?? undefined;
  const defaultFormat = search.get('default_format') ?? header(req.headers, 'x-clickhouse-format') ?? undefined;
  const queryId = search.get('query_id') ?? undefined;
  return { query, database: database || undefined, defaultFormat: defaultFormat || undefined, queryId: queryId || undefined, user, password, settings, params };
}

// ---------------------------------------------------------------------------------------------------------------
// Statements

interface Token {
  kind: 'word' | 'string' | 'quoted' | 'number' | 'punct';
  text: string;
}

/**
 * The tokens of a query, following ClickHouse's lexer where it matters for telling statements apart: '…' strings,
 * `…` and "…" identifiers (backslash escapes and doubled quotes), -- and `# `/`#!` line comments, nested /* *\/
 * comments. Anything this reader is not sure to read as ClickHouse does (a heredoc $$…$$, an unterminated string
 * or comment) is refused rather than guessed.
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  const fail = (what: string) => {
    throw new ClickHouseHttpError(CH_ERRORS.SYNTAX_ERROR, 'SYNTAX_ERROR', `Syntax error: ${what} at position ${i + 1}`);
  };
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && sql[i + 1] === '-') { while (i < n && sql[i] !== '\n') i++; continue; }
    if (c === '#' && (sql[i + 1] === ' ' || sql[i + 1] === '!')) { while (i < n && sql[i] !== '\n') i++; continue; }
    if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth++; i += 2; } else if (sql[i] === '*' && sql[i + 1] === '/') { depth--; i += 2; } else i++;
      }
      if (depth > 0) fail('unterminated comment');
      continue;
    }
    if (c === '\'' || c === '"' || c === '`') {
      const start = i;
      i++;
      for (;;) {
        if (i >= n) fail('unterminated quoted text');
        if (sql[i] === '\\') { i += 2; continue; }
        if (sql[i] === c) {
          if (sql[i + 1] === c) { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      tokens.push({ kind: c === '\'' ? 'string' : 'quoted', text: sql.slice(start, i) });
      continue;
    }
    if (c === '$') fail('heredoc or $ outside a string is not supported by this interface');
    if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_]/.test(sql[i])) i++;
      tokens.push({ kind: 'word', text: sql.slice(start, i) });
      continue;
    }
    if (/[0-9]/.test(c)) {
      const start = i;
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i])) {
        // 1e-5: a sign right after an exponent belongs to the number.
        if ((sql[i] === 'e' || sql[i] === 'E') && (sql[i + 1] === '-' || sql[i + 1] === '+')) i++;
        i++;
      }
      tokens.push({ kind: 'number', text: sql.slice(start, i) });
      continue;
    }
    tokens.push({ kind: 'punct', text: c });
    i++;
  }
  return tokens;
}

/** Statements a read-only analyst may run: they read, and none of them can change a setting for later statements. */
const READ_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN']);

/**
 * Refuses (READONLY, 164; or SYNTAX_ERROR for several statements) what a read-only user must not run, before the
 * engine sees it. ClickHouse's own readonly=1, set around every analyst query, refuses writes, DDL, SYSTEM and setting
 * changes; this check closes what chDB lets through even so: `SET readonly = DEFAULT` (accepted in read-only mode,
 * and it lifts it), a `SETTINGS readonly = …` clause, `INTO OUTFILE` (chDB writes the file on this machine), `USE`
 * (it would outlive the query on the shared session), and a second statement after `;`.
 */
export function assertReadOnlyStatement(sql: string, user: string): void {
  const tokens = tokenize(sql);
  const refuse = (why: string): never => {
    throw new ClickHouseHttpError(CH_ERRORS.READONLY, 'READONLY', `${user}: Cannot execute query in readonly mode: ${why}`);
  };
  // A trailing `;` ends the one statement; anything after it is a second one.
  let end = tokens.length;
  while (end > 0 && tokens[end - 1].text === ';') end--;
  const statement = tokens.slice(0, end);
  if (statement.some((t) => t.text === ';')) {
    throw new ClickHouseHttpError(CH_ERRORS.SYNTAX_ERROR, 'SYNTAX_ERROR', 'Syntax error: Multi-statements are not allowed');
  }
  if (statement.length === 0) throw new ClickHouseHttpError(CH_ERRORS.SYNTAX_ERROR, 'SYNTAX_ERROR', 'Empty query');
  const first = statement.find((t) => t.text !== '(');
  const keyword = first?.kind === 'word' ? first.text.toUpperCase() : '';
  if (!READ_STATEMENTS.has(keyword)) refuse(`only ${[...READ_STATEMENTS].join(', ')} queries are allowed, got ${keyword || first?.text}`);
  let inSettings = false;
  for (let k = 0; k < statement.length; k++) {
    const t = statement[k];
    if (t.kind !== 'word') continue;
    const word = t.text.toUpperCase();
    if (word === 'OUTFILE') refuse('INTO OUTFILE writes a file on the server');
    // `SETTINGS` the clause, not `system.settings`.
    if (word === 'SETTINGS' && statement[k - 1]?.text !== '.') inSettings = true;
    else if (inSettings && word === 'READONLY') refuse('the readonly setting cannot be changed');
  }
}

/** The first word of a query, upper-cased, past leading blanks and comments; reads nothing further (an INSERT's data may follow). */
export function firstKeyword(sql: string): string | undefined {
  return /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z_]+)/.exec(sql)?.[1]?.toUpperCase();
}

/**
 * Refuses, for a read-write user, the statements whose effect would outlive the query on the shared session: SET and
 * USE (settings and the database are URL parameters, `SET`/`USE`'d around the query and put back after it). Only the
 * first word is read: the rest of a read-write request may be an INSERT's data, in any format.
 */
export function assertNoSessionStatement(sql: string): void {
  const first = firstKeyword(sql);
  if (first === 'SET' || first === 'USE') {
    throw new ClickHouseHttpError(CH_ERRORS.BAD_ARGUMENTS, 'BAD_ARGUMENTS',
      `${first} would outlive this query on the embedded session the platform shares: pass ${first === 'SET' ? 'settings as URL parameters' : 'the database as the database parameter'} instead`);
  }
}

/**
 * The output format of a query: its own `FORMAT` clause, else `default_format`, else TabSeparated. An INSERT's FORMAT
 * names its input, and its text may carry data in any format, which is not read here.
 */
export function outputFormatOf(sql: string, defaultFormat: string | undefined): string {
  const fallback = defaultFormat ?? HTTP_DEFAULT_FORMAT;
  if (firstKeyword(sql) === 'INSERT') return fallback;
  try {
    return formatClauseOf(sql) ?? fallback;
  } catch {
    // Text this reader cannot follow is the engine's to refuse (read-only users' queries were tokenized already).
    return fallback;
  }
}

/** The format a query's own `FORMAT <name>` clause names (its last top-level one), if any. */
export function formatClauseOf(sql: string): string | undefined {
  const tokens = tokenize(sql);
  let end = tokens.length;
  while (end > 0 && tokens[end - 1].text === ';') end--;
  for (let k = end - 2; k >= 0; k--) {
    if (tokens[k].kind === 'word' && tokens[k].text.toUpperCase() === 'FORMAT' && (tokens[k + 1].kind === 'word' || tokens[k + 1].kind === 'quoted')) {
      // FORMAT is followed by the name and, at most, a SETTINGS clause; a later word means this FORMAT was something else.
      const rest = tokens.slice(k + 2, end);
      if (rest.length === 0 || (rest[0].kind === 'word' && rest[0].text.toUpperCase() === 'SETTINGS')) return tokens[k + 1].text.replace(/^[`"]|[`"]$/g, '');
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

/** ClickHouse's default output format over HTTP. */
export const HTTP_DEFAULT_FORMAT = 'TabSeparated';

/** The Content-Type ClickHouse sends for an output format. */
export function contentTypeOf(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (f === 'csvwithnames' || f === 'csvwithnamesandtypes') return 'text/csv; charset=UTF-8; header=present';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8; header=absent';
  // One JSON value per line (JSONEachRow, JSONCompactEachRow…, JSONLines, NDJSON) against one JSON document.
  if (f.includes('eachrow') || f === 'jsonlines' || f === 'ndjson') return 'application/x-ndjson; charset=UTF-8';
  if (f.startsWith('json')) return 'application/json; charset=UTF-8';
  if (f === 'xml') return 'application/xml; charset=UTF-8';
  const text = ['vertical', 'markdown', 'values', 'null', 'lineasstring', 'template', 'prettyspace'];
  if (f.startsWith('pretty') || f.startsWith('raw') || text.includes(f)) return 'text/plain; charset=UTF-8';
  // Native, RowBinary*, Parquet, Arrow, ORC, Avro, …
  return 'application/octet-stream';
}

/** The X-ClickHouse-Summary header's JSON: ClickHouse sends every figure as a string. */
export function summaryHeader(s: { readRows: number; readBytes: number; resultRows: number; resultBytes: number; elapsedNs: number }): string {
  return JSON.stringify({
    read_rows: String(s.readRows), read_bytes: String(s.readBytes), written_rows: '0', written_bytes: '0',
    total_rows_to_read: '0', result_rows: String(s.resultRows), result_bytes: String(s.resultBytes), elapsed_ns: String(s.elapsedNs),
  });
}
