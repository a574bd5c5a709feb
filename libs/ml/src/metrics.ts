/** Binary classification metrics; labels are 0/1, scores are probabilities of class 1 (or any monotone score for AUC). */

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface BinaryEvaluation {
  n: number;
  positives: number;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** NaN when only one class is present (AUC is undefined). */
  rocAuc: number;
  logLoss: number;
  brier: number;
  confusion: ConfusionMatrix;
}

function checkLabels(yTrue: ArrayLike<number>, scores: ArrayLike<number>, what: string): void {
  if (yTrue.length !== scores.length) throw new RangeError(`${what}: ${yTrue.length} labels but ${scores.length} scores`);
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] !== 0 && yTrue[i] !== 1) throw new RangeError(`${what}: label of row ${i} is ${yTrue[i]}, expected 0 or 1`);
  }
}

function checkScores(scores: ArrayLike<number>, what: string): void {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`${what}: score of row ${i} is NaN`);
  }
}

/** Counts with "predicted 1" meaning score ≥ threshold. */
export function confusionMatrix(yTrue: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  checkLabels(yTrue, scores, 'confusionMatrix');
  checkScores(scores, 'confusionMatrix');
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const pred = scores[i] >= threshold;
    if (yTrue[i] === 1) {
      if (pred) c.tp++;
      else c.fn++;
    } else if (pred) c.fp++;
    else c.tn++;
  }
  return c;
}

/** 0 when there is no row (instead of NaN), matching scikit-learn's zero_division=0. */
const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export function accuracy(yTrue: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): number {
  const c = confusionMatrix(yTrue, scores, threshold);
  return ratio(c.tp + c.tn, yTrue.length);
}

export function precision(yTrue: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): number {
  const c = confusionMatrix(yTrue, scores, threshold);
  return ratio(c.tp, c.tp + c.fp);
}

export function recall(yTrue: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): number {
  const c = confusionMatrix(yTrue, scores, threshold);
  return ratio(c.tp, c.tp + c.fn);
}

export function f1Score(yTrue: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): number {
  const c = confusionMatrix(yTrue, scores, threshold);
  return ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
}

/**
 * Area under the ROC curve as the Mann–Whitney statistic: the probability that a random positive scores
 * above a random negative, ties counting one half (average ranks) — the same number as scikit-learn's
 * trapezoidal roc_auc_score. NaN when either class is absent.
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLabels(yTrue, scores, 'rocAuc');
  checkScores(scores, 'rocAuc');
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j + 2) / 2; // ranks are 1-based: i+1 .. j+1
    for (let k = i; k <= j; k++) {
      if (yTrue[order[k]] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean negative log-likelihood; probabilities are clipped to [eps, 1 - eps] like scikit-learn (float64 eps). */
export function logLoss(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, eps = Number.EPSILON): number {
  checkLabels(yTrue, probabilities, 'logLoss');
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = probabilities[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`logLoss: probability of row ${i} is ${p}, expected a number in [0, 1]`);
    const q = Math.min(Math.max(p, eps), 1 - eps);
    sum -= yTrue[i] === 1 ? Math.log(q) : Math.log1p(-q);
  }
  return yTrue.length === 0 ? Number.NaN : sum / yTrue.length;
}

/** Mean squared error of the probabilities. */
export function brierScore(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkLabels(yTrue, probabilities, 'brierScore');
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += (probabilities[i] - yTrue[i]) ** 2;
  return yTrue.length === 0 ? Number.NaN : sum / yTrue.length;
}

/**
 * Every metric at once. Scores are read as probabilities of class 1; the predicted label is 1 when the
 * score is at or above the threshold. Log loss and Brier are NaN when a score lies outside [0, 1].
 */
export function evaluateBinary(yTrue: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): BinaryEvaluation {
  const confusion = confusionMatrix(yTrue, scores, threshold);
  const { tp, fp, tn, fn } = confusion;
  let probabilities = true;
  for (let i = 0; i < scores.length; i++) if (!(scores[i] >= 0 && scores[i] <= 1)) probabilities = false;
  return {
    n: yTrue.length,
    positives: tp + fn,
    threshold,
    accuracy: ratio(tp + tn, yTrue.length),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    rocAuc: rocAuc(yTrue, scores),
    logLoss: probabilities ? logLoss(yTrue, scores) : Number.NaN,
    brier: probabilities ? brierScore(yTrue, scores) : Number.NaN,
    confusion,
  };
}
