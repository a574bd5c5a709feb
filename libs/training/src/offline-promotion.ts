// Where a freshly trained model goes: the first model serves; a later one is compared with the serving champion on
// the same most recent held-out window (libs/promotion's paired tests and rule) and becomes challenger (to prove itself
// on live events), champion (promotion.online_labels 0) or rejected. The decision and its numbers go on its record.
import { DEFAULT_ONLINE_LABELS, DEFAULT_PROBATION_LABELS, DEFAULT_PROMOTION_ALPHA, type PromotionSpec } from '@streamloop/config';
import { loadExternalModel, OnnxScorer } from '@streamloop/ml';
import { challengerOf, championOf, PROBATION_LABELS_METRIC, type ModelRegistryRecord, type ModelStage, type RegistryEntry, type RegistryState } from '@streamloop/model-registry';
import { decidePromotion, delongTest, pairedLogLossTest } from '@streamloop/promotion';

/** A spec's promotion rule, defaults filled in (hand-built specs may carry none). */
export function promotionRuleOf(promotion: PromotionSpec | undefined): PromotionSpec {
  return promotion ?? { alpha: DEFAULT_PROMOTION_ALPHA, minAucGain: 0, onlineLabels: DEFAULT_ONLINE_LABELS, probationLabels: DEFAULT_PROBATION_LABELS };
}

export interface HeldOutWindow {
  /** The held-out rows' feature values by name (missing: absent or NaN). */
  values: Array<Record<string, number>>;
  labels: number[];
  /** The new model's scores of those rows. */
  candidateScores: ArrayLike<number>;
}

export interface Placement {
  stage: ModelStage;
  reason: string;
  metrics: Record<string, number>;
  /** The pipeline's challenger, when the new model takes its place (it is archived). */
  replacedChallenger?: RegistryEntry;
}

/**
 * Decides the new model's stage from the registry as it is and the held-out window. The champion scores the window
 * with its own published ONNX (an external model through its signature), so both are judged on the same events.
 */
export async function placeNewModel(registry: RegistryState, pipeline: string, window: HeldOutWindow, rule: PromotionSpec): Promise<Placement> {
  const champion = championOf(registry, pipeline);
  if (!champion) return { stage: 'champion', reason: 'the pipeline\'s first model: it serves as champion', metrics: {} };
  const current = `${champion.record.model_name} v${champion.record.model_version}`;
  const online = rule.onlineLabels > 0;
  const challenger = challengerOf(registry, pipeline);
  const probation: { reason: string; metrics: Record<string, number> } = rule.probationLabels > 0
    ? { reason: `; on probation: ${current} scores in shadow until ${rule.probationLabels} labelled live events decide (promotion.probation_labels)`, metrics: { [PROBATION_LABELS_METRIC]: rule.probationLabels } }
    : { reason: '', metrics: {} };
  const whenBetter = (why: string, metrics: Record<string, number>): Placement => (online
    ? { stage: 'challenger', reason: `${why}; it scores beside ${current} in shadow until ${rule.onlineLabels} labelled live events decide (promotion.online_labels)`, metrics, replacedChallenger: challenger }
    : { stage: 'champion', reason: `${why}; it serves (promotion.online_labels 0)${probation.reason}`, metrics: { ...metrics, ...probation.metrics } });
  // Without a fair offline comparison the live one decides; offline only, an operator does.
  const uncompared = (why: string): Placement => (online
    ? whenBetter(`not compared offline: ${why}`, {})
    : { stage: 'candidate', reason: `not compared offline: ${why}; stored as candidate for an operator to promote`, metrics: {} });
  const known = new Set(window.values.flatMap((v) => Object.keys(v)));
  const absent = champion.record.feature_names.filter((n) => !known.has(n));
  const positives = window.labels.filter((y) => y === 1).length;
  if (absent.length > 0 || positives === 0 || positives === window.labels.length) {
    const why = absent.length > 0
      ? `the champion ${current} reads features this pipeline no longer computes (${absent.slice(0, 5).join(', ')})`
      : `the held-out window has ${positives === 0 ? 'no positive' : 'only positive'} labels`;
    return uncompared(why);
  }
  let championScores: Float32Array;
  try {
    championScores = await scoreWithRecord(champion.record, window.values);
  } catch (error) {
    // A champion inference cannot load is inference's problem to report; here it only means no offline comparison.
    const why = `the champion ${current} could not score the window (${error instanceof Error ? error.message : String(error)})`;
    return uncompared(why);
  }
  const auc = delongTest(window.labels, championScores, window.candidateScores);
  const logLoss = pairedLogLossTest(window.labels, championScores, window.candidateScores);
  const decision = decidePromotion(auc, logLoss, { alpha: rule.alpha, minAucGain: rule.minAucGain });
  const metrics = Object.fromEntries(Object.entries(decision.metrics).map(([k, v]) => [`offline_${k}`, v]));
  if (decision.verdict === 'reject') return { stage: 'rejected', reason: `offline against ${current}: ${decision.reason}`, metrics };
  return whenBetter(`offline against ${current}: ${decision.reason}`, metrics);
}

/** A registry record's model (its ONNX, in its feature order) scoring rows of feature values. */
export async function scoreWithRecord(record: ModelRegistryRecord, rows: Array<Record<string, number>>): Promise<Float32Array> {
  const names = record.feature_names;
  // onnxruntime reads float32: the values are rounded as the serving path rounds them.
  const flat = new Float32Array(rows.length * names.length);
  rows.forEach((v, i) => names.forEach((n, j) => { flat[i * names.length + j] = v[n] ?? Number.NaN; }));
  const scorer = record.signature
    ? await loadExternalModel(record.onnx, {
      input: record.signature.input_name, columns: names,
      probabilityOutput: record.signature.probability_output, positiveClassIndex: record.signature.positive_class_index,
    })
    : await OnnxScorer.load(record.onnx, { expectedFeatures: names.length });
  try {
    return (await scorer.score(flat, rows.length)).probabilities;
  } finally {
    await scorer.release().catch(() => undefined);
  }
}
