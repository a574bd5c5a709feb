// What bench:loop measures from one run's record (bench/loop/one.ts): live AUC in consecutive windows of events beside
// the best possible, the AUC lost after the change, and the promotions (when the first model after the change started
// serving, and how many promotions there were at all). Pure, so it is unit-tested.
import { rocAuc } from '@streamloop/ml';

export interface ServedRow { index: number; score: number; predicted: number; label: number; version: number }

export interface WindowPoint {
  /** Events [from, to). */
  from: number;
  to: number;
  /** Served, labelled predictions in the window. */
  n: number;
  /** ROC AUC of the served scores; NaN when the window has one class only (or nothing served). */
  achieved: number;
  /** ROC AUC of the best-possible scores on the same events. */
  best: number;
  /** ROC AUC of the generator's own labelling function on the same events. */
  oracle: number;
  /** Share of the served predicted classes that were wrong (at the model's threshold). */
  errorRate: number;
  /** The best-possible scores' error rate at 0.5. */
  bestErrorRate: number;
  /** The model version that served most of the window. */
  version: number;
}

/** Live AUC in consecutive windows [k·size, (k+1)·size) of event indices, beside the reference scores (by event index). */
export function aucCurve(served: readonly ServedRow[], best: ArrayLike<number>, oracle: ArrayLike<number>, size: number, total: number): WindowPoint[] {
  const points: WindowPoint[] = [];
  const sorted = [...served].sort((a, b) => a.index - b.index);
  let k = 0;
  for (let from = 0; from < total; from += size) {
    const to = Math.min(total, from + size);
    const rows: ServedRow[] = [];
    while (k < sorted.length && sorted[k].index < to) {
      if (sorted[k].index >= from) rows.push(sorted[k]);
      k++;
    }
    const labels = rows.map((r) => r.label);
    const auc = (scores: number[]) => (new Set(labels).size === 2 ? rocAuc(labels, scores) : Number.NaN);
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.version, (counts.get(r.version) ?? 0) + 1);
    const version = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
    points.push({
      from, to, n: rows.length,
      achieved: auc(rows.map((r) => r.score)),
      best: auc(rows.map((r) => best[r.index])),
      oracle: auc(rows.map((r) => oracle[r.index])),
      errorRate: rows.length > 0 ? rows.filter((r) => r.predicted !== r.label).length / rows.length : Number.NaN,
      bestErrorRate: rows.length > 0 ? rows.filter((r) => (best[r.index] >= 0.5 ? 1 : 0) !== r.label).length / rows.length : Number.NaN,
      version,
    });
  }
  return points;
}

export interface AucLoss {
  /** Σ over windows starting at or after `from` of (best − achieved) × n: AUC × events. */
  lost: number;
  /** lost / Σ n: the mean AUC gap per event. */
  meanGap: number;
  /** Mean achieved and best AUC over those windows (weighted by n). */
  achieved: number;
  best: number;
  /** Mean served and best-possible error rates over those windows (weighted by n). */
  errorRate: number;
  bestErrorRate: number;
  events: number;
}

/** The area between the best-possible and the achieved curve from event `from` on (windows with one class are left out). */
export function aucLoss(points: readonly WindowPoint[], from: number, to = Number.POSITIVE_INFINITY): AucLoss {
  let lost = 0;
  let events = 0;
  let achieved = 0;
  let best = 0;
  let errors = 0;
  let bestErrors = 0;
  for (const p of points) {
    if (p.from < from || p.from >= to || !(Number.isFinite(p.achieved) && Number.isFinite(p.best))) continue;
    lost += (p.best - p.achieved) * p.n;
    achieved += p.achieved * p.n;
    best += p.best * p.n;
    errors += p.errorRate * p.n;
    bestErrors += p.bestErrorRate * p.n;
    events += p.n;
  }
  return {
    lost, meanGap: events > 0 ? lost / events : Number.NaN, achieved: achieved / events, best: best / events,
    errorRate: errors / events, bestErrorRate: bestErrors / events, events,
  };
}

export interface ModelEventRow { model_version: number; stage: string; decided_by: string; decided_at: number; decision_reason: string }

export interface Promotion {
  version: number;
  decidedBy: string;
  /** The event the producer was sending when the promotion was decided: (decided_at − t0) / step. */
  decidedIndex: number;
  /** The first event the new champion served (undefined when it served none). */
  firstServedIndex: number | undefined;
}

/** Every version that became champion after the pipeline's first model, in registry order, once each. */
export function promotionsOf(modelEvents: readonly ModelEventRow[], served: readonly ServedRow[], t0: number, stepMs: number): Promotion[] {
  const first = modelEvents.find((e) => e.stage === 'champion');
  if (!first) return [];
  const firstServed = new Map<number, number>();
  for (const r of served) firstServed.set(r.version, Math.min(firstServed.get(r.version) ?? r.index, r.index));
  const seen = new Set([first.model_version]);
  const promotions: Promotion[] = [];
  for (const e of modelEvents) {
    if (e.stage !== 'champion' || seen.has(e.model_version)) continue;
    seen.add(e.model_version);
    promotions.push({
      version: e.model_version, decidedBy: e.decided_by, decidedIndex: Math.round((e.decided_at - t0) / stepMs), firstServedIndex: firstServed.get(e.model_version),
    });
  }
  return promotions;
}

export interface PromotionSummary {
  /** Promotions decided before the change (all of them on a control): no new concept to learn, so false promotions. */
  falsePromotions: number;
  /** The first promotion decided at or after the change, if any. */
  firstAfterChange: Promotion | undefined;
  /** Its first served event − the change position (events from change to the promoted model serving). */
  eventsToServing: number | undefined;
  /** Its decision's event − the change position. */
  eventsToDecision: number | undefined;
}

export function summarizePromotions(promotions: readonly Promotion[], changeAt: number | null): PromotionSummary {
  if (changeAt === null) return { falsePromotions: promotions.length, firstAfterChange: undefined, eventsToServing: undefined, eventsToDecision: undefined };
  const first = promotions.find((p) => p.decidedIndex >= changeAt);
  return {
    falsePromotions: promotions.filter((p) => p.decidedIndex < changeAt).length,
    firstAfterChange: first,
    eventsToServing: first?.firstServedIndex === undefined ? undefined : first.firstServedIndex - changeAt,
    eventsToDecision: first === undefined ? undefined : first.decidedIndex - changeAt,
  };
}
