import { normalPpf, normalSf, studentTPpf, studentTSf } from './distributions';

/**
 * Paired comparisons of a champion and a candidate scored on the same labelled events: the offline and online
 * evidence for promotion. Differences are always candidate − champion (a gain in AUC is positive, a gain in log
 * loss is negative); p-values are two-sided; the confidence interval is of the difference.
 */

export interface AucComparison {
  n: number;
  positives: number;
  negatives: number;
  aucChampion: number;
  aucCandidate: number;
  /** aucCandidate − aucChampion. */
  difference: number;
  /** DeLong's standard error of the difference (0 when the two scorings rank every pair alike). */
  standardError: number;
  /** difference / standardError; 0 when the standard error is 0 and the AUCs are equal. */
  z: number;
  pValue: number;
  /** Normal interval of the difference at `confidence`. */
  confidenceInterval: [number, number];
  confidence: number;
}

export interface LogLossComparison {
  n: number;
  logLossChampion: number;
  logLossCandidate: number;
  /** logLossCandidate − logLossChampion (negative: the candidate is better). */
  difference: number;
  standardError: number;
  /** Paired t statistic of the per-event differences. */
  t: number;
  degreesOfFreedom: number;
  pValue: number;
  /** Student-t interval of the difference at `confidence`. */
  confidenceInterval: [number, number];
  confidence: number;
}

export interface PairedTestOptions {
  /** Level of the confidence interval (default 0.95). */
  confidence?: number;
}

/** Probabilities are clipped to [ε, 1 − ε] before the log, as scikit-learn's log_loss does. */
export const LOG_LOSS_EPSILON = 1e-15;

/**
 * DeLong, DeLong & Clarke-Pearson (1988): are two correlated ROC AUCs (one set of events, two scorings) different?
 * Each AUC is the mean of its placement values; their covariance across the two scorings gives the variance of the
 * difference. Ties count one half. Computed with midranks in O(N log N).
 */
export function delongTest(labels: ArrayLike<number>, champion: ArrayLike<number>, candidate: ArrayLike<number>, options: PairedTestOptions = {}): AucComparison {
  const confidence = checkConfidence(options.confidence);
  checkPaired('delongTest', labels, champion, candidate);
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? positives : negatives).push(i);
  const m = positives.length;
  const n = negatives.length;
  if (m === 0 || n === 0) throw new RangeError(`delongTest: needs at least one positive and one negative label, got ${m} and ${n}`);
  const a = placements(champion, positives, negatives);
  const b = placements(candidate, positives, negatives);
  const aucChampion = mean(a.positive);
  const aucCandidate = mean(b.positive);
  const difference = aucCandidate - aucChampion;
  // Var(AUC_b − AUC_a) = (S10_aa + S10_bb − 2 S10_ab) / m + (S01_aa + S01_bb − 2 S01_ab) / n, each S a sample covariance.
  const variance = differenceVariance(a.positive, b.positive) / m + differenceVariance(a.negative, b.negative) / n;
  const standardError = Math.sqrt(Math.max(0, variance));
  const z = standardError > 0 ? difference / standardError : difference === 0 ? 0 : Math.sign(difference) * Infinity;
  const half = normalPpf(0.5 + confidence / 2) * standardError;
  return {
    n: labels.length, positives: m, negatives: n, aucChampion, aucCandidate, difference, standardError, z,
    pValue: Math.min(1, 2 * normalSf(Math.abs(z))), confidenceInterval: [difference - half, difference + half], confidence,
  };
}

/**
 * A paired t-test on the per-event log losses (candidate − champion), as scipy.stats.ttest_rel: with thousands of
 * events the mean difference is close to normal whatever the losses' own distribution.
 */
export function pairedLogLossTest(labels: ArrayLike<number>, champion: ArrayLike<number>, candidate: ArrayLike<number>, options: PairedTestOptions = {}): LogLossComparison {
  const confidence = checkConfidence(options.confidence);
  checkPaired('pairedLogLossTest', labels, champion, candidate);
  const n = labels.length;
  if (n < 2) throw new RangeError(`pairedLogLossTest: needs at least 2 events, got ${n}`);
  let sumA = 0;
  let sumB = 0;
  const differences = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const la = logLoss(labels[i], champion[i]);
    const lb = logLoss(labels[i], candidate[i]);
    sumA += la;
    sumB += lb;
    differences[i] = lb - la;
  }
  const difference = mean(differences);
  let squares = 0;
  for (const d of differences) squares += (d - difference) ** 2;
  const standardError = Math.sqrt(squares / (n - 1) / n);
  const degreesOfFreedom = n - 1;
  const t = standardError > 0 ? difference / standardError : difference === 0 ? 0 : Math.sign(difference) * Infinity;
  const half = studentTPpf(0.5 + confidence / 2, degreesOfFreedom) * standardError;
  return {
    n, logLossChampion: sumA / n, logLossCandidate: sumB / n, difference, standardError, t, degreesOfFreedom,
    pValue: Math.min(1, 2 * studentTSf(Math.abs(t), degreesOfFreedom)), confidenceInterval: [difference - half, difference + half], confidence,
  };
}

function logLoss(label: number, p: number): number {
  const q = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, p));
  return label === 1 ? -Math.log(q) : -Math.log(1 - q);
}

/**
 * Placement values of one scoring: for each positive, the share of negatives it outranks (ties ½); for each
 * negative, the share of positives that outrank it. From midranks: a positive's rank among all events minus its rank
 * among the positives counts the negatives below it.
 */
function placements(scores: ArrayLike<number>, positives: number[], negatives: number[]): { positive: Float64Array; negative: Float64Array } {
  const m = positives.length;
  const n = negatives.length;
  const pos = positives.map((i) => scores[i]);
  const neg = negatives.map((i) => scores[i]);
  const all = midranks([...pos, ...neg]);
  const posRanks = midranks(pos);
  const negRanks = midranks(neg);
  const positive = new Float64Array(m);
  const negative = new Float64Array(n);
  for (let i = 0; i < m; i++) positive[i] = (all[i] - posRanks[i]) / n;
  for (let j = 0; j < n; j++) negative[j] = 1 - (all[m + j] - negRanks[j]) / m;
  return { positive, negative };
}

/** 1-based ranks with ties given the mean of the ranks they span. */
function midranks(values: number[]): Float64Array {
  const order = values.map((_, i) => i).sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    const rank = (start + end + 1) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/** Sample variance of (b − a): var(a) + var(b) − 2 cov(a, b), each with n − 1 in the denominator. */
function differenceVariance(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return 0;
  const ma = mean(a);
  const mb = mean(b);
  let s = 0;
  for (let i = 0; i < n; i++) s += ((b[i] - mb) - (a[i] - ma)) ** 2;
  return s / (n - 1);
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

function checkConfidence(confidence = 0.95): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  return confidence;
}

function checkPaired(what: string, labels: ArrayLike<number>, champion: ArrayLike<number>, candidate: ArrayLike<number>): void {
  if (labels.length !== champion.length || labels.length !== candidate.length) {
    throw new RangeError(`${what}: labels, champion and candidate scores must have one value per event, got ${labels.length}, ${champion.length} and ${candidate.length}`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`${what}: label ${i} is ${labels[i]}, expected 0 or 1`);
    if (!Number.isFinite(champion[i]) || !Number.isFinite(candidate[i])) throw new RangeError(`${what}: score ${i} is not a finite number (champion ${champion[i]}, candidate ${candidate[i]})`);
  }
}
