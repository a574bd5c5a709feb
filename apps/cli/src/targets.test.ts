// Target combinations the CLI refuses, without a broker (the chDB directory lock: libs/runtime/src/chdb-lock.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '@streamloop/config';
import {
  assertTargetsCanRun, embeddedChdbDir, parseTargets, targetConflicts, TargetConflictError,
} from './targets';

const settings = (env: Record<string, string> = {}) => loadSettings({ STREAMLOOP_PIPELINES: '', ...env });

test('parseTargets: all, a list, unknown names refused', () => {
  assert.equal(parseTargets('all').length, 6);
  assert.deepEqual(parseTargets('ingestion, features'), ['ingestion', 'features']);
  assert.throws(() => parseTargets('ingestion,feature'), /unknown target\(s\) feature/);
});

test('the defaults can run every target in one process', () => {
  assert.deepEqual(targetConflicts(settings(), parseTargets('all')), []);
});

test('services and the registry on one port are refused with the reason; apart, or on port 0, they are not', () => {
  const same = settings({ PORT: '9000', SCHEMA_REGISTRY_PORT: '9000' });
  const [problem] = targetConflicts(same, ['schema-registry', 'ingestion']);
  assert.match(problem, /both listen on port 9000/);
  assert.throws(() => assertTargetsCanRun(same, ['schema-registry', 'ingestion']), (e) => e instanceof TargetConflictError && /cannot start schema-registry,ingestion: .*port 9000/.test(e.message));
  // Each alone in its process, or any free port, is fine.
  assert.deepEqual(targetConflicts(same, ['ingestion']), []);
  assert.deepEqual(targetConflicts(same, ['schema-registry']), []);
  assert.deepEqual(targetConflicts(settings({ PORT: '0', SCHEMA_REGISTRY_PORT: '0' }), ['schema-registry', 'ingestion']), []);
  // Different addresses of one port do not clash; a wildcard address clashes with any.
  assert.deepEqual(targetConflicts(settings({ PORT: '9000', SCHEMA_REGISTRY_PORT: '9000', HOST: '127.0.0.1', SCHEMA_REGISTRY_HOST: '127.0.0.2' }), ['schema-registry', 'inference']), []);
  assert.equal(targetConflicts(settings({ PORT: '9000', SCHEMA_REGISTRY_PORT: '9000', HOST: '0.0.0.0', SCHEMA_REGISTRY_HOST: '127.0.0.1' }), ['schema-registry', 'inference']).length, 1);
});

test('ClickHouse targets with no ClickHouse at all are refused (settings made in code; the environment always has a chDB directory)', () => {
  const none = { ...settings(), clickhouseUrl: undefined, clickhouseDataDir: '' };
  assert.match(targetConflicts(none, ['monitoring', 'inference']).join(), /monitoring need ClickHouse, and none is configured/);
  assert.deepEqual(targetConflicts(none, ['ingestion', 'features', 'inference']), []);
  assert.deepEqual(targetConflicts({ ...none, clickhouseUrl: 'http://ch:8123' }, ['training']), []);
});

test('embeddedChdbDir: only ClickHouse targets without CLICKHOUSE_URL open chDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-chdb-'));
  assert.equal(embeddedChdbDir(settings({ CLICKHOUSE_DATA_DIR: dir }), ['training']), dir);
  assert.equal(embeddedChdbDir(settings({ CLICKHOUSE_DATA_DIR: dir }), ['ingestion', 'inference', 'schema-registry']), undefined);
  assert.equal(embeddedChdbDir(settings({ CLICKHOUSE_DATA_DIR: dir, CLICKHOUSE_URL: 'http://ch:8123' }), ['monitoring']), undefined);
});
