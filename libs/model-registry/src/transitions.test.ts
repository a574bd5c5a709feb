import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelRegistryRecord, ModelStage } from './records';
import { challengerOf, championOf, emptyRegistry, foldRegistry, type RegistryState } from './registry-state';
import { listModels, planTransition, TransitionRefusedError, type TransitionRequest } from './transitions';

function record(model: string, version: number, stage: ModelStage): ModelRegistryRecord {
  return {
    pipeline: 'fraud', model_name: model, model_version: version, algorithm: 'gbdt', stage, created_at: 1_700_000_000_000 + version,
    feature_names: ['amount'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([version]), onnx_sha256: `sha-${model}-${version}`,
    metrics: { roc_auc: 0.8 }, params: {}, data_window_start: 0, data_window_end: 0, training_rows: 0, reference: {}, feature_importance: {}, signature: null,
    decided_by: 'training', decided_at: 1, decision_reason: 'trained', decision_metrics: {},
  };
}

/** The registry after publishing `records` in order, and a publisher that appends a planned record as the topic would. */
function registry(...records: ModelRegistryRecord[]) {
  let state: RegistryState = emptyRegistry();
  let offset = 0n;
  const publish = (r: ModelRegistryRecord) => { state = foldRegistry(state, [{ kind: 'version', offset: offset++, record: r }]); };
  records.forEach(publish);
  return {
    get state() { return state; },
    apply(request: Omit<TransitionRequest, 'decidedBy' | 'now'>) {
      const t = planTransition(state, 'fraud', { decidedBy: 'cli', now: 42, ...request });
      publish(t.record);
      return t;
    },
    serving() {
      const c = championOf(state, 'fraud')?.record;
      return c && `${c.model_name} v${c.model_version}`;
    },
    challenger() {
      const c = challengerOf(state, 'fraud')?.record;
      return c && `${c.model_name} v${c.model_version}`;
    },
  };
}

const STATUS = { 400: 'INVALID_INPUT', 404: 'NOT_FOUND', 409: 'MODEL_STAGE_CONFLICT' } as const;
const refused = (status: keyof typeof STATUS, pattern: RegExp) => (error: unknown) => error instanceof TransitionRefusedError && error.code === STATUS[status] && pattern.test(error.message);

test('promote: a candidate serves, with who, when and why on its record', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'candidate'));
  const t = r.apply({ action: 'promote', version: 2, reason: 'better on last week', metrics: { roc_auc: 0.91 } });
  assert.equal(r.serving(), 'fraud v2');
  assert.equal(t.from, 'candidate');
  assert.deepEqual(t.servingAfter, { model_name: 'fraud', model_version: 2 });
  assert.deepEqual([t.record.stage, t.record.decided_by, t.record.decided_at, t.record.decision_reason, t.record.decision_metrics], ['champion', 'cli', 42, 'better on last week', { roc_auc: 0.91 }]);
  assert.equal(t.record.onnx_sha256, 'sha-fraud-2', 'the same version, republished');
  assert.throws(() => r.apply({ action: 'promote', version: 2 }), refused(409, /already the serving champion/));
});

test('rollback: the serving champion is rejected and the previous champion serves again; refused without one', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'champion'), record('fraud', 3, 'champion'));
  assert.equal(r.serving(), 'fraud v3');
  const t = r.apply({ action: 'rollback' });
  assert.equal(t.record.stage, 'rejected');
  assert.match(t.record.decision_reason, /rolled back fraud v3; fraud v2 serves/);
  assert.equal(r.serving(), 'fraud v2');
  r.apply({ action: 'rollback' });
  assert.equal(r.serving(), 'fraud v1');
  assert.throws(() => r.apply({ action: 'rollback' }), refused(409, /no earlier champion would serve/));
  assert.equal(r.serving(), 'fraud v1', 'a refused rollback changes nothing');
  assert.throws(() => r.apply({ action: 'rollback', version: 1 }), refused(400, /give no version/));
  assert.throws(() => registry().apply({ action: 'rollback' }), refused(409, /no champion to roll back/));
});

test('archive: any version but the last champion; a rejected version can be promoted again', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'candidate'), record('fraud', 3, 'champion'));
  r.apply({ action: 'archive', version: 2 });
  assert.equal(r.serving(), 'fraud v3', 'archiving a version that does not serve changes nothing served');
  assert.throws(() => r.apply({ action: 'archive', version: 2 }), refused(409, /already archived/));
  r.apply({ action: 'archive', version: 3 });
  assert.equal(r.serving(), 'fraud v1');
  assert.throws(() => r.apply({ action: 'archive', version: 1 }), refused(409, /cannot archive fraud v1: no earlier champion/));
  r.apply({ action: 'promote', version: 3, reason: 'back after the fix' });
  assert.equal(r.serving(), 'fraud v3');
  assert.deepEqual(listModels(r.state, 'fraud').map((m) => `${m.model_name} v${m.model_version} ${m.stage}${m.serving ? ' serving' : ''}`), [
    'fraud v1 champion', 'fraud v2 archived', 'fraud v3 champion serving',
  ]);
});

test('a version number two models share needs the model name; unknown versions are 404', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud-sklearn', 1, 'candidate'));
  assert.throws(() => r.apply({ action: 'promote', version: 1 }), refused(400, /version 1 exists for models fraud, fraud-sklearn/));
  r.apply({ action: 'promote', version: 1, model: 'fraud-sklearn' });
  assert.equal(r.serving(), 'fraud-sklearn v1');
  assert.throws(() => r.apply({ action: 'archive', version: 7 }), refused(404, /no model version 7/));
  assert.throws(() => r.apply({ action: 'promote' }), refused(400, /needs the version/));
});

test('demote: a failing serving champion is rejected by policy with its counts, and the previous champion serves', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'champion'));
  const t = planTransition(r.state, 'fraud', {
    action: 'demote', version: 2, decidedBy: 'policy', now: 7, reason: 'failed on 100 rows at serve time', metrics: { failed_rows: 100, error: 100 },
  });
  assert.equal(t.record.stage, 'rejected');
  assert.equal(t.from, 'champion');
  assert.deepEqual([t.record.decided_by, t.record.decided_at, t.record.decision_reason], ['policy', 7, 'failed on 100 rows at serve time']);
  assert.deepEqual(t.record.decision_metrics, { failed_rows: 100, error: 100 });
  assert.deepEqual(t.servingAfter, { model_name: 'fraud', model_version: 1 });
  assert.match(r.apply({ action: 'demote', version: 2 }).record.decision_reason, /^demoted fraud v2; fraud v1 serves$/);
  assert.equal(r.serving(), 'fraud v1');
  // Demoting it again, or the only champion left, is refused: a demotion never leaves nothing serving.
  assert.throws(() => r.apply({ action: 'demote', version: 2 }), refused(409, /fraud v2 is rejected, not a champion/));
  assert.throws(() => r.apply({ action: 'demote', version: 1 }), refused(409, /cannot demote fraud v1: no earlier champion/));
});

test('demote: an earlier champion (a failing fallback) is rejected and the serving champion stays', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'champion'));
  const t = r.apply({ action: 'demote', version: 1 });
  assert.deepEqual(t.servingAfter, { model_name: 'fraud', model_version: 2 });
  assert.equal(r.serving(), 'fraud v2');
  assert.equal(listModels(r.state, 'fraud').find((m) => m.model_version === 1)?.stage, 'rejected');
});

test('promote to challenger: it scores beside the champion, the newest challenger wins, and promoting it makes it serve', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'candidate'), record('fraud', 3, 'candidate'));
  assert.equal(r.challenger(), undefined);
  const t = r.apply({ action: 'promote', version: 2, to: 'challenger' });
  assert.equal(t.record.stage, 'challenger');
  assert.match(t.record.decision_reason, /promoted fraud v2 to challenger/);
  assert.deepEqual([t.servingAfter, t.challengerAfter], [{ model_name: 'fraud', model_version: 1 }, { model_name: 'fraud', model_version: 2 }]);
  assert.deepEqual([r.serving(), r.challenger()], ['fraud v1', 'fraud v2']);
  assert.throws(() => r.apply({ action: 'promote', version: 2, to: 'challenger' }), refused(409, /already the challenger/));
  assert.throws(() => r.apply({ action: 'promote', version: 1, to: 'challenger' }), refused(409, /already the serving champion: roll back/));
  r.apply({ action: 'promote', version: 3, to: 'challenger' });
  assert.equal(r.challenger(), 'fraud v3');
  assert.deepEqual(listModels(r.state, 'fraud').map((m) => [m.model_version, m.stage, m.serving, m.challenger]), [
    [1, 'champion', true, false], [2, 'challenger', false, false], [3, 'challenger', false, true],
  ]);
  // The challenger leaves its stage: the newest other challenger takes its place.
  const promoted = r.apply({ action: 'promote', version: 3 });
  assert.deepEqual([promoted.servingAfter, promoted.challengerAfter], [{ model_name: 'fraud', model_version: 3 }, { model_name: 'fraud', model_version: 2 }]);
  assert.deepEqual([r.serving(), r.challenger()], ['fraud v3', 'fraud v2']);
  assert.throws(() => r.apply({ action: 'archive', version: 2, to: 'challenger' }), refused(400, /archive takes no target stage/));
});

test('demote: a failing challenger is rejected by policy and the champion keeps serving', () => {
  const r = registry(record('fraud', 1, 'champion'), record('fraud', 2, 'challenger'));
  const t = r.apply({ action: 'demote', version: 2 });
  assert.equal(t.record.stage, 'rejected');
  assert.deepEqual([t.servingAfter, t.challengerAfter], [{ model_name: 'fraud', model_version: 1 }, undefined]);
  assert.deepEqual([r.serving(), r.challenger()], ['fraud v1', undefined]);
  assert.throws(() => r.apply({ action: 'demote', version: 2 }), refused(409, /is rejected, not a champion or challenger/));
});
