import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { insertRows, loadLabelledPredictions, type LabelRow, type PredictionRow } from '@streamloop/clickhouse';
import { categoricalPsi, chiSquareTest, jensenShannonDistance, ksTest, psi, wasserstein1 } from '@streamloop/drift';
import { evaluateBinary, seededRandom } from '@streamloop/ml';
import { categoricalCounts, categoricalDrift, numericDrift, performanceByModel, performanceOverTime, type WindowPerformance } from './index';
import { agree, openMigratedClickHouse, type TestClickHouse } from './test-support';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 5, 1);
const THRESHOLD = 0.5;
let ch: TestClickHouse;

interface Truth {
  id: string;
  time: number;
  /** The champion's latest score and predicted class. */
  score: number;
  predicted: number;
  /** Labels in arrival order (a later one corrects an earlier one). */
  labels: Array<{ label: number; at: number }>;
}
const truth: Truth[] = [];

function prediction(id: string, time: number, score: number, predictedAt: number, role: 'champion' | 'challenger' = 'champion'): PredictionRow {
  return {
    pipeline: 'fraud', event_id: id, entity_key: 'k', event_time: time, model_name: 'm', model_version: 1, role, score,
    label: score >= THRESHOLD ? 1 : 0, threshold: THRESHOLD, latency_ms: 1, predicted_at: predictedAt,
  };
}

before(async () => {
  ch = await openMigratedClickHouse();
  const rnd = seededRandom(4242);
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  // Three busy hours, then an hour whose few labels are all negative, then an empty hour.
  const perHour = [900, 800, 1000, 30];
  perHour.forEach((n, h) => {
    for (let i = 0; i < n; i++) {
      const id = `h${h}-${i}`;
      const time = T0 + h * HOUR + Math.floor((i * HOUR) / n);
      const positive = h < 3 && rnd() < 0.3;
      // Scores on a 0.05 grid: many ties, some exactly at the threshold; a drifting mean from hour to hour.
      let score = Math.min(1, Math.max(0, Math.round((positive ? 0.65 : 0.3 + 0.05 * h) * 20 + (rnd() - 0.5) * 12) / 20));
      if (h === 3 && i === 0) score = 1.25; // not a probability: log loss undefined in that window
      if (h === 1 && i === 5) score = Number.NaN; // unscored: counted as a prediction, not in the metrics
      // A re-scored event: the older prediction must lose to the later one.
      if (rnd() < 0.05) predictions.push(prediction(id, time, 1 - score, time + 10));
      predictions.push(prediction(id, time, score, time + 20));
      predictions.push(prediction(id, time, rnd(), time + 30, 'challenger'));
      const t: Truth = { id, time, score, predicted: score >= THRESHOLD ? 1 : 0, labels: [] };
      if (rnd() < 0.7 || (h === 3 && i === 0)) {
        // Labels arrive 1–48 hours late; 5% are corrected a day later.
        const at = time + Math.floor((1 + rnd() * 47) * HOUR);
        t.labels.push({ label: positive ? 1 : 0, at });
        if (rnd() < 0.05) t.labels.push({ label: positive ? 0 : 1, at: at + 24 * HOUR });
      }
      for (const l of t.labels) labels.push({ pipeline: 'fraud', event_id: id, label: l.label, label_time: l.at });
      truth.push(t);
    }
  });
  await insertRows(ch.client, 'predictions', predictions);
  // Labels land in arrival batches, corrections after the originals.
  labels.sort((a, b) => Number(a.label_time) - Number(b.label_time));
  for (let i = 0; i < labels.length; i += 500) await insertRows(ch.client, 'labels', labels.slice(i, i + 500));
});

after(async () => {
  await ch?.close();
});

function assertWindowAgrees(w: WindowPerformance, y: number[], scores: number[], what: string): void {
  const e = evaluateBinary(y, scores, THRESHOLD);
  assert.equal(w.labelled, e.n, `${what}: labelled`);
  assert.equal(w.positives, e.positives, `${what}: positives`);
  assert.deepEqual({ tp: w.tp, fp: w.fp, tn: w.tn, fn: w.fn }, e.confusion, `${what}: confusion`);
  agree(w.rocAuc, e.rocAuc, `${what}: roc auc`);
  agree(w.precision, e.precision, `${what}: precision`);
  agree(w.recall, e.recall, `${what}: recall`);
  agree(w.f1, e.f1, `${what}: f1`);
  agree(w.logLoss, e.logLoss, `${what}: log loss`);
}

test('performance per window agrees with evaluateBinary on the labelled predictions of each window', async () => {
  const windows = await performanceOverTime(ch.client, { pipeline: 'fraud', from: T0, to: T0 + 5 * HOUR, windowMs: HOUR, threshold: THRESHOLD });
  assert.deepEqual(windows.map((w) => (w.windowStart - T0) / HOUR), [0, 1, 2, 3], 'the empty hour has no row');
  for (const w of windows) {
    const what = `hour ${(w.windowStart - T0) / HOUR}`;
    assert.equal(w.windowEnd, w.windowStart + HOUR);
    assert.equal(w.predictions, truth.filter((t) => t.time >= w.windowStart && t.time < w.windowEnd).length, `${what}: predictions`);
    // The library's own reader (latest prediction, latest label per event), then the TypeScript metrics.
    const rows = (await loadLabelledPredictions(ch.client, { pipeline: 'fraud', from: w.windowStart, to: w.windowEnd })).filter((r) => !Number.isNaN(r.score));
    assertWindowAgrees(w, rows.map((r) => r.label), rows.map((r) => r.score), what);
  }
  const [first, , , negativesOnly] = windows;
  assert.ok(first.rocAuc > 0.7 && first.labelled > 500, `hour 0: ${JSON.stringify(first)}`);
  assert.ok(Number.isNaN(negativesOnly.rocAuc) && Number.isNaN(negativesOnly.logLoss), 'one class and a non-probability score: AUC and log loss undefined');
});

test('performance by model: two champion versions and a challenger in one window, each judged on its own labelled predictions', async () => {
  // One hour, 1200 events. Version 1 serves events 0–599 and version 2 from 600 on (a retrain promoted it); version 2
  // shadowed version 1 as a challenger on 300–599 before that, and version 3 shadows version 2 on 900–1199 with its
  // own threshold (0.3). Every model scores differently; 80 % of the events get a label.
  const start = T0 + 300 * HOUR;
  const rnd = seededRandom(77);
  const models = [
    { version: 1, role: 'champion' as const, from: 0, to: 600, threshold: 0.5, skill: 0.35 },
    { version: 2, role: 'challenger' as const, from: 300, to: 600, threshold: 0.5, skill: 0.25 },
    { version: 2, role: 'champion' as const, from: 600, to: 1200, threshold: 0.5, skill: 0.25 },
    { version: 3, role: 'challenger' as const, from: 900, to: 1200, threshold: 0.3, skill: 0.1 },
  ];
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  const expected = new Map<string, { y: number[]; scores: number[]; threshold: number }>();
  const truthOf: number[] = [];
  for (let i = 0; i < 1200; i++) {
    const y = rnd() < 0.3 ? 1 : 0;
    truthOf.push(y);
    if (rnd() < 0.8) labels.push({ pipeline: 'versions', event_id: `v${i}`, label: y, label_time: start + 2 * HOUR + i });
  }
  for (const m of models) {
    const key = `m/${m.version}/${m.role}`;
    const e = { y: [] as number[], scores: [] as number[], threshold: m.threshold };
    expected.set(key, e);
    for (let i = m.from; i < m.to; i++) {
      const time = start + i * 3000;
      const score = Math.round(Math.min(1, Math.max(0, (truthOf[i] ? 0.6 : 0.4) + (rnd() - 0.5) * 2 * m.skill + 0.2 * (rnd() - 0.5))) * 40) / 40;
      const row = { ...prediction(`v${i}`, time, score, time + 20, m.role), pipeline: 'versions', model_version: m.version, threshold: m.threshold, label: score >= m.threshold ? 1 : 0 };
      // A re-scored event: the earlier prediction of the same model loses to the later one.
      if (i % 97 === 0) predictions.push({ ...row, score: 1 - score, label: 1 - score >= m.threshold ? 1 : 0, predicted_at: time + 10 });
      predictions.push(row);
      if (labels.some((l) => l.event_id === `v${i}`)) {
        e.y.push(truthOf[i]);
        e.scores.push(score);
      }
    }
  }
  await insertRows(ch.client, 'predictions', predictions);
  await insertRows(ch.client, 'labels', labels);

  const windows = await performanceByModel(ch.client, { pipeline: 'versions', from: start, to: start + HOUR, windowMs: HOUR });
  assert.deepEqual(windows.map((w) => `${w.modelName}/${w.modelVersion}/${w.role}`), ['m/1/champion', 'm/2/challenger', 'm/2/champion', 'm/3/challenger']);
  for (const w of windows) {
    const key = `${w.modelName}/${w.modelVersion}/${w.role}`;
    const e = expected.get(key)!;
    const m = models.find((x) => `m/${x.version}/${x.role}` === key)!;
    assert.equal(w.predictions, m.to - m.from, `${key}: its own predictions`);
    assert.equal(w.labelled, e.y.length, `${key}: exactly its own labelled predictions`);
    // Each model's predicted class at its own threshold (version 3's is 0.3).
    const r = evaluateBinary(e.y, e.scores, e.threshold);
    assert.equal(w.positives, r.positives, `${key}: positives`);
    assert.deepEqual({ tp: w.tp, fp: w.fp, tn: w.tn, fn: w.fn }, r.confusion, `${key}: confusion`);
    for (const k of ['rocAuc', 'precision', 'recall', 'f1', 'logLoss'] as const) agree(w[k], r[k], `${key}: ${k}`);
  }
  assert.ok(windows[0].labelled > 400 && windows[1].labelled > 200 && windows[3].labelled > 200, windows.map((w) => w.labelled).join());
  assert.ok(windows[3].rocAuc > windows[0].rocAuc, 'version 3 is the better model, on its own predictions');

  // One role, one model: the same figures as that model's entry.
  const challengers = await performanceByModel(ch.client, { pipeline: 'versions', from: start, to: start + HOUR, windowMs: HOUR, role: 'challenger' });
  assert.deepEqual(challengers, windows.filter((w) => w.role === 'challenger'));
  const [v2] = await performanceByModel(ch.client, { pipeline: 'versions', from: start, to: start + HOUR, windowMs: HOUR, role: 'champion', modelName: 'm', modelVersion: 2 });
  assert.deepEqual(v2, windows[2]);
  // The champion path of performanceOverTime, filtered to version 2, agrees with it.
  const [old] = await performanceOverTime(ch.client, { pipeline: 'versions', from: start, to: start + HOUR, windowMs: HOUR, threshold: 0.5, modelName: 'm', modelVersion: 2 });
  assert.deepEqual(old, (({ modelName: _n, modelVersion: _v, role: _r, ...rest }) => rest)(windows[2]));
});

test('labels arriving late: labelsKnownAt replays the figures as they stood, windows cut at `to`', async () => {
  const knownAt = T0 + 20 * HOUR;
  const windows = await performanceOverTime(ch.client, {
    pipeline: 'fraud', from: T0 + HOUR / 2, to: T0 + 3 * HOUR, windowMs: HOUR, threshold: THRESHOLD, labelsKnownAt: knownAt,
  });
  assert.deepEqual(windows.map((w) => [w.windowStart - T0, w.windowEnd - T0]), [[HOUR / 2, 1.5 * HOUR], [1.5 * HOUR, 2.5 * HOUR], [2.5 * HOUR, 3 * HOUR]]);
  let late = 0;
  for (const w of windows) {
    const known = truth
      .filter((t) => t.time >= w.windowStart && t.time < w.windowEnd && !Number.isNaN(t.score))
      .map((t) => ({ t, label: t.labels.filter((l) => l.at <= knownAt).at(-1) }))
      .filter((x) => x.label !== undefined);
    late += truth.filter((t) => t.time >= w.windowStart && t.time < w.windowEnd && t.labels.length > 0 && t.labels[0].at > knownAt).length;
    assertWindowAgrees(w, known.map((x) => x.label!.label), known.map((x) => x.t.score), `window at ${(w.windowStart - T0) / HOUR} h`);
  }
  assert.ok(late > 100, `some labels were not known yet (${late})`);
});

test('matches scikit-learn (roc_auc_score, log_loss, precision/recall/F1 per threshold) on the metrics fixture', async () => {
  const fx = JSON.parse(readFileSync(new URL('../../ml/src/fixtures/metrics_sklearn.json', import.meta.url), 'utf8')) as {
    y: number[]; scores: number[]; roc_auc: number; log_loss: number;
    thresholds: Record<string, { precision: number; recall: number; f1: number; tp: number; fp: number; tn: number; fn: number }>;
  };
  const start = T0 + 100 * HOUR;
  const rows = fx.scores.map((s, i) => ({ ...prediction(`sk${i}`, start + i, s, start), pipeline: 'sk' }));
  await insertRows(ch.client, 'predictions', rows);
  await insertRows(ch.client, 'labels', fx.y.map((y, i) => ({ pipeline: 'sk', event_id: `sk${i}`, label: y, label_time: start })));
  for (const [t, m] of Object.entries(fx.thresholds)) {
    const [w] = await performanceOverTime(ch.client, { pipeline: 'sk', from: start, to: start + HOUR, windowMs: HOUR, threshold: Number(t) });
    assert.equal(w.labelled, fx.y.length);
    agree(w.rocAuc, fx.roc_auc, 'roc_auc', 1e-12);
    agree(w.logLoss, fx.log_loss, 'log_loss', 1e-12);
    assert.deepEqual({ tp: w.tp, fp: w.fp, tn: w.tn, fn: w.fn }, { tp: m.tp, fp: m.fp, tn: m.tn, fn: m.fn }, `confusion at ${t}`);
    for (const k of ['precision', 'recall', 'f1'] as const) agree(w[k], m[k], `${k} at ${t}`, 1e-12);
  }
});

test('prediction drift and label drift between two windows agree with the TypeScript statistics', async () => {
  const filter = { pipeline: 'fraud', role: 'champion' as const, modelName: 'm', modelVersion: 1 };
  const hour = (h: number) => ({ ...filter, from: T0 + h * HOUR, to: T0 + (h + 1) * HOUR });
  const inHour = (h: number) => truth.filter((t) => t.time >= T0 + h * HOUR && t.time < T0 + (h + 1) * HOUR);
  const scores = await numericDrift(ch.client, { kind: 'predictions', ...hour(0) }, { kind: 'predictions', ...hour(2) });
  const ref = inHour(0).map((t) => t.score), cur = inHour(2).map((t) => t.score);
  const s = scores.get('score')!;
  agree(s.psi?.value, psi(ref, cur).value, 'score psi');
  agree(s.jensenShannon, jensenShannonDistance(ref, cur), 'score jensen-shannon');
  agree(s.ks?.pValue, ksTest(ref, cur).pValue, 'score ks p-value');
  agree(s.wasserstein, wasserstein1(ref, cur), 'score wasserstein');
  assert.ok(s.psi!.value > 0.1, `the score mean moved: psi ${s.psi!.value}`);

  const predicted = await categoricalDrift(ch.client, { kind: 'predictions', column: 'predicted_label', ...hour(0) }, { kind: 'predictions', column: 'predicted_label', ...hour(2) });
  const chiPredicted = chiSquareTest(categoricalCounts(inHour(0).map((t) => t.predicted)), categoricalCounts(inHour(2).map((t) => t.predicted)));
  agree(predicted.get('predicted_label')!.chiSquare?.statistic, chiPredicted.statistic, 'predicted label chi-square');

  // True labels as known at the end of hour 30: every original label, not every correction.
  const knownAt = T0 + 30 * HOUR;
  const labelsOf = (h: number) => inHour(h).flatMap((t) => t.labels.filter((l) => l.at <= knownAt).slice(-1).map((l) => l.label));
  const labels = await categoricalDrift(ch.client, { kind: 'labels', ...hour(0), labelsKnownAt: knownAt }, { kind: 'labels', ...hour(1), labelsKnownAt: knownAt });
  const l = labels.get('label')!;
  const refLabels = categoricalCounts(labelsOf(0)), curLabels = categoricalCounts(labelsOf(1));
  assert.deepEqual([...l.referenceCounts].sort(), [...refLabels].sort());
  assert.deepEqual([...l.currentCounts].sort(), [...curLabels].sort());
  agree(l.chiSquare?.pValue, chiSquareTest(refLabels, curLabels).pValue, 'label chi-square p-value');
  agree(l.psi?.value, categoricalPsi(refLabels, curLabels).value, 'label psi');
});

test('bad options are rejected with the field named, and a label other than 0/1 names its window', async () => {
  await assert.rejects(performanceOverTime(ch.client, { pipeline: 'fraud', from: T0, to: T0 + HOUR, windowMs: 0 }), /windowMs must be a positive integer, got 0/);
  await assert.rejects(performanceOverTime(ch.client, { pipeline: 'fraud', from: T0, to: T0 + HOUR, windowMs: HOUR, threshold: Number.NaN }), /threshold must be a finite number/);
  const start = T0 + 200 * HOUR;
  await insertRows(ch.client, 'predictions', [{ ...prediction('bad', start, 0.4, start), pipeline: 'bad' }]);
  await insertRows(ch.client, 'labels', [{ pipeline: 'bad', event_id: 'bad', label: 2, label_time: start }]);
  await assert.rejects(
    performanceOverTime(ch.client, { pipeline: 'bad', from: start, to: start + HOUR, windowMs: HOUR }),
    new RegExp(`bad window ${new Date(start).toISOString()} has 1 labels other than 0 or 1`),
  );
});
