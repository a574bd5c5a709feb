// The data-quality gate in front of runTraining, against a real ClickHouse engine (embedded chDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, queryRows, TABLES, type FeatureRow, type LabelRow } from '@streamloop/clickhouse';
import type { AlertRecord } from '@streamloop/contracts';
import { seededRandom } from '@streamloop/ml';
import { createLogger } from '@streamloop/observability';
import { DataQualityError } from './data-quality-gate';
import { memoryRegistry, registryRecord, testSpec, useTestClickHouse } from './test-support';
import { runTraining, type TrainingDeps } from './training-run';

const FEATURES = ['signal', 'noise'];
const T0 = Date.UTC(2026, 0, 1);
const ch = useTestClickHouse('dqgate');

const specFor = testSpec;

/** 400 labelled vectors; `missing` of them lack `noise` (NaN), the last ones first. */
async function insertDataset(pipeline: string, missing: number): Promise<void> {
  const rnd = seededRandom(5);
  const features: FeatureRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < 400; i++) {
    const signal = rnd() * 4 - 2;
    const label = rnd() < 1 / (1 + Math.exp(-(3 * signal - 1))) ? 1 : 0;
    const id = `${pipeline}-${i}`;
    features.push({ pipeline, event_id: id, entity_key: `c${i % 7}`, event_time: T0 + i * 1000, feature_spec_version: 'v1', values: { signal, noise: i >= 400 - missing ? Number.NaN : rnd() }, computed_at: T0 });
    labels.push({ pipeline, event_id: id, label, label_time: T0 + i * 1000 + 500 });
  }
  await insertRows(ch.client, TABLES.features, features);
  await insertRows(ch.client, TABLES.labels, labels);
}

function deps(registry: ReturnType<typeof memoryRegistry>, alerts: AlertRecord[], counted: string[] = []): TrainingDeps {
  let clock = T0 + 10_000_000;
  return {
    clickhouse: ch.client, registry, logger: createLogger('dq-test', 'silent'), now: () => (clock += 250),
    raiseAlerts: async (a) => void alerts.push(...a),
    countDataQuality: (l) => counted.push(`${l.check}:${l.result}`),
  };
}

/** The champion the window is checked against: trained on signal in [−2, 2] and noise in [0, 1]. */
const champion = (pipeline: string) => ({
  ...registryRecord(pipeline, 'fraud-lr', 1, 'champion', FEATURES),
  reference: { signal: [-2, 0, 2], noise: [0, 0.5, 1] },
});

const report = (pipeline: string) => queryRows<{ check: string; feature: string; value: number; passed: boolean; scope: string; model_version: number }>(
  ch.client, 'SELECT `check`, feature, value, passed, scope, model_version FROM data_quality WHERE pipeline = {p:String} ORDER BY `check`, feature', { p: pipeline },
);

test('a feature that turned mostly missing blocks the run: 422 DATA_QUALITY_FAILED naming it, the report written, an alert, nothing published', async () => {
  await insertDataset('dq-bad', 300);
  const registry = memoryRegistry([champion('dq-bad')]);
  const alerts: AlertRecord[] = [];
  await assert.rejects(runTraining(deps(registry, alerts), { spec: specFor('dq-bad'), featureNames: FEATURES, reason: 'test' }), (error: unknown) => {
    assert.ok(error instanceof DataQualityError);
    assert.equal(error.code, 'DATA_QUALITY_FAILED');
    assert.equal(error.status, 422);
    assert.deepEqual(error.failed, [{ check: 'max_missing_rate', feature: 'noise', value: 0.75, limit: 0.5 }]);
    assert.match(error.message, /max_missing_rate\(noise\) = 0\.75 > 0\.5/);
    return true;
  });
  assert.equal(registry.published.length, 0);
  assert.deepEqual(alerts.map((a) => [a.kind, a.feature, a.statistic, a.value, a.threshold, a.model_name, a.model_version]), [['data_quality', 'noise', 'max_missing_rate', 0.75, 0.5, 'fraud-lr', 1]]);
  assert.equal(alerts[0].window_start, T0);
  assert.equal(alerts[0].window_end, T0 + 399_000 + 1);
  const rows = await report('dq-bad');
  assert.deepEqual(rows.filter((r) => !r.passed).map((r) => `${r.check}/${r.feature}`), ['max_missing_rate/noise']);
  assert.ok(rows.length >= 10, 'every check is recorded, passed ones too');
  assert.ok(rows.every((r) => r.scope === 'training' && r.model_version === 1));
  const experiments = await queryRows(ch.client, 'SELECT * FROM experiments WHERE pipeline = {p:String}', { p: 'dq-bad' });
  assert.equal(experiments.length, 0);
});

test('normal data passes the gate and is recorded; the run publishes', async () => {
  await insertDataset('dq-good', 20);
  const registry = memoryRegistry([champion('dq-good')]);
  const alerts: AlertRecord[] = [];
  const counted: string[] = [];
  const result = await runTraining(deps(registry, alerts, counted), { spec: specFor('dq-good'), featureNames: FEATURES, reason: 'test' });
  assert.equal(result.model_version, 2);
  assert.equal(registry.published.length, 1);
  assert.deepEqual(alerts, []);
  const rows = await report('dq-good');
  assert.ok(rows.length >= 10);
  assert.ok(rows.every((r) => r.passed), JSON.stringify(rows.filter((r) => !r.passed)));
  assert.deepEqual(rows.find((r) => r.check === 'max_missing_rate' && r.feature === 'noise')?.value, 20 / 400);
  assert.ok(counted.includes('max_missing_rate:passed'));
});

test('without a champion the feature spec version is a warning, not a block; data_quality.enabled false skips the gate', async () => {
  await insertDataset('dq-first', 0);
  const result = await runTraining(deps(memoryRegistry(), []), { spec: specFor('dq-first'), featureNames: FEATURES, reason: 'test' });
  assert.equal(result.model_version, 1);
  const rows = await report('dq-first');
  assert.deepEqual(rows.filter((r) => !r.passed).map((r) => r.check), ['feature_spec_version']);
  assert.equal(rows.some((r) => r.check === 'max_out_of_range_share'), false, 'no reference: no range check');

  await insertDataset('dq-off', 300);
  const off = await runTraining(deps(memoryRegistry([champion('dq-off')]), []), {
    spec: specFor('dq-off', (s) => { s.dataQuality = { ...s.dataQuality!, enabled: false }; }), featureNames: FEATURES, reason: 'test',
  });
  assert.equal(off.model_version, 2);
  assert.equal((await report('dq-off')).length, 0);
});
