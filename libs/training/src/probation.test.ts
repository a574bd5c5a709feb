// The probation after a promotion against a real ClickHouse engine (embedded chDB): the new champion (v2) served, the
// previous one (v1) scored in shadow, labels; the registry in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertRecord } from '@streamloop/contracts';
import type { PipelineSpec } from '@streamloop/config';
import { championOf, probationOf, PROBATION_LABELS_METRIC } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import { reviewProbation, type ProbationReviewDeps } from './probation';
import { insertPairedLive, memoryRegistry, registryRecord, testSpec, useTestClickHouse } from './test-support';

const FEATURES = ['signal'];
const T0 = Date.UTC(2026, 0, 1);
const ch = useTestClickHouse('probation');

function specFor(pipeline: string): PipelineSpec {
  return testSpec(pipeline, (spec) => {
    spec.promotion = { alpha: 0.05, minAucGain: 0, onlineLabels: 500, probationLabels: 500 };
  });
}

/** `n` labelled events v2 served and v1 scored in shadow; `newSignal` below the previous champion's 1 makes v2 worse. */
function insertLive(pipeline: string, n: number, newSignal: number, seed: number): Promise<void> {
  return insertPairedLive(ch.client, pipeline, n, T0, { served: { version: 2, signal: newSignal }, shadow: { version: 1, signal: 1 } }, seed);
}

function setup(pipeline: string) {
  const promoted = { ...registryRecord(pipeline, 'm', 2, 'champion', FEATURES), decided_by: 'policy', decided_at: T0, decision_metrics: { [PROBATION_LABELS_METRIC]: 500 } };
  const registry = memoryRegistry([registryRecord(pipeline, 'm', 1, 'champion', FEATURES), promoted]);
  const alerts: AlertRecord[] = [];
  const deps: ProbationReviewDeps = {
    clickhouse: ch.client, registry, logger: createLogger('probation-test', 'silent'), now: () => T0 + 10_000_000,
    raiseAlerts: async (a) => { alerts.push(...a); },
  };
  return { registry, deps, alerts };
}

test('a new champion significantly worse than the previous one is rolled back when its probation ends, with the numbers and an alert', async () => {
  const { registry, deps, alerts } = setup('probation-worse');
  await insertLive('probation-worse', 400, 0.6, 1);
  assert.deepEqual(await reviewProbation(deps, specFor('probation-worse')), { status: 'waiting', champion: 'm v2', labelled: 400, needed: 500 });
  assert.equal(registry.published.length, 0);
  await insertLive('probation-worse', 700, 0.6, 1);
  const review = await reviewProbation(deps, specFor('probation-worse'));
  assert.equal(review.status === 'decided' && review.verdict, 'roll_back');
  const record = registry.published[0];
  assert.deepEqual([record.model_version, record.stage, record.decided_by], [2, 'rejected', 'policy']);
  assert.match(record.decision_reason, /^rolled back automatically after its probation against m v1 on 500 labelled live events \(promotion\.probation_labels\): significantly worse than the previous champion \(one-sided p .*; m v1 serves again$/);
  assert.equal(record.decision_metrics.probation_n, 500);
  assert.ok(record.decision_metrics.probation_auc_difference < 0 && record.decision_metrics.probation_auc_p_value < 0.05, JSON.stringify(record.decision_metrics));
  const state = await registry.read();
  assert.equal(championOf(state, 'probation-worse')?.record.model_version, 1, 'the previous champion serves again');
  assert.equal(probationOf(state, 'probation-worse'), undefined);
  assert.deepEqual(alerts.map((a) => [a.kind, a.model_name, a.model_version, a.statistic, a.threshold]), [['model_rollback', 'm', 2, 'delong', 0.05]]);
  assert.equal(alerts[0].value, record.decision_metrics.probation_auc_p_value);
  assert.deepEqual(await reviewProbation(deps, specFor('probation-worse')), { status: 'idle' });
});

test('a new champion as good as the previous one is kept: republished without the probation, the previous one stops scoring', async () => {
  const { registry, deps, alerts } = setup('probation-same');
  await insertLive('probation-same', 500, 1, 2);
  const review = await reviewProbation(deps, specFor('probation-same'));
  assert.equal(review.status === 'decided' && review.verdict, 'keep');
  const record = registry.published[0];
  assert.deepEqual([record.model_version, record.stage, record.decided_by], [2, 'champion', 'policy']);
  assert.match(record.decision_reason, /^kept after its probation against m v1 on 500 labelled live events \(promotion\.probation_labels\): not significantly worse/);
  assert.equal(record.decision_metrics[PROBATION_LABELS_METRIC], undefined);
  const state = await registry.read();
  assert.deepEqual([championOf(state, 'probation-same')?.record.model_version, probationOf(state, 'probation-same')], [2, undefined]);
  assert.equal(alerts.length, 0);
});

test('no probation, or a challenger in the shadow place: nothing is decided', async () => {
  const { registry, deps } = setup('probation-blocked');
  await insertLive('probation-blocked', 600, 0.5, 3);
  await registry.publish(registryRecord('probation-blocked', 'm', 3, 'challenger', FEATURES));
  assert.deepEqual(await reviewProbation(deps, specFor('probation-blocked')), { status: 'blocked', champion: 'm v2', challenger: 'm v3' });
  const plain = memoryRegistry([registryRecord('probation-none', 'm', 1, 'champion', FEATURES), registryRecord('probation-none', 'm', 2, 'champion', FEATURES)]);
  assert.deepEqual(await reviewProbation({ ...deps, registry: plain }, specFor('probation-none')), { status: 'idle' });
  assert.equal(plain.published.length, 0);
});
