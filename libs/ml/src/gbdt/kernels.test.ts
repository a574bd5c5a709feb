import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../random';
import { BinMapper, binOf, MISSING_BIN } from './binning';
import { Float64Sorter, SLOT_F64, slotOf } from './kernels';
import { GrowerWorkspace } from './workspace';

/** Random bins (some NaN bins) and float32 gradients/hessians in a workspace of n rows × d features. */
function randomWorkspace(n: number, d: number, threads: number, seed: number): { ws: GrowerWorkspace; bins: Uint8Array } {
  const rnd = seededRandom(seed);
  // Skewed bins (many rows share low bins) so slots get long runs of additions.
  const bins = Uint8Array.from({ length: n * d }, () => (rnd() < 0.05 ? MISSING_BIN : Math.floor(rnd() * rnd() * 254)));
  const ws = new GrowerWorkspace(bins, n, d, threads);
  for (let i = 0; i < n; i++) {
    ws.gradients[i] = rnd() * 2 - 1;
    ws.hessians[i] = rnd() * 0.25;
  }
  return { ws, bins };
}

/** The histogram of rows[start..end) for feature j, summed in TypeScript in row order: [Σg, Σh, count] per bin. */
function referenceHistogram(ws: GrowerWorkspace, bins: Uint8Array, start: number, end: number, j: number): Float64Array {
  const out = new Float64Array(256 * 3);
  for (let k = start; k < end; k++) {
    const i = ws.rows[k];
    const b = bins[i * ws.d + j];
    out[b * 3] += ws.gradients[i];
    out[b * 3 + 1] += ws.hessians[i];
    out[b * 3 + 2] += 1;
  }
  return out;
}

function assertSameHistogram(hist: Float64Array, ref: Float64Array, j: number, label: string): void {
  for (let b = 0; b < 256; b++) {
    const o = slotOf(j, b);
    assert.equal(SLOT_F64, 4);
    assert.deepEqual([hist[o], hist[o + 1], hist[o + 2], hist[o + 3]], [ref[b * 3], ref[b * 3 + 1], ref[b * 3 + 2], 0], `${label}: feature ${j} bin ${b}`);
  }
}

test('wasm histograms equal the row-order float64 sums, for all features and for a feature list, and the sibling by subtraction', () => {
  const n = 3000, d = 7;
  const { ws, bins } = randomWorkspace(n, d, 1, 5);
  const rnd = seededRandom(6);
  // A node: a scattered subset of rows in ascending order, as the partition leaves them.
  const rows = Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.4);
  ws.rows.set(rows);
  ws.gatherOrdered(rows.length);
  const whole = ws.take();
  ws.buildHistogram(whole, 0, rows.length, d, false, null);
  for (let j = 0; j < d; j++) assertSameHistogram(whole, referenceHistogram(ws, bins, 0, rows.length, j), j, 'all features');

  // The first 500 positions as the smaller child: the parent's buffer becomes the other child's histogram.
  const small = ws.take();
  ws.buildHistogram(small, 0, 500, d, false, whole);
  for (let j = 0; j < d; j++) {
    assertSameHistogram(small, referenceHistogram(ws, bins, 0, 500, j), j, 'child');
    const parent = referenceHistogram(ws, bins, 0, rows.length, j), child = referenceHistogram(ws, bins, 0, 500, j);
    assertSameHistogram(whole, parent.map((v, k) => v - child[k]), j, 'sibling');
  }

  // A column subsample: only the listed features' blocks are written.
  const listed = [1, 4, 6];
  ws.features.set(listed);
  const some = ws.take();
  some.fill(-7);
  ws.buildHistogram(some, 100, 900, listed.length, true, null);
  for (const j of listed) assertSameHistogram(some, referenceHistogram(ws, bins, 100, 900, j), j, 'listed');
  assert.equal(some[slotOf(0, 3)], -7, 'an unlisted feature is left alone');
  ws.close();
});

test('partition is stable, keeps each row with its gradient pair, and returns where the right rows start', () => {
  const n = 2000, d = 3;
  const { ws, bins } = randomWorkspace(n, d, 1, 8);
  for (let i = 0; i < n; i++) ws.rows[i] = i;
  ws.gatherOrdered(n);
  ws.goesLeft.fill(0);
  for (let b = 0; b <= 40; b++) ws.goesLeft[b] = 1;
  ws.goesLeft[MISSING_BIN] = 1;
  const start = 300, end = 1700, feature = 2;
  const inside = Array.from({ length: end - start }, (_, k) => start + k);
  const goesLeft = (i: number) => ws.goesLeft[bins[i * d + feature]] === 1;
  const mid = ws.partition(start, end, feature);
  const expected = [...inside.filter(goesLeft), ...inside.filter((i) => !goesLeft(i))];
  assert.equal(mid, start + inside.filter(goesLeft).length);
  assert.deepEqual(Array.from(ws.rows.subarray(start, end)), expected);
  assert.deepEqual(Array.from(ws.rows.subarray(0, start)), Array.from({ length: start }, (_, i) => i), 'rows outside the range stay');
  // The histogram of the left part reads the pairs moved along with the rows.
  const hist = ws.take();
  ws.buildHistogram(hist, start, mid, d, false, null);
  for (let j = 0; j < d; j++) assertSameHistogram(hist, referenceHistogram(ws, bins, start, mid, j), j, 'after partition');
  ws.close();
});

test('histograms and partitions made with helper threads are identical to one thread, whichever thread does which part', () => {
  // 40 000 × 30 bins: large enough for the workspace to start helpers.
  const n = 40_000, d = 30;
  const one = randomWorkspace(n, d, 1, 11).ws;
  const many = randomWorkspace(n, d, 3, 11).ws;
  assert.equal(one.threads, 1);
  assert.equal(many.threads, 3);
  const rnd = seededRandom(12);
  const rows = Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.7);
  for (const ws of [one, many]) {
    ws.rows.set(rows);
    ws.gatherOrdered(rows.length);
  }
  for (let round = 0; round < 20; round++) {
    const start = Math.floor(rnd() * 1000), end = rows.length - Math.floor(rnd() * 1000);
    const [a, b] = [one.take(), many.take()];
    one.buildHistogram(a, start, end, d, false, null);
    many.buildHistogram(b, start, end, d, false, null);
    assert.deepEqual(b, a, `round ${round}`);
    one.give(a);
    many.give(b);
  }
  // Partitions of large ranges, one after the other as a tree does: the gradient pairs move along in both.
  for (let round = 0; round < 5; round++) {
    const feature = Math.floor(rnd() * d), cut = Math.floor(rnd() * 256);
    const start = Math.floor(rnd() * 2000), end = rows.length - Math.floor(rnd() * 2000);
    const mids: number[] = [];
    for (const ws of [one, many]) {
      for (let b = 0; b < 256; b++) ws.goesLeft[b] = b <= cut ? 1 : 0;
      mids.push(ws.partition(start, end, feature));
    }
    assert.equal(mids[1], mids[0], `round ${round}`);
    assert.deepEqual(many.rows, one.rows, `round ${round}: rows`);
    const [a, b] = [one.take(), many.take()];
    one.buildHistogram(a, start, mids[0], d, false, null);
    many.buildHistogram(b, start, mids[1], d, false, null);
    assert.deepEqual(b, a, `round ${round}: histogram of the left rows (gradient pairs moved along)`);
    one.give(a);
    many.give(b);
  }
  one.close();
  many.close();
});

test('Float64Sorter sorts like Float64Array.prototype.sort (−0 before +0, infinities, duplicates, float32 data)', () => {
  const rnd = seededRandom(21);
  const sorter = new Float64Sorter();
  const cases: Array<[string, (i: number) => number]> = [
    ['mixed magnitudes and signs', (i) => (i % 97 === 0 ? -0 : i % 89 === 0 ? 0 : i % 1001 === 0 ? Infinity : i % 1003 === 0 ? -Infinity : (rnd() - 0.5) * Math.exp(60 * (rnd() - 0.5)))],
    ['float32 values (low digits all zero)', () => Math.fround((rnd() - 0.5) * 1e4)],
    ['few distinct integers', () => Math.floor(rnd() * 20) - 10],
    ['one value', () => 2.5],
  ];
  for (const n of [100, 70_000]) {
    for (const [label, value] of cases) {
      const values = Float64Array.from({ length: n }, (_, i) => value(i));
      const expected = values.slice().sort();
      sorter.sort(values);
      for (let k = 0; k < n; k++) assert.ok(Object.is(values[k], expected[k]), `${label}, n = ${n}: position ${k} is ${values[k]}, expected ${expected[k]}`);
    }
  }
});

test('BinMapper.transform (branch-free search) gives binOf for every value, thresholds themselves included', () => {
  const rnd = seededRandom(31);
  const d = 3;
  const flat = Float64Array.from({ length: 4000 * d }, (_, k) => (k % 13 === 0 ? Number.NaN : k % d === 2 ? Math.floor(rnd() * 6) : rnd() * 10 - 5));
  const rows = Uint32Array.from({ length: 4000 }, (_, i) => i);
  for (const maxBins of [2, 16, 255]) {
    const mapper = BinMapper.fit(flat, d, rows, maxBins);
    // Probe the thresholds, their neighbours and the extremes as well as the data.
    const probes: number[] = [Infinity, -Infinity, Number.NaN, -0, 0];
    for (const t of mapper.thresholds) for (const v of t) probes.push(v, v - 1e-9, v + 1e-9);
    const extra = Float64Array.from(probes.flatMap((v) => Array.from({ length: d }, () => v)));
    for (const [data, n] of [[flat, 4000], [extra, probes.length]] as const) {
      const { bins } = mapper.transform(data, d, Uint32Array.from({ length: n }, (_, i) => i));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) {
          const x = data[i * d + j];
          assert.equal(bins[i * d + j], Number.isNaN(x) ? MISSING_BIN : binOf(mapper.thresholds[j], x), `maxBins ${maxBins}, value ${x}, feature ${j}`);
        }
      }
    }
  }
});
