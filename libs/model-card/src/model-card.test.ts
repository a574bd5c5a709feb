// Cards of real models: two versions trained by libs/training's run on embedded chDB (the second with a search, a
// chosen threshold and segments), their registry records mirrored into model_events as the monitoring sink does,
// then one stage change by an operator with a hostile reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, migrate, TABLES, type EventRow, type FeatureRow, type LabelRow, type RowOf } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import { loadPipelineSpec, type PipelineSpec } from '@streamloop/config';
import { seededRandom } from '@streamloop/ml';
import { emptyRegistry, foldRegistry, listModels, type ModelRegistryRecord, type RegistryState } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import { runTraining } from '@streamloop/training-lib';
import { buildModelCard, type ModelCard, type ModelCardInputs } from './card-model';
import { SECTIONS } from './format';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { loadCardSources } from './sources';

const PIPELINE = 'cards';
const FEATURES = ['signal', 'sparse', 'noise'];
const T0 = Date.UTC(2026, 0, 1);
const HOSTILE = '<script>alert("card")</script> | **bold** [link](http://evil.example)';
let ch: TestClickHouse;
const published: ModelRegistryRecord[] = [];
let state: RegistryState = emptyRegistry();

function publish(record: ModelRegistryRecord): void {
  state = foldRegistry(state, [{ kind: 'version', offset: BigInt(published.length), record }]);
  published.push(record);
}

function specFor(change: (s: PipelineSpec) => void = () => undefined): PipelineSpec {
  const spec = structuredClone(loadPipelineSpec('examples/pipelines/fraud.yaml'));
  spec.pipeline = PIPELINE;
  spec.training.minLabels = 200;
  change(spec);
  return spec;
}

/** 900 labelled vectors one second apart; `sparse` is missing in 30 % of them; events carry a region, 'islands' rare. */
async function insertDataset(): Promise<void> {
  const rnd = seededRandom(11);
  const features: FeatureRow[] = [], labels: LabelRow[] = [], events: EventRow[] = [];
  for (let i = 0; i < 900; i++) {
    const signal = rnd() * 4 - 2;
    const label = rnd() < 1 / (1 + Math.exp(-(3 * signal - 1))) ? 1 : 0;
    const id = `e-${i}`;
    const values: Record<string, number> = { signal, noise: rnd() };
    if (rnd() >= 0.3) values.sparse = rnd();
    features.push({ pipeline: PIPELINE, event_id: id, entity_key: `c-${i % 13}`, event_time: T0 + i * 1000, feature_spec_version: 'v1', values, computed_at: T0 });
    labels.push({ pipeline: PIPELINE, event_id: id, label, label_time: T0 + i * 1000 + 500 });
    const region = i % 20 === 0 ? 'islands' : i % 2 ? 'north' : 'south';
    events.push({ pipeline: PIPELINE, event_id: id, entity_key: `c-${i % 13}`, event_time: T0 + i * 1000, schema_id: 1, payload: JSON.stringify({ region }), ingested_at: T0 });
  }
  await insertRows(ch.client, TABLES.features, features);
  await insertRows(ch.client, TABLES.labels, labels);
  await insertRows(ch.client, TABLES.events, events);
}

function eventRow(record: ModelRegistryRecord, offset: number): RowOf<'model_events'> {
  return {
    pipeline: record.pipeline, model_name: record.model_name, model_version: record.model_version, stage: record.stage,
    decided_by: record.decided_by, decided_at: record.decided_at, decision_reason: record.decision_reason, decision_metrics: record.decision_metrics,
    algorithm: record.algorithm, created_at: record.created_at, onnx_sha256: record.onnx_sha256, registry_offset: offset,
  };
}

let clock = T0 + 10_000_000;
const deps = () => ({
  clickhouse: ch.client,
  registry: { read: async () => state, publish: async (r: ModelRegistryRecord) => publish(r) },
  logger: createLogger('model-card-test', 'silent'),
  now: () => (clock += 1000),
});

before(async () => {
  ch = await openTestClickHouse('cards');
  await migrate(ch.client, { database: ch.database });
  await insertDataset();
  await runTraining(deps(), { spec: specFor(), featureNames: FEATURES, reason: 'first model: enough labels' });
  await runTraining(deps(), {
    spec: specFor((s) => {
      // The searched example's model section (random search, max_f1 threshold), with fewer and smaller trials.
      const searched = loadPipelineSpec('examples/pipelines/fraud-gbdt-search.yaml').model;
      s.model = { ...searched, name: s.model.name, params: { ...searched.params, max_iter: 20 }, search: { ...searched.search!, trials: 3, cv: { kind: 'time_series', folds: 2 } } as PipelineSpec['model']['search'] };
      s.training.segmentBy = 'region';
    }),
    featureNames: FEATURES,
    reason: 'alert drift:signal (psi 0.31)',
  });
  // An operator rejects v2 (the records are republished as libs/model-registry's transitions do).
  publish({ ...published[1], stage: 'rejected', decided_by: 'cli', decided_at: clock + 5000, decision_reason: HOSTILE, decision_metrics: {} });
  await insertRows(ch.client, TABLES.model_events, published.map(eventRow));
});
after(async () => ch?.close());

async function cardOf(version: number, extra: Partial<ModelCardInputs> = {}): Promise<ModelCard> {
  const record = [...published].reverse().find((r) => r.model_version === version)!;
  const sources = await loadCardSources(ch.client, { pipeline: PIPELINE, modelName: record.model_name, version, searchId: record.params.search_id });
  const summary = listModels(state, PIPELINE).find((m) => m.model_version === version)!;
  const spec = specFor((s) => (s.training.segmentBy = 'region'));
  return buildModelCard({
    record, spec: { owner: spec.model.owner, intendedUse: spec.model.intendedUse, segmentBy: spec.training.segmentBy },
    status: summary, ...sources, generatedAt: T0 + 20_000_000, ...extra,
  });
}

test('the card of a searched gbdt version: data, features, search trials, intervals, calibration, threshold, segments, lineage, history', async () => {
  const card = await cardOf(2);
  assert.deepEqual([card.pipeline, card.modelName, card.version, card.algorithm, card.stage, card.serving], [PIPELINE, 'fraud-lr', 2, 'gbdt', 'rejected', false]);
  assert.equal(card.owner, 'payments-risk team (risk-ml@example.com)');
  assert.match(card.intendedUse ?? '', /^Scores card payments for fraud/);
  assert.equal(card.training.trainingRows, 720);
  assert.equal(card.training.holdoutRows, 180);
  assert.equal(card.training.windowStart, T0);
  assert.equal(card.training.windowEnd, T0 + 899_000);
  assert.equal(card.training.holdoutStart, T0 + 720_000);

  // Features: importance shares from the record, missing share from the reference sample.
  const byName = Object.fromEntries(card.features.map((f) => [f.name, f]));
  assert.equal(card.importanceKind, 'mean_abs_shap');
  assert.ok(byName.signal.importance > 0.5, JSON.stringify(byName.signal));
  assert.ok(byName.sparse.missingRate > 0.25 && byName.sparse.missingRate < 0.35, String(byName.sparse.missingRate));
  assert.equal(byName.signal.missingRate, 0);
  assert.ok(byName.signal.min >= -2 && byName.signal.max <= 2 && byName.signal.min < byName.signal.median);
  assert.equal(card.drift.referenceSize, 720);

  // Parameters and the search that chose them, its trials read back from the experiments table.
  assert.equal(card.parameters.max_iter, '20');
  assert.ok(card.parameters.learning_rate !== undefined && card.parameters.max_leaf_nodes !== undefined, 'the searched params');
  assert.equal(card.parameters.threshold_strategy, undefined, 'bookkeeping is shown elsewhere');
  const search = card.search!;
  assert.deepEqual([search.strategy, search.metric, search.trials, search.trialsFound], ['random', 'roc_auc', 3, 3]);
  assert.equal(search.topTrials.filter((t) => t.chosen).length, 1);
  assert.equal(search.topTrials.find((t) => t.chosen)!.trialId, search.bestTrial);
  assert.ok(search.topTrials[0].score >= search.topTrials[2].score, 'best first');
  assert.equal(search.topTrials[0].params.learning_rate !== undefined, true);
  assert.ok(search.cv.some((c) => c.name === 'roc_auc' && c.mean > 0.8));

  // Held-out metrics with their bootstrap intervals; calibration bins; the chosen threshold.
  const auc = card.metrics.find((m) => m.name === 'roc_auc')!;
  assert.ok(auc.low < auc.value && auc.value < auc.high, JSON.stringify(auc));
  assert.deepEqual(card.bootstrap, { resamples: 1000, confidence: 0.95 });
  assert.equal(card.metrics.length, 8);
  assert.ok(card.calibration!.bins.length >= 5 && card.calibration!.bins.reduce((s, b) => s + b.count, 0) === 180);
  assert.equal(card.threshold.strategy, 'max_f1');
  assert.match(card.threshold.how, /highest F1 on out-of-fold predictions of the training part \(\d+ rows\), never on the held-out window/);
  assert.ok(card.threshold.outOfFold!.f1 > 0);

  // Segments by region: islands (every 20th event) is small and flagged.
  const seg = card.segments!;
  assert.equal(seg.attribute, 'region');
  assert.equal(seg.coverage, 1);
  assert.deepEqual(seg.segments.map((s) => [s.name, s.metrics.n, s.lowSupport]), [['north', 90, false], ['south', 81, false], ['islands', 9, true]]);
  assert.ok(Number.isFinite(seg.gaps.recall));

  // Lineage: v1 served when v2 was published; the alert that triggered it; the experiment and run.
  assert.deepEqual(card.lineage.parent, { modelName: 'fraud-lr', version: 1 });
  assert.equal(card.lineage.trigger, 'alert drift:signal (psi 0.31)');
  assert.equal(card.lineage.experimentId, `${PIPELINE}/fraud-lr`);
  assert.match(card.lineage.runId ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(card.lineage.searchId, published[1].params.search_id);

  // History: published by training at the stage its offline comparison with v1 earned, then rejected by the CLI.
  assert.ok(['challenger', 'rejected'].includes(published[1].stage), published[1].stage);
  assert.deepEqual(card.history.map((h) => [h.stage, h.decidedBy, h.offset]), [[published[1].stage, 'training', 1], ['rejected', 'cli', 2]]);
  assert.equal(card.history[1].reason, HOSTILE);

  // Limitations found by the rules.
  const kinds = card.limitations.map((l) => `${l.kind}:${l.subject}`);
  assert.ok(kinds.includes('small_segment:region=islands'), kinds.join(', '));
  assert.ok(kinds.includes('missing_values:sparse'), kinds.join(', '));
  assert.ok(!kinds.includes('missing_values:signal'));
  assert.ok(kinds.some((k) => k.startsWith('wide_interval:')), `180 held-out rows give wide intervals: ${kinds.join(', ')}`);
});

test('the first version: no parent, no search, fixed threshold; its history shows it serving until v2 was published', async () => {
  const card = await cardOf(1);
  assert.equal(card.lineage.parent, null);
  assert.equal(card.lineage.parentKnown, true);
  assert.equal(card.lineage.trigger, 'first model: enough labels');
  assert.equal(card.search, null);
  assert.equal(card.threshold.strategy, 'fixed');
  assert.equal(card.threshold.how, "fixed by the pipeline spec's model.threshold");
  assert.equal(card.importanceKind, 'abs_standardized_coefficient');
  assert.equal(card.segments, null, 'trained without segment_by');
  assert.equal(card.serving, true, 'v2 was rejected: v1 serves again');
  assert.deepEqual(card.history.map((h) => h.stage), ['champion']);
});

test('without ClickHouse rows the card still comes from the record, says so, and cannot name the parent', async () => {
  const card = await cardOf(2, { experiments: [], events: [], notes: ['ClickHouse could not be read: connection refused'] });
  assert.equal(card.lineage.parentKnown, false);
  assert.equal(card.lineage.runId, null);
  assert.equal(card.lineage.trigger, null, 'the latest record is the rejection: the training reason is only in the audit trail and the experiment log');
  assert.equal(card.search!.trialsFound, 0);
  assert.deepEqual(card.history.map((h) => [h.stage, h.decidedBy]), [['rejected', 'cli']]);
  assert.match(renderMarkdown(card), /> Note: ClickHouse could not be read: connection refused/);
  assert.match(renderMarkdown(card), /Parent champion: unknown/);
  // The spec now segments by another field: the card shows what the version was segmented by when trained.
  const changed = await cardOf(2, { spec: { segmentBy: 'device' } });
  assert.equal(changed.segments?.attribute, 'region');
  assert.equal(changed.segments?.segments.length, 3);
  assert.equal(changed.owner, null);
  assert.match(renderMarkdown(changed), /- Owner: not stated \(set `model\.owner` in the pipeline spec\)/);
});

test('Markdown: every section, tables, and text written by people escaped', async () => {
  const md = renderMarkdown(await cardOf(2));
  assert.ok(md.startsWith('# Model card: fraud-lr v2\n'));
  for (const title of Object.values(SECTIONS)) assert.ok(md.includes(`\n## ${title}\n`), `section ${title}`);
  assert.match(md, /\| roc_auc \| 0\.\d{3} \| \[0\.\d{3}, 0\.\d{3}\] \|/);
  assert.match(md, /\| `islands` ⚠ \| 9 \|/);
  assert.match(md, /- Parent champion: fraud-lr v1 \(the champion serving when this version was published\)/);
  assert.match(md, /- Triggered by: alert drift:signal \(psi 0\.31\)/);
  assert.match(md, /- \*\*small segment\*\*: segment region=islands has 9 held-out rows/);
  assert.ok(!md.includes('<script>'), 'no raw HTML from a reason');
  assert.ok(md.includes('&lt;script&gt;alert\\("card"\\)') || md.includes('&lt;script&gt;alert("card")'), md.split('\n').filter((l) => l.includes('script')).join('\n'));
  const historyRow = md.split('\n').find((l) => l.includes('&lt;script&gt;'))!;
  // The reason's | and ** cannot split the table row or open emphasis: 5 columns, 6 unescaped pipes.
  assert.equal(historyRow.replace(/\\\|/g, '').split('|').length, 7, historyRow);
  assert.ok(historyRow.includes('\\*\\*bold\\*\\*') && historyRow.includes('\\[link\\]'), historyRow);
});

test('HTML: one self-contained page, no script and no network, every text escaped, charts inline', async () => {
  const html = renderHtml(await cardOf(2));
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  for (const title of Object.values(SECTIONS)) assert.ok(html.includes(`<h2>${title.replace(/&/g, '&amp;')}</h2>`), `section ${title}`);
  assert.ok(!/<script/i.test(html), 'no script element, not even the hostile reason');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;card&quot;)&lt;/script&gt;'));
  assert.ok(!/\s(src|href)=/i.test(html) && !/url\(/i.test(html) && !/@import/i.test(html), 'nothing fetched');
  assert.ok(html.includes("default-src 'none'"), 'a CSP that forbids any fetch');
  assert.match(html, /<svg role="img" aria-label="feature importance"/);
  assert.match(html, /<svg role="img" aria-label="reliability diagram"/);
  assert.match(html, /<td><code>islands<\/code> <span class="warn">⚠<\/span><\/td>/);
  // Hostile names are escaped too (a feature name or segment is data from the spec and the events).
  const card = await cardOf(2);
  card.features[0].name = '<img src=x onerror=alert(1)>';
  const hostile = renderHtml(card);
  assert.ok(!hostile.includes('<img') && hostile.includes('&lt;img src=x onerror=alert(1)&gt;'));
});

test('a model registered from elsewhere: no metrics, no reference, no search; the card says what it cannot say', () => {
  const record: ModelCardInputs['record'] = {
    pipeline: PIPELINE, model_name: 'sk-model', model_version: 1, algorithm: 'external', stage: 'candidate', created_at: T0, feature_names: ['a', 'b'],
    feature_spec_version: 'v1', threshold: 0.5, onnx_sha256: '00', metrics: {}, params: {}, data_window_start: 0, data_window_end: 0, training_rows: 0,
    reference: {}, feature_importance: {}, signature: null, decided_by: 'external', decided_at: T0, decision_reason: 'registered', decision_metrics: {},
  };
  const card = buildModelCard({ record, spec: {}, experiments: [], events: [], generatedAt: T0 });
  assert.equal(card.external, true);
  assert.equal(card.lineage.trigger, 'registered from elsewhere');
  assert.equal(card.lineage.experimentId, null);
  assert.equal(card.threshold.how, 'given when the model was registered');
  assert.deepEqual(card.limitations.map((l) => l.kind), ['no_evaluation']);
  assert.deepEqual(card.history.map((h) => [h.stage, h.decidedBy, h.reason]), [['candidate', 'external', 'registered']]);
  const md = renderMarkdown(card);
  for (const title of Object.values(SECTIONS)) assert.ok(md.includes(`\n## ${title}\n`), `section ${title}`);
  assert.match(md, /## Held-out metrics\n\nNone recorded\./);
  assert.match(md, /\| `a` \| – \| – \|/);
  const html = renderHtml(card);
  assert.ok(html.includes('<h2>Calibration</h2>\n<p>Not recorded.</p>'));
  assert.ok(!html.includes('NaN') && !md.includes('NaN'), 'undefined numbers print as –');
});
