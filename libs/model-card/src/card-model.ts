// The model card of one version, as data: everything the registry record, the experiment log and the registry's audit
// trail (model_events) say about it, gathered into one typed value that the Markdown and HTML renderers print.
import type { ModelRegistryRecord, ModelStage } from '@streamloop/model-registry';
import { findLimitations, type Limitation, type LimitationRules, DEFAULT_LIMITATION_RULES } from './limitations';

/** A row of the experiments table, as the card reads it (times in epoch ms). */
export interface CardExperimentRow {
  experiment_id: string;
  run_id: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  started_at: number;
  duration_ms: number;
  status: string;
}

/** A row of the model_events table (one record of the registry topic), as the card reads it (times in epoch ms). */
export interface CardModelEvent {
  model_name: string;
  model_version: number;
  stage: ModelStage;
  decided_by: string;
  decided_at: number;
  decision_reason: string;
  decision_metrics: Record<string, number>;
  registry_offset: number;
}

/** What a card is generated from. */
export interface ModelCardInputs {
  /** The version's latest record on the registry topic (the model bytes are not read). */
  record: Omit<ModelRegistryRecord, 'onnx'>;
  /** From the pipeline spec: model.owner, model.intended_use, training.segment_by. */
  spec: { owner?: string | null; intendedUse?: string | null; segmentBy?: string | null };
  /** Whether the version serves (the champion rule) or scores beside the champion, now. */
  status?: { serving: boolean; challenger: boolean };
  /** The experiments rows of the version's experiment: its published run and the trials of its search (others are ignored). */
  experiments: CardExperimentRow[];
  /** The pipeline's model_events rows (every model's: the parent champion is found among them), any order. */
  events: CardModelEvent[];
  /** When the card is generated (epoch ms). */
  generatedAt: number;
  /** Sources that could not be read, said on the card (e.g. ClickHouse away: no history beyond the record). */
  notes?: string[];
  rules?: Partial<LimitationRules>;
}

export interface MetricWithInterval {
  name: string;
  value: number;
  /** NaN when the record has no interval (versions trained before the bootstrap, external models). */
  low: number;
  high: number;
}

export interface CardFeature {
  name: string;
  /** Share of importance (the record's feature_importance), NaN when not recorded. */
  importance: number;
  /** The reference sample's values: how many, the share missing (NaN), and a summary of the present ones. */
  referenceSize: number;
  missingRate: number;
  mean: number;
  min: number;
  median: number;
  max: number;
}

export interface CardTrial {
  trialId: number;
  status: string;
  score: number;
  params: Record<string, string>;
  chosen: boolean;
}

export interface CardSearch {
  id: string;
  strategy: string;
  metric: string;
  trials: number;
  failedTrials: number;
  bestTrial: number;
  /** Cross-validated metrics of the winner on the training part: name → mean and std. */
  cv: Array<{ name: string; mean: number; std: number }>;
  /** The trials found in the experiments table, best first (at most topTrials). */
  topTrials: CardTrial[];
  /** Whether the experiments table held the search's trials. */
  trialsFound: number;
}

export interface CalibrationBinRow {
  bin: number;
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

export interface CardSegment {
  name: string;
  metrics: Record<string, number>;
  lowSupport: boolean;
}

export interface CardSegments {
  attribute: string;
  /** Share of held-out rows whose event carried the attribute (NaN when not recorded). */
  coverage: number;
  segments: CardSegment[];
  /** Largest minus smallest value across segments of at least 30 rows: name → gap (NaN: fewer than two such segments). */
  gaps: Record<string, number>;
}

export interface CardHistoryEntry {
  stage: string;
  decidedBy: string;
  decidedAt: number;
  reason: string;
  metrics: Record<string, number>;
  /** Offset on the registry topic; NaN for the record itself when model_events has no row. */
  offset: number;
}

export interface ModelCard {
  pipeline: string;
  modelName: string;
  version: number;
  algorithm: string;
  stage: string;
  serving: boolean;
  challenger: boolean;
  createdAt: number;
  generatedAt: number;
  owner: string | null;
  intendedUse: string | null;
  external: boolean;
  training: {
    windowStart: number;
    windowEnd: number;
    /** First event time of the held-out window (NaN when not recorded). */
    holdoutStart: number;
    trainingRows: number;
    holdoutRows: number;
    holdoutPositives: number;
    featureSpecVersion: string;
    onnxSha256: string;
  };
  features: CardFeature[];
  /** mean_abs_shap, abs_standardized_coefficient, or '' when not recorded. */
  importanceKind: string;
  parameters: Record<string, string>;
  search: CardSearch | null;
  metrics: MetricWithInterval[];
  bootstrap: { resamples: number; confidence: number } | null;
  confusion: { tp: number; fp: number; tn: number; fn: number } | null;
  calibration: { ece: number; mce: number; brier: number; bins: CalibrationBinRow[] } | null;
  threshold: {
    value: number;
    strategy: string;
    /** How it was chosen, in words. */
    how: string;
    outOfFold: { rows: number; precision: number; recall: number; f1: number } | null;
  };
  segments: CardSegments | null;
  drift: { referenceSize: number; features: number };
  lineage: {
    experimentId: string | null;
    runId: string | null;
    /** Why the run happened: the alert, the schedule, a command, the first labels; or a registration. */
    trigger: string | null;
    parent: { modelName: string; version: number } | null;
    /** Whether the parent was found from model_events (false: the audit trail was not available). */
    parentKnown: boolean;
    searchId: string | null;
  };
  limitations: Limitation[];
  history: CardHistoryEntry[];
  notes: string[];
}

/** The held-out metrics a card lists, in order, with their interval when the record has one. */
export const CARD_METRICS = ['roc_auc', 'pr_auc', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'] as const;
/** Search trials a card lists. */
export const TOP_TRIALS = 10;
/** Losses the search minimizes (its best trial has the lowest score). */
const LOWER_IS_BETTER = new Set(['log_loss', 'brier']);
/** Params that are bookkeeping, not hyperparameters: shown elsewhere on the card. */
const META_PARAMS = new Set(['threshold_strategy', 'feature_importance', 'holdout_window_start', 'reason', 'model_version']);
/** Params of a trial row that say which trial it was rather than what it tried. */
const TRIAL_META = new Set(['search_id', 'search_strategy', 'search_metric', 'search_cv', 'trial_id', 'candidate_id', 'rung', 'error']);

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

function median(sorted: number[]): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

function featureOf(name: string, importance: Record<string, number>, reference: number[] | undefined): CardFeature {
  const values = reference ?? [];
  const present = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const missing = values.length - present.length;
  return {
    name,
    importance: num(importance[name]),
    referenceSize: values.length,
    missingRate: values.length === 0 ? Number.NaN : missing / values.length,
    mean: present.length === 0 ? Number.NaN : present.reduce((s, v) => s + v, 0) / present.length,
    min: present.length === 0 ? Number.NaN : present[0],
    median: median(present),
    max: present.length === 0 ? Number.NaN : present[present.length - 1],
  };
}

function calibrationOf(m: Record<string, number>): ModelCard['calibration'] {
  const bins: CalibrationBinRow[] = [];
  for (const key of Object.keys(m)) {
    const match = /^calibration_bin_(\d+)_count$/.exec(key);
    if (!match) continue;
    const bin = Number(match[1]);
    bins.push({
      bin, lower: bin / 10, upper: (bin + 1) / 10, count: m[key],
      meanPredicted: num(m[`calibration_bin_${bin}_mean_predicted`]), fractionPositive: num(m[`calibration_bin_${bin}_fraction_positive`]),
    });
  }
  bins.sort((a, b) => a.bin - b.bin);
  if (bins.length === 0 && m.calibration_ece === undefined) return null;
  return { ece: num(m.calibration_ece), mce: num(m.calibration_mce), brier: num(m.brier), bins };
}

/** `segment.<attribute>=<value>.<metric>` and `segment_gap.<attribute>.<gap>` entries back into segments. */
function segmentsOf(m: Record<string, number>, segmentBy: string | null | undefined, minSupport: number): CardSegments | null {
  const bySegment = new Map<string, Record<string, number>>();
  const keys = Object.keys(m);
  // The spec's segment_by when the record has its segments (a value may hold '='); else the attribute the record was
  // segmented by when it was trained (the spec may have changed since): what precedes the first '='.
  let attribute = segmentBy && keys.some((k) => k.startsWith(`segment.${segmentBy}=`)) ? segmentBy : null;
  for (const [key, value] of Object.entries(m)) {
    if (!key.startsWith('segment.')) continue;
    const rest = key.slice('segment.'.length);
    const dot = rest.lastIndexOf('.');
    if (dot < 0) continue;
    const head = rest.slice(0, dot), metric = rest.slice(dot + 1);
    if (head.indexOf('=') < 0) continue;
    const attr = attribute && head.startsWith(`${attribute}=`) ? attribute : head.slice(0, head.indexOf('='));
    attribute ??= attr;
    if (attr !== attribute) continue;
    const name = head.slice(attr.length + 1);
    let metrics = bySegment.get(name);
    if (!metrics) bySegment.set(name, (metrics = {}));
    metrics[metric] = value;
  }
  attribute ??= segmentBy ?? null;
  if (!attribute || (bySegment.size === 0 && m.segment_coverage === undefined)) return null;
  const gaps: Record<string, number> = {};
  const prefix = `segment_gap.${attribute}.`;
  for (const [key, value] of Object.entries(m)) if (key.startsWith(prefix)) gaps[key.slice(prefix.length)] = value;
  const segments = [...bySegment].map(([name, metrics]) => ({ name, metrics, lowSupport: !(metrics.n >= minSupport) }));
  segments.sort((a, b) => num(b.metrics.n) - num(a.metrics.n) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { attribute, coverage: num(m.segment_coverage), segments, gaps };
}

function thresholdOf(record: ModelCardInputs['record']): ModelCard['threshold'] {
  const m = record.metrics, strategy = record.params.threshold_strategy ?? '';
  const rows = num(m.threshold_oof_rows);
  const outOfFold = Number.isFinite(m.threshold_oof_f1)
    ? { rows, precision: num(m.threshold_oof_precision), recall: num(m.threshold_oof_recall), f1: num(m.threshold_oof_f1) }
    : null;
  const oof = `out-of-fold predictions of the training part${Number.isFinite(rows) ? ` (${rows} rows)` : ''}, never on the held-out window`;
  let how: string;
  if (strategy === 'max_f1') how = `chosen at training time: the score with the highest F1 on ${oof}`;
  else if (strategy === 'target_precision') {
    how = m.threshold_target_met === 0
      ? `no threshold reached the target precision ${m.threshold_target_precision} on ${oof}; the highest-F1 threshold was taken instead`
      : `chosen at training time: the highest-recall score whose precision reaches ${m.threshold_target_precision} on ${oof}`;
  } else if (strategy === 'fixed') {
    how = m.threshold_chosen === 0
      ? `the spec asked for a chosen threshold, but the ${oof.replace(', never on the held-out window', '')} held no positive label; the spec's fixed model.threshold was kept`
      : "fixed by the pipeline spec's model.threshold";
  } else how = record.algorithm === 'external' ? 'given when the model was registered' : 'not recorded';
  return { value: record.threshold, strategy: strategy || 'unknown', how, outOfFold };
}

function searchOf(record: ModelCardInputs['record'], experiments: CardExperimentRow[]): CardSearch | null {
  const p = record.params, m = record.metrics;
  const id = p.search_id;
  if (!id) return null;
  const metric = p.search_metric ?? '';
  const trials = experiments.filter((r) => r.params.search_id === id && (r.status === 'trial' || r.status === 'trial_failed'));
  const bestTrial = Number(p.search_best_trial);
  const lower = LOWER_IS_BETTER.has(metric);
  const ranked = trials
    .map((r): CardTrial => ({
      trialId: Number(r.params.trial_id), status: r.status, score: num(r.metrics.score),
      params: Object.fromEntries(Object.entries(r.params).filter(([k]) => !TRIAL_META.has(k))),
      chosen: Number(r.params.trial_id) === bestTrial,
    }))
    .sort((a, b) => {
      const fa = Number.isFinite(a.score), fb = Number.isFinite(b.score);
      if (fa !== fb) return fa ? -1 : 1;
      return (lower ? a.score - b.score : b.score - a.score) || a.trialId - b.trialId;
    });
  const cv: CardSearch['cv'] = [];
  for (const key of Object.keys(m).sort()) {
    const match = /^search_cv_(.+?)(_std)?$/.exec(key);
    if (!match || match[2]) continue;
    cv.push({ name: match[1], mean: m[key], std: num(m[`${key}_std`]) });
  }
  return {
    id, strategy: p.search_strategy ?? '', metric, trials: Number(p.search_trials ?? m.search_trials ?? Number.NaN),
    failedTrials: trials.filter((t) => t.status === 'trial_failed').length, bestTrial, cv,
    topTrials: ranked.slice(0, TOP_TRIALS), trialsFound: trials.length,
  };
}

/** The champion rule (libs/model-registry) over audit rows: among versions whose latest row says champion, the one whose row came last. */
function servingBefore(events: CardModelEvent[], offset: number): { modelName: string; version: number } | null {
  const latest = new Map<string, CardModelEvent>();
  for (const e of events) if (e.registry_offset < offset) latest.set(`${e.model_name}\u0000${e.model_version}`, e);
  let best: CardModelEvent | null = null;
  for (const e of latest.values()) if (e.stage === 'champion' && (!best || e.registry_offset > best.registry_offset)) best = e;
  return best ? { modelName: best.model_name, version: best.model_version } : null;
}

const TRAINED = /^trained (.*); a new model serves as champion$/s;

/** Gathers a version's card from its inputs; nothing is read here (the caller reads the registry and ClickHouse). */
export function buildModelCard(inputs: ModelCardInputs): ModelCard {
  const { record, spec } = inputs;
  const rules: LimitationRules = { ...DEFAULT_LIMITATION_RULES, ...inputs.rules };
  const m = record.metrics, p = record.params;
  const events = [...inputs.events].sort((a, b) => a.registry_offset - b.registry_offset);
  const own = events.filter((e) => e.model_name === record.model_name && e.model_version === record.model_version);
  const notes = [...(inputs.notes ?? [])];

  const metrics = CARD_METRICS.filter((name) => Number.isFinite(m[name])).map((name) => ({
    name, value: m[name], low: num(m[`${name}_ci_low`]), high: num(m[`${name}_ci_high`]),
  }));
  const importanceKind = p.feature_importance ?? '';
  const features = record.feature_names.map((f) => featureOf(f, record.feature_importance, record.reference[f]));
  const parameters = Object.fromEntries(Object.entries(p).filter(([k]) => !META_PARAMS.has(k) && !k.startsWith('search_')).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

  const published = inputs.experiments.find((r) => r.status === 'published' && r.params.model_version === String(record.model_version));
  const firstOwn = own[0];
  const trainedReason = own.map((e) => TRAINED.exec(e.decision_reason)?.[1]).find((r) => r !== undefined)
    ?? TRAINED.exec(record.decision_reason)?.[1];
  const external = record.algorithm === 'external' || own[0]?.decided_by === 'external' || record.decided_by === 'external';
  const trigger = published?.params.reason ?? trainedReason ?? (external ? 'registered from elsewhere' : null);
  const history: CardHistoryEntry[] = own.map((e) => ({
    stage: e.stage, decidedBy: e.decided_by, decidedAt: e.decided_at, reason: e.decision_reason, metrics: e.decision_metrics, offset: e.registry_offset,
  }));
  const last = history[history.length - 1];
  if (!last || last.stage !== record.stage || last.decidedAt !== record.decided_at || last.reason !== record.decision_reason) {
    // model_events lags the topic (or is not there): the record's own audit fields are its latest stage change.
    history.push({ stage: record.stage, decidedBy: record.decided_by, decidedAt: record.decided_at, reason: record.decision_reason, metrics: record.decision_metrics, offset: Number.NaN });
  }

  const card: ModelCard = {
    pipeline: record.pipeline,
    modelName: record.model_name,
    version: record.model_version,
    algorithm: record.algorithm,
    stage: record.stage,
    serving: inputs.status?.serving ?? false,
    challenger: inputs.status?.challenger ?? false,
    createdAt: record.created_at,
    generatedAt: inputs.generatedAt,
    owner: spec.owner ?? null,
    intendedUse: spec.intendedUse ?? null,
    external,
    training: {
      windowStart: record.data_window_start,
      windowEnd: record.data_window_end,
      holdoutStart: p.holdout_window_start === undefined ? Number.NaN : Number(p.holdout_window_start),
      trainingRows: Number(record.training_rows),
      holdoutRows: num(m.holdout_rows ?? m.n),
      holdoutPositives: num(m.positives),
      featureSpecVersion: record.feature_spec_version,
      onnxSha256: record.onnx_sha256,
    },
    features,
    importanceKind,
    parameters,
    search: searchOf(record, inputs.experiments),
    metrics,
    bootstrap: Number.isFinite(m.bootstrap_resamples) ? { resamples: m.bootstrap_resamples, confidence: num(m.bootstrap_confidence) } : null,
    confusion: Number.isFinite(m.confusion_tp) ? { tp: m.confusion_tp, fp: m.confusion_fp, tn: m.confusion_tn, fn: m.confusion_fn } : null,
    calibration: calibrationOf(m),
    threshold: thresholdOf(record),
    segments: segmentsOf(m, spec.segmentBy, rules.minSegmentSupport),
    drift: { referenceSize: Math.max(0, ...features.map((f) => f.referenceSize)), features: Object.keys(record.reference).length },
    lineage: {
      experimentId: published?.experiment_id ?? (external ? null : `${record.pipeline}/${record.model_name}`),
      runId: published?.run_id ?? null,
      trigger,
      parent: firstOwn ? servingBefore(events, firstOwn.registry_offset) : null,
      parentKnown: firstOwn !== undefined,
      searchId: p.search_id ?? null,
    },
    limitations: [],
    history,
    notes,
  };
  card.limitations = findLimitations(card, rules);
  return card;
}
