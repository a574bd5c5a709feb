import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, type AggregateSpec, type PipelineSpec } from '@streamloop/config';
import { BUCKETS_PER_WINDOW, FeatureComputer, FeatureInputError, ewmAdd } from './computer';
import { SNAPSHOT_VERSION } from './snapshot';

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

type AggregateInput = AggregateSpec extends infer A
  ? A extends { windowMs: number } ? Omit<A, 'windowMs'> : A extends { halfLifeMs: number } ? Omit<A, 'halfLifeMs'> : A
  : never;

/** A spec as the config loader would produce it (durations in ms), without an event schema file. */
function spec(aggregates: AggregateInput[], lateness: { allowedLatenessMs?: number | null } = {}): PipelineSpec {
  const full = aggregates.map((a) => {
    if ('window' in a) return { ...a, windowMs: parseDuration(a.window)! };
    if (a.op === 'ewm_mean') return { ...a, halfLifeMs: parseDuration(a.half_life)! };
    return a;
  }) as AggregateSpec[];
  return {
    pipeline: 't', file: 't.yaml',
    events: { schemaPath: '/dev/null', idField: 'id', timeField: 'ts', entityField: 'card', partitions: 1, dedupWindowMs: H },
    topics: {},
    features: { version: 'v1', transforms: [], aggregates: full, allowedLatenessMs: lateness.allowedLatenessMs ?? null, lateEvents: 'drop' },
    labels: { field: 'y' },
    model: { name: 'm', algorithm: 'logistic_regression', params: {}, threshold: 0.5 },
    training: { minLabels: 10, holdoutFraction: 0.2, scheduleMs: null },
    monitoring: { window: '5m', windowMs: 5 * M, alertCooldownMs: 24 * 60 * M, psiBins: 10, psiThreshold: 0.2, thresholds: { ksPValue: null, jensenShannon: null, wasserstein: null }, datasetDrift: { alpha: 0.05, share: 0.5 }, detectors: { labelDelayMs: 60 * M, adwin: {}, pageHinkley: {}, ddm: {} } },
  };
}

const rich: AggregateInput[] = [
  { name: 'n1h', op: 'count', entity: 'card', window: '1h' },
  { name: 'mean1h', op: 'mean', entity: 'card', field: 'amount', window: '1h' },
  { name: 'std1h', op: 'std', entity: 'card', field: 'amount', window: '1h' },
  { name: 'merchants1h', op: 'distinct_count', entity: 'card', field: 'merchant', window: '1h' },
  { name: 'last_amount', op: 'last', entity: 'card', field: 'amount' },
  { name: 'ewm', op: 'ewm_mean', entity: 'card', field: 'amount', half_life: '1h' },
  { name: 'cards_at_merchant_1h', op: 'distinct_count', entity: 'merchant', field: 'card', window: '1h' },
];

const ev = (id: string, ts: number, card: string | null, amount: number | null, merchant: string | null = 'm') => ({ id, ts, card, merchant, amount });
const close = (a: number, b: number, what: string, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('std: hand-computed population standard deviation, NaN below two values, missing values left out', () => {
  const f = new FeatureComputer(spec(rich));
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  const seen: number[] = [];
  xs.forEach((x, i) => {
    const v = f.compute(ev(String(i), T0 + i * M, 'c', x)).values.std1h;
    if (i < 2) assert.ok(Number.isNaN(v), `event ${i}: fewer than two values before it`);
    if (i === 2) assert.equal(v, 1, 'std of 2 and 4');
    if (i >= 2) {
      const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
      close(v, Math.sqrt(seen.reduce((a, b) => a + (b - mean) ** 2, 0) / seen.length), `event ${i}`);
    }
    seen.push(x);
  });
  f.compute(ev('null', T0 + 8 * M, 'c', null));
  assert.equal(f.peek(ev('p', T0 + 9 * M, 'c', 0)).values.std1h, 2, 'the textbook example: 2, 4, 4, 4, 5, 5, 7, 9 → 2');
  // After the window has slid past all of them: no values, NaN.
  assert.ok(Number.isNaN(f.peek(ev('p', T0 + 3 * H, 'c', 0)).values.std1h));
});

test('std stays accurate around a large offset (no sum-of-squares cancellation), within and across buckets', () => {
  const f = new FeatureComputer(spec(rich));
  const base = 1e9;
  const xs = [4, 7, 13, 16];
  // Two values per 1-minute bucket: Welford inside a bucket, Chan's merge across buckets.
  xs.forEach((x, i) => f.compute(ev(String(i), T0 + Math.floor(i / 2) * M + (i % 2) * 1000, 'c', base + x)));
  // Population variance of 4, 7, 13, 16 is 22.5.
  close(f.peek(ev('p', T0 + 5 * M, 'c', 0)).values.std1h, Math.sqrt(22.5), 'std', 1e-12);
  // Equal values give 0 up to rounding (bucket means are sum / count), never a negative variance or NaN.
  const g = new FeatureComputer(spec(rich));
  for (let i = 0; i < 50; i++) g.compute(ev(String(i), T0 + i * 7_000, 'c', 0.1));
  const flat = g.peek(ev('p', T0 + H / 2, 'c', 0)).values.std1h;
  assert.ok(flat >= 0 && flat < 1e-12, `std of equal values: ${flat}`);
});

test('distinct_count: hand-computed, per entity, missing values not counted, numbers counted by their text', () => {
  const f = new FeatureComputer(spec(rich));
  const reads = ['a', 'b', 'a', null, 'c', 'b'].map((m, i) => f.compute(ev(String(i), T0 + i * M, 'c1', 1, m)).values.merchants1h);
  assert.deepEqual(reads, [0, 1, 2, 2, 2, 3]);
  assert.equal(f.peek(ev('p', T0 + 10 * M, 'c1', 1)).values.merchants1h, 3);
  assert.equal(f.peek(ev('p', T0 + 10 * M, 'c2', 1)).values.merchants1h, 0, 'another card has seen nothing');
  // The other direction: distinct cards per merchant.
  f.compute(ev('x', T0 + 11 * M, 'c2', 1, 'a'));
  f.compute(ev('y', T0 + 12 * M, 'c3', 1, 'a'));
  assert.equal(f.peek(ev('p', T0 + 13 * M, 'c9', 1, 'a')).values.cards_at_merchant_1h, 3);
  // The window slides: two hours later nothing is left.
  assert.equal(f.peek(ev('p', T0 + 3 * H, 'c1', 1)).values.merchants1h, 0);
  const g = new FeatureComputer(spec([{ name: 'd', op: 'distinct_count', entity: 'card', field: 'amount', window: '1h' }]));
  for (const [i, a] of [1, 2, 1, 2.5].entries()) g.compute(ev(String(i), T0 + i * 1000, 'c', a));
  assert.equal(g.peek(ev('p', T0 + M, 'c', 0)).values.d, 3);
});

test('last: the value of the entity\'s latest event time; missing values skipped; an older event does not replace it', () => {
  const f = new FeatureComputer(spec(rich));
  const read = (i: number, ts: number, amount: number | null) => f.compute(ev(String(i), ts, 'c', amount)).values.last_amount;
  assert.ok(Number.isNaN(read(0, T0, 10)), 'no previous value');
  assert.equal(read(1, T0 + M, 20), 10);
  assert.equal(read(2, T0 + 2 * M, null), 20);
  assert.equal(read(3, T0 + 3 * M, 30), 20, 'a missing value does not hide the last known one');
  assert.equal(read(4, T0 + 30_000, 5), 30, 'out of order: reads the latest known value');
  assert.equal(f.peek(ev('p', T0 + 4 * M, 'c', 0)).values.last_amount, 30, 'the older event did not replace it');
  assert.equal(read(5, T0 + 3 * M, 31), 30, 'same time as the latest: the later arrival wins');
  assert.equal(f.peek(ev('p', T0 + 4 * M, 'c', 0)).values.last_amount, 31);
  // No window: days later it is still there.
  assert.equal(f.peek(ev('p', T0 + 5 * 24 * H, 'c', 0)).values.last_amount, 31);
});

test('ewm_mean: hand-computed with half-life 1h, the value read before the event is added', () => {
  const f = new FeatureComputer(spec(rich));
  assert.ok(Number.isNaN(f.compute(ev('0', T0, 'c', 10)).values.ewm));
  assert.equal(f.compute(ev('1', T0 + H, 'c', 20)).values.ewm, 10);
  // Weights now 1/2 (10, one half-life old) and 1 (20): (5 + 20) / 1.5.
  close(f.compute(ev('2', T0 + 2 * H, 'c', 0)).values.ewm, 25 / 1.5, 'after two');
  // Weights 1/4, 1/2, 1: (2.5 + 10 + 0) / 1.75.
  close(f.peek(ev('p', T0 + 2 * H, 'c', 0)).values.ewm, 12.5 / 1.75, 'after three');
  // An out-of-order value enters with its own age: 40 at T0 + 1h has weight 1/2 relative to T0 + 2h.
  f.compute(ev('3', T0 + H, 'c', 40));
  close(f.peek(ev('p', T0 + 2 * H, 'c', 0)).values.ewm, (12.5 + 20) / 2.25, 'after the out-of-order one');
  // Missing values are left out.
  f.compute(ev('4', T0 + 3 * H, 'c', null));
  close(f.peek(ev('p', T0 + 3 * H, 'c', 0)).values.ewm, (12.5 + 20) / 2.25, 'missing');
  // Far apart values: the old weight underflows to 0 and the mean is the new value, not NaN.
  let s = ewmAdd(undefined, 0, 5, 1000);
  s = ewmAdd(s, 1e9, 7, 1000);
  assert.deepEqual(s, [7, 1, 1e9]);
  assert.deepEqual(ewmAdd(s, 0, 100, 1000), [7, 1, 1e9], 'an ancient out-of-order value weighs nothing');
});

// --------------------------------------------------------------------------------------------------------
// Brute force: random streams with out-of-order events against naive recomputations.

type Ev = { id: string; ts: number; card: string; merchant: string | null; amount: number | null };

function randomStream(seed: number, n: number): Ev[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const out: Ev[] = [];
  let t = T0;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 3 * M);
    const ts = rnd() < 0.2 ? t - Math.floor(rnd() * (rnd() < 0.8 ? 50 * M : 5 * H)) : t;
    out.push({
      id: String(i), ts, card: `c${Math.floor(rnd() * 3)}`,
      merchant: rnd() < 0.05 ? null : `m${Math.floor(rnd() * 25)}`,
      amount: rnd() < 0.05 ? null : 1000 + Math.round(rnd() * 10_000) / 100,
    });
  }
  return out;
}

test('brute force: std, distinct_count, last and ewm_mean agree with naive recomputations on out-of-order streams', () => {
  const width = H / BUCKETS_PER_WINDOW;
  const bucket = (ts: number) => Math.floor(ts / width);
  for (const seed of [5, 6]) {
    const f = new FeatureComputer(spec(rich));
    // Per card: the events each series took (default lateness: a window refuses buckets behind its reach).
    const amounts: Ev[] = [];
    const merchants: Ev[] = [];
    const all: Ev[] = [];
    const inWindow = (taken: Ev[], e: Ev) => {
      const mine = taken.filter((h) => h.card === e.card);
      const newest = Math.max(-Infinity, ...mine.map((h) => bucket(h.ts)));
      const cur = bucket(e.ts);
      return { rows: mine.filter((h) => bucket(h.ts) > Math.max(cur, newest) - BUCKETS_PER_WINDOW && bucket(h.ts) <= cur), newest };
    };
    let ewmDiffs = 0;
    for (const e of randomStream(seed, 600)) {
      const got = f.compute({ ...e }).values;
      const ctx = `seed ${seed}, event ${e.id}`;
      const a = inWindow(amounts, e);
      const xs = a.rows.map((h) => h.amount!);
      if (xs.length < 2) assert.ok(Number.isNaN(got.std1h), `std NaN, ${ctx}`);
      else {
        const mean = xs.reduce((p, x) => p + x, 0) / xs.length;
        close(got.std1h, Math.sqrt(xs.reduce((p, x) => p + (x - mean) ** 2, 0) / xs.length), `std, ${ctx}`, 1e-7);
      }
      const m = inWindow(merchants, e);
      const exact = new Set(m.rows.map((h) => h.merchant)).size;
      assert.ok(Math.abs(got.merchants1h - exact) <= 2, `distinct ${got.merchants1h} vs ${exact}, ${ctx}`);
      const mine = all.filter((h) => h.card === e.card && h.amount !== null);
      if (mine.length === 0) {
        assert.ok(Number.isNaN(got.last_amount) && Number.isNaN(got.ewm), `none yet, ${ctx}`);
      } else {
        const latest = Math.max(...mine.map((h) => h.ts));
        assert.equal(got.last_amount, mine.filter((h) => h.ts === latest).at(-1)!.amount, `last, ${ctx}`);
        const weights = mine.map((h) => 2 ** (-(latest - h.ts) / H));
        const ewm = mine.reduce((p, h, i) => p + weights[i] * h.amount!, 0) / weights.reduce((p, w) => p + w, 0);
        close(got.ewm, ewm, `ewm, ${ctx}`, 1e-9);
        if (Math.abs(got.ewm - mine.at(-1)!.amount!) > 1) ewmDiffs++;
      }
      if (e.amount !== null) {
        if (bucket(e.ts) > a.newest - BUCKETS_PER_WINDOW) amounts.push(e);
        all.push(e);
      }
      if (e.merchant !== null && bucket(e.ts) > m.newest - BUCKETS_PER_WINDOW) merchants.push(e);
    }
    assert.ok(ewmDiffs > 100, 'the stream exercises the weighting');
  }
});

test('snapshot/restore covers every new aggregate; format version 1 is refused with a clear message', () => {
  const f = new FeatureComputer(spec(rich));
  const stream = randomStream(9, 500);
  for (const e of stream.slice(0, 350)) f.compute({ ...e });
  const g = new FeatureComputer(spec(rich));
  for (const key of f.stateKeys()) g.restoreEntity(key, f.snapshotEntity(key));
  for (const e of stream.slice(350)) assert.deepEqual(g.compute({ ...e }), f.compute({ ...e }));
  for (const key of f.stateKeys()) assert.deepEqual(g.snapshotEntity(key), f.snapshotEntity(key));

  const snap = f.snapshotEntity('card=c0')!;
  assert.equal(snap[3], SNAPSHOT_VERSION);
  const v1 = Uint8Array.from(snap);
  v1[3] = 1;
  assert.throws(() => g.restoreEntity('card=c0', v1), (e: unknown) => e instanceof FeatureInputError
    && /state of card=c0: snapshot format version 1, this build reads version 2 only; the state must be rebuilt from events/.test(e.message));
  // A std added to a plain mean widens the buckets: another layout, refused.
  const plain = new FeatureComputer(spec(rich.filter((a) => a.op !== 'std')));
  assert.throws(() => plain.restoreEntity('card=c0', snap), /snapshot was written for another aggregate layout/);
  // Corrupt values are refused with the series named.
  const ewmOnly = new FeatureComputer(spec([{ name: 'e', op: 'ewm_mean', entity: 'card', field: 'amount', half_life: '1h' }]));
  ewmOnly.compute(ev('1', T0, 'c', 5));
  const bad = Uint8Array.from(ewmOnly.snapshotEntity('card=c')!);
  new DataView(bad.buffer).setFloat64(bad.length - 16, -1, true);
  assert.throws(() => ewmOnly.restoreEntity('card=c', bad), /state of card=c: series 0 \(ewm:3600000:amount\): ewm weight -1 is not positive/);
});

test('allowed lateness: a late event is flagged and counted, gets its vector, and changes no state in any entity', () => {
  const aggs: AggregateInput[] = [...rich, { name: 'since', op: 'time_since_last', entity: 'card' }];
  const f = new FeatureComputer(spec(aggs, { allowedLatenessMs: 10 * M }));
  assert.equal(f.allowedLatenessMs, 10 * M);
  assert.equal(f.compute(ev('1', T0 + H, 'c', 10)).late, false);
  assert.equal(f.compute(ev('2', T0 + H - 10 * M, 'c', 20)).late, false, 'exactly the allowed lateness is still on time');
  const before = [...f.stateKeys()].map((k) => f.snapshotEntity(k));
  const peeked = f.peek(ev('3', T0 + H - 10 * M - 1, 'c', 30));
  assert.equal(peeked.late, true, 'peek says what compute will do');
  assert.equal(f.lateEvents, 0, 'peek counts nothing');
  const late = f.compute(ev('3', T0 + H - 10 * M - 1, 'c', 30));
  assert.deepEqual(late, peeked);
  assert.equal(late.values.n1h, 0, 'its vector is computed from the state as usual');
  assert.equal(f.lateEvents, 1);
  assert.deepEqual([...f.stateKeys()].map((k) => f.snapshotEntity(k)), before, 'no state changed');
  // Late for one entity (the merchant saw a newer event through another card) is late for the event.
  f.compute(ev('4', T0 + 2 * H, 'other', 1, 'm'));
  const byMerchant = f.compute(ev('5', T0 + H + 30 * M, 'c', 1, 'm'));
  assert.equal(byMerchant.late, true);
  assert.equal(f.peek(ev('p', T0 + H + 31 * M, 'c', 1)).values.n1h, 2, 'and the card did not take it either');
  assert.equal(f.lateEvents, 2);
  // With an allowed lateness longer than a window, a window that cannot hold the event is not "late":
  // it would never read that bucket again.
  const wide = new FeatureComputer(spec(aggs, { allowedLatenessMs: 24 * H }));
  wide.compute(ev('1', T0 + 5 * H, 'c', 10));
  const old = wide.compute(ev('2', T0, 'c', 99));
  assert.equal(old.late, false);
  const probe = wide.peek(ev('p', T0 + 5 * H + M, 'c', 0)).values;
  assert.deepEqual([probe.n1h, probe.last_amount], [1, 10], 'not in the 1h window, not the latest value');
  close(probe.ewm, (10 + 99 * 2 ** -5) / (1 + 2 ** -5), 'but in the ewm, with its weight');
  assert.throws(() => new FeatureComputer(spec(aggs, { allowedLatenessMs: -1 })), /allowedLatenessMs: expected a duration in ms \(≥ 0\) or null, got -1/);
});

test('without an allowed lateness, late means a window refused the event (as before), and the rest took it', () => {
  const f = new FeatureComputer(spec(rich));
  assert.equal(f.allowedLatenessMs, null);
  f.compute(ev('1', T0 + 3 * H, 'c', 10));
  const old = f.compute(ev('2', T0, 'c', 99));
  assert.equal(old.late, true);
  assert.equal(f.lateEvents, 1);
  const probe = f.peek(ev('p', T0 + 3 * H + M, 'c', 0)).values;
  assert.equal(probe.n1h, 1);
  close(probe.ewm, (10 + 99 * 2 ** -3) / (1 + 2 ** -3), 'ewm took it');
  // Within the window: on time.
  assert.equal(f.compute(ev('3', T0 + 2.5 * H, 'c', 5)).late, false);
  // A spec without windows never has late events.
  const g = new FeatureComputer(spec([{ name: 'l', op: 'last', entity: 'card', field: 'amount' }]));
  g.compute(ev('1', T0 + 100 * H, 'c', 1));
  assert.equal(g.compute(ev('2', T0, 'c', 2)).late, false);
});
