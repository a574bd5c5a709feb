// A classifier trained in scikit-learn and exported with skl2onnx (examples/models/fraud-sklearn, made by
// scripts/python/external_model/make_fixture.py) scored through our scorer with its declared mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { ExternalModelError, loadExternalModel, OnnxModelError, parseExternalMapping, type ExternalModelMapping } from './index';

const { onnx } = onnxProto;
const FIXTURE = new URL('../../../examples/models/fraud-sklearn/', import.meta.url);

interface Expected {
  onnx_sha256: string;
  classes: number[];
  feature_names: string[];
  rows: Array<Record<string, number | null>>;
  predict_proba: Array<[number, number]>;
  predict: number[];
}

const modelBytes = new Uint8Array(readFileSync(new URL('model.onnx', FIXTURE)));
const mappingJson: unknown = JSON.parse(readFileSync(new URL('mapping.json', FIXTURE), 'utf8'));
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURE), 'utf8')) as Expected;

/** The rows laid out as the mapping says: model column j ← feature columns[j]; null (missing) → NaN. */
function mappedRows(rows: Expected['rows'], columns: string[]): Float32Array {
  const out = new Float32Array(rows.length * columns.length);
  rows.forEach((row, i) => columns.forEach((name, j) => {
    const v = row[name];
    if (v === undefined) throw new Error(`fixture row ${i} has no feature ${name}`);
    out[i * columns.length + j] = v ?? Number.NaN;
  }));
  return out;
}

/** The fixture graph, edited; the edit function changes the decoded ModelProto in place. */
function editedModel(edit: (m: ReturnType<typeof onnx.ModelProto.decode>) => void): Uint8Array {
  const m = onnx.ModelProto.decode(modelBytes);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

test('the scikit-learn fixture scores through the mapping as scikit-learn did (|Δp| ≤ 1e-6)', async () => {
  const mapping = parseExternalMapping(mappingJson);
  assert.equal(mapping.input, 'float_input');
  assert.equal(mapping.probabilityOutput, 'output_probability');
  assert.notDeepEqual(mapping.columns, expected.feature_names.filter((n) => mapping.columns.includes(n)), 'the model orders its columns differently from the pipeline');
  const n = expected.rows.length;
  assert.ok(expected.rows.some((r) => mapping.columns.some((c) => r[c] === null)), 'some rows have missing mapped features');
  const scorer = await loadExternalModel(modelBytes, mapping, { knownFeatures: expected.feature_names });
  try {
    assert.equal(scorer.inputName, 'float_input');
    assert.equal(scorer.featureCount, mapping.columns.length);
    const { probabilities, labels } = await scorer.score(mappedRows(expected.rows, mapping.columns), n);
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(probabilities[i] - expected.predict_proba[i][mapping.positiveClassIndex]));
      assert.equal(labels[i], expected.predict[i], `label of row ${i}`);
    }
    assert.ok(maxDiff <= 1e-6, `max |onnx - sklearn| = ${maxDiff}`);
    assert.ok(expected.predict.includes(0) && expected.predict.includes(1), 'the rows have both predicted classes');
  } finally {
    await scorer.release();
  }
  // The positive class is the declared column: column 0 gives P(class 0).
  const classZero = await loadExternalModel(modelBytes, { ...mapping, positiveClassIndex: 0 });
  try {
    const { probabilities } = await classZero.score(mappedRows(expected.rows, mapping.columns), n);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(probabilities[i] - expected.predict_proba[i][0]) <= 1e-6, `P(class 0) of row ${i}`);
  } finally {
    await classZero.release();
  }
});

test('the input mapping decides which feature feeds which column', async () => {
  const mapping = parseExternalMapping(mappingJson);
  // The same features in the pipeline's order instead of the model's: a different (wrong) model input.
  const pipelineOrder = expected.feature_names.filter((c) => mapping.columns.includes(c));
  const scorer = await loadExternalModel(modelBytes, { ...mapping, columns: pipelineOrder });
  try {
    const { probabilities } = await scorer.score(mappedRows(expected.rows, pipelineOrder), expected.rows.length);
    const worst = Math.max(...Array.from(probabilities, (p, i) => Math.abs(p - expected.predict_proba[i][1])));
    assert.ok(worst > 0.05, `a permuted mapping should change scores, max diff ${worst}`);
  } finally {
    await scorer.release();
  }
});

test('registration checks name what is wrong', async () => {
  const mapping = parseExternalMapping(mappingJson);
  const refuses = (bytes: Uint8Array, m: ExternalModelMapping, pattern: RegExp, opts = {}) =>
    assert.rejects(loadExternalModel(bytes, m, opts), (e: unknown) => e instanceof OnnxModelError && pattern.test(e.message), String(pattern));

  await refuses(modelBytes, { ...mapping, input: 'features' }, /declared input 'features' does not exist; the graph's input is 'float_input'/);
  await refuses(modelBytes, { ...mapping, probabilityOutput: 'probabilities' }, /declared probability output 'probabilities' does not exist; outputs are output_label, output_probability/);
  await refuses(modelBytes, { ...mapping, probabilityOutput: 'output_label' }, /'output_label' must be a float tensor/);
  await refuses(modelBytes, { ...mapping, positiveClassIndex: 2 }, /has 2 columns; positive class index 2 needs at least 3/);
  await refuses(modelBytes, { ...mapping, columns: mapping.columns.slice(1) }, /mapping\.columns lists 9 features but the model's input 'float_input' has 10 columns/);
  await refuses(modelBytes, { ...mapping, columns: [...mapping.columns.slice(0, 9), 'card_age_days'] }, /'card_age_days' not produced by the pipeline/, { knownFeatures: expected.feature_names });
  await refuses(new Uint8Array([1, 2, 3]), mapping, /not a valid ModelProto|onnxruntime refused/);

  // A ZipMap output (converted without zipmap=False) is a sequence of maps, not a tensor.
  const zipmapped = editedModel((m) => {
    const out = m.graph!.output!.find((o) => o.name === 'output_probability')!;
    out.type = { sequenceType: { elemType: { mapType: { keyType: onnx.TensorProto.DataType.INT64, valueType: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } } } } };
  });
  await refuses(zipmapped, mapping, /it is a sequence \(a ZipMap\? convert with zipmap=False\)/);

  // Without the imputer, a row of missing values scores NaN: refused, since the pipeline marks missing features NaN.
  const noImputer = editedModel((m) => {
    const graph = m.graph!;
    const imputer = graph.node!.find((node) => node.opType === 'Imputer')!;
    for (const node of graph.node!) node.input = node.input!.map((name) => (name === imputer.output![0] ? imputer.input![0] : name));
    graph.node = graph.node!.filter((node) => node !== imputer);
  });
  await refuses(noImputer, mapping, /probe: a row of missing values \(NaN\) scored NaN .*put an imputer in the model/);
});

test('a mapping file is read strictly', () => {
  const base = mappingJson as Record<string, unknown>;
  const parsed = parseExternalMapping({ ...base, name: 'm', threshold: 0.3 });
  assert.equal(parsed.name, 'm');
  assert.equal(parsed.threshold, 0.3);
  assert.equal(parseExternalMapping({ input: 'x', columns: ['a'], probability_output: 'p' }).positiveClassIndex, 1, 'positive class defaults to column 1');
  const refuses = (json: unknown, pattern: RegExp) => assert.throws(() => parseExternalMapping(json), (e: unknown) => e instanceof ExternalModelError && pattern.test(e.message), String(pattern));
  refuses([], /mapping: expected a JSON object/);
  refuses({ ...base, positive_class: 1 }, /unknown key\(s\) positive_class/);
  refuses({ ...base, input: '' }, /mapping\.input: expected a non-empty string/);
  refuses({ ...base, columns: [] }, /mapping\.columns: expected a non-empty array/);
  refuses({ ...base, columns: ['a', 7] }, /mapping\.columns\[1\]: expected a feature name, got 7/);
  refuses({ ...base, columns: ['a', 'b', 'a'] }, /mapping\.columns\[2\]: feature 'a' already feeds column 0/);
  refuses({ ...base, positive_class_index: 0.5 }, /positive_class_index: expected a whole number/);
  refuses({ ...base, threshold: 2 }, /threshold: expected a number in \[0, 1\]/);
});
