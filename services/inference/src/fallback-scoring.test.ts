// The scoring decision at serve time with fake scorers (no ONNX): which rows the fallback scores, which are
// dead-lettered, what counts toward a demotion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OnnxScorer } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { ModelFailureLedger, scoreWithFallback, type RowScorer, type ScoredRow } from './fallback-scoring';
import type { ServingModel } from './model-store';

function model(version: number, offset = version): ServingModel {
  const record = { pipeline: 'fraud', model_name: 'fraud', model_version: version, threshold: 0.5 } as ModelRegistryRecord;
  return { record, offset: BigInt(offset), scorer: {} as OnnxScorer, loadedAt: 0 };
}

const CHAMPION = model(2);
const FALLBACK = model(1);
const ROWS = [{ x: 0.1 }, { x: 0.2 }, { x: 0.3 }, { x: 0.4 }];

/** A scorer per model version: the fallback always answers 0.5; the champion as `champion` says. */
function scorer(champion: (rows: Array<Record<string, number>>) => number[], fallbackFails = false): { score: RowScorer; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    score: async (m, rows) => {
      calls.push(`v${m.record.model_version}:${rows.map((r) => r.x).join(',')}`);
      if (m === CHAMPION) return champion(rows);
      if (fallbackFails) throw new Error('fallback broke too');
      return rows.map(() => 0.5);
    },
  };
}

const summary = (rows: ScoredRow[]) => rows.map((r) => (r.score === undefined ? 'dead-letter' : `${r.score}${r.fallback ? ` by v${r.model.record.model_version}` : ''}`));

test('a healthy champion scores every row; the fallback is not called', async () => {
  const s = scorer((rows) => rows.map((r) => r.x));
  const out = await scoreWithFallback(s.score, CHAMPION, FALLBACK, ROWS);
  assert.deepEqual(summary(out.rows), ['0.1', '0.2', '0.3', '0.4']);
  assert.deepEqual(out.failures, []);
  assert.deepEqual(s.calls, ['v2:0.1,0.2,0.3,0.4']);
});

test('a champion that throws: the whole batch goes to the fallback, flagged, scored by the fallback', async () => {
  const s = scorer(() => { throw new Error('onnxruntime: bad tensor'); });
  const out = await scoreWithFallback(s.score, CHAMPION, FALLBACK, ROWS);
  assert.deepEqual(summary(out.rows), ['0.5 by v1', '0.5 by v1', '0.5 by v1', '0.5 by v1']);
  assert.ok(out.rows.every((r) => r.score !== undefined && r.model === FALLBACK && r.fallback));
  assert.deepEqual(out.failures.map((f) => [f.reason, f.rows, f.detail, f.asFallback]), [['error', 4, 'onnxruntime: bad tensor', false]]);
  assert.deepEqual(s.calls, ['v2:0.1,0.2,0.3,0.4', 'v1:0.1,0.2,0.3,0.4']);
});

test('only the rows scored NaN, ±Infinity or outside [0, 1] go to the fallback; the others keep the champion\'s score', async () => {
  const s = scorer(() => [0.1, Number.NaN, 1.5, Number.POSITIVE_INFINITY]);
  const out = await scoreWithFallback(s.score, CHAMPION, FALLBACK, ROWS);
  assert.deepEqual(summary(out.rows), ['0.1', '0.5 by v1', '0.5 by v1', '0.5 by v1']);
  assert.deepEqual(out.failures.map((f) => [f.reason, f.rows]), [['non_finite', 2], ['out_of_range', 1]]);
  assert.deepEqual(s.calls, ['v2:0.1,0.2,0.3,0.4', 'v1:0.2,0.3,0.4']);
  // The bounds are probabilities: exactly 0 and 1 are good scores.
  const edges = await scoreWithFallback(scorer(() => [0, 1, -0.01, 1.0001]).score, CHAMPION, FALLBACK, ROWS);
  assert.deepEqual(summary(edges.rows), ['0', '1', '0.5 by v1', '0.5 by v1']);
});

test('a scorer that answers the wrong number of scores counts as a failed call', async () => {
  const out = await scoreWithFallback(scorer(() => [0.1]).score, CHAMPION, FALLBACK, ROWS);
  assert.deepEqual(summary(out.rows), ['0.5 by v1', '0.5 by v1', '0.5 by v1', '0.5 by v1']);
  assert.match(out.failures[0].detail, /returned 1 scores for 4 rows/);
});

test('without a fallback, or when it fails too, the failed rows come back with the reason (to be dead-lettered)', async () => {
  const alone = await scoreWithFallback(scorer(() => [0.1, 1.5, 0.3, 0.4]).score, CHAMPION, undefined, ROWS);
  assert.deepEqual(summary(alone.rows), ['0.1', 'dead-letter', '0.3', '0.4']);
  const dead = alone.rows[1];
  assert.ok(dead.score === undefined && /fraud v2 scored 1\.5, expected a probability in \[0, 1\]; no earlier champion loaded/.test(dead.error));

  const both = await scoreWithFallback(scorer(() => { throw new Error('boom'); }, true).score, CHAMPION, FALLBACK, ROWS);
  assert.deepEqual(summary(both.rows), ['dead-letter', 'dead-letter', 'dead-letter', 'dead-letter']);
  const first = both.rows[0];
  assert.ok(first.score === undefined && /fraud v2 failed to score: boom; the fallback fraud v1 failed too: .*fallback broke too/.test(first.error));
  assert.deepEqual(both.failures.map((f) => [f.model.record.model_version, f.reason, f.rows, f.asFallback]), [[2, 'error', 4, false], [1, 'error', 4, true]]);
});

test('the ledger says "demote" once, when a model\'s failed rows reach the limit; a republished record counts afresh', () => {
  const ledger = new ModelFailureLedger(5);
  const fail = (m: ServingModel, rows: number, reason: 'error' | 'out_of_range' = 'out_of_range') => ledger.add({ model: m, reason, rows, detail: '', asFallback: false });
  assert.equal(fail(CHAMPION, 2), false);
  assert.equal(fail(CHAMPION, 2, 'error'), false);
  assert.equal(fail(CHAMPION, 1), true);
  assert.equal(fail(CHAMPION, 10), false, 'once per model record');
  assert.equal(ledger.failedRowsOf(CHAMPION), 15);
  assert.deepEqual(ledger.failedRowsByReason(CHAMPION), { out_of_range: 13, error: 2 });
  // A demotion that could not be published is due again on the next failure.
  ledger.retry(CHAMPION);
  assert.equal(fail(CHAMPION, 1), true);
  assert.equal(fail(model(2, 9), 4), false, 'v2 republished (another offset) starts at 0');
  assert.equal(fail(FALLBACK, 5), true);
});
