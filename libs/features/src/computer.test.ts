import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '@streamloop/config';
import { BUCKETS_PER_WINDOW, FeatureComputer } from './computer';
import { BucketedWindow } from './window';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0); // a Monday, 10:00 UTC, on a bucket edge of every window below

function spec(features: Partial<PipelineSpec['features']>): PipelineSpec {
  return {
    pipeline: 't', file: 't.yaml',
    events: { schemaPath: '', idField: 'id', timeField: 'ts', entityField: 'card', partitions: 1, dedupWindowMs: H },
    topics: {},
    features: { version: 'v1', transforms: [], aggregates: [], ...features },
    labels: { field: 'y' },
    model: { name: 'm', algorithm: 'logistic_regression', params: {}, threshold: 0.5 },
    training: { minLabels: 10, holdoutFraction: 0.2, scheduleMs: null },
    monitoring: { window: '5m', windowMs: 300_000, psiBins: 10, psiThreshold: 0.2 },
  };
}

const aggSpec = spec({
  aggregates: [
    { name: 'n1h', op: 'count', entity: 'card', window: '1h' },
    { name: 'mean1h', op: 'mean', entity: 'card', field: 'amount', window: '1h' },
    { name: 'max1h', op: 'max', entity: 'card', field: 'amount', window: '1h' },
    { name: 'since', op: 'time_since_last', entity: 'card' },
  ],
});

test('aggregates use the state before the event: the first event of an entity sees nothing', () => {
  const f = new FeatureComputer(aggSpec);
  const first = f.compute({ id: 'a', ts: T0, card: 'c1', amount: 10 });
  assert.equal(first.values.n1h, 0);
  assert.ok(Number.isNaN(first.values.mean1h));
  assert.ok(Number.isNaN(first.values.max1h));
  assert.ok(Number.isNaN(first.values.since));
  const second = f.compute({ id: 'b', ts: T0 + 60_000, card: 'c1', amount: 30 });
  assert.equal(second.values.n1h, 1);
  assert.equal(second.values.mean1h, 10);
  assert.equal(second.values.since, 60);
  const third = f.compute({ id: 'c', ts: T0 + 120_000, card: 'c1', amount: 5 });
  assert.equal(third.values.n1h, 2);
  assert.equal(third.values.mean1h, 20);
  assert.equal(third.values.max1h, 30);
  // Another card shares nothing.
  assert.equal(f.compute({ id: 'd', ts: T0 + 130_000, card: 'c2', amount: 1 }).values.n1h, 0);
});

test('events leave the window after its length; late events beyond it are counted, not applied', () => {
  const f = new FeatureComputer(aggSpec);
  f.compute({ id: 'a', ts: T0, card: 'c', amount: 100 });
  f.compute({ id: 'b', ts: T0 + 30 * 60_000, card: 'c', amount: 50 });
  assert.equal(f.peek({ id: 'x', ts: T0 + 59 * 60_000, card: 'c' }).values.n1h, 2);
  const later = f.peek({ id: 'y', ts: T0 + H + 60_000, card: 'c' });
  assert.equal(later.values.n1h, 1, 'the first event expired');
  assert.equal(later.values.max1h, 50);
  f.compute({ id: 'z', ts: T0 + 3 * H, card: 'c', amount: 1 });
  f.compute({ id: 'late', ts: T0 + H, card: 'c', amount: 1 });
  assert.equal(f.lateEvents, 3, 'one late event, for each of the three windowed aggregates');
  // An out-of-order event within the window is applied.
  f.compute({ id: 'ooo', ts: T0 + 3 * H - 10 * 60_000, card: 'c', amount: 7 });
  assert.equal(f.peek({ id: 'q', ts: T0 + 3 * H + 1000, card: 'c' }).values.n1h, 2);
});

test('peek does not change state', () => {
  const f = new FeatureComputer(aggSpec);
  f.compute({ id: 'a', ts: T0, card: 'c', amount: 1 });
  f.peek({ id: 'b', ts: T0 + 1000, card: 'c', amount: 1 });
  assert.equal(f.peek({ id: 'c', ts: T0 + 2000, card: 'c', amount: 1 }).values.n1h, 1);
});

test('transforms: one-hot with an other bucket, ratio, bucketize, clip, log1p, time of day', () => {
  const f = new FeatureComputer(spec({
    transforms: [
      { name: 'cat', op: 'one_hot', field: 'category', categories: ['a', 'b'] },
      { name: 'r', op: 'ratio', numerator: 'amount', denominator: 'mean1h' },
      { name: 'bucket', op: 'bucketize', field: 'amount', boundaries: [10, 100] },
      { name: 'clipped', op: 'clip', field: 'amount', min: 0, max: 50 },
      { name: 'log', op: 'log1p', field: 'amount' },
      { name: 'online', op: 'passthrough', field: 'online' },
      { name: 'hour', op: 'hour_of_day' },
      { name: 'dow', op: 'day_of_week' },
    ],
    aggregates: [{ name: 'mean1h', op: 'mean', entity: 'card', field: 'amount', window: '1h' }],
  }));
  assert.deepEqual(f.featureNames, ['cat=a', 'cat=b', 'cat=__other__', 'r', 'bucket', 'clipped', 'log', 'online', 'hour', 'dow', 'mean1h']);
  const v1 = f.compute({ id: '1', ts: T0, card: 'c', amount: 100, category: 'zzz', online: true }).values;
  assert.deepEqual([v1['cat=a'], v1['cat=b'], v1['cat=__other__']], [0, 0, 1]);
  assert.ok(Number.isNaN(v1.r), 'no mean yet: ratio is NaN');
  assert.equal(v1.bucket, 2);
  assert.equal(v1.clipped, 50);
  assert.equal(v1.log, Math.log1p(100));
  assert.equal(v1.online, 1);
  assert.equal(v1.hour, 10);
  assert.equal(v1.dow, 1);
  const v2 = f.compute({ id: '2', ts: T0 + 1000, card: 'c', amount: 50, category: 'b', online: false }).values;
  assert.equal(v2.r, 0.5);
  assert.equal(v2['cat=b'], 1);
  const v3 = f.compute({ id: '3', ts: T0 + 2000, card: 'c', amount: null, category: null }).values;
  assert.ok(Number.isNaN(v3.bucket) && Number.isNaN(v3.log));
  assert.deepEqual([v3['cat=a'], v3['cat=b'], v3['cat=__other__']], [0, 0, 0]);
});

test('ratio with a zero denominator is NaN', () => {
  const f = new FeatureComputer(spec({ transforms: [{ name: 'r', op: 'ratio', numerator: 'a', denominator: 'b' }] }));
  assert.ok(Number.isNaN(f.compute({ id: '1', ts: T0, card: 'c', a: 1, b: 0 }).values.r));
});

test('snapshot and restore give the same features', () => {
  const f = new FeatureComputer(aggSpec);
  for (let i = 0; i < 20; i++) f.compute({ id: String(i), ts: T0 + i * 97_000, card: 'c', amount: i });
  const g = new FeatureComputer(aggSpec);
  for (const a of ['n1h', 'mean1h', 'max1h', 'since']) g.restoreEntity(a, 'c', f.snapshotEntity(a, 'c')!);
  const probe = { id: 'p', ts: T0 + 21 * 97_000, card: 'c', amount: 3 };
  assert.deepEqual(g.peek(probe), f.peek(probe));
});

test('idle entities are evicted once every window has expired', () => {
  const f = new FeatureComputer(aggSpec);
  f.compute({ id: 'a', ts: T0, card: 'c1', amount: 1 });
  f.compute({ id: 'b', ts: T0 + 5 * H, card: 'c2', amount: 1 });
  assert.ok(f.evictIdle(T0 + 5 * H) >= 4);
  assert.equal(f.peek({ id: 'x', ts: T0 + 5 * H, card: 'c1' }).values.n1h, 0);
  assert.equal(f.peek({ id: 'y', ts: T0 + 5 * H + 1, card: 'c2' }).values.n1h, 1);
});

test('random streams agree with a brute-force recomputation under the bucket semantics', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const f = new FeatureComputer(aggSpec);
  const width = H / BUCKETS_PER_WINDOW;
  const seen: Array<{ ts: number; card: string; amount: number }> = [];
  let t = T0;
  for (let i = 0; i < 3000; i++) {
    t += Math.floor(rnd() * 120_000);
    // A few events arrive out of order, within the window.
    const ts = rnd() < 0.1 ? t - Math.floor(rnd() * 20 * 60_000) : t;
    const card = `c${Math.floor(rnd() * 5)}`;
    const amount = Math.round(rnd() * 1000) / 10;
    const got = f.compute({ id: String(i), ts, card, amount }).values;
    const cur = Math.floor(ts / width);
    const ofCard = seen.filter((e) => e.card === card);
    // Buckets that slid out of the entity's newest window are gone, even for an out-of-order event.
    const newest = Math.max(-Infinity, ...ofCard.map((e) => Math.floor(e.ts / width)));
    const oldest = Math.max(cur, newest) - BUCKETS_PER_WINDOW;
    const inWindow = ofCard.filter((e) => Math.floor(e.ts / width) <= cur && Math.floor(e.ts / width) > oldest);
    assert.equal(got.n1h, inWindow.length, `count at event ${i}`);
    if (inWindow.length > 0) {
      const mean = inWindow.reduce((s, e) => s + e.amount, 0) / inWindow.length;
      assert.ok(Math.abs(got.mean1h - mean) < 1e-9, `mean at event ${i}`);
      assert.equal(got.max1h, Math.max(...inWindow.map((e) => e.amount)));
    }
    seen.push({ ts, card, amount });
  }
  assert.equal(f.lateEvents, 0);
});

test('a bucketed window reuses its slots as time moves on', () => {
  const w = new BucketedWindow(1000, 3);
  w.add(0, 1);
  w.add(1500, 2);
  w.add(2500, 3);
  assert.equal(w.stats(2999).count, 3);
  w.add(3100, 4);
  assert.deepEqual(w.stats(3100), { count: 3, sum: 9, min: 2, max: 4 });
  assert.equal(w.add(500, 9), false, 'older than the window');
});
