// Alert deduplication with the real broker and embedded ClickHouse: a drift that persists alerts once over several
// drift runs, a restarted monitoring service restores what has alerted from the alerts topic and stays quiet, and
// a drift that worsens alerts again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countRows } from '@streamloop/clickhouse';
import { MonitoringModule, MonitoringService } from '@streamloop/monitoring';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { serveModules, type AlertRecord, type FeatureVectorRecord, type ServingApp } from '@streamloop/runtime';
import { seededRandom } from '@streamloop/testing';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const HOUR = 3_600_000;

test('a persisting drift alerts once, not again after a restart of monitoring, and again when it worsens', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 240_000 }, async () => {
  const name = uniqueName('dedup');
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.monitoring.window = '1h';
    s.monitoring.windowMs = HOUR;
    s.monitoring.alertCooldownMs = 24 * HOUR;
    // PSI alone judges "amount" (and the dataset share); no change detectors.
    s.monitoring.thresholds = { ksPValue: null, jensenShannon: null, wasserstein: null };
    s.monitoring.detectors = { labelDelayMs: HOUR, adwin: null, pageHinkley: null, ddm: null };
    s.monitoring.reference = { source: 'training' };
    s.monitoring.features = { amount: { kind: 'numeric', statistic: 'psi', threshold: null, exclude: false } };
  });
  const stack = await startStack(brokers!, [spec], [MonitoringModule]);
  let restarted: ServingApp | undefined;
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const types = stack.runtime.types;
    const rnd = seededRandom(17);
    const t0 = Date.UTC(2026, 10, 5, 0, 0, 0);
    // 300 vectors over 25 minutes of event time, "amount" shifted by `shift` against the reference's 50..100.
    const batch = (from: number, shift: number): FeatureVectorRecord[] => Array.from({ length: 300 }, (_, i) => ({
      event_id: `${name}-${from}-${i}`, pipeline: name, entity_key: `c${i % 5}`, event_time: from + i * 5000, feature_spec_version: 'v1',
      values: { amount: 50 + rnd() * 50 + shift }, computed_at: Date.now(),
    }));
    const sendFeatures = async (vectors: FeatureVectorRecord[]) => producer.send({
      topic: ctx.topics.features,
      messages: await Promise.all(vectors.map(async (v) => ({ key: v.entity_key, value: await stack.serde.encode(`${ctx.topics.features}-value`, types.featureVector, v) }))),
    });
    const ch = await stack.runtime.clickhouseConnection.client();
    await sendFeatures(batch(t0, 20));
    await eventually(async () => ((await countRows(ch, 'features', name)) >= 300 ? true : undefined), 'the first batch in ClickHouse');
    // Only now the champion: every drift run sees the same window.
    const model: ModelRegistryRecord = {
      pipeline: name, model_name: 'm', model_version: 1, algorithm: 'logistic_regression', stage: 'champion', created_at: Date.now(),
      feature_names: ['amount'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([1]), onnx_sha256: 'x', metrics: {}, params: {},
      data_window_start: t0, data_window_end: t0, training_rows: 500, reference: { amount: Array.from({ length: 500 }, () => 50 + rnd() * 50) },
      feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
    };
    await producer.send({ topic: spec.topics.models!, messages: [{ key: `${name}/m/1`, value: await stack.serde.encode(`${spec.topics.models!}-value`, types.modelRegistry, model) }] });

    const psiAlerts = async () => (await readAll<AlertRecord>(stack.kafka, stack.serde, ctx.topics.alerts))
      .map((a) => a.value).filter((a) => a.feature === 'amount' && a.statistic === 'psi');
    const first = stack.serving.app.get(MonitoringService);
    const run1 = await eventually(() => first.driftJob(name), 'a drift report (needs the model record)');
    const run2 = await first.driftJob(name);
    assert.ok(run1.features[0]?.drifted && run2?.features[0]?.drifted, `amount drifted in both runs: ${JSON.stringify([run1.features, run2?.features])}`);
    const once = await psiAlerts();
    assert.equal(once.length, 1, `one alert over two runs of a persisting drift: ${JSON.stringify(once)}`);
    assert.equal(once[0].threshold, 0.2);
    assert.equal(once[0].model_name, 'm');
    assert.equal(once[0].model_version, 1);

    // Restart monitoring (a new service: nothing in memory) on the same broker, registry and ClickHouse.
    await stack.serving.close();
    restarted = await serveModules(stack.runtime, [MonitoringModule]);
    const second = restarted.app.get(MonitoringService);
    const run3 = await eventually(() => second.driftJob(name), 'a drift report after the restart');
    assert.ok(run3.features[0]?.drifted && run3.window_start === run1.window_start, 'the same drift in the same window');
    assert.equal((await psiAlerts()).length, 1, 'no alert for the same drift after the restart');

    // The drift worsens: a later window with "amount" shifted much further.
    await sendFeatures(batch(t0 + 2 * HOUR, 60));
    await eventually(async () => ((await countRows(ch, 'features', name)) >= 600 ? true : undefined), 'the second batch in ClickHouse');
    const run4 = await eventually(async () => {
      const report = await second.driftJob(name);
      return report && report.window_start > run1.window_end ? report : undefined;
    }, 'a drift report of the later window');
    const twice = await psiAlerts();
    assert.ok(run4.features[0].psi >= 1.25 * once[0].value, `the drift worsened by at least 25 %: ${run4.features[0].psi} vs ${once[0].value}`);
    assert.equal(twice.length, 2, `a worsened drift alerts again: ${JSON.stringify(twice)}`);
    assert.equal(twice[1].value, run4.features[0].psi);
  } finally {
    await producer.disconnect();
    await restarted?.close();
    await stack.close();
  }
});
