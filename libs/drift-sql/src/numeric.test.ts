import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { insertRows, queryRows, decodeFloat, type FeatureRow } from '@streamloop/clickhouse';
import { jensenShannonDistance, ksTest, psi, psiEdges, wasserstein1, type PsiBin } from '@streamloop/drift';
import { gaussian, seededRandom } from '@streamloop/ml';
import { numericDrift, type FeatureWindowSource, type NumericDrift, type NumericDriftOptions } from './index';
import { agree, openMigratedClickHouse, type TestClickHouse } from './test-support';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 1);
const REF = { from: T0, to: T0 + HOUR };
const CUR = { from: T0 + HOUR, to: T0 + 2 * HOUR };
const FEATURES = ['amount', 'rounded', 'spiky', 'extreme', 'gone', 'fresh'];

let ch: TestClickHouse;
/** The values each window should yield per feature: each event's latest vector, NaN where the feature is absent. */
const expected: { ref: Record<string, number[]>; cur: Record<string, number[]> } = { ref: {}, cur: {} };

/** One window's events: a vector per event with missing, NaN, tied, ±0 and infinite values. */
function windowVectors(rnd: () => number, n: number, from: number, current: boolean): Array<{ id: string; time: number; values: Record<string, number> }> {
  const normal = gaussian(rnd);
  return Array.from({ length: n }, (_, i) => {
    const values: Record<string, number> = {};
    const u = rnd();
    if (u >= 0.05) values.amount = u < 0.1 ? Number.NaN : 100 + 10 * normal() + (current ? 8 : 0);
    values.rounded = Math.round(normal() * 2 + (current && rnd() < 0.5 ? 1 : 0)) / 2;
    const s = rnd();
    values.spiky = s < 0.35 ? 0 : s < 0.7 ? -0 : -Math.log(rnd()) * 3;
    const e = rnd();
    values.extreme = e < 0.02 ? Infinity : e < 0.03 ? -Infinity : normal();
    if (!current) values.gone = normal();
    if (current) values.fresh = normal();
    return { id: `${current ? 'c' : 'r'}${i}`, time: from + Math.floor((i * HOUR) / n), values };
  });
}

const row = (id: string, time: number, values: Record<string, number>, computedAt: number, version = 'v1'): FeatureRow => ({
  pipeline: 'fraud', event_id: id, entity_key: `k${id.length}`, event_time: time, feature_spec_version: version, values, computed_at: computedAt,
});

before(async () => {
  ch = await openMigratedClickHouse();
  const rnd = seededRandom(20260301);
  const ref = windowVectors(rnd, 3000, REF.from, false);
  const cur = windowVectors(rnd, 2500, CUR.from, true);
  const rows: FeatureRow[] = [];
  for (const v of [...ref, ...cur]) {
    // An older vector of the same event (recomputed later): the latest by computed_at must win.
    if (rnd() < 0.1) rows.push(row(v.id, v.time, { amount: 1e6, rounded: 1e6, spiky: 1e6, extreme: 1e6, gone: 1e6, fresh: 1e6 }, T0 + 10 * HOUR));
    rows.push(row(v.id, v.time, v.values, T0 + 20 * HOUR));
  }
  // Outside both windows (to is exclusive), another pipeline and another spec version: none of these may count.
  rows.push(row('early', REF.from - 1, { amount: -1e9 }, T0), row('late', CUR.to, { amount: 1e9 }, T0));
  rows.push({ ...row('other', CUR.from + 5, { amount: 1e9 }, T0), pipeline: 'other' });
  rows.push(row('old-spec', CUR.from + 7, { amount: 1e9 }, T0, 'v0'));
  // Inserted in shuffled chunks, as a consumer would: order must not matter.
  for (let i = 0; i < rows.length; i += 1000) await insertRows(ch.client, 'features', rows.slice(i, i + 1000).reverse());
  for (const f of FEATURES) {
    expected.ref[f] = ref.map((v) => (f in v.values ? v.values[f] : Number.NaN));
    expected.cur[f] = cur.map((v) => (f in v.values ? v.values[f] : Number.NaN));
  }
});

after(async () => {
  await ch?.close();
});

const window = (w: { from: number; to: number }): FeatureWindowSource => ({
  kind: 'features', pipeline: 'fraud', featureSpecVersion: 'v1', features: FEATURES, ...w,
});

const plainZero = (x: number) => (x === 0 ? 0 : x);
const normaliseBins = (bins: PsiBin[]) => bins.map((b) => ({ ...b, lower: plainZero(b.lower), upper: plainZero(b.upper) }));

/** Every statistic of the SQL result against @streamloop/drift on the same arrays. */
function assertAgrees(result: NumericDrift | undefined, reference: number[], current: number[], opts: NumericDriftOptions, what: string): void {
  assert.ok(result, `${what}: no result row`);
  const counts = (xs: number[]) => ({ count: xs.length, missing: xs.filter(Number.isNaN).length, finite: xs.filter(Number.isFinite).length });
  assert.deepEqual(result.reference, counts(reference), `${what}: reference counts`);
  assert.deepEqual(result.current, counts(current), `${what}: current counts`);
  const edges = psiEdges(reference, opts.bins ?? 10);
  assert.deepEqual(result.edges.map(plainZero), edges.map(plainZero), `${what}: PSI edges`);
  const p = psi(reference, current, opts);
  agree(result.psi?.value, p.value, `${what}: psi`);
  // Same bins with the same counts, so the shares are bit-identical.
  assert.deepEqual(normaliseBins(result.psi!.bins), normaliseBins(p.bins), `${what}: psi bins`);
  agree(result.jensenShannon, jensenShannonDistance(reference, current, opts), `${what}: jensen-shannon`);
  const refFinite = reference.filter(Number.isFinite), curFinite = current.filter(Number.isFinite);
  if (refFinite.length === 0 || curFinite.length === 0) {
    assert.equal(result.ks, undefined, `${what}: no KS without finite values`);
    assert.equal(result.wasserstein, undefined, `${what}: no Wasserstein without finite values`);
    return;
  }
  const ks = ksTest(refFinite, curFinite, { method: opts.ksMethod });
  assert.equal(result.ks?.method, ks.method, `${what}: ks method`);
  agree(result.ks?.statistic, ks.statistic, `${what}: ks statistic`);
  agree(result.ks?.pValue, ks.pValue, `${what}: ks p-value`);
  agree(result.wasserstein, wasserstein1(refFinite, curFinite), `${what}: wasserstein`);
  const mean = refFinite.reduce((a, b) => a + b, 0) / refFinite.length;
  agree(result.referenceStd, Math.sqrt(refFinite.reduce((a, v) => a + (v - mean) ** 2, 0) / refFinite.length), `${what}: reference std`, 1e-9);
}

test('features window against features window: SQL agrees with the TypeScript path for every feature', async () => {
  const results = await numericDrift(ch.client, window(REF), window(CUR));
  assert.deepEqual([...results.keys()].sort(), [...FEATURES].sort());
  for (const f of FEATURES) assertAgrees(results.get(f), expected.ref[f], expected.cur[f], {}, f);
  // The fixture really exercises what it claims to.
  const amount = results.get('amount')!;
  assert.ok(amount.reference.missing > 100 && amount.psi!.bins.at(-1)!.missing, 'amount has missing values and a missing bin');
  assert.ok(amount.psi!.value > 0.2 && amount.ks!.pValue < 1e-10, 'amount drifted');
  assert.ok(results.get('extreme')!.reference.count > results.get('extreme')!.reference.finite, 'extreme holds infinities');
  assert.equal(results.get('gone')!.current.missing, 2500, 'gone is missing from every current vector');
  assert.deepEqual(results.get('fresh')!.edges, [], 'fresh has no reference value, so no edges');
});

test('a reference sample held in Node against a features window (the monitoring path)', async () => {
  const values = Object.fromEntries(FEATURES.map((f) => [f, expected.ref[f]]));
  const results = await numericDrift(ch.client, { kind: 'values', values }, window(CUR));
  for (const f of FEATURES) assertAgrees(results.get(f), expected.ref[f], expected.cur[f], {}, `${f} (values reference)`);
});

test('options reach both paths alike: bins, epsilon, KS method', async () => {
  for (const opts of [{ bins: 4, epsilon: 1e-3 }, { bins: 1 }, { bins: 25, ksMethod: 'asymp' as const }]) {
    const results = await numericDrift(ch.client, window(REF), window(CUR), opts);
    for (const f of FEATURES) assertAgrees(results.get(f), expected.ref[f], expected.cur[f], opts, `${f} ${JSON.stringify(opts)}`);
  }
});

test('without the spec version filter the old-spec vector counts; an empty window yields no rows', async () => {
  const { featureSpecVersion: _v, ...anyVersion } = window(CUR);
  const results = await numericDrift(ch.client, window(REF), anyVersion);
  assert.equal(results.get('amount')!.current.count, expected.cur.amount.length + 1);
  const empty = await numericDrift(ch.client, window({ from: T0 - 5 * HOUR, to: T0 - 4 * HOUR }), window({ from: T0 - 3 * HOUR, to: T0 - 2 * HOUR }));
  assert.equal(empty.size, 0);
  const noReference = await numericDrift(ch.client, window({ from: T0 - 5 * HOUR, to: T0 - 4 * HOUR }), window(CUR));
  const amount = noReference.get('amount')!;
  assert.equal(amount.reference.count, 0);
  assert.equal(amount.psi, undefined);
  assert.equal(amount.ks, undefined);
});

interface ScipyCase {
  name: string; bins: number; reference?: number[]; current?: number[];
  ks_statistic: number; ks_pvalue: number; wasserstein: number; jensenshannon: number;
}

test('matches scipy directly (ks_2samp, wasserstein_distance, jensenshannon) on the drift fixtures', async () => {
  const fx = JSON.parse(readFileSync(new URL('../../drift/src/fixtures/stats_scipy.json', import.meta.url), 'utf8')) as { numeric: ScipyCase[] };
  const cases = fx.numeric.filter((c) => c.reference && c.current);
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    const results = await numericDrift(ch.client, { kind: 'values', values: { x: c.reference! } }, { kind: 'values', values: { x: c.current! } }, { bins: c.bins });
    const r = results.get('x')!;
    agree(r.ks?.statistic, c.ks_statistic, `${c.name}: D`, 1e-9);
    agree(r.ks?.pValue, c.ks_pvalue, `${c.name}: p-value`, 1e-9);
    agree(r.wasserstein, c.wasserstein, `${c.name}: wasserstein`, 1e-9);
    agree(r.jensenShannon, c.jensenshannon, `${c.name}: jensenshannon`, 1e-9);
  }
});

test('a larger window generated inside ClickHouse (asymptotic KS): the summaries still agree', async () => {
  const n = 60_000;
  const start = T0 + 100 * HOUR;
  const half = start + (n / 2) * 10;
  await ch.client.command({
    query: `INSERT INTO features (pipeline, event_id, entity_key, event_time, feature_spec_version, values, computed_at)
      SELECT 'bulk', toString(number), 'k', fromUnixTimestamp64Milli(toInt64(${start} + number * 10), 'UTC'), 'v1',
        map('x', if(number % 37 = 5, nan, (cityHash64(number) % 1000003) / 1000003. * 10 + if(number >= ${n / 2}, 0.05, 0)),
            'y', toFloat64(cityHash64(number, 1) % 20)),
        fromUnixTimestamp64Milli(toInt64(${start}), 'UTC')
      FROM numbers(${n})`,
  });
  const source = (from: number, to: number): FeatureWindowSource => ({ kind: 'features', pipeline: 'bulk', from, to, features: ['x', 'y'] });
  const results = await numericDrift(ch.client, source(start, half), source(half, start + n * 10));
  // The TypeScript side reads the raw values back (what the SQL path avoids doing).
  const read = async (from: number, to: number, f: string) =>
    (await queryRows<{ v: unknown }>(
      ch.client,
      `SELECT \`values\`[{f:String}] AS v FROM features WHERE pipeline = 'bulk'
         AND event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
      { f, from, to },
      { settings: { output_format_json_quote_denormals: 1 } },
    )).map((r) => decodeFloat(r.v));
  for (const f of ['x', 'y']) {
    const ref = await read(start, half, f);
    const cur = await read(half, start + n * 10, f);
    assert.equal(ref.length, n / 2);
    assertAgrees(results.get(f), ref, cur, {}, `bulk ${f}`);
    assert.equal(results.get(f)!.ks!.method, 'asymp');
  }
});

test('bad options and windows are rejected with the field named', async () => {
  await assert.rejects(numericDrift(ch.client, window(REF), window(CUR), { bins: 0 }), /bins must be an integer ≥ 1, got 0/);
  await assert.rejects(numericDrift(ch.client, window(REF), window(CUR), { epsilon: 1 }), /epsilon must be in \(0, 1\)/);
  await assert.rejects(numericDrift(ch.client, window({ from: 5, to: 1 }), window(CUR)), /features source: from \(5\) is after to \(1\)/);
  await assert.rejects(numericDrift(ch.client, window({ from: 1.5, to: 3 }), window(CUR)), /features source from: expected epoch milliseconds/);
  await assert.rejects(numericDrift(ch.client, { ...window(REF), features: [] }, window(CUR)), /no feature names/);
});
