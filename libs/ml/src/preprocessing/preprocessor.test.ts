import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hashString } from '@streamloop/features';
import { compareCodePoints, murmurhash3_32, Preprocessor, type ColumnSpec, type ImputeStrategy, type RawRow } from './index';

/** Written by scripts/python/ml_reference/preprocessing_fixtures.py (scikit-learn; null = NaN / missing). */
interface Fixture {
  generator: string;
  numeric: {
    columns: string[];
    train: Array<Array<number | null>>;
    test: Array<Array<number | null>>;
    cases: Array<{
      strategy: ImputeStrategy;
      fill_value: number | null;
      statistics: number[];
      scaler_mean: number[];
      scaler_scale: number[];
      imputed_test: number[][];
      standardized_test: number[][];
    }>;
  };
  onehot: {
    train: Record<string, string[]>;
    cases: Array<{
      column: string;
      max_categories: number | null;
      min_frequency: number | null;
      categories: string[];
      infrequent: string[] | null;
      test: Array<string | null>;
      transformed_test: number[][];
    }>;
  };
  hashing: {
    cases: Array<{ column: string; buckets: number; alternate_sign: boolean; values: Array<string | null>; transformed: number[][] }>;
    murmurhash3_32: Array<{ text: string; seed: number; signed: number; positive: number }>;
  };
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/preprocessing_sklearn.json', import.meta.url), 'utf8')) as Fixture;

const toRows = (names: string[], matrix: Array<Array<number | null>>): RawRow[] =>
  matrix.map((r) => Object.fromEntries(names.map((name, j) => [name, r[j]])));

function assertClose(actual: number, expected: number, what: string, rel = 1e-12): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs sklearn ${expected}`);
}

test('murmurhash3_32 equals sklearn.utils.murmurhash3_32 (signed and positive) and the features service hash', () => {
  assert.ok(fx.hashing.murmurhash3_32.length >= 20);
  for (const { text, seed, signed, positive } of fx.hashing.murmurhash3_32) {
    assert.equal(murmurhash3_32(text, seed), signed, `murmurhash3_32(${JSON.stringify(text)}, ${seed})`);
    assert.equal(murmurhash3_32(text, seed) >>> 0, positive, `positive murmurhash3_32(${JSON.stringify(text)}, ${seed})`);
    assert.equal(hashString(text, seed), positive, `@streamloop/features hashString(${JSON.stringify(text)}, ${seed})`);
  }
});

test('numeric columns match SimpleImputer(mean | median | most_frequent | constant) → StandardScaler fitted on the training rows', () => {
  const { columns, train, test: held, cases } = fx.numeric;
  const trainRows = toRows(columns, train);
  const heldRows = toRows(columns, held);
  assert.ok(held.some((r) => r.every((v) => v === null)), 'a held-out row is all missing');
  for (const c of cases) {
    const fill = c.fill_value === null ? {} : { fillValue: c.fill_value };
    for (const standardize of [true, false]) {
      const spec: ColumnSpec[] = columns.map((name) => ({ name, type: 'numeric', impute: c.strategy, standardize, ...fill }));
      const pre = Preprocessor.fit(trainRows, spec);
      pre.numeric.forEach((col, j) => {
        assertClose(col.imputedValue, c.statistics[j], `${c.strategy} imputed value of '${col.name}'`);
        if (standardize) {
          assertClose(col.mean!, c.scaler_mean[j], `${c.strategy} scaler mean of '${col.name}'`);
          assertClose(col.std!, c.scaler_scale[j], `${c.strategy} scaler scale of '${col.name}'`);
        } else {
          assert.equal(col.mean, null);
          assert.equal(col.std, null);
        }
      });
      const expected = standardize ? c.standardized_test : c.imputed_test;
      pre.transform(heldRows).forEach((row, i) => row.forEach((v, j) => assertClose(v, expected[i][j], `${c.strategy} standardize=${standardize} row ${i} column ${j}`, 1e-10)));
    }
  }
  // The crafted tie column: -1.5, 2 and 7 are equally frequent; sklearn (and we) take the smallest.
  assert.equal(cases.find((c) => c.strategy === 'most_frequent')!.statistics[2], -1.5);
});

test('one-hot columns match OneHotEncoder(handle_unknown=infrequent_if_exist, min_frequency, max_categories); the unknown bucket is its infrequent column', () => {
  let withoutInfrequent = 0;
  for (const c of fx.onehot.cases) {
    const label = `${c.column} max_categories=${c.max_categories} min_frequency=${c.min_frequency}`;
    const rows = fx.onehot.train[c.column].map((v) => ({ [c.column]: v }));
    const pre = Preprocessor.fit(rows, [{ name: c.column, type: 'onehot', maxCategories: c.max_categories ?? undefined, minFrequency: c.min_frequency ?? undefined }]);
    const infrequent = c.infrequent ?? [];
    const kept = c.categories.filter((cat) => !infrequent.includes(cat));
    assert.deepEqual(pre.onehot[0].categories, kept, `${label}: kept categories in sklearn's order`);
    assert.deepEqual(pre.onehot[0].infrequent, infrequent, `${label}: infrequent categories`);
    assert.equal(pre.width, kept.length + 1);
    const out = pre.transform(c.test.map((v) => ({ [c.column]: v })));
    out.forEach((row, i) => {
      const ref = c.transformed_test[i];
      for (let k = 0; k < kept.length; k++) assert.equal(row[k], ref[k], `${label}: row ${i} (${JSON.stringify(c.test[i])}) column ${k}`);
      // sklearn has an infrequent column only when some category is infrequent; without it an unknown value is all zeros.
      const unknown = c.infrequent ? ref[kept.length] : 1 - ref.reduce((s, v) => s + v, 0);
      assert.equal(row[kept.length], unknown, `${label}: row ${i} (${JSON.stringify(c.test[i])}) unknown bucket`);
      if (c.test[i] === null) assert.equal(row[kept.length], 1, 'missing → unknown bucket');
    });
    if (!c.infrequent) withoutInfrequent++;
  }
  assert.ok(withoutInfrequent >= 2 && withoutInfrequent < fx.onehot.cases.length, 'cases with and without infrequent categories');
});

test('hashed columns match FeatureHasher(input_type=dict, alternate_sign) on {column: value}', () => {
  for (const c of fx.hashing.cases) {
    const rows = c.values.map((v) => (v === null ? {} : { [c.column]: v }));
    const pre = Preprocessor.fit(rows, [{ name: c.column, type: 'hashed', buckets: c.buckets, alternateSign: c.alternate_sign }]);
    assert.equal(pre.width, c.buckets);
    assert.deepEqual(pre.transform(rows).map((r) => Array.from(r)), c.transformed, `${c.column} k=${c.buckets} alternate_sign=${c.alternate_sign}`);
    assert.deepEqual(rows.map((r) => Array.from(pre.hashRow(r))), c.transformed);
  }
  // Signs differ somewhere, or alternate_sign would not be tested.
  assert.ok(fx.hashing.cases.some((c) => c.alternate_sign && c.transformed.some((r) => r.some((v) => v < 0))));
});

test('code-point order is Python order (astral characters after U+FFxx), not UTF-16 order', () => {
  assert.ok(compareCodePoints('\uff5e', '😀') < 0);
  assert.ok('\uff5e'.localeCompare('😀') !== 0 && '😀' < '\uff5e', 'JS < compares UTF-16 units');
  assert.ok(compareCodePoints('a', 'ab') < 0 && compareCodePoints('b', 'ab') > 0 && compareCodePoints('x', 'x') === 0);
  const sorted = [...fx.onehot.cases[0].categories].sort(compareCodePoints);
  assert.deepEqual(sorted, fx.onehot.cases[0].categories);
});

const SPEC: ColumnSpec[] = [
  { name: 'country', type: 'onehot', minFrequency: 2 },
  { name: 'amount', type: 'numeric', impute: 'median', standardize: true },
  { name: 'merchant', type: 'hashed', buckets: 4 },
  { name: 'age', type: 'numeric', impute: 'constant', fillValue: -1 },
];
const TRAIN: RawRow[] = [
  { country: 'FR', amount: 10, merchant: 'a', age: 3 },
  { country: 'FR', amount: 30, merchant: 'b', age: null },
  { country: 'DE', amount: null, merchant: null, age: 5 },
  { country: 'DE', amount: 20, merchant: 'c', age: 7 },
  { country: 'IT', amount: 50, age: 1 },
  { country: null, amount: 40, merchant: 'a', age: Number.NaN },
];

test('output layout: numeric columns first, then one-hot blocks (kept categories, unknown), then hashed blocks', () => {
  const pre = Preprocessor.fit(TRAIN, SPEC);
  assert.deepEqual(pre.outputNames, ['amount', 'age', 'country=DE', 'country=FR', 'country=<unknown>', 'merchant#0', 'merchant#1', 'merchant#2', 'merchant#3']);
  assert.deepEqual(pre.numericColumns, ['amount', 'age']);
  assert.deepEqual(pre.categoricalColumns, ['country']);
  assert.deepEqual(pre.hashedColumns, ['merchant']);
  assert.equal(pre.hashedWidth, 4);
  // median of 10, 20, 30, 40, 50 = 30; the scaler sees the imputed column 10, 30, 30, 20, 50, 40.
  const amount = pre.numeric[0];
  assert.equal(amount.imputedValue, 30);
  assert.equal(amount.mean, 30);
  assert.ok(Math.abs(amount.std! - Math.sqrt((400 + 0 + 0 + 100 + 400 + 100) / 6)) < 1e-12);
  assert.equal(pre.numeric[1].imputedValue, -1);
  assert.deepEqual(pre.onehot[0].infrequent, ['IT']);
  const [row] = pre.transform([{ country: 'IT', amount: Number.NaN, merchant: 'a', age: null }]);
  assert.deepEqual(Array.from(row.subarray(0, 5)), [0, -1, 0, 0, 1]);
  assert.deepEqual(row.subarray(5), pre.hashRow({ merchant: 'a' }));
  assert.equal(row.subarray(5).reduce((s, v) => s + Math.abs(v), 0), 1, 'one token, one ±1');
  // '' and an absent key are missing, like null.
  for (const country of ['', null, undefined, 'ES']) assert.deepEqual(Array.from(pre.transform([{ country }])[0].subarray(2, 5)), [0, 0, 1]);
});

test('statistics come from the training rows only: transforming held-out rows changes nothing, refitting on more rows does', () => {
  const pre = Preprocessor.fit(TRAIN, SPEC);
  const before = JSON.stringify(pre);
  const held: RawRow[] = [{ country: 'ES', amount: 1e6, merchant: 'zzz', age: 99 }, {}];
  const first = pre.transform(held);
  assert.equal(JSON.stringify(pre), before);
  assert.deepEqual(pre.transform(held), first);
  const leaky = Preprocessor.fit([...TRAIN, ...held], SPEC);
  assert.notEqual(JSON.stringify(leaky), before, 'held-out rows would have moved the statistics');
});

test('toJSON / fromJSON round-trips the fitted state; float32 mode reproduces float32 arithmetic', () => {
  const pre = Preprocessor.fit(TRAIN, SPEC);
  const back = Preprocessor.fromJSON(JSON.parse(JSON.stringify(pre)));
  assert.deepEqual(back.toJSON(), pre.toJSON());
  const held: RawRow[] = [...TRAIN, { country: 'XX', amount: 12.345678901, merchant: 'new', age: 2.5 }, {}];
  assert.deepEqual(back.transform(held), pre.transform(held));
  assert.deepEqual(back.transform(held, { float32: true }), pre.transform(held, { float32: true }));
  const { mean, std } = pre.numeric[0];
  const x = pre.transform(held, { float32: true });
  const f = Math.fround;
  assert.equal(x[6][0], f(f(f(12.345678901) - f(mean!)) * f(1 / std!)));
  assert.equal(x[7][0], f(f(f(30) - f(mean!)) * f(1 / std!)), 'missing → float32 imputed value, then scaled');
  assert.equal(x[6][1], f(2.5), 'unscaled columns are just rounded');
  const y = pre.transform(held);
  for (let i = 0; i < held.length; i++) for (let j = 0; j < pre.width; j++) assert.ok(Math.abs(x[i][j] - y[i][j]) <= 1e-6 * Math.max(1, Math.abs(y[i][j])));
});

test('a constant column gets std 1, a column never observed imputes 0; maxCategories 1 sends everything to the unknown bucket', () => {
  const rows: RawRow[] = [{ k: 5, e: null, c: 'a' }, { k: 5, e: null, c: 'b' }, { k: 5, c: 'b' }];
  const pre = Preprocessor.fit(rows, [
    { name: 'k', type: 'numeric', standardize: true },
    { name: 'e', type: 'numeric', impute: 'median', standardize: true },
    { name: 'c', type: 'onehot', maxCategories: 1 },
  ]);
  assert.deepEqual(pre.numeric.map((c) => [c.imputedValue, c.mean, c.std]), [[5, 5, 1], [0, 0, 1]]);
  assert.deepEqual(pre.onehot[0].categories, []);
  assert.deepEqual(pre.onehot[0].infrequent, ['a', 'b']);
  assert.deepEqual(pre.transform([{ k: 7, e: 2, c: 'b' }]).map((r) => Array.from(r)), [[2, 2, 1]]);
});

test('errors name the column, the row and what was expected', () => {
  assert.throws(() => Preprocessor.fit([], SPEC), /needs at least one training row/);
  assert.throws(() => Preprocessor.fit(TRAIN, []), /needs at least one column spec/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'amuont', type: 'numeric' }]), /column 'amuont' is in none of the 6 training rows/);
  assert.throws(() => Preprocessor.fit(TRAIN, [SPEC[1], SPEC[1]]), /column 'amount' is declared twice/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'amount', type: 'ordinal' } as unknown as ColumnSpec]), /column 'amount' type is "ordinal"; expected 'numeric', 'onehot' or 'hashed'/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'country', type: 'numeric' }]), /column 'country' of row 0 is "FR"; expected a number/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'amount', type: 'onehot' }]), /column 'amount' of row 0 is 10; expected a string/);
  assert.throws(() => Preprocessor.fit([{ a: 1 }, { a: Infinity }], [{ name: 'a', type: 'numeric' }]), /column 'a' of row 1 is Infinity; expected a finite number or NaN/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'age', type: 'numeric', impute: 'mean', fillValue: 0 }]), /fillValue goes with impute 'constant'/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'age', type: 'numeric', impute: 'mode' as ImputeStrategy }]), /impute is "mode"; expected one of mean, median, most_frequent, constant/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'country', type: 'onehot', minFrequency: 1.5 }]), /minFrequency is 1.5; expected an integer ≥ 1 .* or a number in \(0, 1\)/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'country', type: 'onehot', maxCategories: 0 }]), /maxCategories is 0; expected an integer ≥ 1/);
  assert.throws(() => Preprocessor.fit(TRAIN, [{ name: 'merchant', type: 'hashed', buckets: 0 }]), /buckets is 0; expected an integer in 1\.\./);
  const pre = Preprocessor.fit(TRAIN, SPEC);
  assert.throws(() => pre.transform([{}, { amount: '12' as unknown as number }]), /Preprocessor.transform: column 'amount' of row 1 is "12"/);
  assert.throws(() => pre.transform([null as unknown as RawRow]), /row 0 is not an object/);
  assert.throws(() => Preprocessor.fromJSON({ kind: 'standardizer' }), /expected kind 'preprocessor'/);
  const json = pre.toJSON();
  assert.throws(() => Preprocessor.fromJSON({ ...json, version: 2 }), /unsupported version 2/);
  assert.throws(() => Preprocessor.fromJSON({ ...json, columns: [{ ...json.columns[1], std: 0 }] }), /column 'amount' std is 0; expected a finite positive number or null/);
  assert.throws(() => Preprocessor.fromJSON({ ...json, columns: [{ ...json.columns[0], categories: ['FR', 'FR'] }] }), /column 'country' categories .* expected distinct strings/);
});
