// The online review against a real ClickHouse engine (embedded chDB): champion predictions served, the challenger's in
// shadow, labels; the registry in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, TABLES, type LabelRow, type PredictionRow } from '@streamloop/clickhouse';
import type { PipelineSpec } from '@streamloop/config';
import { seededRandom } from '@streamloop/ml';
import { challengerOf, championOf, probationOf, PROBATION_LABELS_METRIC } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import { reviewChallenger, type OnlineReviewDeps } from './online-promotion';
import { memoryRegistry, registryRecord, testSpec, useTestClickHouse } from './test-support';

const FEATURES = ['signal'];
const T0 = Date.UTC(2026, 0, 1);
const ch = useTestClickHouse('online');

function specFor(pipeline: string, onlineLabels: number, mode: 'shadow' | 'split' = 'shadow'): PipelineSpec {
  return testSpec(pipeline, (spec) => {
    spec.promotion = { alpha: 0.05, minAucGain: 0, onlineLabels, probationLabels: 0 };
    spec.serving = { ...spec.serving!, challenger: { mode, share: 0.1 } };
  });
}

/**
 * `n` labelled events the champion (v1) served and the challenger (v2) scored in shadow: each a logistic of the
 * label with its own noise; `challengerSignal` above the champion's 1 makes the challenger better.
 */
async function insertLive(pipeline: string, n: number, challengerSignal: number, seed: number): Promise<void> {
  const rnd = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < n; i++) {
    const y = rnd() < 0.2 ? 1 : 0;
    const shared = gauss();
    const score = (signal: number) => 1 / (1 + Math.exp(-(signal * (2 * y - 1) + shared + 0.6 * gauss())));
    const base = { pipeline, event_id: `${pipeline}-${i}`, entity_key: 'c', event_time: T0 + i * 1000, model_name: 'm', threshold: 0.5, latency_ms: 1, predicted_at: T0 + i * 1000 + 5 };
    const champion = score(1);
    const challenger = score(challengerSignal);
    predictions.push({ ...base, model_version: 1, role: 'champion', score: champion, label: champion >= 0.5 ? 1 : 0, shadow: false });
    predictions.push({ ...base, model_version: 2, role: 'challenger', score: challenger, label: challenger >= 0.5 ? 1 : 0, shadow: true });
    labels.push({ pipeline, event_id: `${pipeline}-${i}`, label: y, label_time: T0 + i * 1000 + 60_000 });
  }
  await insertRows(ch.client, TABLES.predictions, predictions);
  await insertRows(ch.client, TABLES.labels, labels);
}

function setup(pipeline: string) {
  const registry = memoryRegistry([registryRecord(pipeline, 'm', 1, 'champion', FEATURES), registryRecord(pipeline, 'm', 2, 'challenger', FEATURES)]);
  const deps: OnlineReviewDeps = { clickhouse: ch.client, registry, logger: createLogger('online-test', 'silent'), now: () => T0 + 10_000_000 };
  return { registry, deps };
}

test('a better challenger waits for its horizon of shared labelled events, then is promoted by policy with the numbers', async () => {
  const { registry, deps } = setup('online-better');
  await insertLive('online-better', 600, 1.6, 1);
  assert.deepEqual(await reviewChallenger(deps, specFor('online-better', 800)), { status: 'waiting', challenger: 'm v2', labelled: 600, needed: 800 });
  assert.equal(registry.published.length, 0);
  const review = await reviewChallenger(deps, specFor('online-better', 500));
  assert.equal(review.status, 'decided');
  assert.equal(review.status === 'decided' && review.verdict, 'promote');
  const record = registry.published[0];
  assert.deepEqual([record.model_version, record.stage, record.decided_by], [2, 'champion', 'policy']);
  assert.match(record.decision_reason, /^online against m v1 on 500 labelled live events \(promotion\.online_labels\): better: AUC/);
  assert.equal(record.decision_metrics.online_n, 500, 'exactly the horizon, not every labelled event');
  assert.equal(record.decision_metrics.online_window_end, T0 + 499 * 1000, 'the earliest 500 events');
  assert.ok(record.decision_metrics.online_auc_p_value < 0.05);
  assert.equal(championOf(await registry.read(), 'online-better')?.record.model_version, 2);
  assert.deepEqual(await reviewChallenger(deps, specFor('online-better', 500)), { status: 'idle' }, 'no challenger left');
});

test('a challenger no better than the champion is rejected by policy; the champion keeps serving', async () => {
  const { registry, deps } = setup('online-same');
  await insertLive('online-same', 500, 1, 2);
  const review = await reviewChallenger(deps, specFor('online-same', 500));
  assert.equal(review.status === 'decided' && review.verdict, 'reject');
  const record = registry.published[0];
  assert.deepEqual([record.model_version, record.stage, record.decided_by], [2, 'rejected', 'policy']);
  const state = await registry.read();
  assert.deepEqual([championOf(state, 'online-same')?.record.model_version, challengerOf(state, 'online-same')], [1, undefined]);
});

test('no online stage, or split mode: nothing is decided automatically', async () => {
  const { registry, deps } = setup('online-split');
  await insertLive('online-split', 100, 2, 3);
  assert.deepEqual(await reviewChallenger(deps, specFor('online-split', 0)), { status: 'idle' });
  assert.deepEqual(await reviewChallenger(deps, specFor('online-split', 50, 'split')), { status: 'split', challenger: 'm v2' });
  assert.equal(registry.published.length, 0);
});

test('a challenger promoted with promotion.probation_labels serves on probation: the previous champion is watched beside it', async () => {
  const { registry, deps } = setup('online-probation');
  await insertLive('online-probation', 500, 1.6, 4);
  const spec = specFor('online-probation', 500);
  spec.promotion = { ...spec.promotion!, probationLabels: 700 };
  const review = await reviewChallenger(deps, spec);
  assert.equal(review.status === 'decided' && review.verdict, 'promote');
  const record = registry.published[0];
  assert.equal(record.decision_metrics[PROBATION_LABELS_METRIC], 700);
  assert.match(record.decision_reason, /; on probation: m v1 scores in shadow until 700 labelled live events decide \(promotion\.probation_labels\)$/);
  const probation = probationOf(await registry.read(), 'online-probation');
  assert.deepEqual(probation && [probation.champion.record.model_version, probation.previous.record.model_version, probation.labels], [2, 1, 700]);
});
