// The profile computed inside ClickHouse (embedded chDB, or CLICKHOUSE_URL) against counts worked out by hand.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  closeClickHouse, createClickHouse, insertRows, loadTrainingDataset, migrate, queryRows, type ClickHouseClient, type FeatureRow,
} from '@streamloop/clickhouse';
import { DEFAULT_DATA_QUALITY } from '@streamloop/config';
import { checkWindow, dataQualityProfile, referenceRanges } from './index';

const T0 = Date.UTC(2026, 4, 10);
const MIN = 60_000;
let ch: ClickHouseClient;
let database: string;
let dataDir: string | undefined;

const vector = (id: string, minute: number, values: Record<string, number>, extra: Partial<FeatureRow> = {}): FeatureRow => ({
  pipeline: 'p', event_id: id, entity_key: 'k', event_time: T0 + minute * MIN, feature_spec_version: 'v1', values, computed_at: T0 + minute * MIN + 1, ...extra,
});

before(async () => {
  database = `dq_${randomBytes(4).toString('hex')}`;
  const url = process.env.CLICKHOUSE_URL;
  dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'streamloop-dq-'));
  ch = await createClickHouse({ url, dataDir, database });
  await migrate(ch, { database });
  // Ten events in minutes 0..9: e0..e9.
  //   a: 1, 2, 3, 4, 5, 5, 5, 5, NaN, absent  → 2 missing, 5 distinct, top 5 (×4), above 6 out of range: none
  //   b: always 7 (constant), but -0 / 0 on e8/e9 → values 7×8, 0×2: distinct 2, top 8
  //   c: never present (all missing)
  // e3 is recomputed later with a = 40 (its latest vector wins: a = 40, out of range of [0, 6]).
  // e5 occurs again on another entity: a duplicated event id. e10 is of spec v2; e11 is outside the window.
  const rows: FeatureRow[] = [];
  const a = [1, 2, 3, 4, 5, 5, 5, 5, Number.NaN];
  for (let i = 0; i < 10; i++) {
    const values: Record<string, number> = { b: i === 8 ? -0 : i === 9 ? 0 : 7 };
    if (i < 9) values.a = a[i];
    rows.push(vector(`e${i}`, i, values));
  }
  rows.push(vector('e3', 3, { a: 40, b: 7 }, { computed_at: T0 + 100 * MIN }));
  rows.push(vector('e5', 5, { a: 5, b: 7 }, { entity_key: 'other' }));
  rows.push(vector('e10', 9, { a: 1, b: 7 }, { feature_spec_version: 'v2' }));
  rows.push(vector('e11', 30, { a: 1, b: 7 }));
  await insertRows(ch, 'features', rows);
  // Labels: e0..e5 and e11; e1 is relabelled 0 → 1 (the latest label wins); e10 labelled but of v2.
  await insertRows(ch, 'labels', [
    ...['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e10', 'e11'].map((id) => ({ pipeline: 'p', event_id: id, label: id === 'e2' ? 1 : 0, label_time: T0 + 50 * MIN })),
    { pipeline: 'p', event_id: 'e1', label: 1, label_time: T0 + 60 * MIN },
  ]);
});

after(async () => {
  if (process.env.CLICKHOUSE_URL) await ch.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
  await closeClickHouse(ch);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const ranges = referenceRanges({ a: [1, 2, 3, 4], b: [7] }, 1); // a: [−2, 7]; b: [7, 7]

test('the monitoring window: each event\'s latest vector, any version; counts per feature', async () => {
  const p = await dataQualityProfile(ch, { pipeline: 'p', from: T0, to: T0 + 10 * MIN, features: ['a', 'b', 'c'], expectedVersion: 'v1', ranges });
  assert.equal(p.rows, 11, 'e0..e9 and e10');
  assert.equal(p.duplicateEvents, 1, 'e5 on two entities');
  assert.equal(p.otherVersionRows, 1, 'e10 is v2');
  assert.deepEqual([p.labelled, p.positives], [7, 2], 'e0..e5 and e10 labelled; e1 (relabelled) and e2 positive');
  const [a, b, c] = p.features;
  // a: 1, 2, 40, 4, 5, 5, 5, 5, NaN, absent, 1 (e10)
  assert.deepEqual(a, { feature: 'a', rows: 11, missing: 2, distinct: 5, topCount: 4, outOfRange: 1 });
  // b: 7 ×9 (e0..e7, e10), −0 and 0 one value: distinct 2, top 9; 0 is outside [7, 7]
  assert.deepEqual(b, { feature: 'b', rows: 11, missing: 0, distinct: 2, topCount: 9, outOfRange: 2 });
  assert.deepEqual(c, { feature: 'c', rows: 11, missing: 11, distinct: 0, topCount: 0 }, 'no range: no out-of-range count');
});

test('the training window: one spec version, labelled events only; the same rows as the training dataset', async () => {
  const w = { pipeline: 'p', from: T0, to: T0 + 30 * MIN + 1, features: ['a'], featureSpecVersion: 'v1', labelledOnly: true, expectedVersion: 'v1' };
  const p = await dataQualityProfile(ch, w);
  const dataset = await loadTrainingDataset(ch, { pipeline: 'p', featureSpecVersion: 'v1', since: w.from, until: w.to });
  assert.equal(p.rows, dataset.length);
  assert.equal(p.rows, 7, 'e0..e5 and e11');
  assert.deepEqual([p.labelled, p.positives, p.otherVersionRows], [7, 2, 0]);
  assert.deepEqual(p.features[0], { feature: 'a', rows: 7, missing: 0, distinct: 5, topCount: 2 });
  const mismatch = await dataQualityProfile(ch, { ...w, expectedVersion: 'v0' });
  assert.equal(mismatch.otherVersionRows, 7);
});

test('an empty window: zero rows, every feature all missing', async () => {
  const p = await dataQualityProfile(ch, { pipeline: 'p', from: T0 - 10 * MIN, to: T0, features: ['a'] });
  assert.deepEqual(p, { rows: 0, duplicateEvents: 0, labelled: 0, positives: 0, otherVersionRows: 0, features: [{ feature: 'a', rows: 0, missing: 0, distinct: 0, topCount: 0 }] });
});

test('checkWindow writes one data_quality row per check, passed or not, and returns the outcome', async () => {
  const { outcome, rows } = await checkWindow(ch, {
    pipeline: 'p', scope: 'monitoring', runId: 'run-1', from: T0, to: T0 + 10 * MIN, features: ['a', 'c'],
    limits: { ...DEFAULT_DATA_QUALITY, minLabelled: 5, outOfRange: { tolerance: 1, maxShare: 0.05 } }, computedAt: T0 + 200 * MIN,
    champion: { name: 'm', version: 3, featureSpecVersion: 'v1', reference: { a: [1, 2, 3, 4] } },
  });
  assert.equal(outcome.passed, false);
  assert.deepEqual(outcome.failed.map((c) => `${c.check}/${c.feature}`).sort(), [
    'feature_spec_version/', 'max_duplicate_share/', 'max_missing_rate/c', 'max_out_of_range_share/a',
  ].sort());
  const stored = await queryRows<{ check: string; feature: string; value: number; limit: number; passed: boolean; blocking: boolean; scope: string; model_version: number }>(
    ch, "SELECT `check`, feature, value, `limit`, passed, blocking, scope, model_version FROM data_quality WHERE run_id = 'run-1' ORDER BY `check`, feature",
  );
  assert.equal(stored.length, rows.length);
  assert.equal(stored.length, outcome.checks.length);
  const missing = stored.find((r) => r.check === 'max_missing_rate' && r.feature === 'c');
  assert.deepEqual(missing, { check: 'max_missing_rate', feature: 'c', value: 1, limit: 0.5, passed: false, blocking: true, scope: 'monitoring', model_version: 3 });
  assert.ok(stored.some((r) => r.check === 'min_rows' && r.passed));
});
