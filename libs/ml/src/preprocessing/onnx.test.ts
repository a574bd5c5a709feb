import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { gaussian, GradientBoostedTrees, LogisticRegression, seededRandom } from '../index';
import { exportPreprocessedOnnx, Preprocessor, preprocessorOnnxFeed, type ColumnSpec, type RawRow } from './index';

const { onnx } = onnxProto;

const COUNTRIES = ['FR', 'DE', 'US', 'GB', 'ES', 'IT', 'NL', 'Zürich', '日本', '😀'];
const CHANNELS = ['web', 'app', 'pos'];

/**
 * Transactions-like rows: numeric columns on different scales with ~10% missing, a skewed country (rare values fold
 * into the unknown bucket), a channel, a high-cardinality merchant (hashed), a label depending on all of them.
 * `unseen` mixes in values never seen in training and missing categories ('' and null).
 */
function dataset(n: number, seed: number, unseen = false): { rows: RawRow[]; y: number[]; target: number[] } {
  const rnd = seededRandom(seed);
  const g = gaussian(rnd);
  const rows: RawRow[] = [], y: number[] = [], target: number[] = [];
  for (let i = 0; i < n; i++) {
    const amount = Math.exp(3 + g());
    const age = 365 * rnd();
    const ratio = 0.01 * g();
    const count = Math.floor(rnd() * 20);
    const country = COUNTRIES[Math.min(COUNTRIES.length - 1, Math.floor(-Math.log(1 - rnd()) * 1.2))];
    const channel = CHANNELS[Math.floor(rnd() * CHANNELS.length)];
    const merchant = `m${Math.floor(rnd() * 300)}`;
    const z = -1 + 0.02 * (amount - 30) - 0.004 * age + 80 * ratio + 0.1 * count + (country === 'US' ? 1 : country === 'DE' ? -0.7 : 0) + (channel === 'pos' ? 0.8 : 0) + (merchant.endsWith('7') ? 1 : 0);
    y.push(rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
    target.push(Math.tanh(z) + 0.1 * g());
    const miss = () => rnd() < 0.1;
    const row: Record<string, number | string | null | undefined> = {
      amount: miss() ? Number.NaN : amount,
      age_days: miss() ? null : age,
      ratio: miss() ? undefined : ratio,
      count_1h: miss() ? Number.NaN : count,
      country: miss() ? null : country,
      channel: miss() ? '' : channel,
      merchant: miss() ? null : merchant,
    };
    if (unseen && rnd() < 0.15) row.country = rnd() < 0.5 ? 'XX' : '🙂';
    if (unseen && rnd() < 0.1) row.channel = 'phone';
    if (unseen && rnd() < 0.2) row.merchant = `new${i}`;
    rows.push(row);
  }
  return { rows, y, target };
}

const SPEC: ColumnSpec[] = [
  { name: 'amount', type: 'numeric', impute: 'median', standardize: true },
  { name: 'country', type: 'onehot', minFrequency: 20 },
  { name: 'age_days', type: 'numeric', impute: 'mean', standardize: true },
  { name: 'ratio', type: 'numeric', impute: 'constant', fillValue: 0, standardize: true },
  { name: 'channel', type: 'onehot' },
  { name: 'count_1h', type: 'numeric', impute: 'most_frequent' },
  { name: 'merchant', type: 'hashed', buckets: 16 },
];

/** Held-out rows plus the edge cases: everything missing, everything unseen. */
function heldOut(seed: number): RawRow[] {
  const { rows } = dataset(600, seed, true);
  return [
    ...rows,
    {},
    { amount: null, age_days: Number.NaN, ratio: null, count_1h: null, country: '', channel: null, merchant: '' },
    { amount: 1e4, age_days: -3, ratio: 0.5, count_1h: 1000, country: 'never', channel: 'seen', merchant: 'before' },
  ];
}

async function runGraph(bytes: Uint8Array, pre: Preprocessor, rows: RawRow[]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const feed = preprocessorOnnxFeed(pre, rows);
    assert.deepEqual([...session.inputNames].sort(), Object.keys(feed).sort());
    return await session.run(Object.fromEntries(Object.entries(feed).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)])));
  } finally {
    await session.release();
  }
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>, stride = 1, at = 0): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i * stride + at] - expected[i]);
    max = Math.max(max, Number.isNaN(d) ? Infinity : d);
  }
  return max;
}

function checkHeldOut(pre: Preprocessor, rows: RawRow[]): void {
  const unknown = (name: string) => pre.outputNames.indexOf(`${name}=<unknown>`);
  const X = pre.transform(rows);
  assert.ok(X.some((r) => r[unknown('country')] === 1) && X.some((r) => r[unknown('channel')] === 1), 'held-out rows hit the unknown buckets');
  assert.ok(rows.some((r) => r.country === 'XX') && rows.some((r) => r.channel === 'phone') && rows.some((r) => Number.isNaN(r.amount)), 'held-out rows have unseen categories and NaN');
  assert.ok(pre.onehot[0].infrequent.length > 0, 'some training countries are infrequent');
}

test('Preprocessor + logistic regression as one ONNX graph scores like TypeScript (|Δp| ≤ 1e-5) with NaN and unseen categories', async () => {
  const train = dataset(3000, 11);
  const pre = Preprocessor.fit(train.rows, SPEC);
  const model = LogisticRegression.fit(pre.transform(train.rows), train.y);
  const bytes = exportPreprocessedOnnx(pre, model, { modelName: 'prep_lr', modelVersion: 4 });
  const rows = heldOut(12);
  checkHeldOut(pre, rows);
  const out = await runGraph(bytes, pre, rows);
  assert.deepEqual(out.probabilities.dims, [rows.length, 2]);
  const probabilities = out.probabilities.data as Float32Array;
  // The reference is the TypeScript model on the graph's float32 preprocessing; the float64 path agrees as closely.
  const expected = model.predictProba(pre.transform(rows, { float32: true }));
  const diff = maxAbsDiff(probabilities, expected, 2, 1);
  assert.ok(diff <= 1e-5, `max |Δp| ${diff}`);
  assert.ok(maxAbsDiff(probabilities, model.predictProba(pre.transform(rows)), 2, 1) <= 1e-5);
  const labels = out.label.data as BigInt64Array;
  expected.forEach((p, i) => {
    if (Math.abs(p - 0.5) > 1e-6) assert.equal(Number(labels[i]), p > 0.5 ? 1 : 0, `label of row ${i}`);
  });
});

test('Preprocessor + GBDT classifier as one ONNX graph scores like TypeScript (|Δp| ≤ 1e-5) with NaN and unseen categories', async () => {
  const train = dataset(3000, 21);
  const pre = Preprocessor.fit(train.rows, SPEC);
  // Trees trained on the float32 preprocessing split on exactly the values the graph will compute.
  const model = GradientBoostedTrees.fit(pre.transform(train.rows, { float32: true }), train.y, { featureNames: [...pre.outputNames], maxIter: 60, seed: 3 });
  const bytes = exportPreprocessedOnnx(pre, model, { modelName: 'prep_gbdt' });
  const rows = heldOut(22);
  checkHeldOut(pre, rows);
  const out = await runGraph(bytes, pre, rows);
  const expected = model.predictProba(pre.transform(rows, { float32: true }));
  const diff = maxAbsDiff(out.probabilities.data as Float32Array, expected, 2, 1);
  assert.ok(diff <= 1e-5, `max |Δp| ${diff}`);
  const used = new Set(model.trees.flatMap((t) => t.feature.filter((f) => f >= 0)));
  assert.ok([...used].some((f) => pre.outputNames[f].includes('=')), 'some split is on a one-hot column');
  assert.ok([...used].some((f) => pre.outputNames[f].includes('#')), 'some split is on a hashed column');
});

test('Preprocessor + GBDT regressor as one ONNX graph (variable [N, 1]) matches predict within 1e-5', async () => {
  const train = dataset(2000, 31);
  const pre = Preprocessor.fit(train.rows, SPEC);
  const model = GradientBoostedTrees.fit(pre.transform(train.rows, { float32: true }), train.target, { task: 'regression', maxIter: 40, seed: 1 });
  const rows = heldOut(32);
  const out = await runGraph(exportPreprocessedOnnx(pre, model, { modelName: 'prep_reg' }), pre, rows);
  assert.deepEqual(out.variable.dims, [rows.length, 1]);
  const diff = maxAbsDiff(out.variable.data as Float32Array, model.predict(pre.transform(rows, { float32: true })));
  assert.ok(diff <= 1e-5, `max |Δ| ${diff}`);
});

test('graphs with only numeric or only categorical columns, and a one-hot column with no kept category, load and match', async () => {
  const train = dataset(800, 41);
  const rows = heldOut(42).slice(0, 200);
  const specs: ColumnSpec[][] = [
    [{ name: 'amount', type: 'numeric', impute: 'mean' }, { name: 'count_1h', type: 'numeric', impute: 'median' }],
    [{ name: 'country', type: 'onehot', maxCategories: 3 }, { name: 'channel', type: 'onehot', maxCategories: 1 }],
    [{ name: 'merchant', type: 'hashed', buckets: 8, alternateSign: false }, { name: 'ratio', type: 'numeric', impute: 'most_frequent', standardize: true }],
  ];
  for (const spec of specs) {
    const pre = Preprocessor.fit(train.rows, spec);
    const model = LogisticRegression.fit(pre.transform(train.rows), train.y);
    const out = await runGraph(exportPreprocessedOnnx(pre, model, { modelName: 'narrow' }), pre, rows);
    const diff = maxAbsDiff(out.probabilities.data as Float32Array, model.predictProba(pre.transform(rows, { float32: true })), 2, 1);
    assert.ok(diff <= 1e-5, `${spec.map((s) => s.name).join('+')}: max |Δp| ${diff}`);
  }
});

test('export is deterministic, uses ai.onnx / ai.onnx.ml operators only, and carries the fitted preprocessor in its metadata', () => {
  const train = dataset(500, 51);
  const pre = Preprocessor.fit(train.rows, SPEC);
  const fit = () => LogisticRegression.fit(pre.transform(train.rows), train.y);
  const bytes = exportPreprocessedOnnx(pre, fit(), { modelName: 'm', metadata: { dataset: 'tx' } });
  assert.deepEqual(exportPreprocessedOnnx(pre, fit(), { modelName: 'm', metadata: { dataset: 'tx' } }), bytes);
  const m = onnx.ModelProto.decode(bytes);
  const graph = m.graph!;
  assert.deepEqual(graph.input!.map((i) => [i.name, i.type!.tensorType!.elemType, i.type!.tensorType!.shape!.dim!.map((d) => d.dimValue ? Number(d.dimValue) : d.dimParam)]), [
    ['features', onnx.TensorProto.DataType.FLOAT, ['N', 4]],
    ['categories', onnx.TensorProto.DataType.STRING, ['N', 2]],
    ['hashed', onnx.TensorProto.DataType.FLOAT, ['N', 16]],
  ]);
  assert.deepEqual(graph.node!.map((n) => `${n.domain || 'ai.onnx'}:${n.opType}`), [
    'ai.onnx.ml:Imputer', 'ai.onnx.ml:Scaler',
    'ai.onnx:Gather', 'ai.onnx.ml:LabelEncoder', 'ai.onnx.ml:OneHotEncoder',
    'ai.onnx:Gather', 'ai.onnx.ml:LabelEncoder', 'ai.onnx.ml:OneHotEncoder',
    'ai.onnx:Concat', 'ai.onnx.ml:LinearClassifier',
  ]);
  const meta = Object.fromEntries(m.metadataProps!.map((p) => [p.key, p.value]));
  assert.equal(meta.model_type, 'logistic_regression');
  assert.equal(meta.dataset, 'tx');
  assert.deepEqual(JSON.parse(meta.feature_names!), pre.outputNames);
  assert.deepEqual(JSON.parse(meta.numeric_columns!), ['amount', 'age_days', 'ratio', 'count_1h']);
  assert.deepEqual(JSON.parse(meta.categorical_columns!), ['country', 'channel']);
  assert.deepEqual(JSON.parse(meta.hashed_columns!), ['merchant']);
  assert.deepEqual(Preprocessor.fromJSON(JSON.parse(meta.preprocessor!)).toJSON(), pre.toJSON());

  const gbdt = GradientBoostedTrees.fit(pre.transform(train.rows, { float32: true }), train.y, { maxIter: 3 });
  const tree = onnx.ModelProto.decode(exportPreprocessedOnnx(pre, gbdt, { modelName: 'g' }));
  assert.deepEqual(tree.graph!.node!.slice(-2).map((n) => n.opType), ['Concat', 'TreeEnsembleClassifier']);
  assert.deepEqual(tree.graph!.node!.at(-1)!.input, ['preprocessed']);

  const narrow = LogisticRegression.fromParameters([1, 2], 0);
  assert.throws(() => exportPreprocessedOnnx(pre, narrow, { modelName: 'm' }), new RegExp(`the model has 2 coefficients but the preprocessor outputs ${pre.width} columns`));
  assert.throws(() => exportPreprocessedOnnx(pre, fit(), { modelName: '' }), /modelName is required/);
  assert.throws(() => exportPreprocessedOnnx(pre, {} as LogisticRegression, { modelName: 'm' }), /fitted LogisticRegression or GradientBoostedTrees/);
});
