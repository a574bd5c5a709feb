import type { ConfusionMatrix } from '../metrics';
import { binaryCurveCounts } from './pr-curve';

/** An operating point: predict 1 when score ≥ threshold. */
export interface ThresholdChoice {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: ConfusionMatrix;
}

export type ThresholdStrategy = { strategy: 'max_f1' } | { strategy: 'target_precision'; precision: number };

function choiceAt(c: ReturnType<typeof binaryCurveCounts>, k: number): ThresholdChoice {
  const tp = c.truePositives[k], fp = c.falsePositives[k];
  const fn = c.positives - tp;
  return {
    threshold: c.thresholds[k],
    precision: tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: tp / c.positives,
    f1: (2 * tp) / (2 * tp + fp + fn),
    confusion: { tp, fp, tn: c.negatives - fp, fn },
  };
}

function curveWithPositives(yTrue: ArrayLike<number>, scores: ArrayLike<number>, what: string) {
  const c = binaryCurveCounts(yTrue, scores, what);
  if (c.positives === 0) throw new RangeError(`${what}: no row has label 1; a threshold cannot be chosen without positives`);
  return c;
}

/**
 * The threshold with the highest F1 among the distinct scores — the candidates of scikit-learn's
 * `precision_recall_curve` — ties going to the lowest threshold (numpy `argmax` over the increasing thresholds).
 * F1 is computed from counts, 2·TP / (2·TP + FP + FN), so equal F1 values compare exactly.
 */
export function thresholdMaxF1(yTrue: ArrayLike<number>, scores: ArrayLike<number>): ThresholdChoice {
  const c = curveWithPositives(yTrue, scores, 'thresholdMaxF1');
  let best = -1, bestF1 = -1;
  // Thresholds decrease along k, so `>=` keeps the lowest threshold among equal F1 values.
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.truePositives[k];
    const f1 = (2 * tp) / (tp + c.falsePositives[k] + c.positives);
    if (f1 >= bestF1) {
      bestF1 = f1;
      best = k;
    }
  }
  return choiceAt(c, best);
}

/**
 * The threshold with the highest recall whose precision is at least `targetPrecision`, from the points of
 * scikit-learn's `precision_recall_curve`; among thresholds with that recall, the highest (= best precision).
 * null when no threshold reaches the target.
 */
export function thresholdForPrecision(yTrue: ArrayLike<number>, scores: ArrayLike<number>, targetPrecision: number): ThresholdChoice | null {
  if (!(targetPrecision > 0 && targetPrecision <= 1)) throw new RangeError(`thresholdForPrecision: target precision must be in (0, 1], got ${targetPrecision}`);
  const c = curveWithPositives(yTrue, scores, 'thresholdForPrecision');
  let best = -1;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.truePositives[k];
    if (tp / (tp + c.falsePositives[k]) < targetPrecision) continue;
    // True positives only grow as the threshold falls: a strictly larger count is higher recall.
    if (best < 0 || tp > c.truePositives[best]) best = k;
  }
  return best < 0 ? null : choiceAt(c, best);
}

/** Dispatches on a spec-style strategy (e.g. from a pipeline's `evaluation.threshold` block). */
export function selectThreshold(yTrue: ArrayLike<number>, scores: ArrayLike<number>, strategy: ThresholdStrategy): ThresholdChoice | null {
  if (strategy.strategy === 'max_f1') return thresholdMaxF1(yTrue, scores);
  if (strategy.strategy === 'target_precision') return thresholdForPrecision(yTrue, scores, strategy.precision);
  throw new RangeError(`selectThreshold: strategy must be max_f1 or target_precision, got ${JSON.stringify((strategy as { strategy: unknown }).strategy)}`);
}
