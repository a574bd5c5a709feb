// The online review against a real ClickHouse engine (embedded chDB): champion predictions served, the challenger's in
// shadow, labels; the registry in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '@streamloop/config';
import { challengerOf, championOf, probationOf, PROBATION_LABELS_METRIC } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import { reviewChallenger, type OnlineReviewDeps } from './online-promotion';
import { insertPairedLive, memoryRegistry, registryRecord, testSpec, useTestClickHouse } from './test-support';

const FEATURES = ['signal'];
const T0 = Date.UTC(2026, 0, 1);
const ch = useTestClickHouse('online');

function specFor(pipeline: string, onlineLabels: number, mode: 'shadow' | 'split' = 'shadow'): PipelineSpec {
  return testSpec(pipeline, (spec) => {
    spec.promotion = { alpha: 0.05, minAucGain: 0, onlineLabels, probationLabels: 0 };
    spec.serving = { ...spec.serving!, challenger: { mode, share: 0.1 } };
  });
}

/** `n` labelled events the champion (v1) served and the challenger (v2) scored in shadow; a signal above 1 makes it better. */
function insertLive(pipeline: string, n: number, challengerSignal: number, seed: number): Promise<void> {
  return insertPairedLive(ch.client, pipeline, n, T0, { served: { version: 1, signal: 1 }, shadow: { version: 2, signal: challengerSignal } }, seed);
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
