// The model store follows the registry's champion rule with real ONNX models (no broker): an external champion
// after an internal one, fallback past a champion that fails its checks, rollback by retiring the champion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { exportOnnx, seededRandom, TabularPipeline } from '@streamloop/ml';
import type { ModelRegistryRecord, ModelStage, RegistryMessage } from '@streamloop/model-registry';
import { PROBATION_LABELS_METRIC } from '@streamloop/model-registry';
import { allocationBombModel, externalDataModel, TINY_INPUT, TINY_OUTPUT } from '@streamloop/model-safety/testing';
import { ModelStore } from './model-store';

const FIXTURE = new URL('../../../examples/models/fraud-sklearn/', import.meta.url);
const FEATURES = ['log_amount', 'foreign'];

function internal(version: number, stage: ModelStage = 'champion'): ModelRegistryRecord {
  const rnd = seededRandom(version);
  const X = Array.from({ length: 200 }, () => FEATURES.map(() => rnd() * 4 - 2));
  const y = X.map((row) => (row[0] > 0 ? 1 : 0));
  const onnx = Buffer.from(exportOnnx(TabularPipeline.fit(X, y, { featureNames: FEATURES }), { modelName: 'fraud' }));
  return record('fraud', version, stage, onnx, 'logistic_regression', FEATURES);
}

function external(version: number, stage: ModelStage = 'champion'): ModelRegistryRecord {
  const mapping = JSON.parse(readFileSync(new URL('mapping.json', FIXTURE), 'utf8')) as { columns: string[] };
  return {
    ...record('fraud-sklearn', version, stage, readFileSync(new URL('model.onnx', FIXTURE)), 'external', mapping.columns),
    signature: { input_name: 'float_input', probability_output: 'output_probability', positive_class_index: 1 }, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

function record(model: string, version: number, stage: ModelStage, onnx: Buffer, algorithm: string, featureNames: string[]): ModelRegistryRecord {
  return {
    pipeline: 'fraud', model_name: model, model_version: version, algorithm, stage, created_at: 0, feature_names: featureNames,
    feature_spec_version: 'v1', threshold: 0.5, onnx, onnx_sha256: createHash('sha256').update(onnx).digest('hex'), metrics: {}, params: {},
    data_window_start: 0, data_window_end: 0, training_rows: 0, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

/** Registry messages at consecutive offsets from `from`. */
function at(from: number, ...records: ModelRegistryRecord[]): RegistryMessage[] {
  return records.map((r, i) => ({ kind: 'version', offset: BigInt(from + i), record: r }));
}

function serving(store: ModelStore): string | undefined {
  const m = store.get('fraud')?.record;
  return m && `${m.model_name} v${m.model_version}`;
}

test('an external champion after internal fraud v3 is served; the whole history in one batch loads only the champion', async () => {
  const store = new ModelStore();
  // v1 and v2 would fail their checks if they were loaded: nothing refused shows they were not.
  const unloadable = (r: ModelRegistryRecord) => ({ ...r, onnx_sha256: '0'.repeat(64) });
  const outcome = await store.follow('fraud', at(0, unloadable(internal(1)), unloadable(internal(2)), internal(3), external(1)));
  assert.equal(serving(store), 'fraud-sklearn v1');
  assert.equal(outcome.change?.from, undefined);
  assert.equal(outcome.change?.to?.record.model_name, 'fraud-sklearn');
  assert.deepEqual(outcome.refused, []);
  assert.equal(store.get('fraud')?.scorer.inputName, 'float_input');
  // A redelivered range changes nothing.
  assert.deepEqual(await store.follow('fraud', at(0, internal(1), internal(2), internal(3), external(1))), { refused: [] });
  assert.equal(serving(store), 'fraud-sklearn v1');
});

test('a champion that fails its checks is refused once, and the previous champion keeps serving', async () => {
  const store = new ModelStore();
  await store.follow('fraud', at(0, internal(1), internal(2)));
  assert.equal(serving(store), 'fraud v2');
  const corrupt = { ...external(1), onnx_sha256: 'f'.repeat(64) };
  const outcome = await store.follow('fraud', at(2, corrupt));
  assert.equal(serving(store), 'fraud v2');
  assert.equal(outcome.change, undefined);
  assert.deepEqual(outcome.refused.map((r) => `${r.entry.record.model_name} v${r.entry.record.model_version}`), ['fraud-sklearn v1']);
  assert.match(String(outcome.refused[0].error), /sha256 .* does not match/);
  // A later batch does not try the refused record again; a fixed record of the same version is tried.
  assert.deepEqual((await store.follow('fraud', at(3, internal(3, 'candidate')))).refused, []);
  await store.follow('fraud', at(4, external(1)));
  assert.equal(serving(store), 'fraud-sklearn v1');

  // On a fresh start the same history serves the newest champion that passes its checks.
  const restarted = new ModelStore();
  const replay = await restarted.follow('fraud', at(0, internal(1), internal(2), corrupt));
  assert.equal(serving(restarted), 'fraud v2');
  assert.equal(replay.refused.length, 1);
});

test('an external record written to the registry topic past registration is admitted here too: unsafe files never load', async () => {
  const store = new ModelStore();
  await store.follow('fraud', at(0, internal(1)));
  const unsafe = (version: number, onnx: Uint8Array): ModelRegistryRecord => ({
    ...record('tiny', version, 'champion', Buffer.from(onnx), 'external', FEATURES),
    signature: { input_name: TINY_INPUT, probability_output: TINY_OUTPUT, positive_class_index: 1 },
  });
  const outcome = await store.follow('fraud', at(1, unsafe(1, externalDataModel()), unsafe(2, allocationBombModel())));
  assert.equal(serving(store), 'fraud v1');
  // The newest champion is tried first; then, on its refusal, the one before it.
  const reasons = outcome.refused.map((r) => String(r.error));
  assert.equal(reasons.length, 2);
  assert.match(reasons[0], /^ModelRejectedError: model fraud\/tiny v2 \(external\): probe: .*(bad_alloc|memory limit)/);
  assert.equal(reasons[1], "ModelRejectedError: model fraud/tiny v1 (external): ONNX model: tensor 'W' in the main graph initializers uses external data ('../../etc/passwd'), which is refused (only self-contained models are loaded)");
});

test('retiring the champion rolls back to the previous one; with none left nothing serves', async () => {
  const store = new ModelStore();
  await store.follow('fraud', at(0, internal(3), external(1)));
  assert.equal(serving(store), 'fraud-sklearn v1');
  const rollback = await store.follow('fraud', at(2, external(1, 'archived')));
  assert.equal(serving(store), 'fraud v3');
  assert.equal(rollback.change?.from?.record.model_name, 'fraud-sklearn');
  const retired = await store.follow('fraud', at(3, internal(3, 'archived')));
  assert.equal(store.get('fraud'), undefined);
  assert.equal(retired.change?.from?.record.model_name, 'fraud');
  assert.equal(retired.change?.to, undefined);
  // Promotion: a stored version republished as champion serves again.
  await store.follow('fraud', at(4, external(1, 'champion')));
  assert.equal(serving(store), 'fraud-sklearn v1');
});

function fallback(store: ModelStore): string | undefined {
  const m = store.fallbackOf('fraud')?.record;
  return m && `${m.model_name} v${m.model_version}`;
}

test('the last good champion is kept loaded beside the serving one, skipping champions that fail their checks', async () => {
  const store = new ModelStore();
  await store.follow('fraud', at(0, internal(1)));
  assert.equal(serving(store), 'fraud v1');
  assert.equal(fallback(store), undefined, 'the only champion has no fallback');
  // A new champion: the one that served becomes the fallback, the same loaded model (not loaded again).
  const v1 = store.get('fraud');
  await store.follow('fraud', at(1, internal(2, 'candidate'), internal(2)));
  assert.equal(serving(store), 'fraud v2');
  assert.equal(store.fallbackOf('fraud'), v1);
  // v3 is champion but fails its checks: v2 serves and v1 stays the fallback; a candidate is never one.
  const outcome = await store.follow('fraud', at(3, { ...internal(3), onnx_sha256: '0'.repeat(64) }, internal(4, 'candidate')));
  assert.equal(outcome.refused.length, 1);
  assert.deepEqual([serving(store), fallback(store)], ['fraud v2', 'fraud v1']);
  // v2 demoted (rejected): the fallback serves at once, the same loaded model, and nothing is left to fall back to.
  const demoted = await store.follow('fraud', at(5, internal(2, 'rejected')));
  assert.equal(store.get('fraud'), v1);
  assert.equal(demoted.change?.to, v1);
  assert.equal(fallback(store), undefined);
  assert.equal(store.registryOf('fraud').position, 5n);
});

test('an earlier champion that fails its checks is not a fallback: the next one down that loads is', async () => {
  const store = new ModelStore();
  const outcome = await store.follow('fraud', at(0, internal(1), { ...internal(2), onnx_sha256: '0'.repeat(64) }, internal(3)));
  assert.deepEqual([serving(store), fallback(store)], ['fraud v3', 'fraud v1']);
  assert.deepEqual(outcome.refused.map((r) => r.entry.record.model_version), [2]);
});

test('the challenger is loaded beside the champion, refused when it fails its checks, and dropped when promoted or demoted', async () => {
  const store = new ModelStore();
  const challenger = () => store.challengerOf('fraud')?.record.model_version;
  let outcome = await store.follow('fraud', at(0, internal(1), internal(2, 'challenger')));
  assert.deepEqual([serving(store), challenger()], ['fraud v1', 2]);
  assert.equal(outcome.challengerChange?.to?.record.model_version, 2);
  // A newer challenger that fails its checks is refused: none runs (not the older one, which the rule no longer names).
  outcome = await store.follow('fraud', at(2, { ...internal(3, 'challenger'), onnx_sha256: '0'.repeat(64) }));
  assert.equal(outcome.refused.length, 1);
  assert.match(String(outcome.refused[0].error), /sha256/);
  assert.equal(challenger(), undefined);
  assert.equal(outcome.challengerChange?.from?.record.model_version, 2);
  // Promoted to champion: it serves, and the pipeline has no challenger (v3's refused record stays refused).
  outcome = await store.follow('fraud', at(3, internal(2, 'champion')));
  assert.deepEqual([serving(store), challenger(), store.fallbackOf('fraud')?.record.model_version], ['fraud v2', undefined, 1]);
  // A challenger demoted by policy (stage rejected) stops scoring; the champion is untouched.
  await store.follow('fraud', at(4, internal(4, 'challenger')));
  assert.equal(challenger(), 4);
  outcome = await store.follow('fraud', at(5, internal(4, 'rejected')));
  assert.deepEqual([serving(store), challenger(), outcome.change], ['fraud v2', undefined, undefined]);
});

test('during a probation the previous champion scores beside the new one (one loaded model, also the fallback); its end drops it', async () => {
  const store = new ModelStore();
  const probation = (version: number) => ({ ...internal(version), decision_metrics: { [PROBATION_LABELS_METRIC]: 500 } });
  let outcome = await store.follow('fraud', at(0, internal(1), probation(2)));
  const previous = store.fallbackOf('fraud');
  assert.deepEqual([serving(store), previous?.record.model_version, store.challengerOf('fraud')?.record.model_version, store.onProbation('fraud')], ['fraud v2', 1, 1, true]);
  assert.equal(store.challengerOf('fraud'), previous, 'the fallback and the shadow model are one loaded model');
  assert.equal(outcome.challengerChange?.to, previous);
  // A challenger takes the slot beside the champion while it is there; the fallback stays.
  await store.follow('fraud', at(2, internal(3, 'challenger')));
  assert.deepEqual([store.challengerOf('fraud')?.record.model_version, store.onProbation('fraud'), store.fallbackOf('fraud')?.record.model_version], [3, false, 1]);
  await store.follow('fraud', at(3, internal(3, 'archived')));
  assert.deepEqual([store.challengerOf('fraud')?.record.model_version, store.onProbation('fraud')], [1, true]);
  // Kept: v2 republished without the probation metric; v1 stops scoring in shadow and stays loaded as the fallback.
  outcome = await store.follow('fraud', at(4, internal(2)));
  assert.deepEqual([serving(store), store.challengerOf('fraud'), store.onProbation('fraud'), store.fallbackOf('fraud')?.record.model_version], ['fraud v2', undefined, false, 1]);
  assert.equal(outcome.challengerChange?.from?.record.model_version, 1);
});
