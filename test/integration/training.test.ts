// The training service with the real broker and embedded ClickHouse: dataset from ClickHouse, time split,
// model selection (search, threshold) on the training part, evaluation, ONNX export, publication to the model registry topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, queryRows, TABLES } from '@streamloop/clickhouse';
import { OnnxScorer } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { FeatureComputer } from '@streamloop/features';
import { generateCardTransactions } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { assertErrorBody, request } from '../support/http-errors';
import { brokersOrSkip, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('training builds a dataset from ClickHouse, evaluates on the latest window and publishes an ONNX model', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('train');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
  });
  const stack = await startStack(brokers!, [spec], [TrainingModule]);
  try {
    const url = `${stack.serving.url}/v1/pipelines/${name}/train`;
    const tooEarly = assertErrorBody(await request(url, { method: 'POST' }), 409, 'NOT_ENOUGH_DATA');
    assert.match(tooEarly.message, /min_labels/);

    // Feature vectors and (some) labels, as monitoring would have sunk them.
    const computer = new FeatureComputer(spec);
    const stream = generateCardTransactions({ seed: 21, events: 1500, idPrefix: name, compromiseRate: 0.03 });
    const features = stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    });
    const ch = await stack.runtime.clickhouseConnection.client();
    await insertRows(ch, TABLES.features, features);
    await insertRows(ch, TABLES.labels, stream.slice(0, 1400).map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));

    const res = await fetch(url, { method: 'POST' });
    const result = (await res.json()) as { model_version: number; training_rows: number; holdout_rows: number; metrics: Record<string, number>; parity_max_abs_diff: number; data_window_end: number };
    assert.equal(res.status, 201, JSON.stringify(result));
    assert.equal(result.model_version, 1);
    assert.equal(result.training_rows + result.holdout_rows, 1400, 'only labelled events');
    assert.ok(result.metrics.roc_auc > 0.75, `held-out ROC AUC ${result.metrics.roc_auc}`);
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc']) assert.ok(k in result.metrics, k);
    assert.ok(result.parity_max_abs_diff <= 1e-5);
    assert.equal(result.data_window_end, stream[1399].event.event_time);

    const models = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, spec.topics.models!);
    assert.equal(models.length, 1);
    const m = models[0].value;
    assert.equal(m.model_version, 1);
    assert.deepEqual(m.feature_names, computer.featureNames);
    assert.ok(Object.keys(m.reference).length === m.feature_names.length);
    assert.ok(Math.abs(Object.values(m.feature_importance).reduce((a, b) => a + b, 0) - 1) < 1e-9, 'importance shares sum to 1');
    assert.equal(models[0].key?.toString(), `${name}/${spec.model.name}/1`);
    const scorer = await OnnxScorer.load(new Uint8Array(m.onnx), { expectedFeatures: m.feature_names.length });
    const { probabilities } = await scorer.score(new Float32Array(m.feature_names.length).fill(Number.NaN), 1);
    assert.ok(probabilities[0] >= 0 && probabilities[0] <= 1);
    await scorer.release();

    // A second run publishes the next version, and the experiment log has both runs.
    const again = (await (await fetch(url, { method: 'POST' })).json()) as { model_version: number };
    assert.equal(again.model_version, 2);
    const runs = await ch.query({ query: `SELECT count() AS n FROM ${TABLES.experiments} WHERE pipeline = {p:String}`, query_params: { p: name }, format: 'JSONEachRow' });
    assert.equal(Number(((await runs.json()) as Array<{ n: string }>)[0].n), 2);
  } finally {
    await stack.close();
  }
});

test('the model type comes from the spec: gradient-boosted trees train, export and publish the same way', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('gbdt');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
    s.model.algorithm = 'gbdt';
    s.model.params = { max_iter: 50, learning_rate: 0.1, max_leaf_nodes: 15 };
  });
  const stack = await startStack(brokers!, [spec], [TrainingModule]);
  try {
    const computer = new FeatureComputer(spec);
    const stream = generateCardTransactions({ seed: 22, events: 1500, idPrefix: name, compromiseRate: 0.03 });
    const ch = await stack.runtime.clickhouseConnection.client();
    await insertRows(ch, TABLES.features, stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    }));
    await insertRows(ch, TABLES.labels, stream.map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));
    const res = await fetch(`${stack.serving.url}/v1/pipelines/${name}/train`, { method: 'POST' });
    const result = (await res.json()) as { algorithm: string; metrics: Record<string, number>; parity_max_abs_diff: number };
    assert.equal(res.status, 201, JSON.stringify(result));
    assert.equal(result.algorithm, 'gbdt');
    assert.ok(result.metrics.roc_auc > 0.75, `held-out ROC AUC ${result.metrics.roc_auc}`);
    const [model] = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, spec.topics.models!);
    assert.equal(model.value.algorithm, 'gbdt');
    assert.equal(model.value.params.max_leaf_nodes, '15');
    const top = Object.entries(model.value.feature_importance).sort((a, b) => b[1] - a[1])[0];
    assert.ok(top[1] > 0, `top feature ${top[0]}`);
  } finally {
    await stack.close();
  }
});

test('model selection from the spec: a random search on the training part, every trial logged, the winner refitted, chosen threshold, full held-out report', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('search');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.training.segmentBy = 'merchant_category';
    s.topics.models = uniqueName('models');
    s.model.algorithm = 'gbdt';
    s.model.params = { max_iter: 30 };
    s.model.thresholdSelection = { strategy: 'max_f1' };
    s.model.search = {
      strategy: 'random', trials: 4, cv: { kind: 'time_series', folds: 3 }, metric: 'average_precision', seed: 5,
      space: { learning_rate: { type: 'log_uniform', low: 0.05, high: 0.3 }, max_leaf_nodes: { type: 'int', low: 4, high: 24 }, min_samples_leaf: 10 },
    };
  });
  const stack = await startStack(brokers!, [spec], [TrainingModule]);
  try {
    const computer = new FeatureComputer(spec);
    const stream = generateCardTransactions({ seed: 23, events: 1500, idPrefix: name, compromiseRate: 0.03 });
    const ch = await stack.runtime.clickhouseConnection.client();
    await insertRows(ch, TABLES.features, stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    }));
    await insertRows(ch, TABLES.labels, stream.map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));
    // The raw events, as monitoring sinks them: the segment attribute is read from their payload.
    await insertRows(ch, TABLES.events, stream.map(({ event }) => ({
      pipeline: name, event_id: event.transaction_id, entity_key: event.card_id, event_time: event.event_time, schema_id: 1, payload: JSON.stringify(event),
    })));

    const res = await fetch(`${stack.serving.url}/v1/pipelines/${name}/train`, { method: 'POST' });
    const result = (await res.json()) as {
      holdout_rows: number; training_rows: number; threshold: number; metrics: Record<string, number>; params: Record<string, number | string>;
      search: { search_id: string; strategy: string; metric: string; trials: number; failed_trials: number; best_trial_id: number; cv_score: number };
    };
    assert.equal(res.status, 201, JSON.stringify(result));
    assert.deepEqual({ ...result.search, search_id: undefined, best_trial_id: undefined, cv_score: undefined }, {
      search_id: undefined, strategy: 'random', metric: 'pr_auc', trials: 4, failed_trials: 0, best_trial_id: undefined, cv_score: undefined,
    });

    // Every trial is a row of the experiments table, with its params, CV metrics and duration.
    const trials = await queryRows<{ run_id: string; params: Record<string, string>; metrics: Record<string, number>; duration_ms: number; status: string }>(
      ch,
      `SELECT run_id, params, metrics, duration_ms, status FROM ${TABLES.experiments} WHERE pipeline = {p:String} AND status = 'trial' ORDER BY toUInt32(params['trial_id'])`,
      { p: name },
    );
    assert.equal(trials.length, 4);
    trials.forEach((t, i) => {
      assert.equal(t.params.search_id, result.search.search_id);
      assert.equal(t.params.trial_id, String(i));
      assert.equal(t.params.min_samples_leaf, '10', 'fixed values of the space are recorded');
      const lr = Number(t.params.learning_rate), leaves = Number(t.params.max_leaf_nodes);
      assert.ok(lr >= 0.05 && lr <= 0.3 && Number.isInteger(leaves) && leaves >= 4 && leaves <= 24, JSON.stringify(t.params));
      for (const k of ['roc_auc', 'roc_auc_std', 'pr_auc', 'log_loss', 'brier', 'score']) assert.ok(Number.isFinite(Number(t.metrics[k])), `trial ${i} ${k}`);
      assert.equal(Number(t.metrics.score), Number(t.metrics.pr_auc), 'the score is the search metric');
      assert.ok(Number(t.duration_ms) > 0);
    });
    // The winner has the best CV score, and its params are what the published model was fitted with.
    const best = trials[result.search.best_trial_id];
    assert.equal(Math.max(...trials.map((t) => Number(t.metrics.score))), Number(best.metrics.score));
    assert.equal(result.search.cv_score, Number(best.metrics.score));

    const [model] = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, spec.topics.models!);
    const m = model.value;
    for (const k of ['learning_rate', 'max_leaf_nodes', 'min_samples_leaf']) assert.equal(m.params[k], best.params[k], k);
    assert.equal(m.params.max_iter, '30', 'model.params not in the space are kept');
    assert.equal(m.params.search_id, result.search.search_id);
    assert.equal(m.params.threshold_strategy, 'max_f1');
    assert.equal(m.metrics.search_cv_pr_auc, result.search.cv_score);

    // The threshold was chosen on out-of-fold predictions of the training part, and the held-out report uses it.
    assert.equal(m.threshold, result.threshold);
    assert.equal(m.metrics.threshold, m.threshold);
    assert.ok(m.threshold > 0 && m.threshold < 1 && m.threshold !== 0.5, `threshold ${m.threshold}`);
    assert.ok(m.metrics.threshold_oof_rows > 0 && m.metrics.threshold_oof_rows < result.training_rows, 'the first time block has no out-of-fold score');
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc', 'log_loss', 'brier', 'calibration_ece']) assert.ok(Number.isFinite(m.metrics[k]), k);
    assert.ok(m.metrics.roc_auc > 0.75 && m.metrics.pr_auc > 0.3, `held-out ROC AUC ${m.metrics.roc_auc}, PR AUC ${m.metrics.pr_auc}`);
    const { confusion_tp: tp, confusion_fp: fp, confusion_tn: tn, confusion_fn: fn } = m.metrics;
    assert.equal(tp + fp + tn + fn, result.holdout_rows);
    assert.equal(tp + fn, m.metrics.positives);
    assert.ok(Math.abs(m.metrics.precision - tp / (tp + fp)) < 1e-12 && Math.abs(m.metrics.recall - tp / (tp + fn)) < 1e-12);
    const binCounts = Object.entries(m.metrics).filter(([k]) => /^calibration_bin_\d_count$/.test(k)).map(([, v]) => v);
    assert.ok(binCounts.length >= 2);
    assert.equal(binCounts.reduce((a, b) => a + b, 0), result.holdout_rows);

    // Segments by merchant category, read from the stored events.
    assert.equal(m.metrics.segment_coverage, 1);
    const segmentRows = Object.entries(m.metrics).filter(([k]) => /^segment\.merchant_category=[a-z]+\.n$/.test(k));
    assert.ok(segmentRows.length >= 4, JSON.stringify(segmentRows));
    assert.equal(segmentRows.reduce((a, [, v]) => a + v, 0), result.holdout_rows);
    assert.ok('segment_gap.merchant_category.recall' in m.metrics || 'segment_gap.merchant_category.selection_rate' in m.metrics);

    // Importance: mean |SHAP| shares over held-out rows, with the split gain beside them.
    assert.equal(m.params.feature_importance, 'mean_abs_shap');
    assert.ok(Math.abs(Object.values(m.feature_importance).reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const gains = m.feature_names.map((f) => m.metrics[`importance_gain.${f}`] ?? 0);
    assert.ok(Math.abs(gains.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'gain shares sum to 1');
    const shap = m.feature_names.map((f) => m.metrics[`importance_mean_abs_shap.${f}`] ?? 0);
    const total = shap.reduce((a, b) => a + b, 0);
    m.feature_names.forEach((f, j) => assert.ok(Math.abs(m.feature_importance[f] - shap[j] / total) < 1e-12, f));

    // The published run links to its search.
    const published = await queryRows<{ params: Record<string, string> }>(ch, `SELECT params FROM ${TABLES.experiments} WHERE pipeline = {p:String} AND status = 'published'`, { p: name });
    assert.equal(published.length, 1);
    assert.equal(published[0].params.search_id, result.search.search_id);
  } finally {
    await stack.close();
  }
});
