import type { Matrix } from '../data';
import { classifierFactory, crossValidate, type CrossValidationResult } from '../evaluation/cross-validate';
import type { Fold } from '../evaluation/folds';
import { seededRandom, shuffledIndices } from '../random';
import type { Algorithm, ModelParamValue } from '../trainer';
import type { ParamValues } from './space';

/** The resource a successive-halving rung grows. */
export interface Budget {
  /** 'rows': `value` is the fraction of each fold's training rows used; otherwise a model param set to `value` (e.g. max_iter). */
  resource: string;
  value: number;
}

/** Scores one parameter set (at a budget, or in full when null) by cross-validation. */
export type TrialObjective = (params: ParamValues, budget: Budget | null) => CrossValidationResult;

export const ROWS_RESOURCE = 'rows';

export interface CrossValidationObjectiveOptions {
  algorithm: Algorithm;
  featureNames: readonly string[];
  X: Matrix;
  y: ArrayLike<number>;
  folds: readonly Fold[];
  /** Params every trial starts from; the sampled ones override them, a param budget overrides both. */
  baseParams?: Record<string, ModelParamValue>;
  /** Threshold for accuracy/precision/recall/F1. Default 0.5. */
  threshold?: number;
  /** Seed of the row subsamples of a 'rows' budget. Default 0. */
  seed?: number;
  /** Threads of each GBDT fit (see TrainClassifierOptions). */
  gbdtThreads?: number;
}

/**
 * Row subsamples for a 'rows' budget: for each fold, each class's training rows in one seeded order, so a
 * fraction f keeps the first ⌈f · count⌉ of every class (class balance preserved, at least one row per class),
 * and a larger fraction keeps a superset. Every candidate at a rung trains on the same rows.
 */
function subsampler(folds: readonly Fold[], y: ArrayLike<number>, seed: number): (fold: number, fraction: number) => number[] {
  const rnd = seededRandom(seed);
  const orders = folds.map((fold) => {
    const byClass = new Map<number, number[]>();
    for (const i of fold.train) {
      let rows = byClass.get(y[i]);
      if (!rows) byClass.set(y[i], (rows = []));
      rows.push(i);
    }
    return [...byClass.keys()].sort((a, b) => a - b).map((c) => {
      const rows = byClass.get(c)!;
      return Array.from(shuffledIndices(rows.length, rnd), (p) => rows[p]);
    });
  });
  return (fold, fraction) => {
    const kept = orders[fold].flatMap((rows) => rows.slice(0, Math.max(1, Math.ceil(fraction * rows.length - 1e-9))));
    return kept.sort((a, b) => a - b);
  };
}

/** A TrialObjective that cross-validates trainClassifier(algorithm) over fixed folds. */
export function crossValidationObjective(opts: CrossValidationObjectiveOptions): TrialObjective {
  const { algorithm, featureNames, X, y, folds } = opts;
  let subsample: ReturnType<typeof subsampler> | null = null;
  return (params, budget) => {
    const merged: Record<string, ModelParamValue> = { ...opts.baseParams, ...params };
    let trialFolds = folds;
    if (budget && budget.resource === ROWS_RESOURCE) {
      if (!(budget.value > 0 && budget.value <= 1)) throw new RangeError(`budget.value: a rows budget is a fraction in (0, 1], got ${budget.value}`);
      if (budget.value < 1) {
        subsample ??= subsampler(folds, y, opts.seed ?? 0);
        const sub = subsample;
        trialFolds = folds.map((fold, f) => ({ train: sub(f, budget.value), test: fold.test }));
      }
    } else if (budget) {
      merged[budget.resource] = budget.value;
    }
    return crossValidate(X, y, { folds: trialFolds, fit: classifierFactory(algorithm, { featureNames, params: merged, gbdtThreads: opts.gbdtThreads }), threshold: opts.threshold });
  };
}
