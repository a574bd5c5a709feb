import { checkBinaryInput, checkProbabilities } from './checks';

export type CalibrationStrategy = 'uniform' | 'quantile';

export interface CalibrationBin {
  /** Bin edges; a probability p falls in the bin when lower < p ≤ upper (the first bin also takes p = lower). */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin (scikit-learn's prob_pred). */
  meanPredicted: number;
  /** Share of label 1 in the bin (scikit-learn's prob_true). */
  fractionPositive: number;
}

export interface CalibrationTable {
  strategy: CalibrationStrategy;
  /** All nBins + 1 edges, empty bins included. */
  edges: number[];
  /** Non-empty bins only, in increasing order, like scikit-learn's calibration_curve. */
  bins: CalibrationBin[];
  /** Expected calibration error: Σ count/n · |fractionPositive − meanPredicted|. */
  expectedCalibrationError: number;
  /** The largest |fractionPositive − meanPredicted| over the bins. */
  maxCalibrationError: number;
}

/** numpy.linspace(0, 1, nBins + 1): i · (1 / nBins), the last edge exactly 1. */
function uniformEdges(nBins: number): number[] {
  const step = 1 / nBins;
  return Array.from({ length: nBins + 1 }, (_, i) => (i === nBins ? 1 : i * step));
}

/**
 * numpy.percentile(values, linspace(0, 1, nBins + 1) · 100) with the default 'linear' method, step for step
 * (the · 100 / 100 round trip, the virtual index (n − 1)·q and numpy's two-sided lerp), so that edges equal to a
 * probability compare exactly as in scikit-learn.
 */
function quantileEdges(values: ArrayLike<number>, nBins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return uniformEdges(nBins).map((edge) => {
    const q = (edge * 100) / 100;
    const virtualIndex = (n - 1) * q;
    if (virtualIndex >= n - 1) return sorted[n - 1];
    const previous = Math.floor(virtualIndex);
    const a = sorted[previous], b = sorted[previous + 1];
    const gamma = virtualIndex - previous;
    const diff = b - a;
    return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
  });
}

/**
 * Reliability table of predicted probabilities against observed frequencies: scikit-learn's
 * `calibration_curve(y, p, n_bins, strategy)`. 'uniform' bins split [0, 1] evenly; 'quantile' bins hold about
 * the same number of rows. A probability is assigned with numpy.searchsorted(inner edges, p, side='left'), i.e.
 * bins are closed on the right. Empty bins are left out of `bins` (they stay in `edges`).
 */
export function calibrationTable(
  yTrue: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  opts: { nBins?: number; strategy?: CalibrationStrategy } = {},
): CalibrationTable {
  const nBins = opts.nBins ?? 10;
  const strategy = opts.strategy ?? 'uniform';
  if (!Number.isInteger(nBins) || nBins < 1) throw new RangeError(`calibrationTable: nBins must be a positive integer, got ${nBins}`);
  if (strategy !== 'uniform' && strategy !== 'quantile') throw new RangeError(`calibrationTable: strategy must be uniform or quantile, got ${JSON.stringify(strategy)}`);
  checkBinaryInput(yTrue, probabilities, 'calibrationTable');
  checkProbabilities(probabilities, 'calibrationTable');
  const n = yTrue.length;
  if (n === 0) throw new RangeError('calibrationTable: no rows');
  const edges = strategy === 'uniform' ? uniformEdges(nBins) : quantileEdges(probabilities, nBins);
  const sums = new Float64Array(nBins), positives = new Float64Array(nBins), counts = new Float64Array(nBins);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i];
    // Number of inner edges strictly below p (searchsorted 'left' on edges[1..nBins-1]).
    let lo = 1, hi = nBins;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] < p) lo = mid + 1;
      else hi = mid;
    }
    const bin = lo - 1;
    sums[bin] += p;
    positives[bin] += yTrue[i];
    counts[bin]++;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0, mce = 0;
  for (let b = 0; b < nBins; b++) {
    if (counts[b] === 0) continue;
    const bin = { lower: edges[b], upper: edges[b + 1], count: counts[b], meanPredicted: sums[b] / counts[b], fractionPositive: positives[b] / counts[b] };
    const gap = Math.abs(bin.fractionPositive - bin.meanPredicted);
    ece += (bin.count / n) * gap;
    mce = Math.max(mce, gap);
    bins.push(bin);
  }
  return { strategy, edges, bins, expectedCalibrationError: ece, maxCalibrationError: mce };
}
