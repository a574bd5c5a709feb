// ClickHouse's HTTP interface over embedded chDB, with the platform running as an operator runs it: process A
// (`streamloop start --target schema-registry,ingestion,training`) owns the chDB directory and serves the interface;
// process B (`--target monitoring`) has no chDB of its own and writes its sink through the interface's read-write
// service user (CLICKHOUSE_URL). Analysts' real clients, @clickhouse/client and Python's clickhouse-connect, then run
// docs/clickhouse.md's example queries unchanged, see the events B stored, and are refused every write.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { freePort, stopProcesses, waitForApi } from '../support/cli-process';
import { outputOf, startCliProcess, writeSpecFile, type ServiceProcess } from '../support/processes';
import { brokersOrSkip, eventually, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const ROOT = new URL('../..', import.meta.url).pathname;
const ANALYST = { user: 'analyst', password: 'analyst-pw' };
const SERVICE = { user: 'streamloop', password: 'service-pw' };

/** The SQL statements of docs/clickhouse.md's ```sql examples, as written (a block may hold several, ended by `;`). */
function docExampleQueries(): string[] {
  const doc = readFileSync(join(ROOT, 'docs/clickhouse.md'), 'utf8');
  const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
  const hasCode = (s: string) => s.split('\n').some((line) => line.trim() && !line.trim().startsWith('--'));
  return blocks.flatMap((b) => b.split(/;[ \t]*(?:--[^\n]*)?\n/)).map((s) => s.trim().replace(/;$/, '')).filter(hasCode);
}

const event = (pipeline: string, i: number) => ({
  transaction_id: `${pipeline}-tx-${i}`, event_time: Date.now() - i * 1000, card_id: `card-${i % 2}`, merchant_id: 'm-1',
  merchant_category: 'grocery', amount: 10 + i, currency: 'EUR', country: 'NL', is_online: false, device_id: null,
});

/** A venv with clickhouse-connect from PyPI (kept between runs in the temp dir); a reason to skip when it cannot be made. */
async function clickhouseConnectPython(): Promise<{ python: string } | { skip: string }> {
  const venv = join(tmpdir(), 'streamloop-clickhouse-connect-venv');
  const python = join(venv, 'bin', 'python');
  const run = promisify(execFile);
  try {
    if (!existsSync(python)) await run('python3', ['-m', 'venv', venv], { timeout: 60_000 });
    await run(python, ['-c', 'import clickhouse_connect']).catch(() => run(python, ['-m', 'pip', 'install', '-q', 'clickhouse-connect'], { timeout: 240_000 }));
    return { python };
  } catch (error) {
    return { skip: `cannot install clickhouse-connect from PyPI into ${venv}: ${(error as Error).message.split('\n')[0]}` };
  }
}

test('analysts query embedded chDB over ClickHouse\'s HTTP protocol while a second process writes through it', {
  skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 420_000,
}, async (t: TestContext) => {
  const pipeline = uniqueName('chhttp');
  const [apiA, apiB, registryPort, chPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const chUrl = `http://127.0.0.1:${chPort}`;
  // One environment for both processes, as an operator would share it; B differs only in CLICKHOUSE_URL and its port.
  const env = {
    KAFKA_BROKERS: brokers!.join(','),
    STREAMLOOP_PIPELINES: writeSpecFile(pipeline),
    CLICKHOUSE_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'streamloop-chhttp-')), 'chdb'),
    SCHEMA_REGISTRY_PORT: String(registryPort),
    SCHEMA_REGISTRY_TOPIC: uniqueName('_schemas'),
    CLICKHOUSE_HTTP_PORT: String(chPort),
    CLICKHOUSE_HTTP_USER: ANALYST.user,
    CLICKHOUSE_HTTP_PASSWORD: ANALYST.password,
    CLICKHOUSE_HTTP_SERVICE_USER: SERVICE.user,
    CLICKHOUSE_HTTP_SERVICE_PASSWORD: SERVICE.password,
    STREAMLOOP_DRIFT_INTERVAL: '5s',
  };
  const processes: ServiceProcess[] = [];
  // Its own log is off: the refusals below are expected errors.
  const analyst = createClient({ url: chUrl, username: ANALYST.user, password: ANALYST.password, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const owner = startCliProcess('owner', ['start', '--target', 'schema-registry,ingestion,training', '--port', String(apiA)], env);
    processes.push(owner);
    await waitForApi(`http://127.0.0.1:${apiA}`, owner);
    await eventually(() => owner.output().includes(`ClickHouse HTTP ${chUrl}`) || undefined, 'the owner to serve ClickHouse HTTP', 60_000);

    const monitoring = startCliProcess('monitoring', ['start', '--target', 'monitoring', '--port', String(apiB)], {
      ...env,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${registryPort}`,
      CLICKHOUSE_URL: `http://${SERVICE.user}:${SERVICE.password}@127.0.0.1:${chPort}`,
    });
    processes.push(monitoring);
    await waitForApi(`http://127.0.0.1:${apiB}`, monitoring);

    const ingest = await fetch(`http://127.0.0.1:${apiA}/v1/pipelines/${pipeline}/events`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([0, 1, 2].map((i) => event(pipeline, i))),
    });
    assert.equal(ingest.status, 202, await ingest.text());

    // B's sink wrote them into A's chDB through the service user; the analyst reads them, with a {name:Type} parameter.
    const stored = await eventually(async () => {
      const rs = await analyst.query({ query: 'SELECT count() AS n FROM events WHERE pipeline = {p:String}', query_params: { p: pipeline }, format: 'JSONEachRow' });
      const [row] = await rs.json<{ n: string | number }>();
      return Number(row.n) === 3 ? Number(row.n) : undefined;
    }, 'the monitoring process (CLICKHOUSE_URL) to sink the events into the owner\'s chDB', 120_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${outputOf(processes)}`);
    });
    assert.equal(stored, 3);

    await t.test('@clickhouse/client runs docs/clickhouse.md\'s example queries unchanged', async () => {
      const queries = docExampleQueries();
      assert.ok(queries.length >= 6, `the docs' examples: ${queries.length}`);
      for (const query of queries) {
        const rs = await analyst.query({ query, format: 'JSONEachRow' });
        assert.ok(Array.isArray(await rs.json()), query);
      }
      const json = await (await analyst.query({ query: 'SELECT event_id FROM events WHERE pipeline = {p:String} ORDER BY event_id', query_params: { p: pipeline }, format: 'JSON' }))
        .json<{ event_id: string }>();
      assert.deepEqual(json.data.map((r) => r.event_id), [0, 1, 2].map((i) => `${pipeline}-tx-${i}`));
    });

    await t.test('the analyst is refused writes, DDL, SYSTEM and lifting readonly (READONLY, 164)', async () => {
      for (const query of [
        `INSERT INTO events (pipeline, event_id, entity_key, event_time, schema_id, payload) VALUES ('${pipeline}', 'x', 'k', now64(3), 1, '{}')`,
        'CREATE TABLE analyst_table (a Int8) ENGINE = Memory', 'ALTER TABLE events DELETE WHERE 1', 'DROP TABLE events',
        'SYSTEM STOP MERGES', 'SET readonly = 0', 'SET readonly = DEFAULT', 'SELECT 1 SETTINGS readonly = 0', 'TRUNCATE TABLE labels',
      ]) {
        await assert.rejects(analyst.command({ query }), (e: { code?: string }) => e.code === '164', query);
      }
      await assert.rejects(analyst.insert({ table: 'labels', values: [{ pipeline, event_id: 'x', label: 1, label_time: '2026-01-01 00:00:00' }], format: 'JSONEachRow' }),
        (e: { code?: string }) => e.code === '164');
      const lift = await fetch(`${chUrl}/?query=SELECT%201&readonly=0`, { headers: { 'X-ClickHouse-User': ANALYST.user, 'X-ClickHouse-Key': ANALYST.password } });
      assert.equal(lift.headers.get('x-clickhouse-exception-code'), '164');
      // The platform's own writes go on: B still sinks through the same session.
      const more = await fetch(`http://127.0.0.1:${apiA}/v1/pipelines/${pipeline}/events`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event(pipeline, 3)),
      });
      assert.equal(more.status, 202);
      await eventually(async () => {
        const [row] = await (await analyst.query({ query: `SELECT count() AS n FROM events WHERE pipeline = '${pipeline}'`, format: 'JSONEachRow' })).json<{ n: string }>();
        return Number(row.n) === 4 || undefined;
      }, 'a fourth event to be sunk after the refusals', 60_000);
    });

    await t.test('raw requests: ping, GET /?query=, headers, credentials and the error format', async () => {
      const ping = await fetch(`${chUrl}/ping`);
      assert.equal(await ping.text(), 'Ok.\n');
      const basic = `Basic ${Buffer.from(`${ANALYST.user}:${ANALYST.password}`).toString('base64')}`;
      const ok = await fetch(`${chUrl}/?query=${encodeURIComponent('SELECT 1')}`, { headers: { authorization: basic } });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), '1\n');
      assert.equal(ok.headers.get('x-clickhouse-format'), 'TabSeparated');
      assert.equal(ok.headers.get('content-type'), 'text/tab-separated-values; charset=UTF-8');
      assert.ok(ok.headers.get('x-clickhouse-query-id'));
      assert.ok(ok.headers.get('x-clickhouse-server-display-name'));
      assert.ok(ok.headers.get('x-clickhouse-timezone'));
      assert.ok(JSON.parse(ok.headers.get('x-clickhouse-summary') ?? 'null'));
      const csv = await fetch(`${chUrl}/?user=${ANALYST.user}&password=${ANALYST.password}&default_format=CSVWithNames&database=system`, { method: 'POST', body: 'SELECT currentDatabase() AS db' });
      assert.equal(await csv.text(), '"db"\n"system"\n');
      const wrong = await fetch(`${chUrl}/?query=SELECT%201`, { headers: { 'X-ClickHouse-User': ANALYST.user, 'X-ClickHouse-Key': 'wrong' } });
      assert.equal(wrong.status, 403);
      assert.equal(wrong.headers.get('x-clickhouse-exception-code'), '516');
      assert.match(await wrong.text(), /^Code: 516\. DB::Exception: analyst: Authentication failed: .* \(AUTHENTICATION_FAILED\) \(version .+\)\n$/);
      const none = await fetch(`${chUrl}/?query=SELECT%201&user=${ANALYST.user}`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('x-clickhouse-exception-code'), '194');
      const missing = await fetch(`${chUrl}/?query=SELECT%20*%20FROM%20no_such_table`, { headers: { authorization: basic } });
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
      const drop = await fetch(chUrl, { method: 'POST', headers: { authorization: basic }, body: 'DROP TABLE events' });
      assert.equal(drop.headers.get('x-clickhouse-exception-code'), '164');
      assert.match(await drop.text(), /^Code: 164\. DB::Exception: analyst: Cannot execute query in readonly mode.*\(READONLY\)/);
    });

    await t.test('Python\'s clickhouse-connect runs the example queries and is refused a DROP', async (st) => {
      const py = await clickhouseConnectPython();
      if ('skip' in py) {
        st.skip(py.skip);
        return;
      }
      const queries = [...docExampleQueries(), `SELECT count() AS n FROM events WHERE pipeline = '${pipeline}'`, 'DROP TABLE events'];
      const file = join(mkdtempSync(join(tmpdir(), 'streamloop-chhttp-py-')), 'queries.sql');
      writeFileSync(file, queries.join('\n;;\n'));
      const { stdout } = await promisify(execFile)(py.python, [join(ROOT, 'scripts/python/clickhouse_http_check.py'), chUrl, ANALYST.user, ANALYST.password, file], { timeout: 120_000 });
      const results = stdout.trim().split('\n').map((l) => JSON.parse(l) as { rows?: unknown[][]; error?: string; code?: number });
      assert.equal(results.length, queries.length, stdout);
      for (const [i, r] of results.slice(0, -2).entries()) assert.ok(Array.isArray(r.rows), `${queries[i]}: ${r.error}`);
      assert.deepEqual(results.at(-2)?.rows, [[4]], 'the events sunk through the service user');
      assert.equal(results.at(-1)?.code, 164, results.at(-1)?.error);
    });
  } finally {
    await analyst.close();
    await stopProcesses(processes);
  }
});
