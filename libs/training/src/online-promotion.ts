// The online half of promotion: a challenger that passed offline scores in shadow beside the champion; once the two
// share promotion.online_labels labelled live events, the same paired tests on exactly those events (the earliest M:
// one look at a fixed horizon, so repeated reviews cannot inflate false promotions) promote it or reject it.
import { loadPairedOutcomes, type ClickHouseClient } from '@streamloop/clickhouse';
import type { PipelineSpec } from '@streamloop/config';
import { challengerOf, championOf, planTransition, PROBATION_LABELS_METRIC, type ModelRegistryRecord } from '@streamloop/model-registry';
import { decidePromotion, delongTest, pairedLogLossTest } from '@streamloop/promotion';
import { promotionRuleOf } from './offline-promotion';
import type { JobLogger, ModelRegistryAccess } from './training-run';

export interface OnlineReviewDeps {
  clickhouse: ClickHouseClient;
  registry: ModelRegistryAccess;
  logger: JobLogger;
  now(): number;
}

export type OnlineReview =
  /** No challenger (or no champion), or the spec has no online stage: nothing to review. */
  | { status: 'idle' }
  /** In split mode no event is scored by both models: an operator decides (models promote / archive). */
  | { status: 'split'; challenger: string }
  /** Fewer shared labelled events than the horizon so far. */
  | { status: 'waiting'; challenger: string; labelled: number; needed: number }
  | { status: 'decided'; verdict: 'promote' | 'reject'; record: ModelRegistryRecord };

/** Reviews the pipeline's challenger once; publishes the decision when the horizon is reached. */
export async function reviewChallenger(deps: OnlineReviewDeps, spec: PipelineSpec): Promise<OnlineReview> {
  const rule = promotionRuleOf(spec.promotion);
  if (rule.onlineLabels === 0) return { status: 'idle' };
  const registry = await deps.registry.read();
  const champion = championOf(registry, spec.pipeline)?.record;
  const challenger = challengerOf(registry, spec.pipeline)?.record;
  if (!champion || !challenger) return { status: 'idle' };
  const name = `${challenger.model_name} v${challenger.model_version}`;
  if ((spec.serving?.challenger.mode ?? 'shadow') === 'split') return { status: 'split', challenger: name };
  // Only predictions since it became challenger can pair (decided_at; 0 on records from before the audit trail).
  const outcomes = await loadPairedOutcomes(deps.clickhouse, {
    pipeline: spec.pipeline, champion, challenger, limit: rule.onlineLabels, predictedSince: Math.max(0, challenger.decided_at - 60_000),
  });
  if (outcomes.length < rule.onlineLabels) return { status: 'waiting', challenger: name, labelled: outcomes.length, needed: rule.onlineLabels };
  const labels = outcomes.map((o) => o.label);
  const championScores = outcomes.map((o) => o.champion_score);
  const challengerScores = outcomes.map((o) => o.challenger_score);
  const positives = labels.filter((y) => y === 1).length;
  let verdict: 'promote' | 'reject';
  let reason: string;
  let metrics: Record<string, number>;
  if (positives === 0 || positives === labels.length) {
    // One class only: ROC AUC is undefined on these events; the challenger has not shown it is better.
    verdict = 'reject';
    reason = `its ${labels.length} labelled live events have ${positives === 0 ? 'no positive' : 'only positive'} labels: nothing to compare`;
    metrics = { online_n: labels.length, online_positives: positives };
  } else {
    const decision = decidePromotion(
      delongTest(labels, championScores, challengerScores), pairedLogLossTest(labels, championScores, challengerScores),
      { alpha: rule.alpha, minAucGain: rule.minAucGain },
    );
    verdict = decision.verdict;
    reason = decision.reason;
    metrics = Object.fromEntries(Object.entries(decision.metrics).map(([k, v]) => [`online_${k}`, v]));
  }
  const first = outcomes[0].event_time;
  const last = outcomes[outcomes.length - 1].event_time;
  metrics.online_window_start = first;
  metrics.online_window_end = last;
  // A promoted challenger serves on probation: the champion it replaces scores beside it in shadow (probation.ts).
  const probation = verdict === 'promote' && rule.probationLabels > 0;
  if (probation) metrics[PROBATION_LABELS_METRIC] = rule.probationLabels;
  const planned = planTransition(registry, spec.pipeline, {
    action: verdict === 'promote' ? 'promote' : 'demote', version: challenger.model_version, model: challenger.model_name,
    decidedBy: 'policy', now: deps.now(), metrics,
    reason: `online against ${champion.model_name} v${champion.model_version} on ${labels.length} labelled live events (promotion.online_labels): ${reason}` +
      (probation ? `; on probation: ${champion.model_name} v${champion.model_version} scores in shadow until ${rule.probationLabels} labelled live events decide (promotion.probation_labels)` : ''),
  });
  await deps.registry.publish(planned.record);
  deps.logger.info({ pipeline: spec.pipeline, challenger: name, verdict, reason: planned.record.decision_reason }, verdict === 'promote' ? 'challenger promoted' : 'challenger rejected');
  return { status: 'decided', verdict, record: planned.record };
}
