import { checkBinaryInput } from './checks';
import { seededRandom } from '../random';

/** The metrics a bootstrap gives intervals for (the held-out report's names). */
export const BOOTSTRAP_METRICS = ['roc_auc', 'pr_auc', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'] as const;
export type BootstrapMetric = (typeof BOOTSTRAP_METRICS)[number];

export interface BootstrapInterval {
  /** The percentile interval's bounds over the resamples where the metric is defined. */
  low: number;
  high: number;
  /** Resamples where the metric was defined (roc_auc needs both classes, pr_auc a positive); NaN bounds when none. */
  resamples: number;
}

export interface BootstrapOptions {
  /** The decision threshold of accuracy, precision, recall and f1 (predict 1 when score ≥ threshold). */
  threshold?: number;
  /** Resamples drawn (default 1000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95: the 2.5th and 97.5th percentiles). */
  confidence?: number;
  /** Seeds mulberry32 (default 0): the same rows, seed and options give the same intervals. */
  seed?: number;
  /** Keep every resample's values (tests, plots). */
  keepReplicates?: boolean;
}

export interface BootstrapResult {
  resamples: number;
  confidence: number;
  seed: number;
  intervals: Record<BootstrapMetric, BootstrapInterval>;
  /** Per metric, one value per resample (NaN where undefined); only with keepReplicates. */
  replicates?: Record<BootstrapMetric, Float64Array>;
}

/** numpy.percentile(values, q · 100) with the default 'linear' method, on sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const virtual = (n - 1) * q;
  const lo = Math.floor(virtual);
  if (lo >= n - 1) return sorted[n - 1];
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (virtual - lo);
}

/**
 * Percentile bootstrap confidence intervals of the held-out metrics: each resample draws n rows with replacement
 * (row floor(u · n) for n successive draws u of mulberry32(seed)), the metrics are computed on it exactly as on the
 * whole set (ties in score grouped, as roc_auc, average precision and the confusion matrix do), and the interval is
 * the (1 − confidence)/2 and (1 + confidence)/2 percentiles of the values (numpy's linear method). A resample is
 * a multiset of the rows, so each is evaluated as integer weights over the rows sorted once: O(n) per resample.
 */
export function bootstrapMetrics(yTrue: ArrayLike<number>, scores: ArrayLike<number>, opts: BootstrapOptions = {}): BootstrapResult {
  const threshold = opts.threshold ?? 0.5;
  const resamples = opts.resamples ?? 1000;
  const confidence = opts.confidence ?? 0.95;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrapMetrics: resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`bootstrapMetrics: confidence must be in (0, 1), got ${confidence}`);
  checkBinaryInput(yTrue, scores, 'bootstrapMetrics');
  const n = yTrue.length;
  if (n === 0) throw new RangeError('bootstrapMetrics: no rows');

  // Rows by increasing score, laid out in that order (sequential access in the loops below); groups of equal scores.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  const positionOf = new Uint32Array(n);
  const groupOf = new Uint32Array(n);
  let groups = 0;
  for (let k = 0; k < n; k++) {
    positionOf[order[k]] = k;
    if (k > 0 && scores[order[k]] !== scores[order[k - 1]]) groups++;
    groupOf[k] = groups;
  }
  groups++;
  // Per row (in score order): its label, whether it is predicted positive, and its loss terms (clipped as logLoss does).
  const eps = Number.EPSILON;
  const label = new Uint8Array(n), predicted = new Uint8Array(n);
  const logTerm = new Float64Array(n), brierTerm = new Float64Array(n);
  let probabilities = true;
  for (let k = 0; k < n; k++) {
    const i = order[k], p = scores[i];
    if (!(p >= 0 && p <= 1)) probabilities = false;
    const q = Math.min(Math.max(p, eps), 1 - eps);
    label[k] = yTrue[i];
    predicted[k] = p >= threshold ? 1 : 0;
    logTerm[k] = yTrue[i] === 1 ? -Math.log(q) : -Math.log1p(-q);
    brierTerm[k] = (p - yTrue[i]) ** 2;
  }

  const values = Object.fromEntries(BOOTSTRAP_METRICS.map((m) => [m, new Float64Array(resamples)])) as Record<BootstrapMetric, Float64Array>;
  const weights = new Uint32Array(n);
  const groupPos = new Float64Array(groups), groupNeg = new Float64Array(groups);
  const rng = seededRandom(seed);
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let d = 0; d < n; d++) weights[positionOf[Math.floor(rng() * n)]]++;
    groupPos.fill(0);
    groupNeg.fill(0);
    let tp = 0, fp = 0, tn = 0, fn = 0, logSum = 0, brierSum = 0;
    for (let k = 0; k < n; k++) {
      const w = weights[k];
      if (w === 0) continue;
      logSum += w * logTerm[k];
      brierSum += w * brierTerm[k];
      if (label[k] === 1) {
        groupPos[groupOf[k]] += w;
        if (predicted[k]) tp += w;
        else fn += w;
      } else {
        groupNeg[groupOf[k]] += w;
        if (predicted[k]) fp += w;
        else tn += w;
      }
    }
    const positives = tp + fn, negatives = fp + tn;
    // ROC AUC (Mann–Whitney, ties one half), from the lowest score up.
    let negativesBelow = 0, aucSum = 0;
    for (let g = 0; g < groups; g++) {
      aucSum += groupPos[g] * (negativesBelow + groupNeg[g] / 2);
      negativesBelow += groupNeg[g];
    }
    // Average precision, from the highest score down: Σ (R_k − R_{k−1}) · P_k over the distinct scores drawn.
    let apSum = 0, cumTp = 0, cumFp = 0, previousRecall = 0;
    if (positives > 0) {
      for (let g = groups - 1; g >= 0; g--) {
        const pos = groupPos[g], neg = groupNeg[g];
        if (pos + neg === 0) continue;
        cumTp += pos;
        cumFp += neg;
        const recallK = cumTp / positives;
        apSum += (recallK - previousRecall) * (cumTp / (cumTp + cumFp));
        previousRecall = recallK;
      }
    }
    values.roc_auc[r] = positives === 0 || negatives === 0 ? Number.NaN : aucSum / (positives * negatives);
    values.pr_auc[r] = positives === 0 ? Number.NaN : apSum;
    values.log_loss[r] = probabilities ? logSum / n : Number.NaN;
    values.brier[r] = probabilities ? brierSum / n : Number.NaN;
    values.accuracy[r] = ratio(tp + tn, n);
    values.precision[r] = ratio(tp, tp + fp);
    values.recall[r] = ratio(tp, tp + fn);
    values.f1[r] = ratio(2 * tp, 2 * tp + fp + fn);
  }

  const alpha = (1 - confidence) / 2;
  const intervals = {} as Record<BootstrapMetric, BootstrapInterval>;
  for (const m of BOOTSTRAP_METRICS) {
    const finite = values[m].filter((v) => Number.isFinite(v)).sort();
    intervals[m] = { low: percentile(finite, alpha), high: percentile(finite, 1 - alpha), resamples: finite.length };
  }
  return { resamples, confidence, seed, intervals, ...(opts.keepReplicates ? { replicates: values } : {}) };
}
