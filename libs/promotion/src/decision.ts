import type { AucComparison, LogLossComparison } from './paired-tests';
import { normalSf, studentTSf } from './distributions';

/**
 * The promotion rule: a candidate replaces the champion only when the evidence says it is better. One-sided tests at
 * level `alpha` on the same events: ROC AUC (DeLong) must be higher by at least `minAucGain` with significance, and
 * log loss must not be significantly worse. Asked once per comparison (a fixed horizon): the caller decides when it has
 * the events, never looks again at a growing sample, so two equal models are promoted at no more than `alpha`.
 */
export interface PromotionRule {
  /** One-sided significance level of the AUC test (and of the log-loss guard). */
  alpha: number;
  /** Smallest AUC gain (candidate − champion) worth a promotion, besides significance. */
  minAucGain: number;
}

export type PromotionVerdict = 'promote' | 'reject';

export interface PromotionDecision {
  verdict: PromotionVerdict;
  /** Why, in a sentence with the numbers (recorded as the registry record's decision_reason). */
  reason: string;
  /** The numbers behind it (the registry record's decision_metrics). */
  metrics: Record<string, number>;
}

export function decidePromotion(auc: AucComparison, logLoss: LogLossComparison, rule: PromotionRule): PromotionDecision {
  if (!(rule.alpha > 0 && rule.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${rule.alpha}`);
  if (!(rule.minAucGain >= 0 && rule.minAucGain < 1)) throw new RangeError(`minAucGain must be in [0, 1), got ${rule.minAucGain}`);
  // One-sided p-values: the candidate's AUC is higher; the candidate's log loss is higher (worse).
  const aucBetterP = auc.standardError > 0 ? normalSf(auc.z) : auc.difference > 0 ? 0 : 1;
  const logLossWorseP = logLoss.standardError > 0 ? studentTSf(logLoss.t, logLoss.degreesOfFreedom) : logLoss.difference > 0 ? 0 : 1;
  const metrics: Record<string, number> = {
    n: auc.n, positives: auc.positives,
    auc_champion: auc.aucChampion, auc_candidate: auc.aucCandidate, auc_difference: auc.difference,
    auc_ci_low: auc.confidenceInterval[0], auc_ci_high: auc.confidenceInterval[1], auc_z: finiteOr(auc.z), auc_p_value: aucBetterP,
    log_loss_champion: logLoss.logLossChampion, log_loss_candidate: logLoss.logLossCandidate, log_loss_difference: logLoss.difference,
    log_loss_ci_low: logLoss.confidenceInterval[0], log_loss_ci_high: logLoss.confidenceInterval[1], log_loss_p_value: logLossWorseP,
    alpha: rule.alpha, min_auc_gain: rule.minAucGain,
  };
  const numbers = `AUC ${fmt(auc.aucCandidate)} vs ${fmt(auc.aucChampion)} (difference ${signed(auc.difference)}, ` +
    `${Math.round(auc.confidence * 100)} % CI [${signed(auc.confidenceInterval[0])}, ${signed(auc.confidenceInterval[1])}], one-sided p ${p(aucBetterP)}), ` +
    `log loss ${fmt(logLoss.logLossCandidate)} vs ${fmt(logLoss.logLossChampion)} on ${auc.n} events (${auc.positives} positive)`;
  if (logLossWorseP <= rule.alpha) {
    return { verdict: 'reject', reason: `log loss significantly worse (one-sided p ${p(logLossWorseP)} ≤ ${rule.alpha}): ${numbers}`, metrics };
  }
  if (aucBetterP > rule.alpha) {
    return { verdict: 'reject', reason: `AUC gain not significant (one-sided p ${p(aucBetterP)} > ${rule.alpha}): ${numbers}`, metrics };
  }
  if (auc.difference < rule.minAucGain) {
    return { verdict: 'reject', reason: `AUC gain ${signed(auc.difference)} below the minimum ${rule.minAucGain}: ${numbers}`, metrics };
  }
  return { verdict: 'promote', reason: `better: ${numbers}`, metrics };
}

export type ProbationVerdict = 'keep' | 'roll_back';

export interface ProbationDecision {
  verdict: ProbationVerdict;
  reason: string;
  metrics: Record<string, number>;
}

/**
 * The end of a probation: the newly promoted champion and the previous one, on the same labelled live events. The new
 * one is rolled back only when it is significantly worse — the previous champion's ROC AUC higher by DeLong's
 * one-sided test at `alpha` — so a new champion as good as the old one is rolled back at no more than `alpha` (one
 * look at a fixed horizon, as for promotion). Log loss is reported, not decisive: the promotion already weighed it.
 * `auc` and `logLoss` compare with the new champion as "champion" and the previous one as "candidate".
 */
export function decideProbation(auc: AucComparison, logLoss: LogLossComparison, rule: Pick<PromotionRule, 'alpha'>): ProbationDecision {
  if (!(rule.alpha > 0 && rule.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${rule.alpha}`);
  const previousBetterP = auc.standardError > 0 ? normalSf(auc.z) : auc.difference > 0 ? 0 : 1;
  const metrics: Record<string, number> = {
    n: auc.n, positives: auc.positives,
    auc_champion: auc.aucChampion, auc_previous: auc.aucCandidate, auc_difference: -auc.difference,
    auc_ci_low: -auc.confidenceInterval[1], auc_ci_high: -auc.confidenceInterval[0], auc_z: finiteOr(-auc.z), auc_p_value: previousBetterP,
    log_loss_champion: logLoss.logLossChampion, log_loss_previous: logLoss.logLossCandidate, log_loss_difference: -logLoss.difference,
    alpha: rule.alpha,
  };
  // Reported as the new champion's AUC minus the previous one's: negative is worse.
  const numbers = `AUC ${fmt(auc.aucChampion)} vs the previous champion's ${fmt(auc.aucCandidate)} (difference ${signed(-auc.difference)}, ` +
    `${Math.round(auc.confidence * 100)} % CI [${signed(-auc.confidenceInterval[1])}, ${signed(-auc.confidenceInterval[0])}], one-sided p ${p(previousBetterP)}), ` +
    `log loss ${fmt(logLoss.logLossChampion)} vs ${fmt(logLoss.logLossCandidate)} on ${auc.n} events (${auc.positives} positive)`;
  if (previousBetterP <= rule.alpha) {
    return { verdict: 'roll_back', reason: `significantly worse than the previous champion (one-sided p ${p(previousBetterP)} ≤ ${rule.alpha}): ${numbers}`, metrics };
  }
  return { verdict: 'keep', reason: `not significantly worse than the previous champion (one-sided p ${p(previousBetterP)} > ${rule.alpha}): ${numbers}`, metrics };
}

function finiteOr(x: number): number {
  return Number.isFinite(x) ? x : Math.sign(x) * Number.MAX_VALUE;
}

function fmt(x: number): string {
  return x.toFixed(4);
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
}

function p(x: number): string {
  return x < 1e-4 ? x.toExponential(1) : x.toFixed(4);
}
