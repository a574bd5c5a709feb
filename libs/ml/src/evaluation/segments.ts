import { evaluateBinary, type ConfusionMatrix } from '../metrics';
import { checkBinaryInput, pick } from './checks';
import { averagePrecision } from './pr-curve';

export type SegmentValue = string | number | boolean | null | undefined;

/** The label of rows whose attribute is null, undefined or the empty string. */
export const MISSING_SEGMENT = '(missing)';

export interface SegmentMetrics {
  segment: string;
  n: number;
  positives: number;
  /** Share of rows with label 1. */
  baseRate: number;
  /** Share of rows predicted 1 (the demographic-parity quantity). */
  selectionRate: number;
  accuracy: number;
  precision: number;
  /** True positive rate (the equal-opportunity quantity). */
  recall: number;
  falsePositiveRate: number;
  f1: number;
  /** NaN when the segment holds one class only. */
  rocAuc: number;
  averagePrecision: number;
  logLoss: number;
  brier: number;
  confusion: ConfusionMatrix;
  /** Fewer rows than minSize: shown, but left out of the gaps below. */
  smallSample: boolean;
}

export interface SegmentReport {
  attribute: string;
  threshold: number;
  overall: SegmentMetrics;
  /** Largest segment first (ties by name). */
  segments: SegmentMetrics[];
  /**
   * Largest minus smallest value across the segments with at least minSize rows (NaN with fewer than two):
   * selection rate = demographic parity difference, recall = equal opportunity difference, and
   * equalizedOdds = max(recall gap, false positive rate gap), as fairlearn defines them.
   */
  gaps: { selectionRate: number; recall: number; falsePositiveRate: number; precision: number; rocAuc: number; equalizedOdds: number };
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

function metricsOf(segment: string, yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number, minSize: number): SegmentMetrics {
  const e = evaluateBinary(yTrue, probabilities, threshold);
  const { tp, fp, tn } = e.confusion;
  return {
    segment, n: e.n, positives: e.positives,
    baseRate: ratio(e.positives, e.n), selectionRate: ratio(tp + fp, e.n),
    accuracy: e.accuracy, precision: e.precision, recall: e.recall, falsePositiveRate: ratio(fp, fp + tn), f1: e.f1,
    rocAuc: e.rocAuc, averagePrecision: averagePrecision(yTrue, probabilities), logLoss: e.logLoss, brier: e.brier,
    confusion: e.confusion, smallSample: e.n < minSize,
  };
}

function spread(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length < 2 ? Number.NaN : Math.max(...finite) - Math.min(...finite);
}

/**
 * Metrics per value of a categorical attribute (region, device, age band, …), for the fairness section of a
 * model card: each segment is evaluated exactly like the whole set (evaluateBinary + average precision on its
 * rows), and the gaps summarize how far apart the segments are.
 */
export function segmentMetrics(
  yTrue: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  segments: ArrayLike<SegmentValue>,
  opts: { attribute?: string; threshold?: number; minSize?: number } = {},
): SegmentReport {
  const threshold = opts.threshold ?? 0.5;
  const minSize = opts.minSize ?? 30;
  const attribute = opts.attribute ?? 'segment';
  checkBinaryInput(yTrue, probabilities, 'segmentMetrics');
  if (segments.length !== yTrue.length) throw new RangeError(`segmentMetrics: ${segments.length} values of ${attribute} for ${yTrue.length} rows`);
  const rowsBySegment = new Map<string, number[]>();
  for (let i = 0; i < segments.length; i++) {
    const v = segments[i];
    const key = v === null || v === undefined || v === '' ? MISSING_SEGMENT : String(v);
    let rows = rowsBySegment.get(key);
    if (!rows) rowsBySegment.set(key, (rows = []));
    rows.push(i);
  }
  const bySegment = [...rowsBySegment].map(([segment, rows]) => metricsOf(segment, pick(yTrue, rows), pick(probabilities, rows), threshold, minSize));
  bySegment.sort((a, b) => b.n - a.n || (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
  const large = bySegment.filter((s) => !s.smallSample);
  const recallGap = spread(large.map((s) => s.recall)), fprGap = spread(large.map((s) => s.falsePositiveRate));
  return {
    attribute,
    threshold,
    overall: metricsOf('(all)', yTrue, probabilities, threshold, 0),
    segments: bySegment,
    gaps: {
      selectionRate: spread(large.map((s) => s.selectionRate)),
      recall: recallGap,
      falsePositiveRate: fprGap,
      precision: spread(large.map((s) => s.precision)),
      rocAuc: spread(large.map((s) => s.rocAuc)),
      equalizedOdds: Math.max(recallGap, fprGap),
    },
  };
}
