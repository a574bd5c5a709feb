// When training runs: the spec's retraining policy applied to one trigger (an alert from monitoring, the schedule, a
// command). Pure: the caller gathers the facts (the champion, when the last run started, whether one is under way or a
// challenger is being proven, how many labelled events are newer than the champion's data) and records the decision.
import type { RetrainingSpec } from '@streamloop/config';
import { DEFAULT_MIN_NEW_LABELS, DEFAULT_RETRAINING_COOLDOWN, parseDuration } from '@streamloop/config';

/** What asks for a run. Commands and schedules are operators' and always run (unless one is under way). */
export type RetrainingTrigger =
  | { kind: 'alert'; alert: { alert_id: string; kind: string; statistic: string; feature: string; model_name: string; model_version: number; model_role: string } }
  | { kind: 'schedule' }
  | { kind: 'command' }
  | { kind: 'first_model' };

export interface RetrainingFacts {
  now: number;
  /** The serving champion, if any. */
  champion?: { model_name: string; model_version: number; data_window_end: number };
  /** When the last run of the pipeline started (epoch ms), if any. */
  lastRunAt?: number;
  runInProgress: boolean;
  /** A challenger is being proven on live events: another run would replace it before its verdict. */
  challengerUnderReview: boolean;
  /** The champion is on probation (the previous champion scores beside it): its verdict comes before a new model. */
  championOnProbation?: boolean;
  /** Labelled events newer than the champion's training data; asked only for an alert that passes the other checks. */
  countNewLabels(): Promise<number>;
}

export type RetrainingReason =
  | 'started' | 'not_a_trigger' | 'not_the_champion' | 'cooldown' | 'run_in_progress' | 'challenger_under_review' | 'probation' | 'not_enough_new_labels';

export interface RetrainingDecision {
  decision: 'trained' | 'skipped';
  reason: RetrainingReason;
  detail: string;
  /** The labelled events newer than the champion's data, when they were counted. */
  newLabels?: number;
  /**
   * For an alert skipped for "not now" (cooldown, a run or a review under way, too few new labels): when to ask again.
   * A champion that was alerted on stays alerted on: its detectors fire once, so the alert must not be lost.
   */
  retryAt?: number;
}

/** How soon an alert held back by a run, a review or too few labels is asked again. */
export const DEFERRED_ALERT_RETRY_MS = 15_000;

/** The spec's policy, defaults filled in (hand-built specs may carry none). */
export function retrainingPolicyOf(retraining: RetrainingSpec | undefined): RetrainingSpec {
  return retraining ?? { triggers: [{ kind: 'performance' }], cooldownMs: parseDuration(DEFAULT_RETRAINING_COOLDOWN)!, minNewLabels: DEFAULT_MIN_NEW_LABELS };
}

export async function decideRetraining(trigger: RetrainingTrigger, facts: RetrainingFacts, policy: RetrainingSpec): Promise<RetrainingDecision> {
  const skip = (reason: RetrainingReason, detail: string): RetrainingDecision => ({ decision: 'skipped', reason, detail });
  const later = (reason: RetrainingReason, detail: string, retryAt = facts.now + DEFERRED_ALERT_RETRY_MS): RetrainingDecision => (
    trigger.kind === 'alert' ? { ...skip(reason, `${detail}; asked again later`), retryAt } : skip(reason, detail));
  if (facts.runInProgress) return later('run_in_progress', 'a training run of the pipeline is under way');
  if (trigger.kind !== 'alert') return { decision: 'trained', reason: 'started', detail: `training on ${trigger.kind.replace('_', ' ')}` };
  const { alert } = trigger;
  const what = `${alert.kind}${alert.statistic ? ` (${alert.statistic}${alert.feature ? ` on ${alert.feature}` : ''})` : ''}`;
  const matches = policy.triggers.some((t) => t.kind === alert.kind && (t.statistic === undefined || t.statistic === alert.statistic));
  if (!matches) return skip('not_a_trigger', `alert ${what} is not among retraining.triggers`);
  const champion = facts.champion;
  // An alert about a challenger, or about a champion that no longer serves, says nothing about what serves now.
  if (!champion || alert.model_role !== 'champion' || alert.model_name !== champion.model_name || alert.model_version !== champion.model_version) {
    const serving = champion ? `${champion.model_name} v${champion.model_version}` : 'none';
    return skip('not_the_champion', `alert ${what} is about ${alert.model_role} ${alert.model_name} v${alert.model_version}; the champion is ${serving}`);
  }
  if (facts.lastRunAt !== undefined && facts.now - facts.lastRunAt < policy.cooldownMs) {
    const left = Math.ceil((policy.cooldownMs - (facts.now - facts.lastRunAt)) / 1000);
    return later('cooldown', `alert ${what}: the last run started ${Math.round((facts.now - facts.lastRunAt) / 1000)} s ago; retraining.cooldown leaves ${left} s`,
      facts.lastRunAt + policy.cooldownMs);
  }
  if (facts.challengerUnderReview) return later('challenger_under_review', `alert ${what}: a challenger is being proven on live events; its verdict comes first`);
  if (facts.championOnProbation) {
    return later('probation', `alert ${what}: ${champion.model_name} v${champion.model_version} is on probation beside the previous champion; its verdict comes first (a rollback, or keeping it)`);
  }
  const newLabels = await facts.countNewLabels();
  if (newLabels < policy.minNewLabels) {
    return { ...later('not_enough_new_labels', `alert ${what}: ${newLabels} labelled events newer than ${champion.model_name} v${champion.model_version}'s data, retraining.min_new_labels is ${policy.minNewLabels}`), newLabels };
  }
  return { decision: 'trained', reason: 'started', detail: `alert ${what} about ${champion.model_name} v${champion.model_version}, ${newLabels} new labelled events`, newLabels };
}
