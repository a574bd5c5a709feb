/**
 * Quantile binning of numeric features for histogram GBDT (the scheme of scikit-learn's _BinMapper):
 * per feature at most `maxBins` bins for observed values plus one dedicated bin for NaN.
 * A value x falls in bin b when thresholds[b-1] < x ≤ thresholds[b]; a split "at bin b" therefore sends
 * x ≤ thresholds[b] left, which is the rule the fitted trees and the ONNX graph (BRANCH_LEQ) apply to raw values.
 * Thresholds are rounded to float32 before any row is binned, so training, the TypeScript predictor and
 * onnxruntime (which compares float32 inputs) all take the same branch for a float32 input.
 */
import { Float64Sorter } from './kernels';

/** The bin that holds NaN for every feature (observed values use bins 0..253 at most). */
export const MISSING_BIN = 255;
export const MAX_BINS_LIMIT = 255;

export interface BinnedData {
  /**
   * Row-major n × d bins: feature j of row i is at i * d + j. Row-major because histogram building visits the rows of
   * a node (an arbitrary subset) and reads every feature of each: one cache line per row instead of one per value.
   */
  bins: Uint8Array;
  n: number;
  d: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The next float32 above (dir = 1) or below (dir = -1) the finite float32 f. */
function nextFloat32(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 1.401298464324817e-45;
  f32[0] = f;
  // For IEEE floats of one sign, the bit pattern is monotone in the magnitude.
  u32[0] += (f > 0) === (dir > 0) ? 1 : -1;
  return f32[0];
}

/** A float32 t with lo ≤ t < hi (as close to v as the rounding allows), or NaN when no float32 separates lo from hi. */
function float32Between(v: number, lo: number, hi: number): number {
  let f = Math.fround(v);
  if (!Number.isFinite(f)) return Number.NaN;
  if (f < lo) f = nextFloat32(f, 1);
  if (f >= hi) f = nextFloat32(Math.fround(hi), -1);
  return f >= lo && f < hi ? f : Number.NaN;
}

/**
 * Split points for one column's observed (non-NaN) values: midpoints between distinct values when there are
 * at most maxBins of them, otherwise midpoint-interpolated quantiles at 1/maxBins, 2/maxBins, … (numpy's
 * percentile(method='averaged_inverted_cdf'), as scikit-learn), deduplicated; every threshold a finite float32.
 */
export function columnThresholds(values: Float64Array, maxBins: number): Float64Array {
  return sortedColumnThresholds(values.slice().sort(), maxBins);
}

/** columnThresholds of values already sorted ascending. */
function sortedColumnThresholds(sorted: Float64Array, maxBins: number): Float64Array {
  // The distinct values are only needed when there are at most maxBins of them: stop collecting past that.
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length && distinct.length <= maxBins; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
  const raw: Array<[number, number, number]> = []; // [midpoint, value just below, value just above]
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) raw.push([(distinct[i] + distinct[i + 1]) / 2, distinct[i], distinct[i + 1]]);
  } else {
    // numpy's percentile(method='averaged_inverted_cdf') at 100·k/maxBins, as scikit-learn ≥ 1.6 bins:
    // the order statistic at ⌈n·q⌉, or the mean of the two around n·q when n·q is a whole number.
    const n = sorted.length;
    const step = 100 / maxBins;
    for (let k = 1; k < maxBins; k++) {
      const pos = (n * (k * step)) / 100;
      const j = Math.floor(pos);
      let lo: number, hi: number;
      if (pos > j || j === 0) {
        lo = sorted[Math.min(j, n - 1)];
        hi = lo;
      } else {
        lo = sorted[j - 1];
        hi = sorted[j];
      }
      if (lo === hi) {
        // The threshold is a data value: it stays in the lower bin, the next larger value opens the next one.
        const above = upperBound(sorted, lo);
        if (above >= n) continue; // the quantile is the maximum: nothing lies above it
        raw.push([lo, lo, sorted[above]]);
      } else raw.push([(lo + hi) / 2, lo, hi]);
    }
  }
  const out: number[] = [];
  for (const [mid, lo, hi] of raw) {
    const t = float32Between(mid, lo, hi);
    if (Number.isNaN(t) || !Number.isFinite(t)) continue;
    if (out.length === 0 || t > out[out.length - 1]) out.push(t);
  }
  return Float64Array.from(out);
}

/** First index with sorted[i] > v. */
function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (sorted[m] > v) hi = m;
    else lo = m + 1;
  }
  return lo;
}

/** First threshold index b with x ≤ thresholds[b] (thresholds.length when x is above them all). */
export function binOf(thresholds: Float64Array, x: number): number {
  let lo = 0, hi = thresholds.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (x <= thresholds[m]) hi = m;
    else lo = m + 1;
  }
  return lo;
}

/** Columns gathered per pass over the rows when fitting: one pass reads each row's cache lines once for all of them. */
const FIT_BLOCK = 8;

export class BinMapper {
  /** Per feature j, thresholds[j] at 256·j, then +Infinity up to 256·(j + 1): the table of the branch-free search. */
  private readonly padded: Float64Array;

  private constructor(
    /** Per feature, the real-valued upper edges of the observed-value bins (length = bins − 1). */
    readonly thresholds: Float64Array[],
  ) {
    this.padded = new Float64Array(256 * thresholds.length).fill(Infinity);
    thresholds.forEach((t, j) => this.padded.set(t, 256 * j));
  }

  /** Learns the bin edges on the given rows (row-major flat n × d, NaN = missing). */
  static fit(flat: Float64Array, d: number, rows: ArrayLike<number>, maxBins: number): BinMapper {
    if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS_LIMIT) {
      throw new RangeError(`GBDT: maxBins must be an integer in 2..${MAX_BINS_LIMIT}, got ${maxBins}`);
    }
    const thresholds: Float64Array[] = [];
    const n = rows.length;
    const cols = new Float64Array(Math.min(FIT_BLOCK, d) * n);
    const counts = new Int32Array(FIT_BLOCK);
    const sorter = new Float64Sorter();
    for (let j0 = 0; j0 < d; j0 += FIT_BLOCK) {
      const w = Math.min(FIT_BLOCK, d - j0);
      counts.fill(0);
      for (let k = 0; k < n; k++) {
        const src = rows[k] * d + j0;
        for (let c = 0; c < w; c++) {
          const v = flat[src + c];
          if (v === v) cols[c * n + counts[c]++] = v; // NaN (missing) is left out
        }
      }
      for (let c = 0; c < w; c++) {
        const col = cols.subarray(c * n, c * n + counts[c]);
        sorter.sort(col);
        thresholds.push(sortedColumnThresholds(col, maxBins));
      }
    }
    return new BinMapper(thresholds);
  }

  get width(): number {
    return this.thresholds.length;
  }

  /**
   * Bins the listed rows of a row-major flat matrix into a row-major Uint8Array: binOf for every value, as a
   * branch-free binary search over the +Infinity-padded table (the bin is the number of thresholds below the value;
   * a comparison turned into 0/1 costs no mispredicted branch, which made the branching search 4× slower).
   */
  transform(flat: Float64Array, d: number, rows: ArrayLike<number>): BinnedData {
    if (d !== this.thresholds.length) throw new RangeError(`BinMapper.transform: ${d} features, the mapper was fitted on ${this.thresholds.length}`);
    const n = rows.length;
    const bins = new Uint8Array(n * d);
    const t = this.padded;
    for (let k = 0; k < n; k++) {
      const src = rows[k] * d;
      const dst = k * d;
      for (let j = 0; j < d; j++) {
        const x = flat[src + j];
        let b = j << 8;
        b += +(t[b + 127] < x) << 7;
        b += +(t[b + 63] < x) << 6;
        b += +(t[b + 31] < x) << 5;
        b += +(t[b + 15] < x) << 4;
        b += +(t[b + 7] < x) << 3;
        b += +(t[b + 3] < x) << 2;
        b += +(t[b + 1] < x) << 1;
        b += +(t[b] < x);
        bins[dst + j] = x === x ? b - (j << 8) : MISSING_BIN;
      }
    }
    return { bins, n, d };
  }
}
