import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aucCurve, aucLoss, promotionsOf, summarizePromotions, type ModelEventRow, type ServedRow } from './metrics';

/** Four events per window: labels 0 1 0 1; a perfect score ranks them, an inverted one the other way round. */
function served(total: number, perfectFrom: number, version: (i: number) => number = (i) => (i < perfectFrom ? 1 : 2)): ServedRow[] {
  return Array.from({ length: total }, (_, index) => {
    const label = index % 2;
    const score = index < perfectFrom ? 1 - label * 0.8 - 0.1 : 0.1 + label * 0.8;
    return { index, score, predicted: score >= 0.5 ? 1 : 0, label, version: version(index) };
  });
}

test('aucCurve: per window, the served AUC beside the best-possible and oracle scores on the same events', () => {
  const rows = served(12, 4);
  const best = Float64Array.from({ length: 12 }, (_, i) => i % 2);
  const curve = aucCurve(rows, best, best, 4, 12);
  assert.deepEqual(curve.map((p) => [p.from, p.to, p.n, p.achieved, p.best, p.errorRate, p.bestErrorRate, p.version]), [
    [0, 4, 4, 0, 1, 1, 0, 1],
    [4, 8, 4, 1, 1, 0, 0, 2],
    [8, 12, 4, 1, 1, 0, 0, 2],
  ]);
});

test('aucCurve: a window with one class or nothing served has NaN AUC, and aucLoss leaves it out', () => {
  const rows = served(8, 0).filter((r) => r.index < 4 || r.label === 1);
  const curve = aucCurve(rows, new Float64Array(8).fill(0.5), new Float64Array(8), 4, 12);
  assert.ok(Number.isNaN(curve[1].achieved) && curve[2].n === 0 && Number.isNaN(curve[2].achieved));
  assert.equal(aucLoss(curve, 0).events, 4);
});

test('aucLoss: Σ (best − achieved) × n from the change on, and the mean gap per event', () => {
  const curve = aucCurve(served(12, 8), Float64Array.from({ length: 12 }, (_, i) => i % 2), new Float64Array(12), 4, 12);
  const after = aucLoss(curve, 4);
  assert.deepEqual([after.lost, after.meanGap, after.achieved, after.best, after.events], [4, 0.5, 0.5, 1, 8]);
  assert.equal(aucLoss(curve, 0, 4).lost, 4);
});

test('promotionsOf and summarizePromotions: each later champion once, its decision and first served event measured from the change', () => {
  const t0 = 1_000_000;
  const at = (index: number) => t0 + index * 10;
  const events: ModelEventRow[] = [
    { model_version: 1, stage: 'champion', decided_by: 'training', decided_at: at(1), decision_reason: '' },
    { model_version: 2, stage: 'challenger', decided_by: 'training', decided_at: at(2), decision_reason: '' },
    { model_version: 2, stage: 'champion', decided_by: 'policy', decided_at: at(3), decision_reason: '' },
    { model_version: 3, stage: 'champion', decided_by: 'policy', decided_at: at(9), decision_reason: '' },
    { model_version: 2, stage: 'champion', decided_by: 'cli', decided_at: at(10), decision_reason: 'rolled back' },
  ];
  const rows = served(12, 0, (i) => (i < 4 ? 1 : i < 10 ? 2 : 3));
  const promotions = promotionsOf(events, rows, t0, 10);
  assert.deepEqual(promotions, [
    { version: 2, decidedBy: 'policy', decidedIndex: 3, firstServedIndex: 4 },
    { version: 3, decidedBy: 'policy', decidedIndex: 9, firstServedIndex: 10 },
  ]);
  const summary = summarizePromotions(promotions, 5);
  assert.deepEqual([summary.falsePromotions, summary.firstAfterChange?.version, summary.eventsToDecision, summary.eventsToServing], [1, 3, 4, 5]);
  assert.equal(summarizePromotions(promotions, null).falsePromotions, 2);
});
