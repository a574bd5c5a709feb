import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '@streamloop/config';
import { createLogger } from '@streamloop/observability';
import { clickHouseHttpUsers, serveClickHouseHttp } from './clickhouse-http';

const logger = createLogger('test', 'silent');
const dataDir = () => join(mkdtempSync(join(tmpdir(), 'streamloop-chhttp-rt-')), 'chdb');

test('not served without CLICKHOUSE_HTTP_PORT, nor by a process that uses a ClickHouse server', async () => {
  assert.equal(await serveClickHouseHttp(loadSettings({ CLICKHOUSE_DATA_DIR: dataDir() }), logger), undefined);
  assert.equal(await serveClickHouseHttp(loadSettings({ CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_URL: 'http://127.0.0.1:1' }), logger), undefined);
});

test('a user without a password off loopback stops the start, saying what to set', async () => {
  await assert.rejects(serveClickHouseHttp(loadSettings({ CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_HTTP_HOST: '0.0.0.0', CLICKHOUSE_DATA_DIR: dataDir() }), logger),
    /user default has no password and the interface would listen on 0\.0\.0\.0: set its password, or listen on 127\.0\.0\.1/);
});

test('served over the embedded chDB directory with the analyst and, given its password, the service user', async () => {
  const settings = loadSettings({ CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_DATA_DIR: dataDir(), CLICKHOUSE_HTTP_SERVICE_PASSWORD: 'w' });
  assert.deepEqual(clickHouseHttpUsers(settings.clickhouseHttp!), [
    { name: 'default', password: '', readOnly: true }, { name: 'streamloop', password: 'w', readOnly: false },
  ]);
  const served = await serveClickHouseHttp(settings, logger);
  assert.ok(served);
  try {
    const r = await fetch(`${served.url}/?query=SELECT%20currentDatabase()`);
    assert.equal(await r.text(), 'streamloop\n', 'the default user on loopback needs no password; the platform\'s database is the default');
  } finally {
    await served.close();
  }
});
