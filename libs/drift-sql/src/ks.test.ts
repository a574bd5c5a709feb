import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ksTest } from '@streamloop/drift';
import { gaussian, seededRandom } from '@streamloop/ml';
import { ksFromStatistic } from './index';

/** Values ≤ x in a sorted array (upper bound by bisection). */
function countAtMost(sorted: number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** D before any rounding: the largest gap between the two ECDFs over the pooled values. */
function rawStatistic(a: number[], b: number[]): number {
  const sa = [...a].sort((x, y) => x - y), sb = [...b].sort((x, y) => x - y);
  let d = 0;
  for (const x of [...sa, ...sb]) d = Math.max(d, Math.abs(countAtMost(sa, x) / a.length - countAtMost(sb, x) / b.length));
  return d;
}

test('the p-value from D and the sizes alone is the one ksTest reports (exact, asymptotic, equal and unequal sizes)', () => {
  const normal = gaussian(seededRandom(5));
  const sample = (n: number, shift: number, round = false) => Array.from({ length: n }, () => (round ? Math.round(normal() * 4) / 4 : normal()) + shift);
  const cases: Array<[number[], number[]]> = [
    [sample(40, 0), sample(40, 0.5)], [sample(30, 0), sample(45, 0.2)], [sample(7, 0), sample(11, 1)], [sample(200, 0, true), sample(150, 0.25, true)],
    [sample(12000, 0), sample(900, 0.1)], [sample(3000, 0), sample(3000, 0)],
  ];
  for (const [a, b] of cases) {
    for (const method of ['auto', 'exact', 'asymp'] as const) {
      if (method === 'exact' && a.length > 5000) continue; // the lattice count is slow there, and ksTest's own tests cover it
      const expected = ksTest(a, b, { method });
      assert.deepEqual(ksFromStatistic(rawStatistic(a, b), a.length, b.length, { method }), expected, `${a.length} vs ${b.length} ${method}`);
    }
  }
});

test('sizes and statistic are checked', () => {
  assert.throws(() => ksFromStatistic(0.5, 0, 3), /sample sizes must be integers ≥ 1, got 0 and 3/);
  assert.throws(() => ksFromStatistic(1.5, 3, 3), /statistic must be in \[0, 1\], got 1.5/);
  assert.deepEqual(ksFromStatistic(0, 3, 3), { statistic: 0, pValue: 1, method: 'exact' });
});
