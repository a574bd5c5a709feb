import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPublishable, parseRegistryKey, registryKey } from './key';
import { registryMessageOf } from './messages';
import type { ModelRegistryRecord, ModelStage } from './records';
import {
  championOf, championsNewestFirst, emptyRegistry, foldRegistry, nextVersion, probationOf, PROBATION_LABELS_METRIC, sameEntry, shadowOf,
  type RegistryMessage, type RegistryState,
} from './registry-state';

function record(pipeline: string, model: string, version: number, stage: ModelStage, algorithm = 'gbdt'): ModelRegistryRecord {
  return {
    pipeline, model_name: model, model_version: version, algorithm, stage, created_at: 1_700_000_000_000 + version,
    feature_names: ['amount'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([version]), onnx_sha256: `sha-${model}-${version}`,
    metrics: {}, params: {}, data_window_start: 0, data_window_end: 0, training_rows: 0, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

/** The topic as a list: message i sits at offset i. */
function topic(...records: ModelRegistryRecord[]): RegistryMessage[] {
  return records.map((r, i) => ({ kind: 'version', offset: BigInt(i), record: r }));
}

function champion(state: RegistryState, pipeline = 'fraud'): string | undefined {
  const c = championOf(state, pipeline)?.record;
  return c && `${c.model_name} v${c.model_version}`;
}

test('an external champion published after an internal one is the champion, though its version number is lower', () => {
  const state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud', 1, 'champion'),
    record('fraud', 'fraud', 2, 'champion'),
    record('fraud', 'fraud', 3, 'champion'),
    record('fraud', 'fraud-sklearn', 1, 'champion', 'external'),
  ));
  assert.equal(champion(state), 'fraud-sklearn v1');
  assert.deepEqual(championsNewestFirst(state, 'fraud').map((e) => `${e.record.model_name} v${e.record.model_version}`), [
    'fraud-sklearn v1', 'fraud v3', 'fraud v2', 'fraud v1',
  ], 'the fallbacks, newest first');
});

test('the order is the topic offset, not the version number, across model names', () => {
  // The same records in the other publication order: the internal model retrained after the external one.
  const state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud-sklearn', 1, 'champion', 'external'),
    record('fraud', 'fraud', 1, 'champion'),
  ));
  assert.equal(champion(state), 'fraud v1');
  // Messages handed over out of order are applied in offset order.
  const shuffled: RegistryMessage[] = [
    { kind: 'version', offset: 7n, record: record('fraud', 'b', 1, 'champion') },
    { kind: 'version', offset: 3n, record: record('fraud', 'a', 9, 'champion') },
  ];
  assert.equal(champion(foldRegistry(emptyRegistry(), shuffled)), 'b v1');
});

test('a candidate is stored, not champion; republishing it as champion promotes it', () => {
  let state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud', 1, 'champion'),
    record('fraud', 'fraud-sklearn', 1, 'candidate', 'external'),
  ));
  assert.equal(champion(state), 'fraud v1');
  assert.equal(state.versions.size, 2);
  state = foldRegistry(state, [{ kind: 'version', offset: 2n, record: record('fraud', 'fraud-sklearn', 1, 'champion', 'external') }]);
  assert.equal(champion(state), 'fraud-sklearn v1');
  assert.equal(state.versions.size, 2, 'one entry per version: the promotion replaced the candidate record');
  assert.equal(state.versions.get('fraud/fraud-sklearn/1')?.offset, 2n);
});

test('rollback: archiving the champion hands the role back to the previous champion; republishing an old version promotes it', () => {
  let state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud', 1, 'champion'),
    record('fraud', 'fraud', 2, 'champion'),
    record('fraud', 'fraud-sklearn', 1, 'champion', 'external'),
  ));
  state = foldRegistry(state, [{ kind: 'version', offset: 3n, record: record('fraud', 'fraud-sklearn', 1, 'archived', 'external') }]);
  assert.equal(champion(state), 'fraud v2', 'the external champion retired: the internal v2 serves again');
  state = foldRegistry(state, [{ kind: 'version', offset: 4n, record: record('fraud', 'fraud', 1, 'champion') }]);
  assert.equal(champion(state), 'fraud v1', 'v1 republished as champion rolls back to it, though v2 is newer');
  state = foldRegistry(state, [
    { kind: 'version', offset: 5n, record: record('fraud', 'fraud', 1, 'archived') },
    { kind: 'version', offset: 6n, record: record('fraud', 'fraud', 2, 'archived') },
  ]);
  assert.equal(championOf(state, 'fraud'), undefined, 'every champion retired: none');
});

test('a tombstone deletes a version; its number is not reused', () => {
  let state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud', 1, 'champion'),
    record('fraud', 'fraud', 2, 'champion'),
  ));
  state = foldRegistry(state, [{ kind: 'tombstone', offset: 2n, key: 'fraud/fraud/2' }]);
  assert.equal(champion(state), 'fraud v1');
  assert.equal(state.versions.has('fraud/fraud/2'), false);
  assert.equal(nextVersion(state, 'fraud', 'fraud'), 3);
});

test('next version: per pipeline and model name, one above the highest ever seen (unreadable records included)', () => {
  let state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud', 1, 'champion'),
    record('fraud', 'fraud', 3, 'candidate'),
    record('fraud', 'fraud-sklearn', 1, 'champion', 'external'),
    record('churn', 'fraud', 7, 'champion'),
  ));
  assert.equal(nextVersion(state, 'fraud', 'fraud'), 4);
  assert.equal(nextVersion(state, 'fraud', 'fraud-sklearn'), 2);
  assert.equal(nextVersion(state, 'churn', 'fraud'), 8);
  assert.equal(nextVersion(state, 'fraud', 'never-seen'), 1);
  assert.equal(nextVersion(emptyRegistry(), 'fraud', 'fraud'), 1);
  state = foldRegistry(state, [{ kind: 'unreadable', offset: 9n, key: 'fraud/fraud-sklearn/5' }]);
  assert.equal(nextVersion(state, 'fraud', 'fraud-sklearn'), 6, 'an unreadable record still takes its version');
  assert.equal(champion(state), 'fraud-sklearn v1', 'and changes nothing else');
  state = foldRegistry(state, [{ kind: 'unreadable', offset: 10n, key: 'not a registry key' }]);
  assert.equal(state.position, 10n);
});

test('pipelines are independent: another pipeline\'s newer champion changes nothing', () => {
  const state = foldRegistry(emptyRegistry(), topic(
    record('fraud', 'fraud', 1, 'champion'),
    record('churn', 'churn', 1, 'champion'),
  ));
  assert.equal(champion(state, 'fraud'), 'fraud v1');
  assert.equal(champion(state, 'churn'), 'churn v1');
  assert.equal(championOf(state, 'nope'), undefined);
});

test('folding is pure and idempotent: a redelivered range changes nothing, the given state is not modified', () => {
  const messages = topic(record('fraud', 'fraud', 1, 'champion'), record('fraud', 'x', 1, 'champion'));
  const once = foldRegistry(emptyRegistry(), messages);
  const snapshot = { versions: [...once.versions.keys()], position: once.position };
  // A broadcast consumer reading offset 0 again (an older record of a key) after offset 1.
  const again = foldRegistry(once, [{ kind: 'version', offset: 0n, record: record('fraud', 'x', 1, 'archived') }, ...messages]);
  assert.equal(again, once, 'nothing new: the same state');
  assert.deepEqual({ versions: [...once.versions.keys()], position: once.position }, snapshot);
  const next = foldRegistry(once, [{ kind: 'version', offset: 2n, record: record('fraud', 'x', 1, 'archived') }]);
  assert.notEqual(next, once);
  assert.equal(champion(once), 'x v1', 'the earlier state still says what it said');
  assert.equal(champion(next), 'fraud v1');
});

test('sameEntry: the same version republished is a new record', () => {
  const state = foldRegistry(emptyRegistry(), topic(record('fraud', 'fraud', 1, 'champion')));
  const before = championOf(state, 'fraud')!;
  const after = championOf(foldRegistry(state, [{ kind: 'version', offset: 5n, record: record('fraud', 'fraud', 1, 'champion') }]), 'fraud')!;
  assert.ok(sameEntry(before, championOf(state, 'fraud')!));
  assert.ok(!sameEntry(before, after));
});

test('keys: pipeline/model/version, parsed back; records that would make an ambiguous key are refused', () => {
  const r = record('fraud', 'fraud-sklearn', 12, 'champion');
  assert.equal(registryKey(r), 'fraud/fraud-sklearn/12');
  assert.deepEqual(parseRegistryKey('fraud/fraud-sklearn/12'), { pipeline: 'fraud', model_name: 'fraud-sklearn', model_version: 12 });
  for (const bad of ['fraud/fraud', 'a/b/c/1', 'fraud/m/x', 'fraud/m/-1', '/m/1', 'fraud//1']) assert.equal(parseRegistryKey(bad), undefined, bad);
  checkPublishable(r);
  assert.throws(() => checkPublishable({ ...r, model_name: 'a/b' }), /model_name must be non-empty and without '\/'/);
  assert.throws(() => checkPublishable({ ...r, model_version: 0 }), /model_version must be an integer ≥ 1/);
});

test('consumed records: a value, a tombstone, an unreadable value, a keyless unreadable one', () => {
  const r = record('fraud', 'fraud', 1, 'champion');
  assert.deepEqual(registryMessageOf({ offset: '4', key: Buffer.from('fraud/fraud/1'), value: Buffer.from([0]) }, r), { kind: 'version', offset: 4n, record: r });
  assert.deepEqual(registryMessageOf({ offset: '5', key: Buffer.from('fraud/fraud/1'), value: null }, undefined), { kind: 'tombstone', offset: 5n, key: 'fraud/fraud/1' });
  assert.deepEqual(registryMessageOf({ offset: '6', key: Buffer.from('fraud/fraud/2'), value: Buffer.from([9]) }, undefined), { kind: 'unreadable', offset: 6n, key: 'fraud/fraud/2' });
  assert.equal(registryMessageOf({ offset: '7', key: null, value: Buffer.from([9]) }, undefined), undefined);
});

test('probation: the champion promoted with probation_labels is watched against the previous champion, which scores in shadow', () => {
  const promoted = (version: number, labels: number) => ({ ...record('fraud', 'fraud', version, 'champion'), decision_metrics: { online_n: 500, [PROBATION_LABELS_METRIC]: labels } });
  const describe = (s: RegistryState) => {
    const p = probationOf(s, 'fraud');
    const shadow = shadowOf(s, 'fraud');
    return {
      probation: p && `v${p.champion.record.model_version} vs v${p.previous.record.model_version} for ${p.labels}`,
      shadow: shadow && `v${shadow.entry.record.model_version} (${shadow.reason})`,
    };
  };
  const first = record('fraud', 'fraud', 1, 'champion');
  // The first champion has nobody to be compared with; a promotion without the metric (an operator's) is no probation.
  assert.deepEqual(describe(foldRegistry(emptyRegistry(), topic(promoted(1, 500)))), { probation: undefined, shadow: undefined });
  assert.deepEqual(describe(foldRegistry(emptyRegistry(), topic(first, record('fraud', 'fraud', 2, 'champion')))), { probation: undefined, shadow: undefined });
  const onProbation = foldRegistry(emptyRegistry(), topic(first, promoted(2, 500)));
  assert.deepEqual(describe(onProbation), { probation: 'v2 vs v1 for 500', shadow: 'v1 (probation)' });
  // A challenger takes the shadow slot while it is there; the probation waits.
  const withChallenger = foldRegistry(onProbation, [{ kind: 'version', offset: 2n, record: record('fraud', 'fraud', 3, 'challenger') }]);
  assert.deepEqual(describe(withChallenger), { probation: 'v2 vs v1 for 500', shadow: 'v3 (challenger)' });
  // The end: the champion republished without the metric (kept), or rolled back (v1 serves, nothing in shadow).
  const kept = foldRegistry(onProbation, [{ kind: 'version', offset: 2n, record: record('fraud', 'fraud', 2, 'champion') }]);
  assert.deepEqual([champion(kept), describe(kept)], ['fraud v2', { probation: undefined, shadow: undefined }]);
  const rolledBack = foldRegistry(onProbation, [{ kind: 'version', offset: 2n, record: record('fraud', 'fraud', 2, 'rejected') }]);
  assert.deepEqual([champion(rolledBack), describe(rolledBack)], ['fraud v1', { probation: undefined, shadow: undefined }]);
  assert.equal(probationOf(onProbation, 'other'), undefined);
});
