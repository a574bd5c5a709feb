import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  benjaminiHochberg, categoricalPsi, chi2Sf, chiSquareTest, datasetDrift, jensenShannonDistance, kolmogn, ksTest,
  smirnov, wasserstein1,
} from './index';

/** Relative closeness (1e-9 unless told); exact equality is required when the reference is 0. */
function rel(actual: number, expected: number, what: string, tol = 1e-9): void {
  const ok = actual === expected || Math.abs(actual - expected) <= tol * Math.abs(expected);
  assert.ok(ok, `${what}: got ${actual}, scipy ${expected} (rel. diff ${Math.abs(actual - expected) / Math.abs(expected)})`);
}

/** Same generator as scripts/python/drift_reference/make_fixtures.py `irwin_hall` (exact integer arithmetic). */
function irwinHall(n: number, seed: number, shift: number, scale: number): number[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return Array.from({ length: n }, () => ((next() + next() + next() + next()) / 4294967296 - 2) * scale + shift);
}

interface NumericCase {
  name: string; bins: number; reference?: number[]; current?: number[];
  generator?: { reference: [number, number, number, number]; current: [number, number, number, number] };
  ks_statistic: number; ks_pvalue: number; ks_asymp_statistic: number; ks_asymp_pvalue: number;
  wasserstein: number; jensenshannon: number;
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/stats_scipy.json', import.meta.url), 'utf8')) as {
  numeric: NumericCase[];
  kstwo: Array<{ n: number; x: number; sf: number; cdf: number }>;
  smirnov: Array<{ n: number; x: number; sf: number }>;
  chi2: Array<{ x: number; dof: number; sf: number }>;
  categorical: Array<{ name: string; reference: Record<string, number>; current: Record<string, number>; statistic: number; pvalue: number; dof: number }>;
  bh: Array<{ p: number[]; adjusted: number[] }>;
};
const samples = (c: NumericCase): [number[], number[]] =>
  c.generator ? [irwinHall(...c.generator.reference), irwinHall(...c.generator.current)] : [c.reference!, c.current!];

test('Kolmogorov distribution kstwo (sf and cdf) matches scipy across its method regions', () => {
  for (const k of fx.kstwo) {
    rel(kolmogn(k.n, k.x, false), k.sf, `kstwo.sf(${k.x}, ${k.n})`);
    rel(kolmogn(k.n, k.x, true), k.cdf, `kstwo.cdf(${k.x}, ${k.n})`);
  }
});

test('one-sided Smirnov survival matches scipy.special.smirnov', () => {
  for (const s of fx.smirnov) rel(smirnov(s.n, s.x), s.sf, `smirnov(${s.n}, ${s.x})`);
});

test('chi-square survival matches scipy.stats.chi2.sf', () => {
  for (const c of fx.chi2) rel(chi2Sf(c.x, c.dof), c.sf, `chi2.sf(${c.x}, ${c.dof})`);
});

test('two-sample KS (auto = exact ≤ 10000, asymptotic above) matches scipy.stats.ks_2samp', () => {
  for (const c of fx.numeric) {
    const [ref, cur] = samples(c);
    const r = ksTest(ref, cur);
    assert.equal(r.method, Math.max(ref.length, cur.length) <= 10000 ? 'exact' : 'asymp', `${c.name}: method`);
    rel(r.statistic, c.ks_statistic, `${c.name}: D`);
    rel(r.pValue, c.ks_pvalue, `${c.name}: p-value`);
    const a = ksTest(ref, cur, { method: 'asymp' });
    rel(a.statistic, c.ks_asymp_statistic, `${c.name}: D (asymp)`);
    rel(a.pValue, c.ks_asymp_pvalue, `${c.name}: p-value (asymp)`);
  }
});

test('Wasserstein-1 and binned Jensen–Shannon (base 2) match scipy', () => {
  for (const c of fx.numeric) {
    const [ref, cur] = samples(c);
    rel(wasserstein1(ref, cur), c.wasserstein, `${c.name}: wasserstein`);
    rel(jensenShannonDistance(ref, cur, { bins: c.bins }), c.jensenshannon, `${c.name}: jensenshannon`);
  }
});

test('chi-square test on the 2×k table (unseen categories counted) matches scipy.stats.chi2_contingency', () => {
  for (const c of fx.categorical) {
    const r = chiSquareTest(c.reference, c.current);
    assert.equal(r.dof, c.dof, `${c.name}: dof`);
    rel(r.statistic, c.statistic, `${c.name}: statistic`);
    rel(r.pValue, c.pvalue, `${c.name}: p-value`);
  }
});

test('Benjamini–Hochberg matches scipy.stats.false_discovery_control', () => {
  for (const b of fx.bh) {
    const r = benjaminiHochberg(b.p, 0.05);
    r.adjusted.forEach((p, i) => rel(p, b.adjusted[i], `adjusted[${i}]`, 1e-12));
    assert.deepEqual(r.rejected, b.adjusted.map((p) => p <= 0.05));
  }
});

test('hand-checked small cases', () => {
  // Disjoint samples: D = 1 and the exact p-value is 2 / C(6, 3) = 0.1.
  const r = ksTest([1, 2, 3], [4, 5, 6]);
  assert.equal(r.statistic, 1);
  rel(r.pValue, 0.1, 'disjoint p');
  assert.deepEqual(ksTest([1, 2, 3], [1, 2, 3]), { statistic: 0, pValue: 1, method: 'exact' });
  assert.equal(wasserstein1([0, 1, 3], [5, 6, 8]), 5);
  assert.equal(jensenShannonDistance([1, 2, 3, 4], [1, 2, 3, 4], { bins: 2 }), 0);
  // Unseen category: reference share 0 is smoothed to epsilon in the sum only.
  const p = categoricalPsi({ a: 50, b: 50 }, { a: 40, b: 40, c: 20 });
  const expected = 2 * (0.4 - 0.5) * Math.log(0.4 / 0.5) + (0.2 - 1e-4) * Math.log(0.2 / 1e-4);
  rel(p.value, expected, 'categorical psi', 1e-12);
  assert.deepEqual(p.categories.map((c) => [c.category, c.refShare, c.curShare]), [['a', 0.5, 0.4], ['b', 0.5, 0.4], ['c', 0, 0.2]]);
  // Categories absent from both are dropped; a single category gives dof 0 and p = 1.
  assert.deepEqual(chiSquareTest({ a: 3, z: 0 }, { a: 5 }), { statistic: 0, pValue: 1, dof: 0, categories: ['a'] });
});

test('dataset drift: share of drifted features against the threshold, with and without BH', () => {
  const features = [
    { feature: 'f1', pValue: 0.001 }, { feature: 'f2', pValue: 0.04 }, { feature: 'f3', pValue: 0.3 }, { feature: 'f4', pValue: 0.045 },
  ];
  const raw = datasetDrift(features, { correction: 'none' });
  assert.equal(raw.driftedCount, 3);
  assert.equal(raw.drift, true);
  // BH: adjusted = [0.004, 0.06, 0.3, 0.06] → only f1 drifts, 1/4 < 0.5.
  const bh = datasetDrift(features);
  assert.deepEqual(bh.features.map((f) => f.drifted), [true, false, false, false]);
  assert.equal(bh.share, 0.25);
  assert.equal(bh.drift, false);
  assert.equal(datasetDrift(features, { shareThreshold: 0.25 }).drift, true);
});

test('errors name the problem', () => {
  assert.throws(() => ksTest([], [1]), /ksTest: the reference sample is empty/);
  assert.throws(() => ksTest([1, Number.NaN], [1]), /reference\[1\] is NaN/);
  assert.throws(() => chiSquareTest({ a: -1 }, { a: 1 }), /reference count for category "a"/);
  assert.throws(() => chiSquareTest({ a: 0 }, { a: 1 }), /reference counts are all 0/);
  assert.throws(() => benjaminiHochberg([0.5, 2]), /pValues\[1\] must be in \[0, 1\]/);
  assert.throws(() => datasetDrift([]), /no features/);
});
