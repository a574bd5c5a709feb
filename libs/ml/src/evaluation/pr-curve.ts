import { checkBinaryInput } from './checks';

/**
 * Counts of positives and negatives scored at or above each distinct score, highest score first
 * (scikit-learn's `_binary_clf_curve`): row k means "predict 1 when score ≥ thresholds[k]".
 */
export interface BinaryCurveCounts {
  /** Distinct scores, decreasing. */
  thresholds: Float64Array;
  truePositives: Float64Array;
  falsePositives: Float64Array;
  positives: number;
  negatives: number;
}

export function binaryCurveCounts(yTrue: ArrayLike<number>, scores: ArrayLike<number>, what = 'binaryCurveCounts'): BinaryCurveCounts {
  checkBinaryInput(yTrue, scores, what);
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const thresholds: number[] = [], tps: number[] = [], fps: number[] = [];
  let tp = 0, fp = 0;
  for (let i = 0; i < n; i++) {
    const r = order[i];
    if (yTrue[r] === 1) tp++;
    else fp++;
    // A threshold point closes each run of equal scores: tied rows are predicted together.
    if (i === n - 1 || scores[order[i + 1]] !== scores[r]) {
      thresholds.push(scores[r]);
      tps.push(tp);
      fps.push(fp);
    }
  }
  return { thresholds: Float64Array.from(thresholds), truePositives: Float64Array.from(tps), falsePositives: Float64Array.from(fps), positives: tp, negatives: fp };
}

export interface PrecisionRecallCurve {
  /** precision[k] and recall[k] when predicting 1 for score ≥ thresholds[k]; the last point (1, 0) has no threshold. */
  precision: Float64Array;
  recall: Float64Array;
  /** Distinct scores, increasing (length = precision.length − 1). */
  thresholds: Float64Array;
}

/**
 * scikit-learn's `precision_recall_curve` (drop_intermediate=False): one point per distinct score in increasing
 * order, then the end point precision 1, recall 0. Precision with nothing predicted positive is 0. With no
 * positive label at all scikit-learn sets recall to 1 everywhere; so does this.
 */
export function precisionRecallCurve(yTrue: ArrayLike<number>, scores: ArrayLike<number>): PrecisionRecallCurve {
  const c = binaryCurveCounts(yTrue, scores, 'precisionRecallCurve');
  const m = c.thresholds.length;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const thresholds = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const src = m - 1 - k; // reverse: increasing thresholds, decreasing recall
    const tp = c.truePositives[src], predicted = tp + c.falsePositives[src];
    precision[k] = predicted === 0 ? 0 : tp / predicted;
    recall[k] = c.positives === 0 ? 1 : tp / c.positives;
    thresholds[k] = c.thresholds[src];
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds };
}

/**
 * Average precision, the area under the precision–recall curve used as "PR AUC" in this library: scikit-learn's
 * `average_precision_score`, the step-wise sum Σ (R_k − R_{k−1}) · P_k over thresholds from the highest score
 * down — not the trapezoidal rule, which interpolates linearly and is optimistic. NaN when there is no positive
 * label (scikit-learn warns and returns 0 there).
 */
export function averagePrecision(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const c = binaryCurveCounts(yTrue, scores, 'averagePrecision');
  if (c.positives === 0) return Number.NaN;
  let sum = 0;
  let previousRecall = 0;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.truePositives[k];
    const recall = tp / c.positives;
    sum += (recall - previousRecall) * (tp / (tp + c.falsePositives[k]));
    previousRecall = recall;
  }
  return sum;
}

/**
 * Trapezoidal area under the precision–recall curve: scikit-learn's `auc(recall, precision)` on the output of
 * `precision_recall_curve`. Kept for comparison with tools that report it; prefer averagePrecision.
 * NaN when there is no positive label.
 */
export function prAucTrapezoid(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { precision, recall } = precisionRecallCurve(yTrue, scores);
  let positives = 0;
  for (let i = 0; i < yTrue.length; i++) positives += yTrue[i];
  if (positives === 0) return Number.NaN;
  let area = 0;
  // recall decreases along the curve; sum the positive widths.
  for (let k = 0; k + 1 < recall.length; k++) area += ((recall[k] - recall[k + 1]) * (precision[k] + precision[k + 1])) / 2;
  return area;
}
