import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTokenEntry, generateToken, hashToken, TokenStore } from '@streamloop/auth';
import { loadSettings } from '@streamloop/config';
import { createLogger } from '@streamloop/observability';
import { clickHouseHttpUsers, serveClickHouseHttp } from './clickhouse-http';

const logger = createLogger('test', 'silent');
const noTokens = new TokenStore([]);
// The tests of the analyst and service users run with auth off (their own scheme); the last one is about auth on.
const OFF = { STREAMLOOP_AUTH: 'off' };
const dataDir = () => join(mkdtempSync(join(tmpdir(), 'streamloop-chhttp-rt-')), 'chdb');

test('not served without CLICKHOUSE_HTTP_PORT, nor by a process that uses a ClickHouse server', async () => {
  assert.equal(await serveClickHouseHttp(loadSettings({ ...OFF, CLICKHOUSE_DATA_DIR: dataDir() }), logger, noTokens), undefined);
  assert.equal(await serveClickHouseHttp(loadSettings({ ...OFF, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_URL: 'http://127.0.0.1:1' }), logger, noTokens), undefined);
});

test('a user without a password off loopback stops the start, saying what to set', async () => {
  await assert.rejects(serveClickHouseHttp(loadSettings({ ...OFF, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_HTTP_HOST: '0.0.0.0', CLICKHOUSE_DATA_DIR: dataDir() }), logger, noTokens),
    /user default has no password and the interface would listen on 0\.0\.0\.0: set its password, or listen on 127\.0\.0\.1/);
});

test('served over the embedded chDB directory with the analyst and, given its password, the service user', async () => {
  const settings = loadSettings({ ...OFF, CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_DATA_DIR: dataDir(), CLICKHOUSE_HTTP_SERVICE_PASSWORD: 'w' });
  assert.deepEqual(clickHouseHttpUsers(settings.clickhouseHttp!), [
    { name: 'default', password: '', readOnly: true }, { name: 'streamloop', password: 'w', readOnly: false },
  ]);
  const served = await serveClickHouseHttp(settings, logger, noTokens);
  assert.ok(served);
  try {
    const r = await fetch(`${served.url}/?query=SELECT%20currentDatabase()`);
    assert.equal(await r.text(), 'streamloop\n', 'the default user on loopback needs no password; the platform\'s database is the default');
  } finally {
    await served.close();
  }
});

test('with auth on, a token of scope read signs in as a read-only user (user = its name); no credentials, or another scope, do not', async () => {
  const reader = generateToken();
  const ingester = generateToken();
  const entries = [
    { name: 'analyst', sha256: hashToken(reader), scopes: ['read' as const] },
    { name: 'app', sha256: hashToken(ingester), scopes: ['ingest' as const] },
  ];
  const settings = loadSettings({ CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_DATA_DIR: dataDir(), STREAMLOOP_TOKENS: entries.map(formatTokenEntry).join(';') });
  assert.deepEqual(clickHouseHttpUsers(settings.clickhouseHttp!, true), [], 'the analyst without a password is not served with auth on');
  const served = await serveClickHouseHttp(settings, logger, new TokenStore(entries));
  assert.ok(served);
  const query = (headers: Record<string, string>, sql = 'SELECT 1') => fetch(`${served.url}/?query=${encodeURIComponent(sql)}`, { headers });
  try {
    // ClickHouse's own answer to a failed sign-in: 403 with exception code 516 (AUTHENTICATION_FAILED).
    const none = await query({});
    assert.equal(none.status, 403, await none.text());
    assert.equal(none.headers.get('x-clickhouse-exception-code'), '516');
    const ok = await query({ 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': reader });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '1\n');
    const basic = await query({ authorization: `Basic ${Buffer.from(`analyst:${reader}`).toString('base64')}` });
    assert.equal(basic.status, 200, 'basic auth, as clickhouse-connect and @clickhouse/client send it');
    assert.equal((await query({ 'X-ClickHouse-User': 'app', 'X-ClickHouse-Key': ingester })).status, 403, 'an ingest token is no ClickHouse user');
    assert.equal((await query({ 'X-ClickHouse-User': 'app', 'X-ClickHouse-Key': reader })).status, 403, 'the read token under another name');
    const write = await query({ 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': reader }, 'CREATE TABLE t (x UInt8) ENGINE = Memory');
    assert.notEqual(write.status, 200, 'a token user is read-only');
  } finally {
    await served.close();
  }
});
