// Automatic rollback: a champion promoted by policy serves on probation while the champion it replaced scores beside
// it in shadow (the registry's probation rule). Once both have scored promotion.probation_labels labelled live events,
// one fixed-horizon test on exactly those events decides: significantly worse (DeLong, one-sided at promotion.alpha)
// → rolled back, with a record and a model_rollback alert; otherwise kept, and the previous champion stops scoring.
import { randomUUID } from 'node:crypto';
import { loadPairedOutcomes } from '@streamloop/clickhouse';
import type { PipelineSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { challengerOf, planTransition, probationOf, type ModelRegistryRecord } from '@streamloop/model-registry';
import { decideProbation, delongTest, pairedLogLossTest, type ProbationVerdict } from '@streamloop/promotion';
import { promotionRuleOf } from './offline-promotion';
import type { OnlineReviewDeps } from './online-promotion';

export interface ProbationReviewDeps extends OnlineReviewDeps {
  /** The pipeline's alerts topic: a rollback raises a model_rollback alert. */
  raiseAlerts?(alerts: AlertRecord[]): Promise<void>;
}

export type ProbationReview =
  /** No champion on probation. */
  | { status: 'idle' }
  /** A challenger holds the place beside the champion: the previous champion does not score until it leaves. */
  | { status: 'blocked'; champion: string; challenger: string }
  | { status: 'waiting'; champion: string; labelled: number; needed: number }
  | { status: 'decided'; verdict: ProbationVerdict; record: ModelRegistryRecord };

/** Reviews the pipeline's probation once; publishes its end when the horizon is reached. */
export async function reviewProbation(deps: ProbationReviewDeps, spec: PipelineSpec): Promise<ProbationReview> {
  const registry = await deps.registry.read();
  const probation = probationOf(registry, spec.pipeline);
  if (!probation) return { status: 'idle' };
  const champion = probation.champion.record;
  const previous = probation.previous.record;
  const name = `${champion.model_name} v${champion.model_version}`;
  const previousName = `${previous.model_name} v${previous.model_version}`;
  const challenger = challengerOf(registry, spec.pipeline)?.record;
  if (challenger) return { status: 'blocked', champion: name, challenger: `${challenger.model_name} v${challenger.model_version}` };
  // The previous champion's shadow predictions carry the challenger role; only those since the promotion pair.
  const outcomes = await loadPairedOutcomes(deps.clickhouse, {
    pipeline: spec.pipeline, champion, challenger: previous, limit: probation.labels, predictedSince: Math.max(0, champion.decided_at - 60_000),
  });
  if (outcomes.length < probation.labels) return { status: 'waiting', champion: name, labelled: outcomes.length, needed: probation.labels };
  const labels = outcomes.map((o) => o.label);
  const championScores = outcomes.map((o) => o.champion_score);
  const previousScores = outcomes.map((o) => o.challenger_score);
  const positives = labels.filter((y) => y === 1).length;
  let verdict: ProbationVerdict;
  let reason: string;
  let metrics: Record<string, number>;
  if (positives === 0 || positives === labels.length) {
    // One class only: ROC AUC is undefined; nothing shows the new champion is worse.
    verdict = 'keep';
    reason = `its ${labels.length} labelled live events have ${positives === 0 ? 'no positive' : 'only positive'} labels: nothing shows it is worse`;
    metrics = { probation_n: labels.length, probation_positives: positives };
  } else {
    const decision = decideProbation(delongTest(labels, championScores, previousScores), pairedLogLossTest(labels, championScores, previousScores), {
      alpha: promotionRuleOf(spec.promotion).alpha,
    });
    verdict = decision.verdict;
    reason = decision.reason;
    metrics = Object.fromEntries(Object.entries(decision.metrics).map(([k, v]) => [`probation_${k}`, v]));
  }
  const windowStart = outcomes[0].event_time;
  const windowEnd = outcomes[outcomes.length - 1].event_time;
  metrics.probation_window_start = windowStart;
  metrics.probation_window_end = windowEnd;
  const now = deps.now();
  const why = `probation against ${previousName} on ${labels.length} labelled live events (promotion.probation_labels): ${reason}`;
  let record: ModelRegistryRecord;
  if (verdict === 'roll_back') {
    // The rule's rollback: the champion is rejected and the previous champion, next in line, serves again.
    record = planTransition(registry, spec.pipeline, {
      action: 'rollback', decidedBy: 'policy', now, metrics, reason: `rolled back automatically after its ${why}; ${previousName} serves again`,
    }).record;
  } else {
    // Kept: the same version republished without the probation metric, so the previous champion stops scoring.
    record = { ...champion, decided_by: 'policy', decided_at: now, decision_reason: `kept after its ${why}`, decision_metrics: metrics };
  }
  await deps.registry.publish(record);
  if (verdict === 'roll_back' && deps.raiseAlerts) {
    await deps.raiseAlerts([{
      alert_id: randomUUID(), pipeline: spec.pipeline, kind: 'model_rollback', feature: '', statistic: 'delong',
      value: metrics.probation_auc_p_value, threshold: metrics.probation_alpha, window_start: windowStart, window_end: windowEnd,
      model_name: champion.model_name, model_version: champion.model_version, model_role: 'champion', created_at: now,
    }]);
  }
  deps.logger.info({ pipeline: spec.pipeline, champion: name, previous: previousName, verdict, reason: record.decision_reason },
    verdict === 'roll_back' ? 'champion rolled back after its probation' : 'champion kept after its probation');
  return { status: 'decided', verdict, record };
}
