import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoSessionStatement, assertReadOnlyStatement, asClickHouseError, ClickHouseHttpError, contentTypeOf, errorBody, firstKeyword, formatClauseOf,
  httpStatusOf, outputFormatOf, parseHttpQuery,
} from './http-protocol';

const get = (url: string, headers: Record<string, string> = {}) => parseHttpQuery({ method: 'GET', url, headers, body: '' });

test('the query comes from the query parameter, the body, or the parameter, a newline and the body', () => {
  assert.equal(get('/?query=SELECT%201').query, 'SELECT 1');
  assert.equal(parseHttpQuery({ method: 'POST', url: '/', headers: {}, body: 'SELECT 2' }).query, 'SELECT 2');
  assert.equal(parseHttpQuery({ method: 'POST', url: '/?query=SELECT', headers: {}, body: '3' }).query, 'SELECT\n3');
});

test('database, default_format, query_id, param_* and settings are told apart', () => {
  const r = get('/?query=SELECT%20{x:UInt8}&database=db1&default_format=JSON&query_id=q1&param_x=7&max_threads=2&wait_end_of_query=1&session_id=s');
  assert.equal(r.database, 'db1');
  assert.equal(r.defaultFormat, 'JSON');
  assert.equal(r.queryId, 'q1');
  assert.deepEqual(r.params, { x: '7' });
  assert.deepEqual(r.settings, { max_threads: '2' }, 'HTTP-layer parameters (wait_end_of_query, session_id) are not settings');
});

test('credentials: X-ClickHouse headers, HTTP Basic or parameters; default user without any; mixing is refused', () => {
  assert.deepEqual(pick(get('/?query=1', { 'x-clickhouse-user': 'ana', 'x-clickhouse-key': 'pw' })), { user: 'ana', password: 'pw' });
  const basic = `Basic ${Buffer.from('ana:p:w').toString('base64')}`;
  assert.deepEqual(pick(get('/?query=1', { authorization: basic })), { user: 'ana', password: 'p:w' });
  assert.deepEqual(pick(get('/?query=1&user=ana&password=pw')), { user: 'ana', password: 'pw' });
  assert.deepEqual(pick(get('/?query=1')), { user: 'default', password: undefined });
  assert.throws(() => get('/?query=1&user=ana', { authorization: basic }), (e: ClickHouseHttpError) => e.code === 36);
});

function pick(r: { user: string; password?: string }) {
  return { user: r.user, password: r.password };
}

test('read-only statements pass; writes, DDL, SYSTEM, SET, USE, several statements and lifting readonly do not', () => {
  for (const ok of [
    'SELECT 1', '  -- a comment\nSELECT 1;', '(SELECT 1) UNION ALL (SELECT 2)', 'WITH 1 AS x SELECT x', 'SHOW TABLES', 'DESCRIBE TABLE t',
    'DESC t', 'EXISTS TABLE t', 'EXPLAIN SELECT 1', "SELECT ';' , 'DROP TABLE t'", 'SELECT name, readonly FROM system.settings',
    'SELECT 1 SETTINGS max_threads = 1', '/* nested /* comment */ */ SELECT 1', 'SELECT `a;b` FROM t FORMAT JSON',
  ]) assert.doesNotThrow(() => assertReadOnlyStatement(ok, 'ana'), ok);
  for (const [bad, code] of [
    ['INSERT INTO t VALUES (1)', 164], ['CREATE TABLE t (a Int8) ENGINE = Memory', 164], ['ALTER TABLE t DELETE WHERE 1', 164],
    ['DROP TABLE t', 164], ['SYSTEM DROP MARK CACHE', 164], ['SET readonly = 0', 164], ['SET readonly = DEFAULT', 164], ['USE system', 164],
    ['SELECT 1 SETTINGS readonly = 0', 164], ['SELECT 1 SETTINGS max_threads = 1, ReadOnly = DEFAULT', 164],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", 164], ['SELECT 1; DROP TABLE t', 62], ["SELECT 1 # '\n; DROP TABLE t; -- '", 62],
    ['SELECT $$x$$', 62], ["SELECT 'unterminated", 62], ['', 62], ['OPTIMIZE TABLE t', 164], ['KILL QUERY WHERE 1', 164],
  ] as const) {
    assert.throws(() => assertReadOnlyStatement(bad, 'ana'), (e: ClickHouseHttpError) => e.code === code, bad);
  }
});

test('the FORMAT clause names the output format; a column called format does not', () => {
  assert.equal(formatClauseOf('SELECT 1 FORMAT JSONEachRow'), 'JSONEachRow');
  assert.equal(formatClauseOf('SELECT 1 FORMAT CSV SETTINGS max_threads=1;'), 'CSV');
  assert.equal(formatClauseOf('SELECT format FROM t'), undefined);
  assert.equal(formatClauseOf("SELECT 'FORMAT JSON'"), undefined);
  assert.equal(outputFormatOf('SELECT 1', 'JSON'), 'JSON');
  assert.equal(outputFormatOf('SELECT 1 FORMAT CSV', 'JSON'), 'CSV');
  assert.equal(outputFormatOf("INSERT INTO t FORMAT TSV\nit's\t$1\n", undefined), 'TabSeparated', 'an INSERT\'s data is not read');
});

test('the first keyword and a read-write user\'s SET and USE', () => {
  assert.equal(firstKeyword('  -- c\n/* d */ insert INTO t'), 'INSERT');
  assert.throws(() => assertNoSessionStatement('SET max_threads = 1'), (e: ClickHouseHttpError) => e.code === 36);
  assert.throws(() => assertNoSessionStatement('-- x\nuse system'), (e: ClickHouseHttpError) => e.code === 36);
  assert.doesNotThrow(() => assertNoSessionStatement("INSERT INTO t FORMAT TSV\nSET\n"));
});

test('content types, status codes and the error text follow ClickHouse', () => {
  assert.equal(contentTypeOf('TabSeparated'), 'text/tab-separated-values; charset=UTF-8');
  assert.equal(contentTypeOf('JSON'), 'application/json; charset=UTF-8');
  assert.equal(contentTypeOf('CSVWithNames'), 'text/csv; charset=UTF-8; header=present');
  assert.equal(contentTypeOf('Native'), 'application/octet-stream');
  assert.equal(contentTypeOf('JSONCompactEachRowWithNamesAndTypes'), 'application/x-ndjson; charset=UTF-8');
  assert.equal(contentTypeOf('PrettyCompact'), 'text/plain; charset=UTF-8');
  assert.equal(httpStatusOf(60), 404);
  assert.equal(httpStatusOf(62), 400);
  assert.equal(httpStatusOf(194), 401);
  assert.equal(httpStatusOf(516), 403);
  assert.equal(httpStatusOf(164), 500);
  assert.equal(errorBody(new ClickHouseHttpError(164, 'READONLY', 'ana: Cannot execute query in readonly mode'), '26.7'),
    'Code: 164. DB::Exception: ana: Cannot execute query in readonly mode. (READONLY) (version 26.7)\n');
  const engine = asClickHouseError(new Error('Code: 60. DB::Exception: Unknown table expression identifier \'nope\'. (UNKNOWN_TABLE)'));
  assert.equal(engine.code, 60);
  assert.equal(engine.codeName, 'UNKNOWN_TABLE');
  assert.equal(errorBody(engine, '26.7'), 'Code: 60. DB::Exception: Unknown table expression identifier \'nope\'. (UNKNOWN_TABLE) (version 26.7)\n');
});
