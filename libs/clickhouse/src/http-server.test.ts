import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { openEmbeddedSession, type EmbeddedSession } from './client';
import { clickHouseHttpProblems, startClickHouseHttp, type ClickHouseHttpServer } from './http-server';
import { insertRows } from './insert';
import { migrate } from './migrate';
import { queryRows } from './queries';
import { TABLES } from './schema';
import { openTestClickHouse, type TestClickHouse } from './test-support';

// A real chDB engine (temp dir) with the platform's tables, its client writing, and the HTTP interface over the same session.
let ch: TestClickHouse;
let session: EmbeddedSession;
let server: ClickHouseHttpServer;
const embedded = !process.env.CLICKHOUSE_URL;

before(async () => {
  if (!embedded) return;
  ch = await openTestClickHouse('chhttp');
  await migrate(ch.client, { database: ch.database });
  await insertRows(ch.client, TABLES.labels, [
    { pipeline: 'fraud', event_id: 'e1', label: 1, label_time: Date.UTC(2026, 0, 1) },
    { pipeline: 'fraud', event_id: 'e2', label: 0, label_time: Date.UTC(2026, 0, 1) },
  ]);
  session = await openEmbeddedSession({ dataDir: ch.options.dataDir, database: ch.database });
  server = await startClickHouseHttp({
    session, host: '127.0.0.1', port: 0,
    users: [{ name: 'analyst', password: 's3cret', readOnly: true }, { name: 'svc', password: 'w', readOnly: false }],
  });
});
after(async () => {
  await server?.close();
  await session?.close();
  await ch?.close();
});

const auth = (user = 'analyst', password = 's3cret') => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('ping, GET /?query=SELECT 1 and the response headers', { skip: !embedded && 'embedded chDB only (CLICKHOUSE_URL is set)' }, async () => {
  const ping = await fetch(`${server.url}/ping`);
  assert.equal(ping.status, 200);
  assert.equal(await ping.text(), 'Ok.\n');
  const r = await fetch(`${server.url}/?query=SELECT%201&query_id=my-query`, { headers: auth() });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), '1\n');
  assert.equal(r.headers.get('x-clickhouse-format'), 'TabSeparated');
  assert.equal(r.headers.get('content-type'), 'text/tab-separated-values; charset=UTF-8');
  assert.equal(r.headers.get('x-clickhouse-query-id'), 'my-query');
  assert.ok(r.headers.get('x-clickhouse-server-display-name'));
  assert.ok(r.headers.get('x-clickhouse-timezone'));
  const summary = JSON.parse(r.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
  assert.equal(summary.read_rows, '1');
  const json = await fetch(`${server.url}/?default_format=JSONEachRow`, { method: 'POST', headers: auth(), body: 'SELECT count() AS n FROM labels' });
  // chDB leaves 64-bit integers unquoted in JSON (output_format_json_quote_64bit_integers = 0), a server quotes them.
  assert.match(await json.text(), /^\{"n":"?2"?\}\n$/, 'the default database is the platform\'s');
  assert.equal(json.headers.get('content-type'), 'application/x-ndjson; charset=UTF-8');
  const clause = await fetch(`${server.url}/?query=SELECT%201%20AS%20x%20FORMAT%20JSONCompact`, { headers: auth() });
  assert.equal(clause.headers.get('x-clickhouse-format'), 'JSONCompact');
});

test('wrong or missing credentials are refused as ClickHouse refuses them', { skip: !embedded && 'embedded chDB only' }, async () => {
  const wrong = await fetch(`${server.url}/?query=SELECT%201`, { headers: auth('analyst', 'nope') });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.headers.get('x-clickhouse-exception-code'), '516');
  assert.match(await wrong.text(), /^Code: 516\. DB::Exception: analyst: Authentication failed: .*\(AUTHENTICATION_FAILED\) \(version [^)]+\)\n$/);
  const missing = await fetch(`${server.url}/?query=SELECT%201&user=analyst`);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('x-clickhouse-exception-code'), '194');
  const nobody = await fetch(`${server.url}/?query=SELECT%201`);
  assert.equal(nobody.headers.get('x-clickhouse-exception-code'), '516', 'the default user does not exist here');
});

test('the analyst cannot write, change the schema, run SYSTEM or lift readonly; the platform still can afterwards', { skip: !embedded && 'embedded chDB only' }, async () => {
  const refused = [
    "INSERT INTO labels (pipeline, event_id, label, label_time) VALUES ('fraud', 'x', 1, now64(3))",
    'CREATE TABLE t (a Int8) ENGINE = Memory', 'ALTER TABLE labels DELETE WHERE 1', 'DROP TABLE labels', 'SYSTEM DROP MARK CACHE',
    'SET readonly = 0', 'SET readonly = DEFAULT', 'SELECT 1 SETTINGS readonly = 0', "SELECT * FROM file('/etc/hostname', 'LineAsString')",
  ];
  for (const query of refused) {
    const r = await fetch(`${server.url}/`, { method: 'POST', headers: auth(), body: query });
    assert.equal(r.headers.get('x-clickhouse-exception-code'), '164', query);
    assert.match(await r.text(), /\(READONLY\)/, query);
  }
  const lift = await fetch(`${server.url}/?query=SELECT%201&readonly=0`, { headers: auth() });
  assert.equal(lift.headers.get('x-clickhouse-exception-code'), '164', 'a readonly=0 parameter');
  // The session is the platform's again: it writes, and its settings are back.
  await insertRows(ch.client, TABLES.labels, [{ pipeline: 'fraud', event_id: 'e3', label: 1, label_time: Date.UTC(2026, 0, 2) }]);
  const [row] = await queryRows<{ ro: string; db: string }>(ch.client, "SELECT getSetting('readonly') AS ro, currentDatabase() AS db");
  assert.equal(String(row.ro), '0');
  assert.equal(row.db, ch.database);
});

test('settings and database parameters last one query only', { skip: !embedded && 'embedded chDB only' }, async () => {
  const r = await fetch(`${server.url}/?query=SELECT%20getSetting('max_threads'),currentDatabase()&max_threads=3&database=system`, { headers: auth() });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(await r.text(), '3\tsystem\n');
  const [row] = await queryRows<{ t: string; db: string }>(ch.client, "SELECT toString(getSetting('max_threads')) AS t, currentDatabase() AS db");
  assert.notEqual(row.t, '3');
  assert.equal(row.db, ch.database);
});

test('engine errors keep their code, status and text', { skip: !embedded && 'embedded chDB only' }, async () => {
  const r = await fetch(`${server.url}/?query=SELECT%20*%20FROM%20no_such_table`, { headers: auth() });
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('x-clickhouse-exception-code'), '60');
  assert.match(await r.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
  const syntax = await fetch(`${server.url}/?query=SELECT%20(1`, { headers: auth() });
  assert.equal(syntax.status, 400);
  assert.equal(syntax.headers.get('x-clickhouse-exception-code'), '62');
});

test('@clickhouse/client works unchanged: query with {name:Type} parameters, formats, settings', { skip: !embedded && 'embedded chDB only' }, async () => {
  const client = createClient({ url: server.url, username: 'analyst', password: 's3cret', log: { level: ClickHouseLogLevel.OFF } });
  try {
    assert.equal((await client.ping()).success, true);
    const rs = await client.query({
      query: 'SELECT event_id, label FROM labels WHERE pipeline = {p:String} ORDER BY event_id',
      query_params: { p: 'fraud' }, format: 'JSONEachRow', clickhouse_settings: { max_threads: 2 },
    });
    const rows = await rs.json<{ event_id: string; label: number }>();
    assert.deepEqual(rows.map((r) => r.event_id).slice(0, 2), ['e1', 'e2']);
    const json = await (await client.query({ query: 'SELECT 1 AS one', format: 'JSON' })).json<{ one: number }>();
    assert.deepEqual(json.data, [{ one: 1 }]);
    await assert.rejects(client.command({ query: 'DROP TABLE labels' }), (e: { code?: string }) => e.code === '164');
    await assert.rejects(client.insert({ table: 'labels', values: [{ pipeline: 'fraud', event_id: 'z', label: 1, label_time: '2026-01-01 00:00:00' }], format: 'JSONEachRow' }),
      (e: { code?: string }) => e.code === '164');
  } finally {
    await client.close();
  }
});

test('a read-write service user can insert (the platform from a second process)', { skip: !embedded && 'embedded chDB only' }, async () => {
  const svc = createClient({ url: server.url, username: 'svc', password: 'w', database: ch.database });
  try {
    await svc.insert({ table: 'labels', values: [{ pipeline: 'svc', event_id: 's1', label: 1, label_time: '2026-01-03 00:00:00.000' }], format: 'JSONEachRow' });
    const rows = await (await svc.query({ query: "SELECT event_id FROM labels WHERE pipeline = 'svc'", format: 'JSONEachRow' })).json<{ event_id: string }>();
    assert.deepEqual(rows, [{ event_id: 's1' }]);
    // Its SET and USE would outlive the query on the platform's session: refused (settings and database are parameters).
    for (const query of ['SET max_threads = 1', '/* c */ USE system']) {
      const r = await fetch(`${server.url}/`, { method: 'POST', headers: auth('svc', 'w'), body: query });
      assert.equal(r.headers.get('x-clickhouse-exception-code'), '36', query);
    }
    // A readonly parameter after other settings: they are still put back (readonly first), and the platform writes on.
    const ro = await fetch(`${server.url}/?query=SELECT%201&max_threads=3&readonly=1`, { headers: auth('svc', 'w') });
    assert.equal(ro.status, 200, await ro.clone().text());
    const inSystem = createClient({ url: server.url, username: 'svc', password: 'w', database: 'system' });
    await inSystem.command({ query: 'SELECT 1' });
    await inSystem.close();
    const [row] = await queryRows<{ db: string }>(ch.client, 'SELECT currentDatabase() AS db');
    assert.equal(row.db, ch.database, 'the platform\'s client is back on its database');
    await insertRows(ch.client, TABLES.labels, [{ pipeline: 'svc', event_id: 's2', label: 0, label_time: Date.UTC(2026, 0, 4) }]);
  } finally {
    await svc.close();
  }
});

test('a user without a password is refused off loopback', () => {
  assert.deepEqual(clickHouseHttpProblems('127.0.0.1', [{ name: 'a', password: '', readOnly: true }]), []);
  assert.equal(clickHouseHttpProblems('0.0.0.0', [{ name: 'a', password: '', readOnly: true }]).length, 1);
  assert.deepEqual(clickHouseHttpProblems('0.0.0.0', [{ name: 'a', password: 'x', readOnly: true }]), []);
});
