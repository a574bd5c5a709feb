import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { psi, psiEdges, quantileSorted } from './index';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** Deterministic uniform draws (mulberry32), kept local: libs/drift does not depend on libs/ml. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  const u = uniform(seed);
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

test('quantiles interpolate linearly between order statistics (numpy default)', () => {
  const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantileSorted(s, 0.5), 5.5);
  assert.equal(quantileSorted(s, 0), 1);
  assert.equal(quantileSorted(s, 1), 10);
  close(quantileSorted(s, 0.25), 3.25, 1e-12, 'q0.25');
});

test('hand-computed PSI: two bins, 0.75/0.25 against 0.5/0.5 is 0.25·ln 3', () => {
  const r = psi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3, 10], { bins: 2 });
  close(r.value, 0.25 * Math.log(3), 1e-12, 'psi');
  assert.deepEqual(r.bins, [
    { lower: -Infinity, upper: 5.5, refShare: 0.5, curShare: 0.75, missing: false },
    { lower: 5.5, upper: Infinity, refShare: 0.5, curShare: 0.25, missing: false },
  ]);
});

test('NaN has its own bin, and an empty reference share is smoothed with epsilon', () => {
  const r = psi([1, 2, 3, 4], [1, Number.NaN, Number.NaN, 4], { bins: 2, epsilon: 1e-4 });
  // bins (-inf, 2.5], (2.5, inf), missing: ref 0.5/0.5/0 (→ 1e-4), current 0.25/0.25/0.5
  const expected = 2 * (0.25 - 0.5) * Math.log(0.25 / 0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4);
  close(r.value, expected, 1e-12, 'psi');
  assert.equal(r.bins.length, 3);
  assert.equal(r.bins[2].missing, true);
  assert.ok(Number.isNaN(r.bins[2].lower) && Number.isNaN(r.bins[2].upper));
  assert.equal(r.bins[2].refShare, 0);
  assert.equal(r.bins[2].curShare, 0.5);
});

test('tied reference quantiles are deduplicated; bins are right-closed so a point mass stays in one bin', () => {
  const ref = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
  const edges = psiEdges(ref, 5);
  assert.equal(edges.length, 3);
  [0, 0.4, 2.2].forEach((e, k) => close(edges[k], e, 1e-12, `edge ${k}`));
  const r = psi(ref, ref, { bins: 5 });
  assert.deepEqual(r.bins.map((b) => b.refShare), [0.6, 0, 0.2, 0.2]);
  assert.equal(r.value, 0);
  // A constant reference has one cut point; values beyond it fall in the open last bin.
  const c = psi([3, 3, 3, 3], [3, 3, 5, 5], { bins: 10 });
  assert.deepEqual(c.bins.map((b) => [b.lower, b.upper, b.refShare, b.curShare]), [[-Infinity, 3, 1, 0.5], [3, Infinity, 0, 0.5]]);
  close(c.value, (0.5 - 1) * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 1e-12, 'constant reference');
});

test('identical distributions give PSI ≈ 0; a shifted one gives PSI > 0.2', () => {
  const ref = normals(5000, 0, 1, 1);
  assert.equal(psi(ref, ref).value, 0);
  const same = psi(ref, normals(5000, 0, 1, 2)).value;
  assert.ok(same < 0.02, `same distribution: ${same}`);
  const shifted = psi(ref, normals(5000, 0.8, 1, 3)).value;
  assert.ok(shifted > 0.2, `shifted distribution: ${shifted}`);
  const wider = psi(ref, normals(5000, 0, 2, 4)).value;
  assert.ok(wider > 0.2, `wider distribution: ${wider}`);
});

test('matches the numpy reference (scripts/python/ml_reference/make_fixtures.py)', () => {
  const fx = JSON.parse(readFileSync(new URL('./fixtures/psi_numpy.json', import.meta.url), 'utf8')) as {
    cases: Array<{ name: string; reference: number[]; current: Array<number | null>; bins: number; epsilon: number; psi: number; edges: number[]; ref_shares: number[]; cur_shares: number[] }>;
  };
  assert.ok(fx.cases.length >= 4);
  for (const c of fx.cases) {
    const current = c.current.map((v) => (v === null ? Number.NaN : v));
    const r = psi(c.reference, current, { bins: c.bins, epsilon: c.epsilon });
    assert.deepEqual(psiEdges(c.reference, c.bins).length, c.edges.length, `${c.name}: edge count`);
    psiEdges(c.reference, c.bins).forEach((e, k) => close(e, c.edges[k], 1e-12, `${c.name} edge ${k}`));
    assert.deepEqual(r.bins.map((b) => b.refShare), c.ref_shares, `${c.name}: reference shares`);
    assert.deepEqual(r.bins.map((b) => b.curShare), c.cur_shares, `${c.name}: current shares`);
    close(r.value, c.psi, 1e-12, `${c.name}: psi`);
  }
});

test('errors name the problem', () => {
  assert.throws(() => psi([], [1]), /reference sample is empty/);
  assert.throws(() => psi([1], []), /current sample is empty/);
  assert.throws(() => psi([1], [1], { bins: 0 }), /bins must be an integer/);
  assert.throws(() => psi([1], [1], { epsilon: 0 }), /epsilon/);
});
