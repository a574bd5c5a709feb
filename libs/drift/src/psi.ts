export interface PsiOptions {
  /** Target number of bins from reference quantiles (fewer when quantiles coincide). Default 10. */
  bins?: number;
  /** Share used in place of an empty bin's 0 (see psi()). Default 1e-4. */
  epsilon?: number;
}

export interface PsiBin {
  /** Exclusive lower bound (-Infinity for the first bin; NaN for the missing-value bin). */
  lower: number;
  /** Inclusive upper bound (+Infinity for the last bin; NaN for the missing-value bin). */
  upper: number;
  /** Share of reference values in the bin, before smoothing. */
  refShare: number;
  /** Share of current values in the bin, before smoothing. */
  curShare: number;
  /** True for the bin that counts NaN (missing) values. */
  missing: boolean;
}

export interface PsiResult {
  value: number;
  bins: PsiBin[];
}

/**
 * Quantile q of sorted values with linear interpolation between order statistics
 * (numpy's default "linear" method, Hyndman–Fan type 7).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantileSorted: no values');
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const frac = h - lo;
  if (frac === 0 || lo + 1 >= n) return sorted[lo];
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

/**
 * Cut points from the reference: the quantiles k/bins (k = 1..bins-1) of its finite values, deduplicated.
 * Bins are then (-∞, e₁], (e₁, e₂], …, (e_m, +∞): right-closed, so a point mass at a cut point (e.g. many
 * zeros) falls in one bin, and the open first/last bins catch values outside the reference's range.
 */
export function psiEdges(reference: ArrayLike<number>, bins = 10): number[] {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new RangeError(`psi: bins must be an integer ≥ 1, got ${bins}`);
  const finite = Float64Array.from(Array.prototype.filter.call(reference, (v: number) => Number.isFinite(v)) as number[]).sort();
  if (finite.length === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = quantileSorted(finite, k / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  return edges;
}

/** Counts per bin for the given edges: bins 0..edges.length are finite/infinite values, the last entry counts NaN. */
function histogram(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const counts = new Float64Array(edges.length + 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      counts[edges.length + 1]++;
      continue;
    }
    // First edge ≥ v (binary search): v ≤ e_k lands in bin k.
    let lo = 0, hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]++;
  }
  return counts;
}

/**
 * Population Stability Index of `current` against `reference`:
 *   PSI = Σ_bins (c − r) · ln(c / r)
 * with r, c the shares of each sample in the bin. Bins come from the reference's quantiles (psiEdges);
 * NaN values are counted in their own "missing" bin, present when either sample has a NaN, so a rise in
 * missing values is drift too. Shares are over all values, NaN included.
 *
 * Smoothing: an empty bin would make ln(c / r) infinite, so a share that is exactly 0 is replaced by
 * `epsilon` (default 1e-4) in the sum — only in the sum: the returned bins carry the raw shares. Shares
 * are not renormalised afterwards (a common convention; with ε = 1e-4 the effect is ≤ ~1e-3 per empty bin).
 *
 * Rules of thumb: < 0.1 stable, 0.1–0.2 moderate shift, > 0.2 significant shift.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, opts: PsiOptions = {}): PsiResult {
  const bins = opts.bins ?? 10;
  const epsilon = opts.epsilon ?? 1e-4;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`psi: epsilon must be in (0, 1), got ${epsilon}`);
  if (reference.length === 0) throw new RangeError('psi: the reference sample is empty');
  if (current.length === 0) throw new RangeError('psi: the current sample is empty');
  const edges = psiEdges(reference, bins);
  const ref = histogram(reference, edges);
  const cur = histogram(current, edges);
  const nanBin = edges.length + 1;
  const withMissing = ref[nanBin] > 0 || cur[nanBin] > 0;
  const out: PsiBin[] = [];
  let value = 0;
  const count = withMissing ? nanBin + 1 : nanBin;
  for (let k = 0; k < count; k++) {
    const missing = k === nanBin;
    const refShare = ref[k] / reference.length;
    const curShare = cur[k] / current.length;
    const r = refShare === 0 ? epsilon : refShare;
    const c = curShare === 0 ? epsilon : curShare;
    value += (c - r) * Math.log(c / r);
    out.push({
      lower: missing ? Number.NaN : k === 0 ? -Infinity : edges[k - 1],
      upper: missing ? Number.NaN : k === edges.length ? Infinity : edges[k],
      refShare,
      curShare,
      missing,
    });
  }
  return { value, bins: out };
}
