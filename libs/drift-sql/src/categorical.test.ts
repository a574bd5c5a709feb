import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { insertRows, type FeatureRow } from '@streamloop/clickhouse';
import { categoricalPsi, chiSquareTest, jensenShannonFromCounts } from '@streamloop/drift';
import { seededRandom } from '@streamloop/ml';
import { categoricalCounts, categoricalDrift, type CategoricalDrift, type FeatureWindowSource } from './index';
import { agree, openMigratedClickHouse, type TestClickHouse } from './test-support';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 10);
let ch: TestClickHouse;
const expected: Record<'ref' | 'cur', Record<string, number[]>> = { ref: {}, cur: {} };
const FEATURES = ['hour', 'channel', 'flag'];

before(async () => {
  ch = await openMigratedClickHouse();
  const rnd = seededRandom(77);
  const rows: FeatureRow[] = [];
  for (const side of ['ref', 'cur'] as const) {
    const n = side === 'ref' ? 1500 : 1200;
    const from = side === 'ref' ? T0 : T0 + HOUR;
    const vectors = Array.from({ length: n }, (_, i) => {
      const values: Record<string, number> = { hour: Math.floor(rnd() * 24) };
      // channel: code 3 is new in the current window, code 2 disappears from it; 4% missing (absent or NaN).
      const u = rnd();
      if (u > 0.02) values.channel = u < 0.04 ? Number.NaN : side === 'ref' ? Math.floor(rnd() * 3) : [0, 1, 3][Math.floor(rnd() * 3)];
      values.flag = rnd() < (side === 'ref' ? 0.1 : 0.3) ? 1 : rnd() < 0.5 ? 0 : -0;
      return { id: `${side}${i}`, time: from + Math.floor((i * HOUR) / n), values };
    });
    for (const v of vectors) {
      rows.push({ pipeline: 'fraud', event_id: v.id, entity_key: 'k', event_time: v.time, feature_spec_version: 'v1', values: v.values, computed_at: T0 });
    }
    for (const f of FEATURES) expected[side][f] = vectors.map((v) => (f in v.values ? v.values[f] : Number.NaN));
  }
  await insertRows(ch.client, 'features', rows);
});

after(async () => {
  await ch?.close();
});

const window = (from: number, features = FEATURES): FeatureWindowSource => ({ kind: 'features', pipeline: 'fraud', from, to: from + HOUR, features });

function assertAgrees(result: CategoricalDrift | undefined, reference: number[], current: number[], epsilon: number | undefined, what: string): void {
  assert.ok(result, `${what}: no result row`);
  const refCounts = categoricalCounts(reference), curCounts = categoricalCounts(current);
  const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));
  assert.deepEqual(sorted(result.referenceCounts), sorted(refCounts), `${what}: reference counts`);
  assert.deepEqual(sorted(result.currentCounts), sorted(curCounts), `${what}: current counts`);
  const chi = chiSquareTest(refCounts, curCounts);
  assert.equal(result.chiSquare?.dof, chi.dof, `${what}: dof`);
  assert.deepEqual([...result.chiSquare!.categories].sort(), [...chi.categories].sort(), `${what}: categories`);
  agree(result.chiSquare?.statistic, chi.statistic, `${what}: chi-square statistic`);
  agree(result.chiSquare?.pValue, chi.pValue, `${what}: chi-square p-value`);
  const p = categoricalPsi(refCounts, curCounts, { epsilon });
  agree(result.psi?.value, p.value, `${what}: categorical psi`);
  const names = [...new Set([...refCounts.keys(), ...curCounts.keys()])];
  agree(result.jensenShannon, jensenShannonFromCounts(names.map((n) => refCounts.get(n) ?? 0), names.map((n) => curCounts.get(n) ?? 0)), `${what}: categorical jensen-shannon`);
}

test('category counts, chi-square and categorical PSI agree with the TypeScript path (missing values as a category)', async () => {
  const results = await categoricalDrift(ch.client, window(T0), window(T0 + HOUR));
  assert.deepEqual([...results.keys()].sort(), [...FEATURES].sort());
  for (const f of FEATURES) assertAgrees(results.get(f), expected.ref[f], expected.cur[f], undefined, f);
  const channel = results.get('channel')!;
  assert.ok(channel.referenceCounts.get('NaN')! > 0 && channel.currentCounts.has('3') && !channel.currentCounts.has('2'), 'channel: missing, new and gone categories');
  assert.ok(channel.chiSquare!.pValue < 1e-10 && channel.psi!.value > 1, 'channel drifted');
  assert.deepEqual([...results.get('flag')!.referenceCounts.keys()], ['0', '1'], '-0 and 0 are one category, in value order');
});

test('a Node-side reference, epsilon, and a single category (dof 0)', async () => {
  const values = { hour: expected.ref.hour, one: [7, 7, 7], zero: [0, -0, 1, Number.NaN] };
  const current = { hour: expected.cur.hour, one: [7], zero: [-0, 1, 1] };
  const results = await categoricalDrift(ch.client, { kind: 'values', values }, { kind: 'values', values: current }, { epsilon: 1e-3 });
  assertAgrees(results.get('hour'), expected.ref.hour, expected.cur.hour, 1e-3, 'hour');
  assert.deepEqual(results.get('one')!.chiSquare, { statistic: 0, pValue: 1, dof: 0, categories: ['7'] });
  assert.equal(results.get('one')!.psi!.value, 0);
  // Parameters carry -0 bit for bit; it still joins 0.
  assertAgrees(results.get('zero'), values.zero, current.zero, 1e-3, 'zero');
  assert.deepEqual([...results.get('zero')!.referenceCounts], [['0', 2], ['1', 1], ['NaN', 1]]);
});

test('matches scipy.stats.chi2_contingency on the drift fixtures', async () => {
  const fx = JSON.parse(readFileSync(new URL('../../drift/src/fixtures/stats_scipy.json', import.meta.url), 'utf8')) as {
    categorical: Array<{ name: string; reference: Record<string, number>; current: Record<string, number>; statistic: number; pvalue: number; dof: number }>;
  };
  for (const c of fx.categorical) {
    // Categories become numeric codes: the SQL path reads Float64 values.
    const codes = new Map([...Object.keys(c.reference), ...Object.keys(c.current)].map((k, i) => [k, i]));
    const expand = (counts: Record<string, number>) => Object.entries(counts).flatMap(([k, n]) => Array<number>(n).fill(codes.get(k)!));
    const results = await categoricalDrift(ch.client, { kind: 'values', values: { x: expand(c.reference) } }, { kind: 'values', values: { x: expand(c.current) } });
    const r = results.get('x')!;
    assert.equal(r.chiSquare?.dof, c.dof, `${c.name}: dof`);
    agree(r.chiSquare?.statistic, c.statistic, `${c.name}: statistic`, 1e-9);
    agree(r.chiSquare?.pValue, c.pvalue, `${c.name}: p-value`, 1e-9);
  }
});

test('a high-cardinality key is refused instead of shipping every value to Node', async () => {
  const many = Array.from({ length: 50 }, (_, i) => i / 7);
  await assert.rejects(
    categoricalDrift(ch.client, { kind: 'values', values: { amount: many } }, { kind: 'values', values: { amount: many } }, { maxCategories: 20 }),
    /key "amount" has more than 20 distinct values/,
  );
  await assert.rejects(categoricalDrift(ch.client, window(T0), window(T0 + HOUR), { maxCategories: 0 }), /maxCategories must be an integer ≥ 1/);
});
