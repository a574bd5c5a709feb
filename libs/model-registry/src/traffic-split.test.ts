import { test } from 'node:test';
import assert from 'node:assert/strict';
import { challengerServes, entityBucket } from './traffic-split';

test('entityBucket: a pure function of the key, in [0, 1)', () => {
  for (const key of ['', 'card-1', 'ü-ñ-漢字', 'x'.repeat(10_000)]) {
    const b = entityBucket(key);
    assert.ok(b >= 0 && b < 1, `${key.slice(0, 20)} → ${b}`);
    assert.equal(entityBucket(key), b);
  }
  // Pinned values: a change of the hash would move entities between arms across versions of the platform.
  assert.deepEqual(['card-1', 'card-2', 'merchant-42'].map((k) => entityBucket(k).toFixed(6)), PINNED);
});

// Computed once by this implementation and kept: the split must not move when the code changes.
const PINNED = ['0.375327', '0.565662', '0.344930'];

test('entityBucket: sequential keys spread evenly (chi-square over 20 bins, 20,000 keys)', () => {
  const bins = new Array(20).fill(0);
  const n = 20_000;
  for (let i = 0; i < n; i++) bins[Math.floor(entityBucket(`card-${i}`) * 20)] += 1;
  const expected = n / 20;
  const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
  // 19 degrees of freedom: the 99.9th percentile is 43.8.
  assert.ok(chi2 < 43.8, `chi-square ${chi2.toFixed(1)} over ${JSON.stringify(bins)}`);
});

test('challengerServes: the share of entities served is within binomial bounds of the configured share', () => {
  for (const share of [0.05, 0.2, 0.5]) {
    const n = 10_000;
    let served = 0;
    for (let i = 0; i < n; i++) if (challengerServes(`user-${i}`, share)) served += 1;
    const sd = Math.sqrt(n * share * (1 - share));
    assert.ok(Math.abs(served - n * share) < 4 * sd, `share ${share}: ${served} of ${n}`);
  }
  assert.equal(challengerServes('card-1', 0), false);
  assert.equal(challengerServes('card-1', 1), true);
});
