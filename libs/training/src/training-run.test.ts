// The training run against a real ClickHouse engine (embedded chDB), with the registry and the clock in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, queryRows, TABLES, type FeatureRow, type LabelRow } from '@streamloop/clickhouse';
import { createHash } from 'node:crypto';
import { exportOnnx, seededRandom, TabularPipeline } from '@streamloop/ml';
import { emptyRegistry, foldRegistry, type ModelRegistryRecord } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import { memoryRegistry, registryRecord, testSpec, useTestClickHouse } from './test-support';
import { hasFirstModel, NotEnoughDataError, runTraining, type TrainingDeps } from './training-run';

const FEATURES = ['signal', 'noise'];
const T0 = Date.UTC(2026, 0, 1);
const ch = useTestClickHouse('training');

const specFor = testSpec;

/**
 * `events` feature vectors one second apart whose label follows `signal` (P(1) = sigmoid(3·signal − 1)); the first
 * `labelled` get a label. One more vector of another feature-spec version, labelled, must not be trained on.
 */
async function insertDataset(pipeline: string, events: number, labelled: number, seed: number): Promise<void> {
  const rnd = seededRandom(seed);
  const features: FeatureRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < events; i++) {
    const signal = rnd() * 4 - 2;
    const label = rnd() < 1 / (1 + Math.exp(-(3 * signal - 1))) ? 1 : 0;
    const id = `${pipeline}-${i}`;
    features.push({ pipeline, event_id: id, entity_key: `card-${i % 17}`, event_time: T0 + i * 1000, feature_spec_version: 'v1', values: { signal, noise: rnd() }, computed_at: T0 });
    if (i < labelled) labels.push({ pipeline, event_id: id, label, label_time: T0 + i * 1000 + 500 });
  }
  features.push({ pipeline, event_id: `${pipeline}-old`, entity_key: 'card-0', event_time: T0 - 1000, feature_spec_version: 'v0', values: { signal: 1 }, computed_at: T0 });
  labels.push({ pipeline, event_id: `${pipeline}-old`, label: 1, label_time: T0 });
  await insertRows(ch.client, TABLES.features, features);
  await insertRows(ch.client, TABLES.labels, labels);
}

function deps(registry: ReturnType<typeof memoryRegistry>, outcomes: string[] = []): TrainingDeps {
  let clock = T0 + 10_000_000;
  return {
    clickhouse: ch.client,
    registry,
    logger: createLogger('training-test', 'silent'),
    now: () => (clock += 250),
    countRun: (outcome) => outcomes.push(outcome),
  };
}

test('below training.min_labels the run refuses with NOT_ENOUGH_DATA and publishes nothing', async () => {
  await insertDataset('few', 300, 150, 1);
  const registry = memoryRegistry();
  const outcomes: string[] = [];
  await assert.rejects(
    runTraining(deps(registry, outcomes), { spec: specFor('few'), featureNames: FEATURES, reason: 'test' }),
    (error: unknown) => error instanceof NotEnoughDataError && error.code === 'NOT_ENOUGH_DATA' && /150 labelled feature vectors.*at least 200 \(training\.min_labels\)/.test(error.message),
  );
  assert.equal(registry.published.length, 0);
  assert.deepEqual(outcomes, []);
});

test('a run trains on the labelled vectors of its feature-spec version, holds out the newest window and publishes the next version', async () => {
  await insertDataset('full', 700, 600, 2);
  // Versions 1 and 2 of the model were published before: this run takes 3.
  const registry = memoryRegistry([registryRecord('full', 'fraud-lr', 2, 'archived', FEATURES)]);
  const outcomes: string[] = [];
  const spec = specFor('full', (s) => {
    s.training.segmentBy = 'merchant_category'; // no event is stored: segments are skipped with coverage 0
  });
  const result = await runTraining(deps(registry, outcomes), { spec, featureNames: FEATURES, reason: 'unit test' });

  assert.equal(result.model_version, 3);
  assert.equal(result.training_rows + result.holdout_rows, 600, 'the 600 labelled v1 vectors, not the unlabelled ones nor the v0 one');
  assert.equal(result.holdout_rows, 120, 'holdout_fraction 0.2');
  assert.equal(result.data_window_start, T0);
  assert.equal(result.data_window_end, T0 + 599 * 1000);
  assert.ok(result.metrics.roc_auc > 0.85, `held-out ROC AUC ${result.metrics.roc_auc}`);
  assert.equal(result.metrics.segment_coverage, 0);
  assert.ok(result.parity_max_abs_diff <= 1e-5);
  assert.equal(result.duration_ms, 500, 'from the clock: start, created_at, end');
  assert.deepEqual(outcomes, ['published']);

  assert.equal(registry.published.length, 1);
  const m = registry.published[0];
  assert.deepEqual([m.pipeline, m.model_name, m.model_version, m.stage, m.algorithm], ['full', 'fraud-lr', 3, 'champion', 'logistic_regression']);
  assert.equal(m.created_at, T0 + 10_000_000 + 500);
  assert.deepEqual(m.feature_names, FEATURES);
  assert.equal(m.params.holdout_window_start, String(T0 + 480 * 1000), 'the newest 120 vectors are held out');
  assert.equal(m.reference.signal.length, 480, 'every training value of a part smaller than the reference sample');
  assert.equal(m.metrics.training_rows, 480);

  const runs = await queryRows<{ status: string; params: Record<string, string> }>(
    ch.client, `SELECT status, params FROM ${TABLES.experiments} WHERE pipeline = {p:String}`, { p: 'full' },
  );
  assert.equal(runs.length, 1);
  assert.equal(runs[0].status, 'published');
  assert.equal(runs[0].params.reason, 'unit test');
  assert.equal(runs[0].params.model_version, '3');
});

test('hasFirstModel: a version of its own, or a champion from elsewhere; a candidate from elsewhere is not one', () => {
  const spec = { pipeline: 'p', model: specFor('p').model };
  const fold = (...records: ModelRegistryRecord[]) => foldRegistry(emptyRegistry(), records.map((record, i) => ({ kind: 'version' as const, offset: BigInt(i), record })));
  assert.equal(hasFirstModel(emptyRegistry(), spec), false);
  assert.equal(hasFirstModel(fold(registryRecord('p', 'other', 1, 'candidate', FEATURES)), spec), false);
  assert.equal(hasFirstModel(fold(registryRecord('q', spec.model.name, 1, 'champion', FEATURES)), spec), false, "another pipeline's model");
  assert.equal(hasFirstModel(fold(registryRecord('p', 'other', 1, 'champion', FEATURES)), spec), true);
  assert.equal(hasFirstModel(fold(registryRecord('p', spec.model.name, 1, 'archived', FEATURES)), spec), true);
});

/** A champion of `pipeline` that has learnt nothing (labels at random): a retrained model should beat it. */
function weakChampion(pipeline: string, version: number): ModelRegistryRecord {
  const rnd = seededRandom(99);
  const X = Array.from({ length: 300 }, () => [rnd() * 4 - 2, rnd()]);
  const y = X.map(() => (rnd() < 0.4 ? 1 : 0));
  const onnx = Buffer.from(exportOnnx(TabularPipeline.fit(X, y, { featureNames: FEATURES }), { modelName: 'weak' }));
  return { ...registryRecord(pipeline, 'weak', version, 'champion', FEATURES), algorithm: 'logistic_regression', onnx, onnx_sha256: createHash('sha256').update(onnx).digest('hex') };
}

test('a retrained model better than the champion on the same held-out window becomes challenger (or champion without an online stage), with the numbers', async () => {
  await insertDataset('better', 700, 600, 3);
  const registry = memoryRegistry([weakChampion('better', 1), { ...registryRecord('better', 'old', 1, 'challenger', FEATURES) }]);
  const result = await runTraining(deps(registry), { spec: specFor('better'), featureNames: FEATURES, reason: 'on command' });
  assert.equal(result.stage, 'challenger');
  assert.match(result.decision_reason, /^trained on command; offline against weak v1: better: AUC 0\.\d{4} vs 0\.\d{4} .*; it scores beside weak v1 in shadow until 1000 labelled live events decide/);
  const m = result.decision_metrics;
  assert.ok(m.offline_auc_candidate > m.offline_auc_champion && m.offline_auc_p_value < 0.05 && m.offline_n === 120, JSON.stringify(m));
  // The challenger it replaces is retired, with the reason.
  assert.deepEqual(registry.published.map((r) => [r.model_name, r.model_version, r.stage]), [['fraud-lr', 1, 'challenger'], ['old', 1, 'archived']]);
  assert.equal(registry.published[1].decision_reason, 'replaced by challenger fraud-lr v1');

  const direct = memoryRegistry([weakChampion('better', 1)]);
  const served = await runTraining(deps(direct), { spec: specFor('better', (s) => { s.promotion = { alpha: 0.05, minAucGain: 0, onlineLabels: 0, probationLabels: 0 }; }), featureNames: FEATURES, reason: 'on command' });
  assert.equal(served.stage, 'champion');
  assert.match(served.decision_reason, /it serves \(promotion\.online_labels 0\)$/);
});

test('a retrained model no better than the champion is rejected, and the champion keeps serving', async () => {
  await insertDataset('same', 700, 600, 4);
  const registry = memoryRegistry();
  const first = await runTraining(deps(registry), { spec: specFor('same'), featureNames: FEATURES, reason: 'first model' });
  assert.deepEqual([first.stage, first.decision_reason], ['champion', "trained first model; the pipeline's first model: it serves as champion"]);
  // The same data trains the same model: it scores the window as the champion does.
  const again = await runTraining(deps(registry), { spec: specFor('same'), featureNames: FEATURES, reason: 'on command' });
  assert.equal(again.stage, 'rejected');
  assert.match(again.decision_reason, /offline against fraud-lr v1: AUC gain not significant \(one-sided p 1\.0000 > 0\.05\)/);
  assert.equal(again.decision_metrics.offline_auc_difference, 0);
  assert.deepEqual(registry.published.map((r) => r.stage), ['champion', 'rejected']);
});
