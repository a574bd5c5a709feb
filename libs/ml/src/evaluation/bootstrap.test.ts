import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, brierScore, f1Score, logLoss, precision, recall, rocAuc } from '../metrics';
import { seededRandom } from '../random';
import { averagePrecision, bootstrapMetrics, BOOTSTRAP_METRICS } from './index';

function scored(n: number, seed: number, separation = 1.5) {
  const rnd = seededRandom(seed);
  const y: number[] = [], s: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rnd() < 0.3 ? 1 : 0;
    // Scores rounded to two decimals: many ties, which the weighted evaluation must group as the metrics do.
    const z = (label ? separation : 0) + (rnd() + rnd() + rnd() - 1.5) * 2;
    y.push(label);
    s.push(Math.round((1 / (1 + Math.exp(-z + 1))) * 100) / 100);
  }
  return { y, s };
}

test('every resample is the metrics of the rows drawn: floor(u·n) for n draws of mulberry32(seed), ties grouped', () => {
  const { y, s } = scored(120, 3);
  const resamples = 25;
  const result = bootstrapMetrics(y, s, { threshold: 0.4, resamples, seed: 7, keepReplicates: true });
  const rnd = seededRandom(7);
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12 || (Number.isNaN(a) && Number.isNaN(b)), `${what}: ${a} vs ${b}`);
  for (let r = 0; r < resamples; r++) {
    const rows = Array.from({ length: y.length }, () => Math.floor(rnd() * y.length));
    const yr = rows.map((i) => y[i]), sr = rows.map((i) => s[i]);
    const rep = result.replicates!;
    close(rep.roc_auc[r], rocAuc(yr, sr), `roc_auc ${r}`);
    close(rep.pr_auc[r], averagePrecision(yr, sr), `pr_auc ${r}`);
    close(rep.log_loss[r], logLoss(yr, sr), `log_loss ${r}`);
    close(rep.brier[r], brierScore(yr, sr), `brier ${r}`);
    close(rep.accuracy[r], accuracy(yr, sr, 0.4), `accuracy ${r}`);
    close(rep.precision[r], precision(yr, sr, 0.4), `precision ${r}`);
    close(rep.recall[r], recall(yr, sr, 0.4), `recall ${r}`);
    close(rep.f1[r], f1Score(yr, sr, 0.4), `f1 ${r}`);
  }
});

test('percentile intervals: numpy linear percentiles of the replicates, around the estimate, narrower with more rows, seeded', () => {
  const small = scored(200, 1), large = scored(5000, 2);
  const a = bootstrapMetrics(small.y, small.s, { keepReplicates: true });
  assert.equal(a.resamples, 1000);
  assert.equal(a.confidence, 0.95);
  // np.percentile(v, 2.5) on 1000 sorted values: index 24.975 → v[24] + 0.975·(v[25] − v[24]).
  const v = Float64Array.from(a.replicates!.roc_auc).sort();
  assert.ok(Math.abs(a.intervals.roc_auc.low - (v[24] + 0.975 * (v[25] - v[24]))) < 1e-15);
  assert.ok(Math.abs(a.intervals.roc_auc.high - (v[974] + 0.025 * (v[975] - v[974]))) < 1e-15);
  const auc = rocAuc(small.y, small.s);
  assert.ok(a.intervals.roc_auc.low < auc && auc < a.intervals.roc_auc.high, JSON.stringify(a.intervals.roc_auc));
  const b = bootstrapMetrics(large.y, large.s);
  for (const m of BOOTSTRAP_METRICS) {
    const wSmall = a.intervals[m].high - a.intervals[m].low, wLarge = b.intervals[m].high - b.intervals[m].low;
    assert.ok(wLarge < wSmall, `${m}: ${wLarge} (5000 rows) vs ${wSmall} (200 rows)`);
    assert.equal(a.intervals[m].resamples, 1000, m);
  }
  // AUC's standard error at 5000 rows is about 0.008 here: a 95 % interval near 4 standard errors wide.
  const width = b.intervals.roc_auc.high - b.intervals.roc_auc.low;
  assert.ok(width > 0.02 && width < 0.045, `roc_auc interval width ${width}`);
  assert.deepEqual(bootstrapMetrics(small.y, small.s).intervals, a.intervals, 'same seed, same intervals');
  assert.notDeepEqual(bootstrapMetrics(small.y, small.s, { seed: 1 }).intervals, a.intervals);
});

test('resamples where a metric is undefined are left out and counted; bad options are refused', () => {
  // Two positives in 40 rows: about 13 % of resamples draw none, where roc_auc and pr_auc are undefined.
  const y = Array.from({ length: 40 }, (_, i) => (i < 2 ? 1 : 0));
  const s = y.map((v, i) => (v ? 0.8 : (i % 10) / 10));
  const r = bootstrapMetrics(y, s, { resamples: 400 });
  assert.ok(r.intervals.roc_auc.resamples < 400 && r.intervals.roc_auc.resamples > 300, String(r.intervals.roc_auc.resamples));
  assert.equal(r.intervals.pr_auc.resamples, r.intervals.roc_auc.resamples);
  assert.equal(r.intervals.brier.resamples, 400);
  assert.throws(() => bootstrapMetrics(y, s, { resamples: 0 }), /resamples/);
  assert.throws(() => bootstrapMetrics(y, s, { confidence: 1 }), /confidence/);
  assert.throws(() => bootstrapMetrics([], []), /no rows/);
  assert.throws(() => bootstrapMetrics([0, 2], [0.1, 0.2]), /label of row 1/);
});
