import { psiEdges } from './psi';
import { chi2Sf, kolmogn, probOutsideInside, probOutsideSquare } from './special';

export interface KsResult {
  /** D = sup |F_ref − F_cur| (for the exact method: h / lcm(n, m), as scipy reports it). */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

export interface KsOptions {
  /**
   * 'auto' (default) is scipy's rule: exact when max(n, m) ≤ 10000, else asymptotic. 'exact' falls back to
   * 'asymp' when lcm(n, m) would overflow int32 or the lattice computation fails, as scipy does.
   */
  method?: 'auto' | 'exact' | 'asymp';
}

const MAX_AUTO_N = 10000;

function finiteSorted(values: ArrayLike<number>, what: string, fn: string): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) throw new RangeError(`${fn}: ${what}[${i}] is NaN; drop missing values before the test`);
    out[i] = v;
  }
  if (out.length === 0) throw new RangeError(`${fn}: the ${what} sample is empty`);
  return out.sort();
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test, matching scipy.stats.ks_2samp (alternative='two-sided').
 *
 * Method (scipy ≥ 1.5 rule, read from scipy 1.17 `_stats_py.ks_2samp`): 'auto' is exact when max(n, m) ≤ 10000.
 * Exact: D is rounded to h / lcm(n, m) and P(D ≥ h/lcm) comes from lattice-path counting (equal sizes: the
 * closed alternating sum; otherwise Viehmann's recursion). Asymptotic: P = kstwo.sf(D, round(n·m/(n+m))),
 * the one-sample Kolmogorov distribution at the effective size (not the limiting Kolmogorov series).
 */
export function ksTest(reference: ArrayLike<number>, current: ArrayLike<number>, opts: KsOptions = {}): KsResult {
  const a = finiteSorted(reference, 'reference', 'ksTest');
  const b = finiteSorted(current, 'current', 'ksTest');
  const n1 = a.length, n2 = b.length;
  // Walk the merged values; at each distinct value compare the two ECDFs (both right-continuous).
  let i = 0, j = 0, maxS = -Infinity, minS = Infinity;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minD = Math.min(Math.max(-minS, 0), 1);
  return ksFromStatistic(minD > maxS ? minD : maxS, n1, n2, opts);
}

/**
 * The two-sided KS p-value from the statistic D = sup |F_ref − F_cur| and the two sample sizes alone
 * (scipy.stats.ks_2samp's rule): 'auto' is exact when max(n1, n2) ≤ 10000, else asymptotic; the exact method
 * reports D rounded to h / lcm(n1, n2). This lets ClickHouse compute D over millions of rows (libs/drift-sql)
 * while the p-value (a lattice-path count or the Kolmogorov distribution) stays here.
 */
export function ksFromStatistic(statistic: number, n1: number, n2: number, opts: KsOptions = {}): KsResult {
  if (!(Number.isInteger(n1) && n1 > 0 && Number.isInteger(n2) && n2 > 0)) {
    throw new RangeError(`ksFromStatistic: sample sizes must be integers ≥ 1, got ${n1} and ${n2}`);
  }
  if (!(statistic >= 0 && statistic <= 1)) throw new RangeError(`ksFromStatistic: statistic must be in [0, 1], got ${statistic}`);
  let d = statistic;
  const g = gcd(n1, n2);
  const n1g = n1 / g, n2g = n2 / g;
  let mode = opts.method ?? 'auto';
  if (mode === 'auto') mode = Math.max(n1, n2) <= MAX_AUTO_N ? 'exact' : 'asymp';
  else if (mode === 'exact' && n1g >= 2147483647 / n2g) mode = 'asymp';
  let prob = Number.NaN;
  if (mode === 'exact') {
    const lcm = n1g * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) prob = 1;
    else prob = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideInside(n1, n2, g, h);
    if (!(prob >= 0 && prob <= 1)) mode = 'asymp';
  }
  if (mode === 'asymp') prob = kolmogn(roundHalfEven((n1 * n2) / (n1 + n2)), d, false);
  return { statistic: d, pValue: Math.min(1, Math.max(0, prob)), method: mode };
}

/** Counts per bin, bins (-∞, e₁], (e₁, e₂], …, (e_m, ∞) as in psi(), plus a last entry counting NaN. */
function binCounts(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const counts = new Float64Array(edges.length + 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      counts[edges.length + 1]++;
      continue;
    }
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

/** rel_entr(p, q) summed as scipy does: p·ln(p/q), 0 when p = 0. */
function klTerms(p: readonly number[], q: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < p.length; k++) if (p[k] > 0) s += p[k] * Math.log(p[k] / q[k]);
  return s;
}

/** Jensen–Shannon distance between two probability (or count) vectors, base 2 (scipy.spatial.distance.jensenshannon(p, q, base=2)). */
export function jensenShannonFromCounts(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannon: vectors differ in length (${p.length} vs ${q.length})`);
  let sp = 0, sq = 0;
  for (let k = 0; k < p.length; k++) {
    if (!(p[k] >= 0) || !(q[k] >= 0)) throw new RangeError(`jensenShannon: entry ${k} is negative or NaN`);
    sp += p[k];
    sq += q[k];
  }
  if (!(sp > 0 && sq > 0)) throw new RangeError('jensenShannon: a vector sums to 0');
  const P = Array.from(p, (v) => v / sp);
  const Q = Array.from(q, (v) => v / sq);
  const M = P.map((v, k) => (v + Q[k]) / 2);
  const js = (klTerms(P, M) + klTerms(Q, M)) / Math.log(2);
  return Math.sqrt(js / 2);
}

export interface JensenShannonOptions {
  /** Target bins from reference quantiles, as psi (fewer when quantiles coincide). Default 10. */
  bins?: number;
}

/**
 * Jensen–Shannon distance (base 2, in [0, 1]) between the histograms of reference and current over psi's
 * bins (reference quantile cut points, right-closed, open outer bins; NaN counted in its own bin when present).
 * No smoothing is needed: the mixture M is positive wherever either histogram is.
 */
export function jensenShannonDistance(reference: ArrayLike<number>, current: ArrayLike<number>, opts: JensenShannonOptions = {}): number {
  if (reference.length === 0) throw new RangeError('jensenShannonDistance: the reference sample is empty');
  if (current.length === 0) throw new RangeError('jensenShannonDistance: the current sample is empty');
  const edges = psiEdges(reference, opts.bins ?? 10);
  const r = Array.from(binCounts(reference, edges));
  const c = Array.from(binCounts(current, edges));
  if (r[r.length - 1] === 0 && c[c.length - 1] === 0) {
    r.pop();
    c.pop();
  }
  return jensenShannonFromCounts(r, c);
}

/** Wasserstein-1 distance between the two empirical distributions (scipy.stats.wasserstein_distance, unweighted). */
export function wasserstein1(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const u = finiteSorted(reference, 'reference', 'wasserstein1');
  const v = finiteSorted(current, 'current', 'wasserstein1');
  const all = new Float64Array(u.length + v.length);
  all.set(u);
  all.set(v, u.length);
  all.sort();
  // ∫|F_u − F_v| as a sum over the gaps between consecutive pooled values.
  let i = 0, j = 0, sum = 0;
  for (let k = 0; k < all.length - 1; k++) {
    const x = all[k];
    while (i < u.length && u[i] <= x) i++;
    while (j < v.length && v[j] <= x) j++;
    sum += Math.abs(i / u.length - j / v.length) * (all[k + 1] - x);
  }
  return sum;
}

export type CategoryCounts = Record<string, number> | Map<string, number>;

function entries(counts: CategoryCounts, what: string, fn: string): Map<string, number> {
  const m = counts instanceof Map ? new Map(counts) : new Map(Object.entries(counts));
  for (const [k, v] of m) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${fn}: ${what} count for category "${k}" must be a finite number ≥ 0, got ${v}`);
  }
  return m;
}

/** Union of categories in first-seen order (reference first, then categories only the current window has). */
function categoryUnion(ref: Map<string, number>, cur: Map<string, number>): string[] {
  const out = [...ref.keys()];
  for (const k of cur.keys()) if (!ref.has(k)) out.push(k);
  return out;
}

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  dof: number;
  /** Categories in the table (those with a count in either sample), in order. */
  categories: string[];
}

/**
 * Pearson chi-square test of homogeneity on the 2×k table [reference counts; current counts], as
 * scipy.stats.chi2_contingency(table, correction=False). A category present only in the current window
 * (unseen in the reference) is a column with reference count 0 — it counts. Categories with zero count in
 * both samples are left out (scipy would reject the table: their expected frequency is 0). dof = k − 1.
 */
export function chiSquareTest(referenceCounts: CategoryCounts, currentCounts: CategoryCounts): ChiSquareResult {
  const ref = entries(referenceCounts, 'reference', 'chiSquareTest');
  const cur = entries(currentCounts, 'current', 'chiSquareTest');
  const categories = categoryUnion(ref, cur).filter((k) => (ref.get(k) ?? 0) + (cur.get(k) ?? 0) > 0);
  const rows = [categories.map((k) => ref.get(k) ?? 0), categories.map((k) => cur.get(k) ?? 0)];
  const rowSums = rows.map((r) => r.reduce((s, v) => s + v, 0));
  if (rowSums[0] === 0) throw new RangeError('chiSquareTest: the reference counts are all 0');
  if (rowSums[1] === 0) throw new RangeError('chiSquareTest: the current counts are all 0');
  const total = rowSums[0] + rowSums[1];
  const dof = categories.length - 1;
  if (dof === 0) return { statistic: 0, pValue: 1, dof, categories };
  let statistic = 0;
  for (let c = 0; c < categories.length; c++) {
    const colSum = rows[0][c] + rows[1][c];
    for (let r = 0; r < 2; r++) {
      const expected = (rowSums[r] * colSum) / total;
      statistic += (rows[r][c] - expected) ** 2 / expected;
    }
  }
  return { statistic, pValue: chi2Sf(statistic, dof), dof, categories };
}

export interface CategoricalPsiResult {
  value: number;
  categories: Array<{ category: string; refShare: number; curShare: number }>;
}

/**
 * PSI over categories: Σ (c − r)·ln(c / r) with r, c each category's share, over the union of categories
 * (unseen categories have r = 0). As in psi(), a share that is exactly 0 is replaced by `epsilon` (default 1e-4)
 * in the sum only; returned shares are raw.
 */
export function categoricalPsi(referenceCounts: CategoryCounts, currentCounts: CategoryCounts, opts: { epsilon?: number } = {}): CategoricalPsiResult {
  const epsilon = opts.epsilon ?? 1e-4;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`categoricalPsi: epsilon must be in (0, 1), got ${epsilon}`);
  const ref = entries(referenceCounts, 'reference', 'categoricalPsi');
  const cur = entries(currentCounts, 'current', 'categoricalPsi');
  const nRef = [...ref.values()].reduce((s, v) => s + v, 0);
  const nCur = [...cur.values()].reduce((s, v) => s + v, 0);
  if (nRef === 0) throw new RangeError('categoricalPsi: the reference counts are all 0');
  if (nCur === 0) throw new RangeError('categoricalPsi: the current counts are all 0');
  let value = 0;
  const categories = categoryUnion(ref, cur).map((category) => {
    const refShare = (ref.get(category) ?? 0) / nRef;
    const curShare = (cur.get(category) ?? 0) / nCur;
    const r = refShare === 0 ? epsilon : refShare;
    const c = curShare === 0 ? epsilon : curShare;
    value += (c - r) * Math.log(c / r);
    return { category, refShare, curShare };
  });
  return { value, categories };
}

export interface BhResult {
  /** Benjamini–Hochberg adjusted p-values, in input order (scipy.stats.false_discovery_control(ps, method='bh')). */
  adjusted: number[];
  /** adjusted[i] ≤ alpha: the hypotheses rejected at false discovery rate alpha. */
  rejected: boolean[];
}

export function benjaminiHochberg(pValues: readonly number[], alpha = 0.05): BhResult {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`benjaminiHochberg: alpha must be in (0, 1), got ${alpha}`);
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`benjaminiHochberg: pValues[${i}] must be in [0, 1], got ${p}`);
  });
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((x, y) => pValues[x] - pValues[y] || x - y);
  const sorted = order.map((idx, k) => pValues[idx] * (m / (k + 1)));
  for (let k = m - 2; k >= 0; k--) if (sorted[k + 1] < sorted[k]) sorted[k] = sorted[k + 1];
  const adjusted = new Array<number>(m);
  order.forEach((idx, k) => (adjusted[idx] = Math.min(1, Math.max(0, sorted[k]))));
  return { adjusted, rejected: adjusted.map((p) => p <= alpha) };
}

export interface FeatureTest {
  feature: string;
  pValue: number;
}

export interface DatasetDriftOptions {
  /** Per-feature significance level (or false discovery rate with BH). Default 0.05. */
  alpha?: number;
  /** Dataset drift when the share of drifted features is ≥ this. Default 0.5 (Evidently's drift_share). */
  shareThreshold?: number;
  /** 'bh' (default) compares BH-adjusted p-values to alpha; 'none' compares raw p-values (Evidently's default). */
  correction?: 'bh' | 'none';
}

export interface DatasetDriftResult {
  drift: boolean;
  share: number;
  driftedCount: number;
  features: Array<{ feature: string; pValue: number; adjustedPValue: number; drifted: boolean }>;
}

/**
 * Dataset-level decision like Evidently's DatasetDriftMetric: each feature drifts when its (adjusted) p-value
 * is below alpha — `<` as Evidently's p-value tests, or BH's `≤` rejection with correction 'bh' — and the
 * dataset drifts when drifted / total ≥ shareThreshold.
 */
export function datasetDrift(perFeature: readonly FeatureTest[], opts: DatasetDriftOptions = {}): DatasetDriftResult {
  const alpha = opts.alpha ?? 0.05;
  const shareThreshold = opts.shareThreshold ?? 0.5;
  const correction = opts.correction ?? 'bh';
  if (perFeature.length === 0) throw new RangeError('datasetDrift: no features given');
  if (!(shareThreshold > 0 && shareThreshold <= 1)) throw new RangeError(`datasetDrift: shareThreshold must be in (0, 1], got ${shareThreshold}`);
  const ps = perFeature.map((f) => f.pValue);
  const bh = benjaminiHochberg(ps, alpha);
  const features = perFeature.map((f, i) => {
    const adjustedPValue = correction === 'bh' ? bh.adjusted[i] : f.pValue;
    const drifted = correction === 'bh' ? bh.rejected[i] : f.pValue < alpha;
    return { feature: f.feature, pValue: f.pValue, adjustedPValue, drifted };
  });
  const driftedCount = features.filter((f) => f.drifted).length;
  const share = driftedCount / features.length;
  return { drift: share >= shareThreshold, share, driftedCount, features };
}
