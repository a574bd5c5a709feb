import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { featureNamesOf, loadPipelineSpec, parseDuration, type AggregateSpec, type PipelineSpec, type TransformSpec } from '@streamloop/config';
import { BUCKETS_PER_WINDOW, FeatureComputer, FeatureInputError } from './computer';

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0); // Monday 10:00 UTC: a bucket edge of every window used here

type AggregateInput = AggregateSpec extends infer A ? (A extends { windowMs: number } ? Omit<A, 'windowMs'> : A) : never;

/** A spec as the config loader would produce it, without an event schema file (the computer never reads it). */
function spec(features: { transforms?: TransformSpec[]; aggregates?: AggregateInput[] }): PipelineSpec {
  const aggregates = (features.aggregates ?? []).map((a) => ('window' in a ? { ...a, windowMs: parseDuration(a.window)! } : a)) as AggregateSpec[];
  return {
    pipeline: 't', file: 't.yaml',
    events: { schemaPath: '/dev/null', idField: 'id', timeField: 'ts', entityField: 'card', partitions: 1, dedupWindowMs: H },
    topics: {},
    features: { version: 'v1', transforms: features.transforms ?? [], aggregates },
    labels: { field: 'y' },
    model: { name: 'm', algorithm: 'logistic_regression', params: {}, threshold: 0.5 },
    training: { minLabels: 10, holdoutFraction: 0.2, scheduleMs: null },
    monitoring: { window: '5m', windowMs: 5 * M, alertCooldownMs: 24 * H, psiBins: 10, psiThreshold: 0.2, thresholds: { ksPValue: null, jensenShannon: null, wasserstein: null }, datasetDrift: { alpha: 0.05, share: 0.5 }, detectors: { labelDelayMs: H, adwin: {}, pageHinkley: {}, ddm: {} } },
  };
}

const cardAggregates: AggregateInput[] = [
  { name: 'n1h', op: 'count', entity: 'card', window: '1h' },
  { name: 'sum1h', op: 'sum', entity: 'card', field: 'amount', window: '1h' },
  { name: 'mean1h', op: 'mean', entity: 'card', field: 'amount', window: '1h' },
  { name: 'min1h', op: 'min', entity: 'card', field: 'amount', window: '1h' },
  { name: 'max1h', op: 'max', entity: 'card', field: 'amount', window: '1h' },
  { name: 'since', op: 'time_since_last', entity: 'card' },
];
const aggSpec = spec({ aggregates: [...cardAggregates, { name: 'merchant_n1h', op: 'count', entity: 'merchant', window: '1h' }] });

const ev = (id: string, ts: number, card: string | null, amount: number | null, extra: Record<string, unknown> = {}) => ({ id, ts, card, merchant: 'm', amount, ...extra });

test('no leakage: the first event of an entity sees count 0 and NaN, the next sees only the first', () => {
  const f = new FeatureComputer(aggSpec);
  const first = f.compute(ev('a', T0, 'c1', 10)).values;
  assert.equal(first.n1h, 0);
  assert.equal(first.sum1h, 0);
  for (const k of ['mean1h', 'min1h', 'max1h', 'since']) assert.ok(Number.isNaN(first[k]), k);
  const second = f.compute(ev('b', T0 + M, 'c1', 30)).values;
  assert.deepEqual([second.n1h, second.sum1h, second.mean1h, second.min1h, second.max1h, second.since], [1, 10, 10, 10, 10, 60]);
  const third = f.compute(ev('c', T0 + 2 * M, 'c1', 5)).values;
  assert.deepEqual([third.n1h, third.mean1h, third.min1h, third.max1h], [2, 20, 10, 30]);
  // The merchant entity is shared by both cards; another card shares nothing with c1.
  const other = f.compute(ev('d', T0 + 3 * M, 'c2', 1)).values;
  assert.equal(other.n1h, 0);
  assert.equal(other.merchant_n1h, 3);
});

test('hand-computed 1h window: which events count, at the bucket edges', () => {
  // Buckets are 1 minute wide. Events at 10:00:00, 10:00:30, 10:10, 10:30.
  const f = new FeatureComputer(aggSpec);
  f.compute(ev('1', T0, 'c', 100));
  f.compute(ev('2', T0 + 30_000, 'c', 40));
  f.compute(ev('3', T0 + 10 * M, 'c', 20));
  f.compute(ev('4', T0 + 30 * M, 'c', 60));
  const at = (t: number) => f.peek(ev('p', t, 'c', 1)).values;
  assert.deepEqual([at(T0 + 40 * M).n1h, at(T0 + 40 * M).mean1h, at(T0 + 40 * M).max1h], [4, 55, 100]);
  // 10:59:59 is in bucket 59: the 10:00 bucket (0) is still inside (59 − 60, 59].
  assert.equal(at(T0 + 59 * M + 59_000).n1h, 4);
  // 11:00:10 is in bucket 60: bucket 0 (10:00:00 and 10:00:30) has left, although 10:00:30 is only 59m40s old.
  const later = at(T0 + H + 10_000);
  assert.deepEqual([later.n1h, later.sum1h, later.min1h, later.max1h], [2, 80, 20, 60]);
  assert.equal(later.since, (H + 10_000 - 30 * M) / 1000);
  // 11:30 (bucket 90): only 10:30 (bucket 30) would be 60 buckets back; it is gone too.
  assert.equal(at(T0 + 90 * M).n1h, 0);
  assert.ok(Number.isNaN(at(T0 + 90 * M).mean1h));
});

test('missing values: NaN features, left out of mean/min/max/sum but counted by count', () => {
  const f = new FeatureComputer(spec({ transforms: [{ name: 'amt', op: 'passthrough', field: 'amount' }], aggregates: cardAggregates }));
  f.compute(ev('1', T0, 'c', 10));
  const v = f.compute(ev('2', T0 + M, 'c', null)).values;
  assert.ok(Number.isNaN(v.amt));
  const after = f.peek(ev('3', T0 + 2 * M, 'c', 1)).values;
  assert.deepEqual([after.n1h, after.sum1h, after.mean1h], [2, 10, 10]);
  // No entity: every aggregate is NaN (even count) and the state is untouched.
  const none = f.compute(ev('4', T0 + 3 * M, null, 5)).values;
  assert.ok(Number.isNaN(none.n1h) && Number.isNaN(none.since));
  assert.equal(f.compute(ev('5', T0 + 4 * M, '', 5)).entityKey, '');
});

test('out-of-order events: applied while their bucket is inside the entity window, else counted late', () => {
  const f = new FeatureComputer(aggSpec);
  f.compute(ev('1', T0, 'c', 100));
  f.compute(ev('2', T0 + 2 * H, 'c', 50));
  assert.equal(f.lateEvents, 0);
  // 1h30 before the entity's newest event: its bucket already slid out, so it changes nothing...
  const late = f.compute(ev('3', T0 + 30 * M, 'c', 7)).values;
  assert.equal(f.lateEvents, 1, 'one late event (not one per aggregate)');
  // ...and what it saw is also relative to the entity's newest time: the 10:00 bucket expired.
  assert.equal(late.n1h, 0);
  assert.equal(late.since, 0, 'the latest event known is later than this one');
  // 10 minutes before the newest event: applied to its bucket.
  const ooo = f.compute(ev('4', T0 + 2 * H - 10 * M, 'c', 8)).values;
  assert.equal(ooo.n1h, 0, 'the 12:00 event is in a later bucket than 11:50: not seen');
  assert.equal(f.lateEvents, 1);
  const probe = f.peek(ev('p', T0 + 2 * H + M, 'c', 1)).values;
  assert.deepEqual([probe.n1h, probe.sum1h, probe.max1h], [2, 58, 50]);
});

test('peek computes the same vector as compute and changes nothing', () => {
  const f = new FeatureComputer(aggSpec);
  f.compute(ev('a', T0, 'c', 1));
  const before = f.snapshotEntity('card=c');
  const peeked = f.peek(ev('b', T0 + 1000, 'c', 2));
  assert.deepEqual(f.snapshotEntity('card=c'), before);
  assert.equal(f.entityCount(), 2);
  assert.deepEqual(f.compute(ev('b', T0 + 1000, 'c', 2)), peeked);
});

test('transforms: values, NaN for missing inputs, one-hot with the __other__ column, feature order', () => {
  const f = new FeatureComputer(spec({
    transforms: [
      { name: 'cat', op: 'one_hot', field: 'category', categories: ['a', 'b'] },
      { name: 'r', op: 'ratio', numerator: 'amount', denominator: 'mean1h' },
      { name: 'bucket', op: 'bucketize', field: 'amount', boundaries: [10, 100] },
      { name: 'clipped', op: 'clip', field: 'amount', min: 0, max: 50 },
      { name: 'log', op: 'log1p', field: 'amount' },
      { name: 'online', op: 'passthrough', field: 'online' },
      { name: 'foreign', op: 'not_equal', field: 'country', value: 'NL' },
      { name: 'hour', op: 'hour_of_day' },
      { name: 'dow', op: 'day_of_week' },
    ],
    aggregates: [{ name: 'mean1h', op: 'mean', entity: 'card', field: 'amount', window: '1h' }],
  }));
  assert.deepEqual(f.featureNames, ['cat=a', 'cat=b', 'cat=__other__', 'r', 'bucket', 'clipped', 'log', 'online', 'foreign', 'hour', 'dow', 'mean1h']);
  const v1 = f.compute(ev('1', T0, 'c', 100, { category: 'zzz', online: true, country: 'DE' })).values;
  assert.deepEqual(Object.keys(v1), f.featureNames, 'values come in featureNames order');
  assert.deepEqual([v1['cat=a'], v1['cat=b'], v1['cat=__other__']], [0, 0, 1], 'an unknown category goes to __other__');
  assert.ok(Number.isNaN(v1.r), 'no mean before the first event: ratio is NaN');
  assert.deepEqual([v1.bucket, v1.clipped, v1.log, v1.online, v1.foreign], [2, 50, Math.log1p(100), 1, 1]);
  const v2 = f.compute(ev('2', T0 + 1000, 'c', 50, { category: 'b', online: false, country: 'NL' })).values;
  assert.deepEqual([v2['cat=a'], v2['cat=b'], v2['cat=__other__']], [0, 1, 0]);
  assert.equal(v2.r, 0.5, 'amount over the mean of the events before this one');
  assert.deepEqual([v2.bucket, v2.clipped, v2.online, v2.foreign], [1, 50, 0, 0]);
  assert.equal(f.peek(ev('x', T0, 'c', 9.99)).values.bucket, 0);
  assert.equal(f.peek(ev('x', T0, 'c', 10)).values.bucket, 1, 'a value equal to a boundary goes above it');
  assert.equal(f.peek(ev('x', T0, 'c', -3)).values.clipped, 0);
  assert.ok(Number.isNaN(f.peek(ev('x', T0, 'c', -1)).values.log));
  const v3 = f.compute(ev('3', T0 + 2000, 'c', null, { category: null })).values;
  for (const k of ['cat=a', 'cat=b', 'cat=__other__', 'bucket', 'clipped', 'log', 'online', 'foreign']) assert.ok(Number.isNaN(v3[k]), `${k} is NaN`);
});

test('ratio: zero or missing denominator is NaN; event fields work as operands', () => {
  const f = new FeatureComputer(spec({ transforms: [{ name: 'r', op: 'ratio', numerator: 'a', denominator: 'b' }] }));
  assert.ok(Number.isNaN(f.compute({ id: '1', ts: T0, card: 'c', a: 1, b: 0 }).values.r));
  assert.ok(Number.isNaN(f.compute({ id: '2', ts: T0, card: 'c', a: 1 }).values.r));
  assert.equal(f.compute({ id: '3', ts: T0, card: 'c', a: 3, b: 4 }).values.r, 0.75);
  assert.equal(f.compute({ id: '4', ts: T0, card: 'c', a: 0, b: 4 }).values.r, 0);
});

test('hour of day and day of week come from the event time in UTC', () => {
  const f = new FeatureComputer(spec({ transforms: [{ name: 'h', op: 'hour_of_day' }, { name: 'd', op: 'day_of_week' }] }));
  const at = (ts: number) => { const v = f.peek({ id: 'x', ts, card: 'c' }).values; return [v.h, v.d]; };
  assert.deepEqual(at(Date.UTC(2026, 0, 4, 23, 59, 59, 999)), [23, 0]); // Sunday
  assert.deepEqual(at(Date.UTC(2026, 0, 5, 0, 0, 0)), [0, 1]); // Monday
  assert.deepEqual(at(Date.UTC(2026, 0, 10, 13, 30)), [13, 6]); // Saturday
  assert.deepEqual(at(0), [0, 4]); // 1970-01-01 was a Thursday
  assert.deepEqual(f.peek({ id: 'x', ts: new Date(Date.UTC(2026, 0, 5, 7)), card: 'c' }).values.h, 7, 'a Date works too');
});

test('an event without a usable event time is refused with the field named', () => {
  const f = new FeatureComputer(aggSpec);
  assert.throws(() => f.compute({ id: 'e1', card: 'c', amount: 1 }), (e: unknown) => e instanceof FeatureInputError && /event "e1": field ts: expected the event time in epoch milliseconds, got null/.test(e.message));
  assert.throws(() => f.peek({ id: 'e2', ts: 'yesterday', card: 'c' }), /got "yesterday"/);
  assert.equal(f.entityCount(), 0);
});

test('snapshot and restore: the restored computer continues exactly like the original', () => {
  const f = new FeatureComputer(aggSpec);
  const stream = randomStream(7, 400, { outOfOrder: 0.15 });
  for (const e of stream.slice(0, 300)) f.compute(e);
  const g = new FeatureComputer(aggSpec);
  for (const key of f.stateKeys()) g.restoreEntity(key, f.snapshotEntity(key));
  assert.equal(g.entityCount(), f.entityCount());
  for (const e of stream.slice(300)) assert.deepEqual(g.compute(e), f.compute(e));
  for (const key of f.stateKeys()) assert.deepEqual(g.snapshotEntity(key), f.snapshotEntity(key));
  // A tombstone deletes; unknown keys and foreign layouts are refused with the key named.
  g.restoreEntity('card=c0', null);
  assert.equal(g.snapshotEntity('card=c0'), undefined);
  assert.throws(() => g.restoreEntity('device=x', new Uint8Array(20)), /state key "device=x": expected field=value with one of the aggregate entity fields \(card, merchant\)/);
  const other = new FeatureComputer(spec({ aggregates: [{ name: 'n24h', op: 'count', entity: 'card', window: '24h' }] }));
  assert.throws(() => other.restoreEntity('card=c1', f.snapshotEntity('card=c1')), /state of card=c1: snapshot was written for another aggregate layout/);
  assert.throws(() => g.restoreEntity('card=c1', f.snapshotEntity('card=c1')!.subarray(0, 30)), /state of card=c1: snapshot truncated/);
});

test('stateKeysOf names the states an event changes; snapshots only hold live buckets', () => {
  const f = new FeatureComputer(aggSpec);
  assert.deepEqual(f.stateKeysOf(ev('1', T0, 'c1', 5)), ['card=c1', 'merchant=m']);
  assert.deepEqual(f.stateKeysOf(ev('1', T0, null, 5)), ['merchant=m']);
  f.compute(ev('1', T0, 'c1', 5));
  // Header 18 bytes; count series and amount series with one bucket each (2 + 40 bytes).
  assert.equal(f.snapshotEntity('card=c1')!.length, 18 + 2 * 42);
  for (let i = 1; i < 500; i++) f.compute(ev(String(i), T0 + i * 20_000, 'c1', i));
  assert.ok(f.snapshotEntity('card=c1')!.length <= 18 + 2 * (2 + BUCKETS_PER_WINDOW * 40), 'bounded by 60 buckets per series');
});

test('idle entities are evicted after their longest window, without changing any windowed value', () => {
  const f = new FeatureComputer(aggSpec);
  const keep = new FeatureComputer(aggSpec);
  for (const c of [f, keep]) {
    c.compute(ev('a', T0, 'c1', 1));
    c.compute(ev('b', T0 + 30 * M, 'c2', 1));
  }
  assert.deepEqual(f.evictIdle(T0 + H), [], 'exactly one window idle is not yet longer than the window');
  assert.deepEqual(f.evictIdle(T0 + H + 1), ['card=c1']);
  assert.deepEqual(f.evictIdle(T0 + 2 * H).sort(), ['card=c2', 'merchant=m']);
  assert.equal(f.entityCount(), 0);
  const later = ev('c', T0 + 2 * H, 'c1', 3);
  const evicted = f.compute(later).values;
  const kept = keep.compute(later).values;
  assert.deepEqual({ ...evicted, since: 0 }, { ...kept, since: 0 });
  assert.ok(Number.isNaN(evicted.since), 'time_since_last forgets an evicted entity');
  assert.equal(kept.since, 2 * H / 1000);
});

test('the example fraud pipeline: names from the spec, a vector for a generated event', () => {
  const fraud = loadPipelineSpec(fileURLToPath(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url)));
  const f = new FeatureComputer(fraud);
  assert.deepEqual(f.featureNames, featureNamesOf(fraud.features));
  const e = { transaction_id: 't1', event_time: T0, card_id: 'k', merchant_id: 'm', merchant_category: 'fuel', amount: 42, currency: 'EUR', country: 'NL', is_online: false, device_id: null };
  f.compute(e);
  const v = f.compute({ ...e, transaction_id: 't2', event_time: T0 + M, amount: 84 });
  assert.equal(v.entityKey, 'k');
  assert.equal(v.values['category=__other__'], 1);
  assert.equal(v.values.amount_vs_card_mean, 2);
  assert.equal(v.values.card_txn_count_1h, 1);
  assert.equal(v.values.foreign, 0);
});

// --------------------------------------------------------------------------------------------------------
// Brute force: the bucketed computer against a naive O(n²) recomputation from the raw event list.

type Ev = { id: string; ts: number; card: string; merchant: string; amount: number | null };

function randomStream(seed: number, n: number, opts: { outOfOrder: number }): Ev[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const out: Ev[] = [];
  let t = T0 + Math.floor(rnd() * M);
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 4 * M);
    // Some events arrive late: most within the window, some far beyond it.
    const ts = rnd() < opts.outOfOrder ? t - Math.floor(rnd() * (rnd() < 0.8 ? 50 * M : 5 * H)) : t;
    out.push({ id: String(i), ts, card: `c${Math.floor(rnd() * 4)}`, merchant: `m${Math.floor(rnd() * 3)}`, amount: rnd() < 0.05 ? null : Math.round(rnd() * 10_000) / 100 });
  }
  return out;
}

type Series = 'card' | 'amount' | 'merchant';
type Seen = Ev & { applied: Record<Series, boolean> };

/**
 * The documented semantics, recomputed from scratch for every event: an earlier event of the entity that
 * was applied to the series (its bucket was above newest − B when it arrived) counts at time t when its
 * bucket k satisfies max(bucket(t), newest) − B < k ≤ bucket(t), newest being the highest applied bucket.
 */
function naive(history: Seen[], series: Series, e: Ev, width: number) {
  const key = series === 'merchant' ? 'merchant' : 'card';
  const bucket = (ts: number) => Math.floor(ts / width);
  const mine = history.filter((h) => h[key] === e[key] && h.applied[series]);
  const newest = Math.max(-Infinity, ...mine.map((h) => bucket(h.ts)));
  const cur = bucket(e.ts);
  const inWindow = mine.filter((h) => bucket(h.ts) > Math.max(cur, newest) - BUCKETS_PER_WINDOW && bucket(h.ts) <= cur);
  const takes = series !== 'amount' || e.amount !== null;
  return { inWindow, late: takes && cur <= newest - BUCKETS_PER_WINDOW, applied: takes && cur > newest - BUCKETS_PER_WINDOW };
}

test('brute force: random streams with out-of-order and late events agree with a naive recomputation', () => {
  const width = H / BUCKETS_PER_WINDOW;
  for (const seed of [1, 2, 3]) {
    const f = new FeatureComputer(aggSpec);
    const history: Seen[] = [];
    let late = 0;
    for (const e of randomStream(seed, 700, { outOfOrder: 0.2 })) {
      const got = f.compute({ ...e }).values;
      const card = naive(history, 'card', e, width);
      const amount = naive(history, 'amount', e, width);
      const merchant = naive(history, 'merchant', e, width);
      const amounts = amount.inWindow.map((h) => h.amount!);
      const ctx = `seed ${seed}, event ${e.id}`;
      assert.equal(got.n1h, card.inWindow.length, `count, ${ctx}`);
      assert.equal(got.merchant_n1h, merchant.inWindow.length, `merchant count, ${ctx}`);
      assert.ok(Math.abs(got.sum1h - amounts.reduce((a, b) => a + b, 0)) < 1e-6, `sum, ${ctx}`);
      if (amounts.length === 0) assert.ok(Number.isNaN(got.mean1h) && Number.isNaN(got.max1h) && Number.isNaN(got.min1h), `empty, ${ctx}`);
      else {
        assert.ok(Math.abs(got.mean1h - amounts.reduce((a, b) => a + b, 0) / amounts.length) < 1e-9, `mean, ${ctx}`);
        assert.equal(got.max1h, Math.max(...amounts), `max, ${ctx}`);
        assert.equal(got.min1h, Math.min(...amounts), `min, ${ctx}`);
      }
      const earlier = history.filter((h) => h.card === e.card);
      if (earlier.length === 0) assert.ok(Number.isNaN(got.since), `since, ${ctx}`);
      else assert.equal(got.since, Math.max(0, e.ts - Math.max(...earlier.map((h) => h.ts))) / 1000, `since, ${ctx}`);
      if (card.late || amount.late || merchant.late) late++;
      history.push({ ...e, applied: { card: card.applied, amount: amount.applied, merchant: merchant.applied } });
    }
    assert.equal(f.lateEvents, late, `late events, seed ${seed}`);
    assert.ok(late > 0, 'the streams do contain late events');
  }
});

test('brute force, in order: the bucketed 1h count lies between the exact counts over 59 minutes and 1 hour', () => {
  const f = new FeatureComputer(aggSpec);
  const seen: Ev[] = [];
  for (const e of randomStream(11, 600, { outOfOrder: 0 })) {
    const got = f.compute({ ...e }).values.n1h;
    const ages = seen.filter((h) => h.card === e.card).map((h) => e.ts - h.ts);
    const atMost59m = ages.filter((a) => a <= H - M).length;
    const under1h = ages.filter((a) => a < H).length;
    assert.ok(atMost59m <= got && got <= under1h, `event ${e.id}: ${atMost59m} <= ${got} <= ${under1h}`);
    seen.push(e);
  }
});

test('stages owning one entity field each compute what one computer over the whole stream computes', () => {
  const s = spec({
    transforms: [{ name: 'ratio', op: 'ratio', numerator: 'amount', denominator: 'merchant_mean1h' } as TransformSpec],
    aggregates: [...cardAggregates, { name: 'merchant_n1h', op: 'count', entity: 'merchant', window: '1h' }, { name: 'merchant_mean1h', op: 'mean', entity: 'merchant', field: 'amount', window: '1h' }],
  });
  const whole = new FeatureComputer(s);
  const byCard = new FeatureComputer(s, { entities: ['card'] });
  const byMerchant = new FeatureComputer(s, { entities: ['merchant'] });
  assert.deepEqual(byMerchant.ownedAggregates(), ['merchant_n1h', 'merchant_mean1h']);
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 400; i++) {
    const event = { id: `e${i}`, ts: T0 + i * 37_000, card: `c${Math.floor(next() * 9)}`, merchant: `m${Math.floor(next() * 4)}`, amount: Math.round(next() * 1000) / 10 };
    const expected = whole.compute(event).values;
    const first = byCard.compute(event);
    const partial = Object.fromEntries(byCard.ownedAggregates().map((n) => [n, first.values[n]]));
    // The card stage knows nothing of merchants: their aggregates are NaN until the merchant stage fills them in.
    assert.ok(Number.isNaN(first.values.merchant_n1h));
    assert.deepEqual(byMerchant.compute(event, partial).values, expected, `event ${i}`);
  }
  assert.throws(() => new FeatureComputer(s, { entities: ['nope'] }), /entities: nope keys no aggregate/);
  assert.deepEqual([...byMerchant.stateKeysOf({ card: 'c1', merchant: 'm1' })], ['merchant=m1']);
});

test('hash transform: one column per bucket, murmur3_32 of the UTF-8 value mod buckets, NaN when missing', () => {
  const f = new FeatureComputer(spec({ transforms: [{ name: 'cat', op: 'hash', field: 'category', buckets: 16 }] }));
  assert.deepEqual(f.featureNames, Array.from({ length: 16 }, (_, i) => `cat=#${i}`));
  // Buckets from scikit-learn's murmurhash3_32(value, positive=True) % 16: grocery 1, fuel 15, é-café 13.
  for (const [category, bucket] of [['grocery', 1], ['fuel', 15], ['é-café', 13]] as const) {
    const v = f.peek(ev('x', T0, 'c', 1, { category })).values;
    assert.deepEqual(f.featureNames.filter((n) => v[n] === 1), [`cat=#${bucket}`], category);
    assert.equal(Object.values(v).reduce((a, b) => a + b, 0), 1);
  }
  const missing = f.peek(ev('x', T0, 'c', 1, { category: null })).values;
  assert.ok(Object.values(missing).every(Number.isNaN));
});

test('one_hot and hash over int, long and boolean fields: compared by their text ("3", decimal digits, "true"/"false")', () => {
  const BIG_LONG = 9_007_199_254_740_991; // the largest long avsc decodes (it refuses beyond 2^53 - 1)
  const f = new FeatureComputer(spec({
    transforms: [
      // The config loader turns YAML numbers and booleans in categories into their text.
      { name: 'mcc', op: 'one_hot', field: 'mcc', categories: ['3', String(BIG_LONG)] },
      { name: 'flag', op: 'one_hot', field: 'flag', categories: ['true'] },
      { name: 'h', op: 'hash', field: 'mcc', buckets: 16 },
    ],
  }));
  const columns = (values: Record<string, number>, prefix: string) => f.featureNames.filter((n) => n.startsWith(prefix)).map((n) => values[n]);
  const at = (extra: Record<string, unknown>) => f.peek(ev('x', T0, 'c', 1, extra)).values;
  // An int from Avro, the same value as a REST caller's JSON string, a long, another int, a missing value.
  assert.deepEqual(columns(at({ mcc: 3, flag: true }), 'mcc='), [1, 0, 0]);
  assert.deepEqual(columns(at({ mcc: '3', flag: true }), 'mcc='), [1, 0, 0]);
  assert.deepEqual(columns(at({ mcc: BIG_LONG, flag: true }), 'mcc='), [0, 1, 0]);
  assert.deepEqual(columns(at({ mcc: 4, flag: true }), 'mcc='), [0, 0, 1], 'an unlisted int goes to __other__');
  assert.ok(columns(at({ mcc: null, flag: true }), 'mcc=').every(Number.isNaN));
  assert.deepEqual(columns(at({ mcc: 3, flag: true }), 'flag='), [1, 0]);
  assert.deepEqual(columns(at({ mcc: 3, flag: false }), 'flag='), [0, 1], 'false is not listed: __other__');
  // Hash: the int 3 lands where the text "3" does (murmur3_32("3") = 264741300 → bucket 4 of 16).
  assert.deepEqual(columns(at({ mcc: 3 }), 'h=#'), columns(at({ mcc: '3' }), 'h=#'));
  assert.equal(columns(at({ mcc: 3 }), 'h=#').indexOf(1), 4);
  assert.deepEqual(columns(at({ mcc: BIG_LONG }), 'h=#'), columns(at({ mcc: String(BIG_LONG) }), 'h=#'));
  assert.equal(columns(at({ mcc: BIG_LONG }), 'h=#').reduce((a, b) => a + b, 0), 1);
});
